"""A predicted sketch made into a printable colouring page: black lines of one width on pure white paper.

A line-art model's raw output is a grey image: soft, antialiased lines, a few stray dots, lines broken by a pixel
here and there, some drawn thick and some thin, and paper that is nearly but not quite white. `colouring_page`
binarises it (Otsu's threshold, or a fixed one), thins every line to its centre, joins loose ends to a line a
pixel or two away, removes specks (short pieces of line), draws every line again at one width, and leaves
everything else pure white. `translate predict MODEL photo.jpg --page` and `translate.load(MODEL, page=True)` apply it to
every output of a model that draws line art (`check_draws_lines`).

Built on numpy, scipy and scikit-image, which translate already depends on.
"""

from __future__ import annotations

from typing import Any, Mapping, TypeVar

import numpy as np
from PIL import Image

from translate.errors import ConfigError

Page = TypeVar("Page", Image.Image, np.ndarray, Any)

# Otsu's threshold is clamped to this range: a page with (almost) no ink has a grey-level histogram of paper
# alone, which Otsu would split down the middle of its noise, turning faint grain into ink.
OTSU_RANGE = (0.25, 0.75)


def auto_settings(height: int, width: int) -> dict[str, int]:
    """The defaults for an image of this size: speck length, gap and line width grow with the short side, so a
    page looks the same printed from a 128 px output as from a 1024 px one."""
    short = min(height, width)
    return {
        # A piece of line shorter than this is a speck (4 px at 128 px). Longer ones are often true detail: on the
        # scenes world's test photos, 8 px at 128 px cut line recall from 0.90 to 0.81 against the true sketches.
        "min_speck": max(3, short // 32),
        "gap": max(2, round(short / 40)),  # breaks in a line up to this wide are bridged (3 px at 128 px)
        "line_width": max(2, round(short / 200)),  # 2 px up to ~500 px, 5 px at 1024 px
    }


def otsu_threshold(grey: np.ndarray) -> float:
    """Otsu's threshold of a grey image in [0, 1] (256 bins), clamped to `OTSU_RANGE`; a flat image gives 0.5."""
    counts, _ = np.histogram(grey, bins=256, range=(0.0, 1.0))
    if np.count_nonzero(counts) < 2:
        return 0.5
    centres = (np.arange(256) + 0.5) / 256
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centres)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    best = int(np.argmax(between[:-1]))
    return float(np.clip((best + 1) / 256, *OTSU_RANGE))


def ink_of(grey: np.ndarray, threshold: float) -> np.ndarray:
    """Ink by hysteresis, as Canny keeps edges: grey below `threshold`, and the fainter grey (below halfway from
    it to white) that touches such ink. A model draws a line darker in places and fainter between them; a single
    threshold breaks it into dashes."""
    from skimage.filters import apply_hysteresis_threshold

    return apply_hysteresis_threshold(1 - grey, (1 - threshold) / 2, 1 - threshold)


def disk(diameter: int) -> np.ndarray:
    """A round structuring element `diameter` pixels across (even diameters too: 2 is a 2 x 2 square)."""
    centre = (diameter - 1) / 2
    y, x = np.mgrid[:diameter, :diameter]
    return (y - centre) ** 2 + (x - centre) ** 2 <= (diameter / 2) ** 2


