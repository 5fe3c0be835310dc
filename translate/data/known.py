"""The public data sets of the reference pix2pix and CycleGAN code, by name: download, verify, extract safely.

Names and addresses are those of the reference's `datasets/download_pix2pix_dataset.sh` (tar.gz, AB side by
side) and `datasets/download_cyclegan_dataset.sh` (zip, trainA/trainB). Three names are in both lists and are
spelled `pix2pix/NAME` and `cyclegan/NAME` here. `download_dataset(name, root)` leaves the set in `root/NAME`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from translate.errors import DataError, TranslateError, unknown_message
from translate.registry import UnknownNameError
from translate.zoo.download import DownloadError, download, hash_record, pin_on_first_use, sha256_file

log = logging.getLogger("translate")

PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz"
CYCLEGAN_URL = "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/{}.zip"
_FILTER_ERROR = getattr(tarfile, "FilterError", ())  # Python >= 3.11.4; before that our own checks stand alone


@dataclass(frozen=True)
class KnownDataset:
    """A named public data set: where it is, how its folders are laid out, and what it holds."""

    name: str
    url: str | None  # None: not redistributable, the user brings the archive with --file
    layout: str  # "paired" (A and B side by side, pix2pix) or "unpaired" (trainA/ trainB/, CycleGAN)
    archive: str  # "tar.gz" or "zip"
    sha256: str | None  # None: never published; the first download is recorded instead
    doc: str

    @property
    def family(self) -> str:
        """Which reference script lists it: "pix2pix" or "cyclegan"."""
        return "pix2pix" if self.layout == "paired" else "cyclegan"


_PIX2PIX = {
    "facades": "400 CMP Facades pairs: architectural label maps and photos of building fronts",
    "cityscapes": "2975 Cityscapes street scenes and their label maps; not redistributable: get "
                  "gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip from https://cityscapes-dataset.com, prepare them with the "
                  "reference's datasets/prepare_cityscapes_dataset.py, archive the result and pass it with --file",
    "maps": "1096 Google Maps pairs: aerial photos and map renderings of the same tiles",
    "edges2shoes": "about 50k UT Zappos50K shoe photos and their HED edge maps (about 2 GB)",
    "edges2handbags": "about 137k Amazon handbag photos (iGAN project) and their HED edge maps (about 8 GB)",
    "night2day": "about 20k Transient Attributes scenes of the same place at night and by day",
}
_CYCLEGAN = {
    "facades": "CMP Facades label maps and photos, unpaired",
    "cityscapes": "Cityscapes street scenes and label maps, unpaired",
    "maps": "Google Maps aerial photos and map renderings, unpaired",
    "horse2zebra": "ImageNet photos of wild horses and of zebras",
    "apple2orange": "ImageNet photos of apples and of oranges",
    "summer2winter_yosemite": "Flickr photos of Yosemite in summer and in winter",
    "monet2photo": "Monet paintings (WikiArt) and Flickr landscape photos",
    "cezanne2photo": "Cezanne paintings (WikiArt) and Flickr landscape photos",
    "ukiyoe2photo": "Ukiyo-e prints (WikiArt) and Flickr landscape photos",
    "vangogh2photo": "Van Gogh paintings (WikiArt) and Flickr landscape photos",
    "iphone2dslr_flower": "Flickr flower photos taken with iPhones and with DSLRs (shallow depth of field)",
    "ae_photos": "a few photos to try the reference's pretrained style models on (test images only)",
}


def _build() -> dict[str, KnownDataset]:
    both = _PIX2PIX.keys() & _CYCLEGAN.keys()
    known: dict[str, KnownDataset] = {}
    for family, table, url, layout, archive in (
        ("pix2pix", _PIX2PIX, PIX2PIX_URL, "paired", "tar.gz"),
        ("cyclegan", _CYCLEGAN, CYCLEGAN_URL, "unpaired", "zip"),
    ):
        for base, doc in table.items():
            name = f"{family}/{base}" if base in both else base
            address = None if (family, base) == ("pix2pix", "cityscapes") else url.format(base)
            known[name] = KnownDataset(name, address, layout, archive, None, doc)
    return known


KNOWN: dict[str, KnownDataset] = _build()


def find_dataset(name: str) -> KnownDataset:
    """The data set called `name`; `cyclegan/horse2zebra` is accepted for `horse2zebra`, a bare clash is refused."""
    if name in KNOWN:
        return KNOWN[name]
    family, _, base = name.rpartition("/")
    if base in KNOWN and KNOWN[base].family == family:
        return KNOWN[base]
    both = sorted(k for k in KNOWN if k.endswith("/" + name))
    if both:
        raise TranslateError(f"'{name}' is a pix2pix and a CycleGAN data set; name one: {' or '.join(both)}")
    raise UnknownNameError(unknown_message("data set", name, list(KNOWN)))


def pin_key(ds: KnownDataset) -> str:
    """The key of a data set's first-download hash in `hash_record()` (catalogue models are keyed by address)."""
    return f"data set {ds.name}"


def _unsafe(archive: Path, member: str, why: str) -> DownloadError:
    return DownloadError(f"{archive}: refusing to extract '{member}' ({why}); the archive is not a plain data set, "
                         "do not use it")


