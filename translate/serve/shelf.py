"""What `translate serve` offers: catalogue models and run directories, their cards, and one upload translated.

Each model is offered under an id: its catalogue name, or a run directory's path as it was given. Requests name
ids only, never paths, so a page can run nothing that was not offered. Loaded translators are kept (the few
used last), and translations take turns under one lock: on a small CPU two at once only slow each other down.
Uploads are decoded in memory with the checks every reader here applies (decompression bombs refused from the
header, truncated files named); nothing is written to disk.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from translate.data.transforms import MAX_PIXELS, open_image
from translate.errors import CheckpointError, TranslateError, did_you_mean
from translate.registry import UnknownNameError
from translate.rundir import CONFIG_FILE, LOG_FILE, network_names, read_config, weights_path

if TYPE_CHECKING:
    from translate.inference.translator import Translator
    from translate.zoo.cards import Card

log = logging.getLogger("translate")

DIRECTIONS = ("AtoB", "BtoA")


@dataclass(frozen=True)
class Offer:
    """One model on the page: its id, what `load()` takes, the directions it runs, and the card shown beside it."""

    id: str
    kind: str  # shipped, pulled, not pulled (catalogue models), run (a run directory)
    source: str  # a catalogue name or a run directory, as translate.load takes it
    task: str
    directions: tuple[str, ...] = ("AtoB",)
    unusable: str = ""  # why it cannot run on this machine ("" when it can), with the fix
    card: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The model list's row for the page."""
        return {"id": self.id, "kind": self.kind, "task": self.task, "directions": list(self.directions),
                "usable": not self.unusable, "unusable": self.unusable}


# ------------------------------------------------------------------------------------------- what is offered


def catalogue_card(card: Card) -> dict[str, Any]:
    """What the page shows of a catalogue card: task, metrics, licence, credits, how it was made."""
    source = f"shipped with translate ({card.source['file']})" if card.shipped else card.source["url"]
    generator = card["generator"]
    return {
        "name": card.name, "task": card.task, "summary": card["summary"],
        "model": f"{card['trainer']['name']}, {generator['name']} width {generator.get('width', 64)}",
        "trained_on": card["trained_on"], "metrics": card["metrics"], "metrics_command": card["metrics_command"],
        "metrics_note": card["metrics_note"], "licence": card["licence"], "citation": card["citation"],
        # outside training data, each file with its author and licence as its source states them
        "credits": "; ".join(f"{c['file']}: {c['author']} ({c['licence']})" for c in card["credits"]),
        "recipe": card["recipe"], "source": source,
    }


def catalogue_offers() -> list[Offer]:
    """Every catalogue model: shipped and pulled ones usable, the others listed with the command that pulls them."""
    from translate.zoo.cards import load_catalogue
    from translate.zoo.pull import not_pulled_message, on_this_machine

    offers = []
    for card in load_catalogue(check_parts=False).values():
        here = on_this_machine(card)
        kind = "shipped" if card.shipped else "pulled" if here else "not pulled"
        # one generator, run as it is: the card's input.direction is the data's, already in the network
        offers.append(Offer(card.name, kind, card.name, card.task, ("AtoB",),
                            "" if here else not_pulled_message(card), catalogue_card(card)))
    return offers


