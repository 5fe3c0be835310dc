"""`translate eval` and `translate benchmark`: scores and speed tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from translate.cli.base import setup_logging, test_mode_option
from translate.errors import TranslateError


@click.command("eval")
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@click.option("--style", "-s", help="Score on this style's test data (default: each run's own; coloring for baselines).")
@click.option("--data", "data_root", type=click.Path(), help="Score on your own data folder (paired test split).")
@click.option("--photos", type=click.Path(), metavar="DIR",
              help="Score on your own photographs, which have no ground truth: proxies of the look (colourfulness, "
                   "palette flatness, outlines, edge sharpness, content kept) for photos, outputs and Shinkai "
                   "renderings.")
@click.option("--split", default="test", show_default=True, help="Which split of the data.")
@click.option("--limit", default=100, show_default=True, help="Score the first N images of the split (or photos).")
@click.option("--size", type=int,
              help="Image size in pixels (default: the run's or style's held-out size, data.test_size, else its crop "
                   "size); with --photos, the long side larger photos are scaled down to (default 512).")
@click.option("--batch-size", default=8, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@test_mode_option
@click.option("--inception", type=click.Path(), help="Inception-v3 weights for FID/KID (torchvision's inception_v3_google-*.pth).")
@click.option("--out", "-o", type=click.Path(), help="Also write the report(s) to this JSON file.")
@click.option("--html", "html_dir", type=click.Path(), metavar="DIR",
              help="Also write DIR/index.html: the table, then input | output | target rows with each image's "
                   "L1, PSNR and SSIM (the images beside it).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists, write into a non-empty --html DIR.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; warnings and errors only.")
def eval_command(
    runs: tuple[str, ...],
    style: str | None,
    data_root: str | None,
    photos: str | None,
    split: str,
    limit: int,
    size: int | None,
    batch_size: int,
    device: str,
    test_mode: str | None,
    inception: str | None,
    out: str | None,
    html_dir: str | None,
    overwrite: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Score runs, catalogue models or baselines (canny, dodge) on a style: `translate eval RUN... --style S`.

    Paired L1/PSNR/SSIM always; on the scenes world the artefact ratio (fine speckle where the scene is flat,
    over the truth's: 1.0 as smooth as the truth, goal <= 1.5); FCN-score (labels2photo), line F-score (coloring)
    and style score (shinkai) where they apply; FID/KID when Inception weights are on this machine. Several
    RUNs make one table; the JSON is one report, or a list of them for several RUNs.

    With --photos DIR: `translate eval scenes-shinkai --photos DIR` runs the model on your photographs at their own
    size and reports, for the photos, the outputs and the scenes world's true Shinkai renderings: colourfulness,
    palette flatness, outline density, edge sharpness and content kept (edges of the photo the output keeps).
    """
    from translate.device import choose_device
    from translate.evaluation.evaluate import evaluate_run
    from translate.evaluation.report import format_table
    from translate.files import write_json
    from translate.outputs import check_output_file, check_output_folder

    setup_logging(quiet)
    if out:
        check_output_file(out, overwrite, example="report.json")  # before the scoring, which takes a while
    if html_dir:
        if photos is not None:
            raise TranslateError(f"--html draws input | output | target rows, and photos have no target: for a page "
                                 f"of your photos run translate predict {runs[0]} {photos} --out DIR --html")
        check_output_folder(html_dir, overwrite, flag="--html")
    if photos is not None:
        from translate.evaluation.photos import evaluate_photos
        from translate.evaluation.report import format_photo_table

        clash = [flag for flag, value in (("--style", style), ("--data", data_root), ("--inception", inception))
                 if value]
        if clash:  # the two kinds of report have nothing in common to put in one table
            raise TranslateError(f"--photos does not combine with {' or '.join(clash)}: --photos scores photographs "
                                 f"without ground truth, {' and '.join(clash)} a paired test split; run two commands")
        reports = [evaluate_photos(run, photos, size=size, limit=limit, device=choose_device(device),
                                   test_mode=test_mode, progress=not quiet) for run in runs]
        format_reports: Any = format_photo_table
    else:
        from translate.results_page import EvalImages

        kept = [EvalImages(html_dir, i) for i in range(len(runs))] if html_dir else []
        reports = [
            evaluate_run(run, style, data_root, split=split, limit=limit, size=size, batch_size=batch_size,
                         device=choose_device(device), test_mode=test_mode, inception=inception, progress=not quiet,
                         on_batch=kept[i] if kept else None)
            for i, run in enumerate(runs)
        ]
        format_reports = format_table
    result: Any = reports[0] if len(reports) == 1 else reports
    if out:
        write_json(out, result)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(format_reports(reports))
        if out:
            click.echo(f"wrote {out}")
    if html_dir:
        from translate.results_page import write_eval_page

        page = write_eval_page(html_dir, reports, kept, format_table(reports))
        if not as_json:
            click.echo(f"wrote {page}")




