"""Evaluation end to end: the classical baselines, reports per style, run directories, folders and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import translate
from translate.evaluation import inception
from translate.cli import main
from translate.data import scenes
from translate.data.datasets import build_dataset
from translate.errors import TranslateError
from translate.registry import GENERATORS
from translate.evaluation.evaluate import data_config, evaluate, evaluate_run, plan
from translate.evaluation.report import format_table
from translate.bench.measure import count_macs, count_parameters



@pytest.fixture(autouse=True)
def no_inception(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Inception weights, whatever this machine holds: FID and KID are 'not computed'."""
    monkeypatch.delenv(inception.INCEPTION_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))


def oracle(style: str, size: int = 32):
    """A perfect model of a style's test split: looks each source up and returns its true target."""
    dataset = build_dataset(data_config(style, size=size)["data"], split="test", train=False)
    table = {dataset[i]["A"].numpy().tobytes(): dataset[i]["B"] for i in range(8)}
    return lambda x: torch.stack([table[a.numpy().tobytes()] for a in x])


# ------------------------------------------------------------------------------------------ baselines


@pytest.mark.parametrize("name", ["canny", "dodge"])
def test_baselines_are_registered_generators_without_parameters(name: str) -> None:
    assert name in translate.list_names("generator")
    entry = translate.GENERATORS.entry(name)
    assert entry.doc.startswith("baseline")
    net = translate.create("generator", name)
    assert not GENERATORS.entry(name).trainable and count_parameters(net) == 0
    assert count_macs(net, (1, 3, 32, 32)) >= 0  # the parameter table's meta-device pass works
    for channels, (h, w), out in ((3, (45, 30), 1), (1, (7, 5), 3), (3, (64, 64), 3)):
        net = translate.create("generator", name, in_channels=channels, out_channels=out)
        y = net(torch.rand(2, channels, h, w) * 2 - 1)
        assert y.shape == (2, out, h, w) and y.abs().max() <= 1


@pytest.mark.parametrize("name", ["canny", "dodge"])
def test_baselines_draw_black_lines_on_white(name: str) -> None:
    photo = torch.from_numpy(scenes.render(3, 64).photo).permute(2, 0, 1)[None].float() / 127.5 - 1
    drawing = translate.create("generator", name)(photo)
    values = set(drawing.unique().tolist())
    assert values <= {-1.0, 1.0}
    ink = float((drawing < 0).float().mean())
    assert 0.02 < ink < 0.4  # mostly paper, some lines


def test_bad_baseline_settings_are_config_errors() -> None:
    with pytest.raises(TranslateError, match="threshold"):
        translate.create("generator", "dodge", threshold=2.0)
    with pytest.raises(TranslateError, match="sigma"):
        translate.create("generator", "canny", sigma=-1.0)


# -------------------------------------------------------------------------------------------- reports


def test_what_is_measured_for_each_style() -> None:
    def todo(style: str) -> dict[str, bool]:
        return plan(data_config(style)["data"])

    assert todo("coloring") == {"lines": True, "fcn": False, "style": False}
    assert todo("labels2photo") == {"lines": False, "fcn": True, "style": False}
    assert todo("shinkai") == {"lines": False, "fcn": False, "style": True}
    assert todo("sketch2photo") == {"lines": False, "fcn": False, "style": False}
    assert plan(data_config("labels2photo", data="somewhere")["data"])["fcn"] is False  # judges know only the world


def test_a_perfect_model_of_coloring() -> None:
    report = evaluate(oracle("coloring"), "coloring", size=32, limit=8, name="oracle")
    assert report["l1"] == 0 and report["psnr"] == report["psnr_cap"] and report["ssim"] == pytest.approx(1)
    assert report["lines"]["f_score"] == 1.0 and report["lines"]["tolerance_px"] == 0.5  # 1 px per 64
    assert report["n_images"] == 8 and report["image_size"] == [32, 32]
    assert report["fid"]["fid"] is None and report["fid"]["note"].startswith("not computed: no Inception weights")
    json.dumps(report, allow_nan=False)  # strict JSON: no inf, no nan


