"""Named rows of a benchmark: config assignments trained at the benchmark's budget, optionally scored at another size.

A benchmark TOML file lists them as an array of tables under [benchmark]:

    [[benchmark.variants]]
    name = "L1 only"
    set = ["trainer.gan_weight=0"]

    [[benchmark.variants]]
    name = "L1+cGAN, run at 2x"
    test_size = 128          # scored on scenes rendered at 128 px; 0 (default): the run's own held-out size

Each variant's `set` is applied after --set, to every model / style / generator / discriminator combination.
Variants whose configs come out the same (the 2x row above and its 1x twin) share one training run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from translate.config import parse_assignment
from translate.errors import ConfigError, did_you_mean

KEYS = ("name", "set", "test_size")


@dataclass(frozen=True)
class Variant:
    """One named row: `set` assignments (KEY=VALUE, as --set takes) and the size it is scored at (0: its own)."""

    name: str
    set: tuple[str, ...] = ()
    test_size: int = 0


def read_variants(raw: Any) -> list[Variant]:
    """The [[benchmark.variants]] tables as Variants, refused with a one-line ConfigError when malformed."""
    if isinstance(raw, dict) or not isinstance(raw, (list, tuple)):
        raise ConfigError("benchmark.variants must be a list of tables: [[benchmark.variants]] with name = \"...\" "
                          "and set = [\"KEY=VALUE\", ...]")
    variants: list[Variant] = []
    for i, table in enumerate(raw, 1):
        if isinstance(table, Variant):
            variants.append(table)
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"benchmark.variants entry {i} is {table!r}, not a table with name = \"...\" and "
                              "set = [...]")
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"benchmark.variants entry {i} needs a name: name = \"L1+cGAN\", say")
        name = name.strip()
        for key in table:
            if key not in KEYS:
                raise ConfigError(f"variant '{name}': unknown key '{key}'{did_you_mean(key, KEYS)} "
                                  f"known: {', '.join(KEYS)}")
        assignments = table.get("set", [])
        assignments = [assignments] if isinstance(assignments, str) else assignments
        if not isinstance(assignments, list) or not all(isinstance(a, str) for a in assignments):
            raise ConfigError(f"variant '{name}': set must be a list of \"KEY=VALUE\" strings, not {assignments!r}")
        for text in assignments:
            try:
                parse_assignment(text)
            except ConfigError:
                raise ConfigError(f"variant '{name}': set entry '{text}' is not KEY=VALUE "
                                  "(e.g. \"trainer.lambda_l1=0\")") from None
        test_size = table.get("test_size", 0)
        if not isinstance(test_size, int) or isinstance(test_size, bool) or (test_size != 0 and test_size < 8):
            raise ConfigError(f"variant '{name}': test_size = {test_size!r}; use 0 (the run's own held-out size) "
                              "or a whole number of pixels >= 8")
        if any(v.name == name for v in variants):
            raise ConfigError(f"variant '{name}' is listed twice; give each variant its own name")
        variants.append(Variant(name, tuple(assignments), test_size))
    return variants
