"""Any-size inference from a run directory: `load(run) -> Translator`, and the `translate predict` command's work.

A Translator holds one generator in eval mode (dropout optionally kept on, pix2pix's noise) and translates
PIL images, numpy arrays or tensors of any size: the generator pads to its multiple and crops back. Large
images go through `translate.tiling` in overlapping tiles; folders go through `predict_files`, which keeps
names, sizes and sub-folders, skips (and names) unreadable files, and never clobbers an output folder unasked.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, TypeVar

import numpy as np
import torch
from PIL import Image
from torch import nn

from translate.data.transforms import is_image_file, open_image, to_image, to_mode, to_tensor
from translate.errors import CheckpointError, ConfigError, DataError
from translate.parts import build_generator

log = logging.getLogger("translate")

Input = TypeVar("Input", Image.Image, np.ndarray, torch.Tensor)


# ------------------------------------------------------------------------------------ finding a run


def resolve_run(name_or_path: str | os.PathLike[str]) -> Path:
    """The run directory a path (a run folder, or a checkpoint file in one) or a catalogue model name stands for."""
    path = Path(name_or_path)
    if path.is_dir():
        return path
    if path.is_file() and path.suffix == ".safetensors" and path.parent.name == "checkpoints":
        return path.parent.parent
    if path.exists():
        raise CheckpointError(f"{path}: not a run directory; pass a folder written by 'translate train' "
                              "or a .safetensors file in its checkpoints/")
    try:  # the catalogue, where this build has one
        from translate import zoo

        found = zoo.resolve(str(name_or_path))
    except (ImportError, AttributeError):
        found = None
    if found is not None:
        return Path(found)
    from translate.registry import closest

    hint = closest(str(name_or_path), catalogue_names())
    did_you_mean = f"; did you mean '{hint}'?" if hint else "; pass a run folder or a model name (translate models)"
    raise CheckpointError(f"no run directory or catalogue model '{name_or_path}'{did_you_mean}")


def catalogue_names() -> list[str]:
    """The catalogue's model names; none in a build without one."""
    try:
        from translate import zoo
    except ImportError:
        return []
    return zoo.names()


def resolve_checkpoint(name_or_path: str | os.PathLike[str]) -> tuple[Path, str]:
    """The run directory and checkpoint tag: 'latest', or the stem of a `checkpoints/*.safetensors` given."""
    path = Path(name_or_path)
    run = resolve_run(name_or_path)
    return run, path.stem if path.is_file() else "latest"


# -------------------------------------------------------------------------------- building the network


def without_pretrained(config: dict[str, Any]) -> dict[str, Any]:
    """The config with a backbone's pretrained weights off: the checkpoint holds them, so none are needed here."""
    table = dict(config["generator"])
    if table.get("pretrained"):
        table["pretrained"] = False
    if table.get("weights"):
        table["weights"] = ""
    return {**config, "generator": table}


def run_channels(raw: dict[str, Any], config: dict[str, Any]) -> tuple[int, int]:
    """(in, out) channels of a run's A -> B generator: [data] when the run has it, else the [generator] table's.

    Trained runs record [data]; an imported reference run records only its generator's keywords.
    """
    if "data" in raw or not {"in_channels", "out_channels"} & set(config["generator"]):
        return int(config["data"]["in_channels"]), int(config["data"]["out_channels"])
    table = config["generator"]
    return int(table.get("in_channels", 3)), int(table.get("out_channels", 3))


def choose_device(setting: str | torch.device) -> torch.device:
    """auto (CUDA when present), cpu, cuda or cuda:N."""
    if isinstance(setting, torch.device):
        return setting
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {setting}: this machine has no usable CUDA GPU; use cpu or auto")
    try:
        return torch.device(setting)
    except RuntimeError:
        raise ConfigError(f"--device '{setting}': use auto, cpu, cuda or cuda:N") from None


