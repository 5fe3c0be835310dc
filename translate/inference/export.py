"""ONNX and TorchScript export of a run's generator, any batch, height and width, checked against PyTorch.

The exported model takes (N, in_channels, H, W) in [-1, 1] (RGB order, whatever the network's own) and
returns (N, out_channels, H, W) in [-1, 1]. A generator's own padding (`Generator.forward`) loops in Python
over sizes and would be traced as constants, so the exporter pads instead, from the contract alone: it
computes reflection indices from the input's shape with tensor arithmetic (one gather per axis, periodic
reflection, which equals the generator's repeated reflection) up to `size_multiple` and `min_size`, and runs
the generator's `forward_aligned` on the result. After writing, the file is run (onnxruntime, or
torch.jit.load) on an odd-sized image and deleted if it disagrees.

Each file carries what a user of it needs to know (`METADATA_KEYS`, read back by `read_metadata`): ONNX as
`metadata_props`, TorchScript as the extra file `translate.json`. TorchScript is the default: it needs nothing
beyond torch; ONNX needs the `onnx` extra.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import torch
from torch import nn

from translate.errors import TranslateError
from translate.files import atomic_path
from translate.inference.translator import load
from translate.outputs import check_output_file

if TYPE_CHECKING:
    from translate.models.base import Generator

FORMATS = ("torchscript", "onnx")  # the first is the default
SUFFIXES = {"torchscript": "pt", "onnx": "onnx"}
EXTRA_FILE = "translate.json"  # TorchScript: the metadata, as torch.jit.save's extra file of this name
METADATA_KEYS = {
    "value_range": "the range of input and output values, '-1,1'",
    "channel_order": "the order of colour channels the file takes and returns: always 'RGB'",
    "network_channel_order": "the order the network was trained in (BGR networks are flipped inside the file)",
    "layout": "'NCHW': batch, channels, height, width; any batch, height and width",
    "in_channels": "channels of the input (3 colour, 1 grey)",
    "out_channels": "channels of the output",
    "size_multiple": "sides the generator takes without padding are multiples of this (others are padded inside)",
    "min_size": "the smallest side the generator takes without padding",
    "source": "the catalogue name or run directory exported",
    "network": "which generator of the run: G, G_A (AtoB) or G_B (BtoA)",
}
TOLERANCE = 1e-4  # max abs difference (outputs in [-1, 1]) accepted between the export and PyTorch
CHECK_SIZE = (45, 37)  # (height, width) of the check image: odd, and a multiple of nothing
OPSET = 17


def _reflect_index(size: torch.Tensor, before: torch.Tensor, total: torch.Tensor) -> torch.Tensor:
    """Indices into [0, size) of positions -before .. total-before-1 mirrored at the edges (periodically)."""
    period = torch.clamp(2 * (size - 1), min=1)
    j = torch.abs(torch.arange(total) - before) % period
    return torch.minimum(j, period - j)


def _side(x: torch.Tensor, dim: int) -> torch.Tensor:
    """One side of `x` as a 0-dim tensor, so that a trace keeps it an input of the graph, not a number in it."""
    size = x.shape[dim]
    # Under tracing (TorchScript, and ONNX's TorchScript-based export) `x.shape` already yields tensors that
    # the tracer records; eagerly it yields ints, which become tensors here so that both run the same code.
    return size if isinstance(size, torch.Tensor) else torch.tensor(size)


class Exportable(nn.Module):
    """A generator with trace-friendly padding: pad to its size multiple by gathering, run, crop by gathering."""

    def __init__(self, generator: Generator, bgr: bool = False) -> None:
        super().__init__()
        self.generator = generator
        self.bgr = bgr

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Translate (N, C, H, W) of any H x W, as `generator(x)` does, in a form that traces at any size."""
        if self.bgr:
            x = x.flip(1)
        multiple, minimum = self.generator.size_multiple, self.generator.min_size
        if multiple == 1 and minimum == 1:
            y = self.generator.forward_aligned(x)
        else:
            height, width = _side(x, 2), _side(x, 3)
            # `Generator.fitting_size` in tensor arithmetic: Python's max() would freeze the sizes into the trace
            padded_h = (torch.clamp(height, min=minimum) + multiple - 1) // multiple * multiple
            padded_w = (torch.clamp(width, min=minimum) + multiple - 1) // multiple * multiple
            top, left = (padded_h - height) // 2, (padded_w - width) // 2
            x = x.index_select(2, _reflect_index(height, top, padded_h))
            x = x.index_select(3, _reflect_index(width, left, padded_w))
            y = self.generator.forward_aligned(x)
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


def generator_metadata(generator: Generator, in_channels: int, out_channels: int, bgr: bool = False) -> dict[str, str]:
    """What an exported file of `generator` says about itself from the generator contract (see METADATA_KEYS)."""
    return {
        "value_range": "-1,1",
        "channel_order": "RGB",
        "network_channel_order": "BGR" if bgr else "RGB",
        "layout": "NCHW",
        "in_channels": str(in_channels),
        "out_channels": str(out_channels),
        "size_multiple": str(generator.size_multiple),
        "min_size": str(generator.min_size),
    }


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The metadata an exported file carries (`METADATA_KEYS`): ONNX's metadata_props or TorchScript's extra file."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        onnx, _ = _onnx_modules()
        return {prop.key: prop.value for prop in onnx.load(str(path), load_external_data=False).metadata_props}
    extra = {EXTRA_FILE: ""}
    with _quiet():
        torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    return json.loads(extra[EXTRA_FILE] or "{}")


