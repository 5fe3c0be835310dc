"""Recipe: add a style (compare the reference's data/template_dataset.py).

A style is a TOML file, configs/styles/<name>.toml: which data a run learns from and at what size. It is a
layer of the config (defaults < model < style < preset < --config < flags < --set), so it may set any key of
[data], [train], [content] and the part tables; `translate train --style <name>` finds it by its file name,
and `translate models` lists it with its `description`. No Python is needed.

1. Write configs/styles/<name>.toml (copy one of configs/styles/*.toml): a `description` line, the [data]
   table (`layout` paired or unpaired; `task` for the embedded scenes world, or `root` for a folder of yours:
   see "Data layouts" in README.md), and the sizes and widths that suit it.
2. `[models.<model>.<table>]` tables apply only when that model trains (configs/styles/shinkai.toml gives
   CartoonGAN more epochs than CycleGAN).
3. Check it without training: `translate train --model pix2pix --style <name> --dry-run` prints the resolved
   config; an unknown key is refused with the closest valid one.
4. There is no user folder for styles: the file goes into the configs/ folder of the installed package
   (configs/ in a source checkout or editable install). Elsewhere, pass the same tables as a file of your
   own, `--config my_style.toml` (all but the [models.*] tables; the run then has no style name).

Below: `photo2labels`, pix2pix's segmentation direction (photo -> label map), made from the scenes world's
`labels2photo` task read backwards. `main` writes the file into the package's configs/styles/ (delete it to
remove the style) and trains pix2pix on it for a few steps at 32 px, as
`translate train --model pix2pix --style photo2labels --steps 4 --set ...` would:

    python docs/recipes/add_style.py [RUN_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import translate
from translate.config import configs_dir, resolve
from translate.files import write_text
from translate.trainers.loop import train

NAME = "photo2labels"

STYLE = '''\
description = "photos -> segmentation label maps (paired); default data: the scenes world's labels2photo, reversed"

# The embedded default, sized as the other styles: 64 px scenes and narrow networks.

[data]
layout = "paired"
task = "labels2photo"
direction = "BtoA"  # the world's B side (the photo) is the source, its A side (the label map) the target
load_size = 72
crop_size = 64
flip = true
n_train = 400
n_test = 50

[train]
epochs = 20  # 400 scenes: 8000 steps at batch 1

[generator]
width = 16

[discriminator]
width = 16
n_layers = 2  # a 34 px PatchGAN
'''

# A run small enough to finish in seconds on a CPU: 32 px crops, 4 scenes, 4 steps, narrow networks.
TINY_RUN = [
    "data.load_size=36", "data.crop_size=32", "data.n_train=4", "data.n_test=2",
    "train.steps=4", "train.log_every=1", "train.n_samples=2", "train.quiet=true",
    "generator.width=8", "discriminator.width=8",
]


def add_style() -> Path:
    """Write configs/styles/photo2labels.toml into the package's configs folder; returns the file."""
    path = configs_dir() / "styles" / f"{NAME}.toml"
    write_text(path, STYLE)  # atomic, like every file the package writes
    return path


def main(out: str | Path) -> dict:
    """Add the style, then train pix2pix on it into `out` and load the result."""
    path = add_style()
    config = resolve("pix2pix", NAME, overrides={"train": {"out": str(out)}}, assignments=TINY_RUN)
    run = train(config)
    translator = translate.load(run)
    print(f"style '{NAME}' written to {path}; pix2pix trained on it in {run}")
    return {"style_file": path, "run": run, "config": config, "translator": translator}


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="recipe-style-"))
