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
    """

    def __init__(
        self, config: dict[str, Any], device: torch.device | str, *, lambda_l1: float = 100.0, tv_weight: float = 0.0,
        tv_cap: float = 0.0, hue_weight: float = 0.0, speckled_negatives: float = 0.0, speckle: str = "noise",
    ) -> None:
        super().__init__(config, device, tv_weight=tv_weight, tv_cap=tv_cap, hue_weight=hue_weight,
                         speckled_negatives=speckled_negatives, speckle=speckle)
        if config["data"]["layout"] == "unpaired":
            raise ConfigError(
                f"pix2pix learns from aligned pairs, but style '{config.get('style') or 'this data'}' is unpaired "
                "(data.layout = 'unpaired'); train it with --model cyclegan or --model cartoongan"
            )
        self.lambda_l1 = lambda_l1
        self.G = self.build_generator(self.in_channels, self.out_channels)
        self.D = self.build_discriminator(self.in_channels + self.out_channels)
        self.gan_loss = self.build_gan_loss()
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = {"G": self.adam(self.G), "D": self.adam(self.D)}

    def step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        with self.autocast():
            fake_b = self.call("G", real_a)

        # D: real pairs against generated pairs (fakes detached: D's step does not reach G).
        self.set_requires_grad(self.D, True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with self.autocast():
            fake_ab = torch.cat([real_a, fake_b.detach()], 1)
            real_ab = torch.cat([real_a, real_b], 1)
            loss_d_fake = self.gan_loss(self.call("D", fake_ab), False)
            loss_d_real = self.gan_loss(self.call("D", real_ab), True)
            # the true target with speckle, in the true pair: fake as well (when speckled negatives are on)
            loss_d_fake = loss_d_fake + self.speckled_loss("D", real_b, real_a, condition=real_a)
            # the reference halves D's loss; the penalty (wgan-gp; zero otherwise) is halved with it, so that it
            # weighs lambda_gp against the critic's terms as in WGAN-GP, not twice that
            penalty = self.gan_loss.penalty(self.call_d, real_ab, fake_ab)
            loss_d = (loss_d_fake + loss_d_real + penalty) * 0.5
        self.backward(loss_d)
        self.update("D")

        # G: fool the frozen D and stay near the target.
        self.set_requires_grad(self.D, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.autocast():
            loss_g_gan = self.gan_loss(self.D(torch.cat([real_a, fake_b], 1)), True, for_discriminator=False)
            loss_g_l1 = F.l1_loss(fake_b.float(), real_b.float()) * self.lambda_l1
            priors = self.output_priors(fake_b, real_a)
            loss_g = loss_g_gan + loss_g_l1 + sum(priors.values())
        self.backward(loss_g)
        self.update("G")
        self.set_requires_grad(self.D, True)
        return {
            "G_GAN": loss_g_gan.detach(),
            "G_L1": loss_g_l1.detach(),
            **{name: loss.detach() for name, loss in priors.items()},
            "D_real": loss_d_real.detach(),
            "D_fake": loss_d_fake.detach(),
        }

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
