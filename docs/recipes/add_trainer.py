"""Recipe: add a trainer (compare the reference's models/template_model.py: set_input, forward, optimize_parameters).

A trainer owns its networks, optimisers and losses and takes one step; the loop (translate/trainers/loop.py)
owns everything else: data, steps, learning-rate schedule, precision, logs, samples, checkpoints, resume.

1. Subclass `translate.trainers.base.Trainer`. Its constructor is called by the loop as
   `Trainer(config=..., device=..., **tunables)`, the tunables being the [trainer] table's other keys: give
   each a default (`--set trainer.loss=l2` reaches `loss`).
2. In `__init__`, build the parts from the config with the base class's helpers (`build_generator`,
   `build_discriminator`, `build_gan_loss`, `adam`) and name them: `self.networks` (the names in checkpoints;
   name the A -> B generator "G" so that predict, eval and export find it) and `self.optimizers` (the loop
   sets their learning rate each step).
3. Implement `step(batch) -> {loss name: float}`: a batch holds "A" and "B" image tensors in [-1, 1], already
   on the device. Run forwards under `self.autocast()`, and use `self.call(name, x)`, `self.backward(loss)`
   and `self.update(name)` rather than calling the network, `loss.backward()` and `optimizer.step()`
   yourself: then mixed precision and DistributedDataParallel work without a line of your own.
4. Implement `translate(source)` (A -> B, for the held-out L1 logged after every epoch) and `sample(batch)`
   (named image columns for samples/*.png), both inside `with self.inference():`.
5. State beyond networks and optimisers (an image pool, say) goes through `extra_state` / `load_extra_state`,
   so that `--resume` continues exactly; this trainer has none.
6. Register it: `@TRAINERS.register("regression", "one line")`. Use it with `trainer.name = "regression"`
   (`--set trainer.name=regression` over any model preset), or give it its own `--model` with a file
   configs/models/regression.toml holding `[trainer] name = "regression"` and its parts.

Below: pix2pix's "L1 only" ablation, a generator fitted to paired targets with no discriminator. `main` trains
it for a few steps at 32 px on the `coloring` style, as
`translate train --model pix2pix --style coloring --set trainer.name=regression` would, then resumes it for
two more steps and loads the result for prediction:

    python docs/recipes/add_trainer.py [RUN_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

import translate
from translate.config import resolve
from translate.errors import ConfigError
from translate.registry import TRAINERS
from translate.trainers.base import Trainer
from translate.trainers.loop import train


@TRAINERS.register("regression", "paired: G alone, fitted to the target by L1 or L2 (pix2pix's 'L1 only'; a recipe)")
class RegressionTrainer(Trainer):
    """G maps A to B and is fitted to the paired target by a pixel loss alone: no discriminator, no GAN."""

    def __init__(self, config: dict[str, Any], device: torch.device | str, *, loss: str = "l1") -> None:
        super().__init__(config, device)
        if config["data"]["layout"] != "paired":
            raise ConfigError("the regression trainer needs paired data (data.layout = 'paired')")
        if loss not in ("l1", "l2"):
            raise ConfigError(f"trainer.loss '{loss}': use l1 or l2")
        self.loss_name = loss
        self.loss = F.l1_loss if loss == "l1" else F.mse_loss
        self.G = self.build_generator(self.in_channels, self.out_channels)
        self.networks = {"G": self.G}
        self.optimizers = {"G": self.adam(self.G)}

    def step(self, batch: dict[str, Any]) -> dict[str, float]:
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.autocast():
            fake_b = self.call("G", batch["A"])
            loss = self.loss(fake_b.float(), batch["B"].float())
        self.backward(loss)
        self.update("G")
        return {f"G_{self.loss_name.upper()}": loss.item()}

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        with self.inference():
            return self.G(source).float()

    def sample(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"input": batch["A"], "output": self.translate(batch["A"]), "target": batch["B"]}


# A run small enough to finish in seconds on a CPU: 32 px crops, 4 scenes, narrow networks.
TINY_RUN = [
    "data.load_size=36", "data.crop_size=32", "data.n_train=4", "data.n_test=2",
    "train.log_every=1", "train.n_samples=2", "train.quiet=true", "generator.width=8",
]


def main(out: str | Path) -> dict:
    """Train with the regression trainer for 2 steps into `out`, resume to 4, and load the run for prediction."""
    config = resolve("pix2pix", "coloring", overrides={"train": {"out": str(out), "steps": 2}},
                     assignments=["trainer.name=regression", *TINY_RUN])
    run = train(config)
    # two more steps from the latest checkpoint: the loop restores G, its optimiser and the random states
    run = train({**config, "train": {**config["train"], "steps": 4}}, resume=run)
    translator = translate.load(run)
    print(f"trainer 'regression' trained in {run}; predict with: translate predict {run} IMAGE --out DIR")
    return {"run": run, "config": config, "translator": translator}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="recipe-trainer-"))