def choose_precision(setting: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for inference: None (fp32) or bf16, by the same rule as training.

    Measured on this project's AVX2-only CPU (2 threads, torch 2.14, 256x256, batch 1, a shared machine):
    unet_256 fp32 0.5 s, bf16 autocast 7.7 s (emulated, 15x slower); resnet_9blocks fp32 2.7 s, bf16 over a
    minute. Channels-last was no faster either (unet 0.56 s, resnet 3.0 s), so inference stays fp32 and
    contiguous; `auto` uses bf16 only where `translate.trainers.device.AUTO_BF16` says it was measured faster.
    """
    from translate.trainers.device import choose_precision as choose

    if setting not in ("auto", "fp32", "bf16"):
        raise ConfigError(f"precision '{setting}': use auto, fp32 or bf16")
    return choose(setting, device)


def load(
    run: str | os.PathLike[str],
    direction: str = "AtoB",
    device: str | torch.device = "cpu",
    keep_dropout: bool = False,
    precision: str = "auto",
    tag: str | None = None,
) -> "Translator":
    """A ready Translator from a run directory (or a checkpoint file in one): CycleGAN's G_A or G_B, else G.

    `keep_dropout` keeps pix2pix's dropout noise on at test time; norms are always in eval mode.
    """
    from translate.config import from_run
    from translate.rundir import load_network_state, network_names, read_config

    run_dir, file_tag = resolve_checkpoint(run)
    tag = tag or file_tag
    if direction not in ("AtoB", "BtoA"):
        raise ConfigError(f"direction '{direction}': use AtoB or BtoA")
    raw = read_config(run_dir)
    config = from_run(raw)
    in_channels, out_channels = run_channels(raw, config)
    names = network_names(run_dir, tag)
    if "G_A" in names and "G_B" in names:
        net = "G_A" if direction == "AtoB" else "G_B"
        if direction == "BtoA":
            in_channels, out_channels = out_channels, in_channels
    elif "G" in names:
        if direction == "BtoA":
            raise CheckpointError(
                f"{run_dir} has one generator (G), which translates only A to B; --direction BtoA needs a CycleGAN "
                "run (G_A and G_B); for B to A train with data.direction = \"BtoA\""
            )
        net = "G"
    else:
        raise CheckpointError(f"{run_dir}: checkpoint '{tag}' holds no generator (G, or G_A and G_B); it has {names}")
    generator = build_generator(without_pretrained(config), in_channels, out_channels)
    try:
        generator.load_state_dict(load_network_state(run_dir, net, tag))
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise CheckpointError(f"{run_dir}: {net} does not fit its config.toml ({first})") from None
    device = choose_device(device)
    return Translator(
        generator, config, in_channels=in_channels, out_channels=out_channels, device=device,
        keep_dropout=keep_dropout, precision=choose_precision(precision, device), run=run_dir, network=net,
    )


# ------------------------------------------------------------------------------------- the Translator


class Translator:
    """One generator, ready to translate images of any size: `translator(image)` returns the same type.

    Takes a PIL image, an ndarray (HxW or HxWxC; uint8, or float in [0, 1]) or a tensor (CHW or NCHW in
    [-1, 1]); returns the same kind at the same size (PIL mode RGB or L after out_channels, uint8 for uint8).
    """

    def __init__(
        self,
        generator: nn.Module,
        config: dict[str, Any],
        in_channels: int,
        out_channels: int,
        device: torch.device | str = "cpu",
        keep_dropout: bool = False,
        precision: torch.dtype | None = None,
        run: Path | None = None,
        network: str = "G",
    ) -> None:
        from translate.models.layers import set_dropout

        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval()
        set_dropout(self.generator, keep_dropout)
        self.config, self.in_channels, self.out_channels = config, in_channels, out_channels
        self.precision, self.run, self.network = precision, run, network
        self.bgr = config.get("data", {}).get("channel_order", "RGB") == "BGR"
        self.size_multiple = int(getattr(generator, "size_multiple", 1))
        self.min_size = int(getattr(generator, "min_size", 1))

    def __repr__(self) -> str:
        return (f"Translator({self.run or 'generator'}:{self.network}, {self.in_channels}->{self.out_channels} "
                f"channels, {self.device}, {'bf16' if self.precision else 'fp32'})")

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.precision is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.precision)

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        batch = batch.to(self.device, torch.float32)
        if self.bgr and batch.shape[1] == 3:
            batch = batch.flip(1)
        with self._autocast():
            out = self.generator(batch)
        out = out.float()
        return out.flip(1) if self.bgr and out.shape[1] == 3 else out

    def translate_tensor(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) float32 in [-1, 1], on the input's device."""
        self._check(batch)
        with torch.inference_mode():
            out = self._forward(batch).to(batch.device)
        return out.clone()  # an ordinary tensor again, usable outside inference mode

    def tile_tensor(self, image: torch.Tensor, tile: int = 512, overlap: int = 32, batch_size: int = 4) -> torch.Tensor:
        """One image (1, C, H, W) in overlapping tiles of `tile` px (rounded to the generator's multiple)."""
        from translate.tiling import round_tile, run_tiled

        self._check(image)
        size = round_tile(tile, self.size_multiple, self.min_size)
        with torch.inference_mode():
            out = run_tiled(self._forward, image.float().cpu(), size, overlap, batch_size, self.device)
        return out.to(image.device).clone()

    def tile(self, x: Input, tile: int = 512, overlap: int = 32, batch_size: int = 4) -> Input:
        """Like calling the translator, but in tiles: memory bounded by the tile size, not the image's."""
        return self(x, tile=tile, overlap=overlap, batch_size=batch_size)

    def __call__(self, x: Input, tile: int | None = None, overlap: int = 32, batch_size: int = 4) -> Input:
        """Translate one image (or an NCHW batch) of any size; `tile` turns on tiling for large ones."""

        def run(batch: torch.Tensor) -> torch.Tensor:
            if tile is None:
                return self.translate_tensor(batch)
            return torch.cat([self.tile_tensor(b[None], tile, overlap, batch_size) for b in batch])

        if isinstance(x, Image.Image):
            return to_image(run(to_tensor(to_mode(x, self.in_channels))[None]))
        if isinstance(x, np.ndarray):
            return self._from_array(x, run)
        if isinstance(x, torch.Tensor):
            if x.dim() == 3:
                return run(x[None])[0]
            return run(x)
        raise TypeError(f"Translator takes a PIL image, a numpy array or a tensor, not {type(x).__name__}")

    def _check(self, batch: torch.Tensor) -> None:
        if batch.dim() != 4 or batch.shape[1] != self.in_channels:
            raise ValueError(
                f"expected an (N, {self.in_channels}, H, W) tensor in [-1, 1], got {tuple(batch.shape)}"
            )

    def _from_array(self, array: np.ndarray, run: Any) -> np.ndarray:
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
            raise ValueError(f"expected an HxW or HxWxC (C = 1 to 4) image array, got shape {array.shape}")
        is_uint8 = array.dtype == np.uint8
        values = array.astype(np.float32) / 255.0 if is_uint8 else array.astype(np.float32)
        image = values[..., None] if values.ndim == 2 else values
        if image.shape[2] in (2, 4):  # transparency over white, as for image files
            alpha = image[..., -1:]
            image = image[..., :-1] * alpha + (1.0 - alpha)
        if image.shape[2] == 3 and self.in_channels == 1:
            image = image @ np.array([[0.299], [0.587], [0.114]], dtype=np.float32)
        elif image.shape[2] == 1 and self.in_channels == 3:
            image = np.repeat(image, 3, axis=2)
        tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None] * 2.0 - 1.0
        out = ((run(tensor)[0].clamp(-1, 1) + 1.0) / 2.0).permute(1, 2, 0).numpy()
        if array.ndim == 2 and self.out_channels == 1:
            out = out[..., 0]
        return (out * 255.0).round().astype(np.uint8) if is_uint8 else out


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
            from translate.data.folders import list_images

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


