"""The WGAN-GP penalty enters each discriminator's loss once, with the configured weight; CartoonGAN's paper
discriminator trains under --preset paper."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from tests.trainers.test_trainers import batch_of, tiny_config
from translate.config import resolve
from translate.trainers.base import build_trainer
from translate.trainers.rng import seed_everything

LAMBDA_GP = 3.0


def unweighted_penalty(critic, real: torch.Tensor, fake: torch.Tensor, rng: torch.Tensor) -> torch.Tensor:
    """mean over samples of (||grad critic at a*real + (1-a)*fake|| - 1)^2, a drawn from the CPU generator at `rng`."""
    torch.set_rng_state(rng)
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)))
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def record_first_penalty(trainer) -> dict:
    """Wrap the trainer's penalty: keep the first call's real, fake and the random state of its interpolation."""
    record: dict = {}
    penalty = trainer.gan_loss.penalty

    def recording(critic, real, fake):
        if not record:
            record.update(real=real.detach().clone(), fake=fake.detach().clone(), rng=torch.get_rng_state())
        return penalty(critic, real, fake)

    trainer.gan_loss.penalty = recording
    return record


def record_backward(trainer) -> list[float]:
    """Wrap the trainer's backward: keep each loss it is given."""
    seen: list[float] = []
    backward = trainer.backward

    def recording(loss):
        seen.append(loss.item())
        backward(loss)

    trainer.backward = recording
    return seen


def record_gradients(trainer, network: str) -> list[torch.Tensor]:
    """Wrap the trainer's update: keep `network`'s gradients as the D optimiser is about to use them."""
    grads: list[torch.Tensor] = []
    update = trainer.update

    def recording(name):
        if name == "D":
            grads.extend(p.grad.clone() for p in trainer.networks[network].parameters())
        update(name)

    trainer.update = recording
    return grads


@pytest.mark.parametrize(
    "model, style, critic_name",
    [("pix2pix", "coloring", "D"), ("cyclegan", "shinkai", "D_A"), ("cartoongan", "shinkai", "D")],
)
def test_wgan_gp_d_loss_has_the_weighted_penalty_once(model, style, critic_name):
    """pix2pix and CycleGAN: 0.5 * (real + fake + lambda_gp * penalty), the reference's halving applied to the whole
    WGAN-GP critic loss, so the penalty weighs lambda_gp against the critic's terms (not 2 * lambda_gp);
    CartoonGAN (no halving): real + fake + smooth + lambda_gp * penalty."""
    settings = ["loss.name='wgan-gp'", f"loss.lambda_gp={LAMBDA_GP}", "discriminator.norm='none'"]
    if style == "shinkai":  # the shinkai defaults' speckled negatives add a term of their own to D's loss
        settings.append("trainer.speckled_negatives=0")
    config = tiny_config(model, style, *settings)
    seed_everything(0)
    trainer = build_trainer(config, torch.device("cpu"))
    trainer.set_progress(10**6, 0, 1)  # past CartoonGAN's initialisation phase
    critic = copy.deepcopy(trainer.networks[critic_name])  # D as the step finds it (its G update leaves D alone)
    record, seen = record_first_penalty(trainer), record_backward(trainer)
    grads = record_gradients(trainer, critic_name)
    batch = trainer.prepare(batch_of(config))
    losses = trainer.step(batch)

    real, fake = record["real"], record["fake"]
    real_term, fake_term = -critic(real).mean(), critic(fake).mean()
    gp = unweighted_penalty(critic, real, fake, record["rng"])
    assert gp.item() > 0.01  # a penalty worth counting
    if model == "cartoongan":
        total = real_term + fake_term + critic(batch["B_smooth"]).mean() + LAMBDA_GP * gp
    else:
        total = 0.5 * (real_term + fake_term + LAMBDA_GP * gp)
    # D learns from that loss: the penalty's gradient reaches its weights once, with the configured weight
    for got, want in zip(grads, torch.autograd.grad(total, list(critic.parameters())), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    if "D_real" in losses:  # pix2pix and CartoonGAN report the terms
        assert losses["D_real"] == pytest.approx(real_term.item(), rel=1e-4, abs=1e-6)
        assert losses["D_fake"] == pytest.approx(fake_term.item(), rel=1e-4, abs=1e-6)
    d_loss = losses["D_A"] if model == "cyclegan" else seen[0]  # pix2pix and CartoonGAN step D first
    assert d_loss == pytest.approx(total.item(), rel=1e-4, abs=1e-6)


def test_paper_preset_trains_cartoongan_with_the_papers_discriminator():
    config = resolve(
        "cartoongan",
        "shinkai",
        preset="paper",
        overrides={"data": {"n_train": 4, "n_test": 2, "crop_size": 32, "load_size": 36},
                   "train": {"batch_size": 2, "quiet": True}},
        assignments=["generator.width=8", "generator.n_blocks=1", "discriminator.width=4"],
    )
    assert config["discriminator"] == {"name": "cartoon", "width": 4, "norm": "instance"}
    seed_everything(0)
    trainer = build_trainer(config, torch.device("cpu"))
    assert type(trainer.D).__name__ == "CartoonDiscriminator" and trainer.D.receptive_field == 37
    trainer.set_progress(10**6, 0, 1)
    losses = trainer.step(trainer.prepare(batch_of(config)))
    assert {"D_real", "D_fake", "D_smooth", "G_GAN"} <= set(losses) and all(map(math.isfinite, losses.values()))
