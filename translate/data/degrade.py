"""Degraded photographs: the inputs of a colouring model's second stage, and the conditions it is tested under.

The seed study trained its second stage on photos with noise added and then blurred or dilated (`TRAINING`),
so that the model learns to draw clean lines from hazy, noisy pictures (`HAZY_TRAINING` hazes them first); `CONDITIONS` are the ways a test photo
is degraded to see whether it did: blurred, noisy, low-contrast (hazy) and photo-like (a camera's haze, uneven
light, grain and JPEG together). Each is a function (RGB PIL image, numpy Generator) -> RGB PIL image of the same
size. Strengths are given for a 128 px image and scale with the short side, so the look is the same at any size.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

Degradation = Callable[[Image.Image, np.random.Generator], Image.Image]

REFERENCE_SIDE = 128  # the size the strengths below are given for


def _scale(image: Image.Image) -> float:
    return min(image.size) / REFERENCE_SIDE


def _array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), np.float32) / 255.0


def _image(values: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(values, 0.0, 1.0) * 255.0).round().astype(np.uint8), "RGB")


def add_noise(values: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of `sigma` (values in [0, 1]), independent per pixel and channel."""
    return values + rng.normal(0.0, sigma, values.shape).astype(np.float32)


def blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an H x W x 3 array, each channel alike; edges reflected."""
    return ndimage.gaussian_filter(values, sigma=(sigma, sigma, 0), mode="reflect") if sigma > 0 else values


# ------------------------------------------------------------------------------ the seed's training inputs


def noise_then_blur(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The seed's first degradation: noise (sigma 0.02-0.10), then a Gaussian blur (sigma 0.5-1.5 px at 128 px)."""
    values = add_noise(_array(image), rng.uniform(0.02, 0.10), rng)
    return _image(blur(np.clip(values, 0, 1), rng.uniform(0.5, 1.5) * _scale(image)))


def noise_then_dilate(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The seed's second: noise (sigma 0.02-0.10), then a grey dilation (each channel's maximum over a square of
    3-5 px at 128 px, at least 2), which spreads light regions over thin dark lines and thickens the texture."""
    values = np.clip(add_noise(_array(image), rng.uniform(0.02, 0.10), rng), 0, 1)
    side = max(2, round(rng.uniform(3.0, 5.0) * _scale(image)))
    return _image(ndimage.grey_dilation(values, size=(side, side, 1), mode="reflect"))


TRAINING: dict[str, Degradation] = {"noise+blur": noise_then_blur, "noise+dilate": noise_then_dilate}


def hazed(degradation: Degradation) -> Degradation:
    """`degradation` after haze: contrast cut to 30-100% and the values lifted anywhere that keeps them in [0, 1].

    Not the seed's: its two degradations taught a second stage nothing about faint, washed-out photos, on which
    it drew grey smears (benchmarks/results/coloring_pages.md), so this stronger set adds them.
    """

    def degrade(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        contrast = rng.uniform(0.3, 1.0)
        return degradation(_image(contrast * _array(image) + rng.uniform(0.0, 1.0 - contrast)), rng)

    degrade.__name__ = f"hazed_{degradation.__name__}"
    return degrade


HAZY_TRAINING: dict[str, Degradation] = {f"haze+{name}": hazed(d) for name, d in TRAINING.items()}


# ------------------------------------------------------------------------------------ test conditions


def clean(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The photo as it is."""
    return image.convert("RGB")


def blurred(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Out of focus: a Gaussian blur of sigma 1.5 px at 128 px."""
    return _image(blur(_array(image), 1.5 * _scale(image)))


def noisy(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Grainy: Gaussian noise of sigma 0.1 (25 of 255 levels) per pixel and channel."""
    return _image(add_noise(_array(image), 0.1, rng))


def low_contrast(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Hazy: contrast cut to 30%, toward a light grey (values 0.55 to 0.85)."""
    return _image(0.55 + 0.3 * _array(image))


def photo_like(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A camera's faults together: haze (contrast 60%), light falling off across the frame in a random direction,
    a slight blur (sigma 0.8 px at 128 px), grain (sigma 0.04) and JPEG at quality 30."""
    values = 0.2 + 0.6 * _array(image)
    height, width = values.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[:height, :width]
    ramp = ((x / max(1, width - 1) - 0.5) * np.cos(angle) + (y / max(1, height - 1) - 0.5) * np.sin(angle))
    values = values * (1.0 + 0.5 * ramp[..., None]).astype(np.float32)
    values = add_noise(blur(values, 0.8 * _scale(image)), 0.04, rng)
    buffer = io.BytesIO()
    _image(values).save(buffer, format="JPEG", quality=30)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


CONDITIONS: dict[str, Degradation] = {
    "clean": clean, "blurred": blurred, "noisy": noisy, "low-contrast": low_contrast, "photo-like": photo_like,
}
