"""GAN objectives: known values on known logits, target broadcasting, the WGAN-GP penalty."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import translate


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


def test_every_objective_is_registered() -> None:
    assert {"vanilla", "lsgan", "hinge", "wgan-gp"} <= set(translate.list_names("loss"))


def test_vanilla_on_zero_logits_is_log_two() -> None:
    loss = translate.create("loss", "vanilla")
    patch_map = torch.zeros(2, 1, 30, 30)
    assert loss(patch_map, True).item() == pytest.approx(math.log(2))
    assert loss(patch_map, False).item() == pytest.approx(math.log(2))
    assert loss(torch.full((2, 1, 4, 4), 20.0), True).item() == pytest.approx(0.0, abs=1e-6)


def test_lsgan_is_squared_distance_to_the_label() -> None:
    loss = translate.create("loss", "lsgan")
    ones = torch.ones(3, 1, 5, 5)
    assert loss(ones, True).item() == 0.0
    assert loss(ones, False).item() == 1.0
    smoothed = translate.create("loss", "lsgan", real_label=0.9)
    assert smoothed(torch.full((1, 1, 2, 2), 0.9), True).item() == pytest.approx(0.0)


def test_hinge_terms() -> None:
    loss = translate.create("loss", "hinge")
    pred = torch.tensor([[0.5, -2.0]])
    assert loss(pred, True).item() == pytest.approx((0.5 + 3.0) / 2)  # relu(1 - x)
    assert loss(pred, False).item() == pytest.approx((1.5 + 0.0) / 2)  # relu(1 + x)
    assert loss(pred, True, for_discriminator=False).item() == pytest.approx(0.75)  # -mean


def test_wgan_terms() -> None:
    loss = translate.create("loss", "wgan-gp")
    pred = torch.tensor([1.0, 3.0])
    assert loss(pred, True).item() == -2.0
    assert loss(pred, False).item() == 2.0
    assert loss(pred, True, for_discriminator=False).item() == -2.0


def test_penalty_is_zero_except_for_wgan_gp() -> None:
    real, fake = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    critic = nn.Conv2d(3, 1, 8)
    for name in ("vanilla", "lsgan", "hinge"):
        assert translate.create("loss", name).penalty(critic, real, fake).item() == 0.0


def test_wgan_gp_penalty_of_a_linear_critic() -> None:
    # D(x) = <w, x> + b has gradient w everywhere: penalty = 10 * (||w|| - 1)^2 whatever the interpolation
    critic = nn.Conv2d(3, 1, 8)
    nn.init.constant_(critic.weight, 0.1)
    norm = 0.1 * math.sqrt(3 * 8 * 8)
    loss = translate.create("loss", "wgan-gp")
    penalty = loss.penalty(critic, torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8))
    assert penalty.item() == pytest.approx(10 * (norm - 1) ** 2, rel=1e-5)
    penalty.backward()  # it trains the critic
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0
    assert translate.create("loss", "wgan-gp", lambda_gp=0.0).penalty(critic, torch.ones(1, 3, 8, 8),
                                                                      torch.ones(1, 3, 8, 8)).item() == 0.0


def test_labels_are_buffers_that_follow_the_module() -> None:
    loss = translate.create("loss", "vanilla", real_label=0.9, fake_label=0.1)
    buffers = dict(loss.named_buffers())
    assert buffers["real_label"].item() == pytest.approx(0.9)
    assert buffers["fake_label"].item() == pytest.approx(0.1)
    assert loss.double()(torch.zeros(2, 1, 3, 3, dtype=torch.float64), True).dtype == torch.float64


def test_total_variation_is_zero_on_flat_images_and_grows_with_speckle() -> None:
    from translate.models.losses import total_variation

    assert total_variation(torch.full((2, 3, 8, 8), 0.7)) == 0
    checker = (torch.arange(8)[:, None] + torch.arange(8)).remainder(2).float().mul(2).sub(1).expand(1, 3, 8, 8)
    assert total_variation(checker * 0.1) == pytest.approx(0.4)  # steps of 0.2, across and down
    ramp = torch.linspace(-1, 1, 8).expand(1, 3, 8, 8)  # the same range, spread smoothly
    assert total_variation(ramp) < total_variation(checker)


def test_capped_total_variation_charges_speckle_in_full_and_an_outline_no_more_than_the_cap() -> None:
    from translate.models.losses import total_variation

    checker = (torch.arange(8)[:, None] + torch.arange(8)).remainder(2).float().mul(2).sub(1).expand(1, 3, 8, 8)
    assert total_variation(checker * 0.05, cap=0.2) == total_variation(checker * 0.05)  # faint speckle: as before
    edge = torch.zeros(1, 3, 8, 8)
    edge[..., 4:] = 1.0  # a hard outline, across
    blurred = torch.zeros(1, 3, 8, 8)
    blurred[..., 4:] = 1.0
    blurred[..., 3], blurred[..., 4] = 0.25, 0.75  # the same outline spread over three steps
    assert total_variation(edge, cap=0.2) < total_variation(blurred, cap=0.2)  # blurring no longer pays
    assert total_variation(blurred) == pytest.approx(float(total_variation(edge)))  # as it did not uncapped


def test_hue_distance_keeps_hues_and_frees_lightness_saturation_and_grey() -> None:
    from translate.models.losses import hue_distance

    orange = torch.tensor([1.0, 0.2, -0.8])[None, :, None, None].expand(1, 3, 8, 8)  # in [-1, 1]
    green = torch.tensor([-0.6, 0.8, -0.6])[None, :, None, None].expand(1, 3, 8, 8)
    grey = torch.zeros(1, 3, 8, 8)
    paler_orange = orange * 0.4  # the same hue, nearer grey and mid-lightness
    assert hue_distance(orange, orange) < 1e-6
    assert hue_distance(paler_orange, orange) < 1e-3  # saturation and lightness are free
    assert hue_distance(green, grey) < 1e-4  # a grey source may take any colour (grey sky -> blue)
    assert hue_distance(green, orange) > 0.2  # an orange cat may not turn green
    # It looks at 4x4 cells: pixel-level texture that averages out costs nothing.
    texture = orange + 0.3 * torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(4, 4)
    assert hue_distance(texture, orange) < 1e-3

