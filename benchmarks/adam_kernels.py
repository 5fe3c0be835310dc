"""Adam's three kernels on pix2pix's generator (unet_256, 54M parameters): `python -m benchmarks.adam_kernels`.

torch runs Adam on the CPU one parameter at a time unless told otherwise (its multi-tensor `foreach` default is
for CUDA); `fused=True` has a CPU kernel since torch 2.4. Prints milliseconds per `optimizer.step()` (median
of --repeats after one warm-up) for each, in one process, and checks that they make the same update.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from translate.registry import create


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="the U-Net's depth follows it (256: unet_256)")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    depth = args.size.bit_length() - 1
    torch.manual_seed(0)
    net = create("generator", "unet", in_channels=3, out_channels=3, width=args.width, depth=depth)
    params = list(net.parameters())
    grads = [torch.randn_like(p) * 1e-3 for p in params]
    start = [p.detach().clone() for p in params]
    print(f"unet depth {depth} width {args.width}: {sum(p.numel() for p in params) / 1e6:.1f}M parameters, "
          f"{torch.get_num_threads()} threads, {torch.backends.cpu.get_cpu_capability()}, torch {torch.__version__}")
    print("| Adam kernel | ms/step | vs per-parameter |\n|---|---:|---:|")
    results, first = {}, None
    for name, kernel in (("per-parameter (torch's CPU default)", {"foreach": False}),
                         ("foreach", {"foreach": True}), ("fused", {"fused": True})):
        with torch.no_grad():
            for p, s in zip(params, start):
                p.copy_(s)
        for p, g in zip(params, grads):
            p.grad = g.clone()
        opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999), **kernel)
        opt.step()
        times = []
        for _ in range(args.repeats):
            tic = time.perf_counter()
            opt.step()
            times.append(time.perf_counter() - tic)
        ms = statistics.median(times) * 1000
        first = first or ms
        results[name] = [p.detach().clone() for p in params]
        print(f"| {name} | {ms:.1f} | {first / ms:.2f}x |")
    reference = results["per-parameter (torch's CPU default)"]
    worst = max((a - b).abs().max().item() for r in results.values() for a, b in zip(r, reference))
    print(f"\nlargest difference of any weight from the per-parameter update after {args.repeats + 1} steps: {worst:.2e}")


if __name__ == "__main__":
    main()