def _write_torchscript(model: Exportable, example: torch.Tensor, path: Path, metadata: dict[str, str]) -> None:
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(model, example, check_trace=False)
        torch.jit.save(traced, str(path), _extra_files={EXTRA_FILE: json.dumps(metadata, indent=1)})


def _run_torchscript(path: Path, x: torch.Tensor) -> torch.Tensor:
    with _quiet(), torch.no_grad():
        return torch.jit.load(str(path), map_location="cpu")(x)


def _onnx_modules() -> tuple[Any, Any]:
    try:
        import onnx  # an optional extra
        import onnxruntime
    except ImportError:
        raise TranslateError('ONNX export needs onnx and onnxruntime: pip install "translate-zoo[onnx]"') from None
    return onnx, onnxruntime


def _write_onnx(model: Exportable, example: torch.Tensor, path: Path, metadata: dict[str, str]) -> None:
    axes = {0: "batch", 2: "height", 3: "width"}
    with _quiet(), torch.no_grad():
        # The TorchScript-based exporter: the dynamo one needs onnxscript, which the [onnx] extra leaves out.
        torch.onnx.export(
            model, (example,), str(path), dynamo=False, opset_version=OPSET, input_names=["image"],
            output_names=["translated"], dynamic_axes={"image": axes, "translated": axes}, do_constant_folding=True,
        )
    onnx, _ = _onnx_modules()
    proto = onnx.load(str(path))
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def _run_onnx(path: Path, x: torch.Tensor) -> torch.Tensor:
    _, onnxruntime = _onnx_modules()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"image": x.numpy()})[0])


def export_generator(
    generator: Generator,
    path: str | os.PathLike[str],
    image_format: str,
    in_channels: int,
    bgr: bool = False,
    tolerance: float = TOLERANCE,
    overwrite: bool = False,
    metadata: dict[str, str] | None = None,
) -> float:
    """Write `generator` (in eval mode, on the CPU) to `path`, check it on a 45x37 image; returns the max abs diff.

    Written atomically: a temporary file is renamed over `path` only once the check has passed. An existing
    `path` is refused unless `overwrite`. `metadata` (string keys and values) is stored in the file, over
    what the generator itself tells (`generator_metadata`).
    """
    if image_format not in FORMATS:
        raise TranslateError(f"export format '{image_format}': use {' or '.join(FORMATS)}")
    check_output_file(path, overwrite, example=f"model.{SUFFIXES[image_format]}")
    if image_format == "onnx":
        onnx, _ = _onnx_modules()
    model = Exportable(generator.cpu().eval(), bgr).eval()
    example = torch.rand(1, in_channels, 64, 48, generator=torch.Generator().manual_seed(1)) * 2 - 1
    check = _check_image(in_channels)
    with torch.no_grad():
        expected = model(check)
    metadata = {**generator_metadata(generator, in_channels, expected.shape[1], bgr), **(metadata or {})}
    path = Path(path)
    with atomic_path(path) as tmp:
        if image_format == "onnx":
            _write_onnx(model, example, tmp, metadata)
            onnx.checker.check_model(str(tmp))
            got = _run_onnx(tmp, check)
        else:
            _write_torchscript(model, example, tmp, metadata)
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


def format_for(path: str | os.PathLike[str]) -> str:
    """The export format a file name asks for: onnx for *.onnx, else TorchScript (which needs nothing beyond torch)."""
    return "onnx" if Path(path).suffix.lower() == ".onnx" else "torchscript"


def export(
    run: str | os.PathLike[str], out: str | os.PathLike[str], image_format: str | None = None,
    direction: str = "AtoB", tolerance: float = TOLERANCE, overwrite: bool = False,
) -> float:
    """Export a run's generator (CycleGAN: G_A, or G_B for BtoA) to `out`; returns the checked max abs diff.

    `run` is a run directory, a checkpoint in one, or a catalogue name; the file records it (`read_metadata`).
    `image_format` torchscript or onnx; None: by `out`'s extension (`format_for`). An existing `out` is refused
    unless `overwrite`.
    """
    image_format = image_format or format_for(out)
    if image_format not in FORMATS:
        raise TranslateError(f"export format '{image_format}': use {' or '.join(FORMATS)}")
    check_output_file(out, overwrite, example=f"model.{SUFFIXES[image_format]}")  # before loading anything
    if image_format == "onnx":
        _onnx_modules()
    translator = load(run, direction=direction, device="cpu", precision="fp32")
    source = str(translator.run) if Path(run).exists() and translator.run else os.fspath(run)  # else a card name
    return export_generator(
        translator.generator, out, image_format, translator.in_channels, translator.bgr, tolerance,
        overwrite=overwrite, metadata={"source": source, "network": translator.network},
    )
