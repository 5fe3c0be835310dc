"""Real landscape and nature photographs from Debian's wallpaper packages, for `data.root_a` (mixed domains).

    python -m benchmarks.gather_photos                 # into data/photos/ (git-ignored)
    python -m benchmarks.gather_photos --landscapes    # only the wide outdoor views, into data/landscapes/
    translate train --model cyclegan --style shinkai --set data.root_a=data/landscapes

Each package is fetched with `apt-get download` into a temporary folder and unpacked with `dpkg -x` (no root,
nothing installed). Only the files in `PHOTOGRAPHS` are kept: each was looked at, and illustrations, abstract
art, renders and photographs of indoor objects were left out (`LEFT_OUT` says what and why). A kept file must
also pass simple checks (a raster image, short side of at least `MIN_SHORT_SIDE` px). Each is written as a
JPEG with a long side of at most 1024 px, beside `credits.json` and `CREDITS.md`: for every file the package,
its version, the original path, and the author and licence the package states (KDE wallpapers: their
metadata.json or metadata.desktop; others: the Debian copyright file, usr/share/doc/<package>/copyright).

scikit-image's sample photos are not gathered here: they are the README's test grid, never training data.
The photos are never committed; run this again to rebuild the folder.
"""

from __future__ import annotations

import argparse
import configparser
import fnmatch
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
MAX_SIDE = 1024
MIN_SHORT_SIDE = 480  # smaller files are icons, thumbnails or previews, not the photograph itself
SKIMAGE_SAMPLES = frozenset({"astronaut", "camera", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
                             "retina", "cat", "moon", "page", "text", "horse", "brick", "grass", "gravel"})

# Package -> the files kept, as a suffix of their installed path (KDE: the wallpaper's folder name, whose largest
# landscape image is taken). Chosen by looking at every image of each package (the Debian 12 versions).
PHOTOGRAPHS: dict[str, tuple[str, ...]] = {
    "plasma-workspace-wallpapers": (
        "BytheWater", "ColdRipple", "DarkestHour", "EveningGlow", "FallenLeaf", "Kite", "OneStandsOut", "Path",
        "summer_1am",
    ),
    "mate-backgrounds": tuple(f"mate/nature/{name}.jpg" for name in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "YellowFlower",
    )),
    "lomiri-wallpapers-16.04": tuple(f"backgrounds/{name}.jpg" for name in (
        "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "aitzgorri_by_Aitzol_Berasategi",
        "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt",
        "sunset_by_Aitzol_Berasategi",
    )),
    "lomiri-wallpapers-20.04": ("backgrounds/Kleiber_by_Lukas_Baubkus.jpg",),
    "gnome-backgrounds": (),  # version 43: every image is a render or abstract pattern
    "ukui-wallpapers": (),  # every image is an illustration or abstract render
}

# The kept photographs that show a wide outdoor view (sky, hills, water, a path), the world's own subject, by the
# name they are kept under: the training data of the shipped photo models. The rest are close-ups of flowers,
# leaves, insects, drops and bark, whose subject the world never draws (looked at on the contact sheet).
LANDSCAPES = frozenset({
    "lomiri-wallpapers-16.04--Bridge_by_Sander_Klootwijk", "lomiri-wallpapers-16.04--aitzgorri_by_Aitzol_Berasategi",
    "lomiri-wallpapers-16.04--life_by_Aitzol_Berasategi", "lomiri-wallpapers-16.04--picosdeeuropa_by_Aitzol_Berasategi",
    "lomiri-wallpapers-16.04--sunset_by_Aitzol_Berasategi", "mate-backgrounds--Dune", "mate-backgrounds--Storm",
    "plasma-workspace-wallpapers--BytheWater", "plasma-workspace-wallpapers--ColdRipple",
    "plasma-workspace-wallpapers--DarkestHour", "plasma-workspace-wallpapers--EveningGlow",
    "plasma-workspace-wallpapers--Kite", "plasma-workspace-wallpapers--Path", "plasma-workspace-wallpapers--summer_1am",
})

