"""The cache of catalogue models: `pull` a card's weights onto this machine, find them again, list what is here.

`pull(name)` downloads (resumed, verified) into the cache and imports the file into a run directory that every
command reads; `open_run(name_or_path)` finds what a user names: a run directory, a pulled model's, or a shipped
model read straight from the package (nothing written: a read-only cache is fine).

Cache (`translate.files.home()`: `$TRANSLATE_HOME`, else `$XDG_CACHE_HOME/translate`, else `~/.cache/translate`)::

    models/<name>/     run directory of a pulled model (a shipped one only when pulled); `pix2pix/sat2map` -> `pix2pix--sat2map`
    downloads/         files being downloaded (`*.part` is resumed); `.hashes.json` pins unpublished hashes
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from translate.errors import CheckpointError, TranslateError, did_you_mean
from translate.files import home, load_weights, unprefixed, weight_names
from translate.registry import UnknownNameError
from translate.zoo.cards import Card, find_card, load_catalogue
from translate.zoo.download import (
    FIX,
    HASHES,  # noqa: F401 (the record's file name, for callers of this module)
    DownloadError,
    download,
    hash_record,
    pin_on_first_use,
    sha256_file,
)

log = logging.getLogger("translate")

# --------------------------------------------------------------------------------------------------- the cache


def model_dir(card: Card) -> Path:
    """Where the run directory of `card` lives in the cache (whether or not it is there)."""
    return home() / "models" / card.slug


def _complete(run: Path) -> bool:
    return (run / "config.toml").is_file() and (run / "checkpoints" / "latest.safetensors").is_file()


def _recorded_sha256(run: Path) -> str:
    try:
        return tomllib.loads((run / "config.toml").read_text(encoding="utf-8")).get("source", {}).get("sha256", "")
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return ""


def on_this_machine(card: Card) -> bool:
    """Whether `card`'s model can run here without a pull: shipped, or pulled into the cache."""
    return card.shipped or _complete(model_dir(card))


def not_pulled_message(card: Card) -> str:
    """What to do about a known model whose weights are not here: the command, and the call from Python."""
    return (f"model '{card.name}' is not on this machine; run: translate pull {card.name} "
            f"(in Python: translate.pull('{card.name}'))")


@dataclass(frozen=True)
class Found:
    """What a user named, ready to read: a run's config and the checkpoint file that holds its networks.

    A run directory (or a checkpoint file in one) is read where it is; a shipped catalogue model is read straight
    from the package, its config made from its card: nothing is written, so a read-only cache is no obstacle.
    """

    config: dict[str, Any]  # the run config (config.toml; for a shipped model, what its pull would write)
    checkpoint: Path  # a safetensors file of `network.tensor` entries
    tag: str  # the checkpoint's tag ("latest" for a catalogue model)
    run: Path | None  # the run directory; None for a shipped model read from the package
    label: str  # for messages: the run folder, or the catalogue name
    networks: dict[str, str] | None = None  # network name -> its prefix in `checkpoint`; None: the names saved
    test_mode: str = "eval"  # how it runs at test time by default: a catalogue model's card says (input.test_mode)

    def network_names(self) -> list[str]:
        """The networks this source holds (G, or G_A and G_B, ...)."""
        if self.networks is not None:
            return sorted(self.networks)
        return sorted({k.split(".", 1)[0] for k in weight_names(self.checkpoint)})

    def state(self, name: str) -> dict[str, Any]:
        """The state dict of network `name`."""
        tensors = load_weights(self.checkpoint)
        prefix = name if self.networks is None else self.networks.get(name, name)
        state = unprefixed(tensors, prefix)
        if not state and self.run is None:
            state = dict(tensors)  # a shipped bare generator state dict, as import_translate takes one
        if not state:
            raise CheckpointError(f"{self.checkpoint}: holds no network '{prefix}'")
        return state


def shipped_config(card: Card) -> dict[str, Any]:
    """The run config of a shipped model, made from its card: what `pull` writes into its run directory."""
    from translate.config import imported_config

    source = {"format": "translate", **_shipped_source(card)}
    return imported_config(card["trainer"]["name"], card["generator"]["name"], card.generator_kwargs(), source,
                           card["input"]["channel_order"], card.run_config())


