"""Randomness a run must control: seeding, saving and restoring every generator, and evaluation that
leaves the training stream untouched (so a resumed run matches an uninterrupted one exactly)."""

from __future__ import annotations

import contextlib
import random
from typing import Any, Iterator

import numpy as np
import torch

from translate.trainers.base import Trainer


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's (CPU and CUDA) global generators."""
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": np.random.get_state(legacy=False),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = state["numpy"]
    numpy_state["state"]["key"] = np.asarray(numpy_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(numpy_state)
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


@contextlib.contextmanager
def isolated(trainer: Trainer) -> Iterator[None]:
    """Evaluation that leaves training as it was: RNG states and norm buffers are put back afterwards."""
    py, np_state = random.getstate(), np.random.get_state()
    buffers = {
        name: [b.detach().clone() for b in net.buffers()] for name, net in trainer.networks.items()
    }
    devices_ = [trainer.device] if trainer.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices_):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(np_state)
            for name, net in trainer.networks.items():
                for b, saved in zip(net.buffers(), buffers[name]):
                    b.data.copy_(saved)
