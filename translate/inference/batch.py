"""The `translate predict` command's work: files, folders and globs in, translated images out.

`predict_files` keeps names, sizes and sub-folders, batches images of one size, skips (and names) unreadable
files, and never clobbers an output folder unasked. Videos among the inputs go through `translate.inference.video`.
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
from translate.data.transforms import MAX_PIXELS, is_image_file, is_video_file, open_image, to_image, to_tensor
from translate.errors import ConfigError, DataError
from translate.files import atomic_path
from translate.inference.pipeline import OrderedWriter, ReadAhead, reader_threads
from translate.inference.tiling import round_tile
from translate.inference.translator import Translator
from translate.outputs import check_output_folder

log = logging.getLogger("translate")
WRITER_THREADS = 2  # encoding releases the GIL: two threads halve the wait for the last batch's files


# ------------------------------------------------------------------------------- files and folders in


GLOB_CHARS = frozenset("*?[")


@dataclass
class Job:
    """One image to translate: where it is read and where its output goes, relative to the output folder."""

    source: Path
    target: Path


@dataclass
class Summary:
    """What `predict_files` did: files written (each with the input it came from), the frames of each video
    written, and files skipped with the reason for each."""

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    sources: dict[Path, Path] = field(default_factory=dict)  # output written -> its input
    frames: dict[Path, int] = field(default_factory=dict)  # video written -> its number of frames

    def add(self, written: Path, source: Path) -> None:
        """Count one output written from `source`."""
        self.written.append(written)
        self.sources[written] = source

    def line(self) -> str:
        """'wrote 12 images, skipped 1: a.png (reason)', naming at most five skipped files; videos are counted
        with their frames ('wrote 1 video (96 frames)')."""
        images = len(self.written) - len(self.frames)
        parts = [f"{images} image{'s' * (images != 1)}"] if images or not self.frames else []
        if self.frames:
            videos, frames = len(self.frames), sum(self.frames.values())
            parts.append(f"{videos} video{'s' * (videos != 1)} ({frames} frame{'s' * (frames != 1)})")
        text = "wrote " + " and ".join(parts)
        if self.skipped:
            reasons = "; ".join(f"{name} ({why})" for name, why in self.skipped[:5])
            more = f"; and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += f", skipped {len(self.skipped)}: {reasons}{more}"
        return text


def collect_inputs(inputs: list[str], suffix: str | None) -> tuple[list[Job], list[tuple[str, str]]]:
    """Files, folders (recursive; sub-folders mirrored) and globs -> jobs; inputs that name nothing -> skipped.

    `suffix` is the output's extension (".png"), or None to keep the input's own; a video keeps its own.
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
        target = relative.with_suffix(suffix) if suffix and not is_video_file(source) else relative
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
            files = [Path(m) for m in matches if Path(m).is_dir() or is_image_file(m) or is_video_file(m)]
            if not files:
                skipped.append((item, "matches no image or video files"))
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


def header_size(path: Path) -> tuple[int, int] | None:
    """An image file's (width, height) from its header, without decoding it; None where it cannot be read."""
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError):
        return None


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


