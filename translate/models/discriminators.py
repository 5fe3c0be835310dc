"""Discriminators that score pixels (PixelGAN), patches (PatchGAN, CartoonGAN's) or whole images (ImageGAN).

Each returns raw logits, (N, 1, h, w); a GAN objective from `translate.models.losses` broadcasts its target to that
map. Conditional use (pix2pix scores input and output concatenated: in_channels=6) and unconditional use
(CycleGAN, CartoonGAN: 3) differ only in `in_channels`. Inputs smaller than a net's `min_size` are
reflection-padded up to it rather than refused.
"""

from __future__ import annotations

import torch
from torch import nn

from translate.errors import ConfigError
from translate.models.layers import init_weights, norm_layer, reflect_pad, spectral_normalise, uses_bias
from translate.registry import DISCRIMINATORS


def receptive_field(layers: nn.Sequential) -> int:
    """Receptive field (pixels, one side) of one output unit of a plain stack of convolutions."""
    field = 1
    for layer in reversed(list(layers.modules())):
        if isinstance(layer, nn.Conv2d):
            field = (field - 1) * layer.stride[0] + (layer.kernel_size[0] - 1) * layer.dilation[0] + 1
    return field


def min_input_size(layers: nn.Sequential, largest: int = 4096) -> int:
    """Smallest square input for which every convolution of the stack still gives at least one pixel."""
    convs = [m for m in layers.modules() if isinstance(m, nn.Conv2d)]
    for size in range(1, largest):
        s = size
        for conv in convs:
            s = (s + 2 * conv.padding[0] - conv.dilation[0] * (conv.kernel_size[0] - 1) - 1) // conv.stride[0] + 1
            if s < 1:
                break
        else:
            return size
    return largest


def pad_up_to(x: torch.Tensor, size: int) -> torch.Tensor:
    """Reflection-pad (centred) each side of `x` shorter than `size` up to `size`."""
    height, width = x.shape[-2:]
    dh, dw = max(0, size - height), max(0, size - width)
    if not (dh or dw):
        return x
    return reflect_pad(x, dw // 2, dw - dw // 2, dh // 2, dh - dh // 2)


@DISCRIMINATORS.register("pixel", "PixelGAN: 1x1 convs, one score per pixel (receptive field 1)")
class PixelDiscriminator(nn.Module):
    """PixelGAN: a per-pixel real/fake classifier of 1x1 convolutions (the reference's PixelDiscriminator)."""

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 64,
        norm: str = "batch",
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        bias = uses_bias(norm)
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, width, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width, width * 2, 1, bias=bias),
            norm_layer(norm, width * 2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(width * 2, 1, 1, bias=bias),
        )
        self.receptive_field = receptive_field(self.layers)
        self.min_size = 1
        init_weights(self, init, init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, 1, H, W), one per input pixel."""
        return self.layers(x)


def conv_stack(in_channels: int, width: int, strides: list[int], norm: str) -> tuple[list[nn.Module], int]:
    """The layers PatchGAN and ImageGAN share, and their output channels: a 4x4 stride-2 conv and LeakyReLU 0.2,
    then per stride a 4x4 conv (width doubling up to 8x), norm and LeakyReLU 0.2, in the reference's order."""
    bias = uses_bias(norm)
    layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
    mult = 1
    for n, stride in enumerate(strides, 1):
        previous, mult = mult, min(2**n, 8)
        layers += [
            nn.Conv2d(width * previous, width * mult, 4, stride=stride, padding=1, bias=bias),
            norm_layer(norm, width * mult),
            nn.LeakyReLU(0.2),
        ]
    return layers, width * mult


