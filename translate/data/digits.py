"""Embedded procedural digits: 0-9 rendered from fonts with random affine jitter, labelled, as MNIST is.

Nothing is downloaded: the glyphs come from the TrueType fonts that matplotlib (a dependency) ships in its own
package, so every install renders the same set. `render_digit(digit, rng)` draws one white digit on black, fitted
into a 20 x 20 box of a 28 x 28 image as MNIST's are, then jittered: font (of `FONTS`), stroke width, aspect,
scale, rotation, shear and shift. `DigitsDataset` numbers them: item i shows digit i % 10 (so any 10 consecutive
items hold each digit once), drawn from (seed, split, i) alone. It is the data of the `digits` style, which the
label-conditional GAN (`translate train --model cgan --style digits`) learns to draw; the digit judge
(`translate.evaluation.judges`) learns to read them.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch.utils.data import Dataset

from translate.errors import DataError
from translate.registry import DATASETS

N_CLASSES = 10
SIZE = 28  # MNIST's
SUPERSAMPLE = 4  # glyphs are drawn and transformed at 4x, then reduced: smooth edges, sub-pixel jitter

# matplotlib's bundled fonts that hold the digits: sans, serif, mono, bold, italic; TeX's Computer Modern
FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmti10.ttf", "cmtt10.ttf",
)
SPLITS = {"train": 0, "val": 1, "test": 2}


@functools.cache
def font_paths() -> tuple[Path, ...]:
    """The fonts of `FONTS` found in matplotlib's data folder (all of them on any matplotlib 3)."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    found = tuple(folder / name for name in FONTS if (folder / name).is_file())
    if not found:
        raise DataError(f"no fonts to draw digits with in {folder}; reinstall matplotlib")
    return found


@functools.cache
def _glyph(digit: int, path: Path, size: int, stroke: int) -> Image.Image:
    """The digit in white on black at font size `size`, cropped to its ink (kept: a few hundred exist)."""
    text, font = str(digit), ImageFont.truetype(str(path), size)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    image = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(image).text((1 - left, 1 - top), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    return image.crop(image.getbbox())


def render_digit(digit: int, rng: np.random.Generator | None = None, size: int = SIZE) -> np.ndarray:
    """One digit as a (size, size) uint8 array, white on black; `rng` draws its font and jitter (None: the first
    font, upright and centred: the clean digit)."""
    if not 0 <= digit < N_CLASSES:
        raise ValueError(f"digit must be 0-9, got {digit}")
    big = size * SUPERSAMPLE
    fonts = font_paths()
    if rng is None:
        font, stroke, aspect, scale, angle, shear, shift = fonts[0], 0, 1.0, 1.0, 0.0, 0.0, (0.0, 0.0)
    else:
        font = fonts[int(rng.integers(len(fonts)))]
        stroke = int(rng.integers(0, 4))  # in supersampled pixels: up to about 1.5 px of extra weight at 28
        aspect = float(rng.uniform(0.75, 1.2))
        scale = float(rng.uniform(0.8, 1.1))
        angle = math.radians(float(rng.uniform(-12, 12)))
        shear = float(rng.uniform(-0.25, 0.25))
        shift = tuple(float(v) for v in rng.uniform(-1.5, 1.5, 2) * SUPERSAMPLE)
    glyph = _glyph(digit, font, big, stroke)
    # MNIST's framing: the digit's longer side fills a 20/28 box, the other side keeps the glyph's proportions
    box = big * 20 / 28 * scale
    w, h = glyph.size[0] * aspect, glyph.size[1]
    fit = box / max(w, h)
    glyph = glyph.resize((max(1, round(w * fit)), max(1, round(h * fit))), Image.Resampling.BICUBIC)
    canvas = Image.new("L", (big, big), 0)
    canvas.paste(glyph, ((big - glyph.size[0]) // 2, (big - glyph.size[1]) // 2))
    # rotation and shear about the centre, then the shift; PIL's AFFINE takes the output -> input map
    cos, sin = math.cos(angle), math.sin(angle)
    a, b, d, e = cos, -sin + shear * cos, sin, cos + shear * sin
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    c = big / 2
    ox, oy = c + shift[0], c + shift[1]
    matrix = (ia, ib, c - ia * ox - ib * oy, id_, ie, c - id_ * ox - ie * oy)
    canvas = canvas.transform((big, big), Image.Transform.AFFINE, matrix, Image.Resampling.BICUBIC, fillcolor=0)
    return np.array(canvas.resize((size, size), Image.Resampling.BOX))


def digit_seed(seed: int, split: str, index: int) -> tuple[int, int, int]:
    """The seed of item `index` of `split` ("train", "val", "test") in the digits of base `seed`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    return (int(seed), SPLITS[split], int(index))


def render_item(seed: int, split: str, index: int, size: int = SIZE) -> np.ndarray:
    """Item `index` of a split: digit index % 10, jittered from (seed, split, index)."""
    return render_digit(index % N_CLASSES, np.random.default_rng(digit_seed(seed, split, index)), size)


def render_split(seed: int, split: str, n: int, size: int = SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """Items 0 to n-1 of a split at once: images N x 1 x size x size in [-1, 1] and their labels (N,)."""
    images = np.stack([render_item(seed, split, i, size) for i in range(n)])
    return _to_unit(images)[:, None], torch.arange(n) % N_CLASSES


def _to_unit(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(127.5).sub_(1.0)


@DATASETS.register("digits", "the embedded procedural digits: 0-9 from fonts with random affine jitter, labelled")
class DigitsDataset(Dataset):
    """The procedural digits as a labelled data set: item i is {"B": 1 x size x size in [-1, 1], "label": i % 10}.

    Items are rendered on first use (about a millisecond each) and kept: 10,000 of them hold 8 MB at 28 px.
    """

    def __init__(self, split: str = "train", n: int = 10_000, seed: int = 0, size: int = SIZE) -> None:
        digit_seed(seed, split, 0)  # checks the split
        if n < 1 or size < 8:
            raise DataError(f"digits: need n >= 1 and size >= 8, got n={n}, size={size}")
        self.split, self.n, self.seed, self.size = split, n, seed, size
        self._cache: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, Any]:
        image = self._cache.get(index)
        if image is None:
            image = self._cache[index] = _to_unit(render_item(self.seed, self.split, index, self.size))[None]
        return {"B": image, "label": index % N_CLASSES, "B_path": f"digits:{self.split}/{index:05d}"}

    def describe(self) -> str:
        """Where the data comes from, for the log and config.toml."""
        return f"procedural digits ({len(font_paths())} fonts, seed {self.seed})"


def clean_digits(size: int = SIZE) -> torch.Tensor:
    """The ten digits upright and centred in the first font: 10 x 1 x size x size in [-1, 1]."""
    return _to_unit(np.stack([render_digit(d, None, size) for d in range(N_CLASSES)]))[:, None]
