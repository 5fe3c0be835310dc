"""The registered data sets, and the one function that builds a split from a config's [data] table."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from translate.data import digits, scenes
from translate.data.folders import EpochRandomness, ImageFolder, PairedFolder, UnpairedFolder
from translate.data.options import ImageOptions, image_keywords, takes_image_options
from translate.data.transforms import to_mode, to_tensor
from translate.errors import ConfigError, DataError, unknown_message
from translate.registry import DATASETS

log = logging.getLogger("translate")

DATASETS.add("paired", PairedFolder, "paired images: AB side by side, or A/ and B/ folders by file name")
DATASETS.add("unpaired", UnpairedFolder, "unpaired images: trainA/ trainB/ testA/ testB/, sampled independently")
DATASETS.add("images", ImageFolder, "single images from files and folders, for prediction")


@DATASETS.register("scenes", "the embedded procedural world: one scene as labels, photo, shinkai and sketch")
class SceneDataset(EpochRandomness, Dataset):
    """The embedded procedural world as a data set: the same scene rendered as source and target.

    Paired tasks give each scene in both renderings. The unpaired task (photo2shinkai) draws its A and B
    sides from disjoint scenes when training; its test split is paired, so it can be scored. Keywords beyond
    `task`, `split`, `n` and `seed` are `ImageOptions`'. The jitter and unpaired picks are a function of
    (the run's seed, epoch, index): `EpochRandomness`. Held-out items (`train` off) also carry "regions", the
    target scene's H x W int32 region ids (`Scene.regions`), for evaluation's artefact measure.
    """

    @takes_image_options
    def __init__(
        self, task: str = "photo2shinkai", split: str = "train", n: int = 1000, seed: int = 0, **options: Any
    ) -> None:
        self.options = ImageOptions(**options)
        if task not in scenes.TASKS:
            raise ConfigError(unknown_message("scenes task", task, list(scenes.TASKS)) + " (config key data.task)")
        self.task = scenes.TASKS[task]
        self.source, self.target = self.task.source, self.task.target
        if self.options.swap:
            self.source, self.target = self.target, self.source
        self.split, self.n, self.seed = split, n, seed
        self.unpaired = not self.task.paired and split == "train"
        self.jitter = self.options.jitter
        # Render at the load size: jitter then crops as it would from a folder of images that size.
        self.render_size = self.options.load_size if self.options.train else self.options.held_out_size
        # Keep rendered scenes while they fit in a modest budget; past it, rendering (~25 ms at 256 px) is
        # cheaper than the training step it feeds anyway.
        self._cache: dict[tuple[int, str], Any] = {}
        self._cache_limit = (256 << 20) // (self.render_size**2 * 3 * 4)

    def __len__(self) -> int:
        return self.n

    def scene(self, index: int, side: str) -> scenes.Scene:
        """Scene `index` of this split; side "A" or "B" of an unpaired training split ("" when paired)."""
        key = (index, side)
        scene = self._cache.get(key)
        if scene is None:
            seed = scenes.scene_seed(self.seed, self.split, index, side if self.unpaired else "")
            scene = scenes.render(seed, self.render_size)
            if len(self._cache) < self._cache_limit:
                self._cache[key] = scene
        return scene

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = self.item_rng(index)
        if self.unpaired:
            index_b = rng.randrange(self.n)
            scene_a, scene_b = self.scene(index, "A"), self.scene(index_b, "B")
            params_a, params_b = self.jitter.sample(rng), self.jitter.sample(rng)
        else:
            index_b = index
            scene_a = scene_b = self.scene(index, "")
            params_a = params_b = self.jitter.sample(rng)
        item = {
            "A": to_tensor(self.jitter(to_mode(scene_a.image(self.source), self.options.in_channels), params_a)),
            "B": to_tensor(self.jitter(to_mode(scene_b.image(self.target), self.options.out_channels), params_b)),
            "A_path": f"scenes:{self.split}/{index:05d}/{self.source}",
            "B_path": f"scenes:{self.split}/{index_b:05d}/{self.target}",
        }
        if not self.options.train:
            # Held out, the items are rendered at their own size, unjittered: the target scene's region map lines
            # up with B pixel for pixel, so evaluation finds the flat regions without rendering again.
            item["regions"] = torch.from_numpy(scene_b.regions.astype(np.int32))
        return item


def build_dataset(data: dict[str, Any], split: str = "train", train: bool | None = None) -> Dataset:
    """One split of the data a config's [data] table describes: the user's folder, or the embedded world.

    `train` (jitter and flip on) defaults to `split == "train"`.
    """
    if data["layout"] == "labels":
        return labelled_dataset(data, split)
    options = image_keywords(data, split == "train" if train is None else train)
    photos = {"root_a": data.get("root_a", ""), "root_b": data.get("root_b", "")}
    if data["root"] and any(photos.values()) and split == "train":
        raise ConfigError(
            "data.root_a and data.root_b replace a side of the scenes world, but data.root is set too: put those "
            "photos in ROOT/trainA/ (or trainB/) and drop root_a/root_b, or leave data.root empty"
        )
    if data["root"]:
        # An unpaired set's test split may be paired (photo | true rendering): prefer that for scoring.
        if data["layout"] == "unpaired" and split != "train":
            try:
                return PairedFolder(data["root"], split, on_error=data["on_error"], **options)
            except DataError:
                pass
        folder = UnpairedFolder if data["layout"] == "unpaired" else PairedFolder
        return folder(data["root"], split, on_error=data["on_error"], **options)
    if not data["task"]:
        raise ConfigError("no data: set data.root (or --data DIR) to a folder, or data.task to a scenes-world task")
    if data.get("photo_hue") and not any(photos.values()):
        raise ConfigError(f"data.photo_hue={data['photo_hue']} turns the hues of the photos of data.root_a or "
                          "data.root_b, and neither is set: set one, or leave photo_hue at 0")
    if any(photos.values()) and split == "train" and options["train"]:
        from translate.data.mixed import MixedDataset  # here, not at the top: mixed builds on SceneDataset

        return MixedDataset(data["task"], **photos, photo_hue=data.get("photo_hue", 0.0), n=data["n_train"],
                            seed=data["seed"], on_error=data["on_error"], **options)
    # Photos or not, the held-out split is the world's paired test scenes: held-out L1 and eval keep their meaning.
    n = data["n_train"] if split == "train" else data["n_test"]
    return SceneDataset(data["task"], split, n=n, seed=data["seed"], **options)


def labelled_dataset(data: dict[str, Any], split: str) -> Dataset:
    """A split of labelled images (data.layout = "labels"): the embedded procedural digits, at data.crop_size."""
    if data["root"] or data["task"] != "digits":
        raise ConfigError(
            f"labelled images (data.layout = 'labels') come from the embedded digits only: set data.task = 'digits' "
            f"and leave data.root empty (now task {data['task']!r}, root {data['root']!r})"
        )
    n = data["n_train"] if split == "train" else data["n_test"]
    return digits.DigitsDataset(split, n=n, seed=data["seed"], size=data["crop_size"])


def describe_data(data: dict[str, Any], train_set: Dataset | None = None) -> str:
    """Where a run's data comes from, in a few words, for the log and the run's config.toml."""
    describe = getattr(train_set, "describe", None)
    if callable(describe):
        return str(describe())
    return data["root"] or f"scenes world '{data['task']}'"


def build_split(data: dict[str, Any], split: str) -> Dataset:
    """A split of the data; a held-out split falls back to val/, then to the training images unjittered."""
    if split == "train":
        return build_dataset(data, "train")
    for name in ("test", "val"):
        try:
            return build_dataset(data, name, train=False)
        except DataError:
            continue
    log.warning("no test/ or val/ split in %s: held-out samples and L1 use training images", data["root"])
    return build_dataset(data, "train", train=False)
