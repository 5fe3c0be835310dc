"""Size and cost of parts: parameter counts, multiply-accumulates (counted by PyTorch), a table of every part."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from translate.registry import DISCRIMINATORS, GENERATORS


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (trainable or not; buffers such as running statistics excluded)."""
    return sum(p.numel() for p in module.parameters())


def _forward_flops(module: nn.Module, x: torch.Tensor, tensors: dict[str, torch.Tensor] | None) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        if tensors is None:
            module(x)
        else:
            torch.func.functional_call(module, tensors, (x,), strict=False)
    return counter.get_total_flops()


def count_macs(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass on a zero input of `input_shape` (FLOPs / 2, by FlopCounterMode).

    Runs on PyTorch's meta device where it can (shapes only, no arithmetic, the module untouched); falls back
    to a real forward pass on the module's device. The module is put in eval mode for the count.
    """
    was_training = module.training
    module.eval()
    try:
        try:
            meta = {
                name: torch.empty_like(t, device="meta")
                for name, t in [*module.named_parameters(), *module.named_buffers()]
            }
            flops = _forward_flops(module, torch.zeros(input_shape, device="meta"), meta)
        except (NotImplementedError, RuntimeError):
            device = next((p.device for p in module.parameters()), torch.device("cpu"))
            flops = _forward_flops(module, torch.zeros(input_shape, device=device), None)
    finally:
        module.train(was_training)
    return flops // 2


def _build(entry: Any) -> nn.Module:
    # shapes are all a table needs: build on the meta device (no memory, no init arithmetic) where possible
    try:
        with torch.device("meta"):
            return entry.build()
    except (NotImplementedError, RuntimeError):
        return entry.build()


def part_table(size: int = 256) -> list[dict[str, Any]]:
    """Every registered generator and discriminator with default settings: params and MACs on a size x size input.

    Rows are {kind, name, params, macs, doc}; generators see `in_channels` (default 3) input channels and
    discriminators their default `in_channels`.
    """
    rows = []
    for kind, registry in (("generator", GENERATORS), ("discriminator", DISCRIMINATORS)):
        for entry in registry:
            part = _build(entry)
            channels = entry.defaults().get("in_channels", 3)
            rows.append(
                {
                    "kind": kind,
                    "name": entry.name,
                    "params": count_parameters(part),
                    "macs": count_macs(part, (1, channels, size, size)),
                    "doc": entry.doc,
                }
            )
    return rows
