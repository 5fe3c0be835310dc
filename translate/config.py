"""TOML configs in layers: defaults < model < style < --preset < --config FILE < flags < --set key=value.

A config is a dict of tables. Part tables (`[generator]`, `[discriminator]`, `[loss]`, `[trainer]`) hold
`name` plus that part's keyword arguments, checked against the registered constructor. The other tables
have a fixed set of keys, the ones in `DEFAULTS`; an unknown key is an error with the closest match.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from translate.errors import ConfigError, did_you_mean, unknown_message
from translate.registry import create, registry

if TYPE_CHECKING:
    from torch import nn

# Tables that name a registered part; the value of the key is the registry kind.
RESUMES = "resumes"  # the run's record of its resumes, in config.toml as [[resumes]]
PART_TABLES = {"generator": "generator", "discriminator": "discriminator", "loss": "loss", "trainer": "trainer"}

DEFAULTS: dict[str, Any] = {
    "model": "",  # the preset under configs/models/ this run started from
    "style": "",  # the style under configs/styles/ (data and size)
    "description": "",
    "trainer": {"name": ""},
    "generator": {"name": "unet"},
    "discriminator": {"name": "patch"},
    "loss": {"name": "vanilla"},
    "optim": {"name": "adam", "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "weight_decay": 0.0},
    "schedule": {
        "name": "linear",  # linear (constant, then linear decay to zero), step, cosine, constant
        "n_epochs": 100,  # epochs at the initial rate (linear)
        "n_epochs_decay": 100,  # epochs of linear decay to zero
        "step_size": 50,  # epochs between decays (step)
        "gamma": 0.1,  # decay factor (step)
    },
    "content": {
        "weights": "auto",  # VGG19 weights: auto (ImageNet if on this machine, else seeded random), imagenet, random, or a file
        "layer": "conv4_4",  # the VGG19 layer whose features are compared
    },
    "data": {
        "root": "",  # a folder of the user's; empty: the embedded scenes world
        "root_a": "",  # a folder of photos for the A side of the world's unpaired task (B stays rendered)
        "root_b": "",  # ...or for its B side; either way the held-out split stays the world's test scenes
        "photo_hue": 0.0,  # turn those photos' hues by a random share of the colour circle up to this (0 to 0.5)
        "layout": "paired",  # paired (AB images or A/ B/), unpaired (trainA/ trainB/), or labels (labelled images: digits)
        "task": "",  # the embedded data used when root is empty: a scenes-world task (labels2photo...), or digits
        "direction": "AtoB",  # AtoB or BtoA
        "load_size": 286,  # resize to this, then...
        "crop_size": 256,  # ...random crop to this (jitter); the training size
        "test_size": 0,  # held-out images (samples, held-out L1, eval, predict's probe) at this size; 0: crop_size
        "flip": True,  # random horizontal flip
        "in_channels": 3,  # 3 (RGB) or 1 (grey)
        "out_channels": 3,
        "channel_order": "RGB",  # what the network takes and gives: RGB, or BGR (CartoonGAN's published models)
        "n_train": 1000,  # scenes in the embedded world's training split
        "n_test": 100,  # scenes in its test split
        "seed": 0,  # seed of the embedded world
        "on_error": "skip",  # an unreadable image while training: skip (and name it) or fail
        "workers": 0,  # DataLoader worker processes
    },
    "source": {
        # Where a run's weights came from when it was not trained here (import-weights, pull).
        "file": "",
        "format": "",  # translate, reference (pix2pix/CycleGAN), cartoongan
        "url": "",
        "sha256": "",
    },
    "train": {
        "epochs": 0,  # 0: n_epochs + n_epochs_decay of the schedule (when steps is 0 too)
        "steps": 0,  # stop after this many steps when > 0
        "batch_size": 1,
        "seed": 0,
        "device": "auto",  # auto, cpu, cuda, cuda:N
        "threads": 0,  # CPU threads; 0 leaves torch's default (one per core); 1 is faster on a shared machine
        "out": "",  # run directory; empty: runs/<model>-<style>
        "log_every": 10,  # steps between log.jsonl records
        "sample_every": 0,  # steps between sample grids; 0: once per epoch
        "checkpoint_every": 0,  # steps between checkpoints; 0: once per epoch
        "keep_every": 0,  # keep a numbered checkpoint every N steps (0: only latest)
        "n_samples": 4,  # held-out inputs in each sample grid
        "precision": "auto",  # auto, fp32, bf16, fp16 (autocast)
        "channels_last": "auto",  # auto, on, off
        "quiet": False,
        "tensorboard": False,  # also write TensorBoard event files into RUN/tensorboard/ (the tensorboard extra)
    },
}

CONFIG_ROOTS = (
    Path(__file__).resolve().parent.parent / "configs",  # a source checkout or an editable install
    Path(__file__).resolve().parent / "configs",  # a wheel: setup.cfg maps configs/ to translate/configs/
)


def configs_dir() -> Path:
    """The folder holding `models/*.toml` and `styles/*.toml`."""
    for root in CONFIG_ROOTS:
        if (root / "models").is_dir():
            return root
    raise ConfigError("the translate package has no configs/ folder; reinstall it with 'pip install .'")


def preset_names(group: str) -> list[str]:
    """Names of the TOML files in configs/<group>/ ('models', 'styles' or 'presets')."""
    return sorted(p.stem for p in (configs_dir() / group).glob("*.toml"))


def translating_models() -> list[str]:
    """The model presets that translate images: all but those that draw images for labels (data.layout 'labels',
    the cgan), which have no generator to predict, evaluate, export or benchmark."""
    return [m for m in preset_names("models") if read_preset("models", m).get("data", {}).get("layout") != "labels"]


def read_toml(path: str | Path, what: str = "config") -> dict[str, Any]:
    """Read a TOML file, naming the file and the line of a syntax error."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{what} file {path} does not exist") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None


