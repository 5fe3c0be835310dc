"""Checkpoints without pickle: network weights and every other tensor in safetensors, the rest in JSON.

One checkpoint `TAG` (latest, or step_NNNNNNN) is three files in RUN/checkpoints/, each written atomically:

    TAG.safetensors        the networks' weights, `<net>.<param>` (what predict and export read)
    TAG.state.safetensors  optimiser moments, the image pools, torch RNG states
    TAG.json               step, epoch, optimiser settings, Python/NumPy RNG states, the config, ...

A new checkpoint never overwrites the last one piecemeal: its three files are first written (each atomically)
as `.TAG.pending.*`, the pending JSON last: that is the commit. Only then are they renamed over TAG.* (the
JSON last). A run killed before the commit keeps the previous checkpoint whole (the pending files are
dropped); one killed while renaming has its renames finished by `recover`, which `exists` and `load` run
first. So a run killed at any moment (SIGKILL included) keeps a checkpoint that loads. Each safetensors file
also records the step in its metadata, and loading checks that all three agree.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from safetensors import safe_open

from translate.errors import CheckpointError
from translate.files import (
    fsync_dir,
    load_weights,
    prefixed,
    read_json,
    save_weights,
    unprefixed,
    write_bytes,
    write_json,
)
from translate.rundir import CHECKPOINTS, weights_path
from translate.trainers.rng import rng_state

FORMAT = 1


def state_path(run: str | Path, tag: str) -> Path:
    """The safetensors file of a checkpoint's non-network tensors."""
    return Path(run) / CHECKPOINTS / f"{tag}.state.safetensors"


def json_path(run: str | Path, tag: str) -> Path:
    """The JSON file of a checkpoint (its commit record)."""
    return Path(run) / CHECKPOINTS / f"{tag}.json"


PATHS: tuple[Callable[[str | Path, str], Path], ...] = (weights_path, state_path, json_path)  # the JSON last


def pending(tag: str) -> str:
    """The tag under which checkpoint `tag` is written before it replaces the last one (a hidden file)."""
    return f".{tag}.pending"


def publish(run: str | Path, tag: str) -> None:
    """Rename the committed pending files of `tag` over its files, the JSON last (each rename is atomic)."""
    for path_of in PATHS:
        src = path_of(run, pending(tag))
        if src.is_file():
            os.replace(src, path_of(run, tag))
    fsync_dir(Path(run) / CHECKPOINTS)


def recover(run: str | Path, tag: str = "latest") -> None:
    """Finish what a killed save left: a committed pending checkpoint (its JSON written) is published; an
    uncommitted one is dropped, leaving the previous checkpoint as it was."""
    if json_path(run, pending(tag)).is_file():
        publish(run, tag)
    else:
        for path_of in PATHS:
            path_of(run, pending(tag)).unlink(missing_ok=True)
    for tmp in (Path(run) / CHECKPOINTS).glob(f".{pending(tag)}.*.tmp"):  # atomic writes a kill cut short
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------- nested state <-> JSON + tensors


