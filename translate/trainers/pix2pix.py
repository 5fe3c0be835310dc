"""pix2pix (Isola et al. 2017): paired translation with a conditional GAN plus an L1 term."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from translate.errors import ConfigError
from translate.registry import TRAINERS
from translate.trainers.base import Trainer


@TRAINERS.register("pix2pix", "paired: G(x) against a conditional D(x, y), L_cGAN + lambda_l1 * L1")
class Pix2PixTrainer(Trainer):
    """G maps A to B; D judges (A, B) pairs stacked on the channel axis, so it sees the condition.

    Losses, as the reference's Pix2PixModel: D_real, D_fake (D's loss is their mean), G_GAN and
    G_L1 = lambda_l1 * |G(A) - B|. Dropout in G stays on at test time, the noise z of the paper.

    The paper's objective ablations (its Table 1) are settings: `lambda_l1=0` drops the L1 term (cGAN alone);
    `gan_weight` scales G_GAN, and 0 drops the GAN term and D with it (L1 alone: no D is built, stepped or
    saved); `conditional=False` shows D the output alone, not the (input, output) pair (the paper's "GAN").
    """

    def __init__(
        self, config: dict[str, Any], device: torch.device | str, *, lambda_l1: float = 100.0, gan_weight: float = 1.0,
        conditional: bool = True, tv_weight: float = 0.0, tv_cap: float = 0.0, hue_weight: float = 0.0,
        speckled_negatives: float = 0.0, speckle: str = "noise", speckle_window: int = 3,
    ) -> None:
        super().__init__(config, device, tv_weight=tv_weight, tv_cap=tv_cap, hue_weight=hue_weight,
                         speckled_negatives=speckled_negatives, speckle=speckle, speckle_window=speckle_window)
        if config["data"]["layout"] == "unpaired":
            raise ConfigError(
                f"pix2pix learns from aligned pairs, but style '{config.get('style') or 'this data'}' is unpaired "
                "(data.layout = 'unpaired'); train it with --model cyclegan or --model cartoongan"
            )
        check_objective(lambda_l1, gan_weight, speckled_negatives)
        self.lambda_l1, self.gan_weight, self.conditional = lambda_l1, gan_weight, conditional
        self.G = self.build_generator(self.in_channels, self.out_channels)
        self.networks = {"G": self.G}
        self.optimizers = {"G": self.adam(self.G)}
        self.D: nn.Module | None = None
        if gan_weight > 0:
            self.D = self.build_discriminator(self.out_channels + (self.in_channels if conditional else 0))
            self.gan_loss = self.build_gan_loss()
            self.networks["D"] = self.D
            self.optimizers["D"] = self.adam(self.D)

    def shown(self, source: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """What D sees of a translation: the (source, image) pair stacked on the channel axis, or the image alone
        when D is unconditional."""
        return torch.cat([source, image], 1) if self.conditional else image

    def step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        with self.autocast():
            fake_b = self.call("G", real_a)
        losses_d = self.discriminator_step(real_a, real_b, fake_b) if self.D is not None else {}

        # G: fool the frozen D and stay near the target.
        if self.D is not None:
            self.set_requires_grad(self.D, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.autocast():
            terms = {}
            if self.D is not None:
                terms["G_GAN"] = self.gan_loss(self.D(self.shown(real_a, fake_b)), True,
                                               for_discriminator=False) * self.gan_weight
            terms["G_L1"] = F.l1_loss(fake_b.float(), real_b.float()) * self.lambda_l1
            priors = self.output_priors(fake_b, real_a)
            loss_g = sum(terms.values()) + sum(priors.values())
        self.backward(loss_g)
        self.update("G")
        if self.D is not None:
            self.set_requires_grad(self.D, True)
        return {name: loss.detach() for name, loss in {**terms, **priors, **losses_d}.items()}

    def discriminator_step(self, real_a: torch.Tensor, real_b: torch.Tensor,
                           fake_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """D's update: real pairs against generated pairs (fakes detached: D's step does not reach G)."""
        self.set_requires_grad(self.D, True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with self.autocast():
            fake_ab = self.shown(real_a, fake_b.detach())
            real_ab = self.shown(real_a, real_b)
            loss_d_fake = self.gan_loss(self.call("D", fake_ab), False)
            loss_d_real = self.gan_loss(self.call("D", real_ab), True)
            # the true target with speckle, in the true pair: fake as well (when speckled negatives are on)
            loss_d_fake = loss_d_fake + self.speckled_loss("D", real_b, real_a,
                                                           condition=real_a if self.conditional else None)
            # the reference halves D's loss; the penalty (wgan-gp; zero otherwise) is halved with it, so that it
            # weighs lambda_gp against the critic's terms as in WGAN-GP, not twice that
            penalty = self.gan_loss.penalty(self.call_d, real_ab, fake_ab)
            loss_d = (loss_d_fake + loss_d_real + penalty) * 0.5
        self.backward(loss_d)
        self.update("D")
        return {"D_real": loss_d_real, "D_fake": loss_d_fake}

    def call_d(self, x: torch.Tensor) -> torch.Tensor:
        """D through its DDP wrapper (the gradient penalty's D)."""
        return self.call("D", x)

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        # The reference's test setting: norms as in training, dropout on. With batch norm, one image
        # at a time, so an image's output does not depend on the others in the batch.
        with self.inference(eval_mode=False):
            if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.G.modules()):
                return torch.cat([self.G(x.unsqueeze(0)) for x in source], 0).float()
            return self.G(source).float()

    def sample(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"input": batch["A"], "output": self.translate(batch["A"]), "target": batch["B"]}


def check_objective(lambda_l1: float, gan_weight: float, speckled_negatives: float) -> None:
    """Refuse objectives that cannot train: negative weights, both terms off, D's extras without a D."""
    if lambda_l1 < 0 or gan_weight < 0:
        raise ConfigError(f"trainer.lambda_l1={lambda_l1}, trainer.gan_weight={gan_weight}: need both >= 0 "
                          "(lambda_l1 0: no L1 term; gan_weight 0: no GAN term and no discriminator)")
    if lambda_l1 == 0 and gan_weight == 0:
        raise ConfigError("trainer.lambda_l1 and trainer.gan_weight are both 0: nothing to learn from; "
                          "give one of them a weight > 0")
    if gan_weight == 0 and speckled_negatives > 0:
        raise ConfigError(f"trainer.speckled_negatives={speckled_negatives} needs a discriminator, but "
                          "trainer.gan_weight = 0 has none; set speckled_negatives = 0 or gan_weight > 0")
