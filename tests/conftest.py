"""Shared fixtures: tiny image folders in every layout the loaders read."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from translate.evaluation import judges


@pytest.fixture(autouse=True, scope="session")
def one_cpu_thread():
    """Every test on one CPU thread: the tiny networks here run fastest so, and on a small shared CPU two threads
    spinning while they wait on each other made the whole suite two to three times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True, scope="session")
def own_user_cache(tmp_path_factory: pytest.TempPathFactory):
    """A user cache of the session's own (lever decisions, pulled models): the suite neither reads what a user's
    machine measured nor leaves its own decisions there. Tests that need another point TRANSLATE_HOME elsewhere."""
    before = os.environ.get("TRANSLATE_HOME")
    os.environ["TRANSLATE_HOME"] = str(tmp_path_factory.mktemp("translate-home"))
    yield
    if before is None:
        os.environ.pop("TRANSLATE_HOME", None)
    else:
        os.environ["TRANSLATE_HOME"] = before


def noise_image(seed: int, size: tuple[int, int] = (40, 24), mode: str = "RGB") -> Image.Image:
    """A small random image (width, height) in `mode`."""
    rng = np.random.default_rng(seed)
    rgb = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    return rgb if mode == "RGB" else rgb.convert(mode)


def write_ab(folder: Path, n: int, size: int = 24) -> list[Path]:
    """`n` side-by-side AB images: A = random, B = its inverse, so a pair can be recognised."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        a = np.asarray(noise_image(i, (size, size)))
        ab = np.concatenate([a, 255 - a], axis=1)
        path = folder / f"{i:03d}.png"
        Image.fromarray(ab).save(path)
        paths.append(path)
    return paths


def write_folders(a_dir: Path, b_dir: Path, names: list[str], size: int = 24) -> None:
    """A/ and B/ folders holding the same file names; B is A inverted."""
    a_dir.mkdir(parents=True, exist_ok=True)
    b_dir.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        a = np.asarray(noise_image(i, (size, size)))
        Image.fromarray(a).save(a_dir / f"{name}.png")
        Image.fromarray(255 - a).save(b_dir / f"{name}.png")


@pytest.fixture
def ab_root(tmp_path: Path) -> Path:
    """A facades-style paired set: train/ and test/ of side-by-side AB images."""
    write_ab(tmp_path / "train", 3)
    write_ab(tmp_path / "test", 2)
    return tmp_path


@pytest.fixture
def unpaired_root(tmp_path: Path) -> Path:
    """trainA/ (3 images) and trainB/ (2 images)."""
    for side, n in (("A", 3), ("B", 2)):
        folder = tmp_path / f"train{side}"
        folder.mkdir()
        for i in range(n):
            noise_image(10 * i + ord(side), (30, 20)).save(folder / f"{side}{i}.jpg")
    return tmp_path


# Judges small enough to train in seconds; trained once per test session into one shared home. The style judge's
# scenes include the tests' 32 px, since it judges native pixels, and it needs more steps than the segmenter to
# tell clean renderings from photos: half its negatives are other things (blurred, speckled, untrained outputs).
TINY = {
    judges.SEGMENTER: judges.Recipe(judges.SEGMENTER, size=32, n_train=24, n_heldout=8, steps=10, batch_size=8,
                                    lr=5e-3),
    judges.STYLE: judges.Recipe(judges.STYLE, size=32, n_train=24, n_heldout=8, steps=40, batch_size=16, lr=5e-3,
                                scene_sizes=(32, 64)),
    judges.DIGITS: judges.Recipe(judges.DIGITS, size=16, n_train=80, n_heldout=20, steps=80, batch_size=20, lr=1e-2,
                                 width=8),
}


@pytest.fixture(scope="module")
def tiny_judges(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRANSLATE_HOME", str(tmp_path_factory.getbasetemp() / "translate-home"))
        mp.setattr(judges, "RECIPES", TINY)
        yield
