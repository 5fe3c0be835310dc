"""Drawing from a label-conditional run (`translate train --model cgan`): `load_sampler(run)`, `sample(run, labels)`.

Such a run generates rather than translates, so it has no Translator: `predict`, `eval` and `export` refuse it and
point here, and `translate sample RUN --labels 3,1,4` draws from it.
"""

from __future__ import annotations

import os
from typing import Iterable, Sequence

import torch
from PIL import Image

from translate.config import from_run
from translate.data.digits import N_CLASSES, clean_digits
from translate.data.transforms import to_image
from translate.device import choose_device
from translate.errors import CheckpointError, ConfigError
from translate.models.conditional import LabelGenerator
from translate.zoo.pull import open_run

GENERATION_LAYOUT = "labels"  # data.layout of the runs that draw for labels


def draws_for_labels(config: dict) -> bool:
    """Whether a run's config describes a model that draws images for labels (a cgan run) rather than translates."""
    return config.get("data", {}).get("layout") == GENERATION_LAYOUT


def refuse_translating(config: dict, label: str) -> None:
    """The one-line refusal of `predict`, `eval` and `export` for a run that draws for labels."""
    if draws_for_labels(config):
        raise ConfigError(f"{label} draws digits for labels (trainer '{config.get('trainer', {}).get('name')}') "
                          f"rather than translating images; draw with: translate sample {label} --labels 3,1,4 "
                          "--out digits.png")


def parse_labels(text: str | Iterable[int]) -> list[int]:
    """"3,1,4", "0-9" or a list of ints -> the labels, each checked to be a digit 0-9."""
    labels: list[int] = []
    parts = [p for p in text.split(",") if p.strip()] if isinstance(text, str) else list(text)
    for part in parts:
        try:
            if isinstance(part, str) and "-" in part.strip()[1:]:
                first, last = part.strip().split("-", 1)
                labels += list(range(int(first), int(last) + 1))
            else:
                labels.append(int(part))
        except ValueError:
            raise ConfigError(f"labels {text!r}: expected digits separated by commas or a range, e.g. 3,1,4 or "
                              "0-9") from None
    bad = [label for label in labels if not 0 <= label < N_CLASSES]
    if bad or not labels:
        raise ConfigError(f"labels {text!r}: {'no label' if not labels else f'{bad[0]} is not a digit'}; pass "
                          f"labels 0-{N_CLASSES - 1}, e.g. 3,1,4 or 0-9")
    return labels


class LabelConditional:
    """A trained label-conditional generator: draws images of chosen labels (digits 0-9), on its device."""

    def __init__(self, generator: LabelGenerator, source: str = "") -> None:
        self.generator, self.source = generator.eval(), source

    def __repr__(self) -> str:
        g = self.generator
        return f"LabelConditional({self.source or 'generator'}: {g.channels} x {g.size} x {g.size}, labels 0-{g.n_classes - 1})"

    def to(self, device: torch.device | str) -> LabelConditional:
        """The same sampler on another device."""
        self.generator.to(choose_device(device))
        return self

    def draw(self, labels: Sequence[int] | str, n: int = 1, seed: int = 0) -> torch.Tensor:
        """`n` drawings of each label: a len(labels) x n x C x H x W tensor in [-1, 1], on the CPU. The j-th drawing
        of every label comes from the same noise (of `seed`), so a seed gives the same drawings each time."""
        if n < 1:
            raise ConfigError(f"n = {n}: draw 1 or more images per label")
        with torch.no_grad():
            return self.generator.draw(parse_labels(labels), n, seed).cpu()

    def images(self, labels: Sequence[int] | str, n: int = 1, seed: int = 0) -> list[list[Image.Image]]:
        """The drawings as grey PIL images: images[i][j] is the j-th drawing of labels[i]."""
        return [[to_image(x) for x in row] for row in self.draw(labels, n, seed)]

    def grid(self, labels: Sequence[int] | str, n: int = 8, seed: int = 0) -> Image.Image:
        """A sample grid: a row per label, its clean digit first (column "label"), then its `n` drawings."""
        from translate.trainers.samples import sample_grid

        labels = parse_labels(labels)
        drawn = self.draw(labels, n, seed)
        shown = clean_digits(self.generator.size)[labels]
        return sample_grid({"label": shown, **{f"z{j + 1}": drawn[:, j] for j in range(n)}})


def load_sampler(run: str | os.PathLike[str], device: str | torch.device = "cpu", tag: str | None = None
                 ) -> LabelConditional:
    """The generator of a cgan run (a run directory, or a checkpoint file in one), ready to draw."""
    from translate.trainers.cgan import generator_keywords

    found = open_run(run, tag)
    if not draws_for_labels(found.config):
        raise ConfigError(f"{found.label} translates images (trainer '{found.config.get('trainer', {}).get('name')}'),"
                          f" it does not draw for labels; use: translate predict {found.label} IMAGE --out DIR")
    config = from_run(found.config)
    generator = LabelGenerator(**generator_keywords(config))
    try:
        generator.load_state_dict(found.state("G"))
    except RuntimeError as e:
        raise CheckpointError(f"{found.label}: G does not fit its config ({str(e).strip().splitlines()[0]})") from None
    return LabelConditional(generator, found.label).to(device)


def sample(run: str | os.PathLike[str], labels: Sequence[int] | str, n: int = 1, seed: int = 0,
           device: str | torch.device = "cpu") -> list[list[Image.Image]]:
    """Draw `n` images of each label from a cgan run: images[i][j] is the j-th drawing of labels[i] (grey PIL)."""
    return load_sampler(run, device).images(labels, n, seed)
