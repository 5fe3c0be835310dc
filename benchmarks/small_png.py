"""A benchmark grid made small enough to commit: 256 colours, the first column's (the label maps') kept exact.

    python -m benchmarks.small_png bench/ablations/grid_labels2photo.png benchmarks/results/ablations_grid.png

The grids `translate benchmark` draws are full-colour PNGs of nearest-enlarged 64 px images, which compress
poorly (430 KB for the ablations' 13 columns). A median-cut palette alone merges a label map's rare colours
(the sun, the water) into their neighbours, so the input column's colours go into the palette first, unchanged.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = 256


def small_png(image: Image.Image, exact_width: int) -> Image.Image:
    """`image` in a 256-colour palette holding every colour of its left `exact_width` pixels exactly."""
    rgb = np.asarray(image.convert("RGB"))
    exact = np.unique(rgb[:, :exact_width].reshape(-1, 3), axis=0)
    if len(exact) > COLOURS // 4:
        raise SystemExit(f"the left {exact_width} px hold {len(exact)} colours; keep it to label maps (a few dozen)")
    rest = Image.fromarray(rgb).quantize(colors=COLOURS - len(exact), method=Image.Quantize.MEDIANCUT,
                                         dither=Image.Dither.NONE)
    palette = np.concatenate([exact, np.asarray(rest.getpalette()[: 3 * (COLOURS - len(exact))]).reshape(-1, 3)])
    # each distinct colour to its nearest palette entry (PIL's own mapping rounds colours first: not exact)
    colours, index = np.unique(rgb.reshape(-1, 3), axis=0, return_inverse=True)
    nearest = ((colours[:, None, :].astype(np.int32) - palette[None].astype(np.int32)) ** 2).sum(-1).argmin(1)
    out = Image.fromarray(nearest[index.ravel()].reshape(rgb.shape[:2]).astype(np.uint8), "P")
    out.putpalette(palette.astype(np.uint8).ravel().tolist())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grid", type=Path, help="a grid PNG written by translate benchmark")
    parser.add_argument("out", type=Path, help="the small PNG to write")
    parser.add_argument("--exact-width", type=int, default=136, help="left pixels whose colours stay exact "
                        "(the input column with its gaps: 4 + 128 + 4)")
    args = parser.parse_args()
    small_png(Image.open(args.grid), args.exact_width).save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
