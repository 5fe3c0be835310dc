"""The CartoonGAN generator (Chen, Lai and Liu, CVPR 2018), as the authors' published models are built.

It differs from the CycleGAN ResNet: each down block is a 3x3 stride-2 conv *and* a 3x3 conv before its norm,
each up block a 3x3 transposed conv *and* a 3x3 conv; every conv carries a bias; the instance norm is affine
with eps 1e-9. The published weights take BGR images in [-1, 1] (`translate.weights.import_cartoongan` maps
their `conv01_1`, `in01_1.scale`, ... names onto this module and records the channel order in the run config).
"""

from __future__ import annotations

import torch
from torch import nn

from translate.errors import ConfigError
from translate.models.layers import init_weights, run_padded, upsample_layer
from translate.registry import GENERATORS


def affine_instance_norm(channels: int, eps: float) -> nn.InstanceNorm2d:
    """Instance norm with a learned scale and shift per channel and no running statistics."""
    return nn.InstanceNorm2d(channels, eps=eps, affine=True, track_running_stats=False)


class CartoonResidualBlock(nn.Module):
    """Reflection pad, 3x3 conv, norm, ReLU, reflection pad, 3x3 conv, norm; added to the input."""

    def __init__(self, channels: int, eps: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            affine_instance_norm(channels, eps),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            affine_instance_norm(channels, eps),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@GENERATORS.register("cartoon", "CartoonGAN generator (the paper's: conv pairs per scale, 8 blocks, affine norm)")
class CartoonGenerator(nn.Module):
    """CartoonGAN's generator: 7x7 stem, two down blocks (3x3 stride-2 conv, 3x3 conv, norm, ReLU), `n_blocks`
    residual blocks, two up blocks (3x3 stride-2 transposed conv, 3x3 conv, norm, ReLU), 7x7 head and tanh.

    `upsample="resize"` swaps each transposed conv for nearest resize + 3x3 conv (same parameter count; the
    published weights need "transpose"). Layers are registered in the order of the authors' `Transformer`, one Sequential per stage (stem, down,
    blocks, up, head). Runs on any image size (padded to a multiple of 4, cropped back).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        width: int = 64,
        n_blocks: int = 8,
        eps: float = 1e-9,
        upsample: str = "transpose",
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ConfigError(f"cartoon n_blocks must be 0 or more, not {n_blocks}")
        self.size_multiple = 4
        self.min_size = 8  # the residual blocks' 1-pixel reflection needs 2x2 at 1/4 scale
        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7),
            affine_instance_norm(width, eps),
            nn.ReLU(),
        )
        self.down = nn.Sequential(
            *[
                nn.Sequential(
                    nn.Conv2d(width * mult, width * mult * 2, 3, stride=2, padding=1),
                    nn.Conv2d(width * mult * 2, width * mult * 2, 3, padding=1),
                    affine_instance_norm(width * mult * 2, eps),
                    nn.ReLU(),
                )
                for mult in (1, 2)
            ]
        )
        self.blocks = nn.Sequential(*[CartoonResidualBlock(width * 4, eps) for _ in range(n_blocks)])
        self.up = nn.Sequential(
            *[
                nn.Sequential(
                    upsample_layer(width * mult, width * mult // 2, upsample),
                    nn.Conv2d(width * mult // 2, width * mult // 2, 3, padding=1),
                    affine_instance_norm(width * mult // 2, eps),
                    nn.ReLU(),
                )
                for mult in (4, 2)
            ]
        )
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh())
        init_weights(self, init, init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch (N, C, H, W) of any H x W; values in [-1, 1], channels in the weights' order."""
        return run_padded(self._forward_aligned, x, self.size_multiple, self.min_size)

    def _forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.up(self.blocks(self.down(self.stem(x)))))
