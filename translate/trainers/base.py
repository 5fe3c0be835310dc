"""What every trainer shares: building its parts from the config, Adam, mixed precision, and a state dict.

A trainer owns its networks, optimisers and losses and exposes `step(batch) -> {loss name: float}`,
`translate(x)` (the main direction, for the held-out metric), `heldout(test_set)` (the held-out scores; by
default the L1 of `translate`), `sample(batch)` (named image columns for the sample grids) and `state_dict()` /
`load_state_dict()`. It knows nothing of loops, files or logging.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from translate.config import build_generator
from translate.errors import ConfigError
from translate.evaluation.metrics import heldout_l1
from translate.models.losses import hue_distance, total_variation
from translate.registry import TRAINERS, create, registry


SPECKLES = ("noise", "photo", "colour")  # what `speckled_negatives` adds to real targets


class Trainer:
    """Base of the trainers: parts from config tables, optimisers, autocast, DDP-aware calls, state.

    Subclasses set `self.networks` (name -> module, the names used in checkpoints: G, D, G_A, ...) and
    `self.optimizers` (name -> optimiser), then implement `step`, `translate` and `sample`.
    """

    # The held-out score the loop names in its lines: its key in what `heldout` returns, and how to say it.
    heldout_metric = ("heldout_l1", "held-out L1")

    def __init__(self, config: dict[str, Any], device: torch.device | str, *, tv_weight: float = 0.0,
                 tv_cap: float = 0.0, hue_weight: float = 0.0, speckled_negatives: float = 0.0,
                 speckle: str = "noise", speckle_window: int = 3) -> None:
        if tv_weight < 0 or tv_cap < 0:
            raise ConfigError(f"trainer.tv_weight={tv_weight}, trainer.tv_cap={tv_cap}: need both >= 0 "
                              "(tv_weight 0: no smoothness term; tv_cap 0: no cap on a step's cost)")
        if hue_weight < 0:
            raise ConfigError(f"trainer.hue_weight={hue_weight}: need a weight >= 0 (0: outputs may take any hue)")
        if speckled_negatives < 0:
            raise ConfigError(f"trainer.speckled_negatives={speckled_negatives}: need a noise level >= 0 (0: off)")
        if speckle not in SPECKLES:
            raise ConfigError(f"trainer.speckle={speckle!r}: choose one of {', '.join(map(repr, SPECKLES))}")
        if speckle_window < 3 or speckle_window % 2 == 0:
            raise ConfigError(f"trainer.speckle_window={speckle_window}: need an odd window of 3 or more "
                              "(3: the finest texture only)")
        self.tv_weight, self.tv_cap, self.hue_weight = tv_weight, tv_cap, hue_weight
        self.speckled_negatives, self.speckle, self.speckle_window = speckled_negatives, speckle, speckle_window
        self.config = config
        self.device = torch.device(device)
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        # Choices the trainer made at run time that the run's config.toml should record (e.g. VGG weights).
        self.resolved: dict[str, dict[str, Any]] = {}
        self._calls: dict[str, Callable[..., torch.Tensor]] = {}
        self._autocast_dtype: torch.dtype | None = None
        self._scaler: torch.amp.GradScaler | None = None
        self.step_count = 0  # steps done, set by the loop before each step
        self.total_steps = 0
        self.steps_per_epoch = 1

    # ------------------------------------------------------------------------------------------ building

    @property
    def in_channels(self) -> int:
        """Channels of the source images (data.in_channels)."""
        return int(self.config["data"]["in_channels"])

    @property
    def out_channels(self) -> int:
        """Channels of the target images (data.out_channels)."""
        return int(self.config["data"]["out_channels"])

    def build_generator(self, in_channels: int, out_channels: int) -> nn.Module:
        """The [generator] table's part, with the channels given; a U-Net's depth fits the crop size."""
        name = self.config["generator"]["name"]
        if self.config["data"]["layout"] == "labels":
            raise ConfigError(
                f"style '{self.config.get('style') or 'this data'}' holds labelled images (data.layout = 'labels'), "
                "nothing to translate; draw them with --model cgan"
            )
        if not registry("generator").entry(name).trainable:
            raise ConfigError(
                f"generator '{name}' is a baseline with nothing to train; score it with: translate eval {name} --style STYLE"
            )
        return build_generator(self.config, in_channels, out_channels).to(self.device)

    def build_discriminator(self, in_channels: int) -> nn.Module:
        """The [discriminator] table's part, taking `in_channels` (pix2pix: source + target channels)."""
        table = {k: v for k, v in self.config["discriminator"].items() if k != "name"}
        table["in_channels"] = in_channels
        return create("discriminator", self.config["discriminator"]["name"], **table).to(self.device)

    def build_gan_loss(self) -> nn.Module:
        """The [loss] table's GAN objective."""
        table = {k: v for k, v in self.config["loss"].items() if k != "name"}
        return create("loss", self.config["loss"]["name"], **table).to(self.device)

    def adam(self, *modules: nn.Module) -> torch.optim.Optimizer:
        """Adam over the parameters of `modules`, from the [optim] table (lr 2e-4, betas (0.5, 0.999))."""
        optim = self.config["optim"]
        if optim.get("name", "adam") != "adam":
            raise ConfigError(f"optim.name '{optim['name']}' is not supported; use adam")
        params = [p for m in modules for p in m.parameters()]
        return torch.optim.Adam(
            params, lr=optim["lr"], betas=(optim["beta1"], optim["beta2"]), weight_decay=optim["weight_decay"],
            **self.adam_kernel(),
        )

    def adam_kernel(self) -> dict[str, bool]:
        """Adam's fused kernel where torch has one for the device, else its multi-tensor one.

        Left to itself torch runs Adam on the CPU one parameter at a time: 0.38 s a step for pix2pix's 54M
        parameters on 2 AVX2 cores, against 0.06 s fused (benchmarks/results/levers.md). Same update, same state.
        """
        return {"fused": True} if self.device.type in ("cuda", "cpu", "mps") else {"foreach": True}

    # ---------------------------------------------------------------- run-time choices, set by the loop

    def use_precision(self, dtype: torch.dtype | None) -> None:
        """Run forwards under autocast in `dtype` (None: fp32); fp16 adds a gradient scaler."""
        self._autocast_dtype = dtype
        self._scaler = torch.amp.GradScaler(self.device.type) if dtype == torch.float16 else None

    def use_channels_last(self, on: bool = True) -> None:
        """Keep every network's weights in channels-last memory order (or back in the contiguous one)."""
        for net in self.networks.values():
            net.to(memory_format=torch.channels_last if on else torch.contiguous_format)

    def distribute(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """Wrap each network for data-parallel training (DDP); `call` then goes through the wrapper."""
        self._calls = {name: wrap(net) for name, net in self.networks.items()}

    def set_progress(self, step: int, total_steps: int, steps_per_epoch: int) -> None:
        """Where training stands (steps done before this step); trainers with phases read it."""
        self.step_count, self.total_steps, self.steps_per_epoch = step, total_steps, steps_per_epoch

    # ------------------------------------------------------------------------------ helpers for `step`

    def output_priors(self, images: torch.Tensor, source: torch.Tensor) -> dict[str, torch.Tensor]:
        """The priors on generated `images` translated from `source`, each off (left out) at weight 0:

        - "tv": tv_weight * their total variation (each step capped at `tv_cap` if set). A generator that must
          hide its source in its output for the way back (CycleGAN), or that a discriminator rewards for texture,
          paints fine speckle on what should be flat cels; this prior costs it (issue 14's table in
          benchmarks/README.md).
        - "hue": hue_weight * `hue_distance` to the source. A target domain of one palette (the world's greens and
          blues) pulls every real photo onto it, so a cat turns green; this keeps the source's hues.

        Both are off in the papers.
        """
        priors = {}
        if self.tv_weight > 0:
            priors["tv"] = total_variation(images, self.tv_cap) * self.tv_weight
        if self.hue_weight > 0 and images.shape[1] == source.shape[1] == 3:
            priors["hue"] = hue_distance(images, source) * self.hue_weight
        return priors

    def speckled(self, real: torch.Tensor, source: torch.Tensor) -> torch.Tensor | None:
        """Real targets with speckle added, for the discriminator to call fake as well; None when
        `speckled_negatives` is 0 (the papers).

        As CartoonGAN's edge-smoothed cartoons teach its D what a soft edge looks like, these teach it what a
        generator's speckle looks like, so that speckle on a flat region costs the generator. What is added
        (`speckle`): "noise", per-pixel Gaussian noise; "photo", the fine texture of the batch's own source
        images (each minus its 3 x 3 mean, its channels averaged where source and target differ in channels):
        the texture that CycleGAN's G_A hides for the way back and that a content loss or U-Net skips carry
        over; "colour", that texture with its channels mixed at random, per image. Its standard deviation is
        drawn per image between a quarter of `speckled_negatives` and all of it. `speckle_window` above 3 draws
        each batch's window among the odd sizes from 3 up to it: coarser texture too (a hatch some pixels wide).
        """
        if self.speckled_negatives <= 0:
            return None
        if self.speckle == "noise" or source.shape[-2:] != real.shape[-2:]:
            speckle = torch.randn_like(real.float())
        else:
            source = source.float()
            window = 3  # drawn only when wider ones are asked for: the default's random stream stays as it was
            if self.speckle_window > 3:
                window += 2 * int(torch.randint((self.speckle_window - 1) // 2, ()))
            texture = source - F.avg_pool2d(source, window, stride=1, padding=window // 2, count_include_pad=False)
            if texture.shape[1] != real.shape[1]:
                texture = texture.mean(1, keepdim=True).expand(-1, real.shape[1], -1, -1)
            if self.speckle == "colour":
                channels = texture.shape[1]
                mix = torch.randn(len(texture), channels, channels, device=texture.device)
                texture = torch.einsum("noc,nchw->nohw", mix, texture)
            speckle = texture / texture.flatten(1).std(1).clamp_min(1e-3).view(-1, 1, 1, 1)
        level = torch.rand(len(real), 1, 1, 1, device=real.device) * 0.75 + 0.25
        return (real + speckle * level * self.speckled_negatives).clamp(-1, 1).to(real.dtype)

    def speckled_loss(self, name: str, real: torch.Tensor, source: torch.Tensor,
                      condition: torch.Tensor | None = None) -> torch.Tensor | float:
        """Discriminator `name`'s loss for calling `speckled(real, source)` fake, with `condition` in front of it
        as a conditional discriminator sees its pairs (pix2pix: the source); 0 when speckled negatives are off."""
        speckled = self.speckled(real, source)
        if speckled is None:
            return 0.0
        shown = speckled if condition is None else torch.cat([condition, speckled], 1)
        return self.gan_loss(self.call(name, shown), False)

    def call(self, name: str, *inputs: torch.Tensor) -> torch.Tensor:
        """Run network `name` for a training update: through its DDP wrapper when distributed.

        A network that is frozen for this update (D in the generator's update) is called directly as
        `self.networks[name]`: a DDP wrapper would wait for gradients that never come.
        """
        return self._calls.get(name, self.networks[name])(*inputs)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Autocast for forwards at the run's precision (a no-op in fp32)."""
        if self._autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self._autocast_dtype)

    def backward(self, loss: torch.Tensor) -> None:
        """loss.backward(), scaled when training in fp16."""
        (self._scaler.scale(loss) if self._scaler is not None else loss).backward()

    def update(self, name: str) -> None:
        """Step optimiser `name` (through the gradient scaler in fp16)."""
        if self._scaler is not None:
            self._scaler.step(self.optimizers[name])
        else:
            self.optimizers[name].step()

    def end_step(self) -> None:
        """Called by the loop after each step: the fp16 scaler adapts its scale once per step."""
        if self._scaler is not None:
            self._scaler.update()

    @staticmethod
    def set_requires_grad(modules: nn.Module | list[nn.Module], flag: bool) -> None:
        """Freeze or unfreeze whole networks (the D while G learns), as the reference does."""
        for module in modules if isinstance(modules, list) else [modules]:
            for p in module.parameters():
                p.requires_grad_(flag)

    @contextlib.contextmanager
    def inference(self, eval_mode: bool = True) -> Iterator[None]:
        """No gradients, the run's autocast, and networks in eval mode (or train mode), restored afterwards."""
        modes = {name: net.training for name, net in self.networks.items()}
        try:
            for net in self.networks.values():
                net.train(not eval_mode)
            with torch.no_grad(), self.autocast():
                yield
        finally:
            for name, net in self.networks.items():
                net.train(modes[name])

    # ---------------------------------------------------------------------------- the trainer's face

    def prepare(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Add what the trainer needs to a CPU batch before it moves to the device (default: nothing)."""
        return batch

    def step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """One optimisation step on `batch`; returns each loss as a detached 0-d tensor on the device (read with
        float() when needed: the loop does so only when it logs, so a GPU is not made to wait every step)."""
        raise NotImplementedError

    def translate(self, source: torch.Tensor) -> torch.Tensor:
        """The main direction (A -> B) on a batch of source images, for the held-out metric."""
        raise NotImplementedError

    def heldout(self, test_set: Dataset, channels_last: bool = False) -> dict[str, Any]:
        """Held-out scores of the model as it is now, for log.jsonl; they include `heldout_metric`'s key. The loop
        calls it with the random streams isolated. A translator's: the mean L1 of `translate` against the true
        targets of the first 100 held-out images."""
        return {"heldout_l1": heldout_l1(self.translate, test_set, self.device, channels_last=channels_last)}

    def sample(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Named image columns for a sample grid, in order: input, output(s), target where there is one."""
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        """State beyond networks and optimisers (an image pool, say); tensors allowed."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what `extra_state` returned."""

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimisers, the fp16 scaler and extra state: everything to resume exactly."""
        return {
            "networks": {name: net.state_dict() for name, net in self.networks.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "scaler": self._scaler.state_dict() if self._scaler is not None else {},
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned (networks strictly)."""
        for name, net in self.networks.items():
            net.load_state_dict(state["networks"][name])
        for name, opt in self.optimizers.items():
            if name in state.get("optimizers", {}):
                kernels = [{k: g.get(k) for k in ("fused", "foreach")} for g in opt.param_groups]
                opt.load_state_dict(state["optimizers"][name])
                for group, kernel in zip(opt.param_groups, kernels):  # a checkpoint's kernel flags are not ours
                    group.update(kernel)
        if self._scaler is not None and state.get("scaler"):
            self._scaler.load_state_dict(state["scaler"])
        self.load_extra_state(state.get("extra", {}))


def batch_to_device(batch: dict[str, Any], device: torch.device, channels_last: bool = False) -> dict[str, Any]:
    """A CPU batch's tensors on `device` (images channels-last if asked), the rest as it is."""
    fmt = torch.channels_last if channels_last else torch.preserve_format
    return {
        k: v.to(device, non_blocking=True, memory_format=fmt) if isinstance(v, torch.Tensor) and v.dim() == 4
        else v.to(device) if isinstance(v, torch.Tensor) else v
        for k, v in batch.items()
    }


def batch_length(batch: dict[str, Any]) -> int:
    """How many items a batch holds: the length of its first tensor."""
    return next(len(v) for v in batch.values() if isinstance(v, torch.Tensor))


def build_trainer(config: dict[str, Any], device: torch.device) -> Trainer:
    """The config's [trainer] on `device`, its tunables from the table."""
    table = dict(config["trainer"])
    name = table.pop("name", "")
    if not name:
        raise ConfigError(f"no trainer: set trainer.name to one of {', '.join(TRAINERS.names())} (or use --model)")
    return TRAINERS.create(name, config=config, device=device, **table)
