"""Generators: the pix2pix U-Net and the CycleGAN ResNet, faithful to the reference, usable at any image size.

Both are fully convolutional `Generator`s: each states the multiple it needs (`size_multiple`) and the
contract's `forward` pads to it (reflection) and crops back, so a model trained at 256 runs on 512 or on
451x300. The timm-backbone U-Net lives in `timm_unet.py`.
"""

from __future__ import annotations

import torch
from torch import nn

from translate.errors import ConfigError
from translate.models.base import Generator
from translate.models.layers import UPSAMPLES, check_choice, init_weights, norm_layer, upsample_layer, uses_bias
from translate.registry import GENERATORS


def unet_depth(depth: int | None, image_size: int) -> int:
    """The U-Net's number of levels: `depth` when given, else log2(image_size) (256 -> 8, 128 -> 7)."""
    if depth is None:
        if image_size < 4:
            raise ConfigError(f"unet image_size {image_size} is too small; use at least 4 (or set depth)")
        depth = image_size.bit_length() - 1
    if depth < 2:
        raise ConfigError(f"unet depth {depth} is too small; use at least 2 (8 for 256-pixel images)")
    return depth


@GENERATORS.register("unet", "pix2pix U-Net (unet_256: depth 8; skips=False: the encoder-decoder ablation)")
class UNetGenerator(Generator):
    """The pix2pix U-Net: `depth` stride-2 levels down to a 1x1 bottleneck (at 2**depth pixels) and back.

    Encoder level i: Conv(4, s2) -> norm -> LeakyReLU(0.2) with width * min(2**i, 8) channels (the first level
    has no norm, the innermost no norm and no activation). Decoder level i: ReLU -> ConvTranspose(4, s2) ->
    norm (-> Dropout(0.5) when `dropout`, on the depth - 5 levels just outside the innermost, as the reference:
    3 in unet_256, 2 in unet_128), then [encoder feature, decoder output] concatenated when `skips`; the
    outermost ends in tanh. The skip carries the encoder's LeakyReLU output, as the reference's in-place
    activation makes it. Parameter for parameter the reference's UnetGenerator, registered in the same order
    (which `translate.zoo.importers` relies on). `depth` defaults to log2(image_size), rounded down.
    `upsample="resize"` swaps each transposed conv for nearest resize + 3x3 conv (no checkerboard; the published
    weights need "transpose").
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        width: int = 64,
        depth: int | None = None,
        image_size: int = 256,
        norm: str = "batch",
        dropout: bool = True,
        skips: bool = True,
        upsample: str = "transpose",
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        check_choice("upsample", upsample, UPSAMPLES)
        depth = unet_depth(depth, image_size)
        bias = uses_bias(norm)
        self.depth = depth
        self.skips = skips
        self.size_multiple = 2**depth
        self.min_size = 2**depth
        inner = [width * min(2**i, 8) for i in range(depth)]  # channels after encoder level i
        outer = [in_channels] + inner[:-1]  # channels into encoder level i

        self.encoder = nn.ModuleList()
        for i in range(depth):
            layers: list[nn.Module] = [nn.Conv2d(outer[i], inner[i], 4, stride=2, padding=1, bias=bias)]
            if 0 < i < depth - 1:
                layers.append(norm_layer(norm, inner[i]))
            if i < depth - 1:
                layers.append(nn.LeakyReLU(0.2))
            self.encoder.append(nn.Sequential(*layers))

        # decoder[0] is the innermost level, decoder[-1] the outermost: the order the input flows through
        self.decoder = nn.ModuleList()
        for i in reversed(range(depth)):
            innermost, outermost = i == depth - 1, i == 0
            channels_in = inner[i] if innermost or not skips else 2 * inner[i]
            channels_out = out_channels if outermost else outer[i]
            up_bias = bias or outermost
            up = (nn.ConvTranspose2d(channels_in, channels_out, 4, stride=2, padding=1, bias=up_bias)
                  if upsample == "transpose" else upsample_layer(channels_in, channels_out, upsample, up_bias))
            layers = [nn.ReLU(), up]
            if outermost:
                layers.append(nn.Tanh())
            else:
                layers.append(norm_layer(norm, channels_out))
                if dropout and 4 <= i < depth - 1:
                    layers.append(nn.Dropout(0.5))
            self.decoder.append(nn.Sequential(*layers))
        init_weights(self, init, init_gain)

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch whose sides are multiples of 2**depth."""
        features = []
        for level in self.encoder:
            x = level(x)
            features.append(x)
        features.pop()  # the bottleneck feeds the decoder directly
        for level in self.decoder:
            x = level(x)
            if features:
                skip = features.pop()
                x = torch.cat([skip, x], 1) if self.skips else x
        return x


class ResidualBlock(nn.Module):
    """Two reflection-padded 3x3 convs with norm (and optional dropout between) added to the input."""

    def __init__(self, channels: int, norm: str, dropout: bool, bias: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@GENERATORS.register("resnet", "CycleGAN ResNet generator (n_blocks 9 for 256 px, 6 for 128, CartoonGAN 8)")
class ResNetGenerator(Generator):
    """The CycleGAN generator: 7x7 stem, two stride-2 convs, `n_blocks` residual blocks, two transposed convs
    (output_padding 1) and a 7x7 head with tanh; the reference's ResnetGenerator parameter for parameter.

    `upsample="resize"` swaps each transposed conv for nearest resize + 3x3 conv (same parameter count)."""

    size_multiple = 4  # two stride-2 convs
    min_size = 8  # the residual blocks' 1-pixel reflection needs at least 2x2 at 1/4 scale

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        width: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        dropout: bool = False,
        upsample: str = "transpose",
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ConfigError(f"resnet n_blocks must be 0 or more, not {n_blocks}")
        bias = uses_bias(norm)
        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7, bias=bias),
            norm_layer(norm, width),
            nn.ReLU(),
        )
        self.down = nn.Sequential(
            *[
                layer
                for mult in (1, 2)
                for layer in (
                    nn.Conv2d(width * mult, width * mult * 2, 3, stride=2, padding=1, bias=bias),
                    norm_layer(norm, width * mult * 2),
                    nn.ReLU(),
                )
            ]
        )
        self.blocks = nn.Sequential(*[ResidualBlock(width * 4, norm, dropout, bias) for _ in range(n_blocks)])
        self.up = nn.Sequential(
            *[
                layer
                for mult in (4, 2)
                for layer in (
                    upsample_layer(width * mult, width * mult // 2, upsample, bias),
                    norm_layer(norm, width * mult // 2),
                    nn.ReLU(),
                )
            ]
        )
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(width, out_channels, 7), nn.Tanh())
        init_weights(self, init, init_gain)

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch whose sides are multiples of 4, at least 8."""
        return self.head(self.up(self.blocks(self.down(self.stem(x)))))
