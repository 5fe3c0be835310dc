"""Inference: the Translator on every input type, any size and mode, tiles, folders, the predict command."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from torch import nn

from tests.conftest import noise_image
from translate.cli import main
from translate.config import from_run
from translate.errors import CheckpointError, TranslateError
from translate.inference.translator import load, Translator
from translate.config import build_generator
from translate.inference.batch import collect_inputs, predict_files
from translate.zoo.pull import open_run
from translate.rundir import save_networks, write_config
from translate.inference.tiling import axis_weights, round_tile, run_tiled, tile_starts
from translate.models.base import Generator

UNET = {"name": "unet", "width": 4, "depth": 6, "norm": "batch", "dropout": True}
RESNET = {"name": "resnet", "width": 4, "n_blocks": 1, "norm": "instance"}


def make_run(
    folder: Path, generator: dict[str, Any] = UNET, cyclegan: bool = False, in_channels: int = 3,
    out_channels: int = 3, seed: int = 0, tag: str = "latest", **data: Any,
) -> Path:
    """A run directory written directly (no training): config.toml and seeded generator weights."""
    raw = {"model": "cyclegan" if cyclegan else "pix2pix", "generator": dict(generator),
           "data": {"in_channels": in_channels, "out_channels": out_channels, "crop_size": 32, "load_size": 36, **data}}
    config = from_run(raw)
    torch.manual_seed(seed)
    if cyclegan:
        nets = {"G_A": build_generator(config, in_channels, out_channels),
                "G_B": build_generator(config, out_channels, in_channels)}
    else:
        nets = {"G": build_generator(config, in_channels, out_channels)}
    for net in nets.values():  # batch-norm statistics that are not the identity, so eval mode matters
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    write_config(folder, raw)
    save_networks(folder, nets, tag=tag)
    return folder


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result: Any, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert expected in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output


# ------------------------------------------------------------------------------------------ Translator


def test_translator_returns_the_type_and_size_it_was_given(tmp_path: Path) -> None:
    import translate

    translator = translate.load(make_run(tmp_path, out_channels=1))
    assert isinstance(translator, translate.Translator) and translate.load is load
    assert (translator.in_channels, translator.out_channels) == (3, 1)
    image = noise_image(0, (45, 37))
    out = translator(image)
    assert isinstance(out, Image.Image) and out.size == (45, 37) and out.mode == "L"

    array = np.asarray(image)
    out_array = translator(array)
    assert out_array.dtype == np.uint8 and out_array.shape == (37, 45, 1)
    np.testing.assert_array_equal(out_array[..., 0], np.asarray(out))
    grey = translator(np.asarray(image.convert("L")))  # HxW in: grey repeated to RGB; HxW out
    assert grey.shape == (37, 45) and grey.dtype == np.uint8
    floats = translator(array.astype(np.float32) / 255.0)
    assert floats.dtype == np.float32 and floats.shape == (37, 45, 1) and 0.0 <= floats.min() <= floats.max() <= 1.0
    assert np.abs(floats[..., 0] * 255.0 - np.asarray(out)).max() <= 1.0

    tensor = torch.rand(3, 37, 45) * 2 - 1
    out_tensor = translator(tensor)
    assert out_tensor.shape == (1, 37, 45) and out_tensor.dtype == torch.float32
    batch = translator(torch.stack([tensor, -tensor]))
    assert batch.shape == (2, 1, 37, 45)
    with torch.no_grad():
        torch.testing.assert_close(batch[0], translator.generator(tensor[None])[0])
    assert not batch.is_inference()  # usable with autograd afterwards
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        translator(torch.rand(1, 1, 8, 8))
    assert translator.config["generator"]["name"] == "unet"
    assert "3->1" in repr(translator)


def test_translator_is_deterministic_unless_dropout_is_kept(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    plain = load(run)
    torch.testing.assert_close(plain(x), plain(x))
    noisy = load(run, keep_dropout=True)
    assert not torch.equal(noisy(x), noisy(x))
    assert not any(m.training for m in noisy.generator.modules() if isinstance(m, nn.BatchNorm2d))


def test_reference_test_mode_uses_batch_statistics_and_dropout_without_moving_the_weights(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    plain, reference = load(run), load(run, test_mode="reference")
    assert (plain.test_mode, reference.test_mode) == ("eval", "reference")
    running = {k: v.clone() for k, v in reference.generator.state_dict().items()}
    assert not torch.equal(reference(x), reference(x))  # dropout on, as the reference's test.py has it
    for key, value in reference.generator.state_dict().items():
        torch.testing.assert_close(value, running[key], atol=0, rtol=0, msg=f"{key} moved")
    bn = [m for m in reference.generator.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bn and all(m.training for m in bn)
    expected = load(run).generator  # by hand: train mode, batch statistics, on a copy whose statistics may move
    expected.train()
    torch.manual_seed(1)
    with torch.no_grad():
        by_hand = expected(x)
    torch.manual_seed(1)
    torch.testing.assert_close(reference(x), by_hand)
    noise_image(0, (32, 32)).save(tmp_path / "a.png")
    outputs = {}
    for mode in ("eval", "reference"):
        result = invoke("predict", run, tmp_path / "a.png", "--out", tmp_path / mode, "--test-mode", mode, "-q")
        assert result.exit_code == 0, result.output
        outputs[mode] = np.asarray(Image.open(tmp_path / mode / "a.png"))
    assert not np.array_equal(outputs["eval"], outputs["reference"])
    np.testing.assert_array_equal(outputs["eval"], np.asarray(plain(noise_image(0, (32, 32)))))


def test_precision_auto_is_fp32_until_measured_and_explicit_precisions_are_checked(tmp_path: Path) -> None:
    run = make_run(tmp_path, RESNET)
    auto = load(run, precision="auto")
    assert auto.precision is None and not auto.channels_last
    assert "not measured yet" in auto.levers.why
    bf16 = load(run, precision="bf16")
    assert bf16.precision == torch.bfloat16
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert (bf16(x) - load(run, precision="fp32")(x)).abs().max() < 0.1
    with pytest.raises(TranslateError, match="needs a CUDA GPU"):
        load(run, precision="fp16")


def test_a_checkpoint_file_picks_its_tag_and_unknown_runs_are_named(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", RESNET, seed=0)
    make_run(tmp_path / "run", RESNET, seed=1, tag="step_0000005")
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    latest, older = load(run), load(run / "checkpoints" / "step_0000005.safetensors")
    found = open_run(run / "checkpoints" / "step_0000005.safetensors")
    assert (found.run, found.tag) == (run, "step_0000005")
    assert not torch.allclose(latest(x), older(x))
    with pytest.raises(CheckpointError, match="no run directory or catalogue model 'no/such/run'"):
        open_run("no/such/run")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(CheckpointError, match="not a run directory"):
        open_run(tmp_path / "file.txt")


def test_direction_picks_the_cyclegan_generator_and_single_g_runs_refuse_btoa(tmp_path: Path) -> None:
    run = make_run(tmp_path / "cycle", RESNET, cyclegan=True, in_channels=3, out_channels=1)
    a_to_b, b_to_a = load(run, "AtoB"), load(run, "BtoA")
    assert (a_to_b.network, a_to_b.in_channels, a_to_b.out_channels) == ("G_A", 3, 1)
    assert (b_to_a.network, b_to_a.in_channels, b_to_a.out_channels) == ("G_B", 1, 3)
    assert b_to_a(noise_image(0, (21, 13), "L")).mode == "RGB"
    with pytest.raises(CheckpointError, match="one generator"):
        load(make_run(tmp_path / "single"), "BtoA")


def test_an_imported_run_takes_its_channels_from_the_generator_table(tmp_path: Path) -> None:
    torch.manual_seed(0)
    table = {"name": "resnet", "width": 4, "n_blocks": 1, "norm": "instance", "in_channels": 1, "out_channels": 3}
    net = build_generator(from_run({"generator": table}), 1, 3)
    source = {"file": "x.pth", "format": "reference"}
    write_config(tmp_path, {"model": "cyclegan", "generator": table, "source": source})
    save_networks(tmp_path, {"G": net})
    translator = load(tmp_path)
    assert (translator.in_channels, translator.out_channels) == (1, 3)
    assert translator(noise_image(1, (20, 12), "L")).mode == "RGB"


def test_bgr_networks_get_rgb_in_and_out(tmp_path: Path) -> None:
    rgb, bgr = load(make_run(tmp_path / "rgb", RESNET)), load(make_run(tmp_path / "bgr", RESNET, channel_order="BGR"))
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(bgr(x), rgb(x.flip(1)).flip(1))


def test_the_tensor_contract_converts_uint8_and_refuses_other_ranges(tmp_path: Path, caplog) -> None:
    translator = load(make_run(tmp_path, RESNET))
    image = noise_image(3, (20, 12))
    as_uint8 = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)  # CHW uint8 0..255
    out = translator(as_uint8)
    assert out.dtype == torch.uint8 and out.shape == (3, 12, 20)
    np.testing.assert_array_equal(out.permute(1, 2, 0).numpy(), np.asarray(translator(image)))
    assert translator(as_uint8[None]).shape == (1, 3, 12, 20)
    with pytest.raises(ValueError, match=r"got values in \[0, 255\]; pass x / 127.5 - 1"):
        translator(as_uint8.float())
    with pytest.raises(ValueError, match="got torch.uint8; pass it to the translator itself"):
        translator.translate_tensor(as_uint8[None])
    with pytest.raises(ValueError, match=r"float array in \[0, 1\], got values in \[-1"):
        translator(np.asarray(image, np.float32) / 127.5 - 1)  # arrays are image-library [0, 1] floats
    with pytest.raises(ValueError, match="or a uint8 tensor 0..255, got torch.int64"):
        translator(torch.zeros(3, 8, 8, dtype=torch.int64))
    # a float tensor none of whose values is negative: read as [-1, 1], with one warning naming the fix
    zero_one = as_uint8.float() / 255
    with caplog.at_level("WARNING", logger="translate"):
        translator(zero_one)
        translator(zero_one)
    warnings = [r.getMessage() for r in caplog.records if "[0, 1]" in r.getMessage()]
    assert len(warnings) == 1 and "x * 2 - 1" in warnings[0]


@pytest.mark.parametrize("order", ["RGB", "BGR"])
def test_preprocess_and_postprocess_give_the_plain_generator_the_cards_conventions(tmp_path: Path, order: str) -> None:
    translator = load(make_run(tmp_path, RESNET, channel_order=order))
    image = noise_image(5, (21, 13))
    x = translator.preprocess(image)
    assert x.shape == (1, 3, 13, 21) and x.dtype == torch.float32 and -1 <= float(x.min()) <= float(x.max()) <= 1
    rgb = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float() / 127.5 - 1
    torch.testing.assert_close(x[0], rgb.flip(0) if order == "BGR" else rgb)  # the network's own channel order
    assert translator.channel_order == order and translator.size_multiple >= 1
    with torch.no_grad():
        y = translator.generator(x)  # the plain nn.Module
    np.testing.assert_array_equal(np.asarray(translator.postprocess(y, like=image)), np.asarray(translator(image)))
    torch.testing.assert_close(translator.postprocess(y), translator(rgb).clamp(-1, 1)[None])
    array = np.asarray(image)
    np.testing.assert_array_equal(translator.postprocess(translator.generator(translator.preprocess(array)), array),
                                  translator(array))


def test_a_translator_moves_to_another_device_and_returns_itself(tmp_path: Path) -> None:
    translator = load(make_run(tmp_path, RESNET))
    assert translator.to("cpu") is translator and translator.device == torch.device("cpu")
    assert next(translator.generator.parameters()).device == torch.device("cpu")
    if torch.cuda.is_available():
        moved = translator.to("cuda")
        assert moved is translator and next(translator.generator.parameters()).is_cuda
        assert translator(noise_image(0, (16, 16))).size == (16, 16)
    with pytest.raises(TranslateError, match="no usable CUDA GPU") if not torch.cuda.is_available() else \
            contextlib.nullcontext():
        translator.to("cuda:0")


def test_list_models_lists_the_catalogue_without_importing_torch() -> None:
    import subprocess
    import sys

    code = ("import json, sys, translate; names = translate.list_models(); print(json.dumps([len(names), "
            "'horse2zebra' in names, translate.list_models('scenes-s*'), 'torch' in sys.modules]))")
    env = {k: v for k, v in os.environ.items() if k != "TRANSLATE_CATALOGUE"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    count, has_horse, shipped, torch_loaded = json.loads(out.stdout)
    assert count > 20 and has_horse and not torch_loaded
    assert shipped == ["scenes-shinkai", "scenes-shinkai-cartoongan", "scenes-sketch2photo"]
    import translate

    assert set(translate.list_models(on_this_machine=True)) >= {"scenes-shinkai", "scenes-coloring"}


# ------------------------------------------------------------------------------------------------ tiles


class Pointwise(Generator):
    """A 1x1-conv generator: a constant in gives a constant out; size_multiple 4 to exercise the rounding."""

    size_multiple = 4

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x))


class SmallField(Generator):
    """Two 3x3 convs: a receptive field of 5 px, so a tile's margin hides its padding completely."""

    def __init__(self, padding_mode: str = "zeros") -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, padding_mode=padding_mode), nn.ReLU(),
                                 nn.Conv2d(8, 3, 3, padding=1, padding_mode=padding_mode), nn.Tanh())

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def bare(generator: Generator) -> Translator:
    return Translator(generator, {"data": {}}, in_channels=3, out_channels=3)


