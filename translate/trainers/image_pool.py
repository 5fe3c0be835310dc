"""The CycleGAN image pool: a discriminator learns from a history of fakes, not only the latest ones."""

from __future__ import annotations

import random
from typing import Any

import torch


class ImagePool:
    """A buffer of up to `size` past generated images (Shrivastava et al. 2017, as CycleGAN uses it).

    `query(images)` goes image by image: while the pool is filling, each image is stored and returned;
    once full, with probability 1/2 a random stored image is returned and the new one takes its place,
    otherwise the new image is returned. Randomness comes from Python's `random`, as in the reference,
    so the loop's saved RNG state makes it reproducible; `state_dict()` holds the stored images.
    """

    def __init__(self, size: int = 50) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, not {size}")
        self.size = size
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """A batch as large as `images`, mixing new images and stored ones (all detached)."""
        if self.size == 0:
            return images.detach()
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                index = random.randint(0, self.size - 1)
                out.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, Any]:
        """The stored images as one tensor (empty pool: no tensor)."""
        return {"size": self.size, "images": torch.cat(self.images, 0).cpu() if self.images else None}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        """Restore the stored images (onto `device`)."""
        self.size = int(state.get("size", self.size))
        images = state.get("images")
        self.images = [] if images is None else [im.unsqueeze(0).to(device) for im in images]
