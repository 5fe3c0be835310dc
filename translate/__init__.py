"""translate: an image-to-image translation zoo (pix2pix, CycleGAN, CartoonGAN) on PyTorch."""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from translate.inference.translator import Translator, load


def __getattr__(name: str) -> Any:
    # load and Translator need torch: imported on first use, so that `import translate` (and the CLI) stay quick.
    if name in ("Translator", "load"):
        from translate.inference import translator

        return getattr(translator, name)
    raise AttributeError(f"module 'translate' has no attribute {name!r}")


__all__ = [
    "DATASETS",
    "DISCRIMINATORS",
    "GENERATORS",
    "LOSSES",
    "STYLES",
    "TRAINERS",
    "TranslateError",
    "Translator",
    "create",
    "list_names",
    "load",
    "registry",
]