def test_tile_layout_covers_the_image_and_weights_cross_fade() -> None:
    assert tile_starts(100, 32, 8) == [0, 24, 48, 68]
    assert tile_starts(32, 32, 8) == [0] and tile_starts(20, 32, 8) == [0]
    deep = Pointwise()
    deep.size_multiple, deep.min_size = 16, 64
    assert round_tile(30, Pointwise()) == 32 and round_tile(30, deep) == 64 and round_tile(80, deep) == 80
    with pytest.raises(TranslateError, match="--tile 0"):
        round_tile(0, deep)
    rise, fall = axis_weights(32, True, False, 16), axis_weights(32, False, True, 16)
    assert rise[:4].eq(0).all() and rise[12:].eq(1).all()
    torch.testing.assert_close(fall[16:] + rise[:16], torch.ones(16))  # neighbours 16 px apart sum to one
    assert axis_weights(32, False, False, 16).eq(1).all()


@pytest.mark.parametrize("size", [(70, 90), (33, 100), (20, 20)])
def test_a_constant_stays_constant_across_tile_borders(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    x = torch.full((1, 3, *size), 0.3)
    pointwise = bare(Pointwise())
    out = pointwise.tile_tensor(x, tile=30, overlap=8, batch_size=3)
    assert out.shape == (1, 3, *size)
    torch.testing.assert_close(out, pointwise.translate_tensor(x), atol=1e-6, rtol=0)
    reflecting = bare(SmallField(padding_mode="reflect"))  # spatial, and a constant in gives a constant out
    out = reflecting.tile_tensor(x, tile=24, overlap=8)
    assert (out - out[0, :, :1, :1]).abs().max() < 1e-6
    assert reflecting.translate_tensor(torch.rand(1, 3, 32, 32) * 2 - 1).std() > 0.01  # yet not constant anyway


def test_tiled_equals_untiled_for_a_small_receptive_field() -> None:
    translator = bare(SmallField())
    x = torch.rand(1, 3, 77, 101) * 2 - 1
    whole = translator.translate_tensor(x)
    tiled = translator.tile_tensor(x, tile=32, overlap=16, batch_size=4)
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)
    # the library face: the same for PIL and arrays
    image = noise_image(3, (101, 77))
    tiled_image, whole_image = translator.tile(image, 32, 16), translator(image)
    assert np.abs(np.asarray(tiled_image, dtype=int) - np.asarray(whole_image, dtype=int)).max() <= 1


