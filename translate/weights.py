"""Import of checkpoints in other layouts onto our parts: the reference pix2pix/CycleGAN `latest_net_G.pth`.

The reference nests its U-Net as UnetSkipConnectionBlocks (`model.model.1.model.3.weight`) and keeps its
ResNet in one Sequential (`model.10.conv_block.1.weight`). Rather than a table of names per depth, the mapping
walks both state dicts module by module, in order, and pairs modules whose tensors have the same names and
shapes: our generators register their layers in the order the reference does.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from translate.errors import CheckpointError, ConfigError
from translate.registry import GENERATORS

STATISTICS = {"running_mean", "running_var", "num_batches_tracked"}
WRAPPER_KEYS = ("state_dict", "model", "netG", "net_G", "G", "generator", "params")
REFERENCE_MODELS = {"unet": "pix2pix", "resnet": "cyclegan"}


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _all_tensors(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(isinstance(v, torch.Tensor) for v in obj.values())


def unwrap_state_dict(obj: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The name -> tensor dict inside a loaded checkpoint: as is, under a wrapping key, less a `module.` prefix."""
    while isinstance(obj, Mapping) and not _all_tensors(obj):
        inner = [obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), Mapping)]
        if not inner:
            inner = [v for v in obj.values() if _all_tensors(v)]
        if not inner:
            keys = ", ".join(map(str, list(obj)[:8]))
            raise CheckpointError(f"{source}: holds no state dict of tensors (keys: {keys})")
        obj = inner[0]
    if not _all_tensors(obj):
        raise CheckpointError(
            f"{source}: not a state dict of tensors; pass a generator checkpoint such as latest_net_G.pth"
        )
    state = {str(k): v for k, v in obj.items()}
    if all(k.startswith("module.") for k in state):  # saved from DataParallel
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def read_state_dict(file: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a .pth/.pt (tensors only: never unpickles code) or .safetensors checkpoint as a state dict."""
    path = Path(file)
    if not path.is_file():
        raise CheckpointError(f"{file}: no such checkpoint file")
    if path.suffix == ".safetensors":
        from translate.storage import load_weights

        return unwrap_state_dict(load_weights(path), str(file))
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are noise to a user
            warnings.simplefilter("ignore", UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to read user data is the user's problem to fix
        raise CheckpointError(
            f"{file}: not a PyTorch checkpoint of plain tensors ({_first_line(e)}); "
            "pass a file such as latest_net_G.pth"
        ) from None
    return unwrap_state_dict(obj, str(file))


def _modules(state: Mapping[str, torch.Tensor]) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """A state dict grouped by module, in order of appearance: [(prefix, {leaf name: tensor})]."""
    groups: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in state.items():
        prefix, _, leaf = key.rpartition(".")
        groups.setdefault(prefix, {})[leaf] = tensor
    return list(groups.items())


def _key(prefix: str, leaf: str) -> str:
    return f"{prefix}.{leaf}" if prefix else leaf


def _describe(groups: list[tuple[str, dict[str, torch.Tensor]]], limit: int = 3) -> str:
    keys = [f"{_key(p, leaf)} {tuple(t.shape)}" for p, tensors in groups for leaf, t in tensors.items()]
    more = f" (and {len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def reference_to_ours(state_dict: Mapping[str, torch.Tensor], generator: nn.Module) -> dict[str, torch.Tensor]:
    """Rename a reference generator's state dict onto `generator`'s keys, pairing modules in order by shape.

    Statistics of instance-norm layers that old checkpoints carry are dropped; a dict already in our names
    passes through. A dict that does not fit raises CheckpointError naming the first misfit keys and shapes.
    """
    ours_state = generator.state_dict()
    state = dict(state_dict)
    if state.keys() == ours_state.keys() and all(state[k].shape == ours_state[k].shape for k in state):
        return state
    ours, theirs = _modules(ours_state), _modules(state)
    if not any(set(tensors) <= STATISTICS for _, tensors in ours):
        # old PyTorch kept running stats for InstanceNorm2d; ours (and today's reference) keep none
        theirs = [(p, tensors) for p, tensors in theirs if not set(tensors) <= STATISTICS]
    hint = "; check the generator settings (depth, n_blocks, width, norm, channels)"
    mapped: dict[str, torch.Tensor] = {}
    for k in range(max(len(ours), len(theirs))):
        if k >= len(theirs):
            raise CheckpointError(f"checkpoint does not fit: missing {_describe(ours[k:])}{hint}")
        if k >= len(ours):
            raise CheckpointError(f"checkpoint does not fit: unexpected {_describe(theirs[k:])}{hint}")
        (our_prefix, our_tensors), (their_prefix, their_tensors) = ours[k], theirs[k]
        our_leaves = [leaf for leaf in our_tensors if leaf != "num_batches_tracked"]
        their_leaves = [leaf for leaf in their_tensors if leaf != "num_batches_tracked"]
        if our_leaves != their_leaves or any(our_tensors[x].shape != their_tensors[x].shape for x in our_leaves):
            raise CheckpointError(
                f"checkpoint does not fit: it has {_describe([theirs[k]])} "
                f"where ours has {_describe([ours[k]])}{hint}"
            )
        for leaf, tensor in our_tensors.items():
            mapped[_key(our_prefix, leaf)] = their_tensors.get(leaf, tensor)
    return mapped


def infer_reference_settings(state: Mapping[str, torch.Tensor], generator: str) -> dict[str, Any]:
    """Generator keywords read off a reference state dict's shapes (channels, width, depth or n_blocks, norm)."""
    convs = [t for t in state.values() if t.dim() == 4]
    if not convs:
        raise CheckpointError("checkpoint holds no convolution weights; is it a generator?")
    batch = any(set(tensors) >= {"weight", "running_var"} for _, tensors in _modules(state))
    settings: dict[str, Any] = {"norm": "batch" if batch else "instance"}
    if generator == "unet":
        width = convs[0].shape[0]
        settings.update(in_channels=convs[0].shape[1], out_channels=convs[-1].shape[1], width=width,
                        depth=len(convs) // 2, skips=convs[-1].shape[0] == 2 * width)
    elif generator == "resnet":
        settings.update(in_channels=convs[0].shape[1], out_channels=convs[-1].shape[0], width=convs[0].shape[0],
                        n_blocks=max(0, (len(convs) - 6) // 2))
    return settings


def import_reference(
    file: str | os.PathLike[str],
    out: str | os.PathLike[str],
    generator: str = "unet",
    overwrite: bool = False,
    **generator_kwargs: Any,
) -> Path:
    """Turn a reference pix2pix/CycleGAN generator checkpoint into a run directory at `out`.

    Settings not given are read off the checkpoint's shapes (a unet_128 file gives depth 7). Writes
    `config.toml` ({model, generator, source}) and `checkpoints/latest.safetensors` with the generator as "G".
    """
    from translate.rundir import CONFIG_FILE, save_networks, write_config

    if generator not in REFERENCE_MODELS:
        raise ConfigError(f"the reference layout has generators {', '.join(REFERENCE_MODELS)}, not '{generator}'")
    run = Path(out)
    if (run / CONFIG_FILE).exists() and not overwrite:
        raise ConfigError(f"{run} already holds a run; choose another folder or overwrite it")
    state = read_state_dict(file)
    settings = infer_reference_settings(state, generator)
    if "image_size" in generator_kwargs:  # a depth asked for by image size wins over the one read off
        settings.pop("depth", None)
    settings.update(generator_kwargs)
    net = GENERATORS.create(generator, **settings)
    try:
        mapped = reference_to_ours(state, net)
    except CheckpointError as e:
        raise CheckpointError(f"{file}: {e}") from None
    net.load_state_dict(mapped, strict=True)
    write_config(
        run,
        {
            "model": REFERENCE_MODELS[generator],
            "generator": {"name": generator, **settings},
            "source": {"file": str(file), "format": "reference"},
        },
        header=f"imported from the reference pix2pix/CycleGAN checkpoint {file}",
    )
    save_networks(run, {"G": net})
    return run
