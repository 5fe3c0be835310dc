"""Export: ONNX and TorchScript files that take any batch, height and width and match PyTorch."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from translate.inference import export as exporter
from translate.cli import main
from translate.config import from_run
from translate.errors import TranslateError
from translate.inference.export import Exportable, export, export_generator, read_metadata
from translate.config import build_generator
from translate.inference.translator import load
from translate.models.base import Generator
from translate.rundir import save_networks, write_config

GENERATORS = {
    "unet": {"name": "unet", "width": 4, "depth": 5, "norm": "batch"},
    "resnet": {"name": "resnet", "width": 4, "n_blocks": 1, "norm": "instance"},
}
SIZES = [(45, 37), (20, 70), (64, 64), (3, 5)]
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")


def make_run(folder: Path, generator: dict[str, Any], cyclegan: bool = False, in_channels: int = 3,
             out_channels: int = 3, **data: Any) -> Path:
    raw = {"model": "cyclegan" if cyclegan else "pix2pix", "generator": dict(generator),
           "data": {"in_channels": in_channels, "out_channels": out_channels, "crop_size": 32, "load_size": 36, **data}}
    config = from_run(raw)
    torch.manual_seed(0)
    nets = {"G_A": build_generator(config, in_channels, out_channels),
            "G_B": build_generator(config, out_channels, in_channels)} if cyclegan else {
        "G": build_generator(config, in_channels, out_channels)}
    write_config(folder, raw)
    save_networks(folder, nets)
    return folder


def inputs(channels: int) -> list[torch.Tensor]:
    torch.manual_seed(1)
    return [torch.rand(n, channels, h, w) * 2 - 1 for n, (h, w) in zip((1, 3, 2, 1), SIZES)]


def run_onnx(path: Path, x: torch.Tensor) -> torch.Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"image": x.numpy()})[0])


def run_torchscript(path: Path, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.jit.load(str(path))(x)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_the_exporters_padding_is_the_generators_own(name: str) -> None:
    torch.manual_seed(0)
    generator = build_generator(from_run({"generator": GENERATORS[name]}), 3, 3).eval()
    wrapped = Exportable(generator).eval()
    with torch.no_grad():
        for x in inputs(3):
            torch.testing.assert_close(wrapped(x), generator(x), atol=1e-6, rtol=0)


class Strided(Generator):
    """Only the contract: a stride-8 conv and its transpose, so sides must be multiples of 8 (and at least 16)."""

    size_multiple, min_size = 8, 16

    def __init__(self) -> None:
        super().__init__()
        self.down, self.up = nn.Conv2d(3, 4, 8, stride=8), nn.ConvTranspose2d(4, 3, 8, stride=8)

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.up(self.down(x)))


def test_any_generator_exports_through_its_contract(tmp_path: Path) -> None:
    torch.manual_seed(0)
    generator = Strided().eval()
    assert export_generator(generator, tmp_path / "strided.pt", "torchscript", 3) < 1e-4
    with torch.no_grad():
        for x in inputs(3):
            torch.testing.assert_close(run_torchscript(tmp_path / "strided.pt", x), generator(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_torchscript_round_trip_at_any_batch_and_size(tmp_path: Path, name: str) -> None:
    run = make_run(tmp_path / "run", GENERATORS[name], out_channels=1)
    diff = export(run, tmp_path / "model.pt", "torchscript")
    assert diff < 1e-4
    translator = load(run)
    for x in inputs(3):
        got = run_torchscript(tmp_path / "model.pt", x)
        assert got.shape == (x.shape[0], 1, *x.shape[2:])
        torch.testing.assert_close(got, translator.translate_tensor(x), atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_onnx_round_trip_at_any_batch_and_size(tmp_path: Path, name: str) -> None:
    pytest.importorskip("onnxruntime", reason="ONNX export needs onnxruntime: pip install 'translate-zoo[onnx]'")
    run = make_run(tmp_path / "run", GENERATORS[name], in_channels=1)
    diff = export(run, tmp_path / "model.onnx", "onnx")
    assert diff < 1e-4
    translator = load(run)
    for x in inputs(1):
        got = run_onnx(tmp_path / "model.onnx", x)
        assert got.shape == (x.shape[0], 3, *x.shape[2:])
        torch.testing.assert_close(got, translator.translate_tensor(x), atol=1e-4, rtol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "run"]  # no temporary files left


def test_cyclegan_direction_and_bgr_order_are_exported(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", GENERATORS["resnet"], cyclegan=True, out_channels=1, channel_order="BGR")
    export(run, tmp_path / "b2a.pt", "torchscript", direction="BtoA")
    translator = load(run, direction="BtoA")
    x = inputs(1)[0]
    expected = translator.translate_tensor(x)
    torch.testing.assert_close(run_torchscript(tmp_path / "b2a.pt", x), expected, atol=1e-4, rtol=0)
    run = make_run(tmp_path / "bgr", GENERATORS["resnet"], channel_order="BGR")
    export(run, tmp_path / "bgr.pt", "torchscript")
    x = inputs(3)[0]
    expected = load(run).translate_tensor(x)
    torch.testing.assert_close(run_torchscript(tmp_path / "bgr.pt", x), expected, atol=1e-4, rtol=0)


def test_an_export_that_disagrees_is_deleted_and_the_old_file_kept(tmp_path: Path, monkeypatch: Any) -> None:
    generator = build_generator(from_run({"generator": GENERATORS["resnet"]}), 3, 3)
    (tmp_path / "model.pt").write_bytes(b"the previous export")
    monkeypatch.setattr(exporter, "_run_torchscript", lambda path, x: torch.zeros(2, 3, 45, 37) + 0.5)
    with pytest.raises(TranslateError, match=r"differs from PyTorch by up to .* was not written"):
        export_generator(generator, tmp_path / "model.pt", "torchscript", 3, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    assert (tmp_path / "model.pt").read_bytes() == b"the previous export"


def test_missing_onnx_is_one_line_with_the_install_command(tmp_path: Path, monkeypatch: Any) -> None:
    real_import = builtins.__import__

    def no_onnx(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in ("onnx", "onnxruntime"):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    run = make_run(tmp_path / "run", GENERATORS["resnet"])
    monkeypatch.setattr(builtins, "__import__", no_onnx)
    result = CliRunner().invoke(main, ["export", str(run), "--format", "onnx", "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 1 and 'pip install "translate-zoo[onnx]"' in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "m.onnx").exists()


def test_cli_export(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", GENERATORS["unet"])
    result = CliRunner().invoke(main, ["export", str(run), "--format", "torchscript", "--out", str(tmp_path / "m.pt")])
    assert result.exit_code == 0, result.output
    assert "matches PyTorch" in result.output and (tmp_path / "m.pt").is_file()
    result = CliRunner().invoke(main, ["export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 1 and "no run directory or catalogue model" in result.output
    assert np.isfinite(run_torchscript(tmp_path / "m.pt", inputs(3)[1]).numpy()).all()


def test_the_default_is_torchscript_and_an_existing_file_is_kept_unless_overwrite(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", GENERATORS["resnet"])
    result = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "m.pt")])
    assert result.exit_code == 0, result.output
    assert "torchscript" in result.output and run_torchscript(tmp_path / "m.pt", inputs(3)[0]).shape[1] == 3
    (tmp_path / "m.pt").write_bytes(b"mine")
    result = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "m.pt")])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "m.pt exists" in result.output
    assert "--overwrite" in result.output and (tmp_path / "m.pt").read_bytes() == b"mine"
    with pytest.raises(TranslateError, match="m.pt exists"):  # Python users get the same refusal
        export(run, tmp_path / "m.pt")
    assert (tmp_path / "m.pt").read_bytes() == b"mine"
    result = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "m.pt"), "--overwrite"])
    assert result.exit_code == 0, result.output
    assert run_torchscript(tmp_path / "m.pt", inputs(3)[0]).shape[1] == 3


def expected_metadata(run: Path, **changes: str) -> dict[str, str]:
    return {"value_range": "-1,1", "channel_order": "RGB", "network_channel_order": "RGB", "layout": "NCHW",
            "in_channels": "3", "out_channels": "3", "size_multiple": "4", "min_size": "8",
            "source": str(run), "network": "G", **changes}


def test_torchscript_files_carry_their_conventions(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", GENERATORS["resnet"], cyclegan=True, out_channels=1, channel_order="BGR")
    export(run, tmp_path / "b2a.pt", direction="BtoA")
    assert read_metadata(tmp_path / "b2a.pt") == expected_metadata(
        run, network_channel_order="BGR", in_channels="1", out_channels="3", network="G_B")
    unet = make_run(tmp_path / "unet", GENERATORS["unet"])
    export(unet, tmp_path / "unet.pt")
    assert read_metadata(tmp_path / "unet.pt") == expected_metadata(unet, size_multiple="32", min_size="32")


def test_onnx_files_carry_their_conventions(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="ONNX export needs onnxruntime: pip install 'translate-zoo[onnx]'")
    import onnx

    run = make_run(tmp_path / "run", GENERATORS["resnet"], in_channels=1, channel_order="BGR")
    export(run, tmp_path / "m.onnx", "onnx")
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert props == expected_metadata(run, network_channel_order="BGR", in_channels="1")
    assert read_metadata(tmp_path / "m.onnx") == props
    assert CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "by_name.onnx")]).exit_code == 0
    assert read_metadata(tmp_path / "by_name.onnx") == props  # .onnx asks for ONNX without --format
    with pytest.raises(TranslateError, match="m.onnx exists"):
        export(run, tmp_path / "m.onnx", "onnx")
