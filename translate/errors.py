"""Errors meant for people: one line that names the problem and the fix."""

from __future__ import annotations


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