def page_ink(
    grey: np.ndarray,
    threshold: float | None = None,
    min_speck: int | None = None,
    gap: int | None = None,
    line_width: int | None = None,
) -> np.ndarray:
    """The ink of a colouring page drawn from a grey H x W sketch in [0, 1] (dark lines on light paper): H x W bool.

    Grey below `threshold` is ink (None: Otsu's threshold), and fainter grey that touches it (`ink_of`). The ink is thinned to one-pixel lines; a line that
    ends within `gap` pixels of another line is joined to it by a straight stroke; pieces of line shorter than
    `min_speck` pixels are removed; and what is left is drawn `line_width` pixels wide. None takes
    `auto_settings` for the image's size; gap 0 or min_speck 0 turns that step off.
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    if grey.ndim != 2:
        raise ValueError(f"expected an H x W grey image, got shape {grey.shape}")
    auto = auto_settings(*grey.shape)
    min_speck = auto["min_speck"] if min_speck is None else min_speck
    gap = auto["gap"] if gap is None else gap
    line_width = auto["line_width"] if line_width is None else line_width
    for name, value, least in (("min_speck", min_speck, 0), ("gap", gap, 0), ("line_width", line_width, 1)):
        if value < least:
            raise ConfigError(f"colouring page: {name} must be {least} or more, got {value}")
    if threshold is not None and not 0 < threshold < 1:
        raise ConfigError(f"colouring page: threshold must be in (0, 1) (a grey level), got {threshold}")

    # Thinning first: a morphological closing would also fill the paper between close parallel lines (a
    # building's windows at 128 px), which thinning then collapses into a single stroke.
    lines = skeletonize(ink_of(grey, otsu_threshold(grey) if threshold is None else threshold))
    if gap:
        lines = bridge_gaps(lines, gap)
    if min_speck:
        pieces, _ = ndimage.label(lines, structure=np.ones((3, 3), bool))
        lengths = np.bincount(pieces.ravel())
        lengths[0] = 0  # the paper
        lines = lengths[pieces] >= min_speck
    return ndimage.binary_dilation(lines, structure=disk(line_width)) if line_width > 1 else lines


def bridge_gaps(lines: np.ndarray, gap: int) -> np.ndarray:
    """One-pixel `lines` (H x W bool) with each loose end joined by a straight stroke to the nearest pixel of
    another piece of line within `gap` pixels, where there is one. Ends of the same piece are never joined: a
    curve that turns back on itself (a wave, a spiral) would be closed into loops it does not have."""
    from scipy import ndimage
    from skimage.draw import line as draw_line

    pieces, _ = ndimage.label(lines, structure=np.ones((3, 3), bool))
    neighbours = ndimage.convolve(lines.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - 1
    out = lines.copy()
    height, width = lines.shape
    for y, x in zip(*np.nonzero(lines & (neighbours == 1))):
        y0, y1, x0, x1 = max(0, y - gap), min(height, y + gap + 1), max(0, x - gap), min(width, x + gap + 1)
        window = pieces[y0:y1, x0:x1]
        others = np.argwhere((window > 0) & (window != pieces[y, x]))
        if not len(others):
            continue
        distances = ((others + (y0 - y, x0 - x)) ** 2).sum(1)
        nearest = int(np.argmin(distances))
        if distances[nearest] > gap * gap:
            continue
        rows, cols = draw_line(y, x, int(others[nearest][0]) + y0, int(others[nearest][1]) + x0)
        out[rows, cols] = True
    return out


def colouring_page(image: Page, **settings: Any) -> Page:
    """A printable colouring page from a predicted sketch: black lines of even width on pure white, same kind back.

    Takes what a Translator gives: a PIL image (returned as mode L), an H x W or H x W x C array (uint8, or float
    in [0, 1]; returned H x W, same dtype) or a CHW / NCHW tensor (float in [-1, 1], or uint8; the same shape and
    dtype back, every channel alike). Paper is exactly white (255, 1.0) and ink exactly black. `settings` are
    `page_ink`'s: threshold, min_speck, gap, line_width.
    """
    if isinstance(image, Image.Image):
        grey = np.asarray(image.convert("L"), np.float32) / 255.0
        return Image.fromarray(np.where(page_ink(grey, **settings), 0, 255).astype(np.uint8), "L")
    if isinstance(image, np.ndarray):
        values = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
        grey = values.mean(-1) if values.ndim == 3 else values
        paper = ~page_ink(grey, **settings)
        return (paper * 255).astype(np.uint8) if image.dtype == np.uint8 else paper.astype(image.dtype)
    return tensor_page(image, settings)


def tensor_page(batch: Any, settings: Mapping[str, Any] | None = None) -> Any:
    """`colouring_page` of a CHW or NCHW tensor (float in [-1, 1] or uint8): ink -1 (0), paper 1 (255)."""
    import torch

    if not isinstance(batch, torch.Tensor) or batch.dim() not in (3, 4):
        raise TypeError(f"colouring_page takes a PIL image, a numpy array or a CHW/NCHW tensor, not {type(batch)}")
    images = batch[None] if batch.dim() == 3 else batch
    values = images.detach().float().cpu()
    grey = (values / 255.0 if batch.dtype == torch.uint8 else (values.clamp(-1, 1) + 1) / 2).mean(1).numpy()
    paper = torch.from_numpy(np.stack([~page_ink(g, **(settings or {})) for g in grey]))[:, None]
    out = paper.expand_as(images).to(batch.device)
    out = out.to(torch.uint8) * 255 if batch.dtype == torch.uint8 else out.to(batch.dtype) * 2 - 1
    return out[0] if batch.dim() == 3 else out


# ------------------------------------------------------------------------- which models draw line art

def check_draws_lines(config: Mapping[str, Any], direction: str, source: str) -> None:
    """Refuse a colouring page from a model that does not draw line art: one trained on the `coloring` style or
    the world's photo2sketch task, or on sketch2photo the other way round (data.direction, or CycleGAN's G_B).
    One line, naming the model and the fix."""
    data = config.get("data", {})
    style, task = config.get("style", ""), data.get("task", "")
    flipped = (data.get("direction", "AtoB") == "BtoA") != (direction == "BtoA")
    to_sketch = style == "coloring" or task == "photo2sketch"
    from_sketch = style == "sketch2photo" or task == "sketch2photo"
    if (to_sketch and not flipped) or (from_sketch and flipped):
        return
    made = f"style '{style}'" if style else (f"task '{task}'" if task else "no line-art style")
    raise ConfigError(
        f"--page (page=True) makes colouring pages from line art, but {source} was trained for {made}"
        f"{' in reverse' if flipped else ''}, not 'coloring'; use a model that draws sketches, e.g. "
        "translate predict scenes-coloring photo.jpg --page"
    )
