"""The label-conditional GAN (Mirza & Osindero 2014): draws a digit for a given label, the seed course's warm-up.

It generates rather than translates: its networks (`translate.models.conditional`) take noise and a label, so it
builds them from its own keywords instead of the [generator] and [discriminator] tables, and its held-out score is
the label accuracy (does it draw the digit it was asked for, read by the digit judge) instead of an L1 to a target.
`translate sample RUN --labels 3,1,4` draws from a trained run (`translate.inference.sampling`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from translate.data.digits import N_CLASSES
from translate.errors import ConfigError
from translate.models.conditional import LabelGenerator, MaxoutDiscriminator
from translate.registry import TRAINERS
from translate.trainers.base import Trainer

HELDOUT_SEED = 1  # the noise of the held-out samples: the same at every evaluation, so the scores compare
GRID_SEED = 0  # the noise of the sample grids' columns
GENERATOR_KEYS = ("noise_dim", "width", "batch_norm", "slope")  # the [trainer] keys that shape G


def generator_keywords(config: dict[str, Any]) -> dict[str, Any]:
    """The `LabelGenerator` keywords of a cgan config: its size and channels from [data], the rest from [trainer]
    (the trainer's defaults where the table leaves a key out)."""
    trainer = {**TRAINERS.entry("cgan").defaults(), **config["trainer"]}
    data = config["data"]
    return {"n_classes": N_CLASSES, "size": int(data["crop_size"]), "channels": int(data["out_channels"]),
            **{key: trainer[key] for key in GENERATOR_KEYS}}


@TRAINERS.register("cgan", "label-conditional GAN: draws a digit for a label; MLP generator, Maxout discriminator")
class ConditionalGANTrainer(Trainer):
    """G draws an image from noise and a one-hot label; D, of maxout layers, sees the image beside the label and
    calls it real or generated (the course: binary cross-entropy, D's loss D_real + D_fake, G's G_GAN).

    Keywords: `noise_dim` and `width` size G (width / 2 units for each of z and y, then `width`), `batch_norm` and
    `slope` (of its leaky ReLUs) shape it; `units`, `label_units`, `pieces`, `joint_pieces` and `dropout` size D's
    maxout layers; `mismatched` weighs real digits shown to D under a wrong label (`mismatched_loss`). The sample grids hold a row per
    held-out item (its label; the digits style shows 0-9): the real digit, then `sample_columns` drawings, each
    column from one fixed noise. `heldout_per_label` drawings of each digit are scored at every evaluation.
    """

    heldout_metric = ("label_accuracy", "label accuracy")

    def __init__(
        self, config: dict[str, Any], device: torch.device | str, *, noise_dim: int = 100, width: int = 512,
        batch_norm: bool = False, slope: float = 0.0, units: int = 240, label_units: int = 50, pieces: int = 5, joint_pieces: int = 4, dropout: float = 0.5,
        mismatched: float = 0.0, sample_columns: int = 8, heldout_per_label: int = 100,
    ) -> None:
        super().__init__(config, device)
        data = config["data"]
        if data["layout"] != "labels":
            raise ConfigError(
                f"cgan draws labelled images, but style '{config.get('style') or 'this data'}' holds "
                f"{data['layout']} image pairs to translate; train cgan with --style digits"
            )
        for table in ("generator", "discriminator"):
            if config[table].get("name"):
                raise ConfigError(
                    f"cgan builds its own {table} from noise and labels, not '{config[table]['name']}': drop "
                    f"--{table} ({table}.name); size it with trainer.width, trainer.units and the like"
                )
        if min(noise_dim, width, units, label_units, pieces, joint_pieces, sample_columns, heldout_per_label) < 1 \
                or not 0 <= dropout < 1 or mismatched < 0:
            raise ConfigError("cgan: the sizes (trainer.noise_dim, width, units, ...) must be >= 1, trainer.dropout "
                              f"in [0, 1) and trainer.mismatched >= 0; got dropout={dropout}, mismatched={mismatched}")
        self.mismatched = mismatched
        self.noise_dim, self.sample_columns, self.heldout_per_label = noise_dim, sample_columns, heldout_per_label
        self.G = LabelGenerator(**generator_keywords(config)).to(self.device)
        self.D = MaxoutDiscriminator(N_CLASSES, int(data["crop_size"]), self.out_channels, units, label_units, pieces,
                                     joint_pieces, dropout).to(self.device)
        self.gan_loss = self.build_gan_loss()
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = {"G": self.adam(self.G), "D": self.adam(self.D)}
        self._real_spread: float | None = None

    def step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        real = batch["B"]
        y = F.one_hot(batch["label"], N_CLASSES).to(real.dtype)
        z = torch.randn(len(real), self.noise_dim, device=real.device)
        with self.autocast():
            fake = self.call("G", z, y)

        # D: real digits with their labels against drawn ones (detached: D's step does not reach G)
        self.set_requires_grad(self.D, True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with self.autocast():
            loss_d_real = self.gan_loss(self.call("D", real, y), True)
            loss_d_fake = self.gan_loss(self.call("D", fake.detach(), y), False)
            loss_d_wrong = self.mismatched_loss(real, batch["label"])
            penalty = self.gan_loss.penalty(lambda x: self.call("D", x, y), real, fake.detach())
            loss_d = loss_d_real + loss_d_fake + loss_d_wrong + penalty
        self.backward(loss_d)
        self.update("D")

        # G: make the frozen D call its drawings real for their labels
        self.set_requires_grad(self.D, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.autocast():
            loss_g = self.gan_loss(self.D(fake, y), True, for_discriminator=False)
        self.backward(loss_g)
        self.update("G")
        self.set_requires_grad(self.D, True)
        losses = {"G_GAN": loss_g.detach(), "D_real": loss_d_real.detach(), "D_fake": loss_d_fake.detach()}
        return {**losses, "D_wrong": loss_d_wrong.detach()} if isinstance(loss_d_wrong, torch.Tensor) else losses

    def mismatched_loss(self, real: torch.Tensor, labels: torch.Tensor) -> torch.Tensor | float:
        """`mismatched` x D's loss for calling real digits under a wrong label fake; 0 when it is 0 (the course).

        Reed et al.'s matching-aware discriminator (2016): shown only real and drawn pairs, D first learns what a
        digit looks like and only slowly whether it fits its label, so G learns to draw digits long before it
        draws the one asked for; a wrong label on a real digit is a negative that can only be told by the label.
        """
        if self.mismatched <= 0:
            return 0.0
        wrong = (labels + torch.randint(1, N_CLASSES, labels.shape, device=labels.device)) % N_CLASSES
        return self.gan_loss(self.call("D", real, F.one_hot(wrong, N_CLASSES).to(real.dtype)), False) * self.mismatched

    def sample(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """A row per held-out item: its real digit, then a drawing of its label from each of the fixed noises."""
        with self.inference():
            drawn = self.G.draw(batch["label"], self.sample_columns, GRID_SEED)  # rows x columns x C x H x W
        return {"real": batch["B"], **{f"z{j + 1}": drawn[:, j] for j in range(self.sample_columns)}}

    def heldout(self, test_set: Dataset, channels_last: bool = False) -> dict[str, Any]:
        """label_accuracy: the share of `heldout_per_label` drawings of each digit that the digit judge reads as that
        digit (overall, and accuracy_by_label); diversity: how much the drawings of one digit differ from each
        other, pixel by pixel, over how much the held-out real digits do (near 0: one drawing per label, whatever
        the noise)."""
        from translate.evaluation.judges import DIGITS, digit_accuracy, get_judge  # trains the judge once

        with self.inference():
            drawn = self.G.draw(torch.arange(N_CLASSES), self.heldout_per_label, HELDOUT_SEED)
        labels = torch.arange(N_CLASSES).repeat_interleave(self.heldout_per_label)
        judge = get_judge(DIGITS, device=self.device)
        read = torch.cat([judge(chunk) for chunk in drawn.flatten(0, 1).split(500)])
        scores = digit_accuracy(read, labels)
        if self._real_spread is None:
            self._real_spread = spread(*real_digits(test_set))
        diversity = spread(drawn.flatten(0, 1).cpu(), labels) / max(self._real_spread, 1e-8)
        return {"label_accuracy": scores["accuracy"], "accuracy_by_label": scores["by_label"],
                "diversity": round(diversity, 4)}


def real_digits(test_set: Dataset, limit: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `limit` held-out images and their labels."""
    items = [test_set[i] for i in range(min(limit, len(test_set)))]  # type: ignore[arg-type]
    return torch.stack([item["B"] for item in items]), torch.tensor([item["label"] for item in items])


def spread(images: torch.Tensor, labels: torch.Tensor) -> float:
    """The standard deviation of each pixel over the images of one label, averaged over pixels and labels."""
    stds = [images[labels == d].float().std(0).mean() for d in labels.unique() if (labels == d).sum() > 1]
    return float(torch.stack(stds).mean()) if stds else 0.0
