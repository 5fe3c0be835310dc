"""Commands of the catalogue: list what exists (`models`), `pull` a model, `import-weights` of the reference."""

from __future__ import annotations

import json
from typing import Any

import click

from translate.cli.base import setup_logging


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--params", is_flag=True, help="Parameters and multiply-accumulates of every part at --size.")
@click.option("--size", default=256, show_default=True, help="Image size for --params.")
def models(as_json: bool, params: bool, size: int) -> None:
    """List the catalogue of trained models, and every registered part, model preset and style."""
    from translate.config import preset_names, read_preset
    from translate.registry import REGISTRIES
    from translate.zoo.pull import listing as catalogue_listing

    listing: dict[str, list[dict[str, Any]]] = {
        kind: [{"name": e.name, "doc": e.doc} for e in reg] for kind, reg in REGISTRIES.items()
    }
    listing["model"] = [
        {"name": n, "doc": read_preset("models", n).get("description", "")} for n in preset_names("models")
    ]
    listing["catalogue"] = catalogue_listing()
    if params:
        from translate.bench.measure import part_table

        listing["params"] = part_table(size)
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    click.echo("catalogue (trained models; translate pull NAME, then translate predict NAME ...):")
    click.echo(f"  {'name':<30} {'here':<5} {'source':<11} {'metric':<14} task")
    for row in listing["catalogue"]:
        source = "shipped" if row["source"] == "shipped" else row["format"]
        here = "yes" if row["on_this_machine"] else "no"
        metric = row["metric"] or "not measured"
        click.echo(f"  {row['name']:<30} {here:<5} {source:<11} {metric:<14} {row['task']}")
    click.echo()
    for kind in ("model", *REGISTRIES):
        click.echo(f"{'losses' if kind == 'loss' else kind + 's'}:")
        for row in listing[kind]:
            click.echo(f"  {row['name']:<16} {row['doc']}")
    if params:
        click.echo(f"\nparameters and multiply-accumulates at {size}x{size}:")
        click.echo(f"  {'kind':<14} {'name':<12} {'params':>14} {'GMACs':>10}")
        for row in listing["params"]:
            click.echo(f"  {row['kind']:<14} {row['name']:<12} {row['params']:>14,} {row['macs'] / 1e9:>10.2f}")


@click.command()
@click.argument("name")
@click.option("--file", "file", type=click.Path(), help="A checkpoint fetched by other means, used instead.")
@click.option("--force", is_flag=True, help="Download and import again even if the model is on this machine.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; warnings and errors only.")
def pull(name: str, file: str | None, force: bool, quiet: bool) -> None:
    """Download a catalogue model by name (see translate models), verify it and make it ready to run."""
    from translate.zoo.pull import pull as pull_model

    setup_logging(quiet)
    run = pull_model(name, file=file, force=force, progress=not quiet)
    click.echo(f"{name} is ready in {run}; run it with: translate predict {name} IMAGE --out DIR")


@click.command("import-weights")
@click.argument("file", type=click.Path())
@click.option("--generator", type=click.Choice(["unet", "resnet"]), default="unet", show_default=True)
@click.option("--out", required=True, type=click.Path(), help="Run directory to write.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Generator keywords, e.g. n_blocks=6.")
@click.option("--overwrite", is_flag=True, help="Replace a run already in --out.")
def import_weights(file: str, generator: str, out: str, assignments: tuple[str, ...], overwrite: bool) -> None:
    """Import a reference pix2pix/CycleGAN generator checkpoint (latest_net_G.pth) into a run directory."""
    from translate.config import parse_assignment
    from translate.zoo.importers import import_reference

    kwargs = {}
    for text in assignments:
        path, value = parse_assignment(text)
        kwargs[path[-1]] = value
    run = import_reference(file, out, generator=generator, overwrite=overwrite, **kwargs)
    click.echo(f"imported {file} into {run}")
