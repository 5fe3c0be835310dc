"""How fast the scenes world renders: scenes per second with all four renderings, on one core.

    OMP_NUM_THREADS=1 python -m benchmarks.scenes_speed --n 1000 --size 256

Measured on one core of the development container (Python 3.11, numpy 2.4, Pillow 13; another job
was busy on the second core):
    1000 scenes at 256x256: 23.04 s, 43.4 scenes/s, 23.04 ms/scene (22.75 ms CPU)
Writing a task adds PNG encoding on top (`write_task`).
"""

from __future__ import annotations

import argparse
import json
import os
import time


from translate.data.scenes import render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="scenes to render")
    parser.add_argument("--size", type=int, default=256, help="square side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, whatever the BLAS does
    render(args.seed, args.size)  # warm up imports and caches
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(args.n):
        render(args.seed + i, args.size)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    ms = 1000 * seconds / args.n
    # CPU time too: on a shared machine the wall clock also counts time spent waiting for the core.
    print(f"{args.n} scenes at {args.size}x{args.size}: {seconds:.2f} s, {args.n / seconds:.1f} scenes/s, "
          f"{ms:.2f} ms/scene ({1000 * cpu / args.n:.2f} ms CPU)")
    print(json.dumps({"benchmark": "scenes_speed", "n": args.n, "size": args.size, "seconds": round(seconds, 3),
                      "scenes_per_s": round(args.n / seconds, 2), "ms_per_scene": round(ms, 3),
                      "cpu_ms_per_scene": round(1000 * cpu / args.n, 3)}))


if __name__ == "__main__":
    main()
