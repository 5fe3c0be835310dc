"""The image options every training data set takes (direction, sizes, jitter, channels): their one home.

A key added to `ImageOptions` (with its default in config's `DEFAULTS["data"]`) becomes a keyword of every
data set that takes the options, is read from the [data] table by `image_keywords`, and is checked by the
registry like any part's keyword: nothing else spells the keys out.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping, TypeVar

from translate.config import DEFAULTS
from translate.data.transforms import Jitter
from translate.errors import DataError

DIRECTIONS = ("AtoB", "BtoA")

_DATA = DEFAULTS["data"]  # the defaults' one home; a data set built without a config gets the same ones


@dataclass(frozen=True)
class ImageOptions:
    """How a data set's images come out: which side is the source, the jitter, and each side's channels.

    `train` turns the jitter on (resize to load_size, random crop to crop_size, random flip); off, images are
    resized to `held_out_size` (test_size, or crop_size when it is 0): a model trained on crops of large images
    is then scored on whole images at the scale its features were learnt at. The channels are those of the
    source and target after `direction` is applied.
    """

    direction: str = _DATA["direction"]
    load_size: int = _DATA["load_size"]
    crop_size: int = _DATA["crop_size"]
    test_size: int = _DATA["test_size"]
    flip: bool = _DATA["flip"]
    train: bool = True
    in_channels: int = _DATA["in_channels"]
    out_channels: int = _DATA["out_channels"]

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise DataError(f"direction '{self.direction}' is not AtoB or BtoA")

    @property
    def swap(self) -> bool:
        """Whether the B side is the source (direction BtoA)."""
        return self.direction == "BtoA"

    @property
    def held_out_size(self) -> int:
        """The size of held-out images (no jitter): see `held_out_size`."""
        return held_out_size(vars(self))

    @property
    def jitter(self) -> Jitter:
        """The augmentation these options describe."""
        return Jitter(self.load_size, self.crop_size if self.train else self.held_out_size, self.flip, self.train)


OPTION_NAMES = tuple(f.name for f in fields(ImageOptions))


def held_out_size(data: Mapping[str, Any]) -> int:
    """The size held-out images are resized to, from a [data] table (or options): test_size, or crop_size when
    it is 0 or absent (configs written before test_size existed)."""
    return int(data.get("test_size") or data["crop_size"])


def image_keywords(data: dict[str, Any], train: bool) -> dict[str, Any]:
    """The image options of a config's [data] table as keyword arguments for a data set; `train` is the split's."""
    return {name: train if name == "train" else data[name] for name in OPTION_NAMES}


Init = TypeVar("Init", bound=Callable[..., None])


def takes_image_options(init: Init) -> Init:
    """Decorator for a data set's `__init__(self, ..., **options)` that passes `options` to `ImageOptions`.

    Its signature then lists the options as keyword arguments, so the registry checks them (and names the valid
    ones) as it does any part's keywords, where a bare **options would let any keyword through.
    """
    signature = inspect.signature(init)
    own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    options = [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
        for f in fields(ImageOptions)
    ]
    # The options go before the data set's own keyword-only ones (on_error), where they always stood.
    at = next((i for i, p in enumerate(own) if p.kind is inspect.Parameter.KEYWORD_ONLY), len(own))
    init.__signature__ = signature.replace(parameters=own[:at] + options + own[at:])  # type: ignore[attr-defined]
    return init
