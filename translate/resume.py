"""What a resumed run may change: how long and how it trains, never what it trains or on what.

`translate train --resume RUN` layers the command line over the run's own config.toml (`for_resume`); the loop
records each resume, its step and what changed, in config.toml as `[[resumes]]`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

from translate.config import (
    RESUMES,
    assignments_to_table,
    check_layer,
    check_parts,
    check_values,
    from_run,
    merge,
    read_toml,
)
from translate.errors import ConfigError

RESUMABLE = {
    "train": ("steps", "epochs", "threads", "device", "precision", "channels_last", "quiet",
              "log_every", "sample_every", "checkpoint_every", "keep_every", "n_samples", "tensorboard"),
    "data": ("workers",),
}


def _leaves(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == RESUMES and not prefix:
            continue
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def resume_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Every key whose value differs between two configs: key -> (before, after); absent values are None."""
    old, new = _leaves(before), _leaves(after)
    return {k: (old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)}


def resumable(key: str) -> bool:
    """Whether a resumed run may change `key` (table.key): it changes neither the networks nor the data."""
    table, _, sub = key.partition(".")
    return sub in RESUMABLE.get(table, ())


def for_resume(
    run_config: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    assignments: Iterable[str] = (),
    config_file: str | Path | None = None,
) -> dict[str, Any]:
    """The config of a resumed run: the run's own config (from config.toml) < a --config file < `overrides`
    (the command line's flags, as a nested table) < `--set` assignments.

    Only keys in `RESUMABLE` may change: more steps or epochs, threads, device, precision, quiet, the
    log/sample/checkpoint intervals, TensorBoard and data.workers. Any other change (the networks, losses, trainer, data,
    optimiser, schedule, seed, batch size) is refused in one line naming the keys. `--epochs` alone on a run
    that counted steps counts epochs from then on (train.steps becomes 0). The loop records the resume, its
    step and what changed, in the run's config.toml (`[[resumes]]`).
    """
    base = from_run(run_config)
    file_layer = read_toml(config_file) if config_file else {}
    check_layer(file_layer, f"--config {config_file}")
    overrides = copy.deepcopy(overrides or {})
    check_layer(overrides, "the command line")
    set_layer = assignments_to_table(assignments)
    check_layer(set_layer, "--set")
    config = base
    for layer in (file_layer, overrides, set_layer):
        config = merge(config, layer)
    asked = {**_leaves(file_layer), **_leaves(overrides), **_leaves(set_layer)}
    if "train.epochs" in asked and "train.steps" not in asked:
        config["train"]["steps"] = 0  # the length asked for is in epochs now
    changes = resume_changes(base, config)
    refused = [k for k in changes if not resumable(k)]
    if refused:
        raise ConfigError(
            f"--resume continues the same networks on the same data: cannot change {', '.join(refused)}; "
            f"resume without {'it' if len(refused) == 1 else 'them'}, or start a new run (--out) to change "
            f"{'it' if len(refused) == 1 else 'them'}"
        )
    check_parts(config)
    check_values(config)
    return config


def describe_changes(changes: dict[str, tuple[Any, Any]]) -> list[str]:
    """What `resume_changes` found, as lines for a person: "train.steps = 8 (was 4)"."""
    return [f"{key} = {new!r} (was {old!r})" for key, (old, new) in changes.items()]
