"""A few training steps of a run's own trainer under each lever, for translate.levers to choose from.

The probe runs the trainer the run will train, on the run's first batch, from its initial state: every lever
starts from the same weights, optimiser state and random stream, and all of it is put back afterwards, so a
measured run trains exactly as an unmeasured one would from there.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

import torch
from torch.utils.data import Dataset, default_collate

from translate import levers
from translate.levers import Choice, Lever
from translate.trainers.base import Trainer, batch_to_device
from translate.trainers.rng import rng_state, set_rng_state

MIN_STEPS = 200  # a shorter run gains less from a faster lever than the measurement costs (about 16 steps)
TOLERANCE = 0.10  # largest relative gap of any loss after four steps from the same start; a broken lever is far off


def job_name(config: dict[str, Any], batch_size: int) -> str:
    """What a training decision is cached under: the trainer, its parts and their sizes, the crop and batch."""
    parts = {k: config.get(k, {}) for k in ("generator", "discriminator", "loss")}
    return (f"train {config['trainer']['name']} {levers.compact(parts)} "
            f"{config['data']['crop_size']}px {config['data']['in_channels']}->{config['data']['out_channels']} "
            f"batch {batch_size}")


def choose_for_training(config: dict[str, Any], trainer: Trainer, train_set: Dataset[Any], batch_size: int,
                        steps_left: int, remeasure: bool = False) -> Choice:
    """The lever `translate train` runs with: train.precision and train.channels_last as set, else measured
    (when the run is long enough to pay for it, or `remeasure`) or read from the cache."""
    train_cfg = config["train"]
    probe = TrainingProbe(trainer, train_set, batch_size)
    try:
        return levers.resolve(
            trainer.device, train_cfg["precision"], train_cfg["channels_last"], job_name(config, batch_size), probe,
            loss_gap, TOLERANCE, measure_now=remeasure or steps_left >= MIN_STEPS, remeasure=remeasure,
        )
    finally:
        probe.finish()


def first_batch(dataset: Dataset[Any], batch_size: int) -> dict[str, Any]:
    return default_collate([dataset[i % len(dataset)] for i in range(batch_size)])  # type: ignore[arg-type]


class TrainingProbe:
    """`probe(lever)`: the trainer put back to its state before the first probe and set to the lever; returns one
    step to time. `finish()` puts the trainer back for good (fp32, contiguous, that state and random streams).

    Nothing is copied or loaded until the first probe: a run whose lever is set or cached pays nothing for it.
    """

    def __init__(self, trainer: Trainer, dataset: Dataset[Any], batch_size: int) -> None:
        self.trainer, self.dataset, self.batch_size = trainer, dataset, batch_size
        self.start: tuple[dict[str, Any], tuple[int, int, int], dict[str, Any]] | None = None
        self.batch: dict[str, Any] = {}

    def __call__(self, lever: Lever) -> Callable[[], dict[str, float]]:
        trainer = self.trainer
        if self.start is None:
            progress = (trainer.step_count, trainer.total_steps, trainer.steps_per_epoch)
            self.start = (copy.deepcopy(trainer.state_dict()), progress, rng_state())
            self.batch = first_batch(self.dataset, self.batch_size)
        self.finish()
        lever.apply()
        trainer.use_precision(lever.dtype)
        trainer.use_channels_last(lever.channels_last)
        # past CartoonGAN's initialisation phase: the lever is for the steps that make most of a run
        step_count, total, per_epoch = self.start[1]
        trainer.set_progress(max(step_count, total // 2), total, per_epoch)
        prepared = batch_to_device(trainer.prepare(dict(self.batch)), trainer.device, lever.channels_last)

        def step() -> dict[str, float]:
            torch.manual_seed(0)  # the same dropout masks for every lever
            losses = trainer.step(prepared)
            trainer.end_step()
            return {k: float(v) for k, v in losses.items()}

        return step

    def finish(self) -> None:
        if self.start is None:
            return
        state, progress, rng = self.start
        self.trainer.use_precision(None)
        self.trainer.use_channels_last(False)
        self.trainer.load_state_dict(copy.deepcopy(state))
        self.trainer.set_progress(*progress)
        set_rng_state(rng)


def loss_gap(base: dict[str, float], other: dict[str, float]) -> float:
    """The largest relative difference of any loss (from 0.05 up, small losses count absolutely); inf if not finite."""
    gaps = [abs(other[k] - v) / max(abs(v), 0.05) for k, v in base.items() if k in other]
    return max((g if math.isfinite(g) else math.inf for g in gaps), default=math.inf)
