"""Measurable proxies of a cel-shaded (Shinkai-like) look, for photographs that have no ground truth.

Pure functions on one image: an H x W x 3 uint8 RGB array (0-255; a grey H x W array is taken as R = G = B).
Nothing here knows of models, folders or reports (`photos.py` decides what to measure on what).

    colourfulness     Hasler and Suesstrunk (2003), on 0-255 values: 0 grey, ~59 quite, 109+ extremely colourful
    palette flatness  share of pixels in the 8 most common colours of a 32-step RGB grid; 1.0 is at most 8 colours
    outline density   share of pixels on dark, thin lines (a black top-hat of luma); cel shading draws them
    edge sharpness    how steep edges are for their contrast; 1.0 a hard step, 2/w a ramp w (2-4) px wide
    content kept      SSIM of the Sobel edge maps of a source and its translation; 1.0 every edge kept

Luma is Rec. 601 (0.299 R + 0.587 G + 0.114 B) on 0-1 values. Every proxy is deterministic and costs a few
array passes, so a 512 px photo is measured in well under a second on a CPU.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = [
    "EDGE_CONTRAST",
    "OUTLINE_DEPTH",
    "OUTLINE_STEP",
    "OUTLINE_WIDTH",
    "PALETTE_K",
    "PALETTE_LEVELS",
    "PROXIES",
    "SHARPNESS_WINDOW",
    "as_rgb",
    "colourfulness",
    "content_kept",
    "edge_sharpness",
    "luma",
    "measure",
    "outline_density",
    "outline_mask",
    "palette_flatness",
    "sobel_magnitude",
]

PALETTE_K = 8  # colours counted as the palette: a cel-shaded frame paints each object in two or three tones
PALETTE_LEVELS = 32  # steps per channel: cells 8 values wide, about the step between two flat tones one sees
OUTLINE_WIDTH = 5  # px: the widest line the top-hat sees; wider dark areas are shadows, not outlines
OUTLINE_DEPTH = 0.5  # a line pixel is at most half as bright as the brightest pixel across the line...
OUTLINE_STEP = 0.1  # ...and at least this much darker (on 0-1 luma), so noise in near-black areas is no line
EDGE_CONTRAST = 0.1  # luma range (0-1) a neighbourhood needs to hold an edge; below it is flat or noise
SHARPNESS_WINDOW = 7  # px: an edge's neighbourhood; ramps up to ~4 px read 2/w, wider blur 0.3-0.45

PROXIES = ("colourfulness", "palette_flatness", "outline_density", "edge_sharpness", "content_kept")
"""The proxies' names, in the order reports list them."""


def as_rgb(image: np.ndarray) -> np.ndarray:
    """An H x W x 3 array from an RGB or grey (H x W, or H x W x 1) image, values unchanged."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"expected an H x W x 3 RGB or H x W grey image, got shape {image.shape}")
    return np.repeat(image[..., None], 3, axis=2)


def luma(image: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of a uint8 image on 0-1, H x W float64."""
    rgb = as_rgb(image).astype(np.float64) / 255.0
    return rgb @ np.array([0.299, 0.587, 0.114])


def colourfulness(image: np.ndarray) -> float:
    """Hasler and Suesstrunk's colourfulness M on 0-255 values.

    rg = R - G, yb = (R + G) / 2 - B over all pixels;
    M = sqrt(sd(rg)^2 + sd(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2).
    Grey is 0; the authors' scale calls ~33 moderately, ~59 quite, ~82 highly and 109+ extremely colourful.
    """
    rgb = as_rgb(image).astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    spread = np.sqrt(rg.std() ** 2 + yb.std() ** 2)
    offset = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(spread + 0.3 * offset)


def palette_flatness(image: np.ndarray, k: int = PALETTE_K, levels: int = PALETTE_LEVELS) -> float:
    """The share of pixels in the `k` most populous cells of a `levels`^3 grid over RGB (0-1).

    Each channel is quantised to `levels` equal steps (cell = floor(value * levels / 256)), so the default is a
    grid of 32^3 cells 8 values wide: deterministic, one histogram, no iteration (no k-means to seed). A flat
    cel-shaded frame puts most of its pixels in a few cells; a photo's texture, noise and gradients spread them
    over many. A coarser grid would reward a dull, low-contrast photo for its narrow range of colours instead.
    """
    cells = as_rgb(image).astype(np.int64) * levels // 256
    index = (cells[..., 0] * levels + cells[..., 1]) * levels + cells[..., 2]
    counts = np.bincount(index.ravel(), minlength=levels**3)
    largest = np.sort(counts)[::-1][:k]
    return float(largest.sum() / index.size)


