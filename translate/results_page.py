"""HTML results pages, as the reference's `results/.../index.html`: a row per image, input | output (| target), with
each row's figures under its pictures. `translate predict --html` and `translate eval --html` write them.

A page is one index.html that reads offline: inline CSS, no script, nothing fetched. Its pictures are files beside it
linked by relative paths, or, for an input that lives elsewhere or a format browsers do not show, a small preview
embedded in the page. Every text is escaped; the page is written atomically.
"""

from __future__ import annotations

import base64
import html
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence
from urllib.parse import quote

import numpy as np
from PIL import Image

from translate.data.transforms import is_video_file
from translate.evaluation.report import fmt
from translate.files import write_text

if TYPE_CHECKING:
    import torch

    from translate.inference.batch import Summary

PAGE = "index.html"
BROWSER_IMAGES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"})
BROWSER_VIDEOS = frozenset({".mp4", ".webm"})
PREVIEW_SIDE = 256  # long side of a preview embedded in the page, px
SMALL = 128  # pictures narrower than this are shown enlarged by a whole factor, pixels kept sharp
WIDEST = 384  # pictures wider than this are shown at this width (click for the file)

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 2em; }
pre { background: #fff; border: 1px solid #ddd; padding: .8em; white-space: pre-wrap; font-size: 12px; }
table.rows { border-collapse: collapse; }
table.rows th { text-align: left; padding: .3em .6em; border-bottom: 2px solid #ccc; }
table.rows td { vertical-align: top; padding: .5em .6em; border-bottom: 1px solid #e4e4e4; }
img, video { display: block; height: auto; background: #eee; }
img.sharp { image-rendering: pixelated; }
.caption { font-size: 12px; color: #555; margin-top: .2em; }
.caption b { color: #222; font-weight: 600; }
"""


@dataclass
class Cell:
    """One picture of a row: `src` (a path relative to the page, or a data: URI; empty for none), how wide to show
    it, and the lines printed under it (the first in bold)."""

    src: str = ""
    width: int = 0
    lines: list[str] = field(default_factory=list)
    video: bool = False
    sharp: bool = False


def shown_width(width: int) -> tuple[int, bool]:
    """(width to show a picture at, whether it is enlarged): small pictures by a whole factor, large ones narrower."""
    if 0 < width < SMALL:
        return width * -(-SMALL // width), True
    return min(width, WIDEST), False


def render(title: str, headers: Sequence[str], sections: Sequence[tuple[str, list[list[Cell]]]],
           preface: str = "", notes: Sequence[str] = ()) -> str:
    """The page's HTML: a title, `notes` (lines), `preface` (monospaced text, e.g. a metrics table) and, for each
    (heading, rows) section, a table whose columns are `headers`."""
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(title)}</title><style>{CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    parts += [f"<p>{e(line)}</p>" for line in notes]
    if preface:
        parts.append(f"<pre>{e(preface)}</pre>")
    for heading, rows in sections:
        if heading:
            parts.append(f"<h2>{e(heading)}</h2>")
        parts.append('<table class="rows"><tr>' + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{_cell(cell)}</td>" for cell in row) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _cell(cell: Cell) -> str:
    e = html.escape
    width = f' width="{cell.width}"' if cell.width else ""
    if not cell.src:
        picture = ""
    elif cell.video:
        picture = f'<video src="{e(cell.src)}"{width} controls loop muted></video>'
    else:
        picture = f'<img src="{e(cell.src)}"{width} alt=""{" class=sharp" if cell.sharp else ""}>'
        if not cell.src.startswith("data:"):
            picture = f'<a href="{e(cell.src)}">{picture}</a>'
    lines = "".join(f"<div><b>{e(line)}</b></div>" if i == 0 else f"<div>{e(line)}</div>"
                    for i, line in enumerate(cell.lines))
    return picture + (f'<div class="caption">{lines}</div>' if lines else "")


def relative_link(file: Path, page_folder: Path) -> str:
    """`file` as a URL relative to the page's folder (forward slashes, special characters quoted)."""
    return quote(Path(os.path.relpath(file.resolve(), page_folder.resolve())).as_posix())


def preview(image: Image.Image, side: int = PREVIEW_SIDE) -> str:
    """A data: URI of the image, shrunk to `side` px on its long side: a JPEG (PNG for grey or small pictures)."""
    image = image.convert("L" if image.mode in ("L", "1", "I;16", "I", "F") else "RGB")
    if max(image.size) > side:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    kind = "png" if image.mode == "L" or max(image.size) <= SMALL else "jpeg"
    image.save(buffer, format=kind.upper(), **({"quality": 85} if kind == "jpeg" else {}))
    return f"data:image/{kind};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def picture_cell(file: Path, page_folder: Path, lines: list[str]) -> Cell:
    """A picture file on the page: linked when it lies under the page's folder and browsers show its format,
    else a preview of it embedded (a video: its first frame); no picture when it cannot be read."""
    inside = page_folder.resolve() in file.resolve().parents
    suffix = file.suffix.lower()
    if inside and suffix in BROWSER_VIDEOS:
        return Cell(relative_link(file, page_folder), WIDEST, lines, video=True)
    try:
        image = _first_frame(file) if is_video_file(file) else Image.open(file)
        with image:
            width, sharp = shown_width(image.width)
            if inside and suffix in BROWSER_IMAGES:
                return Cell(relative_link(file, page_folder), width, lines, sharp=sharp)
            return Cell(preview(image), min(width, PREVIEW_SIDE), lines, sharp=sharp)
    except Exception:  # noqa: BLE001 - a picture the page cannot show is named in its caption, not fatal
        return Cell("", 0, [*lines, "(no preview)"])


def _first_frame(path: Path) -> Image.Image:
    from translate.inference.video import decoded_frames, open_video

    with open_video(path) as (container, stream):
        return next(decoded_frames(container, stream, path))


# --------------------------------------------------------------------------------------------------- predict


def write_predict_page(out: str | os.PathLike[str], summary: Summary, model: str, inputs: Sequence[str]) -> Path:
    """out/index.html for a `translate predict` job: a row per output written, input | output, each with its
    name and size (a video: its frames); the files skipped and why above them. Returns the page's path."""
    out = Path(out)
    rows = []
    for written, source in summary.sources.items():
        if written in summary.frames and source.is_dir():  # a folder's frames put together: its frames are rows
            row_in = Cell("", 0, [f"{source}/", "the frames above"])
        else:
            row_in = picture_cell(source, out, [source.name, *_size_of(source)])
        frames = [f"{summary.frames[written]} frames"] if written in summary.frames else []
        rows.append([row_in, picture_cell(written, out, [written.relative_to(out).as_posix(),
                                                         *_size_of(written), *frames])])
    notes = [f"model: {model}", f"inputs: {' '.join(inputs)}", summary.line()]
    page = out / PAGE
    write_text(page, render(f"translate predict: {model}", ["input", "output"], [("", rows)], notes=notes))
    return page


def _size_of(file: Path) -> list[str]:
    try:
        with Image.open(file) as image:  # the header only
            return [f"{image.width}x{image.height}"]
    except Exception:  # noqa: BLE001 - videos and unreadable files have no size line
        return []


# ------------------------------------------------------------------------------------------------------ eval


class EvalImages:
    """What `translate eval --html` keeps of one model's scoring: `evaluate`'s `on_batch` hook, saving each source,
    output and target as PNG files under FOLDER/images/<index>/ and its L1, PSNR and SSIM for the page."""

    def __init__(self, folder: str | os.PathLike[str], index: int) -> None:
        self.folder = Path(folder)
        self.images = Path("images") / f"{index:02d}"
        self.rows: list[tuple[list[str], dict[str, float]]] = []

    def __call__(self, sources: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor,
                 scores: dict[str, np.ndarray]) -> None:
        from translate.data.transforms import to_image
        from translate.inference.batch import save_image

        for i in range(len(sources)):
            number = len(self.rows)
            names = []
            for kind, batch in (("input", sources), ("output", outputs), ("target", targets)):
                name = (self.images / f"{number:04d}_{kind}.png").as_posix()
                save_image(to_image(batch[i]), self.folder / name)
                names.append(name)
            self.rows.append((names, {key: float(values[i]) for key, values in scores.items()}))


def write_eval_page(folder: str | os.PathLike[str], reports: list[dict[str, Any]], kept: list[EvalImages],
                    table: str) -> Path:
    """FOLDER/index.html for `translate eval`: the metrics table on top, then for each model a row per test image,
    input | output | target, the output captioned with its L1, PSNR and SSIM. Returns the page's path."""
    folder = Path(folder)
    sections = []
    for report, images in zip(reports, kept):
        rows = []
        for number, (names, scores) in enumerate(images.rows):
            figures = f"L1 {fmt(scores['l1'])}  PSNR {fmt(scores['psnr'], 2)}  SSIM {fmt(scores['ssim'])}"
            captions = [[f"#{number}"], ["output", figures], ["target"]]
            rows.append([picture_cell(folder / name, folder, lines) for name, lines in zip(names, captions)])
        mode = f", {report['test_mode']} mode" if report.get("test_mode") else ""
        sections.append((f"{report['name'] or '(function)'}{mode}: {report['n_images']} images", rows))
    title = "translate eval: " + ", ".join(r["name"] or "(function)" for r in reports)
    page = folder / PAGE
    write_text(page, render(title, ["input", "output", "target"], sections, preface=table))
    return page
