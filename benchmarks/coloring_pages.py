"""Colouring pages scored as the seed study compared them: input | Canny | dodge | stage 1 | stage 2.

On the scenes world's test scenes, clean and degraded (`translate.data.degrade.CONDITIONS`: blurred, noisy,
low-contrast, photo-like), each method draws line art and is scored against the world's true sketch by line
precision, recall and F-score (`translate.evaluation.metrics.line_counts`, as `translate eval` scores the
coloring style: lines darker than 128, a drawn pixel correct within size/64 px of a true line). Methods: the
classical baselines `canny` and `dodge` ("gray, invert, blur, invert"), the first stage, each second stage
(`python -m benchmarks.coloring_stage2`), and the last one's output made a colouring page (`--page`).

    python -m benchmarks.coloring_pages --stage2 runs/coloring-stage2/run \
        --stage2 "stage 2, hazed=runs/coloring-stage2-haze/run" --grid docs/coloring_pages.png

appends the table to benchmarks/results/coloring_pages.md and draws one test scene under every condition.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "coloring_pages.md"

Method = Callable[[torch.Tensor], torch.Tensor]


def methods(stage1: str, stage2: list[str]) -> dict[str, Method]:
    """Each method as a function from an NCHW photo batch in [-1, 1] to line art in [-1, 1]: the baselines, the
    first stage, each second stage (`RUN` or `LABEL=RUN`), and the last second stage's output as a page."""
    import translate
    from translate.inference.colouring_page import tensor_page

    chosen: dict[str, Method] = {
        "Canny": translate.create("generator", "canny"),
        "dodge": translate.create("generator", "dodge"),
        "stage 1": translate.load(stage1).translate_tensor,
    }
    for number, given in enumerate(stage2):
        label, _, run = given.rpartition("=")
        chosen[label or ("stage 2" if number == 0 else f"stage 2 ({run})")] = translate.load(run).translate_tensor
    last_label, last = list(chosen.items())[-1]
    chosen[f"{last_label}, page"] = lambda x: tensor_page(last(x))
    return chosen


def test_scenes(n: int, size: int, seed: int) -> list:
    """The world's first `n` test scenes at `size` px."""
    from translate.data import scenes

    return [scenes.render(scenes.scene_seed(seed, "test", i), size) for i in range(n)]


def degraded(scene, condition: str, index: int) -> Image.Image:
    """Test scene `index`'s photo under `condition`, its randomness seeded by (condition, index)."""
    from translate.data.degrade import CONDITIONS

    rng = np.random.default_rng([list(CONDITIONS).index(condition), index])
    return CONDITIONS[condition](scene.image("photo"), rng)


def score(methods: dict[str, Method], scenes: list, size: int, batch: int = 10) -> dict[str, dict[str, dict]]:
    """{condition: {method: precision, recall, f_score}} over all `scenes`, counts pooled over the split."""
    from translate.data.degrade import CONDITIONS
    from translate.data.transforms import to_tensor
    from translate.evaluation.metrics import LineCounts, line_counts

    tolerance = size / 64  # translate eval's: one pixel at 64 px
    table: dict[str, dict[str, dict]] = {}
    for condition in CONDITIONS:
        counts = {name: LineCounts() for name in methods}
        for start in range(0, len(scenes), batch):
            chunk = scenes[start:start + batch]
            photos = torch.stack([to_tensor(degraded(s, condition, start + i)) for i, s in enumerate(chunk)])
            truth = torch.stack([to_tensor(s.image("sketch")) for s in chunk])
            for name, method in methods.items():
                counts[name] += line_counts(method(photos), truth, 128, tolerance)
        table[condition] = {name: c.scores() for name, c in counts.items()}
        print(condition, "  ".join(f"{name} {s['f_score']:.3f}" for name, s in table[condition].items()), flush=True)
    return table


def grid(methods: dict[str, Method], scene, index: int, gap: int = 4, header: int = 26) -> Image.Image:
    """One scene under every condition (rows): input | each method | the true sketch (columns)."""
    from translate.data.degrade import CONDITIONS
    from translate.data.transforms import to_image, to_tensor

    columns = ["input", *methods, "true sketch"]
    size = scene.photo.shape[0]
    label = 84
    sheet = Image.new("RGB", (label + len(columns) * (size + gap) + gap,
                              header + len(CONDITIONS) * (size + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(columns):  # two lines of about 20 characters fit over a 128 px column
        draw.multiline_text((label + gap + c * (size + gap) + 2, 1), "\n".join(textwrap.wrap(name, 20)[:2]),
                            fill=(0, 0, 0), spacing=1)
    for r, condition in enumerate(CONDITIONS):
        y = header + gap + r * (size + gap)
        draw.text((4, y + size // 2 - 6), condition, fill=(0, 0, 0))
        photo = degraded(scene, condition, index)
        x = to_tensor(photo)[None]
        tiles = [photo, *(to_image(method(x)[0]) for method in methods.values()), scene.image("sketch")]
        for c, tile in enumerate(tiles):
            sheet.paste(tile.convert("RGB"), (label + gap + c * (size + gap), y))
    return sheet


def write_results(table: dict[str, dict[str, dict]], args: argparse.Namespace, path: Path) -> None:
    """Append the F-score table and the full precision / recall / F table, with the command, to `path`."""
    names = list(next(iter(table.values())))
    conditions = list(table)
    lines = [
        f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"`python -m benchmarks.coloring_pages --stage1 {args.stage1} "
        + "".join(f"--stage2 {shlex.quote(s)} " for s in args.stage2) + f"--n {args.n} --size {args.size}`: the world's first {args.n} test scenes (seed {args.seed}) at {args.size} px; "
        f"line F (precision / recall) against the true sketches, tolerance {args.size / 64:g} px. "
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}.",
        "",
        "| method | " + " | ".join(conditions) + " |",
        "|---|" + "---:|" * len(conditions),
    ]
    for name in names:
        cells = [f"**{s['f_score']:.3f}** ({s['precision']:.2f} / {s['recall']:.2f})"
                 for s in (table[c][name] for c in conditions)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines[5:]))
    print(f"appended to {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage1", default="scenes-coloring", help="the first stage: a catalogue name or a run")
    parser.add_argument("--stage2", action="append", help="a second stage's run, or LABEL=RUN; repeatable (default: "
                        "runs/coloring-stage2/run); the last is also shown as a colouring page")
    parser.add_argument("--n", type=int, default=100, help="test scenes")
    parser.add_argument("--size", type=int, default=128, help="test size in pixels (the style's held-out size)")
    parser.add_argument("--seed", type=int, default=0, help="the world's seed")
    parser.add_argument("--grid", help="draw the grid into this PNG")
    parser.add_argument("--grid-scene", type=int, default=1, help="which test scene the grid shows")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--grid-only", action="store_true", help="draw the grid without scoring (nothing appended)")
    args = parser.parse_args(argv)

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    args.stage2 = args.stage2 or ["runs/coloring-stage2/run"]
    chosen = methods(args.stage1, args.stage2)
    if not args.grid_only:
        table = score(chosen, test_scenes(args.n, args.size, args.seed), args.size)
        write_results(table, args, Path(args.results))
    if args.grid:
        from translate.data import scenes as world

        scene = world.render(world.scene_seed(args.seed, "test", args.grid_scene), args.size)
        # 256 colours: the line art needs two, and the photos keep their look at a third of the bytes
        sheet = grid(chosen, scene, args.grid_scene).quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        sheet.save(args.grid, optimize=True)
        print(f"wrote {args.grid} ({Path(args.grid).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
