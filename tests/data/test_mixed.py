"""Mixed domains: real photos from a folder on one side of the scenes world's unpaired task, renderings on the other."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.config import DEFAULTS, resolve
from translate.data.datasets import SceneDataset, build_dataset, build_split
from translate.data.mixed import MixedDataset
from translate.errors import ConfigError, DataError

from tests.conftest import noise_image


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Photos of odd sizes: a 90 x 70 JPEG, and a 150 x 60 PNG in a subfolder, left half red and right half blue."""
    folder = tmp_path / "photos"
    (folder / "trip").mkdir(parents=True)
    noise_image(1, (90, 70)).save(folder / "lake.jpg", quality=90)
    wide = np.zeros((60, 150, 3), np.uint8)
    wide[:, :75, 0] = 255
    wide[:, 75:, 2] = 255
    Image.fromarray(wide).save(folder / "trip" / "wide.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def shinkai_data(**keys: object) -> dict:
    """The [data] table of the shinkai style at 32 px crops of 36 px, with `keys` over it."""
    data = copy.deepcopy(DEFAULTS["data"])
    data.update(layout="unpaired", task="photo2shinkai", load_size=36, crop_size=32, n_train=3, n_test=2)
    data.update(keys)
    return data


def test_root_a_gives_photo_crops_as_a_and_renderings_as_b(photos):
    data = build_dataset(shinkai_data(root_a=str(photos)), "train")
    assert isinstance(data, MixedDataset)
    assert len(data) == 3  # the longer side: 3 scenes against 2 photos
    for i in range(len(data)):
        item = data[i]
        assert item["A"].shape == item["B"].shape == (3, 32, 32)
        assert Path(item["A_path"]).name in {"lake.jpg", "wide.png"}
        assert item["B_path"].startswith("scenes:train/") and item["B_path"].endswith("/shinkai")
        assert -1 <= float(item["A"].min()) and float(item["A"].max()) <= 1


def test_crops_of_a_wide_photo_keep_its_shape_and_roam_its_long_side(photos):
    # 150 x 60 becomes 90 x 36 (short side at load_size): a 32 px crop falls anywhere along it, so some crops are
    # all red and some all blue. Squashed to a 36 px square, every crop would hold both halves.
    data = MixedDataset(root_a=str(photos / "trip"), n=1, load_size=36, crop_size=32, flip=False)
    reds = []
    for epoch in range(24):
        data.set_epoch(epoch)
        a = data[0]["A"]
        reds.append(float((a[0] > 0.5).float().mean()))
    assert min(reds) < 0.1 and max(reds) > 0.9



def test_photo_hue_turns_the_photos_hues_and_leaves_the_renderings(photos):
    # The red half of the wide photo: turned by up to half the circle, it comes out in many hues, not only red.
    plain = MixedDataset(root_a=str(photos / "trip"), n=1, load_size=36, crop_size=32, flip=False)
    turned = MixedDataset(root_a=str(photos / "trip"), n=1, load_size=36, crop_size=32, flip=False, photo_hue=0.5)
    dominant = set()
    for epoch in range(16):
        for data in (plain, turned):
            data.set_epoch(epoch)
        a, b = plain[0], turned[0]
        assert torch.equal(a["B"], b["B"])  # the rendered side and the crops' draws are untouched
        dominant.add(int(b["A"].mean((1, 2)).argmax()))
        if a["A"].std() < 0.1:  # a one-colour crop: turned, its lightness stays and its colour moves
            assert not torch.allclose(a["A"], b["A"], atol=0.05)
    assert len(dominant) >= 2  # red, green or blue strongest, by the turn drawn
    with pytest.raises(ConfigError, match=r"data.photo_hue=0.7: need a share of the colour circle from 0"):
        MixedDataset(root_a=str(photos), n=1, photo_hue=0.7)
    with pytest.raises(ConfigError, match=r"data.photo_hue=0.2 turns the hues of the photos of data.root_a"):
        build_dataset(shinkai_data(photo_hue=0.2), "train")

def test_the_same_item_of_an_epoch_is_the_same_whatever_the_instance(photos):
    first, second = (build_dataset(shinkai_data(root_a=str(photos)), "train") for _ in range(2))
    for data in (first, second):
        data.set_epoch(3, seed=7)
    assert all(torch.equal(first[i]["A"], second[i]["A"]) and torch.equal(first[i]["B"], second[i]["B"])
               for i in range(3))


def test_root_b_and_direction_put_the_folder_on_the_other_side(photos):
    b_side = build_dataset(shinkai_data(root_b=str(photos)), "train")[0]
    assert b_side["A_path"].endswith("/photo") and Path(b_side["B_path"]).suffix in {".jpg", ".png"}
    swapped = build_dataset(shinkai_data(root_a=str(photos), direction="BtoA", out_channels=1), "train")[0]
    assert swapped["A_path"].endswith("/shinkai") and Path(swapped["B_path"]).suffix in {".jpg", ".png"}
    assert swapped["B"].shape == (1, 32, 32)  # the photos' side is the target now, with its channels


def test_the_held_out_split_stays_the_worlds_paired_test_scenes(photos):
    held_out = build_split(shinkai_data(root_a=str(photos)), "test")
    assert isinstance(held_out, SceneDataset) and len(held_out) == 2
    item = held_out[0]
    assert item["A_path"] == "scenes:test/00000/photo" and item["B_path"] == "scenes:test/00000/shinkai"


def test_a_missing_or_empty_folder_is_one_line_naming_the_key(tmp_path):
    with pytest.raises(DataError, match=r"^data.root_a = '.*nowhere': no such folder; give a folder of photographs \("):
        build_dataset(shinkai_data(root_a=str(tmp_path / "nowhere")), "train")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no photos yet")
    empty = r"^data.root_b = '.*empty': the folder holds no image files \(.*jpg.*\); put photographs in it"
    with pytest.raises(DataError, match=empty) as error:
        build_dataset(shinkai_data(root_b=str(tmp_path / "empty")), "train")
    assert "\n" not in str(error.value)


def test_mixing_needs_an_unpaired_task_and_no_data_root(photos, ab_root):
    with pytest.raises(ConfigError, match="pairs each scene's labels with its photo; use data.task = 'photo2shinkai'"):
        build_dataset(shinkai_data(root_a=str(photos), task="labels2photo", layout="paired"), "train")
    with pytest.raises(ConfigError, match="data.root is set too: put those photos in ROOT/trainA/"):
        build_dataset(shinkai_data(root_a=str(photos), root=str(ab_root)), "train")


def test_config_keys_are_checked_like_every_data_key(photos):
    config = resolve("cyclegan", "shinkai", assignments=[f"data.root_a={photos}"])
    assert config["data"]["root_a"] == str(photos) and config["data"]["root_b"] == ""
    with pytest.raises(ConfigError, match="unknown config key 'data.rot_a' in --set; did you mean 'data.root_a'"):
        resolve("cyclegan", "shinkai", assignments=["data.rot_a=x"])
    with pytest.raises(ConfigError, match="config key 'data.root_a' in --set must be str, got 3"):
        resolve("cyclegan", "shinkai", assignments=["data.root_a=3"])


@pytest.mark.parametrize("model", ["cyclegan", "cartoongan"])
def test_train_runs_on_photos_and_a_resume_keeps_them(photos, tmp_path, model):
    from translate.resume import for_resume
    from translate.rundir import CONFIG_FILE, read_config
    from translate.trainers.loop import train

    config = resolve(model, "shinkai", overrides={
        "data": {"crop_size": 32, "load_size": 36, "n_train": 2, "n_test": 1, "test_size": 0},
        "train": {"steps": 2, "out": str(tmp_path / "run"), "quiet": True, "n_samples": 1},
    }, assignments=[f"data.root_a={photos}", "generator.width=8", "discriminator.width=8", "generator.n_blocks=1",
                    "trainer.tv_weight=0.0"])
    run = train(config)
    written = (run / CONFIG_FILE).read_text()
    assert f'root_a = "{photos}"' in written  # config.toml records the folder, and what it held
    assert f"# data: source: 2 images in {photos.resolve()} (data.root_a); target: the scenes world's" in written
    assert (run / "checkpoints" / "latest.safetensors").is_file()
    resumed = train(for_resume(read_config(run), {"train": {"steps": 3}}), resume=run)
    assert read_config(resumed)["data"]["root_a"] == str(photos)
    with pytest.raises(ConfigError, match="cannot change data.root_a"):
        for_resume(read_config(run), assignments=[f"data.root_a={tmp_path}"])
