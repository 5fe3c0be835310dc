"""The `translate` command: each command parses its options, calls the library, and prints."""

from __future__ import annotations

import json
import logging
import os
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


# ------------------------------------------------------------------------------------------------- pull


@main.command()
@click.argument("name")
@click.option("--file", "file", type=click.Path(), help="A checkpoint fetched by other means, used instead.")
@click.option("--force", is_flag=True, help="Download and import again even if the model is on this machine.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; warnings and errors only.")
def pull(name: str, file: str | None, force: bool, quiet: bool) -> None:
    """Download a catalogue model by name (see translate models), verify it and make it ready to run."""
    from translate.zoo.pull import pull as pull_model

    _setup_logging(quiet)
    run = pull_model(name, file=file, force=force, progress=not quiet)
    click.echo(f"{name} is ready in {run}; run it with: translate predict {name} IMAGE --out DIR")


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
@click.option("--preset", help="Layered after the style: configs/presets/<PRESET>.toml (paper: the papers' 256 px and widths).")
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
    preset: str | None,
    config_file: str | None,
    assignments: tuple[str, ...],
    dry_run: bool,
    quiet: bool,
) -> None:
    """Train a model on a style: `translate train --model cyclegan --style shinkai`."""
    from translate import config as cfg

    _setup_logging(quiet)
    if resume and not (model or style or config_file or preset):
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


# ---------------------------------------------------------------------------------------- predict, export


@main.command()
@click.argument("run", metavar="RUN_OR_CHECKPOINT")
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option("--out", "-o", required=True, type=click.Path(), help="Folder for the translated images.")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB", show_default=True,
              help="CycleGAN runs: G_A (AtoB) or G_B (BtoA).")
@click.option("--format", "image_format", type=click.Choice(["png", "jpg", "same"]), default="png", show_default=True,
              help="Output file type; same keeps each input's.")
