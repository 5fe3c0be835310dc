"""The `translate predict` command's work: files, folders and globs in, translated images out.

`predict_files` keeps names, sizes and sub-folders, batches images of one size, skips (and names) unreadable
files, and never clobbers an output folder unasked.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import torch
from PIL import Image

from translate.data.folders import list_images
from translate.data.transforms import MAX_PIXELS, is_image_file, open_image, to_image, to_tensor
from translate.errors import ConfigError, DataError
from translate.files import atomic_path
from translate.inference.pipeline import OrderedWriter, ReadAhead, reader_threads
from translate.inference.translator import Translator
from translate.outputs import check_output_folder

log = logging.getLogger("translate")


# ------------------------------------------------------------------------------- files and folders in


GLOB_CHARS = frozenset("*?[")


@dataclass
class Job:
    """One image to translate: where it is read and where its output goes, relative to the output folder."""

    source: Path
    target: Path


@dataclass
class Summary:
    """What `predict_files` did: files written, and files skipped with the reason for each."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def line(self) -> str:
        """'wrote 12 images, skipped 1: a.png (reason)', naming at most five skipped files."""
        text = f"wrote {len(self.written)} image{'s' * (len(self.written) != 1)}"
        if self.skipped:
            reasons = "; ".join(f"{name} ({why})" for name, why in self.skipped[:5])
            more = f"; and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += f", skipped {len(self.skipped)}: {reasons}{more}"
        return text


def collect_inputs(inputs: list[str], suffix: str | None) -> tuple[list[Job], list[tuple[str, str]]]:
    """Files, folders (recursive; sub-folders mirrored) and globs -> jobs; inputs that name nothing -> skipped.

    `suffix` is the output's extension (".png"), or None to keep the input's own.
    """
    jobs: list[Job] = []
    skipped: list[tuple[str, str]] = []
    seen_sources: set[Path] = set()
    seen_targets: dict[Path, Path] = {}

    def add(source: Path, relative: Path) -> None:
        key = source.resolve()
        if key in seen_sources:
            return
        seen_sources.add(key)
        target = relative.with_suffix(suffix) if suffix else relative
        if target in seen_targets:
            skipped.append((str(source), f"its output {target} is already written for {seen_targets[target]}"))
            return
        seen_targets[target] = source
        jobs.append(Job(source, target))

    def add_path(path: Path) -> None:
        if path.is_dir():
            for file in list_images(path):
                add(file, file.relative_to(path))
        else:
            add(path, Path(path.name))

    for item in inputs:
        path = Path(item)
        if path.exists():
            add_path(path)
        elif GLOB_CHARS & set(item):
            matches = sorted(glob.glob(item, recursive=True))
            files = [Path(m) for m in matches if Path(m).is_dir() or is_image_file(m)]
            if not files:
                skipped.append((item, "matches no image files"))
            for match in files:
                add_path(match)
        else:
            skipped.append((item, "no such file or folder"))
    return jobs, skipped


def parse_size(text: str | int | None) -> tuple[int, int] | None:
    """'256' -> (256, 256), '320x240' -> (320, 240) as (width, height); None stays None."""
    if text is None or text == "":
        return None
    if isinstance(text, int):
        return (text, text)
    width, _, height = str(text).lower().partition("x")
    try:
        size = (int(width), int(height or width))
    except ValueError:
        raise ConfigError(f"--size '{text}': expected N or WxH in pixels, e.g. 256 or 320x240") from None
    if min(size) < 1:
        raise ConfigError(f"--size '{text}': sizes must be positive")
    return size


SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def save_image(image: Image.Image, path: Path) -> None:
    """Write an image atomically in the format its extension names (JPEG at quality 95)."""
    fmt = SAVE_FORMATS.get(path.suffix.lower()) or Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"no image format for the extension '{path.suffix}'; use --format png or jpg")
    options = {"quality": 95} if fmt == "JPEG" else {}
    with atomic_path(path) as tmp:
        image.save(tmp, format=fmt, **options)


def side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    """`left | right` in one image (RGB unless both are grey)."""
    mode = "L" if left.mode == right.mode == "L" else "RGB"
    whole = Image.new(mode, (left.width + right.width, max(left.height, right.height)), "white")
    whole.paste(left.convert(mode), (0, 0))
    whole.paste(right.convert(mode), (left.width, 0))
    return whole


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="img", disable=not enabled, leave=False, dynamic_ncols=True)


@contextlib.contextmanager
def _logging_through(bar: Any) -> Iterator[None]:
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm(loggers=[log]) if not bar.disable else contextlib.nullcontext():
        yield


@dataclass
class Outcome:
    """What became of one job: the file written, or why it was skipped and the warning the log gives."""

    job: Job
    written: Path | None = None
    why: str = ""
    warning: str = ""


