"""Train the small models that ship with translate, and write their catalogue cards.

For each model it runs the style's embedded default (`translate train --model M --style S`, the command a
person types, exactly as benchmarks/train_defaults.py does; CartoonGAN on shinkai with `--epochs 40`, CycleGAN
with `--epochs 3` of 3200 scenes, 9600 fresh scenes: three to four times the ten-minute budget, by which both draw clean
outlines), keeps the generator of the last checkpoint as
fp16 safetensors in registry/weights/NAME.safetensors, measures the shipped weights with `translate eval NAME`
on the style's held-out test split, and writes registry/NAME.toml with those metrics and the commands.

The photo model (`photo-shinkai`) takes its A side from the real landscape
photographs of `python -m benchmarks.gather_photos --landscapes` (data/landscapes/, run it first), B from the
world; its card carries each photograph's author and licence ([[credits]]) and, beside the world's metrics,
the photo proxies of `translate eval NAME --photos` on scikit-image's sample photos (never trained on).

    python -m benchmarks.ship_scenes_models                          # train and ship all six
    python -m benchmarks.ship_scenes_models --only scenes-coloring
    python -m benchmarks.ship_scenes_models --run scenes-coloring=benchmarks/runs/pix2pix-coloring-...  # ship a run

Training uses one thread per run (OMP_NUM_THREADS=1 unless set; see benchmarks/train_defaults.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w
import torch
from PIL import Image
from skimage import data as skimage_data

from benchmarks.train_defaults import run_one
from translate.config import generator_table
from translate.data.options import held_out_size
from translate.evaluation.judges import VERSION as JUDGE_VERSION
from translate.files import load_weights, save_weights, unprefixed
from translate.zoo.download import sha256_file

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = ROOT / "registry"


@dataclass(frozen=True)
class Shipped:
    name: str
    model: str
    style: str
    network: str
    task: str
    summary: str
    headline: str  # the metric `translate models` shows
    extra: tuple[str, ...] = ()  # beyond the style's ten-minute default
    photos: str = ""  # a folder of gathered photographs (data/...) for the A side, instead of the world's photos

    @property
    def options(self) -> list[str]:
        """What follows `translate train --model M --style S` (run_one adds --out and --quiet; it runs in ROOT)."""
        photos = ("--set", f"data.root_a={self.photos}") if self.photos else ()
        return [*self.extra, *photos]

    @property
    def train_args(self) -> list[str]:
        """What follows `translate train`."""
        return ["--model", self.model, "--style", self.style, *self.options]


MODELS = [
    Shipped("scenes-shinkai", "cyclegan", "shinkai", "G_A", "photo -> Shinkai-like anime frame",
            "CycleGAN trained unpaired on the embedded scenes world's photos and Shinkai-like frames", "style",
            extra=("--epochs", "3", "--set", "data.n_train=3200")),
    Shipped("scenes-shinkai-cartoongan", "cartoongan", "shinkai", "G", "photo -> Shinkai-like anime frame",
            "CartoonGAN trained unpaired on the embedded scenes world's photos and Shinkai-like frames", "style",
            extra=("--epochs", "40")),
    Shipped("photo-shinkai", "cyclegan", "shinkai", "G_A", "photo -> Shinkai-like anime frame",
            "CycleGAN trained unpaired on real landscape photographs and the embedded scenes world's Shinkai-like "
            "frames, keeping the photos' hues", "photos_colourfulness",
            extra=("--set", "trainer.hue_weight=20", "--set", "data.photo_hue=0.5"), photos="data/landscapes"),
    Shipped("scenes-coloring", "pix2pix", "coloring", "G", "photo -> colouring page (black lines on white)",
            "pix2pix trained on the embedded scenes world's photos and their line drawings", "line_f"),
    Shipped("scenes-labels2photo", "pix2pix", "labels2photo", "G", "label map -> photo",
            "pix2pix trained on the embedded scenes world's label maps (its 9-class palette) and photos",
            "fcn_pixel_acc"),
    Shipped("scenes-sketch2photo", "pix2pix", "sketch2photo", "G", "line sketch -> photo (colourisation)",
            "pix2pix trained on the embedded scenes world's line drawings and photos", "l1"),
]

LICENCE = ("BSD-3-Clause, as translate: trained here on procedurally generated scenes (translate/data/scenes.py), "
           "no outside data")
PHOTO_LICENCE = ("BSD-3-Clause for what translate made; trained on the photographs in [[credits]] under their own "
                 "licences ({licences}): credit their authors as listed when you share its outputs or weights")
SAMPLE_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")  # scikit-image's: the README's test photos
CITATION = {
    "cyclegan": "Zhu, Park, Isola, Efros. Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial "
                "Networks. ICCV 2017. https://arxiv.org/abs/1703.10593",
    "cartoongan": "Chen, Lai, Liu. CartoonGAN: Generative Adversarial Networks for Photo Cartoonization. CVPR 2018. "
                  "https://openaccess.thecvf.com/content_cvpr_2018/html/Chen_CartoonGAN_Generative_Adversarial_CVPR_2018_paper.html",
    "pix2pix": "Isola, Zhu, Zhou, Efros. Image-to-Image Translation with Conditional Adversarial Networks. CVPR 2017. "
               "https://arxiv.org/abs/1611.07004",
}


def train(item: Shipped, out: Path) -> None:
    """The run, as benchmarks/train_defaults.py runs a style's default (one thread unless OMP_NUM_THREADS)."""
    if item.photos and not (ROOT / item.photos / "credits.json").is_file():
        raise SystemExit(f"{item.name} trains on {item.photos}/, which is missing: run "
                         "python -m benchmarks.gather_photos --landscapes first")
    row = run_one(item.model, item.style, out, item.options)
    if row["rc"]:
        raise SystemExit(f"{row['command']} failed: {row['error']}")
    print(f"{row['command']}: held-out L1 {row['untrained']:.4f} -> {row['trained']:.4f} in "
          f"{row['wall_s'] / 60:.1f} min", flush=True)


