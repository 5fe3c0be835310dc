"""The generator contract: what predict, tiling and export may rely on in any generator of the zoo.

A generator maps an (N, in_channels, H, W) batch in [-1, 1] to (N, out_channels, H, W) in [-1, 1] for any H x W.
Most networks only work on sizes that are a multiple of their total stride and not below some minimum; they
say so with `size_multiple` and `min_size` and implement `forward_aligned` for such sizes alone. `forward`
then reflection-pads any other size up to the next fitting one and crops the result back, so that a caller
never pads by hand. Export traces `forward_aligned` with padding of its own that an ONNX graph can carry.
"""

from __future__ import annotations

import torch
from torch import nn

from translate.models.layers import fitting_size, run_padded


class Generator(nn.Module):
    """Base class of every registered generator: any size in, the same size out (see the module's docstring).

    Subclasses set `size_multiple` and `min_size` (class attributes, or in `__init__` when they depend on the
    configuration) and implement `forward_aligned`.
    """

    size_multiple: int = 1
    min_size: int = 1

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch whose height and width are multiples of `size_multiple` and at least `min_size`."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch (N, C, H, W) of any H x W; values in [-1, 1]."""
        return run_padded(self.forward_aligned, x, self.size_multiple, self.min_size)

    def fitting_size(self, size: int) -> int:
        """The smallest side length `forward_aligned` takes that is at least `size` (what `forward` pads to)."""
        return fitting_size(size, self.size_multiple, self.min_size)