def record(summary: Summary, outcomes: Iterable[list[Outcome]]) -> None:
    """Add outcomes to the summary and log the skipped ones, on the caller's thread and in the order given."""
    for batch in outcomes:
        for outcome in batch:
            if outcome.written is not None:
                summary.written.append(outcome.written)
            else:
                summary.skipped.append((str(outcome.job.source), outcome.why))
                log.warning("skipping %s", outcome.warning)


def read_input(
    job: Job, channels: int, max_pixels: int | None, size: tuple[int, int] | None
) -> Image.Image | DataError:
    """One input decoded (and resized to `size`), or the DataError saying why it cannot be: run on a reader thread."""
    try:
        image = open_image(job.source, channels, max_pixels)
    except DataError as e:
        return e
    if size is not None and image.size != size:
        image = image.resize(size, Image.Resampling.BICUBIC)
    return image


def write_outputs(
    batch: list[tuple[Job, Image.Image]], results: list[torch.Tensor], out: Path, sbs: bool
) -> list[Outcome]:
    """Encode and save one batch's outputs (beside their inputs with `sbs`): run on the writer thread."""
    outcomes = []
    for (job, image), result in zip(batch, results):
        output = to_image(result)
        target = out / job.target
        try:
            save_image(side_by_side(image, output) if sbs else output, target)
        except (OSError, ValueError, DataError) as e:
            why = f"could not write {target}: {e}"
            outcomes.append(Outcome(job, why=why, warning=f"{job.source}: could not write {target} ({e})"))
            continue
        outcomes.append(Outcome(job, written=target))
    return outcomes


def predict_files(
    translator: Translator,
    inputs: list[str],
    out: str | os.PathLike[str],
    image_format: str = "png",
    size: tuple[int, int] | None = None,
    sbs: bool = False,
    tile: int | None = None,
    overlap: int = 32,
    batch_size: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    max_pixels: int | None = MAX_PIXELS,
) -> Summary:
    """Translate image files, folders and globs into `out`, keeping names, sizes and sub-folders.

    `image_format` png, jpg or same (the input's extension). Images of equal size go `batch_size` at a time;
    a tiled run batches tiles instead. Unreadable inputs are skipped, named in the log and the summary, and so
    are files over `max_pixels` (width x height; None for no limit), unread: raise it with `tile` for huge photos.
    Inputs are decoded and outputs saved on background threads while the network runs.
    """
    if image_format not in ("png", "jpg", "same"):
        raise ConfigError(f"--format '{image_format}': use png, jpg or same")
    out = Path(out)
    jobs, skipped = collect_inputs(inputs, None if image_format == "same" else "." + image_format)
    inside = out.resolve()
    jobs = [job for job in jobs if inside not in job.source.resolve().parents]  # never re-translate our outputs
    for name, why in skipped:
        log.warning("skipping %s: %s", name, why)
    if not jobs:
        raise DataError(
            f"no images to translate in {', '.join(inputs) or '(no inputs)'}; pass image files, folders or globs"
        )
    check_output_folder(out, overwrite)
    summary = Summary(skipped=skipped)
    pending: list[tuple[Job, Image.Image]] = []

    def flush(writer: OrderedWriter[list[Outcome]]) -> None:
        if not pending:
            return
        batch = torch.stack([to_tensor(image) for _, image in pending])
        if tile is not None:
            results = [translator.tile_tensor(b[None], tile, overlap, batch_size)[0] for b in batch]
        else:
            results = list(translator.translate_tensor(batch))
        writer.submit(write_outputs, list(pending), results, out, sbs)
        pending.clear()

    def read(job: Job) -> tuple[Job, Image.Image | DataError]:
        return job, read_input(job, translator.in_channels, max_pixels, size)

    # A tiled run is for huge photos, so only two are held; otherwise two batches are read ahead.
    ahead = 2 if tile is not None else max(2, 2 * batch_size)
    bar = _progress(len(jobs), progress and len(jobs) > 1)
    with (
        bar,
        _logging_through(bar),
        ReadAhead(jobs, read, ahead, reader_threads()) as inputs_read,
        OrderedWriter[list[Outcome]]() as writer,
    ):
        for job, image in inputs_read:
            if isinstance(image, DataError):
                writer.add([Outcome(job, why=str(image).removeprefix(f"{job.source}: "), warning=str(image))])
            else:
                if pending and pending[0][1].size != image.size:  # a batch holds images of one size
                    flush(writer)
                pending.append((job, image))
                if len(pending) >= batch_size or tile is not None:
                    flush(writer)
            bar.update(1)
            record(summary, writer.results())
        flush(writer)
        record(summary, writer.results(wait=True))
    return summary