def test_tiles_run_in_batches_of_tile_size_only() -> None:
    seen: list[tuple[int, ...]] = []

    def forward(batch: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(batch.shape))
        return batch

    x = torch.rand(1, 3, 100, 130)
    out = run_tiled(forward, x, tile=32, overlap=8, batch_size=3)
    torch.testing.assert_close(out, x)  # the identity blends back to the image exactly
    assert all(shape[0] <= 3 and shape[2:] == (32, 32) for shape in seen)
    assert sum(shape[0] for shape in seen) == len(tile_starts(100, 32, 8)) * len(tile_starts(130, 32, 8))
    with pytest.raises(TranslateError, match="--overlap"):
        run_tiled(forward, x, tile=32, overlap=32)


def test_a_real_generator_tiled_is_close_to_untiled_with_a_large_overlap(tmp_path: Path) -> None:
    torch.manual_seed(0)  # batch norm in eval mode is local; kaiming init gives outputs of std ~0.3
    net = build_generator(from_run({"generator": {**RESNET, "norm": "batch", "init": "kaiming"}}), 3, 3)
    translator = bare(net)
    x = torch.nn.functional.interpolate(torch.rand(1, 3, 12, 14), size=(96, 112), mode="bilinear") * 2 - 1
    whole = translator.translate_tensor(x)
    assert whole.std() > 0.1
    difference = (translator.tile_tensor(x, tile=64, overlap=48) - whole).abs()
    assert difference.mean() < 1e-3 and difference.max() < 0.02


