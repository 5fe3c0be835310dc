"""The CartoonGAN generator (Chen, Lai and Liu, CVPR 2018), as the authors' published models are built.

It differs from the CycleGAN ResNet: each down block is a 3x3 stride-2 conv *and* a 3x3 conv before its norm,
each up block a 3x3 transposed conv *and* a 3x3 conv; every conv carries a bias; the instance norm is affine
with eps 1e-9. The published weights take BGR images in [-1, 1]. Their layout (`conv01_1`, `in01_1.scale`, ...) is mapped onto
this module at the end of this file (`cartoongan_to_ours`); `translate.zoo.importers.import_cartoongan` uses it
to write a run directory and records the channel order in the run config.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import torch
from torch import nn

from translate.errors import CheckpointError, ConfigError
from translate.models.base import Generator
from translate.models.layers import InstanceNorm, init_weights, upsample_layer
from translate.registry import GENERATORS


def affine_instance_norm(channels: int, eps: float) -> nn.InstanceNorm2d:
    """Instance norm with a learned scale and shift per channel and no running statistics."""
    return InstanceNorm(channels, eps=eps, affine=True, track_running_stats=False)


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
class CartoonGenerator(Generator):
    """CartoonGAN's generator: 7x7 stem, two down blocks (3x3 stride-2 conv, 3x3 conv, norm, ReLU), `n_blocks`
    residual blocks, two up blocks (3x3 stride-2 transposed conv, 3x3 conv, norm, ReLU), 7x7 head and tanh.

    `upsample="resize"` swaps each transposed conv for nearest resize + 3x3 conv (same parameter count; the
    published weights need "transpose"). Layers are registered in the order of the authors' `Transformer`, one Sequential per stage (stem, down,
    blocks, up, head). Runs on any image size (padded to a multiple of 4, cropped back).
    """

    size_multiple = 4  # two stride-2 convs
    min_size = 8  # the residual blocks' 1-pixel reflection needs 2x2 at 1/4 scale

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

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch whose sides are multiples of 4, at least 8; channels in the weights' order."""
        return self.head(self.up(self.blocks(self.down(self.stem(x)))))


# ------------------------------------------------------------ the CartoonGAN authors' checkpoint layout

_LEAVES = {"weight": "weight", "bias": "bias", "scale": "weight", "shift": "bias"}


def cartoongan_names(n_blocks: int = 8) -> dict[str, str]:
    """The CartoonGAN authors' module names (`conv01_1`, `in04_2`, `deconv01_1`, ...) -> ours (`stem.1`, ...).

    Residual block i is their layer number 4 + i; the up blocks' norms follow the last block (in12_1 and
    in13_1 with 8 blocks).
    """
    names = {"conv01_1": "stem.1", "in01_1": "stem.2"}
    for level, number in enumerate((2, 3)):
        names[f"conv{number:02d}_1"] = f"down.{level}.0"
        names[f"conv{number:02d}_2"] = f"down.{level}.1"
        names[f"in{number:02d}_1"] = f"down.{level}.2"
    for i in range(n_blocks):
        number = 4 + i
        for half, (conv, norm) in ((1, (1, 2)), (2, (5, 6))):
            names[f"conv{number:02d}_{half}"] = f"blocks.{i}.body.{conv}"
            names[f"in{number:02d}_{half}"] = f"blocks.{i}.body.{norm}"
    for level in range(2):
        names[f"deconv{level + 1:02d}_1"] = f"up.{level}.0"
        names[f"deconv{level + 1:02d}_2"] = f"up.{level}.1"
        names[f"in{4 + n_blocks + level:02d}_1"] = f"up.{level}.2"
    names["deconv03_1"] = "head.1"
    return names


def infer_cartoongan_settings(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """`cartoon` generator keywords read off a CartoonGAN state dict (channels, width, n_blocks)."""
    stem, head = state.get("conv01_1.weight"), state.get("deconv03_1.weight")
    if stem is None or head is None or stem.dim() != 4 or head.dim() != 4:
        keys = ", ".join(list(state)[:3])
        raise CheckpointError(f"not a CartoonGAN generator: no conv01_1/deconv03_1 weights (it has {keys}, ...); "
                              "pass a file such as Hayao_net_G_float.pth")
    blocks = {int(m.group(1)) for k in state if (m := re.fullmatch(r"conv(\d+)_1\.weight", k))} - {1, 2, 3}
    return {"in_channels": stem.shape[1], "out_channels": head.shape[0], "width": stem.shape[0],
            "n_blocks": len(blocks)}


def cartoongan_to_ours(state_dict: Mapping[str, torch.Tensor], generator: nn.Module) -> dict[str, torch.Tensor]:
    """Rename a CartoonGAN state dict onto a `CartoonGenerator`'s keys (`in01_1.scale` -> `stem.2.weight`).

    A dict already in our names passes through; one that does not fit raises CheckpointError naming the
    first misfit key and shape.
    """
    ours = generator.state_dict()
    state = dict(state_dict)
    if state.keys() == ours.keys() and all(state[k].shape == ours[k].shape for k in state):
        return state
    names = cartoongan_names(len(generator.blocks))
    hint = "; check the generator settings (width, n_blocks, channels)"
    mapped: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        module, _, leaf = key.rpartition(".")
        target = f"{names[module]}.{_LEAVES[leaf]}" if module in names and leaf in _LEAVES else None
        if target is None or target not in ours:
            raise CheckpointError(f"checkpoint does not fit: unexpected {key} {tuple(tensor.shape)}{hint}")
        if tensor.shape != ours[target].shape:
            raise CheckpointError(f"checkpoint does not fit: it has {key} {tuple(tensor.shape)} where ours has "
                                  f"{target} {tuple(ours[target].shape)}{hint}")
        mapped[target] = tensor
    missing = [k for k in ours if k not in mapped]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise CheckpointError(f"checkpoint does not fit: missing {missing[0]} {tuple(ours[missing[0]].shape)}"
                              f"{more}{hint}")
    return mapped
