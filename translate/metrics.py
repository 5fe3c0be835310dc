"""Held-out metrics logged while training: how far the translation is from the true target."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.utils.data import DataLoader, Dataset, Subset


def l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image, in [0, 1] intensity units (images in [-1, 1]); shape (N,)."""
    return (output.float() - target.float()).abs().flatten(1).mean(1) / 2


def heldout_l1(
    translate: Callable[[torch.Tensor], torch.Tensor],
    dataset: Dataset,
    device: torch.device | str = "cpu",
    limit: int = 100,
    batch_size: int = 8,
    channels_last: bool = False,
) -> float:
    """Mean L1 between translate(A) and the true B over the first `limit` images of a held-out split.

    0 is perfect; 0.5 is as far as the mid-grey from black or white. Every test split carries its true
    target (an unpaired style's test split pairs each photo with its true rendering), so every model
    and style is scored the same way.
    """
    n = min(len(dataset), limit)  # type: ignore[arg-type]
    loader: DataLoader[Any] = DataLoader(Subset(dataset, range(n)), batch_size=batch_size, shuffle=False)
    total, count = 0.0, 0
    fmt = torch.channels_last if channels_last else torch.preserve_format
    for batch in loader:
        source = batch["A"].to(device, memory_format=fmt)
        target = batch["B"].to(device)
        total += l1(translate(source), target).sum().item()
        count += source.shape[0]
    return total / max(1, count)
