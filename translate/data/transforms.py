"""Images in and out: any PIL mode to RGB or grey, jitter (resize + random crop), flip, [-1, 1] tensors."""

from __future__ import annotations

import contextlib
import os
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from translate.errors import DataError

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".gif"}
)


VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm"})


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file name has an image extension (the content is checked when it is opened)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_video_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file name has a video extension (.mp4, .mov, .avi, .mkv, .webm; `translate predict` reads them)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


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


ImageSource = str | os.PathLike[str] | BinaryIO  # a file's path, or a binary file object such as BytesIO

MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3
"""The most pixels (width x height) an image file may declare before it is refused as a decompression bomb.

About 9460 x 9460, PIL's own default; the one limit every reader here applies (`open_image`, `data check`,
the training loaders, predict). Pass `max_pixels` (predict: --max-pixels) to allow a larger file on purpose."""

_pil_check = threading.Lock()
_pil_check_users = 0
_pil_saved_limit: int | None = None


@contextlib.contextmanager
def _without_pil_bomb_check() -> Iterator[None]:
    """PIL's process-wide bomb check off while a file is opened here, where `check_pixels` applies the caller's limit.

    PIL reads one global (Image.MAX_IMAGE_PIXELS) and raises before its caller sees the size; it is set to None
    only while some thread is inside this context and restored when the last one leaves.
    """
    global _pil_check_users, _pil_saved_limit
    with _pil_check:
        if _pil_check_users == 0:
            _pil_saved_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        _pil_check_users += 1
    try:
        yield
    finally:
        with _pil_check:
            _pil_check_users -= 1
            if _pil_check_users == 0:
                Image.MAX_IMAGE_PIXELS = _pil_saved_limit


def check_pixels(path: str | os.PathLike[str], size: tuple[int, int], max_pixels: int | None = MAX_PIXELS) -> None:
    """Raise DataError naming `path` when an image of `size` (width, height) is over `max_pixels` (None: no limit)."""
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        raise DataError(
            f"{path}: {width} x {height} pixels is over the limit of {max_pixels:,} (a decompression bomb?); "
            f"if it is a real image, pass --max-pixels {width * height} to allow it, and --tile 512 to translate "
            "it in tiles"
        )


@contextlib.contextmanager
def opened_image(path: ImageSource, max_pixels: int | None = MAX_PIXELS) -> Iterator[Image.Image]:
    """The image file opened (header read, pixels not yet decoded) once its size is within `max_pixels`.

    `path` may also be a binary file object (an upload held in memory), named in messages by its `name`.
    Raises DataError naming the file when it is missing, not an image, too large, or (on `load()` inside the
    context) truncated or damaged.
    """
    if isinstance(path, (str, os.PathLike)):
        path = Path(path)
    label = path if isinstance(path, Path) else getattr(path, "name", "the image")
    try:
        with _without_pil_bomb_check(), Image.open(path) as image:
            check_pixels(label, image.size, max_pixels)
            yield image
    except FileNotFoundError:
        raise DataError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{label}: a folder, not an image file") from None
    except UnidentifiedImageError:
        raise DataError(f"{label}: not an image PIL can read; remove it or convert it to PNG/JPEG") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise DataError(f"{label}: unreadable or truncated image ({e}); re-export or remove it") from None


def open_image(path: ImageSource, channels: int = 3, max_pixels: int | None = MAX_PIXELS) -> Image.Image:
    """Read an image file (or binary file object) fully, upright (EXIF rotation applied), as RGB or L.

    Raises DataError naming the file when it is missing, not an image, truncated, or over `max_pixels`
    (width x height; None for no limit), which is checked before a pixel is decoded.
    """
    with opened_image(path, max_pixels) as image:
        image.load()
        return to_mode(ImageOps.exif_transpose(image), channels)


@dataclass(frozen=True)
class Jitter:
    """The pix2pix augmentation: resize to load_size, random crop to crop_size, random horizontal flip.

    With `train=False` it resizes straight to crop_size and never flips (the reference's test setting).
    `keep_aspect` is for training on photographs of any shape and size: the short side is resized to load_size
    (the long one in proportion) instead of squashing the image to a square, and the crop may fall anywhere along
    the long side.
    """

    load_size: int = 286
    crop_size: int = 256
    flip: bool = True
    train: bool = True
    keep_aspect: bool = False

    def loaded_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """(width, height) an image of `size` is resized to before the crop."""
        if not self.keep_aspect:
            return self.load_size, self.load_size
        return short_side_size(size, self.load_size)

    def sample(self, rng: random.Random | None = None, size: tuple[int, int] | None = None) -> tuple[int, int, bool]:
        """Draw one crop offset and flip, to apply identically to both images of a pair.

        `size` (width, height) is the image's, needed with `keep_aspect`: its crops have more room along the long side.
        """
        rng = rng or random
        if not self.train:
            return 0, 0, False
        width, height = self.loaded_size(size) if size else (self.load_size, self.load_size)
        return (rng.randint(0, width - self.crop_size), rng.randint(0, height - self.crop_size),
                self.flip and rng.random() < 0.5)

    def __call__(self, image: Image.Image, params: tuple[int, int, bool]) -> Image.Image:
        x, y, flip = params
        if not self.train:
            return image.resize((self.crop_size, self.crop_size), Image.Resampling.BICUBIC)
        size = self.loaded_size(image.size)
        if image.size != size:
            image = image.resize(size, Image.Resampling.BICUBIC)
        image = image.crop((x, y, x + self.crop_size, y + self.crop_size))
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else image


def short_side_size(size: tuple[int, int], short: int) -> tuple[int, int]:
    """(width, height) of an image of `size` resized so that its short side is `short`, its shape kept."""
    width, height = size
    scale = short / min(width, height)
    return max(short, round(width * scale)), max(short, round(height * scale))


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