def write_weights(item: Shipped, run: Path) -> Path:
    """The run's generator as fp16 safetensors in registry/weights/; returns the file."""
    state = unprefixed(load_weights(run / "checkpoints" / "latest.safetensors"), item.network)
    if not state:
        raise SystemExit(f"{run}: no {item.network} network in its latest checkpoint")
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    path = REGISTRY / "weights" / f"{item.name}.safetensors"
    path.parent.mkdir(exist_ok=True)
    # no metadata: safetensors writes it in hash-map order, which would change the file's sha256 from run to run
    save_weights(path, {k: v.contiguous() for k, v in sorted(half.items())})
    assert all(torch.isfinite(v.float()).all() for v in half.values()), f"{path}: fp16 overflowed"
    return path


def measure(item: Shipped) -> tuple[dict[str, float], str]:
    """`translate eval` of the shipped card (a fresh cache, so the card's own weights are read); for a photo model
    also its photo proxies on scikit-image's sample photos."""
    command = ["translate", "eval", item.name, "--style", item.style, "--json", "--quiet"]
    report = _eval(command)
    metrics = {"l1": report["l1"], "psnr": report["psnr"], "ssim": report["ssim"]}
    if "lines" in report:
        metrics["line_f"] = report["lines"]["f_score"]
    if "fcn" in report:
        metrics["fcn_pixel_acc"] = report["fcn"]["generated"]["pixel_acc"]
        metrics["fcn_class_iou"] = report["fcn"]["generated"]["class_iou"]
    if "style_score" in report:
        metrics["style"] = report["style_score"]["score"]
    if (report.get("artefacts") or {}).get("ratio") is not None:
        metrics["artefacts"] = report["artefacts"]["ratio"]
    shown = " ".join(command[:-2])
    if item.photos:
        with tempfile.TemporaryDirectory() as folder:
            for name in SAMPLE_PHOTOS:
                Image.fromarray(getattr(skimage_data, name)()).convert("RGB").save(Path(folder) / f"{name}.png")
            photos = _eval(["translate", "eval", item.name, "--photos", folder, "--json", "--quiet"])["proxies"]
        metrics.update({f"photos_{name}": values["output"] for name, values in photos.items()})
        shown += f"; translate eval {item.name} --photos DIR (scikit-image's {', '.join(SAMPLE_PHOTOS)})"
    return {k: round(float(v), 4) for k, v in metrics.items()}, shown