@click.command()
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
@click.option("--device", help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--levers", "levers", is_flag=True,
              help="Measure which precision and memory format train and predict choose here, cache and print it.")
@click.option("--preset", help="Levers: a preset layered on each model (paper: 256 px, widths 64).")
@click.option("--out", "-o", type=click.Path(), help="Folder for report.md/json, images and runs/ (--levers: levers.md).")
@click.option("--overwrite", is_flag=True, help="Replace the runs/ (or levers.md) of an earlier benchmark in --out.")
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
    levers: bool,
    preset: str | None,
    out: str | None,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Speed and quality tables: `translate benchmark --models pix2pix,cyclegan --sizes 128,256 --out DIR`.

    Speed: params, MACs, train steps/s, images/s, peak memory, share of the matmul peak. Quality: each model
    trained for the same steps and scored. Writes DIR/report.md, report.json, grid_<style>.png, quality.png.
    With --levers: `translate benchmark --levers --models pix2pix --preset paper --sizes 256` measures the levers
    instead (fp32, bf16 autocast, channels-last, ...), caches what train and predict will choose, and prints it.
    """
    from translate.bench.benchmark import benchmark as run_benchmark
    from translate.bench.benchmark import split_list

    setup_logging(quiet)
    try:
        size_list = [int(s) for s in split_list(sizes)]
    except ValueError:
        raise TranslateError(f"--sizes {','.join(sizes)}: expected whole numbers, e.g. --sizes 128,256") from None
    widths = [f"{part}.width={width}" for part in ("generator", "discriminator")] if width else []
    if levers:
        from translate.bench.levers import lever_report
        from translate.files import write_text
        from translate.outputs import check_output_file

        if out:  # refused before minutes of measuring, not after
            check_output_file(Path(out) / "levers.md", overwrite, flag="--out", example="bench/levers")
        text = lever_report(split_list(models) or ["pix2pix", "cyclegan", "cartoongan"], split_list(styles),
                            size_list, preset, [*widths, *assignments], device or "auto")
        click.echo(text)
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            write_text(Path(out) / "levers.md", text + "\n")
            click.echo(f"wrote {Path(out) / 'levers.md'}")
        return
    if preset:
        raise TranslateError("--preset is for --levers; the speed and quality tables take --config and --set")
    if not out:
        raise TranslateError("--out is needed: the folder for report.md, report.json, the grids and runs/")
    run_benchmark(
        out, config_file=config_file, assignments=[*widths, *assignments], overwrite=overwrite,
        models=split_list(models), styles=split_list(styles), generators=split_list(generators),
        discriminators=split_list(discriminators), sizes=size_list, tables=[tables] if tables else None,
        steps=steps, quality_size=quality_size, batch_size=batch_size, repeats=repeats, warmup=warmup, device=device,
    )
    click.echo((Path(out) / "report.md").read_text(encoding="utf-8"), nl=False)
    click.echo(f"wrote {Path(out) / 'report.md'} and report.json")