def split_tensors(obj: Any, tensors: dict[str, torch.Tensor], path: str = "t") -> Any:
    """`obj` with every tensor moved into `tensors` and replaced by {"__tensor__": key}.

    Dicts with non-string keys (an optimiser's parameter ids) become {"__items__": [[key, value], ...]};
    tuples become lists; NumPy arrays become {"__array__": list, "dtype": str}.
    """
    if isinstance(obj, torch.Tensor):
        tensors[path] = obj
        return {"__tensor__": path}
    if isinstance(obj, np.ndarray):
        return {"__array__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {k: split_tensors(v, tensors, f"{path}.{k}") for k, v in obj.items()}
        return {"__items__": [[k, split_tensors(v, tensors, f"{path}.{k}")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [split_tensors(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]
    return obj


def join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The inverse of `split_tensors` (tuples come back as lists)."""
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            try:
                return tensors[obj["__tensor__"]]
            except KeyError:
                raise CheckpointError(f"checkpoint state names a tensor '{obj['__tensor__']}' it does not hold") from None
        if set(obj) == {"__items__"}:
            return {k: join_tensors(v, tensors) for k, v in obj["__items__"]}
        if set(obj) == {"__array__", "dtype"}:
            return np.asarray(obj["__array__"], dtype=obj["dtype"])
        return {k: join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj


# -------------------------------------------------------------------------------------- save and load


def save(run: str | Path, tag: str, trainer_state: dict[str, Any], loop_state: dict[str, Any],
         rng: dict[str, Any] | None = None) -> None:
    """Write checkpoint `tag`: networks, then the other tensors, then the JSON commit record, all pending; then
    put them in place of the last checkpoint. `rng`: the random states to keep (default: this thread's now; a
    save on a background thread is given those of the moment it stands for)."""
    step = str(loop_state["step"])
    staged = pending(tag)
    weights: dict[str, torch.Tensor] = {}
    for name, state in trainer_state["networks"].items():
        weights.update(prefixed(state, name))
    save_weights(weights_path(run, staged), weights, metadata={"step": step})
    tensors: dict[str, torch.Tensor] = {}
    rest = {k: v for k, v in trainer_state.items() if k != "networks"}
    record = {
        "format": FORMAT,
        **loop_state,
        "networks": list(trainer_state["networks"]),
        "trainer": split_tensors(rest, tensors, "trainer"),
        "rng": split_tensors(rng if rng is not None else rng_state(), tensors, "rng"),
    }
    save_weights(state_path(run, staged), tensors, metadata={"step": step})
    write_json(json_path(run, staged), record)  # the commit
    publish(run, tag)


def exists(run: str | Path, tag: str = "latest") -> bool:
    """Whether checkpoint `tag` has its commit record (after finishing a save that a kill interrupted)."""
    if (Path(run) / CHECKPOINTS).is_dir():
        recover(run, tag)
    return json_path(run, tag).is_file()


def load(run: str | Path, tag: str = "latest", device: str | torch.device = "cpu") -> tuple[dict[str, Any], dict[str, Any]]:
    """(trainer state, loop state) of checkpoint `tag`; RNG states are in loop_state["rng"]."""
    if (Path(run) / CHECKPOINTS).is_dir():
        recover(run, tag)
    record = read_json(json_path(run, tag))
    if record.get("format") != FORMAT:
        raise CheckpointError(f"{json_path(run, tag)}: checkpoint format {record.get('format')} is not {FORMAT}")
    step = str(record["step"])
    for path in (weights_path(run, tag), state_path(run, tag)):
        if not path.is_file():
            raise CheckpointError(f"{path}: missing; the checkpoint '{tag}' of {run} is incomplete")
        with safe_open(str(path), "pt") as f:
            found = (f.metadata() or {}).get("step")
        if found != step:
            raise CheckpointError(
                f"{path} is from step {found} but {json_path(run, tag)} from step {step}: the run was killed while "
                f"saving; resume from a kept checkpoint (checkpoints/step_*.json) or start again"
            )
    weights = load_weights(weights_path(run, tag), device)
    names = record.get("networks") or sorted({k.split(".", 1)[0] for k in weights})
    tensors = load_weights(state_path(run, tag), "cpu")
    trainer_state = join_tensors(record.pop("trainer"), tensors)
    trainer_state["networks"] = {name: unprefixed(weights, name) for name in names}
    record["rng"] = join_tensors(record["rng"], tensors)
    return trainer_state, record


def copy_tag(run: str | Path, src: str, dst: str) -> None:
    """Keep a copy of checkpoint `src` under tag `dst` (pending first, the JSON last, then put in place)."""
    for path_of in PATHS:
        write_bytes(path_of(run, pending(dst)), path_of(run, src).read_bytes())
    publish(run, dst)


