"""Styles: the presets under configs/styles/ (data, size), registered so `translate models` lists them."""

from __future__ import annotations

import copy
from typing import Any, Callable

from translate.config import preset_names, read_preset
from translate.registry import STYLES


def _style_table(table: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        return copy.deepcopy(table)

    return build


for _name in preset_names("styles"):
    _table = read_preset("styles", _name)
    STYLES.add(_name, _style_table(_table), _table.get("description", ""))
