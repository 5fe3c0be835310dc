"""`translate train`: resolve the layered config from flags, then hand it to the training loop."""

from __future__ import annotations

import os
from typing import Any

import click

from translate.cli.base import setup_logging


@click.command()
@click.option("--model", "-m", help="Model preset: configs/models/<MODEL>.toml (pix2pix, cyclegan, cartoongan).")
@click.option("--style", "-s", help="Style preset: configs/styles/<STYLE>.toml (data and size).")
@click.option("--generator", help="Swap in any registered generator.")
@click.option("--discriminator", help="Swap in any registered discriminator.")
@click.option("--data", "data_root", type=click.Path(), help="Your own data folder instead of the embedded world.")
@click.option("--size", type=int, help="Training crop size in pixels (load size scales with it; held-out images this size too).")
@click.option("--steps", type=int, help="Stop after N steps.")
@click.option("--epochs", type=int, help="Train for N epochs.")
@click.option("--batch-size", type=int)
@click.option("--seed", type=int)
@click.option("--device", help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--out", type=click.Path(), help="Run directory (default runs/<model>-<style>).")
@click.option("--resume", type=click.Path(), help="Continue the run in this directory from its latest checkpoint "
              "(--steps, --epochs, --device, -q and train.*/data.workers settings may change; the networks and data may not).")
@click.option("--preset", help="Layered after the style: configs/presets/<PRESET>.toml (paper: the papers' 256 px and widths).")
@click.option("--config", "config_file", type=click.Path(), help="A TOML file of overrides.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override one key, e.g. generator.width=32.")
@click.option("--tensorboard", is_flag=True, help="Also write TensorBoard event files into RUN/tensorboard/ "
              '(train.tensorboard; pip install "translate-zoo[tensorboard]").')
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
    preset: str | None,
    config_file: str | None,
    assignments: tuple[str, ...],
    tensorboard: bool,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Train a model on a style: `translate train --model cyclegan --style shinkai`."""
    from translate import config as cfg

    setup_logging(quiet)
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
        put("data", "test_size", 0)  # held out at the size trained at
    put("train", "steps", steps)
    put("train", "epochs", epochs)
    put("train", "batch_size", batch_size)
    put("train", "seed", seed)
    put("train", "device", device)
    if quiet:
        put("train", "quiet", True)
    if tensorboard:
        put("train", "tensorboard", True)
    if resume:
        from translate.errors import ConfigError
        from translate.resume import for_resume
        from translate.rundir import read_config

        if out or preset:
            raise ConfigError(f"{'--out' if out else '--preset'} with --resume: a resumed run keeps its directory and "
                              "its config; drop it, or start a new run")
        for key, value in (("model", model), ("style", style)):
            if value is not None:
                flags[key] = value
        resolved = for_resume(read_config(resume), flags, assignments, config_file)
    else:
        put("train", "out", out)
        resolved = cfg.resolve(model, style, config_file, flags, assignments, preset=preset)
    if dry_run:
        from translate.rundir import dumps_toml

        click.echo(dumps_toml(resolved), nl=False)
        return
    from translate.trainers.loop import train as run_training

    run = run_training(resolved, resume=resume)
    # the loop's last line names the run directory; quiet runs print it alone, for scripts (rank 0 under torchrun)
    if resolved["train"]["quiet"] and int(os.environ.get("RANK", "0")) == 0:
        click.echo(f"run directory: {run}")
