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
    from translate.inference.colouring_page import colouring_page
    from translate.inference.sampling import LabelConditional, load_sampler, sample
    from translate.inference.translator import Translator, load


def list_models(pattern: str = "*", on_this_machine: bool = False) -> list[str]:
    """The catalogue's model names (trained weights, as `timm.list_models(pretrained=True)`), sorted; `pattern`
    filters them shell-style ("scenes-*", "*2zebra"); `on_this_machine` keeps those shipped or pulled.

    `translate.load(name)` takes any of them; one not on this machine yet is fetched by `translate.pull(name)`.
    """
    import fnmatch

    from translate.zoo.cards import load_catalogue
    from translate.zoo.pull import on_this_machine as here

    cards = load_catalogue(check_parts=False)  # names only: no torch (translate.load checks the one it builds)
    return sorted(name for name, card in cards.items()
                  if fnmatch.fnmatchcase(name, pattern) and (not on_this_machine or here(card)))


def pull(name: str, file: str | None = None, force: bool = False, progress: bool = True) -> Any:
    """Download the catalogue model `name` (or take the local `file`), verify it and make it ready for `load`;
    returns its run directory in the cache (`translate pull NAME` on the command line)."""
    from translate.zoo.pull import pull as pull_model

    return pull_model(name, file=file, force=force, progress=progress)


def __getattr__(name: str) -> Any:
    # load and Translator need torch: imported on first use, so that `import translate` (and the CLI) stay quick.
    if name in ("Translator", "load"):
        from translate.inference import translator

        return getattr(translator, name)
    if name in ("LabelConditional", "load_sampler", "sample"):  # a cgan run draws for labels: no Translator
        from translate.inference import sampling

        return getattr(sampling, name)
    if name == "colouring_page":  # numpy, scipy and scikit-image: imported on first use too
        from translate.inference.colouring_page import colouring_page

        return colouring_page
    raise AttributeError(f"module 'translate' has no attribute {name!r}")


__all__ = [
    "DATASETS",
    "DISCRIMINATORS",
    "GENERATORS",
    "LabelConditional",
    "LOSSES",
    "STYLES",
    "TRAINERS",
    "TranslateError",
    "Translator",
    "colouring_page",
    "create",
    "list_models",
    "list_names",
    "load",
    "load_sampler",
    "pull",
    "registry",
    "sample",
]
