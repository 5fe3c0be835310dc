"""Where the numbers are crunched, for every command: the device, what it offers, and a line describing it.

How they are crunched there (autocast precision, memory format) is chosen by measurement: translate.levers.
"""

from __future__ import annotations

import torch

from translate.errors import ConfigError

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


def describe(device: torch.device, dtype: torch.dtype | None, channels_last: bool) -> str:
    """One line: 'cpu (AVX2, 2 threads), fp32, contiguous'."""
    if device.type == "cuda":
        where = f"{device} ({torch.cuda.get_device_name(device)})"
    else:
        capability = torch.backends.cpu.get_cpu_capability()
        where = f"cpu ({capability}, {torch.get_num_threads()} threads)"
    precision = {None: "fp32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast"}[dtype]
    return f"{where}, {precision}, {'channels-last' if channels_last else 'contiguous'}"
