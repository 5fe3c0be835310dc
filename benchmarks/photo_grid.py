"""The README's picture of the photo models on real photos: scikit-image's sample photos, never trained on.

    python -m benchmarks.photo_grid --out docs/photos.jpg

Each model runs on each photo at the photo's own size (astronaut 512 x 512, chelsea 451 x 300, coffee 600 x 400,
rocket 427 x 640); the sheet shows every row scaled to one height. Columns: the photo, photo-shinkai (CycleGAN,
trained on real landscapes with the hue prior), and scenes-shinkai (trained on the world's photos only), which
turns the cat green.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.shipped_grid import grid

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")
MODELS = ("photo-shinkai", "scenes-shinkai")
HEIGHT = 300


def main() -> None:
    import translate
    from skimage import data

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "docs" / "photos.jpg"))
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="catalogue names or run folders")
    args = parser.parse_args()
    models = {name: translate.load(name) for name in args.models}
    rows = []
    for name in PHOTOS:
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        cells = [image] + [model(image) for model in models.values()]  # each at the photo's own size
        width = round(image.width * HEIGHT / image.height)
        rows.append([cell.resize((width, HEIGHT), Image.Resampling.LANCZOS) for cell in cells])
    sheet = grid(rows, ["input", *(Path(name).name for name in args.models)], HEIGHT)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=80, optimize=True)
    print(f"wrote {args.out} ({np.prod(sheet.size) / 1e6:.1f} Mpx)")


if __name__ == "__main__":
    main()
