"""Run the embedded default of each model on each style and record what it reached and how long it took.

Each run is exactly the command a person types (`translate train --model M --style S`), with its run
directory under benchmarks/runs/. From each run's log.jsonl it reads the held-out L1 (to the true target,
on the test split) of the untrained model (step 0) and at the end, and the wall time; then it scores the run
as a person would, `translate eval RUN` (at the run's held-out size, its style's 100 test scenes: L1, SSIM, the
artefact ratio and, for shinkai, the style score), and appends all of it to benchmarks/results/train_defaults.md.

    python -m benchmarks.train_defaults                       # the natural pairs (below)
    python -m benchmarks.train_defaults --pairs all           # every model on every style it can train
    python -m benchmarks.train_defaults --pairs cyclegan:shinkai --set train.epochs=2

The runs use one thread (OMP_NUM_THREADS=1) unless OMP_NUM_THREADS is set: on a machine shared with
other jobs, torch's two OpenMP threads spin-wait for each other and a step can take 5-20x longer than on
one thread, while on a quiet 2-core machine two threads are only 20-35% faster (benchmarks/results/threads.md).
For the wall time a person sees on a quiet machine, run one pair at a time with `OMP_NUM_THREADS=2`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "train_defaults.md"
NATURAL = ["pix2pix:coloring", "pix2pix:labels2photo", "pix2pix:sketch2photo", "cyclegan:shinkai", "cartoongan:shinkai"]
ALL = NATURAL + ["cyclegan:coloring", "cyclegan:labels2photo", "cyclegan:sketch2photo", "cartoongan:coloring",
                 "cartoongan:labels2photo", "cartoongan:sketch2photo"]


def run_one(model: str, style: str, out: Path, extra: list[str]) -> dict:
    command = [sys.executable, "-m", "translate", "train", "--model", model, "--style", style, "--out", str(out),
               "--quiet", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.setdefault("OMP_NUM_THREADS", "1")
    load_before = os.getloadavg()[0]
    tic = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - tic
    load_after = os.getloadavg()[0]
    report = _evaluate(out, env) if result.returncode == 0 else {}
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()] if (out / "log.jsonl").exists() else []
    evals = [r for r in records if r.get("kind") == "eval"]
    train = [r for r in records if r.get("kind") == "train"]
    shown = " ".join(shlex.quote(_shown(Path(c)) if c == str(out) else c) for c in ["translate", *command[3:]])
    return {
        "model": model, "style": style, "command": shown, "rc": result.returncode,
        "error": result.stderr.strip().splitlines()[-1] if result.returncode else "",
        "wall_s": wall, "steps": train[-1]["step"] if train else 0,
        "untrained": evals[0]["heldout_l1"] if evals else float("nan"),
        "trained": evals[-1]["heldout_l1"] if evals else float("nan"),
        "best": min((e["heldout_l1"] for e in evals), default=float("nan")),
        "images_per_s": sum(r["images_per_s"] for r in train[-5:]) / max(1, len(train[-5:])),
        "load": (load_before + load_after) / 2,
        "grid": _shown(out / "samples" / "latest.png"),
        "eval": report,
    }


def _evaluate(run: Path, env: dict[str, str]) -> dict:
    """`translate eval RUN` (the run's own style and held-out size) as JSON; {} if it failed."""
    report = run / "eval.json"
    command = [sys.executable, "-m", "translate", "eval", str(run), "--quiet", "--json", "--out", str(report),
               "--overwrite"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return json.loads(report.read_text()) if done.returncode == 0 and report.is_file() else {}


def _scores(report: dict) -> str:
    """The eval columns of one row: size, L1, SSIM, artefacts, style score ('-' where not measured)."""
    if not report:
        return "- | - | - | - | -"
    ratio = (report.get("artefacts") or {}).get("ratio")
    style = (report.get("style_score") or {}).get("score")
    return " | ".join([f"{report['image_size'][0]} px", f"{report['l1']:.4f}", f"{report['ssim']:.4f}",
                       "-" if ratio is None else f"{ratio:.2f}", "-" if style is None else f"{style:.3f}"])


def _shown(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", default="natural", help="natural, all, or model:style[,model:style...]")
    parser.add_argument("--runs", default=str(ROOT / "benchmarks" / "runs"), help="where the run directories go")
    parser.add_argument("--set", dest="assignments", action="append", default=[], help="extra --set for every run")
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args()
    pairs = NATURAL if args.pairs == "natural" else ALL if args.pairs == "all" else args.pairs.split(",")
    extra = [x for a in args.assignments for x in ("--set", a)]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
    rows = []
    for pair in pairs:
        model, style = pair.split(":")
        out = Path(args.runs) / f"{model}-{style}-{stamp}"
        row = run_one(model, style, out, extra)
        rows.append(row)
        print(f"{model:10s} {style:13s} rc {row['rc']} held-out L1 {row['untrained']:.4f} -> {row['trained']:.4f} "
              f"in {row['wall_s'] / 60:.1f} min ({row['steps']} steps, load {row['load']:.1f}); "
              f"eval: {_scores(row['eval'])} {row['error']}", flush=True)
    write_results(rows, Path(args.results))


def write_results(rows: list[dict], path: Path) -> None:
    import torch

    lines = [
        f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores ({torch.backends.cpu.get_cpu_capability()}), "
        f"torch {torch.__version__}, no GPU; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')}. "
        "The machine was shared with other jobs: 'load' is the 1-minute load average around the run "
        "(2.0 = both cores busy), so wall times are noisy, upper bounds for a quiet machine.",
        "",
        "Held-out L1: mean |G(A) - B| in [0, 1] units over the test split (its true targets), step 0 (untrained) "
        "and at the end; lower is better.",
        "",
        "Then `translate eval RUN` on the style's test split at the run's held-out size: L1, SSIM, the artefact "
        "ratio (goal <= 1.5) and the style score (shinkai: the style judge's mean probability of a clean rendering).",
        "",
        "| model | style | steps | held-out L1 untrained | trained | wall time | img/s | load | eval size | L1 | SSIM "
        "| artefacts | style | last sample grid |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        status = "" if r["rc"] == 0 else f" (failed: {r['error']})"
        lines.append(
            f"| {r['model']} | {r['style']} | {r['steps']} | {r['untrained']:.4f} | {r['trained']:.4f}{status} | "
            f"{r['wall_s'] / 60:.1f} min | {r['images_per_s']:.1f} | {r['load']:.1f} | {_scores(r['eval'])} | "
            f"{r['grid']} |"
        )
    lines += ["", "Commands (from the repository root):", "", "```"] + [r["command"] for r in rows] + ["```"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"appended to {path}")


if __name__ == "__main__":
    main()
