"""`translate sample`: draw images for chosen labels from a label-conditional run (`--model cgan`)."""

from __future__ import annotations

import click

from translate.cli.base import setup_logging


@click.command()
@click.argument("run", metavar="RUN_OR_CHECKPOINT")
@click.option("--labels", default="0-9", show_default=True, help="The digits to draw, e.g. 3,1,4 or 0-9.")
@click.option("--n", "n", type=click.IntRange(min=1), default=8, show_default=True, help="Drawings per label.")
@click.option("--seed", type=int, default=0, show_default=True, help="The noise; the same seed draws the same images.")
@click.option("--out", "-o", required=True, type=click.Path(), help="The PNG to write: a row per label.")
@click.option("--device", default="cpu", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def sample(run: str, labels: str, n: int, seed: int, out: str, device: str, overwrite: bool) -> None:
    """Draw digits for chosen labels with a cgan run: `translate sample RUN --labels 3,1,4 --n 8 --out grid.png`.

    Each row is one label: its clean digit, then N drawings, each column from one noise.
    """
    from translate.inference.sampling import load_sampler, parse_labels
    from translate.outputs import check_output_file
    from translate.trainers.samples import save_image

    setup_logging()
    chosen = parse_labels(labels)
    check_output_file(out, overwrite, example="digits.png")
    save_image(load_sampler(run, device).grid(chosen, n, seed), out)
    click.echo(f"wrote {out}: {n} drawings of each of {', '.join(map(str, chosen))} (seed {seed})")