def progress_bar(total: int | None, enabled: bool, unit: str = "img", desc: str | None = None) -> Any:
    """predict's progress bar: `unit`s done and per second (frames/s for a video), gone when it ends."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)


@contextlib.contextmanager
def logging_through(bar: Any) -> Iterator[None]:
    """Log lines printed above the bar instead of through it."""
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
                summary.add(outcome.written, outcome.job.source)
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


def translate_images(
    translator: Translator, images: list[Image.Image], tile: int | None = None, overlap: int = 32,
    batch_size: int | None = 1,
) -> list[torch.Tensor]:
    """Images of one size through the network at once (or each in tiles, `batch_size` tiles at a time, with `tile`;
    None: `translator.batch_for` the tile): one CHW output in [-1, 1] for each."""
    batch = torch.stack([to_tensor(image) for image in images])
    if tile is not None:
        side = round_tile(tile, translator.generator)
        tiles = batch_size or translator.batch_for(side, side)
        return [translator.tile_tensor(b[None], tile, overlap, tiles)[0] for b in batch]
    return list(translator.translate_tensor(batch))


def predict_files(
    translator: Translator,
    inputs: list[str],
    out: str | os.PathLike[str],
    image_format: str = "png",
    size: tuple[int, int] | None = None,
    sbs: bool = False,
    tile: int | None = None,
    overlap: int = 32,
    batch_size: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    max_pixels: int | None = MAX_PIXELS,
    fps: float | None = None,
) -> Summary:
    """Translate image files, folders and globs into `out`, keeping names, sizes and sub-folders.

    `image_format` png, jpg or same (the input's extension). Images of equal size go `batch_size` at a time (None:
    as many as `Translator.batch_for` their size); a tiled run batches tiles instead. Unreadable inputs are
    skipped, named in the log and the summary, and so are files over `max_pixels` (width x height; None for no
    limit), unread: raise it with `tile` for huge photos.
    Inputs are decoded and outputs saved on background threads while the network runs.

    Video files (.mp4, .mov, .avi, .mkv, .webm; given as files or globs) become videos of the same name, frame rate
    and container, every frame translated (`translate.inference.video`; needs PyAV). With `fps`, the translated
    frames of each input folder are also put together into a video FOLDER.mp4 at `fps` frames per second.
    """
    if image_format not in ("png", "jpg", "same"):
        raise ConfigError(f"--format '{image_format}': use png, jpg or same")
    if fps is not None and not fps > 0:
        raise ConfigError(f"--fps {fps}: a video needs a frame rate above 0, e.g. 24")
    out = Path(out)
    jobs, skipped = collect_inputs(inputs, None if image_format == "same" else "." + image_format)
    inside = out.resolve()
    jobs = [job for job in jobs if inside not in job.source.resolve().parents]  # never re-translate our outputs
    for name, why in skipped:
        log.warning("skipping %s: %s", name, why)
    if not jobs:
        raise DataError(f"no images or videos to translate in {', '.join(inputs) or '(no inputs)'}; pass image or "
                        "video files, folders or globs")
    videos = [job for job in jobs if is_video_file(job.source)]
    if videos:
        from translate.inference import video

        video.import_av()  # a missing extra is said before anything is written
    check_output_folder(out, overwrite)
    summary = Summary(skipped=skipped)
    images = [job for job in jobs if not is_video_file(job.source)]
    if images:
        predict_images(translator, images, out, summary, size=size, sbs=sbs, tile=tile, overlap=overlap,
                       batch_size=batch_size, progress=progress, max_pixels=max_pixels)
    for job in videos:
        target = out / job.target
        try:
            with progress_bar(video.probe(job.source)[1] or None, progress, "frame", job.source.name) as bar:
                with logging_through(bar):
                    frames = video.predict_video(translator, job.source, target, size=size, sbs=sbs, tile=tile,
                                                 overlap=overlap, batch_size=batch_size, bar=bar)
        except DataError as e:
            summary.skipped.append((str(job.source), str(e).removeprefix(f"{job.source}: ")))
            log.warning("skipping %s", e)
            continue
        summary.add(target, job.source)
        summary.frames[target] = frames
    if fps is not None:
        frames_to_videos(inputs, out, summary, fps, progress)
    return summary


def predict_images(
    translator: Translator,
    jobs: list[Job],
    out: Path,
    summary: Summary,
    *,
    size: tuple[int, int] | None,
    sbs: bool,
    tile: int | None,
    overlap: int,
    batch_size: int | None,
    progress: bool,
    max_pixels: int | None,
) -> None:
    """`predict_files`' work for image files: outputs written and skipped files counted in `summary`."""
    pending: list[tuple[Job, Image.Image]] = []

    def flush(writer: OrderedWriter[list[Outcome]]) -> None:
        if not pending:
            return
        results = translate_images(translator, [image for _, image in pending], tile, overlap, batch_size)
        for one, result in zip(pending, results):  # one job each: the last batch's encodes share the cores
            writer.submit(write_outputs, [one], [result], out, sbs)
        pending.clear()

    def read(job: Job) -> tuple[Job, Image.Image | DataError]:
        return job, read_input(job, translator.in_channels, max_pixels, size)

    # A tiled run is for huge photos, so only two are held; otherwise two batches are read ahead.
    if tile is None and batch_size is None:
        first = size or next(filter(None, (header_size(job.source) for job in jobs[:8])), (256, 256))
        ahead = 2 * translator.batch_for(*first)
    else:
        ahead = 2 if tile is not None else max(2, 2 * batch_size)
    bar = progress_bar(len(jobs), progress and len(jobs) > 1)
    with (
        bar,
        logging_through(bar),
        ReadAhead(jobs, read, ahead, reader_threads()) as inputs_read,
        OrderedWriter[list[Outcome]](waiting=ahead, threads=WRITER_THREADS) as writer,
    ):
        for job, image in inputs_read:
            if isinstance(image, DataError):
                writer.add([Outcome(job, why=str(image).removeprefix(f"{job.source}: "), warning=str(image))])
            else:
                if pending and pending[0][1].size != image.size:  # a batch holds images of one size
                    flush(writer)
                pending.append((job, image))
                if len(pending) >= (batch_size or translator.batch_for(*image.size)) or tile is not None:
                    flush(writer)
            bar.update(1)
            record(summary, writer.results())
        flush(writer)
        record(summary, writer.results(wait=True))


def frames_to_videos(inputs: list[str], out: Path, summary: Summary, fps: float, progress: bool) -> None:
    """Each input folder's translated frames, in name order, put together into the video out/FOLDER.mp4."""
    from translate.inference.video import frames_to_video

    folders = [Path(item) for item in inputs if Path(item).is_dir()]
    if not folders:
        log.warning("--fps puts each input folder's frames together into a video; no input is a folder")
    for folder in folders:
        inside = folder.resolve()
        frames = [written for written, source in summary.sources.items()
                  if written not in summary.frames and inside in source.resolve().parents]
        target = out / f"{inside.name or 'frames'}.mp4"
        if not frames:
            log.warning("no video made of %s: none of its frames was written", folder)
            continue
        if target in summary.sources:
            raise DataError(f"{target} is already written for {summary.sources[target]}; give the folder {folder} "
                            "another name")
        with progress_bar(len(frames), progress, "frame", target.name) as bar, logging_through(bar):
            frames_to_video(frames, target, fps, bar)
        summary.add(target, folder)
        summary.frames[target] = len(frames)
