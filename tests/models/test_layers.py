"""Shared layers: the instance norm that stays right in channels-last memory order."""

from __future__ import annotations

import copy

import pytest
import torch

from translate.registry import create

PARTS = {
    "resnet generator": lambda: create("generator", "resnet", in_channels=3, out_channels=3, width=8, n_blocks=2,
                                       norm="instance"),
    "cartoon generator": lambda: create("generator", "cartoon", in_channels=3, out_channels=3, width=8, n_blocks=1),
    "instance-norm PatchGAN": lambda: create("discriminator", "patch", in_channels=3, width=8, n_layers=2,
                                             norm="instance"),
}


@pytest.mark.parametrize("part", PARTS)
def test_channels_last_training_gets_the_gradients_of_the_contiguous_layout(part):
    torch.manual_seed(0)
    net = PARTS[part]()
    other = copy.deepcopy(net).to(memory_format=torch.channels_last)
    x = torch.randn(1, 3, 32, 32)
    a, b = x.clone().requires_grad_(), x.contiguous(memory_format=torch.channels_last).requires_grad_()
    out_a, out_b = net(a), other(b)
    grad = torch.randn_like(out_a)
    out_a.backward(grad)
    out_b.backward(grad)
    torch.testing.assert_close(out_b, out_a, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(b.grad, a.grad, atol=1e-4, rtol=1e-3)
    for (name, p), q in zip(net.named_parameters(), other.parameters()):
        if p.dim() == 4:  # conv weights (a conv's bias before a norm has a zero gradient, all rounding)
            error = (q.grad - p.grad).norm() / p.grad.norm()
            assert error < 1e-3, f"{name}: relative gradient error {error:.3g}"