def test_artefacts_on_the_scenes_world() -> None:
    truth = oracle("sketch2photo")
    perfect = evaluate(truth, "sketch2photo", size=32, limit=8, name="oracle")
    torch.manual_seed(0)
    speckled = evaluate(lambda x: (truth(x) + 0.1 * torch.randn(x.shape[0], 3, 32, 32)).clamp(-1, 1),
                        "sketch2photo", size=32, limit=8, batch_size=3, name="speckled")
    noisy = speckled["artefacts"]
    assert perfect["artefacts"]["ratio"] == pytest.approx(1.0) and not perfect["artefacts"]["floored"]
    assert noisy["ratio"] > noisy["goal"] + 1
    assert noisy["target_energy"] == pytest.approx(perfect["artefacts"]["target_energy"])
    assert noisy["output_energy"] > perfect["artefacts"]["output_energy"] > 0
    assert 0.2 < perfect["artefacts"]["flat_share"] < 0.6 and perfect["artefacts"]["window_px"] == 5
    table = format_table([perfect, speckled])
    assert "artefacts" in table.splitlines()[1] and "goal <= 1.5" in table
    line_art = evaluate_run("dodge", "coloring", size=32, limit=4)["artefacts"]  # blank paper inside regions
    assert line_art["target_energy"] == 0 and line_art["floored"] and 0 <= line_art["ratio"] < 100
    json.dumps([perfect, speckled, line_art], allow_nan=False)


def test_baselines_score_between_nothing_and_perfect() -> None:
    canny = evaluate_run("canny", "coloring", size=32, limit=4)
    blank = evaluate(lambda x: torch.ones(x.shape[0], 1, *x.shape[-2:]), "coloring", size=32, limit=4)
    assert canny["kind"] == "baseline" and canny["name"] == "canny"
    assert 0.2 < canny["lines"]["f_score"] < 1 and blank["lines"]["f_score"] == 0
    assert canny["lines"]["recall"] > blank["lines"]["recall"]


def test_fid_and_kid_with_a_feature_extractor(monkeypatch: pytest.MonkeyPatch) -> None:
    # Inception itself is too slow for unit tests: any extractor of feature rows exercises the same path.
    def features(path=None, device="cpu"):
        return lambda images: torch.nn.functional.adaptive_avg_pool2d(images.float(), 4).flatten(1)

    monkeypatch.setattr(inception, "features", features)
    perfect = evaluate(oracle("coloring"), "coloring", size=32, limit=8)
    assert perfect["fid"]["fid"] == pytest.approx(0, abs=1e-6) and perfect["fid"]["n"] == 8
    worse = evaluate_run("dodge", "coloring", size=32, limit=8, batch_size=3)
    assert worse["fid"]["fid"] > 1e-3 and worse["fid"]["kid"] is not None
    assert "FID" in format_table([perfect, worse])
    skipped = evaluate_run("dodge", "coloring", size=32, limit=2, inception=False)
    assert skipped["fid"]["note"] == "not computed: skipped"


@pytest.mark.slow
def test_reports_for_the_judged_styles(tiny_judges) -> None:
    labels = evaluate(lambda x: torch.zeros_like(x), "labels2photo", size=32, limit=4, name="grey")
    assert set(labels["fcn"]) >= {"generated", "real", "judge_size", "judge"}
    table = format_table(labels)
    assert "pixel acc" in table and "(true images)" in table and "segmenter" in table
    shinkai = evaluate(lambda x: x, "shinkai", size=32, limit=4, name="identity")
    assert 0 <= shinkai["style_score"]["score"] <= 1 and shinkai["l1"] > 0
    assert "the judge's mean probability of a clean shinkai rendering" in format_table(shinkai)
    json.dumps([labels, shinkai], allow_nan=False)


