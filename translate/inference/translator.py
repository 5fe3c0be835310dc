"""Any-size inference from a run directory or a catalogue name: `load(run) -> Translator`.

A Translator holds one generator in eval mode (dropout optionally kept on, pix2pix's noise), or in the reference's
test mode (batch statistics, dropout on), and translates PIL images, numpy arrays or tensors of any size: the generator pads to its multiple and crops back. Large
images go through `translate.inference.tiling` in overlapping tiles; files and folders through
`translate.inference.batch`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, TypeVar

import numpy as np
import torch
from PIL import Image

from translate.config import build_generator, from_run
from translate.data.options import held_out_size
from translate.data.transforms import to_image, to_mode, to_tensor
from translate.device import choose_device
from translate.errors import CheckpointError, ConfigError
from translate.inference.sampling import refuse_translating
from translate.inference.tiling import round_tile, run_tiled
from translate.models.layers import set_dropout
from translate.zoo.cards import TEST_MODES
from translate.zoo.pull import open_run

if TYPE_CHECKING:
    from translate.models.base import Generator

log = logging.getLogger("translate")

Input = TypeVar("Input", Image.Image, np.ndarray, torch.Tensor)
RANGE_SLACK = 1e-3  # rounding beyond a range's ends that is still inside it
# An auto batch: unet_256 at 256 px under bf16 + channels-last on 2 AMX cores took 62 ms an image one at a time,
# 21 in batches of 4-8 and 18 in 16 (fp32: 66, 51, 52); the pixels cap bounds its memory for larger images.
BATCH_PIXELS = 16 * 256 * 256
MAX_BATCH = 16


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


PRECISION_NAMES = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


def load(
    run: str | os.PathLike[str],
    direction: str = "AtoB",
    device: str | torch.device = "cpu",
    keep_dropout: bool = False,
    precision: str = "auto",
    tag: str | None = None,
    test_mode: str | None = None,
    channels_last: str = "auto",
    page: bool | dict[str, Any] = False,
) -> "Translator":
    """A ready Translator from a run directory (or a checkpoint file in one) or a catalogue name: CycleGAN's
    G_A or G_B, else G. A shipped catalogue model is read straight from the package (nothing is written).

    `test_mode`: "eval" (batch norm's running statistics, dropout off) or "reference" (as the reference's test.py
    runs pix2pix by default, without --eval: each forward pass normalised by its own batch statistics, dropout
    on); default: a catalogue model's card's `input.test_mode`, else "eval". `keep_dropout` keeps pix2pix's
    dropout noise on in eval mode. `precision` (auto, fp32, bf16, fp16) and `channels_last` (auto, on, off): "auto"
    takes what `translate.levers` measured for this network on this machine at its training size, else fp32;
    `translator.choose_levers(size, n_images=...)` measures for another size (`translate predict` does).
    `page` makes every output a printable colouring page (`translate.inference.colouring_page`; a dict holds its
    settings: threshold, min_speck, gap, line_width); only for a model that draws line art.
    """
    if direction not in ("AtoB", "BtoA"):
        raise ConfigError(f"direction '{direction}': use AtoB or BtoA")
    if test_mode not in (None, *TEST_MODES):
        raise ConfigError(f"test mode '{test_mode}': use {' or '.join(TEST_MODES)}")
    found = open_run(run, tag)
    raw = found.config
    refuse_translating(raw, found.label)
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
    try:
        generator = build_with_weights(without_pretrained(config), in_channels, out_channels, found.state(net))
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise CheckpointError(f"{found.label}: {net} does not fit its config ({first})") from None
    device = choose_device(device)
    translator = Translator(
        generator, config, in_channels=in_channels, out_channels=out_channels, device=device,
        keep_dropout=keep_dropout, run=found.run, network=net, source=found.label,
        test_mode=test_mode or found.test_mode,
    )
    translator.page = page
    translator.lever_settings = (precision, channels_last)
    data = config.get("data", {})
    size = held_out_size(data) if data.get("crop_size") else 256
    translator.choose_levers((size, size))
    return translator


def build_with_weights(config: dict[str, Any], in_channels: int, out_channels: int,
                       state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """The generator holding `state`'s weights, built without first drawing the random weights they replace (a
    third of a second of predict's start-up for unet_256's 54M). Every weight and buffer the network keeps is in
    `state` (loaded strictly), so nothing is left as drawn."""
    with random_fills_skipped():
        generator = build_generator(config, in_channels, out_channels)
    generator.load_state_dict(state)
    return generator


INIT_FILLS = ("uniform_", "normal_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
              "xavier_normal_", "orthogonal_")


@contextlib.contextmanager
def random_fills_skipped() -> Iterator[None]:
    """torch.nn.init's random fills leave their tensors as they are (as Hugging Face's no_init_weights does) while
    a network whose weights are then loaded is built. Building on the meta device instead cost more than it saved:
    its first use imports half a second of torch's meta kernels."""
    saved = {name: getattr(torch.nn.init, name) for name in INIT_FILLS}
    try:
        for name in INIT_FILLS:
            setattr(torch.nn.init, name, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for name, fill in saved.items():
            setattr(torch.nn.init, name, fill)


def set_batch_statistics(module: torch.nn.Module, active: bool) -> torch.nn.Module:
    """Batch norms normalise by each batch's own statistics (`active`, as a network in train mode does, which is
    how the reference's test.py runs pix2pix without --eval) or by their running ones; the running statistics
    are never updated, so the weights stay as loaded."""
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.train(active)
            # train mode with no tracking: batch statistics, running ones left alone; eval mode uses them again
            m.track_running_stats = not active and m.running_mean is not None
    return module


# ------------------------------------------------------------------------------------- the Translator


class Translator:
    """One generator, ready to translate images of any size: `translator(image)` returns the same kind of image.

    What it takes, and gives back at the same size:

    - a PIL image (any mode; converted to RGB or L for the network) -> a PIL image, RGB or L after out_channels;
    - an ndarray HxW or HxWxC (C = 1 to 4, alpha over white): uint8 0..255 -> uint8; float in [0, 1] -> float32
      in [0, 1] (the convention of image libraries; a float array with values below 0 or above 1 is refused);
    - a tensor CHW or NCHW, channels RGB (or grey): float in [-1, 1] -> float32 in [-1, 1] (the networks'
      convention; values outside it are refused); uint8 0..255 -> uint8. A float tensor with no value below 0
      is still read as [-1, 1] (a bright image is that too), with a warning once, since a [0, 1] image passed by
      mistake looks so: pass `x * 2 - 1`, or a uint8 tensor.

    `test_mode` "reference" normalises every forward pass by its own batch statistics, as the reference's test.py
    does: results then depend on what is in the batch (one image, or one tile), as they do there.

    The network's own conventions (the card's: channel order, [-1, 1], the size multiple it pads to) are applied
    here; to use `translator.generator` (a plain nn.Module) directly, wrap it in `preprocess` and `postprocess`.
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
        test_mode: str = "eval",
    ) -> None:
        if test_mode not in TEST_MODES:
            raise ValueError(f"test_mode '{test_mode}': use {' or '.join(TEST_MODES)}")
        self.device = torch.device(device)
        self.generator = generator.to(self.device).eval()
        self.test_mode = test_mode
        set_dropout(self.generator, keep_dropout or test_mode == "reference")
        set_batch_statistics(self.generator, test_mode == "reference")
        self.config, self.in_channels, self.out_channels = config, in_channels, out_channels
        self.precision, self.run, self.network = precision, run, network
        self.channels_last = False
        # (precision, channels_last) settings for choose_levers: as given here, unless load() asks for auto
        self.lever_settings = (PRECISION_NAMES[precision], "off")
        self.levers: Any = None  # the translate.levers.Choice in use, once one is made
        self.source = source or (str(run) if run else "generator")  # the run folder, or a catalogue name
        self.bgr = self.channel_order == "BGR"
        self._warned_range = False
        self._page: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return (f"Translator({self.source}:{self.network}, {self.in_channels}->{self.out_channels} "
                f"channels, {self.device}, {self._lever_name()}, {self.test_mode} mode)")

    def _lever_name(self) -> str:
        return PRECISION_NAMES[self.precision] + " + channels-last" * self.channels_last

    # ------------------------------------------------------------------------------ the network's conventions

    @property
    def channel_order(self) -> str:
        """The channel order the network takes and gives: "RGB", or "BGR" (CartoonGAN's published networks)."""
        return str(self.config.get("data", {}).get("channel_order", "RGB"))

    @property
    def size_multiple(self) -> int:
        """Height and width the network's aligned forward needs to be multiples of (`generator` pads to it)."""
        return int(getattr(self.generator, "size_multiple", 1))

    @property
    def page(self) -> bool | dict[str, Any]:
        """Whether outputs are made printable colouring pages (False, True, or the dict of settings given)."""
        return False if self._page is None else (self._page or True)

    @page.setter
    def page(self, value: bool | dict[str, Any]) -> None:
        if value:
            from translate.inference.colouring_page import check_draws_lines

            check_draws_lines(self.config, "BtoA" if self.network == "G_B" else "AtoB", self.source)
        self._page = (dict(value) if isinstance(value, dict) else {}) if value else None

    def _finish(self, out: torch.Tensor) -> torch.Tensor:
        """The network's output (N, C, H, W) in [-1, 1], as colouring pages when `page` is on."""
        if self._page is None:
            return out
        from translate.inference.colouring_page import tensor_page

        return tensor_page(out, self._page)

    def use_lever(self, lever: Any) -> None:
        """Run under a `translate.levers.Lever`: its autocast precision, memory format and cudnn setting."""
        lever.apply()
        self.precision, self.channels_last = lever.dtype, lever.channels_last
        self.generator.to(memory_format=torch.channels_last if lever.channels_last else torch.contiguous_format)

    def batch_for(self, width: int, height: int) -> int:
        """How many images (or tiles) of this size `translate predict` runs at once when its batch is auto: up to
        BATCH_PIXELS in all, at most MAX_BATCH; one where each forward pass normalises by its own batch's
        statistics (test mode "reference"), so that every image comes out as it would alone."""
        if self.test_mode == "reference":
            return 1
        return max(1, min(MAX_BATCH, BATCH_PIXELS // max(1, width * height)))

    def choose_levers(self, size: tuple[int, int], batch_size: int = 1, n_images: int = 0,
                      remeasure: bool = False) -> Any:
        """Set the levers for images of `size` (width, height) by `self.lever_settings` (precision, channels_last):
        as set, cached, or measured now when `n_images` are enough to pay for it. Returns the levers.Choice."""
        from translate.inference.probe import choose_for_inference

        self.levers = choose_for_inference(self, size, batch_size, n_images, remeasure)
        self.use_lever(self.levers.lever)
        return self.levers

    def to(self, device: torch.device | str) -> Translator:
        """Move the generator to `device` (e.g. "cuda", "cpu"); returns the translator itself, as nn.Module does."""
        self.device = choose_device(device)  # a device this machine lacks is a one-line error
        self.generator.to(self.device)
        if self.precision == torch.float16 and self.device.type != "cuda":
            self.precision = None  # fp16 autocast is for CUDA GPUs only
        return self

    def preprocess(self, x: Image.Image | np.ndarray | torch.Tensor) -> torch.Tensor:
        """An image (any kind `translator(x)` takes) as the network's input: (N, in_channels, H, W) float32 in
        [-1, 1], in the network's channel order, on the translator's device; `translator.generator(x)` takes it."""
        return self._network_order(self._as_batch(x)).to(self.device)

    def postprocess(self, y: torch.Tensor, like: Image.Image | np.ndarray | torch.Tensor | None = None) -> Any:
        """The network's output (N, out_channels, H, W) in its channel order as an image: an RGB (or grey) float
        tensor in [-1, 1] on the CPU, or, given the input `like`, the same kind as it (what `translator(like)`
        returns: PIL image, uint8 or float array, uint8 or float tensor)."""
        out = self._finish(self._network_order(y.detach().float()).clamp(-1, 1))
        return self._as_input_kind(out, like)

    # --------------------------------------------------------------------------------------- translating

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.precision is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.precision)

    def _network_order(self, batch: torch.Tensor) -> torch.Tensor:
        """RGB <-> the network's order (the same flip either way); grey passes as it is."""
        return batch.flip(1) if self.bgr and batch.shape[1] == 3 else batch

    def _forward(self, batch: torch.Tensor) -> torch.Tensor:
        batch = self._network_order(batch.to(self.device, torch.float32))
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            out = self.generator(batch)
        return self._network_order(out.float())

    def translate_tensor(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) RGB float in [-1, 1] -> (N, out_channels, H, W) float32 in [-1, 1], on the input's
        device."""
        self._check(batch)
        with torch.inference_mode():
            out = self._forward(batch).to(batch.device)
        return self._finish(out.clone())  # an ordinary tensor again, usable outside inference mode

    def tile_tensor(self, image: torch.Tensor, tile: int = 512, overlap: int = 32, batch_size: int = 4) -> torch.Tensor:
        """One image (1, C, H, W) in overlapping tiles of `tile` px (rounded to the generator's multiple)."""
        self._check(image)
        size = round_tile(tile, self.generator)
        with torch.inference_mode():
            out = run_tiled(self._forward, image.float().cpu(), size, overlap, batch_size, self.device)
        return self._finish(out.to(image.device).clone())

    def tile(self, x: Input, tile: int = 512, overlap: int = 32, batch_size: int = 4) -> Input:
        """Like calling the translator, but in tiles: memory bounded by the tile size, not the image's."""
        return self(x, tile=tile, overlap=overlap, batch_size=batch_size)

    def __call__(self, x: Input, tile: int | None = None, overlap: int = 32, batch_size: int = 4) -> Input:
        """Translate one image (or an NCHW batch) of any size; `tile` turns on tiling for large ones."""
        batch = self._as_batch(x)
        if tile is None:
            out = self.translate_tensor(batch)
        else:
            out = torch.cat([self.tile_tensor(b[None], tile, overlap, batch_size) for b in batch])
        return self._as_input_kind(out, x)

    # ------------------------------------------------------------------------------------ checking inputs

    def _check(self, batch: torch.Tensor) -> None:
        if batch.dim() != 4 or batch.shape[1] != self.in_channels:
            raise ValueError(
                f"expected an (N, {self.in_channels}, H, W) tensor in [-1, 1], got {tuple(batch.shape)}"
            )
        if not batch.is_floating_point():
            raise ValueError(f"expected a float tensor in [-1, 1], got {batch.dtype}; pass it to the translator "
                             "itself (translator(x) takes uint8 0..255) or to translator.preprocess")
        low, high = (float(v) for v in torch.aminmax(batch.detach()))
        if low < -1.0 - RANGE_SLACK or high > 1.0 + RANGE_SLACK:
            fix = "x / 127.5 - 1" if high > 2.0 else "x.clamp(-1, 1), or rescale it"
            raise ValueError(f"expected a float tensor in [-1, 1], got values in [{low:.3g}, {high:.3g}]; pass {fix}"
                             ", or a uint8 tensor 0..255")

    def _as_batch(self, x: Any) -> torch.Tensor:
        """Any input kind as an (N, in_channels, H, W) RGB float batch in [-1, 1] (on the input's device)."""
        if isinstance(x, Image.Image):
            return to_tensor(to_mode(x, self.in_channels))[None]
        if isinstance(x, np.ndarray):
            return self._array_batch(x)
        if isinstance(x, torch.Tensor):
            if x.dim() not in (3, 4):
                raise ValueError(f"expected a CHW or NCHW tensor, got shape {tuple(x.shape)}")
            batch = x[None] if x.dim() == 3 else x
            if batch.dtype == torch.uint8:
                batch = batch.float() / 127.5 - 1.0
            elif not batch.is_floating_point():
                raise ValueError(f"expected a float tensor in [-1, 1] or a uint8 tensor 0..255, got {batch.dtype}")
            self._check(batch)
            if not self._warned_range and batch.numel() and float(batch.min()) >= 0.0 and x.dtype != torch.uint8:
                self._warned_range = True
                log.warning("a float tensor with no value below 0 is read as [-1, 1] (a bright image); if it is a "
                            "[0, 1] image, pass x * 2 - 1 or a uint8 tensor")
            return batch
        raise TypeError(f"Translator takes a PIL image, a numpy array or a tensor, not {type(x).__name__}")

    def _as_input_kind(self, out: torch.Tensor, like: Any) -> Any:
        """An RGB float batch in [-1, 1] as the kind of `like` (None: the batch itself, on the CPU); a float tensor
        is given back as the network made it (on the input's device), every other kind clamped to its range."""
        if like is None:
            return out.cpu()
        if isinstance(like, Image.Image):
            return to_image(out)
        if isinstance(like, np.ndarray):
            image = ((out[0].clamp(-1, 1) + 1.0) / 2.0).permute(1, 2, 0).cpu().numpy()
            if like.ndim == 2 and self.out_channels == 1:
                image = image[..., 0]
            return (image * 255.0).round().astype(np.uint8) if like.dtype == np.uint8 else image
        if isinstance(like, torch.Tensor):
            if like.dtype == torch.uint8:
                out = ((out.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
            return out[0] if like.dim() == 3 else out
        raise TypeError(f"postprocess gives back a PIL image, a numpy array or a tensor, not {type(like).__name__}")

    def _array_batch(self, array: np.ndarray) -> torch.Tensor:
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
            raise ValueError(f"expected an HxW or HxWxC (C = 1 to 4) image array, got shape {array.shape}")
        if array.dtype == np.uint8:
            values = array.astype(np.float32) / 255.0
        elif np.issubdtype(array.dtype, np.floating):
            values = array.astype(np.float32)
            low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
            if low < -RANGE_SLACK or high > 1.0 + RANGE_SLACK:
                raise ValueError(f"expected a uint8 array, or a float array in [0, 1], got values in [{low:.3g}, "
                                 f"{high:.3g}]; rescale it to [0, 1] (from [-1, 1]: (x + 1) / 2), or pass uint8")
        else:
            raise ValueError(f"expected a uint8 array, or a float array in [0, 1], got {array.dtype}")
        image = values[..., None] if values.ndim == 2 else values
        if image.shape[2] in (2, 4):  # transparency over white, as for image files
            alpha = image[..., -1:]
            image = image[..., :-1] * alpha + (1.0 - alpha)
        if image.shape[2] == 3 and self.in_channels == 1:
            image = image @ np.array([[0.299], [0.587], [0.114]], dtype=np.float32)
        elif image.shape[2] == 1 and self.in_channels == 3:
            image = np.repeat(image, 3, axis=2)
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None] * 2.0 - 1.0
