"""The README's picture of the shipped scenes-world models on real photos (scikit-image's sample images).

    python -m benchmarks.shipped_grid --out docs/shipped.jpg

Rows: real photos, resized to 256 px high. Columns: the photo, then scenes-shinkai (CycleGAN),
scenes-shinkai-cartoongan, scenes-coloring, and scenes-sketch2photo run on scenes-coloring's lines (a
photo redrawn from its own colouring page). A last row shows scenes-labels2photo on the label map of a scene
it never saw, at 256 px (4x its training size), beside the true photo of that scene.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent

PHOTOS = ("rocket", "coffee", "chelsea", "astronaut")
HEIGHT = 256
GAP = 4
HEADER = 18


def photo(name: str) -> Image.Image:
    from skimage import data

    image = Image.fromarray(getattr(data, name)()).convert("RGB")
    width = round(image.width * HEIGHT / image.height / 4) * 4
    return image.resize((width, HEIGHT), Image.Resampling.LANCZOS)


def column_widths(rows: list[list[Image.Image]], n: int) -> list[int]:
    """The widest image of each of the first `n` columns (rows may be shorter)."""
    return [max(row[i].width for row in rows if i < len(row)) for i in range(n)]


def grid(rows: list[list[Image.Image]], titles: list[str], height: int = HEIGHT) -> Image.Image:
    """Rows of images `height` px high under a header of column titles."""
    widths = column_widths(rows, len(titles))
    sheet = Image.new("RGB", (sum(widths) + GAP * (len(widths) - 1), HEADER + len(rows) * (height + GAP)), "white")
    draw = ImageDraw.Draw(sheet)
    x = 0
    for title, width in zip(titles, widths):
        draw.text((x + 2, 3), title, fill="black")
        x += width + GAP
    for r, row in enumerate(rows):
        x = 0
        for image, width in zip(row, widths):
            sheet.paste(image.convert("RGB"), (x, HEADER + r * (height + GAP)))
            x += width + GAP
    return sheet


def main() -> None:
    import translate
    from translate.data.scenes import render

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "docs" / "shipped.jpg"))
    args = parser.parse_args()
    models = {name: translate.load(name) for name in ("scenes-shinkai", "scenes-shinkai-cartoongan",
                                                       "scenes-coloring", "scenes-sketch2photo",
                                                       "scenes-labels2photo")}
    rows = []
    for name in PHOTOS:
        image = photo(name)
        lines = models["scenes-coloring"](image)
        rows.append([image, models["scenes-shinkai"](image), models["scenes-shinkai-cartoongan"](image), lines,
                     models["scenes-sketch2photo"](lines)])
    scene = render(20_261_123, HEIGHT)
    labels = scene.image("labels")
    rows.append([labels, models["scenes-labels2photo"](labels), scene.image("photo")])
    titles = ["input", "scenes-shinkai", "scenes-shinkai-cartoongan", "scenes-coloring",
              "scenes-sketch2photo (of the lines)"]
    sheet = grid(rows, titles)
    draw = ImageDraw.Draw(sheet)
    y, x = HEADER + len(PHOTOS) * (HEIGHT + GAP), 0
    for label, width in zip(["label map (unseen scene)", "scenes-labels2photo", "true photo"],
                            column_widths(rows, len(titles))):
        draw.text((x + 2, y + 2), label, fill="white")  # the last row's own titles, on the images
        x += width + GAP
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=90, optimize=True)  # .jpg: photos; .png works too
    print(f"wrote {args.out} ({np.prod(sheet.size) / 1e6:.1f} Mpx)")


if __name__ == "__main__":
    main()