def _shipped_source(card: Card) -> dict[str, str]:
    """Where a shipped model's weights come from, as its run config records it."""
    return {"file": card.source["file"], "url": card.source["url"], "sha256": card.source["sha256"]}


def shipped_weights(card: Card) -> Path:
    """The shipped safetensors file of `card`, its sha256 checked against the card's."""
    file = card.path.parent / card.source["file"]
    digest = sha256_file(file)
    if digest != card.source["sha256"]:
        raise DownloadError(f"{file}: sha256 {digest} differs from {card.source['sha256']} on its card {card.path}; "
                            "the installed package is damaged, reinstall translate-zoo")
    return file


def open_run(name_or_path: str | os.PathLike[str], tag: str | None = None) -> Found:
    """What a user names, ready to read: a run folder (checkpoint `tag`, default 'latest'), a `.safetensors`
    file in its checkpoints/ (that file's tag), or a catalogue model: pulled (its run directory in the cache) or
    shipped (read from the package; nothing is written). A known model not here says how to pull it."""
    from translate.rundir import read_config, weights_path

    path = Path(name_or_path)
    run = None
    if path.is_dir():
        run, tag = path, tag or "latest"
    elif path.is_file() and path.suffix == ".safetensors" and path.parent.name == "checkpoints":
        run, tag = path.parent.parent, tag or path.stem
    elif path.exists():
        raise CheckpointError(f"{path}: not a run directory; pass a folder written by 'translate train' "
                              "or a .safetensors file in its checkpoints/")
    else:
        try:
            card = find_card(str(name_or_path))
        except UnknownNameError:
            hint = (did_you_mean(str(name_or_path), load_catalogue())
                    or "; pass a run folder or a model name (translate models)")
            raise CheckpointError(f"no run directory or catalogue model '{name_or_path}'{hint}") from None
        if tag not in (None, "latest"):
            raise CheckpointError(f"{card.name} is a catalogue model with one checkpoint; pass no tag (not '{tag}')")
        tag = "latest"
        if _complete(model_dir(card)) and (not card.shipped or _recorded_sha256(model_dir(card)) == card.source["sha256"]):
            run = model_dir(card)  # pulled (a shipped model only when pulled from this very card)
        elif card.shipped:
            return Found(shipped_config(card), shipped_weights(card), tag, None, card.name,
                         networks={"G": card.source["network"]}, test_mode=card["input"]["test_mode"])
        else:
            raise TranslateError(not_pulled_message(card))
        return Found(read_config(run), weights_path(run, tag), tag, run, str(run), test_mode=card["input"]["test_mode"])
    return Found(read_config(run), weights_path(run, tag), tag, run, str(run))


# ----------------------------------------------------------------------------------------------------- pulling


def _import(card: Card, file: Path, out: Path, source: dict[str, str]) -> None:
    from translate.zoo import importers  # torch: only once something is imported

    fmt, generator = card.source["format"], card["generator"]["name"]
    kwargs, extra = card.generator_kwargs(), card.run_config()
    if fmt == "reference":
        importers.import_reference(file, out, generator, source=source, config=extra, **kwargs)
    elif fmt == "cartoongan":
        importers.import_cartoongan(file, out, source=source, config=extra, **kwargs)
    else:
        importers.import_translate(file, out, generator, card["trainer"]["name"], network=card.source["network"],
                                 source=source, config=extra, **kwargs)


