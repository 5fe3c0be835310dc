"""Videos for `translate predict`: every frame of a clip translated in batches and written at the clip's frame rate,
and a folder of translated frames assembled into a video.

Decoding and encoding go through PyAV (FFmpeg's libraries), the `video` extra, imported only when a video is met.
A video keeps its container (.mp4 stays .mp4); its sound, when it has any, is copied untouched. Like every output
here, a video is written to a temporary file and renamed into place, so a failed or interrupted one leaves nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from PIL import Image

from translate.data.transforms import VIDEO_EXTENSIONS, to_image, to_mode
from translate.errors import DataError, TranslateError
from translate.files import atomic_path
from translate.inference.batch import side_by_side, translate_images
from translate.inference.pipeline import OrderedWriter
from translate.inference.translator import Translator

log = logging.getLogger("translate")

CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
# Encoders in order of preference for each container, with settings that keep a translation's detail
# (x264's crf 18 is about visually lossless); the first one this FFmpeg build has is used.
ENCODERS: dict[str, list[tuple[str, dict[str, str]]]] = {
    ".mp4": [("libx264", {"crf": "18"}), ("mpeg4", {})],
    ".mov": [("libx264", {"crf": "18"}), ("mpeg4", {})],
    ".mkv": [("libx264", {"crf": "18"}), ("mpeg4", {})],
    ".webm": [("libvpx-vp9", {"crf": "30", "b": "0"}), ("libvpx", {"crf": "10", "b": "2M"})],
    ".avi": [("mpeg4", {}), ("libx264", {"crf": "18"})],
}
MPEG4_BITS_PER_PIXEL = 0.3  # mpeg4's default 200 kbit/s blurs anything larger than a thumbnail


def import_av() -> Any:
    """PyAV, or a one-line error saying how to install it."""
    try:
        import av
    except ImportError:
        raise TranslateError('videos need PyAV: pip install "translate-zoo[video]"') from None
    return av


# ------------------------------------------------------------------------------------------------ reading


@contextlib.contextmanager
def open_video(path: str | os.PathLike[str]) -> Iterator[tuple[Any, Any]]:
    """(container, video stream) of a readable video file; anything else is a DataError naming the file."""
    av = import_av()
    try:
        container = av.open(os.fspath(path))
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable video ({reason(e)})") from None
    try:
        if not container.streams.video:
            raise DataError(f"{path}: holds no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # FFmpeg decodes on several threads
        yield container, stream
    finally:
        container.close()


@contextlib.contextmanager
def writing(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Iterator[None]:
    """FFmpeg's and the system's errors while writing `target` as a DataError naming `source` and `target`."""
    av = import_av()
    try:
        yield
    except (av.error.FFmpegError, OSError) as e:
        raise DataError(f"{source}: could not write {target} ({reason(e)})") from None


def reason(error: Exception) -> str:
    """FFmpeg's message without its errno prefix and file name."""
    text = getattr(error, "strerror", None) or str(error)
    return str(text).split(": '")[0]


def frame_rate(stream: Any) -> Fraction:
    """A video stream's frame rate: its average, else FFmpeg's guess, else 25 frames/s."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return Fraction(rate)
    return Fraction(25)


def probe(path: str | os.PathLike[str]) -> tuple[tuple[int, int], int]:
    """((width, height), frame count as the header says, 0 when unknown) of a video, from its header only."""
    with open_video(path) as (_, stream):
        return (int(stream.width), int(stream.height)), int(stream.frames or 0)


def decoded_frames(container: Any, stream: Any, path: Path, copy: Any = None) -> Iterator[Image.Image]:
    """The video stream's frames as RGB images, in order; `copy(packet)` is given the sound's packets on the way."""
    av = import_av()
    audio = container.streams.audio[:1] if copy is not None else []
    count = 0
    try:
        for packet in container.demux(stream, *audio):
            if packet.stream is not stream:
                if packet.dts is not None:  # the demuxer's empty end-of-stream packet carries none
                    copy(packet)
                continue
            for frame in packet.decode():
                count += 1
                yield frame.to_image()
    except av.error.FFmpegError as e:
        raise DataError(f"{path}: frame {count + 1} cannot be decoded ({reason(e)}); the file is damaged") from None
    if count == 0:
        raise DataError(f"{path}: holds no frames")
    # FFmpeg reads a file cut short up to where it ends, without an error: the header says how long it was
    expected = stream.frames or round(float(container.duration or 0) / 1e6 * frame_rate(stream))
    if count + 1 < 0.95 * expected:
        log.warning("%s: read %d frames of about %d; the file seems cut short", path, count, expected)


# ------------------------------------------------------------------------------------------------ writing


class VideoWriter:
    """Frames (PIL images of `size`, width x height) encoded into a video file at `rate` frames/s, atomically.

    `with VideoWriter(path, rate, size) as video: video.write(image)`; the file appears whole when the block ends
    without an error and not at all otherwise. `audio`: a stream whose packets `copy` adds unchanged.
    """

    def __init__(self, path: str | os.PathLike[str], rate: Fraction | float, size: tuple[int, int],
                 audio: Any = None) -> None:
        self.av = import_av()
        self.path, self.size, self.audio_source = Path(path), size, audio
        self.rate = Fraction(rate).limit_denominator(1001 * 1000)
        suffix = self.path.suffix.lower()
        if suffix not in CONTAINERS:
            raise DataError(f"{self.path}: videos are written as {', '.join(sorted(VIDEO_EXTENSIONS))}")
        self.codec, self.options = self._encoder(suffix)
        self.frames = 0

    def _encoder(self, suffix: str) -> tuple[str, dict[str, str]]:
        for name, options in ENCODERS[suffix]:
            try:
                self.av.codec.Codec(name, "w")
            except ValueError:  # UnknownCodecError: this FFmpeg build lacks the encoder
                continue
            return name, options
        raise DataError(f"this FFmpeg build cannot encode {suffix} videos; give the video a .mp4 name")

    def __enter__(self) -> VideoWriter:
        self._atomic = atomic_path(self.path)
        tmp = self._atomic.__enter__()
        self._container = self.av.open(str(tmp), "w", format=CONTAINERS[self.path.suffix.lower()])
        width, height = self.size[0] + self.size[0] % 2, self.size[1] + self.size[1] % 2
        self._stream = self._container.add_stream(self.codec, rate=self.rate)
        self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "yuv420p"
        self._stream.options = dict(self.options)
        if self.codec == "mpeg4":
            self._stream.bit_rate = int(max(1e6, width * height * float(self.rate) * MPEG4_BITS_PER_PIXEL))
        self._audio = (self._container.add_stream_from_template(self.audio_source)
                       if self.audio_source is not None else None)
        return self

    def write(self, image: Image.Image) -> None:
        """Encode one frame of the writer's size."""
        if image.size != self.size:
            raise DataError(f"frame {self.frames + 1} is {image.width}x{image.height}, the video "
                            f"{self.size[0]}x{self.size[1]}; a video needs frames of one size: pass --size WxH")
        pixels = np.asarray(image.convert("RGB"))
        # 4:2:0 video needs even sides: an odd one gets its last row or column repeated
        pixels = np.pad(pixels, ((0, self.size[1] % 2), (0, self.size[0] % 2), (0, 0)), mode="edge")
        frame = self.av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
        self._container.mux(self._stream.encode(frame))
        self.frames += 1

    def copy(self, packet: Any) -> None:
        """Add one packet of the source's sound, unchanged."""
        packet.stream = self._audio
        self._container.mux(packet)

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        try:
            if exc_type is None:
                self._container.mux(self._stream.encode(None))  # what the encoder still holds
            self._container.close()
        except BaseException as e:  # a file that failed to finish is thrown away, never renamed into place
            with contextlib.suppress(Exception):
                self._container.close()
            self._atomic.__exit__(type(e), e, e.__traceback__)
            raise
        self._atomic.__exit__(exc_type, exc, traceback)


