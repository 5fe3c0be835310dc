"""translate: an image-to-image translation zoo (pix2pix, CycleGAN, CartoonGAN) on PyTorch."""

from translate.errors import TranslateError
from translate.registry import (
    DATASETS,
    DISCRIMINATORS,
    GENERATORS,
    LOSSES,
    STYLES,
    TRAINERS,
    create,
    list_names,
    registry,
)

__version__ = "0.1.0"

__all__ = [
    "DATASETS",
    "DISCRIMINATORS",
    "GENERATORS",
    "LOSSES",
    "STYLES",
    "TRAINERS",
    "TranslateError",
    "create",
    "list_names",
    "registry",
]
