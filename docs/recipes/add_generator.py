"""Recipe: add a generator (compare the reference's models/template_model.py).

1. Subclass `translate.models.base.Generator`. Say which sizes the network takes (`size_multiple`, `min_size`)
   and implement `forward_aligned` for those sizes only: the base class's `forward` reflection-pads any other
   size up to the next fitting one and crops the result back, so predict, tiling and export work at any size.
   Inputs and outputs are in [-1, 1], so end in tanh.
2. Take plain keyword arguments, each with a default. The trainer passes `in_channels` and `out_channels`;
   the config's [generator] table passes the rest straight to the constructor (`--set generator.width=8`),
   and a misspelt key is refused with the closest valid one.
3. Register it: `@GENERATORS.register("tiny", "one line for `translate models`")`. Names are unique per kind.
4. Use it by name: `generator.name = "tiny"` in a config, `--generator tiny` on the command line, or
   `translate.create("generator", "tiny", width=8)`. The module that registers it must be imported first.
   From Python, `import my_parts` is enough. The `translate` command imports only its own modules: put the
   class in a module under translate/models/ that translate/models/__init__.py imports, or start the command
   from a script of yours that imports your module first:

       import my_parts                      # registers "tiny"
       from translate.cli import main
       main()                               # python my_translate.py train --model pix2pix --generator tiny ...

Below: a tiny encoder-decoder. `main` trains pix2pix with it for a few steps at 32 px through the same config
and loop as `translate train --model pix2pix --style coloring --generator tiny`, then loads the run and
translates an odd-sized image:

    python docs/recipes/add_generator.py [RUN_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from torch import nn

import translate
from translate.config import resolve
from translate.models.base import Generator
from translate.models.layers import init_weights, norm_layer
from translate.registry import GENERATORS
from translate.trainers.loop import train


@GENERATORS.register("tiny", "a tiny encoder-decoder: one stride-2 level around residual blocks (a recipe)")
class TinyGenerator(Generator):
    """Conv, one stride-2 conv down, `n_blocks` residual blocks, a transposed conv back up, conv, tanh.

    One stride-2 level: sides must be even (`size_multiple = 2`) and at least 4, so that instance norm still
    sees 2x2 values after the downsampling (`min_size = 4`).
    """

    size_multiple = 2
    min_size = 4

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        width: int = 16,
        n_blocks: int = 2,
        norm: str = "instance",
    ) -> None:
        super().__init__()
        inner = 2 * width
        self.down = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), norm_layer(norm, width), nn.ReLU(),
            nn.Conv2d(width, inner, 4, stride=2, padding=1), norm_layer(norm, inner), nn.ReLU(),
        )
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(inner, inner, 3, padding=1), norm_layer(norm, inner), nn.ReLU(),
                          nn.Conv2d(inner, inner, 3, padding=1), norm_layer(norm, inner))
            for _ in range(n_blocks)
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(inner, width, 4, stride=2, padding=1), norm_layer(norm, width), nn.ReLU(),
            nn.Conv2d(width, out_channels, 3, padding=1), nn.Tanh(),
        )
        init_weights(self, "normal", 0.02)  # the reference's N(0, 0.02)

    def forward_aligned(self, x: torch.Tensor) -> torch.Tensor:
        """Translate a batch whose sides are even and at least 4 pixels."""
        h = self.down(x)
        for block in self.blocks:
            h = h + block(h)
        return self.up(h)


# A run small enough to finish in seconds on a CPU: 32 px crops, 4 scenes, 4 steps, narrow networks.
TINY_RUN = [
    "data.load_size=36", "data.crop_size=32", "data.n_train=4", "data.n_test=2",
    "train.steps=4", "train.log_every=1", "train.n_samples=2", "train.quiet=true",
    "generator.width=8", "discriminator.width=8",
]


def main(out: str | Path) -> dict:
    """Train pix2pix with the tiny generator into `out`; translate an odd-sized image with the result."""
    # `overrides` is what --generator and --out put in; the strings are what --set takes.
    config = resolve("pix2pix", "coloring", overrides={"generator": {"name": "tiny"}, "train": {"out": str(out)}},
                     assignments=TINY_RUN)
    run = train(config)
    translator = translate.load(run)  # rebuilds "tiny" from the run's config.toml and loads its weights
    image = torch.rand(3, 45, 30) * 2 - 1  # an odd size: forward pads to 46 x 30 and crops back
    output = translator(image)
    print(f"pix2pix with generator 'tiny' trained in {run}; a 45x30 image came back {tuple(output.shape[-2:])}")
    return {"run": run, "config": config, "translator": translator, "input": image, "output": output}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="recipe-generator-"))