# --------------------------------------------------------------------------------------------- translating


def predict_video(
    translator: Translator,
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    size: tuple[int, int] | None = None,
    sbs: bool = False,
    tile: int | None = None,
    overlap: int = 32,
    batch_size: int | None = None,
    bar: Any = None,
) -> int:
    """Translate every frame of the video `source` into the video `target` (same frame rate, sound copied); returns
    the number of frames. `batch_size` frames go through the network at once (tiles, with `tile`; None: as many
    as `Translator.batch_for` their size); frames are encoded on a background thread while the network runs.
    `bar` (a tqdm bar) is advanced by one per frame.
    A damaged or empty video is a DataError naming it, and then nothing is written."""
    source, target = Path(source), Path(target)
    with open_video(source) as (container, stream):
        audio = container.streams.audio[0] if container.streams.audio else None
        width, height = size or (int(stream.width), int(stream.height))  # an output has its input's size
        pending: list[Image.Image] = []
        with (
            writing(source, target),
            VideoWriter(target, frame_rate(stream), (width * (1 + sbs), height), audio) as video,
            OrderedWriter[None]() as encoder,
        ):

            def encode(inputs: list[Image.Image], outputs: list[torch.Tensor]) -> None:
                for image, output in zip(inputs, outputs):
                    result = to_image(output)
                    video.write(side_by_side(image, result) if sbs else result)

            def flush() -> None:
                if pending:
                    outputs = translate_images(translator, pending, tile, overlap, batch_size)
                    encoder.submit(encode, list(pending), outputs)
                    if bar is not None:
                        bar.update(len(pending))
                    pending.clear()
                list(encoder.results())  # raises what the encoder raised

            # the sound's packets are muxed on the encoder's thread too, in their place among the frames
            copy = (lambda packet: encoder.submit(video.copy, packet)) if audio is not None else None
            for image in decoded_frames(container, stream, source, copy):
                image = to_mode(image, translator.in_channels)
                if size is not None and image.size != size:
                    image = image.resize(size, Image.Resampling.BICUBIC)
                pending.append(image)
                if len(pending) >= (batch_size or translator.batch_for(*image.size)) or tile is not None:
                    flush()
            flush()
            list(encoder.results(wait=True))
    return video.frames


def frames_to_video(frames: list[Path], target: str | os.PathLike[str], fps: float, bar: Any = None) -> None:
    """Encode image files, in the order given, into the video `target` at `fps` frames/s. Frames of different
    sizes are refused before anything is encoded."""
    if not frames:
        raise DataError(f"no frames to make {target} from")
    sizes = {}
    for frame in frames:
        with Image.open(frame) as image:  # the header only
            sizes[frame] = image.size
    first = sizes[frames[0]]
    odd = next((f for f in frames if sizes[f] != first), None)
    if odd is not None:
        raise DataError(f"{odd} is {sizes[odd][0]}x{sizes[odd][1]} but {frames[0]} is {first[0]}x{first[1]}; "
                        f"a video needs frames of one size: pass --size WxH")
    with writing(frames[0].parent, target), VideoWriter(target, Fraction(fps).limit_denominator(1001), first) as video:
        for frame in frames:
            with Image.open(frame) as image:
                video.write(image)
            if bar is not None:
                bar.update(1)

