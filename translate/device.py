"""Where and how the numbers are crunched: device, autocast precision and memory format, for every command.

"auto" picks only what was measured to be at least as fast and as good as fp32 on that kind of device
(benchmarks/results/precision.md). Measured so far: an AVX2 CPU, where bf16 autocast is several times
slower and channels-last no faster, so auto stays fp32 and contiguous there. CPUs with AMX or AVX512-BF16
and CUDA GPUs support bf16 autocast, but until it is measured on them auto keeps fp32 too (AUTO_BF16);
`train.precision = "bf16"` and `train.channels_last = "on"` ask for them explicitly.
"""

from __future__ import annotations

import logging

import torch

from translate.errors import ConfigError

log = logging.getLogger("translate")

# Device kinds on which auto turns bf16 autocast (and channels-last) on: only after a measurement.
AUTO_BF16: dict[str, bool] = {"cpu-amx": False, "cpu-avx512-bf16": False, "cuda-bf16": False}
AUTO_CHANNELS_LAST: dict[str, bool] = {"cpu": False, "cuda": False}


DEVICES = "auto, cpu, cuda, cuda:N or mps"


def choose_device(setting: str | torch.device, local_rank: int = 0) -> torch.device:
    """The device a setting names, for training, inference and benchmarks alike.

    auto: CUDA when present, else the CPU; cuda: this process's GPU (`local_rank` under torchrun); cuda:N;
    mps where this machine has it; cpu. A device the machine lacks is a one-line error.
    """
    if isinstance(setting, torch.device):
        return setting
    if setting == "auto":
        setting = "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cpu":
        return torch.device("cpu")
    if setting == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("device 'mps': this machine has no Apple GPU (MPS); use cpu or auto")
        return torch.device("mps")
    if setting == "cuda" or setting.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device '{setting}': this machine has no usable CUDA GPU; use cpu or auto")
        if setting == "cuda":
            return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
        index = setting.partition(":")[2]
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise ConfigError(f"device '{setting}': this machine has CUDA GPUs 0 to "
                              f"{torch.cuda.device_count() - 1}; use cuda:N with one of them, cuda or auto")
        return torch.device(setting)
    raise ConfigError(f"device '{setting}': use {DEVICES}")


def device_kind(device: torch.device) -> str:
    """A name for what the device offers: cpu-amx, cpu-avx512-bf16, cpu, cuda-bf16, cuda."""
    if device.type == "cuda":
        return "cuda-bf16" if torch.cuda.is_bf16_supported() else "cuda"
    cpu = getattr(torch, "cpu", None)
    if cpu is not None and getattr(cpu, "_is_amx_tile_supported", lambda: False)():
        return "cpu-amx"
    if cpu is not None and getattr(cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "cpu-avx512-bf16"
    return "cpu"


def choose_precision(setting: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of a precision setting (None: plain fp32), for training and inference alike."""
    kind = device_kind(device)
    if setting == "fp32":
        return None
    if setting == "auto":
        return torch.bfloat16 if AUTO_BF16.get(kind, False) else None
    if setting == "bf16":
        if device.type == "cuda" and kind != "cuda-bf16":
            raise ConfigError("precision 'bf16': this GPU has no bf16 support; use fp16, fp32 or auto")
        if kind == "cpu":
            log.warning("bf16 autocast on a CPU without AMX or AVX512-BF16 is emulated and slow; auto would use fp32")
        return torch.bfloat16
    if setting == "fp16":
        if device.type != "cuda":
            raise ConfigError("precision 'fp16' needs a CUDA GPU; on the CPU use bf16, fp32 or auto")
        return torch.float16
    raise ConfigError(f"precision '{setting}': use auto, fp32, bf16 or fp16")


def choose_channels_last(setting: str, device: torch.device) -> bool:
    """Whether to keep weights and images in channels-last order for a `train.channels_last` setting."""
    if setting == "on":
        return True
    if setting == "off":
        return False
    return AUTO_CHANNELS_LAST.get(device.type, False)


def describe(device: torch.device, dtype: torch.dtype | None, channels_last: bool) -> str:
    """One line: 'cpu (AVX2, 2 threads), fp32, contiguous'."""
    if device.type == "cuda":
        where = f"{device} ({torch.cuda.get_device_name(device)})"
    else:
        capability = torch.backends.cpu.get_cpu_capability()
        where = f"cpu ({capability}, {torch.get_num_threads()} threads)"
    precision = {None: "fp32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast"}[dtype]
    return f"{where}, {precision}, {'channels-last' if channels_last else 'contiguous'}"
