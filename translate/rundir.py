"""The run directory: the one folder every later command reads (config, weights, logs, samples).

Layout::

    RUN/config.toml                         the fully resolved config; reproduces the run alone; [[resumes]]
                                            records each --resume: its step, time and what it changed
    RUN/checkpoints/latest.safetensors      weights of every network, named `<net>.<param>` (G., D., G_A., ...)
    RUN/checkpoints/latest.json             everything else (step, epoch, RNG, ...), written by the loop
    RUN/checkpoints/step_NNNNNNN.*          kept every Nth checkpoint
    RUN/log.jsonl, RUN/loss.png             one JSON record per logged step or evaluation; its plot
    RUN/samples/                            sample grids of held-out images
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import torch

from translate.errors import CheckpointError, ConfigError
from translate.files import load_weights, prefixed, save_weights, unprefixed, weight_names, write_text

CONFIG_FILE = "config.toml"
CHECKPOINTS = "checkpoints"
LOG_FILE, LOSS_PLOT, SAMPLES = "log.jsonl", "loss.png", "samples"


def dumps_toml(config: dict[str, Any]) -> str:
    """A config dict as TOML text (top-level scalars first, then tables)."""
    import tomli_w

    return tomli_w.dumps(_drop_none(config))


def _drop_none(obj: Any) -> Any:
    # TOML has no null; an unset optional value is simply absent.
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [_drop_none(v) for v in obj]
    return obj


def write_config(run: str | os.PathLike[str], config: dict[str, Any], header: str = "") -> Path:
    """Write `config.toml` into the run directory atomically; `header` is prepended as comments."""
    path = Path(run) / CONFIG_FILE
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    write_text(path, comments + dumps_toml(config))
    return path


def read_config(run: str | os.PathLike[str]) -> dict[str, Any]:
    """The resolved config of a run directory."""
    path = Path(run) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{run}: not a run directory (no {CONFIG_FILE}); pass a folder written by 'translate train'")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not valid TOML ({e})") from None


def weights_path(run: str | os.PathLike[str], tag: str = "latest") -> Path:
    """Where the weights of checkpoint `tag` live."""
    return Path(run) / CHECKPOINTS / f"{tag}.safetensors"


def save_networks(
    run: str | os.PathLike[str],
    networks: dict[str, torch.nn.Module | dict[str, torch.Tensor]],
    tag: str = "latest",
) -> Path:
    """Save several networks (or state dicts) into one safetensors file, each under its own prefix."""
    tensors: dict[str, torch.Tensor] = {}
    for name, net in networks.items():
        state = net.state_dict() if isinstance(net, torch.nn.Module) else net
        tensors.update(prefixed(state, name))
    path = weights_path(run, tag)
    save_weights(path, tensors)
    return path


def load_network_state(run: str | os.PathLike[str], name: str, tag: str = "latest") -> dict[str, torch.Tensor]:
    """The state dict of network `name` from checkpoint `tag`."""
    path = weights_path(run, tag)
    state = unprefixed(load_weights(path), name)
    if not state:
        raise CheckpointError(f"{path}: holds no network '{name}'")
    return state


def network_names(run: str | os.PathLike[str], tag: str = "latest") -> list[str]:
    """Names of the networks saved in checkpoint `tag`."""
    return sorted({k.split(".", 1)[0] for k in weight_names(weights_path(run, tag))})


def holds_run(path: str | os.PathLike[str]) -> bool:
    """Whether a folder already holds a training run (a committed checkpoint or a log) that must not be mixed."""
    path = Path(path)
    return (path / CHECKPOINTS / "latest.json").is_file() or (path / LOG_FILE).exists()


def new_run_dir(out: str | None, base: str) -> Path:
    """The folder for a new run: `out` unless it holds a run already, else runs/<base>, or runs/<base>-N if
    that is taken."""
    if out:
        path = Path(out)
        if holds_run(path):
            raise ConfigError(f"{path} already holds a run; continue it with --resume {path}, or pass another --out")
        return path
    path = Path("runs") / base
    n = 1
    while path.exists() and any(path.iterdir()):
        n += 1
        path = Path("runs") / f"{base}-{n}"
    return path
