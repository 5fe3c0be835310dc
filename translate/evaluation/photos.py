"""Judging without ground truth: a model run on a folder of real photographs, scored by measurable proxies.

`translate eval NAME --photos DIR`. A photograph has no true Shinkai rendering to compare with, so each proxy of
`photo_proxies` is reported three times: for the photos as given (input), for the model's translations of them
(output), and for true Shinkai renderings of the embedded scenes world (renderings), the look a Shinkai model
reaches for. An output column that moves from the input toward the renderings is a translation doing its job;
content kept says how much of the photo survived the trip.

Photos run at their own size, scaled down (aspect kept) only where the long side is over a cap (`--size`, else
512 px) so that wallpapers stay fast on a CPU; the input proxies are measured on the image the model saw. One
rendering per photo (the first 16) is drawn at that photo's size, since line density and edge sharpness depend on
resolution. A file that cannot be read is skipped with a warning; a folder with nothing readable is an error.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from translate.data import scenes
from translate.data.folders import photo_files
from translate.data.transforms import open_image, to_image, to_mode, to_tensor
from translate.errors import DataError, TranslateError
from translate.evaluation import photo_proxies as proxies
from translate.evaluation.evaluate import resolve_model
from translate.inference.translator import load
from translate.registry import create

log = logging.getLogger("translate")

MAX_SIDE = 512  # the long side photos are scaled down to when --size is not given
MAX_RENDERINGS = 16  # renderings drawn as the reference: enough for stable means, cheap at any photo size
COLUMNS = ("input", "output", "renderings")

DEFINITIONS = {
    "colourfulness": "Hasler-Suesstrunk M on 0-255 RGB: sqrt(sd(rg)^2 + sd(yb)^2) + 0.3 sqrt(mean(rg)^2 + "
                     "mean(yb)^2), rg = R-G, yb = (R+G)/2-B; 0 grey, ~59 quite, 109+ extremely colourful",
    "palette_flatness": f"share of pixels in the {proxies.PALETTE_K} most common cells of a "
                        f"{proxies.PALETTE_LEVELS}-step-per-channel RGB grid; 1 is at most {proxies.PALETTE_K} "
                        "flat colours, photos spread over many",
    "outline_density": f"share of pixels on dark lines under {proxies.OUTLINE_WIDTH} px wide: the "
                       f"{proxies.OUTLINE_WIDTH}x{proxies.OUTLINE_WIDTH} grey closing of luma is over "
                       f"{proxies.OUTLINE_STEP:g} above the pixel and {1 / proxies.OUTLINE_DEPTH:g}+ times it; "
                       "cel frames are outlined",
    "edge_sharpness": f"2|grad luma| / luma range in the {proxies.SHARPNESS_WINDOW}x{proxies.SHARPNESS_WINDOW} "
                      "window, averaged over each window's steepest pixel where the range is at least "
                      f"{proxies.EDGE_CONTRAST:g}; 1 a hard step, 2/w a ramp w = 2-4 px wide, 0.3-0.45 wider blur",
    "content_kept": "SSIM of the Sobel edge maps of luma, photo vs output (input: 1 by definition; renderings: the "
                    "world's photo vs its Shinkai rendering of the same scene); 1 every edge kept, ~0 unrelated",
}


# ------------------------------------------------------------------------------------------------ photos


def fit(image: Image.Image, max_side: int) -> Image.Image:
    """`image` scaled down (aspect kept, Lanczos) so that its long side is at most `max_side`; smaller ones as
    they are: a model runs at the photo's own size where that is affordable."""
    width, height = image.size
    scale = max_side / max(width, height)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class Photo:
    """One photograph as the model sees it: RGB, fitted to the long-side cap."""

    file: Path
    image: Image.Image
    scaled_down: bool  # whether its long side was over the cap


def read_photos(photos: str | Path, limit: int, max_side: int) -> tuple[list[Photo], list[tuple[str, str]]]:
    """The first `limit` readable photos fitted to `max_side`, and the files skipped with why.

    Unreadable files are skipped (and named in a warning) as `translate predict` skips them; when none can be
    read, one error names the first few and their reasons.
    """
    files = photo_files(photos, f"--photos {photos}")
    read: list[Photo] = []
    skipped: list[tuple[str, str]] = []
    for file in files:
        if len(read) >= limit:
            break
        try:
            image = open_image(file, channels=3)
        except DataError as e:
            if len(files) == 1:
                raise
            skipped.append((str(file), str(e).removeprefix(f"{file}: ")))
            continue
        fitted = fit(image, max_side)
        read.append(Photo(file, fitted, fitted.size != image.size))
    if not read:
        reasons = "; ".join(f"{Path(name).name} ({why})" for name, why in skipped[:3])
        raise DataError(f"--photos {photos}: none of its {len(files)} image files could be read: {reasons}; "
                        "re-export them as PNG or JPEG")
    for name, why in skipped:  # warned only now: when nothing is readable, the error alone says it in one line
        log.warning("skipping %s: %s", name, why)
    return read, skipped


