"""The training probe: a measured run trains exactly as an unmeasured one, and says what it chose."""

from __future__ import annotations

import pytest
import torch

from tests.trainers.test_loop import tiny_config, weights
from translate import levers
from translate.levers import FP32, Lever
from translate.rundir import CONFIG_FILE
from translate.trainers import probe
from translate.trainers.loop import train


def test_measuring_the_levers_leaves_the_run_exactly_as_it_would_have_been(tmp_path, monkeypatch):
    measured = []
    real_measure = levers.measure

    def measure(*args, **kwargs):
        trials = real_measure(*args, **kwargs)
        measured.append(trials)
        return trials

    monkeypatch.setattr(probe, "MIN_STEPS", 1)
    monkeypatch.setattr(levers, "measure", measure)
    monkeypatch.setattr(levers, "choose", lambda trials: (FP32, "mocked"))  # timings on a shared CPU are noise
    plain = train(tiny_config("cyclegan", "shinkai", tmp_path / "plain", 4, precision="fp32", channels_last="off"))
    assert not measured
    probed = train(tiny_config("cyclegan", "shinkai", tmp_path / "probed", 4))
    (trials,) = measured
    assert [t.lever.name for t in trials][:2] == ["fp32", "fp32 + channels-last"]
    a, b = weights(plain), weights(probed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    config = (probed / CONFIG_FILE).read_text()
    assert "# levers: fp32 (measured" in config and "mocked" in config


def test_a_short_run_is_not_measured_and_says_so(tmp_path):
    run = train(tiny_config("pix2pix", "coloring", tmp_path / "run", 2))
    assert "# levers: fp32 (not measured yet on this machine" in (run / CONFIG_FILE).read_text()


def test_adam_is_fused_on_the_cpu_and_stays_so_after_a_resume(tmp_path):
    from translate.trainers.base import build_trainer

    config = tiny_config("pix2pix", "coloring", tmp_path / "run", 2)
    trainer = build_trainer(config, torch.device("cpu"))
    assert all(g["fused"] for opt in trainer.optimizers.values() for g in opt.param_groups)
    state = trainer.state_dict()
    for opt in state["optimizers"].values():  # a checkpoint written before Adam was fused
        for group in opt["param_groups"]:
            group["fused"] = None
    trainer.load_state_dict(state)
    assert all(g["fused"] for opt in trainer.optimizers.values() for g in opt.param_groups)


@pytest.mark.parametrize("base, other, gap", [({"a": 1.0}, {"a": 1.05}, 0.05), ({"a": 0.0}, {"a": 0.01}, 0.2),
                                              ({"a": 1.0}, {"a": float("nan")}, float("inf"))])
def test_loss_gap_is_relative_and_small_losses_count_absolutely(base, other, gap):
    assert probe.loss_gap(base, other) == pytest.approx(gap)


def test_a_run_whose_levers_are_set_reads_no_batch_and_keeps_no_copy_of_its_state(tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "first_batch", lambda *a: pytest.fail("a batch was read for a lever that is set"))
    monkeypatch.setattr(probe, "rng_state", lambda: pytest.fail("the trainer's state was taken to be put back"))
    train(tiny_config("pix2pix", "coloring", tmp_path / "run", 1, precision="fp32", channels_last="off"))


def tiny_probe(tmp_path):
    from translate.data.datasets import build_split
    from translate.trainers.base import build_trainer

    config = tiny_config("cyclegan", "shinkai", tmp_path / "run", 4, batch_size=1)
    trainer = build_trainer(config, torch.device("cpu"))
    return probe.TrainingProbe(trainer, build_split(config["data"], "train"), 1)


def four_steps(training_probe, lever):
    step = training_probe(lever)
    for _ in range(3):
        step()
    return step()


def test_rounding_passes_the_first_step_check_and_a_wrong_backward_does_not(tmp_path, monkeypatch):
    from translate.models import layers

    training_probe = tiny_probe(tmp_path)
    base = four_steps(training_probe, FP32)
    for lever in (Lever("fp32", True), Lever("bf16"), Lever("bf16", True)):
        assert probe.first_step_problem(base, four_steps(training_probe, lever)) == ""
    normalise = layers.InstanceNorm.forward

    def wrong_backward(self, x):  # the same values, but a gradient that ignores the normalisation
        return x + (normalise(self, x) - x).detach()

    monkeypatch.setattr(layers.InstanceNorm, "forward", wrong_backward)
    broken = four_steps(training_probe, Lever("fp32", True))
    assert probe.loss_gap(base.first_losses, broken.first_losses) < 1e-4  # its forward is right...
    assert probe.first_step_problem(base, broken).startswith("first gradients of G_A point elsewhere")
    training_probe.finish()


def test_the_nudged_start_drifts_and_is_undone(tmp_path):
    training_probe = tiny_probe(tmp_path)
    before = {k: v.clone() for k, v in training_probe.trainer.networks["G_A"].state_dict().items()}
    base = four_steps(training_probe, FP32)
    step = training_probe.nudged()
    for _ in range(3):
        step()
    assert probe.last_loss_gap(base, step()) > 0
    training_probe.finish()
    after = training_probe.trainer.networks["G_A"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
