"""`translate data ...`: make, download, check, edge-smooth and preview data sets."""

from __future__ import annotations

import json
import sys

import click

from translate.cli.base import Group
from translate.errors import TranslateError


@click.group(cls=Group)
def data() -> None:
    """Make, check and prepare data sets."""


@data.command("make")
@click.argument("source", type=click.Choice(["scenes"]))
@click.option("--task", required=True, help="labels2photo, photo2sketch, sketch2photo or photo2shinkai.")
@click.option("--n", "n", default=1000, show_default=True, help="Training images.")
@click.option("--n-test", type=int, help="Images in val/ and test/ (default n/10).")
@click.option("--size", default=256, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--out", required=True, type=click.Path())
@click.option("--overwrite", is_flag=True,
              help="Write into a folder that is not empty, replacing the numbered images of an earlier set there.")
def data_make(source: str, task: str, n: int, n_test: int | None, size: int, seed: int, out: str,
              overwrite: bool) -> None:
    """Write a data set from the embedded scenes world in the standard folder layout."""
    from translate.data import scenes
    from translate.errors import unknown_message

    if task not in scenes.TASKS:
        raise TranslateError(unknown_message("task", task, list(scenes.TASKS)))
    counts = scenes.write_task(task, n=n, size=size, seed=seed, out=out, n_test=n_test, progress=True,
                               overwrite=overwrite)
    click.echo(f"wrote {sum(counts.values())} images to {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


@data.command("download")
@click.argument("name", required=False)
@click.option("--out", default="datasets", show_default=True, type=click.Path(), help="NAME lands in OUT/NAME.")
@click.option("--file", "file", type=click.Path(), help="An archive fetched by other means, used instead of downloading.")
@click.option("--force", is_flag=True, help="Download and extract again even if OUT/NAME is there.")
@click.option("--list", "list_", is_flag=True, help="List the known data sets.")
def data_download(name: str | None, out: str, file: str | None, force: bool, list_: bool) -> None:
    """Download a public pix2pix or CycleGAN data set by name, verified and extracted safely."""
    from translate.data.known import KNOWN, download_dataset

    if list_ or name is None:
        for known in KNOWN.values():
            click.echo(f"{known.name:24} {known.layout:9} {known.doc}")
        return
    folder = download_dataset(name, out, file=file, progress=True, force=force)
    click.echo(f"{folder}  (train with --data {folder})")


@data.command("check")
@click.argument("folder", type=click.Path())
@click.option("--json", "as_json", is_flag=True)
@click.option("--max-pixels", type=click.IntRange(min=1),
              help="Read images of up to this many pixels (default about 9460 x 9460; larger ones are reported "
                   "unreadable, as the training loaders skip them).")
def data_check(folder: str, as_json: bool, max_pixels: int | None) -> None:
    """Check a data folder: counts, unreadable files, unpaired names, sizes, modes. Exit 0 only if usable."""
    from translate.data.check import check_folder
    from translate.data.transforms import MAX_PIXELS

    report = check_folder(folder, max_pixels or MAX_PIXELS)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            click.echo(line)
    if not report.usable:
        sys.exit(1)


@data.command("edge-smooth")
@click.argument("folder", type=click.Path())
@click.option("--out", required=True, type=click.Path(), help="Folder for the smoothed copies (same tree).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.option("--overwrite", is_flag=True, help="Write into an output folder that is not empty.")
def data_edge_smooth(folder: str, out: str, quiet: bool, overwrite: bool) -> None:
    """Write CartoonGAN's edge-smoothed negatives of a folder of cartoons (Canny edges, dilated, blurred)."""
    from translate.data.cartoon import edge_smooth_folder

    count = edge_smooth_folder(folder, out, progress=not quiet, overwrite=overwrite)
    click.echo(f"wrote {count} edge-smoothed images to {out}")


@data.command("preview")
@click.option("--seeds", default="0,1,2,3", show_default=True, help="Comma-separated scene seeds, one row each.")
@click.option("--size", default=256, show_default=True)
@click.option("--out", required=True, type=click.Path(), help="The image file to write (preview.png).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def data_preview(seeds: str, size: int, out: str, overwrite: bool) -> None:
    """Draw scenes of the embedded world in their four renderings (labels, photo, shinkai, sketch)."""
    from translate.data import scenes

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise TranslateError(f"--seeds '{seeds}': expected whole numbers separated by commas, e.g. 0,1,2") from None
    scenes.write_preview(out, seed_list, size, overwrite=overwrite)
    click.echo(f"wrote {out}")
