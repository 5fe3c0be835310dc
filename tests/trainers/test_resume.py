"""Resuming a run: what it may change, exact continuation with data workers, and surviving SIGKILL."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from translate.files import load_weights

TINY_FLAGS = ["--model", "pix2pix", "--style", "coloring", "--size", "32", "--batch-size", "2",
              "--set", "generator.width=8", "--set", "discriminator.width=8", "--set", "data.n_train=6",
              "--set", "data.n_test=2", "--set", "train.log_every=1", "--set", "train.device=cpu"]


def cli(*args: str) -> object:
    from translate.cli import main

    return CliRunner().invoke(main, ["train", *args])


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_weights(run / "checkpoints" / "latest.safetensors")


def train_records(run: Path) -> list[dict]:
    return [r for r in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if r["kind"] == "train"]


def test_resume_with_more_steps_trains_on_and_matches_the_longer_run(tmp_path):
    whole = tmp_path / "whole"
    assert cli(*TINY_FLAGS, "--steps", "4", "--quiet", "--out", str(whole)).exit_code == 0
    run = tmp_path / "run"
    first = cli(*TINY_FLAGS, "--steps", "2", "--out", str(run))  # not quiet: the bar shows
    assert first.exit_code == 0, first.output
    result = cli("--resume", str(run), "--steps", "4", "-q")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"run directory: {run}"  # -q: nothing else, no progress bar
    assert json.loads((run / "checkpoints/latest.json").read_text())["step"] == 4
    # the schedule is a function of (step, run length): the resumed steps have the 4-step run's rates
    # (the second half of a linear decay here, not the zero where the 2-step plan ended) ...
    assert [(r["step"], r["lr"]) for r in train_records(run)] == [(r["step"], r["lr"]) for r in train_records(whole)]
    assert train_records(run)[-1]["lr"] > 0
    # ... and since both plans keep the full rate for the first two steps, the weights are the same bit for bit
    a, b = weights(whole), weights(run)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    record = tomllib.loads((run / "config.toml").read_text())
    assert record["train"]["steps"] == 4 and record["train"]["quiet"] is True
    assert record["resumes"] == [{"step": 2, "time": record["resumes"][0]["time"],
                                  "changed": ["train.quiet = True (was False)", "train.steps = 4 (was 2)"]}]


def test_resume_refuses_changes_to_the_networks_or_data_in_one_line_and_writes_nothing(tmp_path):
    run = tmp_path / "run"
    assert cli(*TINY_FLAGS, "--steps", "1", "--quiet", "--out", str(run)).exit_code == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    result = cli("--resume", str(run), "--steps", "3", "--size", "64", "--set", "generator.width=16")
    assert result.exit_code == 1
    line = result.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert all(k in line for k in ("data.crop_size", "data.load_size", "generator.width"))
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    fewer = cli("--resume", str(run), "--steps", "3", "-q")
    assert fewer.exit_code == 0
    back = cli("--resume", str(run), "--steps", "2", "-q")
    assert back.exit_code == 1 and "at step 3, past the 2 steps" in back.output and "\n" not in back.output.strip()


def tiny_config(out: Path, steps: int, *assignments: str) -> dict:
    """CycleGAN on the unpaired shinkai scenes (so partners are drawn as well as crops and flips): 6 scenes,
    batch 2 (3 steps an epoch), 32 px, widths 4, one residual block."""
    from translate.config import resolve

    return resolve(
        "cyclegan", "shinkai",
        overrides={"data": {"crop_size": 32, "load_size": 40, "n_train": 6, "n_test": 2},
                   "train": {"steps": steps, "out": str(out), "quiet": True, "batch_size": 2, "device": "cpu",
                             "log_every": 1, "n_samples": 1}},
        assignments=["generator.width=4", "discriminator.width=4", "generator.n_blocks=1", *assignments],
    )


def interrupt_at(step: int):
    import os
    import signal

    def callback(now: int, losses: dict, trainer: object) -> None:
        if now == step:
            os.kill(os.getpid(), signal.SIGINT)

    return callback


@pytest.mark.slow
def test_resume_is_exact_with_data_workers(tmp_path):
    from translate.trainers.loop import TrainingInterrupted, train

    workers = ("data.workers=2",)
    whole = train(tiny_config(tmp_path / "whole", 9, *workers))
    config = tiny_config(tmp_path / "split", 9, *workers)
    with pytest.raises(TrainingInterrupted, match="step 3/9"):
        train(config, callback=interrupt_at(3))
    split = train(config, resume=tmp_path / "split")
    a, b = weights(whole), weights(split)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), max((a[k] - b[k]).abs().max().item() for k in a)
    # and the items do not depend on the number of workers either
    serial = weights(train(tiny_config(tmp_path / "serial", 9)))
    assert all(torch.equal(a[k], serial[k]) for k in a)


# ------------------------------------------------------------------------------------ killed at any moment

def killed_run(config: dict, kill_at_weights: int) -> None:
    """Train in a forked child; with `kill_at_weights` N it SIGKILLs itself just after its Nth checkpoint's
    weights file is put in place, before the rest of that checkpoint; otherwise the test kills it."""
    import os
    import signal
    from pathlib import Path

    from translate.trainers.loop import train

    if kill_at_weights:
        real, placed = os.replace, []

        def replace(src, dst):
            real(src, dst)
            if Path(dst).name == "latest.safetensors":
                placed.append(dst)
                if len(placed) == kill_at_weights:
                    os.kill(os.getpid(), signal.SIGKILL)

        os.replace = replace  # in the child only
    train(config)


def pix2pix_config(out: Path) -> dict:
    from translate.config import resolve

    return resolve(
        "pix2pix", "coloring",
        overrides={"data": {"crop_size": 32, "load_size": 36, "n_train": 6, "n_test": 2},
                   "train": {"steps": 6, "out": str(out), "quiet": True, "batch_size": 2, "device": "cpu",
                             "log_every": 1, "checkpoint_every": 1, "n_samples": 1, "threads": 1}},
        assignments=["generator.width=4", "discriminator.width=4"],
    )


@pytest.mark.slow
def test_a_run_killed_at_any_moment_resumes_to_the_uninterrupted_weights(tmp_path):
    import multiprocessing
    import time

    from translate.trainers import checkpoint
    from translate.trainers.loop import train

    whole = weights(train(pix2pix_config(tmp_path / "whole")))

    def config_written(run: Path) -> bool:
        return (run / "config.toml").is_file()

    def a_checkpoint_file(run: Path) -> bool:  # the first checkpoint is being written
        return any((run / "checkpoints").glob("*")) if (run / "checkpoints").is_dir() else False

    def log_lines(run: Path) -> bool:  # mid-run, between checkpoints or within one
        return (run / "log.jsonl").is_file() and (run / "log.jsonl").read_text().count("\n") >= 4

    # (moment to kill at, or None: the run kills itself once its 2nd checkpoint's weights are in place)
    moments = {"start-up": config_written, "first-checkpoint": a_checkpoint_file, "mid-run": log_lines,
               "mid-checkpoint": None}
    # forked children: real processes, killed for real, without paying for another torch import
    fork = multiprocessing.get_context("fork")
    procs = {name: fork.Process(target=killed_run, args=(pix2pix_config(tmp_path / name), 0 if when else 2))
             for name, when in moments.items()}
    for proc in procs.values():
        proc.start()
    deadline = time.monotonic() + 120
    while any(p.is_alive() for p in procs.values()) and time.monotonic() < deadline:
        for name, when in moments.items():
            if when is not None and procs[name].is_alive() and when(tmp_path / name):
                procs[name].kill()  # SIGKILL
        time.sleep(0.002)
    for name, proc in procs.items():
        proc.kill()
        proc.join()
        assert proc.exitcode == -9, (name, proc.exitcode)  # killed, not finished

    for name in moments:
        run = tmp_path / name
        if checkpoint.exists(run):
            checkpoint.load(run)  # what the kill left loads
        resumed = weights(train(pix2pix_config(run), resume=run))
        assert all(torch.equal(whole[k], resumed[k]) for k in whole), name
        steps = [r["step"] for r in train_records(run)]
        assert steps == list(range(1, 7)), (name, steps)  # no step logged twice