def _check_path(archive: Path, member: str, target: str | None = None) -> None:
    """Refuse an absolute path or a `..` in a member's name or (for links) in what it points at."""
    for text, what in ((member, "path"), (target, "link target")):
        if text is None:
            continue
        posix = text.replace("\\", "/")
        if posix.startswith("/") or re.match(r"[A-Za-z]:", posix):
            raise _unsafe(archive, member, f"an absolute {what}")
        # A link whose target has '..' is refused even when it stays inside: through a chain of links a
        # lexical check cannot tell where '..' lands, and data sets have no reason to hold such links.
        if ".." in PurePosixPath(posix).parts:
            raise _unsafe(archive, member, f"a {what} that climbs out with '..'")


def safe_extract(archive: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Extract a tar(.gz) or zip archive into `dest`, refusing absolute paths, `..`, links leaving it and devices."""
    archive, dest = Path(archive), Path(dest)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check_path(archive, info.filename)
                    mode = info.external_attr >> 16
                    if stat.S_ISLNK(mode):
                        raise _unsafe(archive, info.filename, "a symbolic link")
                    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                        raise _unsafe(archive, info.filename, "a device file")
                zf.extractall(dest)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                members = tf.getmembers()
                for m in members:
                    _check_path(archive, m.name, m.linkname if (m.issym() or m.islnk()) else None)
                    if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
                        raise _unsafe(archive, m.name, "a device file")
                # The "data" filter checks again with real paths (and drops set-uid bits) where Python has it.
                extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tf.extractall(dest, members=members, **extra)
        else:
            raise DownloadError(f"{archive}: not a tar.gz or zip archive; download it again or pass the right --file")
    except _FILTER_ERROR as e:
        raise _unsafe(archive, e.tarinfo.name, " ".join(str(e).split())) from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise DownloadError(f"{archive}: cannot extract it ({' '.join(str(e).split())}); the archive is damaged, "
                            "delete it and download again") from None


def _data_folder(content: Path) -> Path:
    """The data set inside an extracted archive: its one top folder (`facades/`), or the whole of it."""
    entries = [p for p in content.iterdir() if p.name != "__MACOSX" and not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else content


def _first_problem(report) -> str:  # noqa: ANN001 (a CheckReport; imported lazily with torch)
    if report.problems:
        return report.problems[0]
    if report.unreadable:
        return f"{len(report.unreadable)} unreadable images, e.g. {report.unreadable[0][0]} ({report.unreadable[0][1]})"
    return f"{len(report.unpaired)} files without a partner, e.g. {report.unpaired[0]}"


def download_dataset(
    name: str,
    root: str | os.PathLike[str],
    file: str | os.PathLike[str] | None = None,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Download (or take `file`), verify and extract the data set `name` into `root/name`; return that folder.

    The returned folder is what training takes as `--data`. A folder already there is returned as is
    unless `force`. Unpublished hashes are pinned at the first download in the user cache (`hash_record()`, under
    the key `data set NAME`), not in `root`: a download into another folder is checked against the same pin.
    """
    ds = find_dataset(name)
    root = Path(root)
    target = root / ds.name
    if target.is_dir() and any(target.iterdir()) and not force:
        log.info("%s is already in %s; pass --force to download it again", ds.name, target)
        return target
    if file is None and ds.url is None:
        raise TranslateError(f"{ds.name} cannot be downloaded: {ds.doc}")
    if file is not None:
        archive, fetched = Path(file), False
        if not archive.is_file():
            raise DownloadError(f"{archive}: no such file; pass --file the path of the downloaded archive")
        if ds.sha256 and sha256_file(archive) != ds.sha256:
            raise DownloadError(f"{archive}: sha256 differs from the published {ds.sha256}; it is not {ds.name}")
    else:
        assert ds.url is not None
        archive, fetched = root / f"{ds.name.replace('/', '-')}.{ds.archive}", True
        if force:
            archive.unlink(missing_ok=True)
        log.info("downloading %s from %s", ds.name, ds.url)
        download(ds.url, archive, sha256=ds.sha256, progress=progress)

    # A pinned hash is checked before the long extraction; a first hash is pinned once the archive is usable.
    pin = None if ds.sha256 else pin_on_first_use(archive, hash_record(), pin_key(ds), fetched)
    _extract_into(archive, target, ds.name, before_install=pin)
    if fetched:
        archive.unlink()  # as the reference does: the extracted folder is what is kept
    return target


def _extract_into(archive: Path, target: Path, name: str, before_install: Callable[[], None] | None = None) -> None:
    """Extract beside `target`, check it is a usable data set, call `before_install`, then rename it into place."""
    from translate.data.check import check_folder  # imports torch; only needed once something is extracted

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".extract", dir=target.parent))
    try:
        log.info("extracting %s", archive)
        (work / "content").mkdir()
        safe_extract(archive, work / "content")
        data = _data_folder(work / "content")
        report = check_folder(data)
        if not report.usable:
            raise DataError(f"{archive} does not hold a usable {name} data set ({_first_problem(report)}); "
                            "download it again with --force, or check the file passed with --file")
        if before_install is not None:
            before_install()
        if target.exists():
            os.replace(target, work / "old")  # --force: the old copy goes with the work folder
        os.replace(data, target)
        log.info("%s ready in %s: %s layout, %d images", name, target, report.layout, report.n_images)
    finally:
        shutil.rmtree(work, ignore_errors=True)
