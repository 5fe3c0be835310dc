"""What a person looks at while a model trains: sample grids of held-out images and the loss plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw
from torch.utils.data import Dataset, Subset, default_collate

from translate.data.transforms import to_image
from translate.files import atomic_path

HEADER = 14  # pixels of column titles
GAP = 4


def sample_grid(columns: dict[str, torch.Tensor], min_size: int = 128) -> Image.Image:
    """One row per image, one titled column per entry (input | output | target ...); grey shown as RGB.

    Small images are enlarged by a whole factor (nearest neighbour, so pixels stay honest) to `min_size`.
    """
    images = {title: [to_image(t).convert("RGB") for t in batch] for title, batch in columns.items()}
    rows = min(len(v) for v in images.values())
    width, height = next(iter(images.values()))[0].size
    scale = max(1, min_size // max(width, height))
    w, h = width * scale, height * scale
    grid = Image.new("RGB", (len(images) * (w + GAP) + GAP, HEADER + rows * (h + GAP) + GAP), "white")
    draw = ImageDraw.Draw(grid)
    for c, (title, column) in enumerate(images.items()):
        x = GAP + c * (w + GAP)
        draw.text((x + 2, 1), title, fill=(0, 0, 0))
        for r in range(rows):
            image = column[r].resize((w, h), Image.Resampling.NEAREST) if scale > 1 else column[r]
            grid.paste(image, (x, HEADER + GAP + r * (h + GAP)))
    return grid


def save_image(image: Image.Image, path: str | Path) -> None:
    """Save a PNG atomically."""
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of a log.jsonl (a torn last line, from a kill mid-write, is skipped)."""
    records = []
    path = Path(path)
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


NOT_SERIES = {"step", "epoch", "time", "lr", "images_per_s", "kind"}


def plot_losses(records: list[dict[str, Any]], path: str | Path, title: str = "") -> None:
    """loss.png: one small panel per logged loss against step, then each held-out score and the rate."""
    # The object API with the Agg canvas: no pyplot, no global backend switch, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    train = [r for r in records if r.get("kind", "train") == "train"]
    evals = [r for r in records if r.get("kind") == "eval"]
    names: list[str] = []
    for r in train:
        names += [k for k in r if k not in NOT_SERIES and k not in names and isinstance(r[k], (int, float))]
    scores: list[str] = []  # the held-out scores (heldout_l1; a cGAN's label_accuracy, diversity)
    for r in evals:
        scores += [k for k in r if k not in NOT_SERIES and k not in scores and isinstance(r[k], (int, float))]
    panels = [(n, train) for n in names] + [(k, evals) for k in scores]
    if train and any("lr" in r for r in train):
        panels.append(("lr", train))
    if not panels:
        return
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(3.2 * cols, 2.4 * rows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (name, source) in zip(axes.flat, panels):
        points = [(r["step"], r[name]) for r in source if name in r]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o" if len(points) < 30 else None, lw=1)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("step", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    # fixed margins: tight_layout would measure every label and take most of the drawing time
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1 if rows == 1 else 0.06, top=0.86 if rows == 1 else 0.92,
                        wspace=0.3, hspace=0.45)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)


def fixed_batch(dataset: Dataset, n: int) -> dict[str, Any]:
    """The first `n` held-out items as one batch: the inputs every sample grid shows."""
    n = max(1, min(n, len(dataset)))  # type: ignore[arg-type]
    return default_collate([Subset(dataset, range(n))[i] for i in range(n)])