def read_preset(group: str, name: str) -> dict[str, Any]:
    """The model, style or preset (group 'models', 'styles', 'presets') file called `name`."""
    known = preset_names(group)
    if name not in known:
        raise ConfigError(unknown_message(group[:-1], name, known))
    return read_toml(configs_dir() / group / f"{name}.toml", group[:-1])


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """Parse `key.sub=value`; the value is read as TOML, or taken as a plain string when it is not TOML."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set '{text}': expected key.sub=value, e.g. --set generator.width=32")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.split("."), value


def assignments_to_table(assignments: Iterable[str]) -> dict[str, Any]:
    """Turn repeated --set key.sub=value options into one nested table."""
    table: dict[str, Any] = {}
    for text in assignments:
        path, value = parse_assignment(text)
        node = table
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set '{text}': '{part}' is a value, not a table")
        node[path[-1]] = value
    return table


def check_layer(layer: dict[str, Any], source: str) -> None:
    """Refuse unknown tables and unknown keys of fixed tables in one layer, naming where it came from."""
    for key, value in layer.items():
        if key not in DEFAULTS:
            raise ConfigError(_unknown_key(key, list(DEFAULTS), source))
        default = DEFAULTS[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"'{key}' in {source} must be a table ([{key}]), not {value!r}")
            if key in PART_TABLES:
                if "name" in value and not isinstance(value["name"], str):
                    raise ConfigError(f"{key}.name in {source} must be a string")
                continue
            for sub, subvalue in value.items():
                if sub not in default:
                    raise ConfigError(_unknown_key(f"{key}.{sub}", [f"{key}.{k}" for k in default], source))
                _check_type(f"{key}.{sub}", default[sub], subvalue, source)
        else:
            _check_type(key, default, value, source)


def _unknown_key(key: str, known: list[str], source: str) -> str:
    return f"unknown config key '{key}' in {source}{did_you_mean(key, known)} known: {', '.join(known)}"


def _check_type(key: str, default: Any, value: Any, source: str) -> None:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"config key '{key}' in {source} must be {type(default).__name__}, got {value!r}")


def merge(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """`layer` over `base`. A part table whose `name` changes starts afresh: the old part's keywords go."""
    out = copy.deepcopy(base)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            if key in PART_TABLES and "name" in value and value["name"] != out[key].get("name"):
                out[key] = copy.deepcopy(value)
            else:
                out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def check_parts(config: dict[str, Any]) -> None:
    """Every part table names a registered part and only keywords its constructor takes."""
    for table, kind in PART_TABLES.items():
        part = config.get(table, {})
        name = part.get("name", "")
        if not name:
            continue
        reg = registry(kind)
        if name not in reg:
            raise ConfigError(unknown_message(kind, name, reg.names()) + f" (config key {table}.name)")
        kwargs = {k: v for k, v in part.items() if k != "name"}
        reg.check_keywords(name, kwargs, where=f"[{table}] {kind} '{name}'", settable_only=True, table=table)


