"""Image folders in the layouts pix2pix and CycleGAN users already have.

Paired: `ROOT/<split>/*.png` with A and B side by side (facades), or A/ and B/ folders whose files pair by
stem (`ROOT/<split>/A`, `ROOT/A/<split>` or plain `ROOT/A`). Unpaired: `ROOT/<split>A/` and `ROOT/<split>B/`
(trainA, trainB, testA, testB), sampled independently.
"""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset

from translate.data.options import ImageOptions, takes_image_options
from translate.data.transforms import IMAGE_EXTENSIONS, Jitter, is_image_file, open_image, split_ab, to_mode, to_tensor
from translate.errors import DataError

log = logging.getLogger("translate")


def list_images(folder: str | os.PathLike[str], recursive: bool = True) -> list[Path]:
    """Image files under `folder` (by extension), sorted for a stable order."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    walk = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in walk if p.is_file() and is_image_file(p) and not p.name.startswith("."))


def photo_files(path: str | os.PathLike[str], given: str) -> list[Path]:
    """The image files at `path`: a folder, searched recursively, or one image file; sorted. A missing path or one
    without images is a one-line DataError that starts with `given` (how the user named the path, e.g.
    "--photos x" or "data.root_a = 'x'") and says what to give instead."""
    path = Path(path).expanduser()
    kinds = ", ".join(sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
    if not path.exists():
        raise DataError(f"{given}: no such folder; give a folder of photographs ({kinds})")
    if path.is_file():
        if not is_image_file(path):
            raise DataError(f"{given}: not an image file ({kinds}); give a folder of photographs or one image")
        return [path]
    files = list_images(path)
    if not files:
        raise DataError(f"{given}: the folder holds no image files ({kinds}, searched recursively); put "
                        "photographs in it or give the folder that has them")
    return files


@dataclass(frozen=True)
class PairedLayout:
    """Where the pairs of one split are: side-by-side files, or two folders paired by file stem."""

    kind: str  # "ab" or "folders"
    ab: tuple[Path, ...] = ()
    a_dir: Path | None = None
    b_dir: Path | None = None


def find_paired_layout(root: str | os.PathLike[str], split: str = "train") -> PairedLayout:
    """Detect which paired layout `root` uses for `split`."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist; pass --data with a folder of images")
    for a_dir, b_dir in ((root / split / "A", root / split / "B"), (root / "A" / split, root / "B" / split), (root / "A", root / "B")):
        if a_dir.is_dir() and b_dir.is_dir():
            return PairedLayout("folders", a_dir=a_dir, b_dir=b_dir)
    for folder in (root / split, root):
        files = list_images(folder, recursive=False)
        if files:
            return PairedLayout("ab", ab=tuple(files))
    raise DataError(
        f"no paired images for split '{split}' in {root}: expected side-by-side AB images in {root / split}/ "
        f"or A/ and B/ folders with matching file names"
    )


def pair_by_stem(a_dir: Path, b_dir: Path) -> tuple[list[tuple[Path, Path]], list[Path], list[Path]]:
    """Pairs of files with the same stem in two folders, and the files of each side without a partner."""
    a = {p.relative_to(a_dir).with_suffix("").as_posix(): p for p in list_images(a_dir)}
    b = {p.relative_to(b_dir).with_suffix("").as_posix(): p for p in list_images(b_dir)}
    pairs = [(a[k], b[k]) for k in sorted(a.keys() & b.keys())]
    return pairs, [a[k] for k in sorted(a.keys() - b.keys())], [b[k] for k in sorted(b.keys() - a.keys())]


class EpochRandomness:
    """Each item's randomness (crop, flip, an unpaired partner) as a function of (seed, epoch, index) alone.

    The loop calls `set_epoch(epoch, seed)` before each epoch, as with DistributedSampler. Item i of an epoch
    is then the same whichever process loads it and whenever, so a resumed run replays exactly what an
    uninterrupted one saw, with any number of DataLoader workers; and global random generators are untouched.
    """

    random_seed = 0
    epoch = 0

    def set_epoch(self, epoch: int, seed: int | None = None) -> None:
        """Draw the next items' randomness from `epoch` (and `seed`, the run's seed, when given)."""
        self.epoch = int(epoch)
        if seed is not None:
            self.random_seed = int(seed)

    def item_rng(self, index: int) -> random.Random:
        """The generator of item `index` this epoch (a string seed: the same in every process)."""
        return random.Random(f"{self.random_seed}/{self.epoch}/{index}")