def outline_mask(image: np.ndarray, width: int = OUTLINE_WIDTH, depth: float = OUTLINE_DEPTH,
                 step: float = OUTLINE_STEP) -> np.ndarray:
    """Pixels on dark, thin lines: where the grey closing of luma (a `width` px square) lifts the pixel by more than
    `step` and to more than 1 / `depth` times its value, i.e. a line narrower than `width` px that is at most
    `depth` times as bright as what it crosses (a black outline, or a colour outline darkened in its own hue)."""
    y = luma(image)
    closed = ndimage.grey_closing(y, size=(width, width), mode="nearest")
    return (closed - y > step) & (y <= depth * closed)


def outline_density(image: np.ndarray) -> float:
    """The share of pixels on dark, thin lines (`outline_mask`): 0 for a line-less image, a few percent for an
    outlined cartoon frame; a dark, fine-textured photo (foliage) earns some too."""
    return float(outline_mask(image).mean())


def sobel_magnitude(grey: np.ndarray) -> np.ndarray:
    """The gradient magnitude of a 0-1 grey image by Sobel kernels scaled by 1/8: in grey levels per pixel, so a
    step of height h gives h / 2 on the two pixels beside it (central differences) and a ramp of slope s gives s."""
    gx = ndimage.sobel(grey, axis=1, mode="nearest") / 8.0
    gy = ndimage.sobel(grey, axis=0, mode="nearest") / 8.0
    return np.hypot(gx, gy)


def edge_sharpness(image: np.ndarray, window: int = SHARPNESS_WINDOW, contrast: float = EDGE_CONTRAST) -> float:
    """How steep edges are for their contrast: the mean of 2 |grad Y| / (max Y - min Y), both over the `window` px
    square around each edge pixel, capped at 1. Edge pixels are those whose Sobel magnitude of luma
    (`sobel_magnitude`) is the largest in their window, where the window's luma range is at least `contrast`.

    A hard step scores 1 whatever its contrast (as does one with a pixel of anti-aliasing: central differences
    cannot tell them apart); a linear ramp w pixels wide 2 / w while w is at most about half the window; blur as wide
    as the window or wider reads 0.3-0.45, the window seeing only part of the rise. So the figure falls as outputs
    turn soft. Only each
    neighbourhood's steepest pixel counts, so noise beside an edge does not pass for a soft edge. NaN when no window
    has the contrast (a flat image).
    """
    y = luma(image)
    magnitude = sobel_magnitude(y)
    steepest = ndimage.maximum_filter(magnitude, size=window, mode="nearest")
    spread = (ndimage.maximum_filter(y, size=window, mode="nearest")
              - ndimage.minimum_filter(y, size=window, mode="nearest"))
    edges = (magnitude >= steepest) & (spread >= contrast) & (magnitude > 0)
    if not edges.any():
        return float("nan")
    ratio = 2.0 * magnitude[edges] / spread[edges]
    return float(np.minimum(ratio, 1.0).mean())  # a diagonal step reaches ~1.06; capped so 1 is the sharpest


def content_kept(source: np.ndarray, output: np.ndarray) -> float:
    """Structural similarity (SSIM) of the edge maps of `source` and `output`: each the Sobel magnitude of luma
    (`sobel_magnitude`, 0 to ~0.71), compared by scikit-image's SSIM (7 x 7 uniform window, data range 1).

    1.0 when the output keeps every edge where the source has it (identical images score exactly 1), near 0 for
    unrelated images. Different sizes are an error: compare an output with the source it was made from. NaN for
    images under 3 pixels a side, where SSIM is undefined.
    """
    from skimage.metrics import structural_similarity

    a, b = sobel_magnitude(luma(source)), sobel_magnitude(luma(output))
    if a.shape != b.shape:
        raise ValueError(f"content_kept compares images of one size, got {a.shape} and {b.shape}")
    side = min(a.shape)
    window = min(7, side if side % 2 else side - 1)
    if window < 3:
        return float("nan")
    return float(structural_similarity(a, b, data_range=1.0, win_size=window))


def measure(image: np.ndarray, source: np.ndarray | None = None) -> dict[str, float]:
    """Every proxy of one image; `content_kept` against `source` when given (the image it was translated from)."""
    values = {
        "colourfulness": colourfulness(image),
        "palette_flatness": palette_flatness(image),
        "outline_density": outline_density(image),
        "edge_sharpness": edge_sharpness(image),
    }
    if source is not None:
        values["content_kept"] = content_kept(source, image)
    return values
