"""The catalogue: every named, trained model the zoo knows, one TOML card each, read and checked.

The code registry says what *can* be built; the catalogue (`registry/` at the top of the repository, installed
as `translate.catalogue`) says what *exists*: for each model its architecture (the same `[trainer]` and
`[generator]` tables as `configs/`), where its weights come from, its input conventions, licence, recipe and
metrics. `translate.zoo.pull` brings a card's weights onto the machine. The card format: `registry/README.md`.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from translate.config import preset_names, read_preset
from translate.errors import ConfigError, TranslateError, did_you_mean, unknown_message
from translate.registry import UnknownNameError, registry

log = logging.getLogger("translate")

CATALOGUE_ENV = "TRANSLATE_CATALOGUE"  # a folder of cards used instead of the installed catalogue
FORMATS = ("translate", "reference", "cartoongan")
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)?")

# Card keys: required ones map to None, optional ones to their default.
TOP_KEYS: dict[str, Any] = {
    "name": None, "task": None, "summary": "", "trained_on": None, "licence": None, "citation": None,
    "recipe": None, "metrics": None, "metrics_command": "", "metrics_note": "", "headline": "", "style": "",
    "trainer": None, "generator": None, "source": None, "input": None, "credits": [],
}
CREDIT_KEYS: dict[str, Any] = {"file": None, "author": None, "licence": None, "origin": ""}
SOURCE_KEYS: dict[str, Any] = {"format": None, "url": "", "sha256": "", "file": "", "network": "G"}
INPUT_KEYS: dict[str, Any] = {
    "channel_order": None, "value_range": None, "direction": None, "in_channels": 3, "out_channels": 3, "size": 256,
    "test_mode": "eval",
}
TEST_MODES = ("eval", "reference")  # norms' running statistics, no dropout | the reference test.py: batch ones, dropout
CATALOGUE_ROOTS = (
    Path(__file__).resolve().parents[1] / "catalogue",  # a wheel: setup.cfg maps registry/ to translate/catalogue
    Path(__file__).resolve().parents[2] / "registry",  # a source checkout or an editable install
)


@dataclass(frozen=True)
class Card:
    """One catalogue entry, checked: a named model, its weights' source and how it was made and measured."""

    name: str
    task: str
    path: Path  # the card file
    data: dict[str, Any]  # the whole card, defaults filled in

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def source(self) -> dict[str, Any]:
        """The [source] table: format, url, sha256 ("" when never published), file (shipped), network."""
        return self.data["source"]

    @property
    def shipped(self) -> bool:
        """Whether the weights come with the package (registry/weights/): on this machine without a pull."""
        return bool(self.source["file"])

    @property
    def slug(self) -> str:
        """The name as a file or folder name: `pix2pix/sat2map` -> `pix2pix--sat2map`."""
        return self.name.replace("/", "--")

    def headline(self) -> tuple[str, float] | None:
        """The metric `translate models` shows: `headline`, else the first one; None when none was measured."""
        metrics = self.data["metrics"]
        key = self.data["headline"] or next(iter(metrics), "")
        return (key, metrics[key]) if key else None

    def generator_kwargs(self) -> dict[str, Any]:
        """Keywords that build the generator: the [generator] table less `name`, plus the input's channels."""
        table = {k: v for k, v in self.data["generator"].items() if k != "name"}
        inputs = self.data["input"]
        return {**table, "in_channels": inputs["in_channels"], "out_channels": inputs["out_channels"]}

    def run_config(self) -> dict[str, Any]:
        """What the card adds to the run config its import writes (trainer, description, data conventions)."""
        inputs = self.data["input"]
        data = {
            "in_channels": inputs["in_channels"],
            "out_channels": inputs["out_channels"],
            "channel_order": inputs["channel_order"],
            "direction": inputs["direction"],
        }
        style: dict[str, Any] = {}
        if self.data["style"]:  # trained on a style's data: `eval NAME` scores it there by default
            style = {"style": self.data["style"]}
            data = {**read_preset("styles", self.data["style"]).get("data", {}), **data}
        return {
            "model": self.data["trainer"]["name"],
            **style,
            "description": f"{self.name}: {self.task} (catalogue card {self.path.name})",
            "trainer": dict(self.data["trainer"]),
            "data": data,
        }


# ------------------------------------------------------------------------------------------------ reading cards


