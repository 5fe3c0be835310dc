"""Generators and discriminators; importing this package registers them."""

from translate.models import discriminators, generators, timm_unet
from translate.models import baselines  # noqa: F401 (registers the classical baselines "canny", "dodge")
from translate.models.cartoon import CartoonGenerator  # noqa: F401 (registers "cartoon")
from translate.models.discriminators import ImageDiscriminator, PatchDiscriminator, PixelDiscriminator
from translate.models.generators import ResNetGenerator, UNetGenerator
from translate.models.layers import init_weights, set_dropout
from translate.models.timm_unet import TimmUNetGenerator

__all__ = [
    "ImageDiscriminator",
    "PatchDiscriminator",
    "PixelDiscriminator",
    "ResNetGenerator",
    "TimmUNetGenerator",
    "UNetGenerator",
    "discriminators",
    "generators",
    "init_weights",
    "set_dropout",
    "timm_unet",
]
