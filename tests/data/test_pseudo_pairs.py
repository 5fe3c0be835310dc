"""The second stage's training set: original pairs, degraded photos paired with the first stage's sketches,
and the world's test scenes, in a layout the paired loader reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import translate
from tests.conftest import noise_image
from translate.data.degrade import HAZY_TRAINING
from translate.data.folders import PairedFolder
from translate.data.pseudo_pairs import write_stage2_set
from translate.data.transforms import to_image, to_tensor
from translate.errors import DataError


@pytest.fixture(scope="module")
def stage1() -> translate.Translator:
    return translate.load("scenes-coloring")


def test_the_set_holds_originals_degraded_pseudo_pairs_and_test_scenes(stage1, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    noise_image(0, (60, 40)).save(photos / "wide.jpg")  # image_00001: broken.png sorts first
    (photos / "broken.png").write_bytes(b"not an image")
    manifest = write_stage2_set(stage1, tmp_path / "set", n_scenes=2, images=photos, n_train=3, n_test=2,
                                size=32, test_size=40, progress=False)
    assert manifest["counts"] == {"original": 3, "unlabelled": 3, "degraded": 6, "test": 2}
    assert json.loads((tmp_path / "set" / "stage2.json").read_text()) == manifest

    train = PairedFolder(tmp_path / "set", "train", load_size=32, crop_size=32, out_channels=1)
    test = PairedFolder(tmp_path / "set", "test", train=False, crop_size=40, out_channels=1)
    assert (len(train), len(test)) == (3 + 6, 2)
    a_dir, b_dir = tmp_path / "set" / "train" / "A", tmp_path / "set" / "train" / "B"
    blurred = Image.open(a_dir / "scene_00003_noise+blur.png")  # fresh scenes: numbered after the originals
    assert blurred.size == (32, 32) and Image.open(b_dir / "image_00001_noise+dilate.png").mode == "L"
    # The target is the first stage's sketch of the clean photo, the same for both degraded copies.
    target = np.asarray(Image.open(b_dir / "scene_00003_noise+blur.png"))
    assert np.array_equal(target, np.asarray(Image.open(b_dir / "scene_00003_noise+dilate.png")))
    from translate.data import scenes

    clean = scenes.render(scenes.scene_seed(0, "train", 3), 32).image("photo")
    assert np.array_equal(target, np.asarray(to_image(stage1.translate_tensor(to_tensor(clean)[None])[0])))
    assert not np.array_equal(np.asarray(blurred), np.asarray(clean))
    original = np.asarray(Image.open(b_dir / "world_00000.png"))
    assert np.array_equal(original, scenes.render(scenes.scene_seed(0, "train", 0), 32).sketch)


def test_nothing_is_overwritten_unasked_and_the_first_stage_must_draw_sketches(stage1, tmp_path: Path) -> None:
    out = tmp_path / "set"
    write_stage2_set(stage1, out, n_scenes=1, n_train=1, n_test=1, size=16, test_size=16, progress=False)
    with pytest.raises(DataError, match="not empty"):
        write_stage2_set(stage1, out, n_scenes=1, n_train=1, n_test=1, size=16, test_size=16, progress=False)
    write_stage2_set(stage1, out, n_scenes=1, n_train=1, n_test=1, size=16, test_size=16, progress=False,
                     overwrite=True, degradations=HAZY_TRAINING)
    assert sorted(p.name for p in (out / "train" / "A").iterdir()) == [  # no old pairs mixed in
        "scene_00001_haze+noise+blur.png", "scene_00001_haze+noise+dilate.png", "world_00000.png"]
    with pytest.raises(DataError, match="grey sketches"):
        write_stage2_set(translate.load("scenes-shinkai"), tmp_path / "other", n_scenes=1, progress=False)
    with pytest.raises(DataError, match="no such folder"):
        write_stage2_set(stage1, tmp_path / "third", images=tmp_path / "missing", progress=False)
