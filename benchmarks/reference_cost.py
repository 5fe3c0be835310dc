"""translate against the reference's own cost, in one run, as whole processes: `python -m benchmarks.reference_cost --out DIR`.

    python -m benchmarks.reference_cost --out bench/refcost                     # 256 px, 30 + 8 steps, 32 photos
    python -m benchmarks.reference_cost --out /tmp/rc --size 64 --steps-pix2pix 2 --steps-cyclegan 1 --photos 2

Each job runs twice, as separate processes timed by wall clock from start to exit (imports, set-up, data,
steps, saving: what a person waits for), one after the other in the same environment:

- reference: `python -m benchmarks.reference_path JOB ...`, the reference's cost with our networks (eager fp32,
  NCHW, batch 1, Adam's per-parameter loop, a plain PIL data path in the main process; see that module);
- translate: `translate train --model JOB --data ... --preset paper --steps N --quiet` (the papers' networks and
  286 -> 256 crops; precision, channels-last and threads left to translate), and for predict `translate
  predict RUN PHOTOS` with the weights of the pix2pix run just trained (the reference gets the same file).

The data (scenes-world images drawn by translate's data layer) is written once into DIR/data. Before the timing,
`translate benchmark --levers` runs once where that command exists, so that translate's first-use measurements
are cached and not timed; how long it took is reported apart. With --repeats > 1 the order alternates (reference
first, then translate first, ...) and the median is reported. Writes DIR/report.md and DIR/report.json; the runs
and predictions of an earlier benchmark in DIR (runs/, reference/, predict/) are replaced, its data kept if it fits.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
PY = [sys.executable, "-m"]
JOBS = ("pix2pix", "cyclegan", "predict")


def cpu() -> str:
    """The CPU's model name, its core count and which of FLAGS it has."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        text = ""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    name = fields.get("Model name", platform.processor() or platform.machine()).strip()
    flags = set(fields.get("Flags", "").split())
    if not flags and Path("/proc/cpuinfo").is_file():
        flags = {f for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")
                 for f in line.split(":", 1)[1].split()}
    have = ", ".join(f for f in FLAGS if f in flags) or "none of " + "/".join(FLAGS)
    return f"{name}; {os.cpu_count()} cores; flags: {have}"


def prepare(data: Path, size: int, n_train: int, photos: int) -> None:
    """pix2pix/ (labels2photo AB pairs: train/, 4 in test/), cyclegan/ (photo2shinkai: trainA/, trainB/, 4 in
    testA/, testB/) and photos/; kept from an earlier run of the same sizes."""
    marker, want = data / "prepared.json", {"size": size, "n_train": n_train, "photos": photos}
    if marker.is_file() and json.loads(marker.read_text()) == want:
        return
    from translate.data.scenes import render, scene_seed, write_task

    write_task("labels2photo", n_train, size, 0, data / "pix2pix", n_test=4, overwrite=True)
    write_task("photo2shinkai", n_train, size, 0, data / "cyclegan", n_test=4, overwrite=True)
    (data / "photos").mkdir(parents=True, exist_ok=True)
    for old in (data / "photos").glob("*.png"):
        old.unlink()
    for i in range(photos):
        render(scene_seed(1, "test", i), size).image("photo").convert("RGB").save(data / "photos" / f"{i:05d}.png")
    marker.write_text(json.dumps(want))


def run(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds of one whole process and its output; a failure stops the benchmark with its output."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{shlex.join(command)} failed ({done.returncode}):\n{(done.stdout + done.stderr).strip()[-3000:]}")
    return seconds, done.stdout + done.stderr


