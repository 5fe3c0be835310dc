"""Learning-rate schedules as a factor of the initial rate, computed from the step (no state to save).

The [schedule] table speaks in epochs, as the reference does: `linear` keeps the rate for `n_epochs`, then
decays it linearly over `n_epochs_decay`; `step` multiplies it by `gamma` every `step_size` epochs; `cosine`
anneals it to zero over the run; `constant` keeps it. A run whose length is not the schedule's own
(n_epochs + n_epochs_decay) gets the schedule stretched or squeezed to fit, so its rate still reaches the
end of the decay at the end of the run.

The factor is a function of the step and the run's length alone. A run resumed with more steps or epochs
(`translate train --resume RUN --steps N`) therefore follows, from the step it resumed at, exactly the rates
an uninterrupted run of the new length has at those steps: the decay is re-planned over the new total, as
the reference does when `--continue_train --epoch_count` is given a longer `--n_epochs_decay`. Continuing
the original plan instead would leave linear and cosine at zero after their old end, so the extra steps would
train nothing. Where both plans agree up to the resume step (a constant phase, `step`, `constant`), the
extended run equals one asked for at the new length from the start, bit for bit; otherwise the rate jumps
to the new plan's value at the resume step (upwards, when the run is lengthened during its decay).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Schedule:
    """The learning-rate factor at each step of a run of `total_steps` steps of `steps_per_epoch`.

    `per_epoch`: the rate changes only at epoch boundaries, exactly as the reference's LambdaLR stepped
    once per epoch (epoch-based runs of the schedule's own length); otherwise it changes every step.
    """

    name: str
    n_epochs: int
    n_epochs_decay: int
    step_size: int
    gamma: float
    total_steps: int
    steps_per_epoch: int
    per_epoch: bool

    @classmethod
    def from_config(cls, table: dict[str, Any], total_steps: int, steps_per_epoch: int, per_epoch: bool) -> Schedule:
        """The schedule of a config's [schedule] table for a run of this length."""
        return cls(
            name=table["name"],
            n_epochs=int(table["n_epochs"]),
            n_epochs_decay=int(table["n_epochs_decay"]),
            step_size=int(table["step_size"]),
            gamma=float(table["gamma"]),
            total_steps=max(1, total_steps),
            steps_per_epoch=max(1, steps_per_epoch),
            per_epoch=per_epoch,
        )

    @property
    def span(self) -> int:
        """The schedule's own length in epochs."""
        return max(1, self.n_epochs + self.n_epochs_decay)

    @property
    def stretched(self) -> bool:
        """Whether the run's length differs from the schedule's own span, which it is then stretched to."""
        return self.name in ("linear", "cosine") and abs(self.total_steps / self.steps_per_epoch - self.span) > 1e-9

    @property
    def stepped(self) -> bool:
        """Whether the rate changes only at epoch boundaries: `per_epoch` runs whose length is the schedule's.

        A stretched schedule changes every step: stepping a 200-epoch decay in the 8 jumps of an 8-epoch run
        would leave its last epoch at a quarter of the rate, never near the zero the decay is meant to reach.
        """
        return self.per_epoch and not self.stretched

    def epoch_at(self, step: int) -> float:
        """Epochs of the schedule elapsed before `step` (0-based), stretched to the run's length."""
        epoch = step / self.steps_per_epoch
        if self.stepped:
            epoch = math.floor(epoch)
        if self.stretched:
            epoch *= self.span / (self.total_steps / self.steps_per_epoch)
        return epoch

    def factor(self, step: int) -> float:
        """The learning rate at `step` as a fraction of the initial rate."""
        if self.name == "constant":
            return 1.0
        t = self.epoch_at(step)
        if self.name == "linear":
            if self.stepped:
                # the reference: 1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1), epoch from 0
                return 1.0 - max(0.0, t + 1 - self.n_epochs) / float(self.n_epochs_decay + 1)
            return max(0.0, 1.0 - max(0.0, t - self.n_epochs) / max(1, self.n_epochs_decay))
        if self.name == "step":
            return self.gamma ** math.floor(t / max(1, self.step_size))
        if self.name == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(t, self.span) / self.span))
        raise ValueError(f"unknown schedule '{self.name}'")


def set_lr(optimizers: dict[str, Any], factor: float) -> float:
    """Set every parameter group's rate to its initial rate times `factor`; returns the first group's rate."""
    lr = 0.0
    for i, opt in enumerate(optimizers.values()):
        for j, group in enumerate(opt.param_groups):
            group.setdefault("initial_lr", group["lr"])
            group["lr"] = group["initial_lr"] * factor
            if i == 0 and j == 0:
                lr = group["lr"]
    return lr
