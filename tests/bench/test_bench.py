"""The benchmark: speed rows for every combination asked for, the quality report's files, the CLI, one-line errors.

Tiny everything (16-32 px, widths 4, one timed repeat, two training steps); no assertion on absolute timings.
"""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from translate.bench.benchmark import benchmark, combo_config
from translate.bench.speed import flop_counter
from translate.cli import main
from translate.errors import ConfigError

TINY = ["generator.width=4", "discriminator.width=4", "generator.n_blocks=1"]
FAST_SPEED = dict(warmup=1, repeats=1, matmul_size=512)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks run fastest on one thread, above all on a busy machine (no OpenMP threads waiting)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_speed_table_has_every_requested_row_with_positive_numbers(tmp_path):
    report = benchmark(tmp_path, tables=["speed"], models=["pix2pix", "cyclegan"], discriminators=["patch"],
                       sizes=[16, 32], assignments=TINY, **FAST_SPEED)
    rows = report["speed"]
    assert [(r["label"], r["size"]) for r in rows] == [(m, s) for s in (16, 32) for m in ("pix2pix", "cyclegan")]
    assert report["machine"]["threads"] == 1
    for row in rows:
        for key in ("g_params", "train_params", "g_macs", "train_flops", "steps_per_s", "train_images_per_s",
                    "infer_images_per_s", "train_flops_per_s"):
            assert row[key] > 0, (row["label"], key)
        assert row["train_peak_mib"] is None or row["train_peak_mib"] >= 0
        assert 0 < row["train_peak_fraction"] < 1.5 and 0 < row["infer_peak_fraction"] < 1.5
    assert [r["step_ratio"] for r in rows if r["size"] == 16][0] == 1.0  # the reference row of each size
    assert rows[0]["train_params"] > rows[0]["g_params"]  # G and D
    assert report["peak"]["fp32_flops"] > 0
    md = (tmp_path / "report.md").read_text()
    assert "## Speed" in md and md.count("| cyclegan |") == 2
    assert json.loads((tmp_path / "report.json").read_text())["speed"][2]["size"] == 32


@pytest.mark.slow
def test_quality_run_writes_report_grid_and_plot(tmp_path):
    report = benchmark(tmp_path, tables=["quality"], models=["pix2pix"], styles=["coloring"],
                       generators=["unet", "resnet"], steps=2, evals=2, limit=2, grid_images=2, quality_size=32,
                       assignments=[*TINY, "data.n_train=4", "data.n_test=2"])
    rows = report["quality"]["rows"]
    assert [r["label"] for r in rows] == ["pix2pix", "pix2pix G=resnet"]
    for row in rows:
        assert row["train_s"] > 0 and row["evaluation"]["n_images"] == 2 and 0 <= row["evaluation"]["l1"] <= 1
        assert [p["step"] for p in row["curve"]] == [0, 1, 2]  # held-out L1 along training, time-stamped
        assert row["curve"][0]["seconds"] == 0 and row["curve"][-1]["seconds"] > 0
        assert (tmp_path / row["run"] / "log.jsonl").is_file()
    for name in ("report.md", "report.json", "grid_coloring.png", "quality.png"):
        assert (tmp_path / name).is_file(), name
    grid = Image.open(tmp_path / "grid_coloring.png")
    assert grid.width == 4 * (128 + 4) + 4  # input | two models | target, enlarged to 128 px
    md = (tmp_path / "report.md").read_text()
    assert "| pix2pix G=resnet | resnet | patch |" in md and "line F" in md and "grid_coloring.png" in md
    with pytest.raises(ConfigError, match="already holds benchmark runs"):
        benchmark(tmp_path, tables=["quality"], models=["pix2pix"])


def test_cli_runs_a_benchmark_config_file(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text('[benchmark]\ntables = ["speed"]\nsizes = [16]\nwarmup = 0\nrepeats = 1\nmatmul_size = 256\n'
                      "[generator]\nwidth = 4\n[discriminator]\nwidth = 4\n")
    result = CliRunner().invoke(main, ["benchmark", "--config", str(config), "--models", "pix2pix",
                                       "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "| pix2pix | noise | unet | patch | 16 |" in result.output
    assert json.loads((tmp_path / "out/report.json").read_text())["speed"][0]["g_params"] < 100_000  # width 4


@pytest.mark.parametrize("args, message", [
    (["--models", "pix2pixx"], "Error: unknown model 'pix2pixx'; did you mean 'pix2pix'?"),
    (["--generators", "unet,resnt"], "Error: unknown generator 'resnt'; did you mean 'resnet'?"),
    (["--generators", "canny"], "Error: generator 'canny' is a baseline with nothing to train"),
    (["--set", "generator.widht=4"], "Error: no generator takes 'generator.widht'; did you mean 'generator.width'?"),
    (["--sizes", "128,big"], "Error: --sizes 128,big: expected whole numbers"),
])
def test_cli_bad_names_are_one_line_errors(tmp_path, args, message):
    result = CliRunner().invoke(main, ["benchmark", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "out").exists()  # refused before any work


def test_unknown_key_in_a_benchmark_file(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[benchmark]\nrepeat = 3\n")
    with pytest.raises(ConfigError, match="unknown key 'benchmark.repeat'.*did you mean 'repeats'"):
        benchmark(tmp_path / "out", config_file=config)


def test_a_swapped_part_keeps_the_settings_it_takes():
    config = combo_config("pix2pix", "coloring", "resnet", "pixel", {"generator": {"width": 8}},
                          ["generator.n_blocks=2", "discriminator.width=4"])
    assert config["generator"] == {"name": "resnet", "width": 8, "norm": "batch", "dropout": True, "n_blocks": 2,
                                   "upsample": "resize"}
    assert config["discriminator"] == {"name": "pixel", "width": 4, "norm": "batch"}
    unet = combo_config("pix2pix", "coloring", None, None, {}, ["generator.n_blocks=2"])
    assert "n_blocks" not in unet["generator"]  # only the parts that take it get it


def test_training_flops_of_a_depthwise_convolution_are_twice_its_forward():
    conv = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8)  # torch's own formula counts 9x the forward here
    x = torch.randn(1, 8, 16, 16, requires_grad=True)
    with flop_counter() as counter:
        y = conv(x)
    forward = counter.get_total_flops()
    with flop_counter() as counter:
        y.sum().backward()
    assert forward > 0 and counter.get_total_flops() == 2 * forward


def test_benchmark_levers_measures_caches_prints_and_keeps_an_earlier_report(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path / "home"))
    args = ["benchmark", "--levers", "--models", "pix2pix", "--sizes", "32", "--width", "4", "--out", str(tmp_path / "b")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "training step, batch 1" in result.output and "forward pass (predict), batch 1" in result.output
    assert result.output.count("chosen: ") == 2 and "| fp32 | " in result.output
    cache = json.loads((tmp_path / "home" / "levers.json").read_text())
    assert len(cache) == 2  # the training job and the forward pass, each under this machine's key
    again = CliRunner().invoke(main, args)
    assert again.exit_code != 0 and "levers.md exists; choose another --out or pass --overwrite" in again.output
