"""Trainers (pix2pix, cyclegan, cartoongan; cgan, which draws rather than translates), registered in TRAINERS,
and the one loop that runs them.

A trainer owns its networks, optimisers and losses and exposes `step(batch) -> {loss: float}`;
`translate.trainers.loop.train(config)` owns everything else.
"""

from translate.trainers import cartoongan, cgan, cyclegan, pix2pix
from translate.trainers.base import Trainer
from translate.trainers.cartoongan import CartoonGANTrainer
from translate.trainers.cgan import ConditionalGANTrainer
from translate.trainers.cyclegan import CycleGANTrainer
from translate.trainers.image_pool import ImagePool
from translate.trainers.pix2pix import Pix2PixTrainer

__all__ = [
    "CartoonGANTrainer",
    "ConditionalGANTrainer",
    "CycleGANTrainer",
    "ImagePool",
    "Pix2PixTrainer",
    "Trainer",
    "cartoongan",
    "cgan",
    "cyclegan",
    "pix2pix",
]
