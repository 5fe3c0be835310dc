"""Errors meant for people: one line that names the problem and the fix."""

from __future__ import annotations

import difflib
from typing import Iterable


class TranslateError(Exception):
    """A problem the user can fix (bad input, unknown name, bad config); the CLI prints it as one line."""


class ConfigError(TranslateError):
    """A config file or --set override that cannot be used."""


class DataError(TranslateError):
    """An image or data folder that cannot be used."""


class CheckpointError(TranslateError):
    """A checkpoint or run directory that cannot be read or does not fit the model."""


class TrainingError(TranslateError):
    """Training cannot go on (a non-finite loss, say); the last good checkpoint is kept."""


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name most like `name`, or None when nothing is close."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return match[0] if match else None


def did_you_mean(name: str, known: Iterable[str], prefix: str = "") -> str:
    """"; did you mean 'unet'?" when a known name is close to `name` (shown as `prefix` + it), else ""."""
    hint = closest(name, known)
    return f"; did you mean '{prefix}{hint}'?" if hint else ""


def unknown_message(what: str, name: str, known: Iterable[str]) -> str:
    """"unknown generator 'unet256'; did you mean 'unet'? known: ..." as one line."""
    known = sorted(known)
    return f"unknown {what} '{name}'{did_you_mean(name, known)} known: {', '.join(known) or '(none)'}"