def make_run(folder: Path) -> Path:
    """A tiny pix2pix run directory for the coloring style (an untrained U-Net, saved as training would)."""
    from translate import config as cfg
    from translate.rundir import save_networks, write_config

    settings = ["generator.width=4", "data.crop_size=32", "data.load_size=36", "data.test_size=0"]
    config = cfg.resolve("pix2pix", "coloring", assignments=settings)
    net = cfg.build_generator(config, 3, 1)  # the style's U-Net (resize upsampling), width 4, for 32 px
    folder.mkdir(parents=True)
    write_config(folder, config)
    save_networks(folder, {"G": net})
    return folder


def test_a_run_directory_is_scored_on_its_own_style(tmp_path) -> None:
    run = make_run(tmp_path / "run")
    report = evaluate_run(run, limit=3)
    assert report["kind"] == "run" and report["style"] == "coloring" and report["image_size"] == [32, 32]
    assert "lines" in report and report["n_images"] == 3


def test_cli_eval_runs_pix2pix_in_the_test_mode_asked_for(tmp_path) -> None:
    run = make_run(tmp_path / "run")
    reports = {}
    for mode in ("eval", "reference"):
        result = CliRunner().invoke(main, ["eval", str(run), "--limit", "3", "--test-mode", mode, "--json", "-q"])
        assert result.exit_code == 0, result.output
        reports[mode] = json.loads(result.output)
    assert reports["eval"]["test_mode"] == "eval" and reports["reference"]["test_mode"] == "reference"
    assert reports["eval"]["l1"] != reports["reference"]["l1"]  # batch statistics and dropout change the outputs


def test_a_data_folder(tmp_path) -> None:
    scenes.write_task("photo2sketch", n=2, size=32, seed=0, out=tmp_path / "sketches", n_test=3)
    plain = evaluate_run("dodge", data=tmp_path / "sketches", size=32)
    assert plain["data"] == str(tmp_path / "sketches") and plain["n_images"] == 3 and "lines" not in plain
    as_coloring = evaluate_run("dodge", "coloring", data=tmp_path / "sketches", size=32)
    assert "lines" in as_coloring and as_coloring["n_images"] == 3
    world = evaluate_run("dodge", "coloring", size=32, limit=3)
    assert as_coloring["lines"] == pytest.approx(world["lines"])  # the same scenes, from disk or rendered
    assert plain["artefacts"]["ratio"] is None and "not measured" in plain["artefacts"]["note"]  # no region maps
    assert world["artefacts"]["ratio"] is not None
    assert "artefacts: not measured" in format_table(plain)


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_eval_prints_a_table_and_writes_json(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path / "home"))
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(main, ["eval", "canny", "--style", "coloring", "--limit", "4", "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "canny" in result.output and "line F" in result.output
    assert "not computed: no Inception weights" in result.output
    report = json.loads(out.read_text())
    assert report["name"] == "canny" and report["n_images"] == 4 and report["fid"]["fid"] is None

    args = ["eval", "canny", "dodge", "--style", "coloring", "--limit", "2", "--size", "32", "--json", "-q"]
    both = CliRunner().invoke(main, args)
    assert both.exit_code == 0, both.output
    assert [r["name"] for r in json.loads(both.output)] == ["canny", "dodge"]


def test_cli_eval_errors_are_one_line(tmp_path) -> None:
    for args, expected in (
        (["eval", "cany", "--style", "coloring"], "did you mean 'canny'?"),
        (["eval", "unet", "--style", "coloring"], "untrained generator"),
        (["eval", "canny", "--style", "colouring"], "did you mean 'coloring'?"),
        (["eval", "canny", "--limit", "0"], "--limit 0"),
        (["eval", "canny", "--inception", str(tmp_path / "none.pth")], "do not exist"),
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_grey_and_resized_outputs_are_conformed() -> None:
    # A model that answers in RGB at half size is still scored against 1-channel, full-size targets.
    def small_rgb(x: torch.Tensor) -> torch.Tensor:
        return torch.ones(x.shape[0], 3, x.shape[-2] // 2, x.shape[-1] // 2)

    report = evaluate(small_rgb, "coloring", size=32, limit=2)
    assert report["lines"]["f_score"] == 0 and np.isfinite(report["l1"])
