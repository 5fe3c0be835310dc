"""ONNX and TorchScript export of a run's generator, any batch, height and width, checked against PyTorch.

The exported model takes (N, in_channels, H, W) in [-1, 1] (RGB order, whatever the network's own) and
returns (N, out_channels, H, W) in [-1, 1]. A generator's own padding (`run_padded`) loops in Python over
sizes and would be traced as constants, so the exporter pads instead: it computes reflection indices from
the input's shape with tensor arithmetic (one gather per axis, periodic reflection, which equals the
generator's repeated reflection) and runs the generator's `_forward_aligned` on the result. After writing,
the file is run (onnxruntime, or torch.jit.load) on an odd-sized image and deleted if it disagrees.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from translate.errors import TranslateError

FORMATS = ("onnx", "torchscript")
TOLERANCE = 1e-4  # max abs difference (outputs in [-1, 1]) accepted between the export and PyTorch
CHECK_SIZE = (45, 37)  # (height, width) of the check image: odd, and a multiple of nothing
OPSET = 17


def _reflect_index(size: torch.Tensor, before: torch.Tensor, total: torch.Tensor) -> torch.Tensor:
    """Indices into [0, size) of positions -before .. total-before-1 mirrored at the edges (periodically)."""
    period = torch.clamp(2 * (size - 1), min=1)
    j = torch.abs(torch.arange(total) - before) % period
    return torch.minimum(j, period - j)


class Exportable(nn.Module):
    """A generator with trace-friendly padding: pad to its size multiple by gathering, run, crop by gathering."""

    def __init__(self, generator: nn.Module, bgr: bool = False) -> None:
        super().__init__()
        self.generator = generator
        self.multiple = int(getattr(generator, "size_multiple", 1))
        self.minimum = int(getattr(generator, "min_size", 1))
        self.aligned = getattr(generator, "_forward_aligned", None)
        self.bgr = bgr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bgr:
            x = x.flip(1)
        if self.aligned is None or (self.multiple == 1 and self.minimum == 1):
            y = self.generator(x)
        else:
            shape = torch._shape_as_tensor(x)  # traced as a value, not baked in as numbers
            height, width = shape[2], shape[3]
            padded_h = (torch.clamp(height, min=self.minimum) + self.multiple - 1) // self.multiple * self.multiple
            padded_w = (torch.clamp(width, min=self.minimum) + self.multiple - 1) // self.multiple * self.multiple
            top, left = (padded_h - height) // 2, (padded_w - width) // 2
            x = x.index_select(2, _reflect_index(height, top, padded_h))
            x = x.index_select(3, _reflect_index(width, left, padded_w))
            y = self.aligned(x)
            y = y.index_select(2, torch.arange(height) + top).index_select(3, torch.arange(width) + left)
        return y.flip(1) if self.bgr else y


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # Tracing warns about deprecation and about Python booleans in norm layers' size checks: noise here,
    # since the result is checked numerically at a size it was not traced at.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _check_image(in_channels: int, batch: int = 2) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(batch, in_channels, *CHECK_SIZE, generator=generator) * 2 - 1


def _write_torchscript(model: Exportable, example: torch.Tensor, path: Path) -> None:
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(model, example, check_trace=False)
        torch.jit.save(traced, str(path))


def _run_torchscript(path: Path, x: torch.Tensor) -> torch.Tensor:
    with _quiet(), torch.no_grad():
        return torch.jit.load(str(path), map_location="cpu")(x)


def _onnx_modules() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError:
        raise TranslateError('ONNX export needs onnx and onnxruntime: pip install "translate[onnx]"') from None
    return onnx, onnxruntime


def _write_onnx(model: Exportable, example: torch.Tensor, path: Path) -> None:
    axes = {0: "batch", 2: "height", 3: "width"}
    with _quiet(), torch.no_grad():
        # The TorchScript-based exporter: the dynamo one needs onnxscript, which the [onnx] extra leaves out.
        torch.onnx.export(
            model, (example,), str(path), dynamo=False, opset_version=OPSET, input_names=["image"],
            output_names=["translated"], dynamic_axes={"image": axes, "translated": axes}, do_constant_folding=True,
        )


def _run_onnx(path: Path, x: torch.Tensor) -> torch.Tensor:
    _, onnxruntime = _onnx_modules()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"image": x.numpy()})[0])


def export_generator(
    generator: nn.Module,
    path: str | os.PathLike[str],
    image_format: str,
    in_channels: int,
    bgr: bool = False,
    tolerance: float = TOLERANCE,
) -> float:
    """Write `generator` (in eval mode, on the CPU) to `path`, check it on a 45x37 image; returns the max abs diff.

    Written atomically: a temporary file is renamed over `path` only once the check has passed.
    """
    from translate.files import atomic_path

    if image_format not in FORMATS:
        raise TranslateError(f"export format '{image_format}': use {' or '.join(FORMATS)}")
    if image_format == "onnx":
        onnx, _ = _onnx_modules()
    model = Exportable(generator.cpu().eval(), bgr).eval()
    example = torch.rand(1, in_channels, 64, 48, generator=torch.Generator().manual_seed(1)) * 2 - 1
    check = _check_image(in_channels)
    with torch.no_grad():
        expected = model(check)
    path = Path(path)
    with atomic_path(path) as tmp:
        if image_format == "onnx":
            _write_onnx(model, example, tmp)
            onnx.checker.check_model(str(tmp))
            got = _run_onnx(tmp, check)
        else:
            _write_torchscript(model, example, tmp)
            got = _run_torchscript(tmp, check)
        if got.shape != expected.shape:
            raise TranslateError(
                f"the {image_format} export gives shape {tuple(got.shape)} for input {tuple(check.shape)}, "
                f"not {tuple(expected.shape)}; {path} was not written"
            )
        diff = float((got.float() - expected).abs().max())
        if not diff <= tolerance:
            raise TranslateError(
                f"the {image_format} export differs from PyTorch by up to {diff:.2e} (tolerance {tolerance:.0e}) "
                f"on a {CHECK_SIZE[0]}x{CHECK_SIZE[1]} image; {path} was not written"
            )
    return diff


def export(
    run: str | os.PathLike[str], out: str | os.PathLike[str], image_format: str = "onnx", direction: str = "AtoB",
    tolerance: float = TOLERANCE,
) -> float:
    """Export a run's generator (CycleGAN: G_A, or G_B for BtoA) to `out`; returns the checked max abs diff."""
    from translate.inference.translator import load

    translator = load(run, direction=direction, device="cpu", precision="fp32")
    return export_generator(translator.generator, out, image_format, translator.in_channels, translator.bgr, tolerance)
