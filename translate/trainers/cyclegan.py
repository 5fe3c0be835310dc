"""CycleGAN (Zhu et al. 2017): unpaired translation both ways, tied together by cycle consistency."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from translate.errors import ConfigError
from translate.registry import TRAINERS
from translate.trainers.base import Trainer
from translate.trainers.image_pool import ImagePool


@TRAINERS.register("cyclegan", "unpaired: G_A, G_B, D_A, D_B, cycle + identity losses, image pools")
class CycleGANTrainer(Trainer):
    """G_A: A -> B and G_B: B -> A, each judged by its own D (D_A on domain B, D_B on domain A).

    As the reference's CycleGANModel: G loss = G_A + G_B (GAN) + lambda_a |G_B(G_A(A)) - A|
    + lambda_b |G_A(G_B(B)) - B| + identity terms lambda_identity * lambda |G_A(B) - B| (and for G_B),
    the identity only when both domains have the same channels. Each D sees fakes from an `ImagePool`
    of `pool_size` past images and its loss is halved.

    Two departures from the paper, off by default, against the hidden signal of Chu et al. 2017 ("CycleGAN, a
    master of steganography"): to reconstruct a photo's fine texture from a flat cartoon, G_A learns to hide it
    in the cartoon as faint high-frequency speckle. `cycle_noise` adds Gaussian noise of that standard deviation
    (images in [-1, 1]) to each translation before it is translated back, which drowns such a signal;
    `cycle_pool` compares reconstructions with the originals after k x k average pooling, so detail finer than
    k pixels need not come back at all.

    A third, `speckled_negatives` (the base Trainer's `speckled`), teaches D_A what such a signal looks like
    instead: real targets with speckle added, shown to it as fakes too.
    """

    def __init__(
        self,
        config: dict[str, Any],
        device: torch.device | str,
        *,
        lambda_a: float = 10.0,
        lambda_b: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        cycle_noise: float = 0.0,
        cycle_pool: int = 1,
        speckled_negatives: float = 0.0,
        speckle: str = "noise",
        speckle_window: int = 3,
        tv_weight: float = 0.0,
        tv_cap: float = 0.0,
        hue_weight: float = 0.0,
    ) -> None:
        super().__init__(config, device, tv_weight=tv_weight, tv_cap=tv_cap, hue_weight=hue_weight,
                         speckled_negatives=speckled_negatives, speckle=speckle, speckle_window=speckle_window)
        if cycle_noise < 0 or cycle_pool < 1:
            raise ConfigError(f"trainer.cycle_noise={cycle_noise}, trainer.cycle_pool={cycle_pool}: need "
                              "cycle_noise >= 0 and cycle_pool >= 1 (1: the paper's pixel-wise cycle loss)")
        self.lambda_a, self.lambda_b = lambda_a, lambda_b
        self.cycle_noise, self.cycle_pool = cycle_noise, cycle_pool
        self.lambda_identity = lambda_identity if self.in_channels == self.out_channels else 0.0
        self.G_A = self.build_generator(self.in_channels, self.out_channels)
        self.G_B = self.build_generator(self.out_channels, self.in_channels)
        self.D_A = self.build_discriminator(self.out_channels)
        self.D_B = self.build_discriminator(self.in_channels)
        self.gan_loss = self.build_gan_loss()
        self.pool_a, self.pool_b = ImagePool(pool_size), ImagePool(pool_size)  # fakes of A, fakes of B
        self.networks = {"G_A": self.G_A, "G_B": self.G_B, "D_A": self.D_A, "D_B": self.D_B}
        self.optimizers = {"G": self.adam(self.G_A, self.G_B), "D": self.adam(self.D_A, self.D_B)}

    def step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        with self.autocast():
            fake_b = self.call("G_A", real_a)
            rec_a = self.call("G_B", self.with_cycle_noise(fake_b))
            fake_a = self.call("G_B", real_b)
            rec_b = self.call("G_A", self.with_cycle_noise(fake_a))

        # Generators, with both D frozen.
        self.set_requires_grad([self.D_A, self.D_B], False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.autocast():
            losses: dict[str, torch.Tensor] = {}
            if self.lambda_identity > 0:
                idt_a = self.call("G_A", real_b)
                idt_b = self.call("G_B", real_a)
                losses["idt_A"] = F.l1_loss(idt_a.float(), real_b.float()) * self.lambda_b * self.lambda_identity
                losses["idt_B"] = F.l1_loss(idt_b.float(), real_a.float()) * self.lambda_a * self.lambda_identity
            losses["G_A"] = self.gan_loss(self.D_A(fake_b), True, for_discriminator=False)
            losses["G_B"] = self.gan_loss(self.D_B(fake_a), True, for_discriminator=False)
            losses["cycle_A"] = self.cycle_loss(rec_a, real_a) * self.lambda_a
            losses["cycle_B"] = self.cycle_loss(rec_b, real_b) * self.lambda_b
            losses.update({f"{name}_A": loss for name, loss in self.output_priors(fake_b, real_a).items()})
            loss_g = sum(losses.values())
        self.backward(loss_g)
        self.update("G")

        # Discriminators, on pooled past fakes.
        self.set_requires_grad([self.D_A, self.D_B], True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with self.autocast():
            losses["D_A"] = self._d_loss("D_A", real_b, self.pool_b.query(fake_b), speckle_source=real_a)
            losses["D_B"] = self._d_loss("D_B", real_a, self.pool_a.query(fake_a))
        self.backward(losses["D_A"] + losses["D_B"])
        self.update("D")
        # The reference's order, with the priors after its terms.
        order = ("D_A", "G_A", "cycle_A", "idt_A", "tv_A", "hue_A", "D_B", "G_B", "cycle_B", "idt_B")
        return {name: losses[name].detach() for name in order if name in losses}

    def with_cycle_noise(self, images: torch.Tensor) -> torch.Tensor:
        """A translation as it goes back through the other generator: with `cycle_noise` added, if any."""
        return images + torch.randn_like(images) * self.cycle_noise if self.cycle_noise > 0 else images

    def cycle_loss(self, reconstructed: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """Mean |reconstructed - real|, after `cycle_pool` x `cycle_pool` average pooling when it is above 1."""
        reconstructed, real = reconstructed.float(), real.float()
        if self.cycle_pool > 1:
            reconstructed, real = (F.avg_pool2d(x, self.cycle_pool, ceil_mode=True) for x in (reconstructed, real))
        return F.l1_loss(reconstructed, real)

    def _d_loss(self, name: str, real: torch.Tensor, fake: torch.Tensor,
                speckle_source: torch.Tensor | None = None) -> torch.Tensor:
        loss_real = self.gan_loss(self.call(name, real), True)
        loss_fake = self.gan_loss(self.call(name, fake), False)
        if speckle_source is not None:  # D_A only: the speckle G_A hides is the source photos' texture
            loss_fake = loss_fake + self.speckled_loss(name, real, speckle_source)
        penalty = self.gan_loss.penalty(lambda x: self.call(name, x), real, fake)
        return (loss_real + loss_fake + penalty) * 0.5  # halved with the critic's terms: lambda_gp relative to them

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        with self.inference():
            return self.G_A(source).float()

    def sample(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        with self.inference():
            fake_b, fake_a = self.G_A(real_a), self.G_B(real_b)
            rec_a, rec_b = self.G_B(fake_b), self.G_A(fake_a)
        # Held-out data of an unpaired style is paired (photo | its true rendering): both are targets.
        return {
            "A": real_a,
            "G_A(A)": fake_b.float(),
            "G_B(G_A(A))": rec_a.float(),
            "B (target)": real_b,
            "G_B(B)": fake_a.float(),
            "G_A(G_B(B))": rec_b.float(),
        }

    def extra_state(self) -> dict[str, Any]:
        return {"pool_A": self.pool_a.state_dict(), "pool_B": self.pool_b.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if "pool_A" in state:
            self.pool_a.load_state_dict(state["pool_A"], self.device)
            self.pool_b.load_state_dict(state["pool_B"], self.device)
