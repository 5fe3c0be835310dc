"""The colouring model's second stage, as the seed study trained it, in one command.

From a first-stage model (a catalogue name or a run of `translate train --model pix2pix --style coloring`) and
unlabelled images (fresh scenes of the world, and optionally a folder of your photos): the first stage sketches
each image, each image is degraded by noise then blur and by noise then dilation, and the degraded copies are
paired with the clean image's sketch (`translate.data.pseudo_pairs`); the world's original training pairs join
them. Then pix2pix trains on that set with the coloring style's settings, exactly as a person would type it:

    python -m benchmarks.coloring_stage2 --stage1 scenes-coloring --out runs/coloring-stage2
    python -m benchmarks.coloring_stage2 --stage1 runs/lines --images data/photos --out runs/stage2-photos

which writes OUT/data/ (the paired set and its stage2.json) and runs

    translate train --model pix2pix --style coloring --data OUT/data --out OUT/run --steps 8000

(8000 steps: the coloring style's own budget, so the two stages are compared at equal cost). OUT/run is the
second-stage model: `translate predict OUT/run photo.jpg --out pages/ --page`; `python -m
benchmarks.coloring_pages --stage2 OUT/run` scores both stages. Training runs on one thread (OMP_NUM_THREADS=1
unless set, and train.threads=1): on a shared machine two spin-waiting threads are several times slower.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = 8000  # the coloring style's budget: 20 epochs of 400 scenes


def make_data(stage1: str, out: Path, n_scenes: int, images: str | None, overwrite: bool,
              originals: int | None = None, test_scenes: int | None = None, haze: bool = False) -> dict:
    """Write the second stage's paired set into `out` with the coloring style's sizes, and its splits' sizes
    unless `originals` (training pairs of the world) or `test_scenes` say otherwise."""
    from translate.config import read_preset
    from translate.data.degrade import HAZY_TRAINING, TRAINING
    from translate.data.pseudo_pairs import write_stage2_set
    from translate.inference.translator import load

    data = read_preset("styles", "coloring")["data"]
    return write_stage2_set(
        load(stage1), out, n_scenes=n_scenes, images=images,
        n_train=data["n_train"] if originals is None else originals,
        n_test=data["n_test"] if test_scenes is None else test_scenes,
        size=data["load_size"], test_size=data["test_size"], degradations=HAZY_TRAINING if haze else TRAINING,
        overwrite=overwrite, progress=sys.stderr.isatty(),
    )


def train_command(data: Path, run: Path, steps: int, assignments: list[str]) -> list[str]:
    """The `translate train` command of the second stage (without the interpreter)."""
    extra = [x for a in ["train.threads=1", *assignments] for x in ("--set", a)]
    return ["translate", "train", "--model", "pix2pix", "--style", "coloring", "--data", str(data), "--out", str(run),
            "--steps", str(steps), "--quiet", *extra]


def held_out_l1(run: Path) -> tuple[float, float]:
    """The held-out L1 the run logged at its first and last evaluation."""
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    evals = [r["heldout_l1"] for r in records if r.get("kind") == "eval"]
    return evals[0], evals[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage1", default="scenes-coloring", help="first-stage model: a catalogue name or a run")
    parser.add_argument("--out", default="runs/coloring-stage2", help="writes OUT/data and OUT/run")
    parser.add_argument("--scenes", type=int, default=400, help="fresh world scenes to pseudo-label (0: none)")
    parser.add_argument("--images", help="a folder of your own unlabelled photos to pseudo-label as well")
    parser.add_argument("--originals", type=int, help="the world's original pairs (default: the style's 400)")
    parser.add_argument("--test-scenes", type=int, help="held-out test scenes (default: the style's 50)")
    parser.add_argument("--haze", action="store_true", help="haze the photos before each degradation (not the "
                        "seed's: its second stage drew grey smears from washed-out photos)")
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps of the second stage")
    parser.add_argument("--set", dest="assignments", action="append", default=[], help="extra --set for training")
    parser.add_argument("--overwrite", action="store_true", help="rewrite OUT/data if it holds a set")
    args = parser.parse_args(argv)

    from translate.errors import TranslateError

    out = Path(args.out)
    data, run = out / "data", out / "run"
    try:
        tic = time.perf_counter()
        manifest = make_data(args.stage1, data, args.scenes, args.images, args.overwrite, args.originals,
                             args.test_scenes, args.haze)
        made = time.perf_counter() - tic
    except TranslateError as e:
        sys.exit(f"Error: {e}")
    counts = manifest["counts"]
    print(f"wrote {data}: {counts['original']} original pairs, {counts['degraded']} degraded pairs from "
          f"{counts['unlabelled']} unlabelled images sketched by {args.stage1}, {counts['test']} test scenes "
          f"({made:.0f} s)", flush=True)

    command = train_command(data, run, args.steps, args.assignments)
    print("$", shlex.join(command), flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.setdefault("OMP_NUM_THREADS", "1")
    tic = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "translate", *command[1:]], env=env)
    if done.returncode:
        sys.exit(done.returncode)
    start, end = held_out_l1(run)
    print(f"stage 2: {run} in {(time.perf_counter() - tic) / 60:.1f} min; held-out L1 {start:.4f} -> {end:.4f}")


if __name__ == "__main__":
    main()
