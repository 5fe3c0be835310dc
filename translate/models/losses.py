"""GAN objectives behind one interface, registered in `LOSSES`: vanilla, lsgan, hinge, wgan-gp.

Every trainer calls them the same way::

    loss = create("loss", "lsgan")
    d_loss = 0.5 * (loss(D(real), True) + loss(D(fake.detach()), False) + loss.penalty(D, real, fake.detach()))
    g_loss = loss(D(fake), True, for_discriminator=False)

Predictions are raw logits of any shape (a patch map, say); label targets are broadcast to that shape, as the
reference's GANLoss does. `penalty` already carries its weight (wgan-gp's lambda_gp): a trainer adds it once to the
critic's terms, and any scaling of the whole (pix2pix and CycleGAN halve D's loss, as the reference does; CartoonGAN
sums its terms) applies to it too, so it weighs lambda_gp against them as in WGAN-GP.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from translate.registry import LOSSES


class GANObjective(nn.Module):
    """Base of the GAN objectives: real/fake label buffers and a penalty that is zero unless overridden."""

    def __init__(self, real_label: float = 1.0, fake_label: float = 0.0) -> None:
        super().__init__()
        # not persistent: labels are settings, not state worth saving in a checkpoint
        self.register_buffer("real_label", torch.tensor(float(real_label)), persistent=False)
        self.register_buffer("fake_label", torch.tensor(float(fake_label)), persistent=False)

    def target(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        """The real or fake label broadcast to the prediction's shape (a patch map, say)."""
        label = self.real_label if target_is_real else self.fake_label
        return label.to(prediction.dtype).expand_as(prediction)

    def forward(self, prediction: torch.Tensor, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        """The loss of `prediction` (logits) against a real or fake target; a scalar."""
        raise NotImplementedError

    def penalty(
        self, discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
    ) -> torch.Tensor:
        """A regulariser of the discriminator (a module or any callable) added to its loss; zero but for wgan-gp."""
        return real.new_zeros(())


@LOSSES.register("vanilla", "the original GAN: binary cross-entropy on logits")
class VanillaGANLoss(GANObjective):
    """The original GAN objective (pix2pix's default): BCE with logits against 1 (real) or 0 (fake)."""

    def forward(self, prediction: torch.Tensor, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        """BCE of the logits against the broadcast label (the same for D and G: G targets real)."""
        return F.binary_cross_entropy_with_logits(prediction, self.target(prediction, target_is_real))


@LOSSES.register("lsgan", "least-squares GAN: mean squared error to the label (CycleGAN's default)")
class LSGANLoss(GANObjective):
    """Least-squares GAN (CycleGAN's default): mean squared error of the output to 1 (real) or 0 (fake)."""

    def forward(self, prediction: torch.Tensor, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        """MSE of the output to the broadcast label (the same for D and G: G targets real)."""
        return F.mse_loss(prediction, self.target(prediction, target_is_real))


@LOSSES.register("hinge", "hinge GAN: relu(1 - real) + relu(1 + fake) for D, -mean for G")
class HingeGANLoss(GANObjective):
    """Hinge objective: D minimises relu(1 - D(real)) + relu(1 + D(fake)); G minimises -D(fake)."""

    def forward(self, prediction: torch.Tensor, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        """D: the real or the fake hinge term (one per call); G: -mean (or +mean for a fake target)."""
        if for_discriminator:
            return F.relu(1.0 - prediction).mean() if target_is_real else F.relu(1.0 + prediction).mean()
        return -prediction.mean() if target_is_real else prediction.mean()


@LOSSES.register("wgan-gp", "Wasserstein GAN with gradient penalty (lambda_gp 10)")
class WassersteinGPLoss(GANObjective):
    """WGAN-GP: the critic's mean output (-mean for real, +mean for fake) plus `penalty`, the reference's
    `cal_gradient_penalty`: lambda_gp * (||grad D(x)|| - 1)^2 at random interpolations of real and fake."""

    def __init__(self, real_label: float = 1.0, fake_label: float = 0.0, lambda_gp: float = 10.0) -> None:
        super().__init__(real_label, fake_label)
        self.lambda_gp = lambda_gp

    def forward(self, prediction: torch.Tensor, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        """-mean for a real target (D on real, G on fake), +mean for a fake one."""
        return -prediction.mean() if target_is_real else prediction.mean()

    def penalty(
        self, discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
    ) -> torch.Tensor:
        """lambda_gp * mean over samples of (||dD/dx at x = a*real + (1-a)*fake|| - 1)^2, a ~ U(0, 1) per sample."""
        if self.lambda_gp <= 0:
            return real.new_zeros(())
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
        mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
        scores = discriminator(mixed)
        (gradients,) = torch.autograd.grad(
            outputs=scores, inputs=mixed, grad_outputs=torch.ones_like(scores), create_graph=True, retain_graph=True
        )
        gradients = gradients.reshape(real.shape[0], -1)
        # the reference adds 1e-16 so the norm's gradient is finite at zero
        return (((gradients + 1e-16).norm(2, dim=1) - 1.0) ** 2).mean() * self.lambda_gp


def total_variation(images: torch.Tensor, cap: float = 0.0) -> torch.Tensor:
    """Mean |difference| between neighbouring pixels, across and down (anisotropic TV): the smoothness prior of
    cartoon generators (White-box Cartoonization, Wang and Yu 2020), since a cel's flat regions carry none.

    With `cap` > 0 each difference costs at most `cap` (truncated TV): faint speckle costs as much as without,
    while an outline, whose step is far above the cap, costs a constant that no blurring lowers."""
    images = images.float()
    across = (images[..., :, 1:] - images[..., :, :-1]).abs()
    down = (images[..., 1:, :] - images[..., :-1, :]).abs()
    if cap > 0:
        across, down = across.clamp(max=cap), down.clamp(max=cap)
    return across.mean() + down.mean()


# BT.601's chroma rows (U, V) for RGB in [0, 1]: the colour of a pixel without its lightness.
_CHROMA = torch.tensor([[-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]])


def hue_distance(output: torch.Tensor, source: torch.Tensor, pool: int = 4) -> torch.Tensor:
    """How far `output`'s hues are from `source`'s, weighted by how coloured the source is (images in [-1, 1]).

    Both are averaged over `pool` x `pool` cells and taken to chroma (U, V); the cost is |s| * |o/|o| - s/|s||:
    the source's chroma against the output's chroma rescaled to the source's strength. So the output may change
    lightness, saturation and texture, and may colour what was grey (a grey sky may turn blue), but an orange
    cat stays orange: the colour loss of photo-to-anime generators (AnimeGAN's, in YUV), without its pull on
    lightness and saturation, which a cel look must be free to change."""
    weights = _CHROMA.to(device=output.device, dtype=torch.float32)[:, :, None, None]

    def chroma(images: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.avg_pool2d((images.float() + 1) / 2, pool, ceil_mode=True), weights)

    out, src = chroma(output), chroma(source)
    strength = src.norm(dim=1, keepdim=True)
    rescaled = out * strength / out.norm(dim=1, keepdim=True).clamp_min(0.01)  # grey outputs: no steep slope
    return (rescaled - src).abs().sum(dim=1).mean()