class SafeImageDataset(EpochRandomness, Dataset):
    """A dataset whose items are read from image files; a bad file is named, then skipped or fatal.

    `on_error="skip"` logs the file once and uses the next item instead; `"fail"` raises DataError.
    """

    def __init__(self, on_error: str = "skip") -> None:
        if on_error not in ("skip", "fail"):
            raise ValueError(f"on_error must be 'skip' or 'fail', not {on_error!r}")
        self.on_error = on_error
        self.skipped: set[str] = set()

    def __len__(self) -> int:
        raise NotImplementedError

    def load(self, index: int) -> dict[str, Any]:
        """Read item `index`; raise DataError when a file of it is bad."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, Any]:
        n = len(self)
        for attempt in range(n):
            i = (index + attempt) % n
            try:
                return self.load(i)
            except DataError as e:
                if self.on_error == "fail":
                    raise DataError(f"{e} (data.on_error='fail'; set it to 'skip' to go on without it)") from None
                message = str(e)
                if message not in self.skipped:
                    self.skipped.add(message)
                    log.warning("skipping %s", message)
        raise DataError(f"every image of this data set is unreadable (first: {sorted(self.skipped)[0]})")


def _apply(jitter: Jitter, params: tuple[int, int, bool], image: Any) -> torch.Tensor:
    return to_tensor(jitter(image, params))


class PairedFolder(SafeImageDataset):
    """Paired images (AB side by side, or A/ and B/ by name) for pix2pix-style training.

    Items are {"A": tensor, "B": tensor, "A_path": str, "B_path": str}, tensors in [-1, 1]. Keywords beyond
    `on_error` are `ImageOptions`' (`direction="BtoA"` swaps the two sides).
    """

    @takes_image_options
    def __init__(self, root: str, split: str = "train", *, on_error: str = "skip", **options: Any) -> None:
        super().__init__(on_error)
        self.options = ImageOptions(**options)
        self.jitter = self.options.jitter
        self.layout = find_paired_layout(root, split)
        if self.layout.kind == "folders":
            assert self.layout.a_dir is not None and self.layout.b_dir is not None
            self.pairs, lone_a, lone_b = pair_by_stem(self.layout.a_dir, self.layout.b_dir)
            if lone_a or lone_b:
                lone = (lone_a + lone_b)[0]
                raise DataError(
                    f"{len(lone_a)} file(s) in {self.layout.a_dir} and {len(lone_b)} in {self.layout.b_dir} have no "
                    f"partner of the same name (e.g. {lone}); rename or remove them "
                    f"('translate data check {root}' lists them all)"
                )
            if not self.pairs:
                raise DataError(f"no images in {self.layout.a_dir} and {self.layout.b_dir}")
        else:
            self.pairs = [(p, p) for p in self.layout.ab]

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int) -> dict[str, Any]:
        path_a, path_b = self.pairs[index]
        if self.layout.kind == "ab":
            whole = open_image(path_a, 3)
            if whole.width < 2:
                raise DataError(f"{path_a}: {whole.width} px wide, too narrow to hold A and B side by side")
            image_a, image_b = split_ab(whole)
        else:
            image_a, image_b = open_image(path_a, 3), open_image(path_b, 3)
        if self.options.swap:
            image_a, image_b, path_a, path_b = image_b, image_a, path_b, path_a
        params = self.jitter.sample(self.item_rng(index))
        return {
            "A": _apply(self.jitter, params, to_mode(image_a, self.options.in_channels)),
            "B": _apply(self.jitter, params, to_mode(image_b, self.options.out_channels)),
            "A_path": str(path_a),
            "B_path": str(path_b),
        }


def find_unpaired_dirs(root: str | os.PathLike[str], split: str = "train") -> tuple[Path, Path]:
    """The `<split>A` and `<split>B` folders of an unpaired data set."""
    root = Path(root)
    a_dir, b_dir = root / f"{split}A", root / f"{split}B"
    if not root.is_dir():
        raise DataError(f"data folder {root} does not exist; pass --data with a folder of images")
    if not (a_dir.is_dir() and b_dir.is_dir()):
        raise DataError(f"{root} has no {split}A/ and {split}B/ folders, which unpaired training reads")
    return a_dir, b_dir


class UnpairedFolder(SafeImageDataset):
    """Unpaired images from `<split>A/` and `<split>B/` for CycleGAN-style training.

    Item i is A[i % len(A)] with a B drawn at random when training (in order when not), as the reference;
    the draw is a function of (seed, epoch, i), like the jitter (`EpochRandomness`).
    Keywords beyond `on_error` are `ImageOptions`'.
    """

    @takes_image_options
    def __init__(self, root: str, split: str = "train", *, on_error: str = "skip", **options: Any) -> None:
        super().__init__(on_error)
        self.options = ImageOptions(**options)
        self.jitter = self.options.jitter
        a_dir, b_dir = find_unpaired_dirs(root, split)
        if self.options.swap:
            a_dir, b_dir = b_dir, a_dir
        self.a_files, self.b_files = list_images(a_dir), list_images(b_dir)
        for folder, files in ((a_dir, self.a_files), (b_dir, self.b_files)):
            if not files:
                raise DataError(f"{folder} holds no images; add some or point --data at another folder")

    def __len__(self) -> int:
        return max(len(self.a_files), len(self.b_files))

    def load(self, index: int) -> dict[str, Any]:
        rng = self.item_rng(index)
        path_a = self.a_files[index % len(self.a_files)]
        if self.options.train:
            path_b = self.b_files[rng.randrange(len(self.b_files))]
        else:
            path_b = self.b_files[index % len(self.b_files)]
        image_a, image_b = open_image(path_a, self.options.in_channels), open_image(path_b, self.options.out_channels)
        params_a, params_b = self.jitter.sample(rng), self.jitter.sample(rng)
        return {
            "A": _apply(self.jitter, params_a, image_a),
            "B": _apply(self.jitter, params_b, image_b),
            "A_path": str(path_a),
            "B_path": str(path_b),
        }


class ImageFolder(SafeImageDataset):
    """Single images for prediction, from files and folders (recursive): items {"A": tensor, "A_path": str}.

    Images keep their own size unless `size` is given.
    """

    def __init__(self, inputs: list[str], channels: int = 3, size: int | None = None, on_error: str = "skip") -> None:
        super().__init__(on_error)
        files: list[Path] = []
        for item in inputs:
            path = Path(item)
            if path.is_dir():
                files += list_images(path)
            elif path.exists():
                files.append(path)
            else:
                raise DataError(f"{path}: no such file or folder")
        if not files:
            raise DataError(f"no images found in {', '.join(map(str, inputs))}")
        self.files, self.channels, self.size = files, channels, size

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> dict[str, Any]:
        path = self.files[index]
        image = open_image(path, self.channels)
        if self.size:
            image = image.resize((self.size, self.size), Image.Resampling.BICUBIC)
        return {"A": to_tensor(image), "A_path": str(path)}
