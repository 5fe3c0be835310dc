"""One `Registry` per kind of part, filled by decorators, with one door: `create(kind, name, **kwargs)`."""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from translate.errors import TranslateError, did_you_mean, unknown_message


class UnknownNameError(TranslateError):
    """A registered name that does not exist; the message lists the known names and the closest match."""


class UnknownKeywordError(TranslateError):
    """A keyword argument that the named part does not take."""


@dataclass(frozen=True)
class Entry:
    """One registered part: its name, the callable that builds it, a one-line description, and whether it
    learns anything (a baseline such as `canny` does not: it is scored straight from its name, never trained)."""

    name: str
    build: Callable[..., Any]
    doc: str
    trainable: bool = True

    def keywords(self, settable_only: bool = False) -> list[str] | None:
        """Keyword arguments the builder takes, or None when it takes any (**kwargs).

        With `settable_only`, only those with defaults: a config sets those; the caller supplies the rest.
        """
        try:
            params = inspect.signature(self.build).parameters.values()
        except (TypeError, ValueError):
            return None
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return None
        return [
            p.name
            for p in params
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            and not (settable_only and p.default is inspect.Parameter.empty)
        ]

    def defaults(self) -> dict[str, Any]:
        """The builder's keyword defaults (those it has)."""
        try:
            params = inspect.signature(self.build).parameters.values()
        except (TypeError, ValueError):
            return {}
        return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""


# Modules whose import registers parts. Imported on first look-up, not at `import translate`, so that
# a part module may itself import the registry without a cycle.
PART_MODULES = (
    "translate.models",
    "translate.models.losses",
    "translate.trainers",
    "translate.data.datasets",
    "translate.styles",
)
_parts_loaded = False


def load_parts() -> None:
    """Import every module that registers parts (once)."""
    global _parts_loaded
    if _parts_loaded:
        return
    _parts_loaded = True

    for module in PART_MODULES:
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)


class Registry:
    """Names of one kind of part (generators, say) mapped to the callables that build them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(
        self, name: str, doc: str | None = None, trainable: bool = True
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: `@GENERATORS.register("unet", "the pix2pix U-Net")` over a class or builder function."""
        def decorate(build: Callable[..., Any]) -> Callable[..., Any]:
            self.add(name, build, doc if doc is not None else _first_line(build.__doc__), trainable)
            return build

        return decorate

    def add(self, name: str, build: Callable[..., Any], doc: str = "", trainable: bool = True) -> None:
        """Register `build` under `name`; names are unique within a kind."""
        if name in self._entries and self._entries[name].build is not build:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._entries[name] = Entry(name, build, doc, trainable)

    def untrainable(self) -> list[str]:
        """Names of the parts that learn nothing (baselines), sorted."""
        return [entry.name for entry in self if not entry.trainable]

    def entry(self, name: str) -> Entry:
        """The entry for `name`; an unknown name raises with the known names and the closest match."""
        load_parts()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(unknown_message(self.kind, name, self.names())) from None

    def check_keywords(self, name: str, kwargs: dict[str, Any], where: str = "", settable_only: bool = False) -> None:
        """Refuse keywords the named part does not take, naming the valid ones."""
        valid = self.entry(name).keywords(settable_only)
        if valid is None:
            return
        for key in kwargs:
            if key not in valid:
                place = where or f"{self.kind} '{name}'"
                raise UnknownKeywordError(
                    f"{place} takes no keyword '{key}'{did_you_mean(key, valid)} valid: {', '.join(valid) or '(none)'}"
                )

    def create(self, name: str, **kwargs: Any) -> Any:
        """Build the part called `name` from keyword arguments."""
        entry = self.entry(name)
        self.check_keywords(name, kwargs)
        return entry.build(**kwargs)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        load_parts()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        load_parts()
        return name in self._entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._entries)


GENERATORS = Registry("generator")
DISCRIMINATORS = Registry("discriminator")
LOSSES = Registry("loss")
TRAINERS = Registry("trainer")
DATASETS = Registry("dataset")
STYLES = Registry("style")

REGISTRIES: dict[str, Registry] = {
    r.kind: r for r in (GENERATORS, DISCRIMINATORS, LOSSES, TRAINERS, DATASETS, STYLES)
}


def registry(kind: str) -> Registry:
    """The registry of one kind ("generator", "discriminator", "loss", "trainer", "dataset", "style")."""
    try:
        return REGISTRIES[kind]
    except KeyError:
        raise UnknownNameError(unknown_message("kind", kind, list(REGISTRIES))) from None


def create(kind: str, name: str, **kwargs: Any) -> Any:
    """Build a registered part: `create("generator", "unet", width=32)`."""
    return registry(kind).create(name, **kwargs)


def list_names(kind: str, pattern: str = "*") -> list[str]:
    """Registered names of one kind matching a glob pattern."""
    return [n for n in registry(kind).names() if fnmatch.fnmatch(n, pattern)]