def run_card(run: Path, config: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of a run directory: its model and data from config.toml, its last held-out L1."""
    from translate.trainers.samples import read_log

    generator, data = config.get("generator", {}), config.get("data", {})
    trained_on = (f"style {config['style']}" if config.get("style") else "") or data.get("root") or "the scenes world"
    metrics, note = {}, "no held-out L1 in log.jsonl"
    evaluations = [r for r in read_log(run / LOG_FILE) if "heldout_l1" in r]
    if evaluations:
        metrics = {"held-out L1": evaluations[-1]["heldout_l1"]}
        note = f"log.jsonl, step {evaluations[-1].get('step', '?')} (translate eval RUN scores it in full)"
    return {
        "name": str(run), "task": config.get("description") or f"{config.get('model', 'a model')} run",
        "summary": "", "model": f"{config.get('model') or config.get('trainer', {}).get('name', '?')}, "
                                f"{generator.get('name', '?')} width {generator.get('width', 64)}",
        "trained_on": trained_on, "metrics": metrics, "metrics_command": "", "metrics_note": note,
        "licence": "", "citation": "", "credits": "", "recipe": f"{run / CONFIG_FILE}", "source": "a run directory",
    }


def run_offer(path: str | os.PathLike[str]) -> Offer:
    """A run directory as an offer; a folder that is not one is a CheckpointError naming it."""
    run = Path(path)
    config = read_config(run)
    names = network_names(run)
    directions = DIRECTIONS if {"G_A", "G_B"} <= set(names) else ("AtoB",)
    if not ({"G"} & set(names) or len(directions) == 2):
        raise CheckpointError(f"{run}: its latest checkpoint holds no generator (G, or G_A and G_B)")
    card = run_card(run, config)
    return Offer(str(path), "run", str(run), card["task"], directions, "", card)


def find_runs(folder: str | os.PathLike[str]) -> list[Path]:
    """Run directories under `folder` (itself included): folders holding config.toml and a latest checkpoint."""
    root = Path(folder)
    if not root.is_dir():
        raise CheckpointError(f"{root}: no such folder; pass --runs a folder of run directories, e.g. runs/")
    found = [p.parent for p in root.rglob(CONFIG_FILE) if weights_path(p.parent).is_file()]
    return sorted(p for p in found if not any(part.startswith(".") for part in p.relative_to(root).parts))


# ------------------------------------------------------------------------------------------------- the shelf


@dataclass
class Result:
    """One translated upload: the PNG, its size, how long the network took, whether it ran in tiles."""

    png: bytes
    size: tuple[int, int]
    seconds: float
    tiled: bool


class Shelf:
    """The offered models by id, the translators loaded so far, and the lock translations take turns under.

    `tile`: images with a side over this many pixels are translated in overlapping tiles of it (bounded memory).
    """

    def __init__(self, offers: list[Offer], device: str = "auto", tile: int = 512, overlap: int = 32,
                 max_pixels: int | None = MAX_PIXELS, keep: int = 4) -> None:
        self.offers = {offer.id: offer for offer in offers}
        self.device, self.tile, self.overlap, self.max_pixels, self.keep = device, tile, overlap, max_pixels, keep
        self.loaded: OrderedDict[tuple[str, str], Translator] = OrderedDict()
        self.lock = threading.Lock()

    def listing(self) -> list[dict[str, Any]]:
        """The model list for the page: usable models first, in the order offered."""
        rows = [offer.summary() for offer in self.offers.values()]
        return sorted(rows, key=lambda row: not row["usable"])

    def offer(self, model_id: str) -> Offer:
        """The offer called `model_id`; an unknown one is an UnknownNameError naming the closest."""
        if model_id not in self.offers:
            hint = did_you_mean(model_id, self.offers) or "; pick one from the page's list (GET /api/models)"
            raise UnknownNameError(f"unknown model '{model_id}'{hint}")
        return self.offers[model_id]

    def translator(self, model_id: str, direction: str = "AtoB") -> Translator:
        """The loaded translator of an offer in `direction`, loading it on first use (the last `keep` are kept)."""
        from translate.inference.translator import load

        offer = self.offer(model_id)
        if offer.unusable:
            raise TranslateError(offer.unusable)
        if direction not in offer.directions:
            raise TranslateError(f"{model_id} runs {' or '.join(offer.directions)}, not '{direction}'")
        key = (model_id, direction)
        with self.lock:
            if key not in self.loaded:
                self.loaded[key] = load(offer.source, direction=direction, device=self.device)
                while len(self.loaded) > self.keep:
                    self.loaded.popitem(last=False)
            self.loaded.move_to_end(key)
            return self.loaded[key]

    def translate(self, model_id: str, data: bytes, name: str = "upload", direction: str = "AtoB") -> Result:
        """Translate one uploaded image file (its bytes) at its own size; the output as PNG bytes.

        A file that is not an image, is truncated or declares over `max_pixels` is a DataError naming `name`.
        """
        translator = self.translator(model_id, direction)
        upload = io.BytesIO(data)
        upload.name = name  # what messages call it
        image = open_image(upload, translator.in_channels, self.max_pixels)
        tiled = max(image.size) > self.tile
        with self.lock:
            start = time.perf_counter()
            output = translator.tile(image, self.tile, self.overlap) if tiled else translator(image)
            seconds = time.perf_counter() - start
        png = io.BytesIO()
        output.save(png, format="PNG", compress_level=3)  # a quarter of level 6's time for a few % more bytes
        return Result(png.getvalue(), output.size, seconds, tiled)


def offers_for(runs: list[str], runs_folder: str | None = None, catalogue: bool = True) -> list[Offer]:
    """What `translate serve` offers: the run directories given, those under `runs_folder`, then the catalogue."""
    paths = [Path(r) for r in runs]
    offers = [run_offer(p) for p in paths]
    if runs_folder:
        given = {p.resolve() for p in paths}
        for path in find_runs(runs_folder):
            if path.resolve() in given:
                continue
            try:
                offers.append(run_offer(path))
            except TranslateError as e:  # one damaged run among many is named, not fatal
                log.warning("not offering %s: %s", path, e)
    if catalogue:
        offers += catalogue_offers()
    if not offers:
        raise TranslateError("nothing to serve: pass run directories, --runs FOLDER, or keep the catalogue")
    return offers