def check_values(config: dict[str, Any]) -> None:
    """Values whose meaning is limited to a few choices or a range."""
    data, train = config["data"], config["train"]
    choices = {
        "data.layout": (data["layout"], ("paired", "unpaired", "labels")),
        "data.direction": (data["direction"], ("AtoB", "BtoA")),
        "data.on_error": (data["on_error"], ("skip", "fail")),
        "data.channel_order": (data["channel_order"], ("RGB", "BGR")),
        "train.precision": (train["precision"], ("auto", "fp32", "bf16", "fp16")),
        "train.channels_last": (train["channels_last"], ("auto", "on", "off")),
        "schedule.name": (config["schedule"]["name"], ("linear", "step", "cosine", "constant")),
    }
    for key, (value, allowed) in choices.items():
        if value not in allowed:
            raise ConfigError(f"config key '{key}' is '{value}'; choose one of: {', '.join(allowed)}")
    for key in ("in_channels", "out_channels"):
        if data[key] not in (1, 3):
            raise ConfigError(f"config key 'data.{key}' is {data[key]}; use 1 (grey) or 3 (RGB)")
    if data["crop_size"] < 8 or data["load_size"] < data["crop_size"]:
        raise ConfigError(
            f"data.crop_size={data['crop_size']} and data.load_size={data['load_size']}: "
            "need crop_size >= 8 and load_size >= crop_size"
        )
    if data["test_size"] and data["test_size"] < 8:
        raise ConfigError(f"data.test_size={data['test_size']}: use 0 (the crop size) or a size >= 8")
    if train["batch_size"] < 1 or train["steps"] < 0 or train["epochs"] < 0:
        raise ConfigError("train.batch_size must be >= 1 and train.steps, train.epochs >= 0")


def check_for_training(config: dict[str, Any]) -> None:
    """What a config may hold for prediction but not for training: BGR channel order is for imported models."""
    if config["data"]["channel_order"] != "RGB":
        raise ConfigError(
            f"data.channel_order = '{config['data']['channel_order']}' is for imported models (their networks take BGR); "
            "training reads RGB images, so train with data.channel_order = 'RGB'"
        )


def for_model(layer: dict[str, Any], model: str, source: str) -> list[tuple[dict[str, Any], str]]:
    """A style's or preset's layer, then its `[models.<model>]` tables for the model being trained.

    A style holds one budget for every model, but their steps differ in cost: `[models.cartoongan.train]
    epochs = 20` gives CartoonGAN, whose step costs a third of CycleGAN's, the same ten minutes.
    """
    layer = dict(layer)
    per_model = layer.pop("models", {})
    if not isinstance(per_model, dict):
        raise ConfigError(f"'models' in {source} must hold tables [models.<model>.<table>], not {per_model!r}")
    for name, tables in per_model.items():
        if name not in preset_names("models"):
            raise ConfigError(_unknown_key(f"models.{name}", [f"models.{m}" for m in preset_names("models")], source))
        check_layer(tables, f"{source} [models.{name}]")
    extra = per_model.get(model)
    return [(layer, source)] + ([(extra, f"{source} [models.{model}]")] if extra else [])