def _install(
    card: Card, file: Path, source: dict[str, str], before_install: Callable[[], None] | None = None
) -> Path:
    """Import `file` into a folder beside the run directory, then rename it into place (replacing an old one)."""
    target = model_dir(card)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".pull", dir=target.parent))
    try:
        try:
            _import(card, file, work / "run", source)
        except CheckpointError as e:
            raise CheckpointError(f"{card.name}: {e} (the card expects a {card.source['format']} checkpoint of "
                                  f"{card['generator']['name']} {card.generator_kwargs()})") from None
        if before_install is not None:
            before_install()
        if target.exists():
            os.replace(target, work / "old")  # --force: the old copy leaves with the work folder
        os.replace(work / "run", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _install_shipped(card: Card, force: bool = False) -> Path:
    """`pull` of a shipped model: its run directory in the cache (only on request: loading needs none)."""
    run = model_dir(card)
    if not force and _complete(run) and _recorded_sha256(run) == card.source["sha256"]:
        return run
    file = shipped_weights(card)
    log.info("%s is shipped with translate; making its run directory in %s", card.name, run)
    return _install(card, file, _shipped_source(card))


def _unreachable(error: DownloadError, card: Card) -> DownloadError:
    """The downloader's message with the fix spelled for this model: `translate pull NAME --file PATH`."""
    fix = f"fetch {card.source['url']} by other means and run: translate pull {card.name} --file PATH"
    text = str(error)
    return DownloadError(text.replace(FIX, fix) if FIX in text else f"{text}; or {fix}")


def pull(name: str, file: str | os.PathLike[str] | None = None, force: bool = False, progress: bool = True) -> Path:
    """Download the catalogue model `name` (or take `file`), verify it and import it into its run directory.

    Downloads resume after an interruption; the card's sha256 is checked, or, where none was ever published,
    the first download's hash is recorded and a later file that differs is refused. A model already on this
    machine is returned as is unless `force`. Nothing half-made is left in the cache.
    """
    card = find_card(name)
    if card.shipped and file is None:
        return _install_shipped(card, force)
    target = model_dir(card)
    if _complete(target) and not force:
        log.info("%s is already on this machine in %s; pass --force to pull it again", card.name, target)
        return target
    url, pinned = card.source["url"], card.source["sha256"]
    key = url or card.name
    record = hash_record()
    if file is not None:
        path, fetched = Path(file), False
        if not path.is_file():
            raise DownloadError(f"{path}: no such file; pass --file the path of the downloaded checkpoint")
        if pinned and sha256_file(path) != pinned:
            raise DownloadError(f"{path}: sha256 differs from {pinned} on the card of {card.name}; it is not that file")
    else:
        if not url:
            raise TranslateError(f"{card.name} has no download address; fetch it by other means and run: "
                                 f"translate pull {card.name} --file PATH")
        basename = url.rstrip("/").rpartition("/")[2] or "weights"
        path, fetched = home() / "downloads" / f"{card.slug}--{basename}", True
        if force:
            path.unlink(missing_ok=True)
        log.info("pulling %s from %s", card.name, url)
        try:
            download(url, path, sha256=pinned or None, progress=progress)
        except DownloadError as e:
            raise _unreachable(e, card) from None

    # A recorded hash is checked before the import; a first hash is recorded once the file fits the card.
    pin = None if pinned else pin_on_first_use(path, record, key, fetched)
    try:
        source = {"file": path.name if fetched else str(path), "url": url, "sha256": sha256_file(path)}
        run = _install(card, path, source, before_install=pin)
    finally:
        if fetched:
            path.unlink(missing_ok=True)  # the run directory holds the weights now; a bad file must go too
    return run


# ----------------------------------------------------------------------------------------------------- listing


def listing(folder: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """One row per model for `translate models`: name, task, source, whether it is here, headline metric."""
    rows = []
    for card in load_catalogue(folder).values():
        headline = card.headline()
        rows.append({
            "name": card.name,
            "task": card.task,
            "trainer": card["trainer"]["name"],
            "generator": card["generator"]["name"],
            "format": card.source["format"],
            "source": "shipped" if card.shipped else card.source["url"],
            "sha256": card.source["sha256"],
            "on_this_machine": on_this_machine(card),
            "metric": f"{headline[0]} {headline[1]:g}" if headline else "",
            "metrics": card["metrics"],
            "metrics_note": card["metrics_note"],
            "licence": card["licence"],
            "credits": card["credits"],
            "card": card.path.name,
        })
    return rows
