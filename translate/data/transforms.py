"""Images in and out: any PIL mode to RGB or grey, jitter (resize + random crop), flip, [-1, 1] tensors."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from translate.errors import DataError

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".gif"}
)


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file name has an image extension (the content is checked when it is opened)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def to_mode(image: Image.Image, channels: int = 3) -> Image.Image:
    """Convert any PIL mode to RGB (channels=3) or L (channels=1).

    Transparency is composited on white (a line drawing on a clear background stays a line drawing);
    16-bit and float images are scaled from their own range, not clipped.
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(array.max()), 1.0)
        if image.mode == "F" and array.max() <= 1.0:
            top = 1.0
        image = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    target = "RGB" if channels == 3 else "L"
    return image if image.mode == target else image.convert(target)


def open_image(path: str | os.PathLike[str], channels: int = 3) -> Image.Image:
    """Read an image file fully, upright (EXIF rotation applied), as RGB or L.

    Raises DataError naming the file when it is missing, not an image, or truncated.
    """
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            return to_mode(image, channels)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise DataError(f"{path}: not an image PIL can read; remove it or convert it to PNG/JPEG") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise DataError(f"{path}: unreadable or truncated image ({e}); re-export or remove it") from None


@dataclass(frozen=True)
class Jitter:
    """The pix2pix augmentation: resize to load_size, random crop to crop_size, random horizontal flip.

    With `train=False` it resizes straight to crop_size and never flips (the reference's test setting).
    """

    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    train: bool = True

    def sample(self, rng: random.Random | None = None) -> tuple[int, int, bool]:
        """Draw one crop offset and flip, to apply identically to both images of a pair."""
        rng = rng or random
        if not self.train:
            return 0, 0, False
        room = self.load_size - self.crop_size
        return rng.randint(0, room), rng.randint(0, room), self.flip and rng.random() < 0.5

    def __call__(self, image: Image.Image, params: tuple[int, int, bool]) -> Image.Image:
        x, y, flip = params
        if not self.train:
            return image.resize((self.crop_size, self.crop_size), Image.Resampling.BICUBIC)
        if image.size != (self.load_size, self.load_size):
            image = image.resize((self.load_size, self.load_size), Image.Resampling.BICUBIC)
        image = image.crop((x, y, x + self.crop_size, y + self.crop_size))
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else image


def to_tensor(image: Image.Image) -> torch.Tensor:
    """A PIL image (RGB or L) as a float CHW tensor in [-1, 1]."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[None]
    else:
        array = array.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array)).div_(127.5).sub_(1.0)


def to_image(tensor: torch.Tensor) -> Image.Image:
    """The inverse of `to_tensor`: a CHW (or 1xCHW) tensor in [-1, 1] as an RGB or L image."""
    if tensor.dim() == 4:
        tensor = tensor[0]
    array = ((tensor.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).numpy()
    if array.shape[0] == 1:
        return Image.fromarray(array[0], "L")
    return Image.fromarray(array.transpose(1, 2, 0), "RGB")


def split_ab(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Cut a side-by-side AB image into its left (A) and right (B) halves."""
    w, h = image.size
    half = w // 2
    return image.crop((0, 0, half, h)), image.crop((half, 0, 2 * half, h))
