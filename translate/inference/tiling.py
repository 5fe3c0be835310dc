"""Large images in tiles: overlapping windows, run in batches, blended without seams.

Tiles form a grid whose last row and column are pushed back to end at the image border, so every tile has
the same size (and batches stack). Where two tiles overlap, each drops a thin margin at its own edge (the
pixels a fully convolutional network sees worst: next to its padding) and the rest of the overlap is a
raised-cosine cross-fade; image borders are never faded. Weights are separable, accumulated and normalised,
so a constant stays constant and a network whose receptive field fits in the margin gives exactly its
untiled output. Memory holds the image, the output, one weight map and one batch of tiles: never all tiles.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import torch

from translate.errors import TranslateError

if TYPE_CHECKING:
    from translate.models.base import Generator


def round_tile(tile: int, generator: Generator) -> int:
    """`tile` rounded up to a size `generator` takes unpadded (its `fitting_size`); a tile below 1 px is refused."""
    if tile < 1:
        raise TranslateError(f"--tile {tile}: use a positive tile size in pixels, e.g. --tile 512")
    return generator.fitting_size(tile)


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Where the tiles of one axis start: every `tile - overlap` pixels, the last one ending at `size`."""
    if size <= tile:
        return [0]
    stride = tile - overlap
    count = math.ceil((size - overlap) / stride)
    starts = [min(i * stride, size - tile) for i in range(count)]
    if starts[-1] != size - tile:
        starts.append(size - tile)
    return sorted(set(starts))


def axis_weights(length: int, fade_before: bool, fade_after: bool, overlap: int) -> torch.Tensor:
    """One tile's 1-D blending weights: 0 over a margin of overlap//4 at a faded edge, then a cosine ramp to 1.

    A ramp and its mirror image sum to one, so two tiles overlapping by exactly `overlap` cross-fade.
    """
    rise = torch.ones(length, dtype=torch.float64)
    margin = overlap // 4
    ramp_length = overlap - 2 * margin
    if ramp_length > 0:
        k = torch.arange(ramp_length, dtype=torch.float64)
        rise[:margin] = 0
        rise[margin : margin + ramp_length] = 0.5 - 0.5 * torch.cos(math.pi * (k + 0.5) / ramp_length)
    weights = torch.ones(length, dtype=torch.float64)
    if fade_before:
        weights *= rise
    if fade_after:
        weights *= rise.flip(0)
    return weights.float()


def run_tiled(
    forward: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    tile: int,
    overlap: int,
    batch_size: int = 1,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Run a same-size `forward` (N, C, H, W) -> (N, C', H, W) on one image (1, C, H, W) in tiles.

    `tile` should already be rounded (see `round_tile`); `overlap` < `tile`. Tiles go to `device` (default:
    the image's) `batch_size` at a time; the blended output is float32 on the image's device.
    """
    if image.dim() != 4 or image.shape[0] != 1:
        raise ValueError(f"run_tiled takes one image (1, C, H, W), not {tuple(image.shape)}")
    if not 0 <= overlap < tile:
        raise TranslateError(f"--overlap {overlap} must be at least 0 and smaller than the tile ({tile} px)")
    height, width = image.shape[-2:]
    tile_h, tile_w = min(tile, height), min(tile, width)
    rows, cols = tile_starts(height, tile_h, overlap), tile_starts(width, tile_w, overlap)
    device = torch.device(device) if device is not None else image.device
    boxes = [(y, x) for y in rows for x in cols]

    out: torch.Tensor | None = None
    total = torch.zeros(1, 1, height, width, dtype=torch.float32, device=image.device)
    for first in range(0, len(boxes), batch_size):
        chunk = boxes[first : first + batch_size]
        batch = torch.cat([image[..., y : y + tile_h, x : x + tile_w] for y, x in chunk]).to(device)
        result = forward(batch).float().to(image.device)
        if out is None:
            out = torch.zeros(1, result.shape[1], height, width, dtype=torch.float32, device=image.device)
        for (y, x), piece in zip(chunk, result):
            wy = axis_weights(tile_h, y > 0, y + tile_h < height, overlap).to(image.device)
            wx = axis_weights(tile_w, x > 0, x + tile_w < width, overlap).to(image.device)
            weight = wy[:, None] * wx[None, :]
            out[0, :, y : y + tile_h, x : x + tile_w] += piece * weight
            total[0, 0, y : y + tile_h, x : x + tile_w] += weight
    assert out is not None
    return out / total