@click.option("--size", help="Resize inputs to N or WxH pixels first (default: each image's own size).")
@click.option("--side-by-side", "sbs", is_flag=True, help="Write input | output side by side.")
@click.option("--tile", type=int, help="Translate in tiles of this many pixels (large images; bounded memory).")
@click.option("--overlap", type=int, default=32, show_default=True, help="Pixels two tiles share, blended.")
@click.option("--batch-size", type=int, default=1, show_default=True, help="Images (or tiles) per forward pass.")
@click.option("--keep-dropout", is_flag=True, help="Keep pix2pix's dropout noise on at test time.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="bf16 autocast, or fp32; auto: fp32 unless bf16 was measured faster on this kind of device.")
@click.option("--overwrite", is_flag=True, help="Write into an output folder that is not empty.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; warnings and errors only.")
def predict(
    run: str,
    inputs: tuple[str, ...],
    out: str,
    direction: str,
    image_format: str,
    size: str | None,
    sbs: bool,
    tile: int | None,
    overlap: int,
    batch_size: int,
    keep_dropout: bool,
    device: str,
    precision: str,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Translate images with a trained run: `translate predict RUN_OR_CHECKPOINT INPUT... --out DIR`.

    INPUT: image files, folders (recursive; sub-folders are mirrored in DIR) or globs. Outputs keep each
    input's name and size. Unreadable files are skipped with a warning; exit status 1 only if none was written.
    """
    from translate.errors import DataError
    from translate.inference.batch import check_output_folder, parse_size, predict_files
    from translate.inference.translator import load

    _setup_logging(quiet)
    if not inputs:
        raise DataError("no inputs; pass image files, folders or globs after the run, "
                        "e.g. translate predict RUN photos/ --out DIR")
    if batch_size < 1:
        raise DataError(f"--batch-size {batch_size}: use 1 or more")
    check_output_folder(Path(out), overwrite)
    translator = load(run, direction=direction, device=device, keep_dropout=keep_dropout, precision=precision)
    summary = predict_files(
        translator, list(inputs), out, image_format=image_format, size=parse_size(size), sbs=sbs, tile=tile,
        overlap=overlap, batch_size=batch_size, overwrite=overwrite, progress=not quiet,
    )
    if not summary.written:
        raise DataError(f"nothing written to {out}: {summary.line().removeprefix('wrote 0 images, ')}")
    click.echo(f"{summary.line()} -> {out}")


@main.command()
@click.argument("run", metavar="RUN_OR_CHECKPOINT")
@click.option("--format", "image_format", type=click.Choice(["onnx", "torchscript"]), default="onnx", show_default=True)
@click.option("--out", "-o", required=True, type=click.Path(), help="The file to write (model.onnx, model.pt).")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB", show_default=True,
              help="CycleGAN runs: G_A (AtoB) or G_B (BtoA).")
def export(run: str, image_format: str, out: str, direction: str) -> None:
    """Export a run's generator to ONNX or TorchScript (any batch, height and width), checked against PyTorch."""
    from translate.inference.export import CHECK_SIZE, export as export_run

    diff = export_run(run, out, image_format=image_format, direction=direction)
    click.echo(f"wrote {out} ({image_format}; input 'image' N x C x H x W in [-1, 1]); "
               f"matches PyTorch to {diff:.1e} on a {CHECK_SIZE[0]}x{CHECK_SIZE[1]} image")


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
    from translate.zoo.importers import import_reference

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
    from translate.errors import unknown_message

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


@data.command("edge-smooth")
@click.argument("folder", type=click.Path())
@click.option("--out", required=True, type=click.Path(), help="Folder for the smoothed copies (same tree).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def data_edge_smooth(folder: str, out: str, quiet: bool) -> None:
    """Write CartoonGAN's edge-smoothed negatives of a folder of cartoons (Canny edges, dilated, blurred)."""
    from translate.data.cartoon import edge_smooth_folder

    count = edge_smooth_folder(folder, out, progress=not quiet)
    click.echo(f"wrote {count} edge-smoothed images to {out}")


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


# ------------------------------------------------------------------------------------------------- eval


@main.command("eval")
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@click.option("--style", "-s", help="Score on this style's test data (default: each run's own; coloring for baselines).")
@click.option("--data", "data_root", type=click.Path(), help="Score on your own data folder (paired test split).")
@click.option("--split", default="test", show_default=True, help="Which split of the data.")
@click.option("--limit", default=100, show_default=True, help="Score the first N images of the split.")
@click.option("--size", type=int, help="Image size in pixels (default: the run's or style's crop size).")
@click.option("--batch-size", default=8, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--inception", type=click.Path(), help="Inception-v3 weights for FID/KID (torchvision's inception_v3_google-*.pth).")
@click.option("--out", "-o", type=click.Path(), help="Also write the report(s) to this JSON file.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; warnings and errors only.")
def eval_command(
    runs: tuple[str, ...],
    style: str | None,
    data_root: str | None,
    split: str,
    limit: int,
    size: int | None,
    batch_size: int,
    device: str,
    inception: str | None,
    out: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Score runs, catalogue models or baselines (canny, dodge) on a style: `translate eval RUN... --style S`.

    Paired L1/PSNR/SSIM always; FCN-score (labels2photo), line F-score (coloring) and style score (shinkai)
    where they apply; FID/KID when Inception weights are on this machine. Several RUNs make one table; the
    JSON is one report, or a list of them for several RUNs.
    """
    from translate.evaluation.evaluate import evaluate_run
    from translate.evaluation.report import format_table
    from translate.device import choose_device
    from translate.files import write_json

    _setup_logging(quiet)
    reports = [
        evaluate_run(run, style, data_root, split=split, limit=limit, size=size, batch_size=batch_size,
                     device=choose_device(device), inception=inception, progress=not quiet)
        for run in runs
    ]
    result: Any = reports[0] if len(reports) == 1 else reports
    if out:
        write_json(out, result)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(format_table(reports))
        if out:
            click.echo(f"wrote {out}")


# -------------------------------------------------------------------------------------------- benchmark


@main.command()
@click.option("--models", multiple=True, help="Model presets, comma-separated (default: all, or the --config's).")
@click.option("--styles", multiple=True, help="Styles (speed default: noise images; quality: coloring or shinkai).")
@click.option("--generators", multiple=True, help="Generators to swap in (default: each model's own).")
@click.option("--discriminators", multiple=True, help="Discriminators to swap in (default: each model's own).")
@click.option("--sizes", multiple=True, help="Image sizes of the speed table, e.g. 128,256.")
@click.option("--only", "tables", type=click.Choice(["speed", "quality"]), help="Measure one table only.")
@click.option("--config", "config_file", type=click.Path(), help="A benchmark TOML file (benchmarks/*.toml).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help="Override a config key for every model.")
@click.option("--width", type=int, help="Generator and discriminator width (shorthand for two --set).")
@click.option("--steps", type=int, help="Quality: training steps per model.")
@click.option("--quality-size", type=int, help="Quality: training and test size (default: the style's).")
@click.option("--batch-size", type=int, help="Speed: images per step and per inference call.")
@click.option("--repeats", type=int, help="Speed: timed calls (median reported).")
@click.option("--warmup", type=int, help="Speed: untimed calls first.")
@click.option("--device", help="auto, cpu, cuda or cuda:N.")
@click.option("--out", "-o", required=True, type=click.Path(), help="Folder for report.md/json, images and runs/.")
@click.option("--overwrite", is_flag=True, help="Replace the runs/ of an earlier benchmark in --out.")
@click.option("--quiet", "-q", is_flag=True, help="Warnings and errors only.")
def benchmark(
    models: tuple[str, ...],
    styles: tuple[str, ...],
    generators: tuple[str, ...],
    discriminators: tuple[str, ...],
    sizes: tuple[str, ...],
    tables: str | None,
    config_file: str | None,
    assignments: tuple[str, ...],
    width: int | None,
    steps: int | None,
    quality_size: int | None,
    batch_size: int | None,
    repeats: int | None,
    warmup: int | None,
    device: str | None,
    out: str,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Speed and quality tables: `translate benchmark --models pix2pix,cyclegan --sizes 128,256 --out DIR`.

    Speed: params, MACs, train steps/s, images/s, peak memory, share of the matmul peak. Quality: each model
    trained for the same steps and scored. Writes DIR/report.md, report.json, grid_<style>.png, quality.png.
    """
    from translate.bench.benchmark import benchmark as run_benchmark, split_list

    _setup_logging(quiet)
    try:
        size_list = [int(s) for s in split_list(sizes)]
    except ValueError:
        raise TranslateError(f"--sizes {','.join(sizes)}: expected whole numbers, e.g. --sizes 128,256") from None
    widths = [f"{part}.width={width}" for part in ("generator", "discriminator")] if width else []
    run_benchmark(
        out, config_file=config_file, assignments=[*widths, *assignments], overwrite=overwrite,
        models=split_list(models), styles=split_list(styles), generators=split_list(generators),
        discriminators=split_list(discriminators), sizes=size_list, tables=[tables] if tables else None,
        steps=steps, quality_size=quality_size, batch_size=batch_size, repeats=repeats, warmup=warmup, device=device,
    )
    click.echo((Path(out) / "report.md").read_text(encoding="utf-8"), nl=False)
    click.echo(f"wrote {Path(out) / 'report.md'} and report.json")
