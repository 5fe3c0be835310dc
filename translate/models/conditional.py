"""The label-conditional GAN's networks (Mirza & Osindero 2014), as the seed course's cGAN warm-up builds them.

- `LabelGenerator`: noise z and a one-hot label y, each through a fully connected layer, joined, then two more
  layers to a size x size image in [-1, 1] (tanh); plain ReLUs as in the course, or batch norm and leaky ReLUs.
- `MaxoutDiscriminator`: the flattened image and the one-hot label each through a maxout layer, joined, through a
  third, then one logit: real or generated, for this label.
- `Maxout` (Goodfellow et al. 2013): `pieces` linear maps of the input; each unit keeps the largest of its pieces.

They draw from labels rather than translate images, so they are not in the generator and discriminator registries
(whose parts take and give images of any size); the `cgan` trainer builds them from its own keywords.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class Maxout(nn.Module):
    """max over k of (W_k x + b_k) per unit, with dropout on the pieces as the course places it (the paper's D
    uses dropout 0.5).

    The course's Keras layer also put a ReLU on the pieces and reshaped its units * pieces outputs to
    (1, pieces, units) before taking the maximum over the axis of length one, so it kept every piece (a ReLU layer
    `pieces` times wider); this takes it over the pieces, as maxout is defined, and needs no ReLU.
    """

    def __init__(self, in_features: int, units: int, pieces: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.linear(x)).view(-1, self.units, self.pieces).amax(-1)


class LabelGenerator(nn.Module):
    """(noise N x noise_dim, one-hot labels N x n_classes) -> images N x channels x size x size in [-1, 1].

    The course's generator: z and y each through a layer of width / 2 units, joined, a layer of `width`, and a
    tanh layer with a unit per pixel. Its hidden layers are plain ReLUs, as the course's; `batch_norm` normalises
    them and `slope` makes them leak, as MLP GANs on MNIST usually have it (the digits style does: with plain ReLUs
    G drew one blob for every label after 1200 steps here; README, "Draw digits for labels").
    """

    def __init__(self, noise_dim: int = 100, n_classes: int = 10, size: int = 28, channels: int = 1,
                 width: int = 512, batch_norm: bool = False, slope: float = 0.0) -> None:
        super().__init__()
        self.noise_dim, self.n_classes, self.size, self.channels, self.slope = noise_dim, n_classes, size, channels, slope
        self.noise = nn.Linear(noise_dim, width // 2)
        self.label = nn.Linear(n_classes, width // 2)
        self.joint = nn.Linear(width // 2 * 2, width)
        self.out = nn.Linear(width, channels * size * size)
        self.norm_in = nn.BatchNorm1d(width // 2 * 2) if batch_norm else nn.Identity()
        self.norm_joint = nn.BatchNorm1d(width) if batch_norm else nn.Identity()

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.norm_in(torch.cat([self.noise(z), self.label(y)], 1)), self.slope)
        h = F.leaky_relu(self.norm_joint(self.joint(h)), self.slope)
        return torch.tanh(self.out(h)).view(-1, self.channels, self.size, self.size)

    def draw(self, labels: Sequence[int] | torch.Tensor, n: int = 1, seed: int = 0) -> torch.Tensor:
        """`n` drawings of each label: len(labels) x n x C x H x W in [-1, 1] (call it under no_grad).

        Drawing j of every label comes from the same noise, the j-th of `seed`'s stream (drawn on the CPU, so a seed
        gives the same noise on any device): along a row the noise changes, down a column only the label.
        """
        labels = torch.as_tensor(labels, dtype=torch.long).flatten()
        if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < self.n_classes:
            raise ValueError(f"labels must be in 0-{self.n_classes - 1}, got {labels.tolist()}")
        device = self.out.weight.device
        z = torch.randn(n, self.noise_dim, generator=torch.Generator().manual_seed(seed)).to(device)
        y = F.one_hot(labels.to(device), self.n_classes).float()
        images = self(z.repeat(len(labels), 1), y.repeat_interleave(n, 0))
        return images.float().view(len(labels), n, self.channels, self.size, self.size)


class MaxoutDiscriminator(nn.Module):
    """(images N x channels x size x size, one-hot labels) -> N x 1 logits: real and of this label, or not.

    The paper's and the course's: maxout of 240 units and 5 pieces on the image, of 50 units and 5 pieces on the
    label, joined, maxout of 240 units and 4 pieces, then a linear logit.
    """

    def __init__(self, n_classes: int = 10, size: int = 28, channels: int = 1, units: int = 240,
                 label_units: int = 50, pieces: int = 5, joint_pieces: int = 4, dropout: float = 0.5) -> None:
        super().__init__()
        self.image = Maxout(channels * size * size, units, pieces, dropout)
        self.label = Maxout(n_classes, label_units, pieces, dropout)
        self.joint = Maxout(units + label_units, units, joint_pieces, dropout)
        self.out = nn.Linear(units, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.cat([self.image(x.flatten(1)), self.label(y)], 1)
        return self.out(self.joint(h))
