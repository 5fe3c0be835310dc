"""Import of checkpoints in other layouts onto our parts: the reference pix2pix/CycleGAN `latest_net_G.pth`,
the CartoonGAN authors' `*_net_G_float.pth`, and this project's own safetensors; each becomes a run directory.

The reference nests its U-Net as UnetSkipConnectionBlocks (`model.model.1.model.3.weight`) and keeps its
ResNet in one Sequential (`model.10.conv_block.1.weight`). Rather than a table of names per depth, the mapping
walks both state dicts module by module, in order, and pairs modules whose tensors have the same names and
shapes: our generators register their layers in the order the reference does. CartoonGAN's files name every
layer (`conv01_1`, `in01_1.scale`, ..., `deconv03_1`); those names are mapped one by one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from translate.config import from_run, imported_config
from translate.errors import CheckpointError, ConfigError
from translate.files import load_tensor_file, load_weights, unprefixed
from translate.models.cartoon import cartoongan_to_ours, infer_cartoongan_settings
from translate.registry import GENERATORS
from translate.rundir import CONFIG_FILE, save_networks, write_config

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
        return unwrap_state_dict(load_weights(path), str(file))
    try:
        obj = load_tensor_file(path)
    except CheckpointError as e:
        raise CheckpointError(f"{e}; pass a file such as latest_net_G.pth") from None
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
        (our_prefix, our_tensors), (_, their_tensors) = ours[k], theirs[k]
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


def _write_run(
    run: Path,
    net: nn.Module,
    model: str,
    generator: str,
    settings: dict[str, Any],
    source: dict[str, str],
    channel_order: str,
    header: str,
    config: Mapping[str, Any] | None,
) -> None:
    """Write a complete run config (checked as any run's is) and the generator's weights as "G"."""
    written = imported_config(model, generator, settings, source, channel_order, dict(config) if config else None)
    from_run(written)  # refuse to write a run that no command could read back
    write_config(run, written, header=header)
    save_networks(run, {"G": net})


def _check_out(out: str | os.PathLike[str], overwrite: bool) -> Path:
    run = Path(out)
    if (run / CONFIG_FILE).exists() and not overwrite:
        raise ConfigError(f"{run} already holds a run; choose another folder or overwrite it")
    return run


def import_reference(
    file: str | os.PathLike[str],
    out: str | os.PathLike[str],
    generator: str = "unet",
    overwrite: bool = False,
    *,
    source: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    **generator_kwargs: Any,
) -> Path:
    """Turn a reference pix2pix/CycleGAN generator checkpoint into a run directory at `out`.

    Settings not given are read off the checkpoint's shapes (a unet_128 file gives depth 7). Writes
    `config.toml` ({model, trainer, generator, data, source}; `source` adds its non-empty url/sha256, `config`
    is layered on top) and `checkpoints/latest.safetensors` with the generator as "G".
    """
    if generator not in REFERENCE_MODELS:
        raise ConfigError(f"the reference layout has generators {', '.join(REFERENCE_MODELS)}, not '{generator}'")
    run = _check_out(out, overwrite)
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
    _write_run(run, net, REFERENCE_MODELS[generator], generator, settings,
               {"file": str(file), "format": "reference", **(source or {})}, "RGB",
               f"imported from the reference pix2pix/CycleGAN checkpoint {file}", config)
    return run


# ------------------------------------------------------------------------------------------------ CartoonGAN

def import_cartoongan(
    file: str | os.PathLike[str],
    out: str | os.PathLike[str],
    overwrite: bool = False,
    *,
    source: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    **generator_kwargs: Any,
) -> Path:
    """Turn a CartoonGAN authors' generator (`Shinkai_net_G_float.pth`) into a run directory at `out`.

    The run's config says `data.channel_order = "BGR"`: the published networks take and give BGR in [-1, 1].
    """
    run = _check_out(out, overwrite)
    state = read_state_dict(file)
    try:
        settings = infer_cartoongan_settings(state)
        settings.update(generator_kwargs)
        net = GENERATORS.create("cartoon", **settings)
        mapped = cartoongan_to_ours(state, net)
    except CheckpointError as e:
        raise CheckpointError(f"{file}: {e}") from None
    net.load_state_dict(mapped, strict=True)
    _write_run(run, net, "cartoongan", "cartoon", settings,
               {"file": str(file), "format": "cartoongan", **(source or {})}, "BGR",
               f"imported from the CartoonGAN checkpoint {file}", config)
    return run


# ------------------------------------------------------------------------------------------ our own checkpoints


def import_translate(
    file: str | os.PathLike[str],
    out: str | os.PathLike[str],
    generator: str,
    model: str,
    network: str = "G",
    overwrite: bool = False,
    *,
    source: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    **generator_kwargs: Any,
) -> Path:
    """Turn one of this project's checkpoints (a run's `latest.safetensors`, or a bare generator) into a run dir.

    The generator is taken from the tensors saved under `network` (G, G_A, ...) or, when none are, from the
    whole file; it must fit `generator` built with `generator_kwargs`.
    """
    run = _check_out(out, overwrite)
    state = read_state_dict(file)
    state = unprefixed(state, network) or state
    net = GENERATORS.create(generator, **generator_kwargs)
    ours = net.state_dict()
    hint = "; check the generator settings and source.network"
    for key, tensor in state.items():
        if key not in ours:
            raise CheckpointError(f"{file}: checkpoint does not fit: unexpected {key} {tuple(tensor.shape)}{hint}")
        if tensor.shape != ours[key].shape:
            raise CheckpointError(f"{file}: checkpoint does not fit: it has {key} {tuple(tensor.shape)} where ours "
                                  f"has {tuple(ours[key].shape)}{hint}")
    missing = [k for k in ours if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise CheckpointError(f"{file}: checkpoint does not fit: missing {missing[0]} "
                              f"{tuple(ours[missing[0]].shape)}{hint}")
    net.load_state_dict({**ours, **state}, strict=True)
    _write_run(run, net, model, generator, dict(generator_kwargs),
               {"file": str(file), "format": "translate", **(source or {})}, "RGB",
               f"imported from the translate checkpoint {file}", config)
    return run
