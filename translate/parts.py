"""The parts a config's tables name, built the same way for training and for inference."""

from __future__ import annotations

from typing import Any

from torch import nn

from translate.registry import create, registry


def build_generator(config: dict[str, Any], in_channels: int, out_channels: int) -> nn.Module:
    """The [generator] table's part with the channels given; a U-Net without depth fits data.crop_size."""
    name = config["generator"]["name"]
    table = {k: v for k, v in config["generator"].items() if k != "name"}
    table.update(in_channels=in_channels, out_channels=out_channels)
    keywords = registry("generator").entry(name).keywords() or []
    if "image_size" in keywords and "image_size" not in table and "depth" not in table:
        table["image_size"] = int(config["data"]["crop_size"])
    return create("generator", name, **table)