def check_output_folder(out: Path, overwrite: bool) -> None:
    """Refuse an output folder that holds files already, unless `overwrite`; before anything is written."""
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; pass a folder for the translated images")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DataError(f"output folder {out} exists and is not empty; choose another --out or pass --overwrite")


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
    from translate.storage import atomic_path

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
) -> Summary:
    """Translate image files, folders and globs into `out`, keeping names, sizes and sub-folders.

    `image_format` png, jpg or same (the input's extension). Images of equal size go `batch_size` at a time;
    a tiled run batches tiles instead. Unreadable inputs are skipped, named in the log and the summary.
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

    def flush() -> None:
        if not pending:
            return
        batch = torch.stack([to_tensor(image) for _, image in pending])
        if tile is not None:
            results = [translator.tile_tensor(b[None], tile, overlap, batch_size)[0] for b in batch]
        else:
            results = list(translator.translate_tensor(batch))
        for (job, image), result in zip(pending, results):
            output = to_image(result)
            try:
                save_image(side_by_side(image, output) if sbs else output, out / job.target)
            except (OSError, ValueError, DataError) as e:
                summary.skipped.append((str(job.source), f"could not write {out / job.target}: {e}"))
                log.warning("skipping %s: could not write %s (%s)", job.source, out / job.target, e)
                continue
            summary.written.append(out / job.target)
        pending.clear()

    bar = _progress(len(jobs), progress and len(jobs) > 1)
    with bar, _logging_through(bar):
        for job in jobs:
            try:
                image = open_image(job.source, translator.in_channels)
            except DataError as e:
                summary.skipped.append((str(job.source), str(e).removeprefix(f"{job.source}: ")))
                log.warning("skipping %s", e)
                bar.update(1)
                continue
            if size is not None and image.size != size:
                image = image.resize(size, Image.Resampling.BICUBIC)
            if pending and pending[0][1].size != image.size:  # a batch holds images of one size
                flush()
            pending.append((job, image))
            if len(pending) >= batch_size or tile is not None:
                flush()
            bar.update(1)
        flush()
    return summary
