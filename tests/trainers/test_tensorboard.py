"""TensorBoard, an extra: event files mirror log.jsonl's records and the sample grids; resumes continue them."""

from __future__ import annotations

import sys

import pytest

from translate.config import resolve
from translate.errors import ConfigError
from translate.trainers.loop import train
from translate.trainers.samples import read_log


def tiny_config(out, steps: int, **train_keys: object) -> dict:
    """pix2pix on 4 scenes at 32 px, batch 2 (2 steps an epoch), widths 4."""
    return resolve("pix2pix", "coloring", overrides={
        "data": {"crop_size": 32, "load_size": 32, "test_size": 0, "n_train": 4, "n_test": 2},
        "train": {"steps": steps, "out": str(out), "quiet": True, "batch_size": 2, "log_every": 1, **train_keys}},
        assignments=["generator.width=4", "discriminator.width=4"])


def events(run) -> object:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def steps_of(accumulator, tag: str) -> list[int]:
    return [event.step for event in accumulator.Scalars(tag)]


def test_events_hold_the_losses_rate_heldout_scores_and_grids(tmp_path):
    pytest.importorskip("tensorboard")
    run = train(tiny_config(tmp_path / "run", 3, tensorboard=True))
    board = events(run)
    tags = board.Tags()
    assert {"train/G_GAN", "train/G_L1", "train/D_real", "train/D_fake", "train/lr", "train/images_per_s",
            "heldout/heldout_l1"} <= set(tags["scalars"])
    assert steps_of(board, "train/G_GAN") == [1, 2, 3]
    logged = {r["step"]: r for r in read_log(run / "log.jsonl") if r["kind"] == "train"}
    assert [e.value for e in board.Scalars("train/G_L1")] == pytest.approx([logged[s]["G_L1"] for s in (1, 2, 3)])
    assert steps_of(board, "heldout/heldout_l1") == [0, 2, 3]  # untrained, after epoch 1, at the end
    assert tags["images"] == ["samples"] and [image.step for image in board.Images("samples")] == [0, 2, 3]


def test_a_resumed_run_continues_the_same_steps(tmp_path):
    pytest.importorskip("tensorboard")
    config = tiny_config(tmp_path / "run", 4, tensorboard=True)

    def crash_at_4(step: int, losses: dict, trainer: object) -> None:
        if step == 4:
            raise RuntimeError("killed")  # after step 3 was logged; the last checkpoint is step 2's (epoch 1)

    with pytest.raises(RuntimeError, match="killed"):
        train(config, callback=crash_at_4)
    assert steps_of(events(tmp_path / "run"), "train/G_GAN") == [1, 2, 3]
    run = train(config, resume=tmp_path / "run")
    board = events(run)
    assert steps_of(board, "train/G_GAN") == [1, 2, 3, 4]  # step 3 trained again, shown once: the first purged
    assert steps_of(board, "heldout/heldout_l1") == [0, 2, 4]
    logged = [r["G_L1"] for r in read_log(run / "log.jsonl") if r["kind"] == "train"]
    assert [e.value for e in board.Scalars("train/G_L1")] == pytest.approx(logged)


def test_turned_on_when_resumed_it_writes_the_earlier_records_first(tmp_path):
    pytest.importorskip("tensorboard")
    run = train(tiny_config(tmp_path / "run", 2))
    assert not (run / "tensorboard").exists()  # off by default
    train(tiny_config(tmp_path / "run", 4, tensorboard=True), resume=run)
    assert steps_of(events(run), "train/G_GAN") == [1, 2, 3, 4]


def test_without_the_package_it_is_one_line_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    with pytest.raises(ConfigError, match=r'pip install "translate-zoo\[tensorboard\]"'):
        train(tiny_config(tmp_path / "run", 1, tensorboard=True))
    assert not (tmp_path / "run").exists()


def test_the_flag_sets_the_key_and_a_resume_may_turn_it_on():
    from click.testing import CliRunner

    from translate.cli import main
    from translate.resume import for_resume

    result = CliRunner().invoke(main, ["train", "--model", "pix2pix", "--style", "coloring", "--tensorboard", "--dry-run"])
    assert result.exit_code == 0 and "tensorboard = true" in result.output
    assert resolve("pix2pix", "coloring")["train"]["tensorboard"] is False  # off by default
    assert for_resume(resolve("pix2pix", "coloring"), {"train": {"tensorboard": True}})["train"]["tensorboard"]
