"""The speed half of `translate benchmark`: size, cost and speed of one model configuration on this device.

For a resolved config at one image size: parameters, multiply-accumulates (FlopCounterMode), training
steps/s and images/s (real `trainer.step` calls on a fixed random batch), inference images/s (the generator
in eval mode under `torch.inference_mode`), peak memory, and the FLOP/s achieved as a share of this
machine's own matrix-multiply peak, measured in the same process (`matmul_peak`). Every time is the median
of `repeats` runs after `warmup` runs; absolute numbers on a shared machine are noise, ratios are not.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import statistics
import threading
import time
from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, conv_flop_count

from translate import device as devices
from translate import levers
from translate.bench.measure import count_macs, count_parameters
from translate.config import build_generator
from translate.trainers.base import build_trainer
from translate.trainers.probe import job_name
from translate.trainers.rng import seed_everything

MIB = 2**20


# --------------------------------------------------------------------------------------------- timing


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn: Callable[[], Any], device: torch.device, warmup: int = 1, repeats: int = 3) -> float:
    """The median wall time of `repeats` calls of `fn` after `warmup` untimed ones (the device synchronised)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(max(1, repeats)):
        tic = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def fast_bf16(device: torch.device) -> bool:
    """Whether the device multiplies bf16 natively (AMX, AVX512-BF16, a bf16 GPU); emulated bf16 is not measured."""
    return devices.device_kind(device) in ("cpu-amx", "cpu-avx512-bf16", "cuda-bf16")


def matmul_peak(device: torch.device, n: int = 2048, dtype: torch.dtype = torch.float32,
                warmup: int = 2, repeats: int = 5) -> float:
    """FLOP/s of an n x n matrix product in `dtype` on `device`, the median of `repeats`: this machine's peak."""
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    seconds = median_seconds(lambda: torch.mm(a, b), device, warmup, repeats)
    return 2 * n**3 / seconds


def machine_peaks(device: torch.device, n: int = 2048, warmup: int = 2, repeats: int = 5) -> dict[str, Any]:
    """fp32 matmul FLOP/s (and bf16 where the device has it natively), with what was measured."""
    peaks: dict[str, Any] = {"matmul_size": n, "fp32_flops": matmul_peak(device, n, torch.float32, warmup, repeats)}
    if fast_bf16(device):
        peaks["bf16_flops"] = matmul_peak(device, n, torch.bfloat16, warmup, repeats)
    else:
        peaks["bf16_flops"] = None
        peaks["bf16_note"] = "not measured: no native bf16 on this device (emulated bf16 is several times slower)"
    if device.type == "cuda":
        peaks["tf32_matmul"] = bool(torch.backends.cuda.matmul.allow_tf32)
        peaks["tf32_conv"] = bool(torch.backends.cudnn.allow_tf32)
    return peaks


# --------------------------------------------------------------------------------------------- memory


def _resident_bytes() -> int | None:
    """This process's resident set size from /proc (None where there is no /proc)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _release_freed_memory() -> None:
    """Give freed heap back to the OS (glibc's malloc_trim), so the next RSS baseline is honest."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakMemory:
    """Peak memory above the level at entry, in bytes (`.bytes`; None where it cannot be measured).

    CUDA: the caching allocator's peak (`max_memory_allocated`). CPU: the process's resident set, sampled
    every `interval` seconds in a thread (tensors live outside Python's heap, so tracemalloc cannot see them).
    """

    def __init__(self, device: torch.device, interval: float = 0.001) -> None:
        self.device, self.interval = device, interval
        self.bytes: int | None = None
        self._base = self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, _resident_bytes() or 0)

    def __enter__(self) -> "PeakMemory":
        _release_freed_memory()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        elif (base := _resident_bytes()) is not None:
            self._base = self._peak = base
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self._base
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, _resident_bytes() or 0)
            self.bytes = self._peak - self._base


# ---------------------------------------------------------------------------------------------- FLOPs


