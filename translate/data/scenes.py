"""The scenes world: a seeded procedural landscape rendered four aligned ways, and the tasks built from it.

Nothing can be downloaded, so this is the default training data of every style: `render(seed, size)`
draws one landscape (sky, sun, clouds, 1-3 mountain ridges, grass, an optional road toward a vanishing
point, an optional lake with reflections, buildings with windows, trees) and renders it as

- `labels`  (H, W) uint8 class map, colour-coded by `PALETTE` (`colorize`, `decode_labels`);
- `photo`   a muted, textured, softly lit photograph with mild blur and sensor noise;
- `shinkai` the same geometry as an anime background in the manner of Makoto Shinkai's films: deep-blue
  to cyan sky, glowing white clouds, cel shading with hard shadow edges, dark outlines, sun glow and flare;
- `sketch`  black line art on white, a colouring page: every region outline plus windows, trunks, dashes.

and keeps `regions`, the (H, W) map of region ids (each object and detail) whose boundaries the outlines follow:
evaluation's artefact measure looks only well inside them, where every true rendering is free of edges.

Because every rendering comes from one geometry, unpaired models can still be scored against ground truth.
The same seed gives identical arrays; the layout is drawn in resolution-independent coordinates, so one
seed looks the same (up to detail) at every size, square or not.

Classes and their label colours (Cityscapes colours where Cityscapes has the class):

    id  class     RGB
    0   sky       (70, 130, 180)    Cityscapes sky
    1   cloud     (220, 220, 220)
    2   sun       (250, 170, 30)    Cityscapes traffic-light orange
    3   mountain  (145, 110, 80)
    4   grass     (152, 251, 152)   Cityscapes terrain
    5   road      (128, 64, 128)    Cityscapes road
    6   building  (70, 70, 70)      Cityscapes building
    7   tree      (107, 142, 35)    Cityscapes vegetation
    8   water     (0, 80, 160)

Tasks (`TASKS`): labels2photo, photo2sketch, sketch2photo (paired) and photo2shinkai (unpaired);
`write_task` writes one as PNG folders in the layouts the folder loaders read, `preview` draws a grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from translate.data.scenes_layout import CLASSES, layout
from translate.data.scenes_paint import draw_sketch, paint_photo, paint_shinkai
from translate.errors import DataError
from translate.files import atomic_path
from translate.outputs import check_output_file, check_output_folder

__all__ = [
    "CLASSES",
    "KINDS",
    "PALETTE",
    "TASKS",
    "Scene",
    "Task",
    "colorize",
    "decode_labels",
    "preview",
    "render",
    "scene_seed",
    "write_preview",
    "write_task",
]

PALETTE = np.array([
    (70, 130, 180), (220, 220, 220), (250, 170, 30), (145, 110, 80), (152, 251, 152),
    (128, 64, 128), (70, 70, 70), (107, 142, 35), (0, 80, 160)], np.uint8)
assert len(PALETTE) == len(CLASSES)

KINDS = ("labels", "photo", "shinkai", "sketch")


@dataclass(frozen=True, eq=False)  # arrays have no single truth value, so no generated __eq__
class Scene:
    """One scene rendered four ways; all arrays are aligned pixel for pixel."""

    labels: np.ndarray   # (H, W) uint8 class ids, see CLASSES
    photo: np.ndarray    # (H, W, 3) uint8
    shinkai: np.ndarray  # (H, W, 3) uint8
    sketch: np.ndarray   # (H, W) uint8, 0 = line, 255 = paper
    regions: np.ndarray  # (H, W) int32 region ids (each object and detail): their boundaries are the line art

    def image(self, kind: str) -> Image.Image:
        """The rendering `kind` ("labels", "photo", "shinkai", "sketch") as a PIL image."""
        if kind == "labels":
            return Image.fromarray(colorize(self.labels), "RGB")
        if kind in ("photo", "shinkai"):
            return Image.fromarray(getattr(self, kind), "RGB")
        if kind == "sketch":
            return Image.fromarray(self.sketch, "L")
        raise ValueError(f"unknown scene kind {kind!r}; known: {', '.join(KINDS)}")


def render(seed: int, size: int | tuple[int, int]) -> Scene:
    """Draw the scene of `seed` at `size` (an int for a square, or (height, width))."""
    shape = (int(size), int(size)) if np.ndim(size) == 0 else (int(size[0]), int(size[1]))
    if min(shape) < 8:
        raise ValueError(f"scene size must be at least 8 pixels, got {shape}")
    # Independent streams, so texture and sensor noise (whose draws depend on the size) never
    # shift the geometry, and the geometry is the same at every size.
    geometry, photo_rng, shinkai_rng = np.random.default_rng(seed).spawn(3)
    lay = layout(geometry, shape)
    return Scene(lay.labels, paint_photo(lay, photo_rng), paint_shinkai(lay, shinkai_rng), draw_sketch(lay), lay.inst)


def colorize(labels: np.ndarray) -> np.ndarray:
    """Class map (H, W) -> its colour image (H, W, 3) uint8 via PALETTE."""
    return PALETTE[labels]


def decode_labels(rgb: np.ndarray) -> np.ndarray:
    """Colour label image (H, W, 3) -> class map (H, W) uint8, by the nearest palette colour."""
    d = ((np.asarray(rgb, np.int32)[..., None, :] - PALETTE.astype(np.int32)) ** 2).sum(-1)
    return d.argmin(-1).astype(np.uint8)


# ----------------------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """A translation task built from the scenes world: which rendering goes in, which comes out."""

    source: str
    target: str
    paired: bool
    doc: str


TASKS: dict[str, Task] = {
    "labels2photo": Task("labels", "photo", True, "semantic label map to photograph (pix2pix's facades/cityscapes)"),
    "photo2sketch": Task("photo", "sketch", True, "photograph to colouring-page line art"),
    "sketch2photo": Task("sketch", "photo", True, "line art to photograph: colourisation"),
    "photo2shinkai": Task("photo", "shinkai", False, "photograph to anime background (CartoonGAN, CycleGAN)"),
}

# Seeds: seed * 10_000_019 + split offset + 2 * index + side, with side A = 0 and B = 1. Each split owns
# a block of 3,000,000 numbers and a base seed spans 9,000,000 < 10,000,019, so splits, sides and base
# seeds never collide (for index < 1,500,000 and seed >= 0).
_SPLIT_OFFSET = {"train": 0, "val": 3_000_000, "test": 6_000_000}
_SIDE = {"": 0, "A": 0, "B": 1}
_MAX_INDEX = 1_500_000


def scene_seed(seed: int, split: str, index: int, side: str = "") -> int:
    """The render seed of scene `index` of `split` ("train", "val", "test"); side "A"/"B" for unpaired data."""
    if split not in _SPLIT_OFFSET or side not in _SIDE:
        raise ValueError(f"split must be one of {list(_SPLIT_OFFSET)} and side one of {list(_SIDE)}")
    if not (0 <= index < _MAX_INDEX) or seed < 0:
        raise ValueError(f"need 0 <= index < {_MAX_INDEX} and seed >= 0, got index={index}, seed={seed}")
    return seed * 10_000_019 + _SPLIT_OFFSET[split] + 2 * index + _SIDE[side]


def _rgb(scene: Scene, kind: str) -> Image.Image:
    return scene.image(kind).convert("RGB")


def _pair(scene: Scene, a: str, b: str) -> Image.Image:
    """Source | target side by side, both RGB (sketches too, so the halves concatenate)."""
    left, right = _rgb(scene, a), _rgb(scene, b)
    out = Image.new("RGB", (left.width * 2, left.height))
    out.paste(left, (0, 0))
    out.paste(right, (left.width, 0))
    return out


MIN_SIZE = 8  # the smallest side `render` draws


def _check_size(size: int) -> None:
    if not isinstance(size, int) or size < MIN_SIZE:
        raise DataError(f"--size {size}: scenes are drawn at {MIN_SIZE} pixels or more, e.g. --size 256")


def _remove_earlier_images(folder: Path) -> None:
    """Delete the numbered PNG files (00000.png ...) an earlier `write_task` left in `folder`; nothing else."""
    for path in folder.glob("[0-9][0-9][0-9][0-9][0-9].png"):
        if path.is_file():
            path.unlink()


def write_task(task: str, n: int, size: int, seed: int, out: str | Path, n_test: int | None = None,
               progress: bool = False, overwrite: bool = False) -> dict[str, int]:
    """Write task `task` as PNG folders under `out` and return the number of images per folder.

    Paired tasks: train/ (n), val/ and test/ (n_test each, default max(1, n // 10)), each file the
    source | target side by side. photo2shinkai: trainA/ photos and trainB/ shinkai frames of disjoint
    scenes (n each), testA/ and testB/ of the same n_test test scenes, and test/ pairing each test photo
    with its true shinkai rendering, so unpaired models can be scored.

    An `out` that holds files is refused (DataError) unless `overwrite`, which first deletes the numbered PNG
    files of an earlier data set from the folders this one writes, so that old and new images never mix.
    """
    if task not in TASKS:
        raise DataError(f"unknown scenes task {task!r}; known: {', '.join(TASKS)}")
    _check_size(size)
    spec, out = TASKS[task], Path(out)
    check_output_folder(out, overwrite)
    n_test = max(1, n // 10) if n_test is None else n_test
    jobs: list[tuple[str, int, int, str]] = []  # (folder, index, render seed, what to save)
    if spec.paired:
        for split, count in (("train", n), ("val", n_test), ("test", n_test)):
            jobs += [(split, i, scene_seed(seed, split, i), "pair") for i in range(count)]
    else:
        jobs += [("trainA", i, scene_seed(seed, "train", i, "A"), spec.source) for i in range(n)]
        jobs += [("trainB", i, scene_seed(seed, "train", i, "B"), spec.target) for i in range(n)]
        jobs += [("test*", i, scene_seed(seed, "test", i), "test") for i in range(n_test)]
    if overwrite:
        folders = ("train", "val", "test") if spec.paired else ("trainA", "trainB", "testA", "testB", "test")
        for folder in folders:
            _remove_earlier_images(out / folder)
    counts: dict[str, int] = {}
    bar = None
    if progress:
        bar = tqdm(total=len(jobs), desc=f"scenes {task}", unit="scene")
    for folder, i, s, what in jobs:
        scene = render(s, size)
        name = f"{i:05d}.png"
        if what == "pair":
            saves = [(folder, _pair(scene, spec.source, spec.target))]
        elif what == "test":
            saves = [("testA", scene.image(spec.source)), ("testB", scene.image(spec.target)),
                     ("test", _pair(scene, spec.source, spec.target))]
        else:
            saves = [(folder, scene.image(what))]
        for sub, img in saves:
            (out / sub).mkdir(parents=True, exist_ok=True)
            img.save(out / sub / name)
            counts[sub] = counts.get(sub, 0) + 1
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return counts


def preview(seeds: list[int], size: int, gap: int = 4, header: int = 14) -> Image.Image:
    """A grid, one row per seed, columns labels | photo | shinkai | sketch, under a one-line header.

    Its size is (4 * size + 5 * gap, header + len(seeds) * (size + gap) + gap).
    """
    _check_size(size)
    if not seeds:
        raise DataError("--seeds: give at least one scene seed, e.g. 0,1,2")
    grid = Image.new("RGB", (4 * size + 5 * gap, header + len(seeds) * (size + gap) + gap), "white")
    draw = ImageDraw.Draw(grid)
    for c, kind in enumerate(KINDS):
        draw.text((gap + c * (size + gap) + 2, 2), kind, fill=(0, 0, 0))
    for r, s in enumerate(seeds):
        scene = render(s, size)
        for c, kind in enumerate(KINDS):
            grid.paste(_rgb(scene, kind), (gap + c * (size + gap), header + gap + r * (size + gap)))
    return grid


def write_preview(out: str | Path, seeds: list[int], size: int, overwrite: bool = False) -> Path:
    """Draw `preview(seeds, size)` into the image file `out` (PNG or JPEG by its extension), atomically.

    A folder, an unknown extension or (unless `overwrite`) an existing file is refused before drawing.
    """
    check_output_file(out, overwrite, example="preview.png")
    out = Path(out)
    fmt = Image.registered_extensions().get(out.suffix.lower())
    if fmt is None:
        raise DataError(f"--out {out}: no image format for the extension '{out.suffix}'; end it in .png or .jpg")
    grid = preview(seeds, size)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        grid.save(tmp, format=fmt)
    return out