def catalogue_dir() -> Path:
    """The folder of cards: `$TRANSLATE_CATALOGUE`, else the installed catalogue, else the checkout's registry/."""
    env = os.environ.get(CATALOGUE_ENV)
    if env:
        if not Path(env).is_dir():
            raise ConfigError(f"{CATALOGUE_ENV}={env} is not a folder; point it at a folder of model cards or unset it")
        return Path(env)
    for root in CATALOGUE_ROOTS:
        if root.is_dir() and any(root.glob("*.toml")):
            return root
    raise ConfigError("the translate package has no model catalogue (registry/); reinstall it with 'pip install .'")


def _fill(table: Any, spec: dict[str, Any], where: str) -> dict[str, Any]:
    """Check a table's keys against `spec` (None: required) and fill in the optional ones' defaults."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, not {table!r}")
    for key in table:
        if key not in spec:
            raise ConfigError(f"{where}: unknown key '{key}'{did_you_mean(key, spec)} known: {', '.join(spec)}")
    missing = [k for k, default in spec.items() if default is None and k not in table]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)} (see registry/README.md)")
    return {**{k: v for k, v in spec.items() if v is not None}, **table}


def _check_part(kind: str, table: Any, where: str) -> None:
    if not isinstance(table, dict) or not isinstance(table.get("name"), str):
        raise ConfigError(f"{where}: [{kind}] must be a table with a name")
    reg = registry(kind)
    if table["name"] not in reg:
        raise ConfigError(f"{where}: " + unknown_message(kind, table["name"], reg.names()))
    kwargs = {k: v for k, v in table.items() if k != "name"}
    try:
        reg.check_keywords(table["name"], kwargs, where=f"{where}: [{kind}] '{table['name']}'", settable_only=True)
    except TranslateError as e:  # a bad card is a config problem, whatever the registry calls it
        raise ConfigError(str(e)) from None


def check_card(raw: dict[str, Any], path: Path, check_parts: bool = True) -> Card:
    """A card read from `path`, checked: keys, registered parts (unless not `check_parts`: that imports every
    part, and torch with them), source, input conventions, metrics."""
    where = str(path)
    card = _fill(raw, TOP_KEYS, where)
    for key in ("name", "task", "trained_on", "licence", "citation", "recipe", "summary", "metrics_command",
                "metrics_note", "headline", "style"):
        if not isinstance(card[key], str) or (TOP_KEYS[key] is None and not card[key].strip()):
            raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    name = card["name"]
    if not NAME.fullmatch(name):
        raise ConfigError(f"{where}: name '{name}' must be lowercase letters, digits, '_', '-', '.', with at most "
                          "one '/' after a trainer prefix")
    if path.stem != name.replace("/", "--"):
        raise ConfigError(f"{where}: a card for '{name}' must be called {name.replace('/', '--')}.toml")
    if card["style"]:
        if card["style"] not in preset_names("styles"):
            raise ConfigError(f"{where}: style '{card['style']}' is not one of: {', '.join(preset_names('styles'))}")
    if check_parts:
        _check_part("trainer", card["trainer"], where)
        _check_part("generator", card["generator"], where)
    elif not all(isinstance(card[k], dict) and isinstance(card[k].get("name"), str) for k in ("trainer", "generator")):
        raise ConfigError(f"{where}: [trainer] and [generator] must be tables with a name")
    family = name.partition("/")[0] if "/" in name else None
    if family is not None and family != card["trainer"]["name"]:
        raise ConfigError(f"{where}: the prefix of '{name}' must be its trainer, '{card['trainer']['name']}'")

    source = card["source"] = _fill(card["source"], SOURCE_KEYS, f"{where} [source]")
    fmt, generator = source["format"], card["generator"]["name"]
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: source.format '{fmt}'; choose one of: {', '.join(FORMATS)}")
    needs = {"reference": ("unet", "resnet"), "cartoongan": ("cartoon",)}.get(fmt)
    if needs and generator not in needs:
        raise ConfigError(f"{where}: a '{fmt}' checkpoint holds a {' or '.join(needs)} generator, not '{generator}'")
    if not (source["url"] or source["file"]):
        raise ConfigError(f"{where}: [source] needs a url (downloaded by pull) or a file (shipped in registry/)")
    if source["url"] and not re.match(r"(https?|file)://", source["url"]):
        raise ConfigError(f"{where}: source.url '{source['url']}' must be an http(s):// or file:// address")
    if source["sha256"] and not re.fullmatch(r"[0-9a-f]{64}", source["sha256"]):
        raise ConfigError(f"{where}: source.sha256 must be 64 lowercase hex digits, or \"\" when never published")
    if source["file"]:
        rel = PurePosixPath(source["file"])
        if rel.is_absolute() or ".." in rel.parts or fmt != "translate" or not source["sha256"]:
            raise ConfigError(f"{where}: a shipped source.file is a path inside the catalogue "
                              "(weights/NAME.safetensors) in format 'translate' with its sha256")
        if not (path.parent / rel).is_file():
            raise ConfigError(f"{where}: the shipped weights {path.parent / rel} are missing")

    inputs = card["input"] = _fill(card["input"], INPUT_KEYS, f"{where} [input]")
    for key, allowed in (("channel_order", ("RGB", "BGR")), ("direction", ("AtoB", "BtoA")),
                         ("in_channels", (1, 3)), ("out_channels", (1, 3)), ("test_mode", TEST_MODES)):
        if inputs[key] not in allowed:
            raise ConfigError(f"{where}: input.{key} is {inputs[key]!r}; choose one of: {', '.join(map(str, allowed))}")
    if inputs["value_range"] != [-1, 1]:
        raise ConfigError(f"{where}: input.value_range must be [-1.0, 1.0], the range every generator here takes")

    credits = card["credits"]
    if not isinstance(credits, list) or not all(isinstance(c, dict) for c in credits):
        raise ConfigError(f"{where}: credits must be a list of tables, [[credits]] with file, author, licence")
    for i, credit in enumerate(credits):
        credits[i] = _fill(credit, CREDIT_KEYS, f"{where} [[credits]] #{i + 1}")
        if not all(isinstance(v, str) for v in credits[i].values()) or not all(
                credits[i][k].strip() for k in ("file", "author", "licence")):
            raise ConfigError(f"{where} [[credits]] #{i + 1}: file, author and licence must be non-empty strings "
                              "(write \"not stated\" where the source states none)")

    metrics = card["metrics"]
    if not isinstance(metrics, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in metrics.values()
    ):
        raise ConfigError(f"{where}: metrics must be a table of numbers, e.g. {{fid = 41.2}}, or {{}}")
    if metrics and not card["metrics_command"].strip():
        raise ConfigError(f"{where}: measured metrics need the metrics_command that measured them")
    if not metrics and not card["metrics_note"].strip():
        raise ConfigError(f"{where}: metrics = {{}} needs a metrics_note saying why (e.g. \"not measured here: ...\")")
    if card["headline"] and card["headline"] not in metrics:
        raise ConfigError(f"{where}: headline '{card['headline']}' is not one of the metrics")
    return Card(name, card["task"], path, card)


def load_catalogue(folder: str | os.PathLike[str] | None = None, check_parts: bool = True) -> dict[str, Card]:
    """Every card in `folder` (default: `catalogue_dir()`), checked, by name; `check_parts=False` leaves out the
    check of their parts against the registries, which imports torch (for quick listings)."""
    root = Path(folder) if folder is not None else catalogue_dir()
    cards: dict[str, Card] = {}
    for path in sorted(root.glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid TOML ({' '.join(str(e).split())})") from None
        card = check_card(raw, path, check_parts)
        cards[card.name] = card
    for name in cards:
        family, _, base = name.rpartition("/")
        if family and base in cards:
            raise ConfigError(f"{cards[base].path}: '{base}' is also {name}; a name two trainers share is spelled "
                              "with the trainer as a prefix in both cards")
    return cards


def names(folder: str | os.PathLike[str] | None = None) -> list[str]:
    """The catalogue's model names, sorted."""
    return sorted(load_catalogue(folder))


def find_card(name: str, folder: str | os.PathLike[str] | None = None) -> Card:
    """The card called `name`; `cyclegan/horse2zebra` is accepted for `horse2zebra`; a bare shared name is refused."""
    cards = load_catalogue(folder)
    if name in cards:
        return cards[name]
    family, _, base = name.rpartition("/")
    if family and base in cards and cards[base]["trainer"]["name"] == family:
        return cards[base]
    shared = sorted(k for k in cards if k.endswith("/" + name))
    if len(shared) > 1:
        trainers = " and a ".join(cards[k]["trainer"]["name"] for k in shared)
        raise TranslateError(f"'{name}' is a {trainers} model; name one: {' or '.join(shared)}")
    if shared:
        return cards[shared[0]]
    raise UnknownNameError(unknown_message("model", name, list(cards)))
