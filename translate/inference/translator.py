"""Any-size inference from a run directory or a catalogue name: `load(run) -> Translator`.

A Translator holds one generator in eval mode (dropout optionally kept on, pix2pix's noise) and translates
PIL images, numpy arrays or tensors of any size: the generator pads to its multiple and crops back. Large
images go through `translate.inference.tiling` in overlapping tiles; files and folders through
`translate.inference.batch`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import torch
from PIL import Image

from translate.config import build_generator, from_run
from translate.data.transforms import to_image, to_mode, to_tensor
from translate.device import choose_device, choose_precision
from translate.errors import CheckpointError, ConfigError
from translate.inference.tiling import round_tile, run_tiled
from translate.models.layers import set_dropout
from translate.zoo.pull import open_run

if TYPE_CHECKING:
    from translate.models.base import Generator

log = logging.getLogger("translate")

Input = TypeVar("Input", Image.Image, np.ndarray, torch.Tensor)


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


def load(
    run: str | os.PathLike[str],
    direction: str = "AtoB",
    device: str | torch.device = "cpu",
    keep_dropout: bool = False,
    precision: str = "auto",
    tag: str | None = None,
) -> "Translator":
    """A ready Translator from a run directory (or a checkpoint file in one) or a catalogue name: CycleGAN's
    G_A or G_B, else G. A shipped catalogue model is read straight from the package (nothing is written).

    `keep_dropout` keeps pix2pix's dropout noise on at test time; norms are always in eval mode.
    """
    if direction not in ("AtoB", "BtoA"):
        raise ConfigError(f"direction '{direction}': use AtoB or BtoA")
    found = open_run(run, tag)
    raw = found.config
    config = from_run(raw)
    in_channels, out_channels = run_channels(raw, config)
    names = found.network_names()
    if "G_A" in names and "G_B" in names:
        net = "G_A" if direction == "AtoB" else "G_B"
        if direction == "BtoA":
            in_channels, out_channels = out_channels, in_channels
    elif "G" in names:
        if direction == "BtoA":
            raise CheckpointError(
                f"{found.label} has one generator (G), which translates only A to B; --direction BtoA needs a "
                "CycleGAN run (G_A and G_B); for B to A train with data.direction = \"BtoA\""
            )
        net = "G"
    else:
        raise CheckpointError(f"{found.label}: checkpoint '{found.tag}' holds no generator (G, or G_A and G_B); "
                              f"it has {names}")
    generator = build_generator(without_pretrained(config), in_channels, out_channels)
    try:
        generator.load_state_dict(found.state(net))
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise CheckpointError(f"{found.label}: {net} does not fit its config ({first})") from None
    device = choose_device(device)
    return Translator(
        generator, config, in_channels=in_channels, out_channels=out_channels, device=device,
        keep_dropout=keep_dropout, precision=choose_precision(precision, device), run=found.run, network=net,
        source=found.label,
    )


# ------------------------------------------------------------------------------------- the Translator


class Translator:
    """One generator, ready to translate images of any size: `translator(image)` returns the same type.

    Takes a PIL image, an ndarray (HxW or HxWxC; uint8, or float in [0, 1]) or a tensor (CHW or NCHW in
    [-1, 1]); returns the same kind at the same size (PIL mode RGB or L after out_channels, uint8 for uint8).
    """

    def __init__(
        self,
        generator: Generator,
        config: dict[str, Any],
        in_channels: int,
        out_channels: int,
        device: torch.device | str = "cpu",
        keep_dropout: bool = False,
        precision: torch.dtype | None = None,
        run: Path | None = None,
        network: str = "G",
        source: str = "",
    ) -> None:

        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval()
        set_dropout(self.generator, keep_dropout)
        self.config, self.in_channels, self.out_channels = config, in_channels, out_channels
        self.precision, self.run, self.network = precision, run, network
        self.source = source or (str(run) if run else "generator")  # the run folder, or a catalogue name
        self.bgr = config.get("data", {}).get("channel_order", "RGB") == "BGR"

    def __repr__(self) -> str:
        return (f"Translator({self.source}:{self.network}, {self.in_channels}->{self.out_channels} "
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
        self._check(image)
        size = round_tile(tile, self.generator)
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