def resolve(
    model: str | None = None,
    style: str | None = None,
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    assignments: Iterable[str] = (),
    preset: str | None = None,
) -> dict[str, Any]:
    """The fully resolved config: defaults < model < style < preset < config file < overrides < --set.

    `overrides` carries the CLI's own flags (--generator, --steps, ...) as a nested table.
    """
    file_layer = read_toml(config_file) if config_file else {}
    if config_file:
        check_layer(file_layer, f"--config {config_file}")
    set_layer = assignments_to_table(assignments)
    check_layer(set_layer, "--set")
    overrides = overrides or {}
    check_layer(overrides, "the command line")

    model = model or overrides.get("model") or file_layer.get("model") or ""
    style = style or overrides.get("style") or file_layer.get("style") or ""
    if not model:
        raise ConfigError(f"no model given; use --model with one of: {', '.join(preset_names('models'))}")

    layers: list[tuple[dict[str, Any], str]] = [(read_preset("models", model), f"configs/models/{model}.toml")]
    if style:
        layers += for_model(read_preset("styles", style), model, f"configs/styles/{style}.toml")
    if preset:
        layers += for_model(read_preset("presets", preset), model, f"configs/presets/{preset}.toml")
    layers += [(file_layer, f"--config {config_file}"), (overrides, "the command line"), (set_layer, "--set")]

    config = merge(DEFAULTS, {"model": model, "style": style})
    for layer, source in layers:
        check_layer(layer, source)
        config = merge(config, layer)
    config["model"], config["style"] = model, style
    check_parts(config)
    check_values(config)
    return config


def from_run(config: dict[str, Any]) -> dict[str, Any]:
    """A config read back from a run directory, checked and completed with today's defaults.

    Its `[[resumes]]` record (one entry per `--resume`: the step, the time and what changed) is kept as it is.
    """
    config = dict(config)
    resumes = config.pop(RESUMES, [])
    if not isinstance(resumes, list) or not all(isinstance(r, dict) for r in resumes):
        raise ConfigError(f"'{RESUMES}' in the run's config.toml must be a list of tables ([[{RESUMES}]])")
    check_layer(config, "the run's config.toml")
    config = merge(DEFAULTS, config)
    check_parts(config)
    check_values(config)
    if resumes:
        config[RESUMES] = copy.deepcopy(resumes)
    return config


def imported_config(
    model: str,
    generator: str,
    settings: dict[str, Any],
    source: dict[str, str],
    channel_order: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The config.toml of a run made from a generator alone (an imported checkpoint, a shipped catalogue model):
    its trainer and generator, channels from the generator's settings, its source, and any `extra` tables."""
    written: dict[str, Any] = {
        "model": model,
        "trainer": {"name": model},
        "generator": {"name": generator, **settings},
        "data": {
            "in_channels": settings.get("in_channels", 3),
            "out_channels": settings.get("out_channels", 3),
            "channel_order": channel_order,
        },
        "source": {k: v for k, v in source.items() if v},
    }
    return merge(written, dict(extra)) if extra else written


def generator_table(config: dict[str, Any]) -> dict[str, Any]:
    """The [generator] table as built: a U-Net without depth gets `image_size = data.crop_size`."""
    table = dict(config["generator"])
    keywords = registry("generator").entry(table["name"]).keywords() or []
    if "image_size" in keywords and "image_size" not in table and "depth" not in table:
        table["image_size"] = int(config["data"]["crop_size"])
    return table


def build_generator(config: dict[str, Any], in_channels: int, out_channels: int) -> nn.Module:
    """The [generator] table's part with the channels given; a U-Net without depth fits data.crop_size."""
    table = {**generator_table(config), "in_channels": in_channels, "out_channels": out_channels}
    return create("generator", table.pop("name"), **table)
