"""The training set of a colouring model's second stage, as the seed study made it: pseudo-labelled, degraded.

A first-stage model draws a sketch of each unlabelled photo (its pseudo-target); the photo is degraded twice, by
noise then blur and by noise then dilation (`translate.data.degrade.TRAINING`), and each degraded copy is paired
with the clean photo's sketch, so the second stage learns to draw from a poor photo the lines the first drew from
a good one. The original pairs (the scenes world's training photos and true sketches) go in beside them.

`write_stage2_set` writes it in the paired-folders layout the data layer reads (`train/A/x.png` with
`train/B/x.png`), with the world's clean test scenes as `test/`, so training's held-out L1 keeps its meaning:

    translate train --model pix2pix --style coloring --data DIR
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from translate.data import scenes
from translate.data.degrade import TRAINING, Degradation
from translate.data.folders import photo_files
from translate.data.mixed import read_photo
from translate.data.transforms import to_image, to_tensor
from translate.errors import DataError
from translate.files import atomic_path, write_json
from translate.outputs import check_output_folder

if TYPE_CHECKING:
    from translate.inference.translator import Translator

log = logging.getLogger("translate")

FOLDERS = ("train/A", "train/B", "test/A", "test/B")
MANIFEST = "stage2.json"


def unlabelled_photos(
    n_scenes: int, files: Sequence[Path], size: int, seed: int, first_scene: int
) -> Iterator[tuple[str, Image.Image]]:
    """(name, RGB photo at `size` px) for the unlabelled images: `n_scenes` fresh scenes of the world's training
    split from `first_scene` on (scenes no first stage trained on), then each image file, centre-cropped to a
    square; an unreadable file is named in the log and left out."""
    for index in range(first_scene, first_scene + n_scenes):
        yield f"scene_{index:05d}", scenes.render(scenes.scene_seed(seed, "train", index), size).image("photo")
    for number, path in enumerate(files):
        try:
            photo = read_photo(path, size, 3)  # decoded at a fraction of a large JPEG's size
        except DataError as e:
            log.warning("skipping %s", e)
            continue
        yield f"image_{number:05d}", ImageOps.fit(photo, (size, size), Image.Resampling.BICUBIC)


def write_stage2_set(
    stage1: Translator,
    out: str | os.PathLike[str],
    n_scenes: int = 400,
    images: str | os.PathLike[str] | None = None,
    n_train: int = 400,
    n_test: int = 50,
    size: int = 72,
    test_size: int = 128,
    seed: int = 0,
    degradations: Mapping[str, Degradation] = TRAINING,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Write the second stage's paired set under `out`; returns the manifest (also written as `out/stage2.json`).

    train/: the world's `n_train` original pairs (`world_*`: photo and true sketch at `size` px, the coloring
    style's load size) and, for each unlabelled image (`unlabelled_photos`), one pair per degradation
    (`<name>_noise+blur`: degraded photo and `stage1`'s sketch of the clean one). test/: the world's first `n_test`
    test scenes at `test_size` px with their true sketches. `degradations`: the seed's (`TRAINING`), or any named
    set such as `HAZY_TRAINING`; each is seeded by (seed, image, its place in the set).
    """
    if stage1.out_channels != 1:
        raise DataError(f"{stage1.source} gives {stage1.out_channels}-channel images; the first stage must draw "
                        "grey sketches, e.g. scenes-coloring or a run of translate train --style coloring")
    out = Path(out)
    files = photo_files(images, f"--images {images}") if images is not None else []
    check_output_folder(out, overwrite)
    if overwrite:
        for folder in FOLDERS:
            for old in (out / folder).glob("*.png"):
                old.unlink()
    for folder in FOLDERS:
        (out / folder).mkdir(parents=True, exist_ok=True)

    counts = {"original": 0, "unlabelled": 0, "degraded": 0, "test": 0}
    bar = tqdm(total=n_train + n_scenes + len(files) + n_test, unit="img", disable=not progress, leave=False)
    for index in range(n_train):
        scene = scenes.render(scenes.scene_seed(seed, "train", index), size)
        _save_pair(out / "train", f"world_{index:05d}", scene.image("photo"), scene.image("sketch"))
        counts["original"] += 1
        bar.update()
    for number, (name, photo) in enumerate(unlabelled_photos(n_scenes, files, size, seed, first_scene=n_train)):
        sketch = to_image(stage1.translate_tensor(to_tensor(photo)[None])[0])
        for place, (kind, degrade) in enumerate(degradations.items()):
            rng = np.random.default_rng([seed, number, place])
            _save_pair(out / "train", f"{name}_{kind}", degrade(photo, rng), sketch)
            counts["degraded"] += 1
        counts["unlabelled"] += 1
        bar.update()
    for index in range(n_test):
        scene = scenes.render(scenes.scene_seed(seed, "test", index), test_size)
        _save_pair(out / "test", f"world_{index:05d}", scene.image("photo"), scene.image("sketch"))
        counts["test"] += 1
        bar.update()
    bar.close()
    manifest = {
        "stage1": stage1.source, "seed": seed, "size": size, "test_size": test_size,
        "unlabelled": {"world_scenes": n_scenes, "first_scene": n_train, "images": str(images or ""),
                       "image_files": len(files)},
        "degradations": list(degradations), "counts": counts,
    }
    write_json(out / MANIFEST, manifest)
    return manifest


def _save_pair(split: Path, name: str, a: Image.Image, b: Image.Image) -> None:
    for side, image in (("A", a), ("B", b)):
        with atomic_path(split / side / f"{name}.png") as tmp:
            image.save(tmp, format="PNG")

