"""Mixed domains: one side of the scenes world's unpaired task from a folder of real photos, the other rendered.

`data.root_a = DIR` trains photo2shinkai on your photographs as A while B stays the world's Shinkai renderings
(`data.root_b` the other way round; both together read two folders). Only the training split mixes: the
held-out split stays the world's paired test scenes (`build_dataset`), so held-out L1, the sample grids and
`translate eval` still compare with a true rendering. Every image under DIR is a training photo, in subfolders
too; a `test/` subfolder is not set apart.

`data.photo_hue = h` turns each photo's hues by a random share of the colour circle in [-h, h] (0.5: any hue).
A handful of landscapes shows a model few hues beyond green, blue and the odd sunset; with the hue prior
(`trainer.hue_weight`) it then learns to keep whatever hue it is given, not only those (a cat stays orange).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from translate.data import scenes
from translate.data.datasets import SceneDataset
from translate.data.folders import SafeImageDataset, photo_files
from translate.data.options import ImageOptions, takes_image_options
from translate.data.transforms import Jitter, opened_image, short_side_size, to_mode, to_tensor
from translate.errors import ConfigError, unknown_message
from translate.registry import DATASETS

# Decoded photos are kept, at the short side the crops are cut from, while they fit in this many bytes: a
# folder of a few hundred 1024 px JPEGs is then decoded once per worker rather than once per step.
CACHE_BYTES = 256 << 20


@dataclass(frozen=True)
class Side:
    """One side of a mixed data set: a folder's images (`files`), or the world's `kind` rendering."""

    letter: str  # "A" or "B": the task's side, before data.direction
    kind: str  # the world's rendering for this side ("photo", "shinkai", ...)
    key: str = ""  # the config key that named the folder (data.root_a), when it is one
    folder: Path | None = None
    files: tuple[Path, ...] = ()


def read_photo(path: Path, short_side: int, channels: int) -> Image.Image:
    """The photo at `path`, upright, as RGB or L, resized so that its short side is `short_side`."""
    with opened_image(path) as image:
        # A JPEG decodes at 1/2 to 1/8 scale for the asking (draft), still at least the size asked for: a
        # 1024 px photo read for 72 px crops then costs a fraction of a full decode.
        image.draft(None, short_side_size(image.size, short_side))  # type: ignore[arg-type]
        image.load()
        upright = to_mode(ImageOps.exif_transpose(image), channels)
    return upright.resize(short_side_size(upright.size, short_side), Image.Resampling.BICUBIC)


@DATASETS.register("mixed", "an unpaired scenes task with one side from a folder of photos (data.root_a, data.root_b)")
class MixedDataset(SafeImageDataset):
    """The training split of an unpaired scenes task with one side (or both) read from folders of photos.

    Item i takes side A's item i (modulo its length) and a random item of side B, as `UnpairedFolder` does; the
    length is the longer side's (a folder's image count, or `n` scenes). Photos keep their shape: the short side
    is resized to load_size, then a crop_size square is cut anywhere in it (`Jitter(keep_aspect=True)`), and
    their hues are turned by up to `photo_hue` of the circle; the rendered side is drawn at load_size and jittered
    as `SceneDataset` does. Keywords beyond `root_a`, `root_b`, `photo_hue`, `n`, `seed` and `on_error` are
    `ImageOptions`'.
    """

    @takes_image_options
    def __init__(
        self, task: str = "photo2shinkai", root_a: str = "", root_b: str = "", photo_hue: float = 0.0, n: int = 1000,
        seed: int = 0, *, on_error: str = "skip", **options: Any,
    ) -> None:
        super().__init__(on_error)
        if not 0 <= photo_hue <= 0.5:
            raise ConfigError(f"data.photo_hue={photo_hue}: need a share of the colour circle from 0 (off) to 0.5 "
                              "(any hue)")
        self.photo_hue = photo_hue
        self.options = ImageOptions(**options)
        if not self.options.train:
            raise ConfigError("mixed data is a training split; the held-out one is the scenes world's test scenes")
        if task not in scenes.TASKS:
            raise ConfigError(unknown_message("scenes task", task, list(scenes.TASKS)) + " (config key data.task)")
        spec = scenes.TASKS[task]
        named = " and ".join(k for k, root in (("data.root_a", root_a), ("data.root_b", root_b)) if root)
        if not named:
            raise ConfigError("mixed data needs a folder of photos: set data.root_a (or data.root_b)")
        if spec.paired:
            raise ConfigError(
                f"{named} {'replace sides' if ' and ' in named else 'replaces a side'} of an unpaired task, but "
                f"data.task '{task}' pairs each scene's {spec.source} with its {spec.target}; "
                "use data.task = 'photo2shinkai', or data.root for folders of pairs"
            )
        sides = [
            Side(letter, kind, key, Path(root), tuple(photo_files(root, f"{key} = '{root}'"))) if root else Side(letter, kind)
            for letter, kind, key, root in (("A", spec.source, "data.root_a", root_a),
                                            ("B", spec.target, "data.root_b", root_b))
        ]
        self.source, self.target = sides[::-1] if self.options.swap else sides
        # The rendered side's scenes, drawn as the world's own unpaired training split draws them.
        self.world = SceneDataset(task, "train", n=n, seed=seed, **options)
        self.n = n
        # Photos are brought to the world's scale, not cropped at their own: the rendered side shows whole scenes
        # (sky, ridges, trees) at load_size, and the discriminators compare the two sides at one scale. A 64 px
        # crop of a 1024 px photo would be a patch of leaves or grass, with no sky or horizon to restyle.
        self.photo_jitter = Jitter(self.options.load_size, self.options.crop_size, self.options.flip, keep_aspect=True)
        self.scene_jitter = self.options.jitter
        self._photos: dict[tuple[Path, int], Image.Image] = {}
        self._photo_bytes = 0

    def side_length(self, side: Side) -> int:
        """How many items a side holds: its folder's images, or the world's `n` scenes."""
        return len(side.files) if side.folder else self.n

    def __len__(self) -> int:
        return max(self.side_length(self.source), self.side_length(self.target))

    def describe(self) -> str:
        """Where each side comes from, for the log and the run's config.toml."""
        def one(side: Side) -> str:
            if side.folder:
                return f"{len(side.files)} images in {side.folder.resolve()} ({side.key})"
            return f"the scenes world's '{side.kind}' renderings (seed {self.world.seed})"
        return f"source: {one(self.source)}; target: {one(self.target)}; held out: the world's test scenes"

    def _image(self, side: Side, index: int, channels: int) -> tuple[Image.Image, str, Jitter]:
        if side.folder:
            path = side.files[index]
            image = self._photos.get((path, channels))
            if image is None:
                image = read_photo(path, self.options.load_size, channels)
                size = image.width * image.height * channels
                if self._photo_bytes + size <= CACHE_BYTES:
                    self._photos[(path, channels)] = image
                    self._photo_bytes += size
            return image, str(path), self.photo_jitter
        scene = self.world.scene(index, side.letter)
        return to_mode(scene.image(side.kind), channels), f"scenes:train/{index:05d}/{side.kind}", self.scene_jitter

    def load(self, index: int) -> dict[str, Any]:
        rng = self.item_rng(index)
        index_a = index % self.side_length(self.source)
        index_b = rng.randrange(self.side_length(self.target))
        image_a, path_a, jitter_a = self._image(self.source, index_a, self.options.in_channels)
        image_b, path_b, jitter_b = self._image(self.target, index_b, self.options.out_channels)
        params_a, params_b = jitter_a.sample(rng, image_a.size), jitter_b.sample(rng, image_b.size)
        image_a, image_b = jitter_a(image_a, params_a), jitter_b(image_b, params_b)
        if self.photo_hue > 0:  # drawn after the crops: runs without it keep their draws
            # imported here: torchvision's import pulls in torch._dynamo, a second of every command's start-up
            from torchvision.transforms.functional import adjust_hue

            turns = [rng.uniform(-self.photo_hue, self.photo_hue) for _ in range(2)]
            image_a = adjust_hue(image_a, turns[0]) if self.source.folder and image_a.mode == "RGB" else image_a
            image_b = adjust_hue(image_b, turns[1]) if self.target.folder and image_b.mode == "RGB" else image_b
        return {
            "A": to_tensor(image_a),
            "B": to_tensor(image_b),
            "A_path": path_a,
            "B_path": path_b,
        }