@DISCRIMINATORS.register("patch", "PatchGAN: scores overlapping patches (n_layers 1/3/5: 16/70/286 px)")
class PatchDiscriminator(nn.Module):
    """PatchGAN (the reference's NLayerDiscriminator): 4x4 convs, `n_layers` of them stride 2, LeakyReLU 0.2.

    `receptive_field` is computed from the layers: 16, 70 and 286 pixels for n_layers 1, 3 and 5.
    `spectral_norm` bounds every conv's spectral norm to 1 (off in the reference).
    """

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 64,
        n_layers: int = 3,
        norm: str = "batch",
        init: str = "normal",
        init_gain: float = 0.02,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ConfigError(f"patch n_layers must be 1 or more, not {n_layers}")
        # the last of the n_layers normalised convs keeps the resolution
        layers, channels = conv_stack(in_channels, width, [2] * (n_layers - 1) + [1], norm)
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.layers = nn.Sequential(*layers)
        self.receptive_field = receptive_field(self.layers)
        self.min_size = min_input_size(self.layers)
        init_weights(self, init, init_gain)
        if spectral_norm:
            spectral_normalise(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, 1, h, w), one per overlapping patch (h = H/2**n_layers - 2 for n_layers >= 2)."""
        return self.layers(pad_up_to(x, self.min_size))


@DISCRIMINATORS.register("image", "ImageGAN: one score for the whole image (strided convs, global mean)")
class ImageDiscriminator(nn.Module):
    """ImageGAN: `n_layers` stride-2 4x4 convs, a 3x3 conv to one channel, then the mean over the image.

    Returns logits of shape (N, 1, 1, 1), so the objectives' target broadcasting works as for patch maps.
    Runs on any size: inputs under `min_size` (2**(n_layers+1)) are reflection-padded up to it.
    """

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 64,
        n_layers: int = 6,
        norm: str = "batch",
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ConfigError(f"image n_layers must be 1 or more, not {n_layers}")
        layers, channels = conv_stack(in_channels, width, [2] * (n_layers - 1), norm)
        layers.append(nn.Conv2d(channels, 1, 3, padding=1))
        self.layers = nn.Sequential(*layers)
        # the last strided features stay at least 2x2, so batch norm has more than one value per channel
        self.min_size = 2 ** (n_layers + 1)
        self.receptive_field = receptive_field(self.layers)
        init_weights(self, init, init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One logit per image, shape (N, 1, 1, 1)."""
        return self.layers(pad_up_to(x, self.min_size)).mean(dim=(2, 3), keepdim=True)


@DISCRIMINATORS.register("cartoon", "CartoonGAN's: 3x3 convs, two of them stride 2, widths 32-256 (37 px field)")
class CartoonDiscriminator(nn.Module):
    """CartoonGAN's discriminator (Chen et al., CVPR 2018, Fig. 2): a small patch classifier of 3x3 convs.

    k3n32s1, LReLU; k3n64s2, LReLU; k3n128s1, norm, LReLU; k3n128s2, LReLU; k3n256s1, norm, LReLU;
    k3n256s1, norm, LReLU; k3n1s1 (widths for `width` 32; LeakyReLU 0.2). As in the paper's figure, only the
    stride-1 convs between the first and the last are normalised, not the stride-2 ones. Logits of shape
    (N, 1, H/4, W/4), each seeing a 37 px patch: local texture and edges, which is what the edge-smoothed
    negatives teach it to judge.
    """

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 32,
        norm: str = "instance",
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        bias = uses_bias(norm)

        def conv(c_in: int, c_out: int, stride: int, normalised: bool) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias or not normalised)]
            return layers + ([norm_layer(norm, c_out)] if normalised else []) + [nn.LeakyReLU(0.2)]

        self.layers = nn.Sequential(
            *conv(in_channels, width, 1, False),
            *conv(width, width * 2, 2, False),
            *conv(width * 2, width * 4, 1, True),
            *conv(width * 4, width * 4, 2, False),
            *conv(width * 4, width * 8, 1, True),
            *conv(width * 8, width * 8, 1, True),
            nn.Conv2d(width * 8, 1, 3, stride=1, padding=1),
        )
        self.receptive_field = receptive_field(self.layers)
        # after both strided convs at least 2x2, so a norm has more than one value per channel
        self.min_size = 8
        init_weights(self, init, init_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, 1, ceil(H/4), ceil(W/4)), one per 37 px patch."""
        return self.layers(pad_up_to(x, self.min_size))
