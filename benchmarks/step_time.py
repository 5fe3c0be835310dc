"""Time training steps of one model at one size and width: `python -m benchmarks.step_time cyclegan shinkai 16`.

Prints wall and CPU milliseconds per step (10 steps after 3 warm-up steps, one batch reused). Run it under
different OMP_NUM_THREADS / OMP_WAIT_POLICY settings to compare them (benchmarks/results/threads.md).
"""

from __future__ import annotations

import argparse
import time


import torch
from torch.utils.data import default_collate

from translate.config import resolve
from translate.data.datasets import build_dataset
from translate.trainers.base import build_trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("style")
    parser.add_argument("width", type=int)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--set", dest="assignments", action="append", default=[])
    args = parser.parse_args()
    config = resolve(
        args.model, args.style,
        overrides={"data": {"crop_size": args.size, "load_size": args.size * 286 // 256, "n_train": 16},
                   "train": {"batch_size": args.batch_size}},
        assignments=[f"generator.width={args.width}", f"discriminator.width={args.width}", *args.assignments],
    )
    trainer = build_trainer(config, torch.device("cpu"))
    trainer.set_progress(10**6, 0, 1)  # past CartoonGAN's initialisation
    data = build_dataset(config["data"], "train")
    batch = default_collate([data[i] for i in range(args.batch_size)])
    for _ in range(3):
        trainer.step(trainer.prepare(dict(batch)))
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        trainer.step(trainer.prepare(dict(batch)))
    wall, cpu = (time.perf_counter() - wall) / args.steps, (time.process_time() - cpu) / args.steps
    print(f"{args.model} {args.style} width {args.width} {args.size}px batch {args.batch_size}, "
          f"{torch.get_num_threads()} threads: {wall * 1000:.0f} ms/step wall, {cpu * 1000:.0f} ms/step CPU")


if __name__ == "__main__":
    main()