def prime(out: Path, size: int, env: dict[str, str]) -> dict[str, object]:
    """Run `translate benchmark --levers` once where it exists, so translate's first-use measurement is cached."""
    helps = subprocess.run([*PY, "translate", "benchmark", "--help"], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if "--levers" not in helps.stdout:
        return {"seconds": None, "note": "translate benchmark has no --levers here: nothing primed"}
    # each on a style with the data's channels (RGB -> RGB): a decision is cached per parts, size and channels
    commands = [[*PY, "translate", "benchmark", "--levers", "--models", model, "--styles", style, "--preset", "paper",
                 "--sizes", str(size), "--out", str(out / f"levers-{model}")]
                for model, style in (("pix2pix", "labels2photo"), ("cyclegan", "shinkai"))]
    start, notes = time.perf_counter(), []
    for command in commands:
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        notes.append("ok" if done.returncode == 0 else f"failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "note": "; ".join(notes), "command": " && ".join(shlex.join(c) for c in commands)}


def translate_chose(run_dir: Path | None, output: str) -> str:
    """What translate chose: its run's config.toml header ('# ran on: ...', '# ... resolved to: ...'), or, for
    predict, any line of its output naming a precision."""
    if run_dir is not None:
        lines = (run_dir / "config.toml").read_text(encoding="utf-8").splitlines()
        chosen = [line[2:] for line in lines if line.startswith(("# ran on:", "# levers:")) or " resolved to: " in line]
        return "; ".join(chosen).removeprefix("ran on: ")
    said = [line.strip() for line in output.splitlines() if "levers:" in line]
    return said[-1].split("levers:", 1)[1].strip() if said else "(predict said nothing of its levers)"


def loop_seconds(side: str, output: str, run_dir: Path) -> float:
    """Seconds of the training steps alone: the reference's JSON line ("train_s"), or the sum of translate's logged
    step times (log.jsonl: images per second of step time over each logging interval, batch 1)."""
    if side == "reference":
        return float(json.loads(output.strip().splitlines()[-1])["train_s"])
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    train, last = [r for r in records if r["kind"] == "train"], 0
    total = 0.0
    for r in train:
        total += (r["step"] - last) / r["images_per_s"]
        last = r["step"]
    return total


def commands(job: str, args: argparse.Namespace, data: Path, tag: str, pix2pix_run: Path | None) -> dict[str, list[str]]:
    """The reference's and translate's command of one job (one repeat: `tag` names its output folders)."""
    out = args.out
    size = ["--size", str(args.size)]
    if job == "predict":
        weights = pix2pix_run / "checkpoints" / "latest.safetensors"
        return {
            "reference": [*PY, "benchmarks.reference_path", "predict", str(data / "photos"), *size,
                          "--weights", str(weights), "--out", str(out / "predict" / f"reference-{tag}")],
            "translate": [*PY, "translate", "predict", str(pix2pix_run), str(data / "photos"),
                          "--out", str(out / "predict" / f"translate-{tag}")],
        }
    steps = str(args.steps_pix2pix if job == "pix2pix" else args.steps_cyclegan)
    return {
        "reference": [*PY, "benchmarks.reference_path", job, str(data / job), "--steps", steps, *size,
                      "--out", str(out / "reference" / f"{job}-{tag}")],
        "translate": [*PY, "translate", "train", "--model", job, "--data", str(data / job), "--preset", "paper",
                      *size, "--steps", steps, "--out", str(out / "runs" / f"{job}-{tag}"), "--quiet"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="Folder for data/, runs/, predict/ and the report.")
    parser.add_argument("--size", type=int, default=256, help="Crop size (images are drawn at it, loaded at 286/256 of it).")
    parser.add_argument("--steps-pix2pix", type=int, default=30)
    parser.add_argument("--steps-cyclegan", type=int, default=8)
    parser.add_argument("--photos", type=int, default=32, help="Photos that predict translates.")
    parser.add_argument("--jobs", default="pix2pix,cyclegan,predict")
    parser.add_argument("--repeats", type=int, default=1, help="Runs of each side (alternating which goes first).")
    parser.add_argument("--no-priming", action="store_true",
                        help="Keep the lever decisions already cached (TRANSLATE_HOME) instead of measuring them again.")
    args = parser.parse_args()
    asked = {j.strip() for j in args.jobs.split(",") if j.strip()}
    if bad := asked - set(JOBS):
        parser.error(f"unknown jobs {sorted(bad)}; use {', '.join(JOBS)}")
    if args.repeats < 1:
        parser.error("--repeats must be 1 or more")
    jobs = [j for j in JOBS if j in asked]  # pix2pix before predict, which uses its run
    args.out = args.out.resolve()
    data = args.out / "data"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    command_line = "python -m benchmarks.reference_cost " + shlex.join(sys.argv[1:])
    print(command_line, flush=True)

    started = time.perf_counter()
    prepare(data, args.size, max(args.steps_pix2pix, args.steps_cyclegan, 4), args.photos)
    print(f"data ready in {data} ({time.perf_counter() - started:.1f} s)", flush=True)
    priming = ({"seconds": None, "note": "skipped (--no-priming): decisions already cached"} if args.no_priming
               else prime(args.out, args.size, env))
    primed = priming["note"] + (f", {priming['seconds']:.1f} s" if priming["seconds"] is not None else "")
    print(f"priming: {primed}", flush=True)

    for folder in ("runs", "reference", "predict"):  # an earlier run's outputs: translate refuses to write into them
        shutil.rmtree(args.out / folder, ignore_errors=True)
    pix2pix_run = None
    if "predict" in jobs and "pix2pix" not in jobs:  # predict needs a run's weights: train one, untimed
        pix2pix_run = args.out / "runs" / "pix2pix-for-predict"
        run([*PY, "translate", "train", "--model", "pix2pix", "--data", str(data / "pix2pix"), "--preset", "paper",
             "--size", str(args.size), "--steps", "1", "--out", str(pix2pix_run), "--quiet"], env)
    results = []
    for job in jobs:
        times: dict[str, list[float]] = {"reference": [], "translate": []}
        loops: dict[str, list[float]] = {"reference": [], "translate": []}
        chose = ""
        for r in range(args.repeats):
            tag = f"r{r}"
            cmds = commands(job, args, data, tag, pix2pix_run)
            for side in (("reference", "translate") if r % 2 == 0 else ("translate", "reference")):
                seconds, output = run(cmds[side], env)
                times[side].append(seconds)
                print(f"{job:<9} {side:<9} {seconds:8.2f} s", flush=True)
                if side == "translate":
                    run_dir = args.out / "runs" / f"{job}-{tag}" if job != "predict" else None
                    chose = translate_chose(run_dir, output)
                if job != "predict":
                    loops[side].append(loop_seconds(side, output, args.out / "runs" / f"{job}-{tag}"))
            if job == "pix2pix" and r == 0:
                pix2pix_run = args.out / "runs" / "pix2pix-r0"
        ref, ours = statistics.median(times["reference"]), statistics.median(times["translate"])
        step_ratio = statistics.median(loops["reference"]) / statistics.median(loops["translate"]) if loops["reference"] else None
        results.append({"job": job, "reference_s": ref, "translate_s": ours, "speedup": ref / ours,
                        "loop_s": {k: statistics.median(v) for k, v in loops.items() if v}, "step_speedup": step_ratio,
                        "translate_chose": chose, "runs": times,
                        "commands": {k: shlex.join(v) for k, v in cmds.items()}})

    import torch

    header = [f"# translate against the reference's own cost ({args.size} px, whole processes, wall seconds)", "",
              f"- CPU: {cpu()}", f"- torch {torch.__version__}, Python {platform.python_version()}",
              *[f"- {k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY") if k in os.environ],
              f"- command: `{command_line}`",
              (f"- steps: pix2pix {args.steps_pix2pix}, cyclegan {args.steps_cyclegan}; predict: {args.photos} photos; "
               f"median of {args.repeats} run(s) each"),
              f"- priming (`translate benchmark --levers`, not timed below): {primed}", ""]
    table = ["| job | reference s | translate s | speed-up, whole process | speed-up, training steps alone | "
             "what translate chose |", "|---|---:|---:|---:|---:|---|"]
    table += [f"| {r['job']} | {r['reference_s']:.2f} | {r['translate_s']:.2f} | {r['speedup']:.2f}x | "
              f"{'-' if r['step_speedup'] is None else format(r['step_speedup'], '.2f') + 'x'} | {r['translate_chose']} |"
              for r in results]
    report = "\n".join(header + table) + "\n"
    print("\n" + report)
    (args.out / "report.md").write_text(report, encoding="utf-8")
    (args.out / "report.json").write_text(json.dumps({
        "command": command_line, "cpu": cpu(), "torch": torch.__version__, "size": args.size,
        "repeats": args.repeats, "priming": priming, "results": results}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
