"""Edge smoothing of cartoon images, CartoonGAN's negatives: the same cartoon with its sharp edges blurred.

CartoonGAN's discriminator must tell real cartoons from these, which teaches the generator that clear
edges are what makes a cartoon. As in the paper's preparation step: find edges (Canny), widen them
(dilation), and replace the pixels of that zone only by a Gaussian blur of the image.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from translate.data.folders import list_images
from translate.data.transforms import open_image
from translate.errors import DataError
from translate.files import atomic_path
from translate.outputs import check_output_folder

log = logging.getLogger("translate")


def edge_smooth(
    image: Image.Image | np.ndarray,
    radius: int | None = None,
    blur_sigma: float | None = None,
    canny_sigma: float = 1.0,
    low_threshold: float = 0.1,
    high_threshold: float = 0.2,
) -> Image.Image | np.ndarray:
    """The image with its edge zone blurred; returns the same type (PIL, or HxW[xC] uint8 array).

    `radius` widens the edges (default: 1 pixel per 128 of the shorter side, at least 1; 2 at 256 px as the
    paper's 5x5 kernel); `blur_sigma` defaults to 1.1 at 256 px (the 5x5 kernel's sigma), scaled, at least 0.8.
    Canny thresholds are on the gradient of the grey image in [0, 1].
    """
    # scipy.ndimage takes half a second to import, and this module loads with every registered trainer.
    from scipy import ndimage
    from skimage.feature import canny

    is_pil = isinstance(image, Image.Image)
    mode = image.mode if is_pil else None
    array = np.asarray(image.convert("RGB") if is_pil and image.mode not in ("RGB", "L") else image)
    if array.dtype != np.uint8:
        raise DataError(f"edge_smooth expects 8-bit images, got {array.dtype}")
    rgb = array if array.ndim == 3 else array[..., None]
    short = min(rgb.shape[:2])
    radius = max(1, round(short / 128)) if radius is None else radius
    blur_sigma = max(0.8, 1.1 * short / 256) if blur_sigma is None else blur_sigma

    grey = rgb.astype(np.float32).mean(axis=2) / 255.0
    edges = canny(grey, sigma=canny_sigma, low_threshold=low_threshold, high_threshold=high_threshold)
    zone = ndimage.binary_dilation(edges, structure=np.ones((2 * radius + 1, 2 * radius + 1), bool))
    blurred = np.stack(
        [ndimage.gaussian_filter(rgb[..., c].astype(np.float32), blur_sigma, mode="reflect") for c in range(rgb.shape[2])],
        axis=2,
    )
    out = np.where(zone[..., None], np.clip(blurred + 0.5, 0, 255).astype(np.uint8), rgb)
    out = out if array.ndim == 3 else out[..., 0]
    if is_pil:
        result = Image.fromarray(out)
        return result if mode in ("RGB", "L") else result.convert("RGB")
    return out


def edge_smooth_folder(
    src: str | os.PathLike[str], out: str | os.PathLike[str], progress: bool = False, overwrite: bool = False
) -> int:
    """Edge-smooth every image under `src` into the same relative path under `out`; returns the count written.

    An `out` that holds files already is refused unless `overwrite`. Unreadable images (truncated, not images,
    over the pixel limit) are named in the log and skipped. Each file is written atomically, so an interrupted
    run leaves only whole images (rerun with `overwrite` to finish).
    """
    src, out = Path(src), Path(out)
    files = list_images(src)
    if not files:
        raise DataError(f"no images in {src}; pass a folder of cartoon images (e.g. trainB/)")
    if out.resolve() == src.resolve():
        raise DataError(f"--out {out} is the source folder; write the smoothed copies elsewhere (e.g. trainB_smooth/)")
    check_output_folder(out, overwrite)
    formats = Image.registered_extensions()
    written = 0
    with tqdm(total=len(files), desc="edge-smooth", unit="image", disable=not progress) as bar:
        for path in files:
            bar.update()
            try:
                image = open_image(path, 3)
            except DataError as e:
                log.warning("skipping %s", e)
                continue
            with atomic_path(out / path.relative_to(src)) as tmp:
                edge_smooth(image).save(tmp, format=formats.get(path.suffix.lower(), "PNG"))
            written += 1
    if not written:
        raise DataError(f"no readable images in {src}; nothing was written to {out}")
    return written


class EdgeSmoother:
    """Edge smoothing of training batches on the fly, with an in-memory cache.

    Images are keyed by their path and their exact pixels (after crop and flip), so a cached result is
    always the right one; repeats are common when crops do not jitter. The cache holds at most
    `max_bytes` of 8-bit images, oldest out first.
    """

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._cache: OrderedDict[tuple[str, bytes], np.ndarray] = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0

    def __call__(self, images: torch.Tensor, keys: list[str] | None = None) -> torch.Tensor:
        """Edge-smoothed copies of a batch (N, C, H, W) in [-1, 1]."""
        keys = keys or [""] * images.shape[0]
        out = []
        for image, key in zip(images, keys):
            pixels = ((image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
            array = pixels.permute(1, 2, 0).numpy()
            cache_key = (key, hashlib.blake2b(array.tobytes(), digest_size=16).digest())
            smoothed = self._cache.get(cache_key)
            if smoothed is None:
                self.misses += 1
                smoothed = edge_smooth(np.ascontiguousarray(array[..., 0] if array.shape[2] == 1 else array))
                self._remember(cache_key, smoothed)
            else:
                self.hits += 1
                self._cache.move_to_end(cache_key)
            tensor = torch.from_numpy(np.asarray(smoothed, dtype=np.float32)).div_(127.5).sub_(1.0)
            out.append(tensor.unsqueeze(0) if tensor.dim() == 2 else tensor.permute(2, 0, 1))
        return torch.stack(out).to(images.dtype)

    def _remember(self, key: tuple[str, bytes], value: np.ndarray) -> None:
        self._cache[key] = value
        self._bytes += value.nbytes
        while self._bytes > self.max_bytes and self._cache:
            _, old = self._cache.popitem(last=False)
            self._bytes -= old.nbytes

    def state(self) -> dict[str, Any]:
        """Cache statistics."""
        return {"entries": len(self._cache), "bytes": self._bytes, "hits": self.hits, "misses": self.misses}