# ------------------------------------------------------------------------------------------ files and CLI


MODES = ["RGB", "L", "LA", "P", "RGBA", "I;16", "CMYK", "1"]


def write_inputs(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, mode in enumerate(MODES):
        size = (17 + 6 * i, 31 - 2 * i)  # odd and uneven sizes
        if mode == "I;16":
            image = Image.fromarray((np.arange(size[0] * size[1]).reshape(size[1], size[0]) * 40).astype(np.uint16))
        else:
            image = noise_image(i, size, mode)
        path = folder / f"{i}_{mode.replace(';', '')}.{'jpg' if mode == 'CMYK' else 'png'}"
        image.save(path)
        paths.append(path)
    return paths


def test_predict_reads_every_mode_and_keeps_every_size(tmp_path: Path) -> None:
    paths = write_inputs(tmp_path / "in")
    translator = load(make_run(tmp_path / "run", RESNET))
    summary = predict_files(translator, [str(tmp_path / "in")], tmp_path / "out", progress=False)
    assert not summary.skipped and len(summary.written) == len(MODES)
    for path in paths:
        with Image.open(path) as source, Image.open(tmp_path / "out" / f"{path.stem}.png") as out:
            assert out.size == source.size and out.mode == "RGB", path


def test_cli_mirrors_folders_skips_bad_files_and_reports(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    (tmp_path / "in" / "sub").mkdir(parents=True)
    noise_image(0, (45, 37)).save(tmp_path / "in" / "a.png")
    noise_image(1, (45, 37)).save(tmp_path / "in" / "sub" / "b.jpg")
    good = (tmp_path / "in" / "a.png").read_bytes()
    (tmp_path / "in" / "broken.png").write_bytes(good[: len(good) // 2])  # a truncated PNG
    result = invoke("predict", run, tmp_path / "in", "--out", tmp_path / "out", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")) == [
        "a.png", "sub/b.png"]
    assert "broken.png" in result.output and "wrote 2 images, skipped 1" in result.output
    with Image.open(tmp_path / "out" / "sub" / "b.png") as out:
        assert out.size == (45, 37)


def test_cli_exits_1_when_nothing_is_written(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = invoke("predict", run, tmp_path / "in" / "broken.png", "--out", tmp_path / "out", "-q")
    assert result.exit_code == 1 and "nothing written" in result.output and "broken.png" in result.output


def test_cli_refuses_to_clobber_an_output_folder(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    noise_image(0, (20, 20)).save(tmp_path / "a.png")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    result = invoke("predict", run, tmp_path / "a.png", "--out", tmp_path / "out")
    one_line_error(result, "--overwrite")
    assert str(tmp_path / "out") in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["keep.txt"]
    result = invoke("predict", run, tmp_path / "a.png", "--out", tmp_path / "out", "--overwrite")
    assert result.exit_code == 0 and (tmp_path / "out" / "a.png").is_file()


def test_cli_globs_formats_side_by_side_size_and_tiles(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", RESNET, out_channels=1)
    for name in ("x.jpg", "y.png"):
        noise_image(len(name) + ord(name[0]), (45, 37)).save(tmp_path / name)
    result = invoke("predict", run, str(tmp_path / "*.*g"), "--out", tmp_path / "a", "--format", "same",
                    "--side-by-side", "-q")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "a" / "x.jpg") as out:
        assert out.format == "JPEG" and out.size == (90, 37)
    result = invoke("predict", run, tmp_path / "y.png", "--out", tmp_path / "b", "--format", "jpg", "--size", "24x16")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "b" / "y.jpg") as out:
        assert out.size == (24, 16) and out.mode == "L"
    result = invoke("predict", run, tmp_path / "y.png", "--out", tmp_path / "c", "--tile", "16", "--overlap", "4")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "c" / "y.png") as out:
        assert out.size == (45, 37)


def test_cli_direction_btoa_on_a_cyclegan_run(tmp_path: Path) -> None:
    run = make_run(tmp_path / "cycle", RESNET, cyclegan=True, in_channels=3, out_channels=1)
    noise_image(0, (33, 21), "L").save(tmp_path / "b.png")
    result = invoke("predict", run, tmp_path / "b.png", "--out", tmp_path / "out", "--direction", "BtoA")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "b.png") as out:
        assert out.mode == "RGB" and out.size == (33, 21)
    one_line_error(invoke("predict", make_run(tmp_path / "single"), tmp_path / "b.png", "--out", tmp_path / "o2",
                          "--direction", "BtoA"), "one generator")


def test_cli_one_line_errors(tmp_path: Path) -> None:
    noise_image(0, (20, 20)).save(tmp_path / "a.png")
    one_line_error(invoke("predict", tmp_path / "nowhere", tmp_path / "a.png", "--out", tmp_path / "o"),
                   "no run directory or catalogue model")
    run = make_run(tmp_path / "run")
    one_line_error(invoke("predict", run, "--out", tmp_path / "o"), "no inputs")
    one_line_error(invoke("predict", run, tmp_path / "nothing-here", "--out", tmp_path / "o"), "no images or videos to translate")
    one_line_error(invoke("predict", run, tmp_path / "a.png", "--out", tmp_path / "o", "--size", "big"), "--size")
    assert not (tmp_path / "o").exists()


def test_batches_of_equal_sizes_give_the_same_images_as_one_by_one(tmp_path: Path) -> None:
    translator = load(make_run(tmp_path / "run", RESNET))
    for i in range(5):
        noise_image(i, (24, 20) if i != 2 else (20, 24)).save(tmp_path / f"{i}.png")
    inputs = [str(tmp_path / f"{i}.png") for i in range(5)]
    predict_files(translator, inputs, tmp_path / "one", progress=False)
    predict_files(translator, inputs, tmp_path / "many", batch_size=4, progress=False)
    for i in range(5):
        one = np.asarray(Image.open(tmp_path / "one" / f"{i}.png"), dtype=int)
        many = np.asarray(Image.open(tmp_path / "many" / f"{i}.png"), dtype=int)
        assert np.abs(one - many).max() <= 1


def test_inputs_are_collected_once_and_name_clashes_are_skipped(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        noise_image(0, (8, 8)).save(tmp_path / folder / "same.png")
    noise_image(0, (8, 8)).save(tmp_path / "a" / "same.jpg")
    jobs, skipped = collect_inputs([str(tmp_path / "a"), str(tmp_path / "a" / "same.png"), str(tmp_path / "b")], ".png")
    assert [j.target.as_posix() for j in jobs] == ["same.png"]
    assert len(skipped) == 2 and all("already written" in why for _, why in skipped)


def test_end_to_end_train_then_predict(tmp_path: Path) -> None:
    from translate.config import resolve
    from translate.trainers.loop import train

    config = resolve("pix2pix", "coloring", assignments=[
        "generator.width=8", "train.steps=2", "data.crop_size=32", "data.load_size=36", "data.n_train=4",
        "data.n_test=2", f"train.out={tmp_path / 'run'}", "train.quiet=true"])
    run = train(config)
    noise_image(0, (45, 37)).save(tmp_path / "photo.png")
    result = invoke("predict", run, tmp_path / "photo.png", "--out", tmp_path / "out", "-q")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "out" / "photo.png") as out:
        assert out.size == (45, 37) and out.mode == ("L" if config["data"]["out_channels"] == 1 else "RGB")
