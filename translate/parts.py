"""The parts a config's tables name, built the same way for training and for inference."""

from __future__ import annotations

from typing import Any

from torch import nn

from translate.registry import create, registry


def generator_table(config: dict[str, Any]) -> dict[str, Any]:
    """The [generator] table as built: a U-Net without depth gets `image_size = data.crop_size`."""
    table = dict(config["generator"])
    keywords = registry("generator").entry(table["name"]).keywords() or []
    if "image_size" in keywords and "image_size" not in table and "depth" not in table:
        table["image_size"] = int(config["data"]["crop_size"])
    return table


def build_generator(config: dict[str, Any], in_channels: int, out_channels: int) -> nn.Module:
    """The [generator] table's part with the channels given; a U-Net without depth fits data.crop_size."""
    table = {**generator_table(config), "in_channels": in_channels, "out_channels": out_channels}
    return create("generator", table.pop("name"), **table)
