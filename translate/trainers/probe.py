"""A few training steps of a run's own trainer under each lever, for translate.levers to choose from.

The probe runs the trainer the run will train, on the run's first batch, from its initial state: every lever
starts from the same weights, optimiser state and random stream, and all of it is put back afterwards, so a
measured run trains exactly as an unmeasured one would from there.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.utils.data import Dataset, default_collate

from translate import levers
from translate.levers import Choice, Lever
from translate.trainers.base import Trainer, batch_to_device
from translate.trainers.rng import rng_state, set_rng_state

MIN_STEPS = 200  # a shorter run gains less from a faster lever than the measurement costs (about 16 steps)
TOLERANCE = 0.10  # largest relative gap of any loss after four steps from the same start; a broken lever is far off
# Each network's first gradients must point where fp32's do: bf16 and channels-last (whose dropout masks differ)
# gave cosines of 0.907 and up; torch's channels-last instance norm, whose gradients were wrong, 0.26-0.53.
MIN_COSINE = 0.75
GRADIENT_SAMPLE = 1 << 20  # gradient entries kept per network for the cosine (evenly strided)


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
            last_loss_gap, TOLERANCE, measure_now=remeasure or steps_left >= MIN_STEPS, remeasure=remeasure,
            check=first_step_problem, nudged=probe.nudged,
        )
    finally:
        probe.finish()


def first_batch(dataset: Dataset[Any], batch_size: int) -> dict[str, Any]:
    return default_collate([dataset[i % len(dataset)] for i in range(batch_size)])  # type: ignore[arg-type]


@dataclass
class Steps:
    """What a probe's steps did so far: the losses of the last step, and the first step's losses and gradients
    (a strided sample of each network's, in float64)."""

    losses: dict[str, float]
    first_losses: dict[str, float]
    first_gradients: dict[str, torch.Tensor]


class TrainingProbe:
    """`probe(lever)`: the trainer put back to its state before the first probe and set to the lever; returns one
    step to time, which returns the `Steps` taken since. `nudged()`: the same in fp32 from the state with every
    weight nudged by `levers.NUDGE`. `finish()` puts the trainer back for good (fp32, contiguous, that state and
    random streams).

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
        taken: Steps | None = None

        def step() -> Steps:
            nonlocal taken
            torch.manual_seed(0)  # the same dropout masks for every lever
            losses = trainer.step(prepared)
            trainer.end_step()
            values = {k: float(v) for k, v in losses.items()}
            if taken is None:
                taken = Steps(values, values, gradient_sample(trainer))
            taken.losses = values
            return taken

        return step

    def nudged(self) -> Callable[[], Steps]:
        step = self(levers.FP32)
        generator = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for net in self.trainer.networks.values():
                for p in net.parameters():
                    if p.is_floating_point():
                        noise = torch.randn(p.shape, generator=generator).to(p.device, p.dtype)
                        p.mul_(1 + levers.NUDGE * noise)
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


def gradient_sample(trainer: Trainer) -> dict[str, torch.Tensor]:
    """Each network's gradients as they are after a step (its last update's), evenly strided down to about
    GRADIENT_SAMPLE entries; networks without any are left out."""
    sample = {}
    for name, net in trainer.networks.items():
        grads = [p.grad.detach() for p in net.parameters() if p.grad is not None]
        total = sum(g.numel() for g in grads)
        if total:  # each parameter strided alike: the same entries for every lever, without copying them all
            stride = max(1, total // GRADIENT_SAMPLE)
            sample[name] = torch.cat([g.flatten()[::stride] for g in grads]).double().cpu()
    return sample


def first_step_problem(base: Steps, other: Steps) -> str:
    """Why a lever's first step from the same state cannot be right ("" if it can): its losses off by more than
    TOLERANCE, or a network's gradients pointing elsewhere than the baseline's (cosine under MIN_COSINE).
    Non-finite gradients are left to the losses (an fp16 scaler skips such steps by design)."""
    gap = loss_gap(base.first_losses, other.first_losses)
    if gap > TOLERANCE:
        return f"first step's losses differ from the baseline's ({gap:.3g} > {TOLERANCE})"
    for name, a in base.first_gradients.items():
        b = other.first_gradients.get(name)
        if b is None or not (torch.isfinite(a).all() and torch.isfinite(b).all()):
            continue
        cosine = float(a @ b / (a.norm() * b.norm()).clamp_min(1e-300))
        if cosine < MIN_COSINE:
            return f"first gradients of {name} point elsewhere than the baseline's (cosine {cosine:.2f} < {MIN_COSINE})"
    return ""


def last_loss_gap(base: Steps, other: Steps) -> float:
    """loss_gap of the last steps' losses."""
    return loss_gap(base.losses, other.losses)


def loss_gap(base: dict[str, float], other: dict[str, float]) -> float:
    """The largest relative difference of any loss (from 0.05 up, small losses count absolutely); inf if not finite."""
    gaps = [abs(other[k] - v) / max(abs(v), 0.05) for k, v in base.items() if k in other]
    return max((g if math.isfinite(g) else math.inf for g in gaps), default=math.inf)
