"""Trainers (pix2pix, cyclegan, cartoongan), registered in TRAINERS, and the one loop that runs them.

A trainer owns its networks, optimisers and losses and exposes `step(batch) -> {loss: float}`;
`translate.trainers.loop.train(config)` owns everything else.
"""

from translate.trainers import cartoongan, cyclegan, pix2pix
from translate.trainers.base import Trainer
from translate.trainers.cartoongan import CartoonGANTrainer
from translate.trainers.cyclegan import CycleGANTrainer
from translate.trainers.image_pool import ImagePool
from translate.trainers.pix2pix import Pix2PixTrainer

__all__ = [
    "CartoonGANTrainer",
    "CycleGANTrainer",
    "ImagePool",
    "Pix2PixTrainer",
    "Trainer",
    "cartoongan",
    "cyclegan",
    "pix2pix",
]