# What was looked at and left out, and why: the record of the choice above.
LEFT_OUT = {
    "plasma-workspace-wallpapers": "Altai, Autumn, Canopee, Cascade, Cluster, Elarun, Flow, FlyingKonqui, Honeywave, "
    "IceCold, Kay, Kokkini, MilkyWay, Opal, PastelHills, Patak, SafeLanding, Shell, Volna: illustrations or abstract "
    "renders; ColorfulCups, Grey: photographs, but of cups and a building's facade, not landscape or nature",
    "mate-backgrounds": "abstract/*, desktop/*: abstract art and logos; nature/Wood.jpg: planks, not landscape",
    "lomiri-wallpapers-16.04": "Picture_0B, Picture_1A, Wine, free, friends, greentock: indoor objects, a clock, "
    "dogs at a window; analogpattern, umang: abstract",
    "lomiri-wallpapers-20.04": "Fossa, Infinite-Sea, Painting-Colors: illustrations or abstract",
    "gnome-backgrounds": "all (adwaita, blobs, drool, dune, field, grid, licorice, oceans, pixels, symbolic, "
    "truchet, vnc, wood): renders and vector art",
    "ukui-wallpapers": "all: illustrations and abstract renders",
}


@dataclass
class Credit:
    """Where one kept photograph came from and on what terms."""

    file: str
    package: str
    version: str
    original_path: str
    author: str
    license: str
    credit_source: str  # the package file the author and licence were read from


def download(package: str, work: Path) -> tuple[Path, str]:
    """Fetch `package`'s .deb into `work` and unpack it; returns the unpacked tree and the package version."""
    subprocess.run(["apt-get", "download", package], cwd=work, check=True, capture_output=True)
    deb = next(work.glob(f"{package}_*.deb"))
    version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], check=True, capture_output=True,
                             text=True).stdout.strip()
    tree = work / package
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    return tree, version


def kde_image(folder: Path) -> Path | None:
    """The largest landscape image of a KDE wallpaper folder (contents/images/<W>x<H>.<ext>)."""
    def size(path: Path) -> tuple[bool, int]:
        try:
            width, height = (int(v) for v in path.stem.split("x"))
        except ValueError:
            return False, 0
        return width >= height, width * height

    images = sorted((folder / "contents" / "images").glob("*.*"))
    return max(images, key=size) if images else None


def kde_credit(folder: Path) -> tuple[str, str, str]:
    """(author, licence, the file they came from) of a KDE wallpaper: metadata.json, or the older metadata.desktop."""
    meta = folder / "metadata.json"
    if meta.is_file():
        plugin = json.loads(meta.read_text())["KPlugin"]
        authors = ", ".join(f"{a.get('Name', '')} <{a['Email']}>" if a.get("Email") else a.get("Name", "")
                            for a in plugin.get("Authors", []))
        return authors, plugin.get("License", ""), f"usr/share/wallpapers/{folder.name}/{meta.name}"
    desktop = folder / "metadata.desktop"
    if desktop.is_file():
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read(desktop)
        entry = parser["Desktop Entry"]
        author = entry.get("X-KDE-PluginInfo-Author", "")
        email = entry.get("X-KDE-PluginInfo-Email", "")
        return (f"{author} <{email}>" if email else author), entry.get("X-KDE-PluginInfo-License", ""), f"usr/share/wallpapers/{folder.name}/{desktop.name}"
    return "", "", ""


def copyright_paragraphs(text: str) -> list[dict[str, str]]:
    """The paragraphs of a machine-readable Debian copyright file (DEP-5), fields joined onto one line each."""
    paragraphs, fields, key = [], {}, ""
    for line in text.splitlines() + [""]:
        if not line.strip():
            if fields:
                paragraphs.append(fields)
            fields, key = {}, ""
        elif line[0] in " \t" and key:
            fields[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return paragraphs


def copyright_credit(tree: Path, package: str, installed: str) -> tuple[str, str, str]:
    """(author, licence, file) for an installed path from the package's copyright file; the last match wins.

    The file's patterns are the upstream tree's paths ("16.04/x.jpg"), which are installed elsewhere
    ("usr/share/backgrounds/x.jpg"): a pattern matches when the installed path ends with it, or by file name.
    """
    path = tree / "usr/share/doc" / package / "copyright"
    if not path.is_file():
        return "", "", ""
    found = ("", "", "")
    for fields in copyright_paragraphs(path.read_text(errors="replace")):
        for pattern in fields.get("Files", "").split():
            name = Path(pattern).name  # "debian/*" must not match every file by its name
            if (pattern == "*" or fnmatch.fnmatch(installed, f"*/{pattern}")
                    or ("*" not in name and "?" not in name and Path(installed).name == name)):
                found = (fields.get("Copyright", ""), fields.get("License", "").split(" ")[0],
                         f"usr/share/doc/{package}/copyright")
    return found


def candidates(tree: Path, package: str) -> list[tuple[Path, tuple[str, str, str]]]:
    """The kept files of an unpacked package with their (author, licence, source); missing ones are reported."""
    found = []
    for name in PHOTOGRAPHS[package]:
        if package == "plasma-workspace-wallpapers":
            folder = tree / "usr/share/wallpapers" / name
            image = kde_image(folder)
            credit = kde_credit(folder)
        else:
            image = next((p for p in sorted(tree.rglob("*")) if p.as_posix().endswith("/" + name)), None)
            credit = copyright_credit(tree, package, image.relative_to(tree).as_posix()) if image else ("", "", "")
        if image is None:
            print(f"  {package}: {name} is not in this version of the package; skipped", file=sys.stderr)
            continue
        found.append((image, credit))
    return found


def keep(source: Path, out: Path) -> bool:
    """Write `source` as a JPEG of long side <= MAX_SIDE at `out`, when it passes the simple checks."""
    if source.stem.lower() in SKIMAGE_SAMPLES:
        return False  # the README's test photos stay out of training data
    with Image.open(source) as image:
        if min(image.size) < MIN_SHORT_SIDE:
            print(f"  {source.name}: {image.width} x {image.height}, too small for a photograph; skipped",
                  file=sys.stderr)
            return False
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))
        photo = ImageOps.exif_transpose(image).convert("RGB")
    photo.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    photo.save(out, "JPEG", quality=92)
    return True


