"""The scenes world: determinism, shapes, alignment of the four renderings, tasks written to disk."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from translate.data.scenes import (
    CLASSES,
    KINDS,
    PALETTE,
    TASKS,
    Scene,
    colorize,
    decode_labels,
    preview,
    render,
    scene_seed,
    write_task,
)

ARRAYS = ("labels", "photo", "shinkai", "sketch")


def _near(mask: np.ndarray) -> np.ndarray:
    """`mask` grown by one pixel in every direction (3 x 3)."""
    p = np.pad(mask, 1)
    out = np.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            out |= p[dy: dy + mask.shape[0], dx: dx + mask.shape[1]]
    return out


def _label_boundary(labels: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour of another class (both sides of every boundary)."""
    b = np.zeros(labels.shape, bool)
    h, v = labels[:, :-1] != labels[:, 1:], labels[:-1] != labels[1:]
    b[:, :-1] |= h
    b[:, 1:] |= h
    b[:-1] |= v
    b[1:] |= v
    return b


def test_same_seed_same_arrays_and_different_seeds_differ():
    a, b, c = render(7, 48), render(7, 48), render(8, 48)
    for name in ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert not np.array_equal(getattr(a, name), getattr(c, name)), name


@pytest.mark.parametrize("size, shape", [(40, (40, 40)), ((48, 80), (48, 80)), ((72, 40), (72, 40))])
def test_shapes_and_dtypes(size, shape):
    s = render(3, size)
    assert isinstance(s, Scene)
    assert s.labels.shape == shape and s.sketch.shape == shape
    assert s.photo.shape == shape + (3,) and s.shinkai.shape == shape + (3,)
    assert all(getattr(s, n).dtype == np.uint8 for n in ARRAYS)
    assert s.labels.max() < len(CLASSES)
    assert set(np.unique(s.sketch)) <= {0, 255}
    modes = {k: s.image(k).mode for k in KINDS}
    assert modes == {"labels": "RGB", "photo": "RGB", "shinkai": "RGB", "sketch": "L"}
    assert s.image("photo").size == (shape[1], shape[0])


def test_the_region_map_is_what_the_line_art_outlines():
    s = render(5, 64)
    assert s.regions.shape == (64, 64) and s.regions.dtype == np.int32
    right, down = s.regions[:, :-1] != s.regions[:, 1:], s.regions[:-1] != s.regions[1:]
    edge = np.zeros((64, 64), bool)
    edge[:, :-1] |= right
    edge[:-1] |= down
    assert np.array_equal(edge, s.sketch == 0)  # below 160 px the lines are one pixel, on each region's edge
    assert len(np.unique(s.regions)) > len(np.unique(s.labels))  # windows, trunks, dashes are regions of their own


def test_layout_is_roughly_resolution_independent():
    small, big = render(11, 48), render(11, 96)
    down = big.labels[1::2, 1::2]  # nearest pixel centres of the small grid
    assert (down == small.labels).mean() > 0.9


@pytest.mark.parametrize("size", [64, 96, (48, 80)])
def test_renderings_are_aligned(size):
    for seed in range(4):
        s = render(seed, size)
        boundary, line = _label_boundary(s.labels), s.sketch == 0
        # every class boundary is drawn, and lines are mostly boundaries (the rest: windows, crowns, ridges)
        assert _near(line)[boundary].mean() >= 0.9
        assert _near(boundary)[line].mean() >= 0.5
        # photo and shinkai change colour where the labels change: their edges sit on label boundaries
        for img in (s.photo, s.shinkai):
            grad = np.abs(np.diff(img.astype(int), axis=1)).sum(-1)
            strong = np.zeros(s.labels.shape, bool)
            strong[:, :-1] = grad > np.percentile(grad, 97)
            assert _near(_near(boundary))[strong].mean() > 0.6


def test_at_least_eight_classes_appear():
    seen = set()
    for seed in range(20):
        seen |= set(np.unique(render(seed, 48).labels).tolist())
    assert len(seen) >= 8 and 8 <= len(CLASSES) <= 12 and len(PALETTE) == len(CLASSES)


