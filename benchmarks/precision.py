"""Measure what train.precision / train.channels_last "auto" may pick on this machine.

For each model at the embedded default size, times training steps in fp32, bf16 autocast, and with
channels-last, and the held-out L1 after a short identical run in each mode (quality must not drop).
Appends a markdown table to benchmarks/results/precision.md.

    python -m benchmarks.precision                      # this machine's CPU (or GPU with --device cuda)
    python -m benchmarks.precision --device cuda --size 256 --width 64
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import datetime, timezone
from pathlib import Path


import torch
from torch.utils.data import default_collate

from translate.config import resolve
from translate.data.datasets import build_dataset
from translate.evaluation.metrics import heldout_l1
from translate.device import choose_device, describe, device_kind
from translate.trainers.base import build_trainer
from translate.trainers.rng import seed_everything

RESULTS = Path(__file__).resolve().parent / "results" / "precision.md"
MODES = {"fp32": (None, False), "fp32 channels-last": (None, True), "bf16": (torch.bfloat16, False),
         "bf16 channels-last": (torch.bfloat16, True)}


def measure(model: str, style: str, size: int, width: int, device: torch.device, steps: int, quality_steps: int):
    rows = []
    for mode, (dtype, channels_last) in MODES.items():
        seed_everything(0)
        config = resolve(model, style, overrides={"data": {"crop_size": size, "load_size": size * 286 // 256,
                                                           "n_train": 64, "n_test": 16}},
                         assignments=[f"generator.width={width}", f"discriminator.width={width}"])
        trainer = build_trainer(config, device)
        trainer.use_precision(dtype)
        if channels_last:
            trainer.use_channels_last()
        trainer.set_progress(10**6, 0, 1)
        data = build_dataset(config["data"], "train")
        fmt = torch.channels_last if channels_last else torch.preserve_format
        batches = [default_collate([data[i]]) for i in range(quality_steps)]

        def run(batch):
            batch = trainer.prepare(dict(batch))
            batch = {k: v.to(device, memory_format=fmt) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            trainer.step(batch)

        for batch in batches[:3]:  # warm-up
            run(batch)
        if device.type == "cuda":
            torch.cuda.synchronize()
        tic = time.perf_counter()
        for i in range(steps):
            run(batches[i % len(batches)])
        if device.type == "cuda":
            torch.cuda.synchronize()
        ms = (time.perf_counter() - tic) / steps * 1000
        for batch in batches[3:]:
            run(batch)
        quality = heldout_l1(trainer.translate, build_dataset(config["data"], "test"), device, channels_last=channels_last)
        rows.append((model, mode, ms, quality))
        print(f"{model:10s} {mode:20s} {ms:8.1f} ms/step  held-out L1 {quality:.4f}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per mode")
    parser.add_argument("--quality-steps", type=int, default=40, help="steps before the held-out L1 of each mode")
    parser.add_argument("--models", default="pix2pix:coloring,cyclegan:shinkai,cartoongan:shinkai")
    args = parser.parse_args()
    device = choose_device(args.device)
    rows = []
    for pair in args.models.split(","):
        model, style = pair.split(":")
        rows += measure(model, style, args.size, args.width, device, args.steps, args.quality_steps)
    lines = [
        f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {describe(device, None, False)}, kind {device_kind(device)}",
        f"`python -m benchmarks.precision --device {args.device} --size {args.size} --width {args.width} "
        f"--steps {args.steps} --quality-steps {args.quality_steps}` on {platform.node() or 'this machine'}; "
        f"torch {torch.__version__}\n",
        "| model | mode | ms/step | vs fp32 | held-out L1 after the same steps |",
        "|---|---|---:|---:|---:|",
    ]
    base = {m: ms for m, mode, ms, _ in rows if mode == "fp32"}
    for model, mode, ms, quality in rows:
        lines.append(f"| {model} | {mode} | {ms:.1f} | {base[model] / ms:.2f}x | {quality:.4f} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