def _conv_backward_flop(grad_out_shape: Any, x_shape: Any, w_shape: Any, _bias: Any, _stride: Any, _padding: Any,
                        _dilation: Any, transposed: bool, _output_padding: Any, _groups: Any, output_mask: Any,
                        out_shape: Any = None, **kwargs: Any) -> int:
    # Each gradient (input, weight) of a convolution costs one forward convolution. torch's own formula counts
    # the weight gradient of a grouped convolution `groups` times over (33x the forward for a depthwise conv).
    forward = conv_flop_count(list(x_shape), list(w_shape), list(grad_out_shape), transposed)
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def flop_counter() -> FlopCounterMode:
    """A FlopCounterMode whose convolution backward counts grouped (depthwise) convolutions right."""
    return FlopCounterMode(display=False, custom_mapping={torch.ops.aten.convolution_backward: _conv_backward_flop})


# ---------------------------------------------------------------------------------------- one config


def random_batch(config: dict[str, Any], size: int, batch_size: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A fixed batch of uniform noise images in [-1, 1] with the config's channels (speed does not depend on
    content)."""
    g = torch.Generator().manual_seed(seed)
    data = config["data"]
    return {side: torch.rand(batch_size, data[key], size, size, generator=g) * 2 - 1
            for side, key in (("A", "in_channels"), ("B", "out_channels"))}


def measure_speed(config: dict[str, Any], size: int, device: torch.device, *, batch_size: int = 1,
                  warmup: int = 1, repeats: int = 3, seed: int = 0) -> dict[str, Any]:
    """One row of the speed table for a resolved config at `size` x `size` pixels (see the module docstring).

    The trainer runs at the precision and memory format `translate train` would pick for the config: as set, or
    as measured and cached on this machine (`translate benchmark --levers`), else fp32.
    """
    train = config["train"]
    lever = levers.resolve(device, train["precision"], train["channels_last"],
                           job_name({**config, "data": {**config["data"], "crop_size": size}}, batch_size)).lever
    dtype, channels_last = lever.dtype, lever.channels_last
    timing = dict(batch_size=batch_size, warmup=warmup, repeats=repeats, seed=seed)
    row: dict[str, Any] = {"size": size, "batch_size": batch_size,
                           "precision": {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]}
    # one after the other, each in its own function: the trainer is freed before the generator is measured
    row.update(_training(config, size, device, dtype, channels_last, **timing))
    row.update(_inference(config, size, device, dtype, channels_last, **timing))
    _release_freed_memory()
    row["steps_per_s"] = 1 / row["step_s"]
    row["train_images_per_s"] = batch_size / row["step_s"]
    row["infer_images_per_s"] = batch_size / row["infer_s"]
    row["train_flops_per_s"] = row["train_flops"] / row["step_s"]
    row["infer_flops_per_s"] = 2 * row["g_macs"] * batch_size / row["infer_s"]
    return row


def _training(config: dict[str, Any], size: int, device: torch.device, dtype: torch.dtype | None,
              channels_last: bool, batch_size: int, warmup: int, repeats: int, seed: int) -> dict[str, Any]:
    fmt = torch.channels_last if channels_last else torch.preserve_format
    seed_everything(seed)
    with PeakMemory(device) as memory:
        trainer = build_trainer(config, device)
        trainer.use_precision(dtype)
        if channels_last:
            trainer.use_channels_last()
        trainer.set_progress(10**9, 0, 1)  # past any warm-up phase (CartoonGAN's content-only start)
        batch = trainer.prepare(random_batch(config, size, batch_size, seed))
        batch = {k: v.to(device, memory_format=fmt) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

        def step() -> None:
            trainer.step(batch)
            trainer.end_step()

        counter = flop_counter()
        with counter:  # the first call is also the first warm-up
            step()
        step_s = median_seconds(step, device, max(0, warmup - 1), repeats)
    return {
        "networks": list(trainer.networks),
        "train_params": sum(count_parameters(net) for net in trainer.networks.values()),
        "train_flops": counter.get_total_flops(),  # one step of the whole batch: every network, forward and backward
        "step_s": step_s,
        "train_peak_mib": None if memory.bytes is None else memory.bytes / MIB,
    }


def _inference(config: dict[str, Any], size: int, device: torch.device, dtype: torch.dtype | None,
               channels_last: bool, batch_size: int, warmup: int, repeats: int, seed: int) -> dict[str, Any]:
    fmt = torch.channels_last if channels_last else torch.preserve_format
    in_ch, out_ch = int(config["data"]["in_channels"]), int(config["data"]["out_channels"])
    with PeakMemory(device) as memory:
        generator = build_generator(config, in_ch, out_ch).to(device, memory_format=fmt).eval()
        images = random_batch(config, size, batch_size, seed + 1)["A"].to(device, memory_format=fmt)

        def infer() -> None:
            autocast = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
            with torch.inference_mode(), autocast:
                generator(images)

        infer_s = median_seconds(infer, device, warmup, repeats)
    return {
        "g_params": count_parameters(generator),
        "g_macs": count_macs(generator, (1, in_ch, size, size)),  # one image, forward
        "infer_s": infer_s,
        "infer_peak_mib": None if memory.bytes is None else memory.bytes / MIB,
    }


def memory_method(device: torch.device) -> str:
    """How peak memory is measured on `device`, for the report."""
    if device.type == "cuda":
        return "torch.cuda.max_memory_allocated above the level before building (tensors only)"
    if _resident_bytes() is None:
        return "not measured (no /proc on this system)"
    return ("peak resident set size above the level before building, sampled every 1 ms in a thread "
            "(includes the allocator's and the libraries' own memory; a coarse, upper figure)")


# ---------------------------------------------------------------------------------------------- report


def _si(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{prefix}{unit}"
    return f"{value:.3g}{unit}"


def speed_markdown(rows: list[dict[str, Any]], peak: dict[str, Any]) -> list[str]:
    """The speed table as markdown lines; 'x ref' columns are times relative to the first row of each size."""
    head = ["model", "style", "G", "D", "px", "G params", "G MACs/img", "train FLOP/step", "steps/s", "train img/s",
            "infer img/s", "train peak MiB", "infer peak MiB", "train % peak", "infer % peak", "step x ref",
            "infer x ref"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        first = [r["label"], r["style"] or "noise", r["generator"], r["discriminator"], str(r["size"])]
        if "skipped" in r:
            lines.append("| " + " | ".join(first) + f" | skipped: {r['skipped']} |")
            continue
        mib = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
        lines.append("| " + " | ".join(first + [
            _si(r["g_params"]), _si(r["g_macs"]), _si(r["train_flops"]), f"{r['steps_per_s']:.3g}",
            f"{r['train_images_per_s']:.3g}", f"{r['infer_images_per_s']:.3g}", mib(r["train_peak_mib"]),
            mib(r["infer_peak_mib"]), f"{100 * r['train_peak_fraction']:.1f}", f"{100 * r['infer_peak_fraction']:.1f}",
            f"{r['step_ratio']:.2f}", f"{r['infer_ratio']:.2f}",
        ]) + " |")
    bf16 = (f"bf16 {_si(peak['bf16_flops'], 'FLOP/s')}" if peak.get("bf16_flops")
            else f"bf16 {peak.get('bf16_note', 'not measured')}")
    measured = (f" (the larger of {_si(peak['fp32_flops_start'])} at the start and {_si(peak['fp32_flops_end'])} "
                "at the end)" if "fp32_flops_end" in peak else "")
    lines += ["", f"Matmul peak ({peak['matmul_size']}x{peak['matmul_size']}, median): fp32 "
                  f"{_si(peak['fp32_flops'], 'FLOP/s')}{measured}; {bf16}. "
                  "'% peak' is the FLOP/s a training step (every network, "
                  "forward and backward, counted by FlopCounterMode, grouped-convolution backward corrected) or an "
                  "inference call achieved, as a share of the fp32 peak."]
    return lines
