"""One `Registry` per kind of part, filled by decorators, with one door: `create(kind, name, **kwargs)`."""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import inspect
import numbers
import os
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from translate.errors import TranslateError, did_you_mean, unknown_message


class UnknownNameError(TranslateError):
    """A registered name that does not exist; the message lists the known names and the closest match."""


class UnknownKeywordError(TranslateError):
    """A keyword argument that the named part does not take."""


class KeywordTypeError(TranslateError):
    """A keyword argument of the wrong type: `width = 'abc'` where the part takes an integer."""


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

    def types(self) -> dict[str, tuple[type, ...]]:
        """The types each keyword takes, from its annotation, or from its default's type when it has none.

        Only plain types are listed (int, float, bool, str, list, tuple, dict, and None from `X | None`); a keyword
        whose annotation holds anything else (`torch.device | str`, `Any`) is left out, so it is never refused.
        """
        try:
            params = inspect.signature(self.build).parameters.values()
        except (TypeError, ValueError):
            return {}
        namespace = vars(sys.modules.get(getattr(self.build, "__module__", ""), builtins_module))
        out = {}
        for p in params:
            allowed = _plain_types(_evaluate(p.annotation, namespace))
            if allowed is None and p.annotation is inspect.Parameter.empty and type(p.default) in PLAIN_TYPES[:-1]:
                allowed = (type(p.default),)
            if allowed:
                out[p.name] = allowed
        return out


builtins_module = sys.modules["builtins"]
PLAIN_TYPES = (int, float, bool, str, list, tuple, dict, type(None))
TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string", list: "a list",
              tuple: "a list", dict: "a table"}


def _evaluate(annotation: Any, namespace: dict[str, Any]) -> Any:
    """An annotation as an object: modules here use `from __future__ import annotations`, so most are strings."""
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, {"__builtins__": vars(builtins_module), **namespace})  # our own source
    except Exception:
        return inspect.Parameter.empty  # a name imported only for type checkers: not checked


def _plain_types(annotation: Any) -> tuple[type, ...] | None:
    """The plain types an annotation allows (`int | None` -> (int, NoneType)), or None when it is not all plain."""
    if annotation is inspect.Parameter.empty:
        return None
    if annotation is None:
        return (type(None),)
    origin = typing.get_origin(annotation)
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        parts = [_plain_types(arg) for arg in typing.get_args(annotation)]
        return None if any(p is None for p in parts) else tuple(t for p in parts for t in p)  # type: ignore[union-attr]
    if origin is not None:  # list[str], tuple[int, ...], dict[str, Any]
        annotation = origin
    return (annotation,) if annotation in PLAIN_TYPES else None


def _fits(value: Any, allowed: tuple[type, ...]) -> bool:
    """Whether `value` is one of `allowed`: an int passes for a float, a bool never for an int or a float,
    a TOML array for a tuple, a path for a string."""
    for kind in allowed:
        if kind is bool:
            ok = isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        elif kind is float:
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        elif kind is str:
            ok = isinstance(value, (str, os.PathLike))
        elif kind in (list, tuple):
            ok = isinstance(value, (list, tuple))
        else:
            ok = isinstance(value, kind)
        if ok:
            return True
    return False


def _toml(value: Any) -> str:
    """A value as a user would write it after --set: 'abc', true, 32."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _example(allowed: tuple[type, ...], default: Any) -> str | None:
    """A value of the right type to show in the fix: the default when it fits, else a typical one."""
    if default is not inspect.Parameter.empty and default is not None and _fits(default, allowed):
        return _toml(default)
    typical = {int: "1", float: "1.0", bool: "true", str: "'name'"}
    return next((typical[t] for t in allowed if t in typical), None)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""


# Modules whose import registers parts. Imported on first look-up, not at `import translate`, so that
# a part module may itself import the registry without a cycle.
PART_MODULES = (
    "translate.models",
    "translate.models.losses",
    "translate.trainers",
    "translate.data.datasets",
    "translate.data.mixed",
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

    def check_keywords(
        self, name: str, kwargs: dict[str, Any], where: str = "", settable_only: bool = False, table: str = ""
    ) -> None:
        """Refuse keywords the named part does not take, naming the valid ones, and values of the wrong type.

        `where` says where the keywords came from; a config `table` names a key as `table.key` and shows the fix
        as `--set table.key=value`.
        """
        entry = self.entry(name)
        valid = entry.keywords(settable_only)
        if valid is not None:
            for key in kwargs:
                if key not in valid:
                    place, known = where or f"{self.kind} '{name}'", ", ".join(valid) or "(none)"
                    raise UnknownKeywordError(
                        f"{place} takes no keyword '{key}'{did_you_mean(key, valid)} valid: {known}"
                    )
        self.check_types(name, kwargs, table)

    def check_types(self, name: str, kwargs: dict[str, Any], table: str = "") -> None:
        """Refuse a keyword whose value is not of the type the part's constructor declares (its annotation, or
        its default's type): one line naming the key, the type and an example. Allowed values of a string
        (a norm's name, say) are the part's own to check."""
        entry = self.entry(name)
        expected, defaults = entry.types(), entry.defaults()
        for key, value in kwargs.items():
            allowed = expected.get(key)
            if allowed is None or _fits(value, allowed):
                continue
            words = " or ".join(dict.fromkeys(TYPE_WORDS[t] for t in allowed if t in TYPE_WORDS))
            example = _example(allowed, defaults.get(key, inspect.Parameter.empty))
            if table:
                setting = f"{table}.{key}"
                fix = f", e.g. --set {setting}={example}" if example else ""
                message = f"{setting} = {_toml(value)}: expected {words} ({name}'s {key}){fix}"
            else:
                fix = f", e.g. {key}={example}" if example else ""
                message = f"{self.kind} '{name}' keyword {key} = {_toml(value)}: expected {words}{fix}"
            raise KeywordTypeError(message)

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
