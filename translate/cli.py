"""The `translate` command: each command parses its options, calls the library, and prints."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from translate.errors import TranslateError


class Group(click.Group):
    """A click group that turns a TranslateError into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TranslateError as e:
            raise click.ClickException(str(e)) from None


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno == logging.INFO else record.levelname.lower() + ": "
        return level + record.getMessage()


def _setup_logging(quiet: bool = False) -> None:
    log = logging.getLogger("translate")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_OneLine())
        log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="translate", message="translate %(version)s")
def main() -> None:
    """translate: image-to-image translation (pix2pix, CycleGAN, CartoonGAN) on PyTorch."""
    _setup_logging()


# ----------------------------------------------------------------------------------------------- models


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--params", is_flag=True, help="Parameters and multiply-accumulates of every part at --size.")
@click.option("--size", default=256, show_default=True, help="Image size for --params.")
def models(as_json: bool, params: bool, size: int) -> None:
    """List every registered part, model preset and style."""
    from translate.config import preset_names, read_preset
    from translate.registry import REGISTRIES

    listing: dict[str, list[dict[str, Any]]] = {
        kind: [{"name": e.name, "doc": e.doc} for e in reg] for kind, reg in REGISTRIES.items()
    }
    listing["model"] = [
        {"name": n, "doc": read_preset("models", n).get("description", "")} for n in preset_names("models")
    ]
    if params:
        from translate.models.measure import part_table

        listing["params"] = part_table(size)
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    for kind in ("model", *REGISTRIES):
        click.echo(f"{'losses' if kind == 'loss' else kind + 's'}:")
        for row in listing[kind]:
            click.echo(f"  {row['name']:<16} {row['doc']}")
    if params:
        click.echo(f"\nparameters and multiply-accumulates at {size}x{size}:")
        click.echo(f"  {'kind':<14} {'name':<12} {'params':>14} {'GMACs':>10}")
        for row in listing["params"]:
            click.echo(f"  {row['kind']:<14} {row['name']:<12} {row['params']:>14,} {row['macs'] / 1e9:>10.2f}")


# ------------------------------------------------------------------------------------------------ train


@main.command()
@click.option("--model", "-m", help="Model preset: configs/models/<MODEL>.toml (pix2pix, cyclegan, cartoongan).")
@click.option("--style", "-s", help="Style preset: configs/styles/<STYLE>.toml (data and size).")
@click.option("--generator", help="Swap in any registered generator.")
@click.option("--discriminator", help="Swap in any registered discriminator.")
@click.option("--data", "data_root", type=click.Path(), help="Your own data folder instead of the embedded world.")
@click.option("--size", type=int, help="Training crop size in pixels (load size scales with it).")
@click.option("--steps", type=int, help="Stop after N steps.")
@click.option("--epochs", type=int, help="Train for N epochs.")
@click.option("--batch-size", type=int)
@click.option("--seed", type=int)
@click.option("--device", help="auto, cpu, cuda or cuda:N.")
@click.option("--out", type=click.Path(), help="Run directory (default runs/<model>-<style>).")
@click.option("--resume", type=click.Path(), help="Continue the run in this directory from its latest checkpoint.")
@click.option("--config", "config_file", type=click.Path(), help="A TOML file of overrides.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override one key, e.g. generator.width=32.")
@click.option("--dry-run", is_flag=True, help="Resolve and print the config; do not train.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; warnings and errors only.")
def train(
    model: str | None,
    style: str | None,
    generator: str | None,
    discriminator: str | None,
    data_root: str | None,
    size: int | None,
    steps: int | None,
    epochs: int | None,
    batch_size: int | None,
    seed: int | None,
    device: str | None,
    out: str | None,
    resume: str | None,
    config_file: str | None,
    assignments: tuple[str, ...],
    dry_run: bool,
    quiet: bool,
) -> None:
    """Train a model on a style: `translate train --model cyclegan --style shinkai`."""
    from translate import config as cfg

    _setup_logging(quiet)
    if resume and not (model or style or config_file):
        from translate.rundir import read_config

        resolved = cfg.from_run(read_config(resume))
    else:
        flags: dict[str, Any] = {}

        def put(table: str, key: str, value: Any) -> None:
            if value is not None:
                flags.setdefault(table, {})[key] = value

        put("generator", "name", generator)
        put("discriminator", "name", discriminator)
        put("data", "root", data_root)
        if size is not None:
            put("data", "crop_size", size)
            put("data", "load_size", size * 286 // 256)
        put("train", "steps", steps)
        put("train", "epochs", epochs)
        put("train", "batch_size", batch_size)
        put("train", "seed", seed)
        put("train", "device", device)
        put("train", "out", out or resume)
        if quiet:
            put("train", "quiet", True)
        resolved = cfg.resolve(model, style, config_file, flags, assignments)
    if dry_run:
        from translate.rundir import dumps_toml

        click.echo(dumps_toml(resolved), nl=False)
        return
    from translate.trainers.loop import train as run_training

    run = run_training(resolved, resume=resume)
    click.echo(f"run directory: {run}")


# ---------------------------------------------------------------------------------------- import-weights


@main.command("import-weights")
@click.argument("file", type=click.Path())
@click.option("--generator", type=click.Choice(["unet", "resnet"]), default="unet", show_default=True)
@click.option("--out", required=True, type=click.Path(), help="Run directory to write.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Generator keywords, e.g. n_blocks=6.")
@click.option("--overwrite", is_flag=True, help="Replace a run already in --out.")
def import_weights(file: str, generator: str, out: str, assignments: tuple[str, ...], overwrite: bool) -> None:
    """Import a reference pix2pix/CycleGAN generator checkpoint (latest_net_G.pth) into a run directory."""
    from translate.config import parse_assignment
    from translate.weights import import_reference

    kwargs = {}
    for text in assignments:
        path, value = parse_assignment(text)
        kwargs[path[-1]] = value
    run = import_reference(file, out, generator=generator, overwrite=overwrite, **kwargs)
    click.echo(f"imported {file} into {run}")


# ------------------------------------------------------------------------------------------------- data


@main.group(cls=Group)
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
def data_make(source: str, task: str, n: int, n_test: int | None, size: int, seed: int, out: str) -> None:
    """Write a data set from the embedded scenes world in the standard folder layout."""
    from translate.data import scenes
    from translate.registry import unknown_message

    if task not in scenes.TASKS:
        raise TranslateError(unknown_message("task", task, list(scenes.TASKS)))
    counts = scenes.write_task(task, n=n, size=size, seed=seed, out=out, n_test=n_test, progress=True)
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
def data_check(folder: str, as_json: bool) -> None:
    """Check a data folder: counts, unreadable files, unpaired names, sizes, modes. Exit 0 only if usable."""
    from translate.data.check import check_folder

    report = check_folder(folder)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            click.echo(line)
    if not report.usable:
        sys.exit(1)


@data.command("preview")
@click.option("--seeds", default="0,1,2,3", show_default=True, help="Comma-separated scene seeds, one row each.")
@click.option("--size", default=256, show_default=True)
@click.option("--out", required=True, type=click.Path())
def data_preview(seeds: str, size: int, out: str) -> None:
    """Draw scenes of the embedded world in their four renderings (labels, photo, shinkai, sketch)."""
    from translate.data import scenes

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise TranslateError(f"--seeds '{seeds}': expected whole numbers separated by commas, e.g. 0,1,2") from None
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    scenes.preview(seed_list, size).save(out)
    click.echo(f"wrote {out}")
