"""Batches made ahead on a thread against batches made in turn: `python -m benchmarks.data_ahead DATA [--steps 15]`.

Trains pix2pix at the paper's settings (unet_256, 70 px PatchGAN, 286 -> 256 crops, fp32) on an AB folder (e.g.
the one `benchmarks.reference_cost` writes: DIR/data/pix2pix) for --steps steps each way, in one process, the two
alternating --rounds times, and prints the seconds per step the loop logged (step time, data making included).
translate makes batches ahead only where a core is spare beyond torch's threads (translate.data.prefetch); this
shows what either choice costs on this machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
from pathlib import Path

import torch

from translate.config import resolve
from translate.data import prefetch
from translate.trainers.loop import train


def seconds_per_step(data: str, steps: int, ahead: bool, out: Path) -> float:
    prefetch_spare = prefetch.spare_cores
    prefetch.spare_cores = (lambda: 1) if ahead else (lambda: 0)  # type: ignore[assignment]
    try:
        config = resolve("pix2pix", None, preset="paper", overrides={
            "data": {"root": data, "crop_size": 256, "load_size": 286},
            "train": {"steps": steps, "out": str(out), "quiet": True, "log_every": steps, "precision": "fp32",
                      "channels_last": "off"}})
        run = train(config)
    finally:
        prefetch.spare_cores = prefetch_spare  # type: ignore[assignment]
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return 1 / next(r["images_per_s"] for r in records if r["kind"] == "train")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a paired AB folder with train/ and test/")
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("translate").setLevel(logging.WARNING)
    print(f"{torch.get_num_threads()} torch threads, {prefetch.spare_cores()} spare core(s); s/step over "
          f"{args.steps} steps, {args.rounds} rounds alternating")
    times: dict[str, list[float]] = {"in turn": [], "ahead": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name in (("in turn", "ahead") if r % 2 == 0 else ("ahead", "in turn")):
                times[name].append(seconds_per_step(args.data, args.steps, name == "ahead", Path(tmp) / f"{name}-{r}"))
    for name, values in times.items():
        print(f"| batches made {name} | {statistics.median(values):.3f} s/step | {' '.join(f'{v:.3f}' for v in values)} |")


if __name__ == "__main__":
    main()
