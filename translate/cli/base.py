"""What every command shares: one-line errors for people, and the log's format and level.

Commands import the library inside their bodies: `translate --help` and the light commands must start without
importing torch (about 2 s).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from translate.errors import TranslateError


class Group(click.Group):
    """A click group that turns a TranslateError into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TranslateError as e:
            raise click.ClickException(str(e)) from None


class OneLineFormatter(logging.Formatter):
    """Log records as the one line a person reads: "warning: ..." (info lines bare)."""

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno == logging.INFO else record.levelname.lower() + ": "
        return level + record.getMessage()


def setup_logging(quiet: bool = False) -> None:
    """Send the "translate" log to stderr, one line a record; `quiet` keeps warnings and errors only."""
    log = logging.getLogger("translate")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(OneLineFormatter())
        log.addHandler(handler)
    log.setLevel(logging.WARNING if quiet else logging.INFO)


# pix2pix's behaviour at test time, for the commands that run a trained generator (predict, eval)
test_mode_option = click.option(
    "--test-mode", type=click.Choice(["eval", "reference"]),
    help="eval: batch norm's running statistics, no dropout; reference: as the reference's test.py (no --eval), "
         "each batch's own statistics and dropout on. Default: a catalogue model's card's, else eval.")
