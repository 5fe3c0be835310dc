"""The one rule for what a command writes: a file or folder that holds something is never overwritten unasked.

Each check runs before anything is written, and names the path and the flag that allows it (`--overwrite`,
`overwrite=True` in Python).
"""

from __future__ import annotations

import os
from pathlib import Path

from translate.errors import DataError


def check_output_folder(out: str | os.PathLike[str], overwrite: bool, flag: str = "--out") -> None:
    """Refuse an output folder that is a file, or that holds files already unless `overwrite`."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"{flag} {out} is a file; pass a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DataError(f"output folder {out} exists and is not empty; choose another {flag} or pass --overwrite")


def check_output_file(
    out: str | os.PathLike[str], overwrite: bool, flag: str = "--out", example: str = "out.png"
) -> None:
    """Refuse an output file name that is a folder, or a file that exists unless `overwrite`."""
    text = os.fspath(out)
    out = Path(out)
    if out.is_dir() or text.endswith(("/", os.sep)):
        raise DataError(f"{flag} {text} is a folder; pass a file name, e.g. {out / example}")
    if out.exists() and not overwrite:
        raise DataError(f"{out} exists; choose another {flag} or pass --overwrite to replace it")
