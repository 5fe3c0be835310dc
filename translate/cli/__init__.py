"""The `translate` command: each command parses its options, calls the library, and prints.

One module per group of commands; this file only assembles them under `main` (the console script).
"""

from __future__ import annotations

import click

from translate import __version__
from translate.cli.base import Group, setup_logging
from translate.cli.catalogue import import_weights, models, pull
from translate.cli.data import data
from translate.cli.measure import benchmark, eval_command
from translate.cli.predict import export, predict
from translate.cli.sample import sample
from translate.cli.serve import serve
from translate.cli.train import train


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
# The version comes from the package itself, not from installed metadata: the distribution is `translate-zoo`
# (PyPI's `translate` is another project), and a source checkout on PYTHONPATH has no metadata at all.
@click.version_option(__version__, message="translate %(version)s")
def main() -> None:
    """translate: image-to-image translation (pix2pix, CycleGAN, CartoonGAN) on PyTorch; and a cGAN that draws digits."""
    setup_logging()


for command in (models, pull, train, predict, sample, export, import_weights, data, eval_command, benchmark, serve):
    main.add_command(command)
