"""Choices and small pieces shared by every part: norms, weight init, dropout as noise, any-size padding."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from translate.errors import ConfigError

NORMS = ("batch", "instance", "none")
INITS = ("normal", "xavier", "kaiming", "orthogonal")
UPSAMPLES = ("transpose", "resize")


def check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    """Return `value` when it is one of `choices`; otherwise a ConfigError naming them."""
    if value not in choices:
        raise ConfigError(f"unknown {what} '{value}'; choose one of: {', '.join(choices)}")
    return value


class InstanceNorm(nn.InstanceNorm2d):
    """nn.InstanceNorm2d that stays right in channels-last memory order.

    On the CPU, torch 2.14's instance norm of a batch of one gets wrong gradients when the gradient arriving from the
    next layer is in channels-last order (a 57% loss gap after four CycleGAN steps at 256 px;
    tests/models/test_layers.py), whatever order its own input is in. Instance norm is group norm with one group per
    channel, whose channels-last kernels are right: channels-last inputs go there; everything else (contiguous
    training, the reference's layout) runs torch's instance norm as before. Same numbers, no running statistics.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and not self.track_running_stats and not x.is_contiguous() \
                and x.is_contiguous(memory_format=torch.channels_last):
            return F.group_norm(x, self.num_features, self.weight, self.bias, self.eps)
        return super().forward(x)


def norm_layer(norm: str, channels: int) -> nn.Module:
    """The reference's norms: affine batch norm, instance norm without affine or running stats, or none."""
    check_choice("norm", norm, NORMS)
    if norm == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    if norm == "instance":
        return InstanceNorm(channels, affine=False, track_running_stats=False)
    return nn.Identity()


def uses_bias(norm: str) -> bool:
    """Whether a conv before `norm` carries a bias: not before batch norm, whose shift makes it redundant.

    The reference spells this `use_bias = norm_layer == InstanceNorm2d`; for norm "none" we keep the bias
    (the reference would drop it, leaving convs with no shift at all).
    """
    return check_choice("norm", norm, NORMS) != "batch"


def upsample_layer(channels_in: int, channels_out: int, mode: str, bias: bool = True) -> nn.Module:
    """A 2x upsampling by a 3x3 conv: the papers' transposed conv, or nearest resize then conv.

    "transpose" (stride 2, output_padding 1) is what the reference generators and their published weights
    use; "resize" has the same parameter count and no checkerboard artefacts, because every output pixel
    sees the same number of input pixels (Odena, Dumoulin and Olah, "Deconvolution and Checkerboard
    Artifacts", Distill 2016): a difference that shows most in short runs at small sizes.
    """
    if check_choice("upsample", mode, UPSAMPLES) == "transpose":
        return nn.ConvTranspose2d(channels_in, channels_out, 3, stride=2, padding=1, output_padding=1, bias=bias)
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=bias))


def init_weights(module: nn.Module, init: str = "normal", init_gain: float = 0.02) -> nn.Module:
    """Initialise conv and linear weights (biases 0) and batch-norm scales N(1, gain), as the reference does."""
    check_choice("init", init, INITS)
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if init == "normal":
                nn.init.normal_(m.weight, 0.0, init_gain)
            elif init == "xavier":
                nn.init.xavier_normal_(m.weight, gain=init_gain)
            elif init == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(m.weight, gain=init_gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, init_gain)
            nn.init.zeros_(m.bias)
    return module


def spectral_normalise(module: nn.Module) -> nn.Module:
    """Constrain every conv of `module` to spectral norm 1 (Miyato et al. 2018), one power iteration a step.

    Each conv's weight, reshaped to a matrix, is divided by its largest singular value, which bounds how steeply a
    discriminator can reward a fine pattern (norm layers in between loosen the bound). Call after `init_weights`,
    which writes the weights that the parametrisation then divides.
    """
    for m in list(module.modules()):
        if isinstance(m, nn.Conv2d):
            nn.utils.parametrizations.spectral_norm(m)
    return module


def set_dropout(module: nn.Module, active: bool) -> nn.Module:
    """Switch only the Dropout layers on or off, leaving norms as they are (pix2pix's noise z at test time)."""
    for m in module.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.train(active)
    return module


def _split(total: int) -> tuple[int, int]:
    return total // 2, total - total // 2


def fitting_size(size: int, multiple: int, minimum: int = 1) -> int:
    """The smallest side length that is at least `size` and `minimum` and a multiple of `multiple`."""
    return -(-max(size, minimum) // multiple) * multiple


def padding_for(size: int, multiple: int, minimum: int = 1) -> tuple[int, int]:
    """Pixels to add before and after a side of `size` to reach a multiple of `multiple`, at least `minimum`."""
    return _split(fitting_size(size, multiple, minimum) - size)


def _pad_axis(x: torch.Tensor, before: int, after: int, axis: int) -> torch.Tensor:
    while before or after:
        size = x.shape[axis]
        if size == 1:  # nothing to reflect: replicate the one pixel
            pad = (before, after, 0, 0) if axis == -1 else (0, 0, before, after)
            return F.pad(x, pad, mode="replicate")
        b, a = min(before, size - 1), min(after, size - 1)
        x = F.pad(x, (b, a, 0, 0) if axis == -1 else (0, 0, b, a), mode="reflect")
        before, after = before - b, after - a
    return x


def reflect_pad(x: torch.Tensor, left: int, right: int, top: int, bottom: int) -> torch.Tensor:
    """Reflection padding of any amount: reflect again while a side is too small; replicate a 1-pixel side."""
    return _pad_axis(_pad_axis(x, left, right, -1), top, bottom, -2)


def run_padded(
    forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, multiple: int, minimum: int = 1
) -> torch.Tensor:
    """Run a same-size `forward` on `x` padded to a multiple (and a minimum) of pixels, cropped back to H x W."""
    height, width = x.shape[-2:]
    top, bottom = padding_for(height, multiple, minimum)
    left, right = padding_for(width, multiple, minimum)
    if not (top or bottom or left or right):
        return forward(x)
    out = forward(reflect_pad(x, left, right, top, bottom))
    return out[..., top : top + height, left : left + width]
