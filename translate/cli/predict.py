"""`translate predict` and `translate export`: use a trained run or catalogue model."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from translate.cli.base import setup_logging, test_mode_option


@click.command()
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
@click.option("--batch-size", default="auto", show_default=True,
              help="Images (or tiles) per forward pass; auto: same-sized images up to about a million pixels at once "
              "(16 at 256 px), one at a time in the reference test mode.")
@click.option("--keep-dropout", is_flag=True, help="Keep pix2pix's dropout noise on at test time.")
@click.option("--page", is_flag=True, help="Line-art models: print-ready colouring pages (binarised, no specks, gaps "
              "closed, even lines on white).")
@test_mode_option
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default="auto", show_default=True,
              help="Autocast precision; auto: measured on this machine (translate benchmark --levers), else fp32.")
@click.option("--channels-last", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
              help="Channels-last memory order; auto: measured on this machine with --precision auto.")
@click.option("--max-pixels", type=click.IntRange(min=1),
              help="Read images of up to this many pixels (width x height; default about 9460 x 9460, larger "
                   "files are skipped as decompression bombs). For huge photos; use it with --tile.")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True),
              help="Also put each input folder's translated frames together into a video, FOLDER.mp4, at this "
                   "frame rate (a video input keeps its own).")
@click.option("--html", is_flag=True, help="Also write index.html in --out: a page of input | output rows.")
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
    batch_size: str,
    keep_dropout: bool,
    page: bool,
    test_mode: str | None,
    device: str,
    precision: str,
    channels_last: str,
    max_pixels: int | None,
    fps: float | None,
    html: bool,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Translate images with a trained run: `translate predict RUN_OR_CHECKPOINT INPUT... --out DIR`.

    INPUT: image files, folders (recursive; sub-folders are mirrored in DIR) or globs. Outputs keep each
    input's name and size. Unreadable files are skipped with a warning; exit status 1 only if none was written.
    Videos (.mp4, .mov, .avi, .mkv, .webm) become videos of the same name and frame rate, every frame translated
    (pip install "translate-zoo[video]").
    """
    from translate.data.transforms import MAX_PIXELS
    from translate.errors import DataError
    from translate.inference.batch import parse_size, predict_files
    from translate.inference.probe import choose_for_files
    from translate.levers import keep_freed_memory
    from translate.inference.translator import load
    from translate.outputs import check_output_folder

    setup_logging(quiet)
    if not inputs:
        raise DataError("no inputs; pass image files, folders or globs after the run, "
                        "e.g. translate predict RUN photos/ --out DIR")
    batch = None if batch_size == "auto" else int(batch_size) if batch_size.isdigit() else 0
    if batch == 0:
        raise DataError(f"--batch-size {batch_size}: use auto or a whole number of 1 or more")
    check_output_folder(Path(out), overwrite)
    if max_pixels and tile is None:
        logging.getLogger("translate").warning(
            "--max-pixels without --tile: each image is translated whole, which for a huge one may run out of "
            "memory; add --tile 512")
    translator = load(run, direction=direction, device=device, keep_dropout=keep_dropout, precision=precision,
                      test_mode=test_mode, channels_last=channels_last, page=page)
    keep_freed_memory()
    levers = choose_for_files(translator, list(inputs), parse_size(size), tile, batch)
    logging.getLogger("translate").info("levers: %s", levers.line())
    summary = predict_files(
        translator, list(inputs), out, image_format=image_format, size=parse_size(size), sbs=sbs, tile=tile,
        overlap=overlap, batch_size=batch, overwrite=overwrite, progress=not quiet,
        max_pixels=max_pixels or MAX_PIXELS, fps=fps,
    )
    if not summary.written:
        raise DataError(f"nothing written to {out}: {summary.line().removeprefix('wrote 0 images, ')}")
    click.echo(f"{summary.line()} -> {out}")
    if html:
        from translate.results_page import write_predict_page

        click.echo(f"wrote {write_predict_page(out, summary, translator.source, inputs)}")


@click.command()
@click.argument("run", metavar="RUN_OR_CHECKPOINT")
@click.option("--format", "image_format", type=click.Choice(["torchscript", "onnx"]),
              help='Default: onnx for an --out ending in .onnx, else torchscript, which needs only torch; '
                   'onnx needs pip install "translate-zoo[onnx]".')
@click.option("--out", "-o", required=True, type=click.Path(), help="The file to write (model.pt, model.onnx).")
@click.option("--direction", type=click.Choice(["AtoB", "BtoA"]), default="AtoB", show_default=True,
              help="CycleGAN runs: G_A (AtoB) or G_B (BtoA).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def export(run: str, image_format: str | None, out: str, direction: str, overwrite: bool) -> None:
    """Export a run's generator to TorchScript or ONNX (any batch, height and width), checked against PyTorch.

    The file says what it takes: value range, channel order, channels, size multiple, and the run it came from
    (ONNX metadata_props; TorchScript's extra file translate.json).
    """
    from translate.inference.export import CHECK_SIZE, format_for
    from translate.inference.export import export as export_run

    image_format = image_format or format_for(out)
    diff = export_run(run, out, image_format=image_format, direction=direction, overwrite=overwrite)
    click.echo(f"wrote {out} ({image_format}; input 'image' N x C x H x W in [-1, 1], RGB); "
               f"matches PyTorch to {diff:.1e} on a {CHECK_SIZE[0]}x{CHECK_SIZE[1]} image")
