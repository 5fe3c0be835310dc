"""`translate data check DIR`: is this folder a usable data set, and if not, which files are the trouble."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translate.data.folders import list_images, pair_by_stem
from translate.data.transforms import MAX_PIXELS, is_image_file, opened_image
from translate.errors import DataError


@dataclass
class CheckReport:
    """What `check_folder` found: layout, counts, and the files that make the set unusable."""

    root: str
    layout: str = "images"  # paired-ab, paired-folders, unpaired, images, empty
    counts: dict[str, int] = field(default_factory=dict)  # images per folder (relative path)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    not_images: list[str] = field(default_factory=list)  # other files, ignored by the loaders
    unpaired: list[str] = field(default_factory=list)  # A/ or B/ files without a partner
    sizes: Counter = field(default_factory=Counter)  # "WxH" -> count
    modes: Counter = field(default_factory=Counter)  # PIL mode -> count
    problems: list[str] = field(default_factory=list)  # what else makes the set unusable
    notes: list[str] = field(default_factory=list)  # worth knowing, harmless

    @property
    def n_images(self) -> int:
        return sum(self.counts.values())

    @property
    def usable(self) -> bool:
        """Usable: some images, none unreadable, every A/B file paired, nothing missing."""
        return self.n_images > 0 and not (self.unreadable or self.unpaired or self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "layout": self.layout,
            "usable": self.usable,
            "images": self.n_images,
            "counts": self.counts,
            "unreadable": [{"file": f, "reason": r} for f, r in self.unreadable],
            "not_images": self.not_images,
            "unpaired": self.unpaired,
            "problems": self.problems,
            "sizes": dict(self.sizes.most_common()),
            "modes": dict(self.modes.most_common()),
            "notes": self.notes,
        }

    def lines(self, limit: int = 10) -> list[str]:
        """The report as lines for people; long lists are cut to `limit` entries."""
        out = [f"{self.root}: {self.layout} layout, {self.n_images} images"]
        out += [f"  {folder or '.'}: {n}" for folder, n in sorted(self.counts.items())]
        if self.sizes:
            out.append("  sizes: " + ", ".join(f"{s} ({n})" for s, n in self.sizes.most_common(5)))
            out.append("  modes: " + ", ".join(f"{m} ({n})" for m, n in self.modes.most_common()))
        for title, items in (
            ("unreadable or truncated", [f"{f}: {r}" for f, r in self.unreadable]),
            ("without a partner of the same name", self.unpaired),
            ("not images (ignored)", self.not_images),
        ):
            if items:
                out.append(f"  {len(items)} {title}:")
                out += [f"    {item}" for item in items[:limit]]
                if len(items) > limit:
                    out.append(f"    ... and {len(items) - limit} more")
        out += [f"  problem: {p}" for p in self.problems]
        out += [f"  note: {n}" for n in self.notes]
        out.append("usable" if self.usable else "NOT usable: fix or remove the files above")
        return out


def inspect_image(path: Path, max_pixels: int | None = MAX_PIXELS) -> tuple[str, tuple[int, int]] | str:
    """(mode, size) of a readable image, or the reason it cannot be read (decoding it fully).

    A file declaring more than `max_pixels` is a reason, found from its header alone: it is never decoded.
    """
    try:
        with opened_image(path, max_pixels) as image:
            mode, size = image.mode, image.size
            image.load()
        return mode, size
    except DataError as e:
        return str(e).removeprefix(f"{path}: ")


def detect_layout(root: Path) -> str:
    """The layout a folder uses, by its folder names."""
    names = {p.name for p in root.iterdir() if p.is_dir()}
    if any(n.endswith("A") and n[:-1] + "B" in names and n != "A" for n in names):
        return "unpaired"
    if {"A", "B"} <= names or any({"A", "B"} <= {q.name for q in (root / n).iterdir() if q.is_dir()} for n in names):
        return "paired-folders"
    if names & {"train", "val", "test"}:
        return "paired-ab"
    return "images"


def check_folder(root: str | os.PathLike[str], max_pixels: int | None = MAX_PIXELS) -> CheckReport:
    """Read every file under `root` and report whether it is a usable data set.

    Files over `max_pixels` (width x height) are reported unreadable, as the loaders would skip them.
    """
    root = Path(root)
    report = CheckReport(str(root))
    if not root.is_dir():
        report.layout = "missing"
        report.problems.append(f"{root} is not a folder")
        return report
    report.layout = detect_layout(root)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(root)
        if not is_image_file(path):
            report.not_images.append(str(rel))
            continue
        folder = str(rel.parent) if str(rel.parent) != "." else ""
        report.counts[folder] = report.counts.get(folder, 0) + 1
        found = inspect_image(path, max_pixels)
        if isinstance(found, str):
            report.unreadable.append((str(rel), found))
            continue
        mode, (w, h) = found
        report.modes[mode] += 1
        report.sizes[f"{w}x{h}"] += 1
    if report.layout == "paired-folders":
        # Pairing by path relative to A/ and B/ covers A/<split>/x, <split>/A/x and plain A/x alike.
        for a_dir in sorted(p for p in root.rglob("A") if p.is_dir() and (p.parent / "B").is_dir()):
            _, lone_a, lone_b = pair_by_stem(a_dir, a_dir.parent / "B")
            report.unpaired += [str(p.relative_to(root)) for p in lone_a + lone_b]
    if report.layout == "paired-ab":
        wide = sum(n for s, n in report.sizes.items() if int(s.split("x")[0]) >= 2 * int(s.split("x")[1]) - 1)
        if report.sizes and wide < sum(report.sizes.values()):
            report.notes.append(
                f"{sum(report.sizes.values()) - wide} images are not about twice as wide as high; "
                "side-by-side AB pairs are"
            )
    if report.n_images == 0:
        report.layout = "empty"
        report.problems.append(f"no images under {root}")
    if report.layout == "unpaired":
        for side in "AB":
            if not list_images(root / f"train{side}"):
                report.problems.append(f"train{side}/ is empty or missing; unpaired training reads it")
    return report
