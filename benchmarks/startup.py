"""Start-up time of the `translate` command as a whole process: `--help`, and a first `predict` of a shipped model.

Each command runs several times after one warm-up (the file cache warm, as for a person's second try); the
median wall time is printed and appended, with the commit and the CPU, to benchmarks/results/startup.md.

    python -m benchmarks.startup                 # 7 runs of each command
    python -m benchmarks.startup --runs 3 --no-record
    python -m benchmarks.startup --vs ../old     # the same commands from another checkout, in turn with this one
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "startup.md"


def timed(command: list[str], envs: list[dict[str, str]], runs: int) -> list[list[float]]:
    """Wall seconds of `runs` runs of `command` under each environment, taken in turn (A B A B ...) after one
    warm-up each, so that a machine whose speed drifts slows both alike; a failed run stops with its output."""
    times: list[list[float]] = [[] for _ in envs]
    for i in range(runs + 1):
        for env, these in zip(envs, times):
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                sys.exit(f"{' '.join(command)} failed:\n{done.stderr.strip()}")
            if i:
                these.append(elapsed)
    return times


def commit(tree: Path) -> str:
    """The short commit of a checkout, or "unknown"."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-record", action="store_true", help="Print only; do not append to results/startup.md.")
    parser.add_argument("--vs", metavar="DIR", help="Also time another checkout of translate, in turn with this one.")
    args = parser.parse_args()
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        Image.new("RGB", (256, 256), (90, 140, 200)).save(tmp_path / "photo.png")
        base = {**os.environ, "TRANSLATE_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
        trees = {"this checkout": ROOT, **({"the --vs checkout": Path(args.vs).resolve()} if args.vs else {})}
        envs = [{**base, "PYTHONPATH": str(tree)} for tree in trees.values()]
        translate = [sys.executable, "-m", "translate"]
        commands = {
            "translate --help": [*translate, "--help"],
            "translate predict scenes-shinkai photo.png": [
                *translate, "predict", "scenes-shinkai", str(tmp_path / "photo.png"), "--out",
                str(tmp_path / "out"), "--overwrite", "--quiet"],
        }
        rows = []
        for label, command in commands.items():
            for tree, times in zip(trees, timed(command, envs, args.runs)):
                rows.append((label, tree, statistics.median(times), min(times), max(times)))
                print(f"{label:<45} {tree:<20} median {rows[-1][2]:.3f} s  (min {rows[-1][3]:.3f}, "
                      f"max {rows[-1][4]:.3f}, {args.runs} runs)")
    if args.no_record:
        return
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    lines = [] if RESULTS.exists() else [
        "# Start-up of the translate command (whole process, wall seconds, median after a warm-up)", "",
        "`python -m benchmarks.startup [--vs DIR]` (DIR: a checkout of another commit, timed in turn with this one)", "",
        "| date | commit | CPU | command | tree | median s | min s | max s |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {stamp} | {commit(trees[tree])} | {cpu_name()} | `{label}` | {tree} | {med:.3f} | {lo:.3f} | {hi:.3f} |"
              for label, tree, med, lo, hi in rows]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
