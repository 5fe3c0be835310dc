"""Data-parallel training through PyTorch's own engine: `torchrun --nproc_per_node N translate train ...`.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; with WORLD_SIZE > 1 the loop joins the process group
(NCCL on GPUs, gloo on CPUs), wraps every network in DistributedDataParallel, splits the data with a
DistributedSampler, and lets rank 0 alone write logs, samples and checkpoints.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, DistributedSampler


@dataclass(frozen=True)
class World:
    """This process's place: rank, number of processes, GPU index on its node, and whether we joined."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # this loop created the process group and destroys it at the end

    @property
    def enabled(self) -> bool:
        """Whether more than one process trains."""
        return self.size > 1

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes files and prints."""
        return self.rank == 0


def join(device_setting: str) -> World:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); otherwise a world of one."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    owns = False
    if not dist.is_initialized():
        wants_cuda = device_setting.startswith("cuda") or (device_setting == "auto" and torch.cuda.is_available())
        if wants_cuda:
            torch.cuda.set_device(local_rank % torch.cuda.device_count())
        dist.init_process_group(backend="nccl" if wants_cuda else "gloo")
        owns = True
    return World(rank=rank, size=size, local_rank=local_rank, owns_group=owns)


def leave(world: World) -> None:
    """Leave the process group if this loop joined it."""
    if world.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def wrapper(device: torch.device) -> Any:
    """A function wrapping a network in DistributedDataParallel on `device`."""

    def wrap(module: nn.Module) -> nn.Module:
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)  # buffers follow rank 0 each forward

    return wrap


class ResumableSampler(DistributedSampler):
    """DistributedSampler (order from seed + epoch, the same on every rank) that can skip the first
    `skip` indices of an epoch, to resume mid-epoch exactly where a run stopped."""

    def __init__(self, dataset: Dataset, world: World, seed: int, shuffle: bool = True) -> None:
        super().__init__(dataset, num_replicas=world.size, rank=world.rank, shuffle=shuffle, seed=seed, drop_last=False)
        self.skip = 0

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(super().__iter__(), self.skip, None)

    def __len__(self) -> int:
        return max(0, super().__len__() - self.skip)


def any_rank(flags: list[bool], world: World, device: torch.device) -> list[bool]:
    """Each flag true if it is true on any rank (an interrupt or a non-finite loss stops every rank)."""
    if not world.enabled:
        return flags
    tensor = torch.tensor([float(f) for f in flags], device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return [bool(v) for v in tensor.tolist()]


def broadcast(value: Any, world: World) -> Any:
    """Rank 0's `value` on every rank (a picklable object; used for a run directory name)."""
    if not world.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sync_buffers(modules: list[nn.Module], world: World) -> None:
    """Give every rank rank 0's buffers (batch-norm statistics), so all ranks end identical."""
    if not world.enabled:
        return
    for module in modules:
        for buffer in module.buffers():
            dist.broadcast(buffer.data, src=0)