# ------------------------------------------------------------------------------------------------ model


def photo_model(name: str | Path, device: torch.device | str, test_mode: str | None
                ) -> tuple[Callable[[torch.Tensor], torch.Tensor], int, dict[str, Any]]:
    """(translate an NCHW batch in [-1, 1], its input channels, what to record of it) for a run directory, a
    catalogue name or a baseline, as `translate eval` resolves them."""
    kind, _ = resolve_model(name)
    if kind == "baseline":
        return create("generator", str(name), in_channels=3, out_channels=1).to(device), 3, {"kind": kind}
    translator = load(name, direction="AtoB", device=device, test_mode=test_mode)
    return translator.translate_tensor, translator.in_channels, {"kind": kind, "test_mode": translator.test_mode}


def translate_photo(fn: Callable[[torch.Tensor], torch.Tensor], image: Image.Image, in_channels: int,
                    device: torch.device | str) -> np.ndarray:
    """One photo through the model at its own size: the output as a uint8 array (H x W x 3, or H x W grey)."""
    batch = to_tensor(to_mode(image, in_channels))[None].to(device)
    with torch.inference_mode():
        out = to_image(fn(batch).cpu())
    if out.size != image.size:  # generators crop back to their input; anything else is compared at the photo's size
        out = out.resize(image.size, Image.Resampling.BICUBIC)
    return np.asarray(out)


# ------------------------------------------------------------------------------------------- evaluation


def evaluate_photos(
    model: str | Path,
    photos: str | Path,
    *,
    size: int | None = None,
    limit: int = 100,
    device: torch.device | str = "cpu",
    test_mode: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Score `model` on the first `limit` readable photos under `photos`: each proxy's mean over the photos
    (input), over the model's outputs (output) and over Shinkai renderings of the scenes world (renderings).

    `size` caps the photos' long side (default 512 px); `test_mode` is `load`'s. Returns a JSON-ready report
    (`report.format_photo_table` draws it).
    """
    if limit < 1:
        raise TranslateError(f"--limit {limit}: evaluate at least 1 photo")
    max_side = int(size) if size else MAX_SIDE
    if max_side < scenes.MIN_SIZE:
        raise TranslateError(f"--size {max_side}: photos need a long side of at least {scenes.MIN_SIZE} px")
    start = time.perf_counter()
    read, skipped = read_photos(photos, limit, max_side)  # first: a folder's problems are found in a moment
    fn, in_channels, about = photo_model(model, device, test_mode)

    per_photo: list[dict[str, Any]] = []
    for photo in tqdm(read, desc=f"eval {model} on photos", unit="photo", disable=not progress, leave=False):
        source = np.asarray(photo.image)
        output = translate_photo(fn, photo.image, in_channels, device)
        per_photo.append({"file": str(photo.file), "size": list(source.shape[:2]),
                          "input": _finite(proxies.measure(source)), "output": _finite(proxies.measure(output, source))})
    renderings = [_finite(reference_proxies(i, p["size"])) for i, p in enumerate(per_photo[:MAX_RENDERINGS])]

    columns = {"input": [p["input"] for p in per_photo], "output": [p["output"] for p in per_photo],
               "renderings": renderings}
    return {
        "name": str(model),
        **about,
        "photos": str(photos),
        "n_photos": len(per_photo),
        "skipped": [list(item) for item in skipped],
        "max_side": max_side,
        "scaled_down": sum(1 for photo in read if photo.scaled_down),
        "n_renderings": len(renderings),
        "renderings_of": "true Shinkai renderings of the scenes world (seed 0, test split), each at its photo's size",
        "proxies": {name: {column: _mean([values.get(name) for values in columns[column]]) for column in COLUMNS}
                    for name in proxies.PROXIES},
        "definitions": dict(DEFINITIONS),
        "per_photo": per_photo,
        "seconds": round(time.perf_counter() - start, 2),
    }


def reference_proxies(index: int, size: list[int]) -> dict[str, float]:
    """The proxies of test scene `index` of the scenes world drawn at `size` (height, width): its Shinkai rendering,
    with content kept measured from the world's photo of the same scene."""
    shape = (max(size[0], scenes.MIN_SIZE), max(size[1], scenes.MIN_SIZE))
    scene = scenes.render(scenes.scene_seed(0, "test", index), shape)
    return proxies.measure(scene.shinkai, scene.photo)


def _finite(values: dict[str, float]) -> dict[str, float | None]:
    """The proxies with NaN (no edge to measure, an image too small for SSIM) as None, which JSON can hold."""
    return {name: value if np.isfinite(value) else None for name, value in values.items()}


def _mean(values: list[float | None]) -> float | None:
    """The mean of the values measured (None: not measurable on that image), or None when there are none."""
    finite = [v for v in values if v is not None]
    return float(np.mean(finite)) if finite else None