def test_colorize_decode_round_trip():
    labels = render(5, 40).labels
    rgb = colorize(labels)
    assert rgb.shape == labels.shape + (3,) and rgb.dtype == np.uint8
    assert np.array_equal(decode_labels(rgb), labels)
    every = np.arange(len(CLASSES), dtype=np.uint8)[None]
    assert np.array_equal(decode_labels(colorize(every)), every)
    assert np.array_equal(decode_labels(np.clip(colorize(every).astype(int) + 6, 0, 255)), every)


def test_shinkai_is_more_saturated_and_sharper_than_photo():
    kinds = ("photo", "shinkai")
    scenes = [render(seed, 64) for seed in range(6)]
    sat = {k: np.mean([np.asarray(s.image(k).convert("HSV"))[..., 1].mean() for s in scenes]) for k in kinds}
    assert sat["shinkai"] > 1.3 * sat["photo"]
    s = scenes[0]
    edges = {k: np.percentile(np.abs(np.diff(getattr(s, k).astype(int).mean(-1), axis=1)), 99) for k in kinds}
    assert edges["shinkai"] > edges["photo"]


def test_scene_seeds_never_collide():
    seeds = [scene_seed(s, split, i, side) for s in range(3) for split in ("train", "val", "test")
             for i in range(50) for side in ("A", "B")]
    assert len(set(seeds)) == len(seeds)
    assert scene_seed(0, "train", 3) == scene_seed(0, "train", 3, "A")
    with pytest.raises(ValueError):
        scene_seed(0, "holdout", 0)


def _sizes(folder):
    return {Image.open(p).size for p in folder.iterdir()}


def test_write_paired_task(tmp_path):
    counts = write_task("photo2sketch", n=4, size=32, seed=0, out=tmp_path, n_test=2)
    assert counts == {"train": 4, "val": 2, "test": 2}
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == [f"{i:05d}.png" for i in range(4)]
    for split in counts:
        assert _sizes(tmp_path / split) == {(64, 32)}
    pair = np.asarray(Image.open(tmp_path / "train" / "00000.png"))
    assert pair.shape == (32, 64, 3)
    # the right half is the sketch as RGB: grey levels only, lines and paper
    assert np.array_equal(pair[:, 32:, 0], pair[:, 32:, 2]) and set(np.unique(pair[:, 32:])) <= {0, 255}
    assert write_task("labels2photo", n=10, size=32, seed=0, out=tmp_path / "d")["val"] == 1


def test_write_unpaired_task(tmp_path):
    counts = write_task("photo2shinkai", n=5, size=32, seed=1, out=tmp_path, n_test=3)
    assert counts == {"trainA": 5, "trainB": 5, "testA": 3, "testB": 3, "test": 3}
    for folder in ("trainA", "trainB", "testA", "testB"):
        assert _sizes(tmp_path / folder) == {(32, 32)}
    assert _sizes(tmp_path / "test") == {(64, 32)}
    # trainA and trainB show different scenes: no B image is the shinkai frame of an A scene
    a_scenes = [render(scene_seed(1, "train", i, "A"), 32).shinkai for i in range(5)]
    b_images = [np.asarray(Image.open(tmp_path / "trainB" / f"{i:05d}.png")) for i in range(5)]
    assert not any(np.array_equal(a, b) for a in a_scenes for b in b_images)
    # the paired test split holds each test photo next to its true shinkai rendering
    test0 = np.asarray(Image.open(tmp_path / "test" / "00000.png"))
    assert np.array_equal(test0[:, :32], np.asarray(Image.open(tmp_path / "testA" / "00000.png")))
    assert np.array_equal(test0[:, 32:], np.asarray(Image.open(tmp_path / "testB" / "00000.png")))
    assert set(TASKS) == {"labels2photo", "photo2sketch", "sketch2photo", "photo2shinkai"}


def test_preview_grid_size():
    img = preview([0, 1], 32)
    assert img.mode == "RGB" and img.size == (4 * 32 + 5 * 4, 14 + 2 * (32 + 4) + 4)
