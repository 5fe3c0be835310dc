"""Predict's levers: measured at the job's image size when there are enough images, then read from the cache."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from tests.conftest import noise_image
from tests.inference.test_translator import RESNET, invoke, make_run
from translate import levers
from translate.inference import probe
from translate.inference.translator import load
from translate.levers import Lever


def test_predict_measures_once_says_what_it_chose_and_later_loads_reuse_it(tmp_path: Path, monkeypatch,
                                                                          caplog) -> None:
    run = make_run(tmp_path / "run", RESNET)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        noise_image(i, (40, 24)).save(photos / f"{i}.png")
    monkeypatch.setattr(probe, "MIN_IMAGES", 3)
    chosen = Lever("fp32", channels_last=True)
    monkeypatch.setattr(levers, "choose", lambda trials: (chosen, "mocked 1.30x fp32"))  # timings here are noise
    with caplog.at_level(logging.INFO, logger="translate"):
        result = invoke("predict", run, photos, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    said = caplog.text + result.output  # the log goes to stderr, or to caplog once pytest has hooked logging
    assert "levers: fp32 + channels-last (measured" in said and "mocked" in said

    # the same network at the same size: the decision is read back, not measured again
    monkeypatch.setattr(levers, "measure", lambda *a, **k: (_ for _ in ()).throw(AssertionError("measured again")))
    translator = load(run)
    choice = translator.choose_levers((40, 24), n_images=100)
    assert choice.lever == chosen and "cached in" in choice.why
    assert translator.channels_last
    x = torch.rand(1, 3, 24, 40) * 2 - 1
    plain = load(run, precision="fp32", channels_last="off")
    assert (translator.translate_tensor(x) - plain.translate_tensor(x)).abs().max() < 1e-4


def test_outputs_are_compared_in_levels_of_255():
    a = torch.zeros(1, 3, 4, 4)
    assert probe.mean_level_difference(a, a + 2 / 127.5) == pytest.approx(2.0, rel=1e-5)