def credits_markdown(credits: list[Credit]) -> str:
    """CREDITS.md: one row per photograph, then what each package's choice left out."""
    lines = ["# Credits", "", "Photographs gathered by `python -m benchmarks.gather_photos` from Debian packages, "
             "resized to a long side of at most 1024 px. Author and licence as the package states them.", "",
             "| file | package (version) | original path | author | licence |", "|---|---|---|---|---|"]
    lines += [f"| {c.file} | {c.package} ({c.version}) | {c.original_path} | {c.author} | {c.license} |"
              for c in credits]
    lines += ["", "Looked at and left out:", ""] + [f"- {package}: {why}" for package, why in LEFT_OUT.items()]
    return "\n".join(lines) + "\n"


def gather(out: Path, packages: list[str], only: frozenset[str] | None = None) -> list[Credit]:
    """Fetch `packages`, keep their photographs (those named in `only`, if given) in `out`, and write credits.json
    and CREDITS.md there."""
    out.mkdir(parents=True, exist_ok=True)
    credits: list[Credit] = []
    with tempfile.TemporaryDirectory(prefix="gather-photos-") as tmp:
        for package in packages:
            print(f"{package}: downloading", file=sys.stderr)
            tree, version = download(package, Path(tmp))
            for image, (author, licence, source) in candidates(tree, package):
                name = f"{package}--{image.parent.parent.parent.name if 'contents' in image.parts else image.stem}.jpg"
                if only is not None and Path(name).stem not in only:
                    continue
                if keep(image, out / name):
                    credits.append(Credit(name, package, version, "/" + image.relative_to(tree).as_posix(),
                                          author or "not stated", licence or "not stated", source or "not stated"))
    (out / "credits.json").write_text(json.dumps([asdict(c) for c in credits], indent=1, ensure_ascii=False) + "\n")
    (out / "CREDITS.md").write_text(credits_markdown(credits))
    return credits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="output folder (git-ignored; default data/photos, or "
                        "data/landscapes with --landscapes)")
    parser.add_argument("--landscapes", action="store_true", help="keep only the wide outdoor views (LANDSCAPES)")
    parser.add_argument("--packages", nargs="*", default=list(PHOTOGRAPHS), choices=list(PHOTOGRAPHS),
                        help="packages to gather from (default: all)")
    args = parser.parse_args()
    args.out = args.out or ROOT / "data" / ("landscapes" if args.landscapes else "photos")
    credits = gather(args.out, args.packages, LANDSCAPES if args.landscapes else None)
    by_package: dict[str, int] = {}
    licences: dict[str, int] = {}
    for c in credits:
        by_package[c.package] = by_package.get(c.package, 0) + 1
        licences[c.license] = licences.get(c.license, 0) + 1
    print(f"kept {len(credits)} photographs in {args.out}: "
          + ", ".join(f"{n} from {p}" for p, n in by_package.items())
          + "; licences: " + ", ".join(f"{lic} ({n})" for lic, n in sorted(licences.items())))


if __name__ == "__main__":
    main()
