"""The loop: run directory, exact resume, Ctrl-C, non-finite losses, two-process DDP, the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from translate.config import resolve
from translate.errors import ConfigError, TrainingError
from translate.files import load_weights
from translate.trainers import checkpoint
from translate.trainers.loop import TrainingInterrupted, train

TINY = {"crop_size": 32, "load_size": 36, "n_train": 6, "n_test": 2}


def tiny_config(model: str, style: str, out: Path, steps: int = 8, *assignments: str, **train_keys: object) -> dict:
    """6 scenes, batch 2 (3 steps an epoch), 32 px, widths 8."""
    extra = [] if model == "pix2pix" else ["generator.n_blocks=1"]
    return resolve(
        model,
        style,
        overrides={"data": TINY, "train": {"steps": steps, "out": str(out), "quiet": True, "batch_size": 2,
                                          "log_every": 1, **train_keys}},
        assignments=["generator.width=8", "discriminator.width=8", *extra, *assignments],
    )


def weights(run: Path, tag: str = "latest") -> dict[str, torch.Tensor]:
    return load_weights(run / "checkpoints" / f"{tag}.safetensors")


def interrupt_at(step: int):
    def callback(now: int, losses: dict, trainer: object) -> None:
        if now == step:
            os.kill(os.getpid(), signal.SIGINT)

    return callback


def test_run_directory_holds_everything_a_person_looks_at(tmp_path):
    run = train(tiny_config("pix2pix", "coloring", tmp_path / "run", steps=6, keep_every=3))
    names = {p.relative_to(run).as_posix() for p in run.rglob("*")}
    assert {"config.toml", "log.jsonl", "loss.png", "samples/epoch_000.png", "samples/epoch_001.png",
            "samples/epoch_002.png", "checkpoints/latest.safetensors", "checkpoints/latest.json",
            "checkpoints/latest.state.safetensors", "checkpoints/step_0000003.safetensors"} <= names
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    train_records = [r for r in records if r["kind"] == "train"]
    assert [r["step"] for r in train_records] == [1, 2, 3, 4, 5, 6]
    assert {"G_GAN", "G_L1", "D_real", "D_fake", "lr", "images_per_s", "epoch"} <= set(train_records[0])
    evals = [r for r in records if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [0, 3, 6] and all(0 < r["heldout_l1"] < 1 for r in evals)
    from translate.config import from_run
    from translate.rundir import read_config

    assert from_run(read_config(run))["generator"]["width"] == 8  # config.toml reproduces the run
    state = json.loads((run / "checkpoints/latest.json").read_text())
    assert state["step"] == 6 and state["networks"] == ["G", "D"]


@pytest.mark.slow
@pytest.mark.parametrize("model, style", [("pix2pix", "coloring"), ("cyclegan", "shinkai"), ("cartoongan", "shinkai")])
def test_resume_reaches_the_same_weights_exactly(tmp_path, model, style):
    # pool of 2 so the pool's random swaps happen; interrupted mid-epoch (3 steps an epoch)
    extra = ("trainer.pool_size=2",) if model == "cyclegan" else ()
    whole = train(tiny_config(model, style, tmp_path / "whole", 8, *extra))
    config = tiny_config(model, style, tmp_path / "split", 8, *extra)
    with pytest.raises(TrainingInterrupted, match="step 4/8"):
        train(config, callback=interrupt_at(4))
    assert json.loads((tmp_path / "split/checkpoints/latest.json").read_text())["step"] == 4
    split = train(config, resume=tmp_path / "split")
    a, b = weights(whole), weights(split)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:3]
    log_steps = [json.loads(line)["step"] for line in (split / "log.jsonl").read_text().splitlines()
                 if '"train"' in line]
    assert log_steps == list(range(1, 9))  # no step logged twice


def test_sigint_saves_a_loadable_checkpoint(tmp_path):
    config = tiny_config("cyclegan", "shinkai", tmp_path / "run", 20, checkpoint_every=100)
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN where the suite runs in the background
    with pytest.raises(TrainingInterrupted) as e:
        train(config, callback=interrupt_at(2))
    assert e.value.exit_code == 130 and "--resume" in str(e.value)
    state, record = checkpoint.load(tmp_path / "run")
    assert record["step"] == 2 and set(state["networks"]) == {"G_A", "G_B", "D_A", "D_B"}
    assert signal.getsignal(signal.SIGINT) is before  # handler put back


def test_a_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    config = tiny_config("pix2pix", "coloring", tmp_path / "run", 8, checkpoint_every=1)
    from translate.trainers.pix2pix import Pix2PixTrainer

    real_step = Pix2PixTrainer.step

    def step(self, batch):
        losses = real_step(self, batch)
        return {**losses, "G_L1": float("nan")} if self.step_count == 3 else losses

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Pix2PixTrainer, "step", step)
        with pytest.raises(TrainingError, match=r"non-finite loss at step 4: G_L1=nan; the last good checkpoint \(step 3\)"):
            train(config)
    state, record = checkpoint.load(tmp_path / "run")
    assert record["step"] == 3
    assert all(torch.isfinite(v).all() for net in state["networks"].values() for v in net.values() if v.is_floating_point())


@pytest.mark.parametrize("lr", [1e30, 1e8], ids=["loss-goes-nan", "weights-go-nan"])
def test_an_exploding_learning_rate_never_overwrites_good_weights(tmp_path, lr):
    # three good steps, each checkpointed, then the rate explodes: 1e30 makes the next loss NaN at once,
    # 1e8 first drives weights to non-finite values while the losses still look finite
    config = tiny_config("pix2pix", "coloring", tmp_path / "run", 8, checkpoint_every=1)
    seen: dict[int, dict[str, torch.Tensor]] = {}

    def explode_after_three(step: int, losses: dict, trainer: object) -> None:
        seen[step] = {f"{n}.{k}": v.clone() for n, net in trainer.networks.items() for k, v in net.state_dict().items()}
        if step == 3:
            for opt in trainer.optimizers.values():
                for group in opt.param_groups:
                    group["initial_lr"] = lr

    with pytest.raises(TrainingError, match=r"non-finite .* at step \d+.*the last good checkpoint") as e:
        train(config, callback=explode_after_three)
    failed_at = int(re.search(r"at step (\d+)", str(e.value)).group(1))
    state, record = checkpoint.load(tmp_path / "run")
    assert 4 <= failed_at <= 8 and record["step"] == failed_at - 1  # every good step kept, the bad one not saved
    saved = weights(tmp_path / "run")
    assert saved.keys() == seen[record["step"]].keys()
    assert all(torch.equal(saved[k], v) for k, v in seen[record["step"]].items())
    assert all(torch.isfinite(v).all() for net in state["networks"].values() for v in net.values()
               if v.is_floating_point())


def test_a_used_run_directory_is_not_overwritten(tmp_path):
    train(tiny_config("pix2pix", "coloring", tmp_path / "run", 1))
    with pytest.raises(ConfigError, match="--resume"):
        train(tiny_config("pix2pix", "coloring", tmp_path / "run", 1))


def test_cli_trains_and_resumes(tmp_path):
    from translate.cli import main

    out = tmp_path / "run"
    args = ["train", "--model", "pix2pix", "--style", "coloring", "--steps", "2", "--size", "32", "--quiet",
            "--set", "generator.width=8", "--set", "discriminator.width=8", "--set", "data.n_train=2",
            "--set", "data.n_test=2", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (out / "samples/latest.png").is_file() and (out / "checkpoints/latest.safetensors").is_file()
    result = CliRunner().invoke(main, ["train", "--resume", str(out), "--quiet"])
    assert result.exit_code == 0, result.output  # already at its last step: nothing left to do


@pytest.mark.parametrize("model, style", [("cyclegan", "shinkai"), ("cartoongan", "shinkai"), ("pix2pix", "sketch2photo")])
def test_cli_swaps_in_any_generator_and_discriminator(tmp_path, model, style):
    from translate.cli import main

    args = ["train", "--model", model, "--style", style, "--generator", "unet", "--discriminator", "patch",
            "--set", "discriminator.n_layers=1", "--set", "generator.width=8", "--set", "discriminator.width=8",
            "--steps", "1", "--size", "32", "--set", "data.n_train=2", "--set", "data.n_test=2", "--quiet",
            "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run/checkpoints/latest.safetensors").is_file()


# ------------------------------------------------------------------------------------ two processes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, config: dict, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    seen = {}

    def keep(step: int, losses: dict, trainer: object) -> None:
        seen["trainer"] = trainer

    train(config, callback=keep)
    from translate.files import save_weights

    tensors = {f"{n}.{k}": v for n, net in seen["trainer"].networks.items() for k, v in net.state_dict().items()}
    save_weights(Path(out) / f"rank{rank}.safetensors", tensors)


@pytest.mark.slow
def test_two_processes_with_gloo_end_identical(tmp_path):
    import torch.multiprocessing as mp

    config = tiny_config("pix2pix", "coloring", tmp_path / "run", 4, device="cpu")
    mp.spawn(_ddp_worker, args=(2, _free_port(), config, str(tmp_path)), nprocs=2, join=True)
    rank0, rank1 = load_weights(tmp_path / "rank0.safetensors"), load_weights(tmp_path / "rank1.safetensors")
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    saved = weights(tmp_path / "run")
    assert all(torch.equal(saved[k], rank0[k]) for k in saved)
    # rank 0 alone wrote the run; 6 images over 2 ranks at batch 2: 2 steps an epoch
    records = [json.loads(line) for line in (tmp_path / "run/log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2, 3, 4]