def _eval(command: list[str]) -> dict:
    """A `translate eval ... --json` command's report, run in a fresh cache so the card's own weights are read."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "TRANSLATE_HOME": home, "PYTHONPATH": str(ROOT)}
        env.setdefault("OMP_NUM_THREADS", "1")
        # the judges (segmenter, style classifier) are cached models: share the usual cache's copies
        judges = Path(os.environ.get("TRANSLATE_HOME", Path.home() / ".cache" / "translate")) / "judges"
        if judges.is_dir():
            os.symlink(judges, Path(home) / "judges")
        result = subprocess.run([sys.executable, "-m", "translate", *command[1:]], cwd=ROOT, env=env,
                                capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def write_card(item: Shipped, run: Path, weights: Path, metrics: dict[str, float], metrics_command: str) -> Path:
    config = tomllib.loads((run / "config.toml").read_text())
    data = config["data"]
    generator = generator_table(config)  # as training built it (a U-Net's depth read off the crop size)
    held_out = held_out_size(data)
    trained_at = (f"{data['crop_size']} px" if held_out == data["crop_size"] else
                  f"{data['crop_size']} px crops of {data['load_size']} px scenes, scored whole at {held_out} px")
    card = {
        "name": item.name,
        "task": item.task,
        "summary": f"{item.summary}, {held_out} px, generator width {config['generator']['width']}; "
                   "small and shipped with the package: runs offline at once",
        "trained_on": f"the scenes world (translate/data/scenes.py, seed {data['seed']}), task {data['task']}: "
                      f"{data['n_train']} training scenes, {trained_at}; scored on 100 scenes of its test "
                      "split, never trained on (translate eval's default --limit)",
        "licence": LICENCE,
        "credits": [],
        "citation": CITATION[item.model],
        "recipe": f"python -m benchmarks.ship_scenes_models --only {item.name}  "
                  f"(= translate train {' '.join(item.train_args)}, then its generator in fp16)",
        "metrics": metrics,
        **({"metrics_command": metrics_command} if metrics else {"metrics_note": "being measured"}),
        **({"headline": item.headline} if metrics else {}),
        "style": item.style,
        "trainer": {"name": config["trainer"]["name"]},
        "generator": generator,
        "source": {"format": "translate", "file": f"weights/{weights.name}", "sha256": sha256_file(weights),
                   "network": item.network},
        "input": {"channel_order": data["channel_order"], "value_range": [-1.0, 1.0], "direction": "AtoB",
                  "in_channels": data["in_channels"], "out_channels": data["out_channels"],
                  "size": held_out, "test_mode": "eval"},  # how its metrics were made: eval's default
    }
    if item.photos:
        credits = json.loads((ROOT / item.photos / "credits.json").read_text())
        card["trained_on"] = (
            f"A: {len(credits)} real landscape photographs ({item.photos}/, gathered from Debian's wallpaper packages "
            f"by python -m benchmarks.gather_photos --landscapes; [[credits]]), random {data['crop_size']} px crops "
            f"of the photos with their short side at {data['load_size']} px; B: " + card["trained_on"]
            .replace("training scenes", "training scenes' renderings")
            .replace("; scored on", "; world metrics on") + "; photos_* metrics: the outputs' photo proxies on "
            f"scikit-image's {', '.join(SAMPLE_PHOTOS)}, never trained on")
        card["licence"] = PHOTO_LICENCE.format(licences=", ".join(sorted({c["license"] for c in credits})))
        card["credits"] = [{"file": c["file"], "author": c["author"], "licence": c["license"],
                            "origin": f"Debian package {c['package']} {c['version']}, {c['original_path']}"}
                           for c in credits]
    if not card["credits"]:
        del card["credits"]
    path = REGISTRY / f"{item.name}.toml"
    header = ("# Shipped with translate: trained on real photographs and the embedded scenes world by "
              "benchmarks/ship_scenes_models.py.\n" if item.photos else
              "# Shipped with translate: trained on the embedded scenes world by benchmarks/ship_scenes_models.py.\n")
    path.write_text(header + _annotated(tomli_w.dumps(card)))
    return path


def _annotated(text: str) -> str:
    """The card's TOML with what a reader needs to weigh its numbers (tomli_w writes no comments)."""
    lines = []
    for line in text.splitlines():
        key, _, value = line.partition(" = ")
        if key == "style" and value[:1].isdigit():  # the metric, not the card's style name
            line += f"  # style judge version {JUDGE_VERSION}: mean probability of a clean Shinkai rendering"
        elif line == 'test_mode = "eval"':
            line += "  # its metrics: batch norm's running statistics, no dropout (translate eval's default)"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="ship only this model (repeatable)")
    parser.add_argument("--run", action="append", default=[], metavar="NAME=RUN_DIR",
                        help="ship this finished run instead of training one")
    parser.add_argument("--runs", default=str(ROOT / "benchmarks" / "runs"), help="where new runs go")
    args = parser.parse_args()
    given = dict(pair.split("=", 1) for pair in args.run)
    chosen = [m for m in MODELS if (not args.only and not given) or m.name in args.only or m.name in given]
    unknown = (set(args.only) | set(given)) - {m.name for m in MODELS}
    if unknown:
        raise SystemExit(f"unknown model(s) {sorted(unknown)}; choose from {[m.name for m in MODELS]}")
    for item in chosen:
        run = Path(given[item.name]) if item.name in given else Path(args.runs) / f"ship-{item.name}"
        if item.name not in given:
            train(item, run)
        weights = write_weights(item, run)
        # the card must exist (with its hash) before eval can find the model by name
        write_card(item, run, weights, {}, "")
        metrics, command = measure(item)
        card = write_card(item, run, weights, metrics, command)
        print(f"{item.name}: {weights.stat().st_size / 1e6:.2f} MB, {metrics} -> {card.relative_to(ROOT)}", flush=True)


if __name__ == "__main__":
    main()
