"""The label-conditional GAN: trained by the one loop, scored by label, drawn from by `translate sample`."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import translate
from translate.cli import main
from translate.config import resolve
from translate.errors import ConfigError
from translate.models.conditional import LabelGenerator, Maxout, MaxoutDiscriminator
from translate.trainers.loop import train

TINY = ["data.crop_size=16", "data.load_size=16", "data.n_train=20", "data.n_test=20", "train.batch_size=4",
        "trainer.width=16", "trainer.units=8", "trainer.label_units=4", "trainer.pieces=2", "trainer.joint_pieces=2",
        "trainer.sample_columns=3", "trainer.heldout_per_label=2", "train.log_every=1"]


def tiny_config(out: Path, steps: int = 4, *assignments: str) -> dict:
    return resolve("cgan", "digits", overrides={"train": {"steps": steps, "out": str(out), "quiet": True}},
                   assignments=[*TINY, *assignments])


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory, tiny_judges) -> Path:
    return train(tiny_config(tmp_path_factory.mktemp("cgan") / "run", 10))


def test_maxout_keeps_the_largest_piece_of_each_unit():
    layer = Maxout(2, units=2, pieces=3, dropout=0.0)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0, 0], [0, 1], [-1, 0], [2, 0], [0, 0], [0, -3]]))
        layer.linear.bias.zero_()
    out = layer(torch.tensor([[1.0, 2.0]]))
    assert out.tolist() == [[2.0, 2.0]]  # unit 0: max(1, 2, -1); unit 1: max(2, 0, -6)


def test_the_networks_take_noise_and_labels():
    g = LabelGenerator(noise_dim=5, size=12, width=8)
    d = MaxoutDiscriminator(size=12, units=6, label_units=3, pieces=2, joint_pieces=2)
    y = torch.nn.functional.one_hot(torch.tensor([3, 1]), 10).float()
    images = g(torch.randn(2, 5), y)
    assert images.shape == (2, 1, 12, 12) and images.abs().max() <= 1
    assert d(images, y).shape == (2, 1)


def test_a_drawing_is_fixed_by_its_seed_and_a_column_shares_its_noise():
    g = LabelGenerator(noise_dim=5, size=8, width=8).eval()
    with torch.no_grad():
        a, b = g.draw([3, 1], n=4, seed=7), g.draw([1], n=4, seed=7)
        other = g.draw([3, 1], n=4, seed=8)
    assert a.shape == (2, 4, 1, 8, 8)
    assert torch.allclose(a[1], b[0], atol=1e-6) and not torch.allclose(a, other, atol=1e-3)  # batch shapes round apart
    with pytest.raises(ValueError, match="0-9"):
        g.draw([10])


def test_the_loop_trains_it_and_scores_it_by_label(cgan_run):
    records = [json.loads(line) for line in (cgan_run / "log.jsonl").read_text().splitlines()]
    train_records = [r for r in records if r["kind"] == "train"]
    assert {"G_GAN", "D_real", "D_fake", "lr"} <= set(train_records[0]) and train_records[-1]["step"] == 10
    evals = [r for r in records if r["kind"] == "eval"]
    assert evals[0]["step"] == 0 and evals[-1]["step"] == 10
    for record in evals:
        assert 0 <= record["label_accuracy"] <= 1 and len(record["accuracy_by_label"]) == 10
        assert record["diversity"] >= 0
    grid = Image.open(cgan_run / "samples/latest.png")
    # a row per digit 0-9, a column for the real digit and one per noise; 16 px shown 8x, 4 px apart, under titles
    assert grid.size == (4 * (128 + 4) + 4, 14 + 10 * (128 + 4) + 4)
    assert (cgan_run / "loss.png").is_file()
    state = json.loads((cgan_run / "checkpoints/latest.json").read_text())
    assert state["networks"] == ["G", "D"] and "label_accuracy" in state["evals"][-1]


def test_cli_and_api_draw_chosen_labels(cgan_run, tmp_path):
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(main, ["sample", str(cgan_run), "--labels", "3,1,4", "--n", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (3 * (128 + 4) + 4, 14 + 3 * (128 + 4) + 4)  # label column + 2; 3 rows
    again = CliRunner().invoke(main, ["sample", str(cgan_run), "--labels", "3", "--out", str(out)])
    assert again.exit_code == 1 and "--overwrite" in again.output  # nothing overwritten unasked

    images = translate.sample(cgan_run, labels=[3, 1], n=2, seed=5)
    assert len(images) == 2 and all(len(row) == 2 for row in images)
    assert images[0][0].mode == "L" and images[0][0].size == (16, 16)
    same = translate.load_sampler(cgan_run).draw([3, 1], n=2, seed=5)
    assert torch.equal(same, translate.load_sampler(cgan_run).draw("3,1", n=2, seed=5))
    assert same.shape == (2, 2, 1, 16, 16)


@pytest.mark.parametrize("labels, message", [("3,12", "12 is not a digit"), ("a", "e.g. 3,1,4"), ("", "no label")])
def test_bad_labels_are_one_line(cgan_run, tmp_path, labels, message):
    result = CliRunner().invoke(main, ["sample", str(cgan_run), "--labels", labels, "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "g.png").exists()


def test_translating_commands_point_a_cgan_run_to_sample(cgan_run, tmp_path):
    Image.new("RGB", (16, 16)).save(tmp_path / "x.png")
    for args in (["predict", str(cgan_run), str(tmp_path / "x.png"), "--out", str(tmp_path / "o")],
                 ["eval", str(cgan_run)], ["export", str(cgan_run), "--out", str(tmp_path / "g.pt")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and "translate sample" in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() and not (tmp_path / "g.pt").exists()
    with pytest.raises(ConfigError, match="translate sample"):
        translate.load(cgan_run)
    result = CliRunner().invoke(main, ["benchmark", "--models", "cgan", "--out", str(tmp_path / "b")])
    assert result.exit_code == 1 and "draws images for labels" in result.output


def test_sample_refuses_a_translating_model():
    with pytest.raises(ConfigError, match="translates images .* translate predict scenes-coloring"):
        translate.load_sampler("scenes-coloring")  # a shipped pix2pix model


@pytest.mark.parametrize("model, style, assignments, message", [
    ("cgan", "coloring", [], "--style digits"),
    ("pix2pix", "digits", [], "--model cgan"),
    ("cgan", "digits", ["generator.name='unet'"], "drop --generator"),
])
def test_models_and_styles_that_do_not_fit_are_refused(tmp_path, model, style, assignments, message):
    config = resolve(model, style, overrides={"train": {"steps": 1, "out": str(tmp_path / "run"), "quiet": True}},
                     assignments=["data.n_train=2", "data.n_test=2", *assignments])
    with pytest.raises(ConfigError, match=message):
        train(config)


@pytest.mark.slow
def test_a_resumed_cgan_run_reaches_the_same_weights(tmp_path, tiny_judges):
    from translate.files import load_weights
    from translate.trainers.loop import TrainingInterrupted

    whole = train(tiny_config(tmp_path / "whole", 6))
    config = tiny_config(tmp_path / "split", 6)

    def stop_at_3(step: int, losses: dict, trainer: object) -> None:
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C: the loop saves a checkpoint at step 3 and stops

    with pytest.raises(TrainingInterrupted, match="step 3/6"):
        train(config, callback=stop_at_3)
    split = train(config, resume=tmp_path / "split")
    a, b = (load_weights(run / "checkpoints/latest.safetensors") for run in (whole, split))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
