"""A U-Net decoder on any timm backbone (`features_only=True`); MobileNetV2 by default.

Pretrained backbone weights come only from this machine: timm's / the Hugging Face cache, torch hub's
cache, or a local file (`weights=`). Nothing is downloaded; missing weights fail at once with a TranslateError.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from translate.errors import ConfigError, TranslateError, did_you_mean
from translate.models.base import Generator
from translate.models.layers import init_weights, norm_layer, uses_bias
from translate.registry import GENERATORS


def _is_power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


def cached_weights(backbone: str) -> str | None:
    """A local file holding `backbone`'s default pretrained weights, if timm already downloaded it here."""
    from timm.models import (
        get_pretrained_cfg,  # timm is imported only where a timm backbone is used
    )

    cfg = get_pretrained_cfg(backbone)
    if cfg is None:
        return None
    if cfg.file and Path(cfg.file).is_file():
        return str(cfg.file)
    if cfg.hf_hub_id:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            try_to_load_from_cache = None
        if try_to_load_from_cache is not None:
            repo, _, revision = cfg.hf_hub_id.partition("@")
            names = [cfg.hf_hub_filename] if cfg.hf_hub_filename else ["model.safetensors", "pytorch_model.bin"]
            for name in names:
                found = try_to_load_from_cache(repo, name, revision=revision or None)
                if isinstance(found, str) and os.path.isfile(found):
                    return found
    if cfg.url:
        found_path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(cfg.url.split("?")[0])
        if found_path.is_file():
            return str(found_path)
    return None


def create_backbone(backbone: str, in_channels: int, pretrained: bool, weights: str) -> nn.Module:
    """A timm backbone returning multi-scale features; pretrained weights only from a file on this machine."""
    import timm  # about a second to import: only where a timm backbone is built

    if not timm.is_model(backbone):
        raise ConfigError(f"unknown timm backbone '{backbone}'{did_you_mean(backbone, timm.list_models())}")
    kwargs: dict[str, Any] = dict(features_only=True, in_chans=in_channels)
    if weights:
        if not Path(weights).is_file():
            raise TranslateError(f"backbone weights file {weights} does not exist; pass an existing file as weights")
        file = weights
    elif pretrained:
        file = cached_weights(backbone)
        if file is None:
            raise TranslateError(
                f"pretrained weights for backbone '{backbone}' are not on this machine; download them elsewhere "
                f"and pass the file as weights = \"PATH\" (or set pretrained = false)"
            )
    else:
        return timm.create_model(backbone, pretrained=False, **kwargs)
    try:
        return timm.create_model(backbone, pretrained=True, pretrained_cfg_overlay=dict(file=file), **kwargs)
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TranslateError(f"{file}: not usable weights for backbone '{backbone}' ({first})") from None


def up_block(channels_in: int, channels_out: int, norm: str, dropout: bool) -> nn.Sequential:
    """pix2pix's decoder step: ReLU -> ConvTranspose(4, s2) -> norm (-> Dropout 0.5)."""
    layers: list[nn.Module] = [
        nn.ReLU(),
        nn.ConvTranspose2d(channels_in, channels_out, 4, stride=2, padding=1, bias=uses_bias(norm)),
        norm_layer(norm, channels_out),
    ]
    if dropout:
        layers.append(nn.Dropout(0.5))
    return nn.Sequential(*layers)


@GENERATORS.register("timm_unet", "U-Net decoder on a timm backbone (default mobilenetv2_100)")
class TimmUNetGenerator(Generator):
    """A U-Net whose encoder is any timm backbone and whose decoder is pix2pix's (up, norm, ReLU, concatenate).

    At each of the backbone's strides the decoder upsamples by 2 with width * min(stride/2, 8) channels and
    concatenates the backbone feature of that stride; below the finest feature it upsamples on to full
    resolution, ending in a transposed conv to `out_channels` and tanh. `dropout` puts Dropout(0.5) on the two
    deepest decoder steps. Only the decoder is initialised with `init`; the backbone keeps timm's own init or its
    pretrained weights (`pretrained=True`, from this machine's cache, or `weights` = a local file).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        width: int = 64,
        backbone: str = "mobilenetv2_100",
        pretrained: bool = False,
        weights: str = "",
        norm: str = "batch",
        dropout: bool = False,
        init: str = "normal",
        init_gain: float = 0.02,
    ) -> None:
        super().__init__()
        self.backbone = create_backbone(backbone, in_channels, pretrained, weights)
        channels = list(self.backbone.feature_info.channels())
        strides = list(self.backbone.feature_info.reduction())
        if not all(map(_is_power_of_two, strides)) or any(b <= a for a, b in zip(strides, strides[1:])):
            raise ConfigError(f"backbone '{backbone}' has feature strides {strides}; need rising powers of two")
        self.size_multiple = strides[-1]
        # the deepest features stay at least 2x2, so batch norm has more than one value per channel
        self.min_size = 2 * strides[-1]

        def width_at(stride: int) -> int:
            return width * min(max(stride // 2, 1), 8)

        steps: list[tuple[int, int, int | None]] = []  # (stride reached, channels out, skip channels)
        for level in reversed(range(len(strides) - 1)):
            stride = strides[level + 1]
            while stride > strides[level]:
                stride //= 2
                steps.append((stride, width_at(stride), channels[level] if stride == strides[level] else None))
        self.skip_at = [skip is not None for _, _, skip in steps]
        self.decoder = nn.ModuleList()
        current = channels[-1]
        for k, (_, out, skip) in enumerate(steps):
            self.decoder.append(up_block(current, out, norm, dropout and k < 2))
            current = out + (skip or 0)

        head: list[nn.Module] = []
        stride = strides[0]
        while stride > 2:
            stride //= 2
            head.append(up_block(current, width_at(stride), norm, False))
            current = width_at(stride)
        if strides[0] >= 2:
            head += [nn.ReLU(), nn.ConvTranspose2d(current, out_channels, 4, stride=2, padding=1), nn.Tanh()]
        else:
            head += [nn.ReLU(), nn.Conv2d(current, out_channels, 3, padding=1), nn.Tanh()]
        self.head = nn.Sequential(*head)
        init_weights(self.decoder, init, init_gain)
        init_weights(self.head, init, init_gain)

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch whose sides are multiples of the backbone's deepest stride, at least twice it."""
        features = self.backbone(x)
        h = features.pop()
        for step, has_skip in zip(self.decoder, self.skip_at):
            h = step(h)
            if has_skip:
                h = torch.cat([features.pop(), h], 1)
        return self.head(h)
