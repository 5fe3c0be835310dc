"""CartoonGAN (Chen et al. 2018): unpaired photo -> cartoon with a content loss and edge-smoothed negatives."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from translate.data.cartoon import EdgeSmoother
from translate.registry import TRAINERS
from translate.trainers.base import Trainer


@TRAINERS.register("cartoongan", "unpaired photo -> cartoon: VGG19 content loss, edge-smoothed cartoons as negatives")
class CartoonGANTrainer(Trainer):
    """G turns photos (A) into cartoons (B); D must call real cartoons real, and both G's images and
    edge-smoothed cartoons fake, which teaches sharp edges. G also keeps the photo's content:
    omega * |VGG(G(p)) - VGG(p)|_1 at VGG19's conv4_4 (config table [content]).

    Training starts with an initialisation phase of content loss alone (D untouched): `init_epochs`
    epochs as in the paper, but never more than `init_fraction` of the whole run, so short runs still
    spend most of their steps on the adversarial phase. Batches without a `B_smooth` image get one
    made on the fly (cached).
    """

    def __init__(
        self,
        config: dict[str, Any],
        device: torch.device | str,
        *,
        omega: float = 10.0,
        init_epochs: float = 10.0,
        init_fraction: float = 0.1,
        tv_weight: float = 0.0,
        tv_cap: float = 0.0,
        hue_weight: float = 0.0,
        speckled_negatives: float = 0.0,
        speckle: str = "noise",
        speckle_window: int = 3,
    ) -> None:
        super().__init__(config, device, tv_weight=tv_weight, tv_cap=tv_cap, hue_weight=hue_weight,
                         speckled_negatives=speckled_negatives, speckle=speckle, speckle_window=speckle_window)
        self.omega, self.init_epochs, self.init_fraction = omega, init_epochs, init_fraction
        self.G = self.build_generator(self.in_channels, self.out_channels)
        self.D = self.build_discriminator(self.out_channels)
        self.gan_loss = self.build_gan_loss()
        from translate.models.vgg import content_features  # torchvision, only when needed

        content = config.get("content", {})
        self.vgg = content_features(content.get("layer", "conv4_4"), content.get("weights", "auto")).to(self.device)
        self.resolved = {"content": {"resolved": self.vgg.description}}
        self.smoother = EdgeSmoother()
        self.networks = {"G": self.G, "D": self.D}
        self.optimizers = {"G": self.adam(self.G), "D": self.adam(self.D)}

    @property
    def init_steps(self) -> int:
        """Steps of the content-only initialisation phase in this run."""
        by_epochs = round(self.init_epochs * self.steps_per_epoch)
        if self.total_steps > 0:
            return min(by_epochs, round(self.init_fraction * self.total_steps))
        return by_epochs

    def initialising(self) -> bool:
        """Whether the current step belongs to the initialisation phase."""
        return self.step_count < self.init_steps

    def prepare(self, batch: dict[str, Any]) -> dict[str, Any]:
        if "B_smooth" not in batch and not self.initialising():
            batch["B_smooth"] = self.smoother(batch["B"], list(batch.get("B_path", [])) or None)
        return batch

    def content_loss(self, photo: torch.Tensor, cartoon: torch.Tensor) -> torch.Tensor:
        """omega * mean |VGG(cartoon) - VGG(photo)| (the photo's features are a fixed target)."""
        with torch.no_grad():
            target = self.vgg(photo)
        return F.l1_loss(self.vgg(cartoon).float(), target.float()) * self.omega

    def step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        photo = batch["A"]
        if self.initialising():
            self.optimizers["G"].zero_grad(set_to_none=True)
            with self.autocast():
                loss_content = self.content_loss(photo, self.call("G", photo))
            self.backward(loss_content)
            self.update("G")
            return {"content": loss_content.detach()}

        cartoon, smooth = batch["B"], batch["B_smooth"]
        with self.autocast():
            fake = self.call("G", photo)

        # D: real cartoons against generated images and edge-smoothed (and, if set, speckled) cartoons.
        self.set_requires_grad(self.D, True)
        self.optimizers["D"].zero_grad(set_to_none=True)
        with self.autocast():
            loss_d_real = self.gan_loss(self.call("D", cartoon), True)
            loss_d_fake = self.gan_loss(self.call("D", fake.detach()), False)
            loss_d_smooth = self.gan_loss(self.call("D", smooth), False) + self.speckled_loss("D", cartoon, photo)
            penalty = self.gan_loss.penalty(lambda x: self.call("D", x), cartoon, fake.detach())
            loss_d = loss_d_real + loss_d_fake + loss_d_smooth + penalty
        self.backward(loss_d)
        self.update("D")

        # G: fool the frozen D, keep the photo's content.
        self.set_requires_grad(self.D, False)
        self.optimizers["G"].zero_grad(set_to_none=True)
        with self.autocast():
            loss_g_gan = self.gan_loss(self.D(fake), True, for_discriminator=False)
            loss_content = self.content_loss(photo, fake)
            priors = self.output_priors(fake, photo)
            loss_g = loss_g_gan + loss_content + sum(priors.values())
        self.backward(loss_g)
        self.update("G")
        self.set_requires_grad(self.D, True)
        return {
            "content": loss_content.detach(),
            "G_GAN": loss_g_gan.detach(),
            **{name: loss.detach() for name, loss in priors.items()},
            "D_real": loss_d_real.detach(),
            "D_fake": loss_d_fake.detach(),
            "D_smooth": loss_d_smooth.detach(),
        }

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        with self.inference():
            return self.G(source).float()

    def sample(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        # Held-out data of an unpaired style is paired (photo | its true rendering), so B is a target.
        return {"photo": batch["A"], "G(photo)": self.translate(batch["A"]), "target": batch["B"]}
