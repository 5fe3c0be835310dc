"""A translator's forward pass timed under each lever, for translate.levers to choose from (`translate predict`)."""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import torch

from translate import levers
from translate.inference.translator import Translator
from translate.levers import Choice, Lever

MIN_IMAGES = 16  # fewer images gain less from a faster lever than the measurement costs (about 12 forward passes)
TOLERANCE = 2.0  # largest mean |output - fp32's| in 0-255 levels on the same input


def job_name(translator: Translator, size: tuple[int, int], batch_size: int) -> str:
    """What an inference decision is cached under: the generator, the image size and the batch."""
    generator = levers.compact(translator.config.get("generator", {}))
    return (f"predict {generator} {translator.in_channels}->{translator.out_channels} {size[0]}x{size[1]}px "
            f"batch {batch_size} {translator.test_mode}")


def choose_for_inference(translator: Translator, size: tuple[int, int], batch_size: int = 1, n_images: int = 0,
                         remeasure: bool = False) -> Choice:
    """The lever for translating `n_images` of `size` (width, height): as set, cached, or measured now."""
    precision, channels_last = translator.lever_settings
    width, height = size
    multiple = translator.size_multiple
    width, height = -(-width // multiple) * multiple, -(-height // multiple) * multiple  # what the network sees
    source = torch.Generator().manual_seed(0)
    example = torch.rand(batch_size, translator.in_channels, height, width, generator=source) * 2 - 1
    return levers.resolve(
        translator.device, precision, channels_last, job_name(translator, size, batch_size),
        inference_probe(translator, example), mean_level_difference, TOLERANCE,
        measure_now=remeasure or n_images >= MIN_IMAGES, remeasure=remeasure,
    )


def choose_for_files(translator: Translator, inputs: list[str], size: tuple[int, int] | None, tile: int | None,
                     batch_size: int | None) -> Choice:
    """The lever for a `translate predict` job: at the first readable input's size (or `size`, or the tile's), and
    at its batch size; an auto batch (None) is measured one image at a time, the cheapest probe, whose decision
    holds for batches too."""
    from translate.data.transforms import is_video_file
    from translate.errors import DataError
    from translate.inference.batch import collect_inputs, header_size
    from translate.inference.video import probe as read_header
    from translate.inference.tiling import round_tile

    jobs, _ = collect_inputs(inputs, None)
    batch_size = batch_size or 1
    if tile is not None:
        side = round_tile(tile, translator.generator)
        return translator.choose_levers((side, side), batch_size, n_images=len(jobs) * batch_size)
    # a video counts as its frames, whatever size it is read at
    videos = {}
    for job in jobs:
        if is_video_file(job.source):
            with contextlib.suppress(DataError):  # predict names an unreadable video when it comes to it
                videos[job.source] = read_header(job.source)
    n_images = sum(videos[job.source][1] if job.source in videos else 1 for job in jobs)
    for job in jobs if size is None else []:
        size = videos[job.source][0] if job.source in videos else header_size(job.source)
        if size is not None:
            break
    if size is None:
        return translator.choose_levers((256, 256), batch_size, n_images=0)
    return translator.choose_levers(size, batch_size, n_images=n_images)


def inference_probe(translator: Translator, example: torch.Tensor) -> Callable[[Lever], Callable[[], torch.Tensor]]:
    """`probe(lever)`: the translator set to the lever; returns one forward pass of `example` to time."""

    def probe(lever: Lever) -> Callable[[], torch.Tensor]:
        translator.use_lever(lever)

        def forward() -> torch.Tensor:
            torch.manual_seed(0)  # the same dropout noise for every lever, where the test mode keeps it
            return translator.translate_tensor(example)

        return forward

    return probe


def mean_level_difference(base: Any, other: Any) -> float:
    """Mean absolute difference of two outputs in [-1, 1], in 0-255 levels (inf where not finite)."""
    diff = float((other.float() - base.float()).abs().mean()) * 127.5
    return diff if diff == diff else float("inf")
