"""Named data sets: names as the reference spells them, downloads from a local server, safe extraction."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from tests.conftest import noise_image, write_ab
from tests.zoo.test_download import FileServer, no_proxy  # noqa: F401 (autouse: keep requests off any proxy)

from translate import files
from translate.data.known import KNOWN, download_dataset, find_dataset, safe_extract
from translate.zoo.download import DownloadError, hash_record
from translate.errors import DataError, TranslateError


def facades_tar(path: Path, tmp: Path) -> Path:
    """A tiny pix2pix-style archive: facades/train and facades/test of side-by-side AB images."""
    write_ab(tmp / "facades" / "train", 3, size=16)
    write_ab(tmp / "facades" / "test", 1, size=16)
    with tarfile.open(path, "w:gz") as tf:
        tf.add(tmp / "facades", arcname="facades")
    return path


def horse_zip(path: Path, seed: int = 0) -> Path:
    """A tiny CycleGAN-style archive: horse2zebra/trainA, trainB, testA, testB."""
    with zipfile.ZipFile(path, "w") as zf:
        for folder, n in (("trainA", 3), ("trainB", 2), ("testA", 1), ("testB", 1)):
            for i in range(n):
                buffer = io.BytesIO()
                noise_image(seed + 7 * i + len(folder) + ord(folder[-1]), (20, 16)).save(buffer, "PNG")
                zf.writestr(f"horse2zebra/{folder}/{i}.png", buffer.getvalue())
    return path


def tar_with(path: Path, *members: tarfile.TarInfo) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for m in members:
            tf.addfile(m, io.BytesIO(b"x" * m.size) if m.isfile() else None)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, 1 if kind == tarfile.REGTYPE else 0
    return info


@pytest.fixture(autouse=True)
def home(monkeypatch, tmp_path) -> Path:
    """A tmp user cache: the hashes pinned at first download live there, not in the --out folder."""
    monkeypatch.setenv(files.HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


def pins() -> dict[str, str]:
    record = hash_record()
    return json.loads(record.read_text()) if record.exists() else {}


@pytest.fixture
def server(monkeypatch):
    """A local server, with the facades and horse2zebra entries pointed at it."""
    with FileServer() as s:
        for name, path in (("pix2pix/facades", "/facades.tar.gz"), ("horse2zebra", "/horse2zebra.zip")):
            monkeypatch.setitem(KNOWN, name, dataclasses.replace(KNOWN[name], url=s.url(path)))
        yield s


def test_names_and_addresses_are_the_reference_ones():
    pix2pix = {"night2day", "edges2handbags", "edges2shoes", "pix2pix/facades", "pix2pix/maps", "pix2pix/cityscapes"}
    cyclegan = {"apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo", "ukiyoe2photo",
                "vangogh2photo", "cyclegan/maps", "cyclegan/cityscapes", "cyclegan/facades", "iphone2dslr_flower",
                "ae_photos"}
    assert set(KNOWN) == pix2pix | cyclegan
    assert KNOWN["pix2pix/facades"].url == "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz"
    cyclegan_url = "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/horse2zebra.zip"
    assert KNOWN["horse2zebra"].url == cyclegan_url
    assert all(KNOWN[n].layout == "paired" and KNOWN[n].archive == "tar.gz" for n in pix2pix)
    assert all(KNOWN[n].layout == "unpaired" and KNOWN[n].archive == "zip" for n in cyclegan)
    assert find_dataset("cyclegan/horse2zebra") is KNOWN["horse2zebra"]


def test_bare_clashing_name_and_unknown_name():
    with pytest.raises(TranslateError) as info:
        find_dataset("facades")
    assert "pix2pix/facades" in str(info.value) and "cyclegan/facades" in str(info.value)
    with pytest.raises(TranslateError, match="did you mean 'horse2zebra'"):
        find_dataset("hourse2zebra")


def test_cityscapes_for_pix2pix_is_not_downloadable(tmp_path):
    with pytest.raises(TranslateError, match="cityscapes-dataset.com"):
        download_dataset("pix2pix/cityscapes", tmp_path, progress=False)


def test_download_paired_tar_from_local_server(server, tmp_path):
    server.files["/facades.tar.gz"] = facades_tar(tmp_path / "f.tar.gz", tmp_path / "src").read_bytes()
    root = tmp_path / "datasets"
    data = download_dataset("pix2pix/facades", root, progress=False)
    assert data == root / "pix2pix" / "facades"
    assert sorted(p.name for p in data.iterdir()) == ["test", "train"] and len(list((data / "train").iterdir())) == 3
    assert set(pins()) == {"data set pix2pix/facades"} and not (root / ".hashes.json").exists()
    assert not (root / "pix2pix-facades.tar.gz").exists()  # the archive goes once extracted
    assert [p.name for p in (root / "pix2pix").iterdir()] == ["facades"]  # no work folder left behind
    assert download_dataset("pix2pix/facades", root, progress=False) == data
    assert len(server.requests) == 1  # already there: not fetched again
    assert download_dataset("pix2pix/facades", root, progress=False, force=True) == data
    assert len(server.requests) == 2 and len(list((data / "train").iterdir())) == 3


def test_unpaired_zip_from_server_then_a_different_file_is_refused(server, tmp_path):
    server.files["/horse2zebra.zip"] = horse_zip(tmp_path / "h.zip").read_bytes()
    root = tmp_path / "datasets"
    data = download_dataset("horse2zebra", root, progress=False)
    assert data == root / "horse2zebra"
    assert sorted(p.name for p in data.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    other = horse_zip(tmp_path / "other.zip", seed=100)
    with pytest.raises(DownloadError, match="differs"):
        download_dataset("horse2zebra", root, file=other, progress=False, force=True)
    assert len(list((data / "trainA").iterdir())) == 3  # the data already there is untouched
    assert other.exists()  # a file the user passed is never deleted


def test_a_new_out_folder_does_not_trust_a_first_download_again(server, tmp_path, home):
    server.files["/horse2zebra.zip"] = horse_zip(tmp_path / "h.zip").read_bytes()
    download_dataset("horse2zebra", tmp_path / "one", progress=False)
    assert (home / "downloads" / ".hashes.json").is_file()
    server.files["/horse2zebra.zip"] = horse_zip(tmp_path / "changed.zip", seed=100).read_bytes()
    with pytest.raises(DownloadError, match="differs"):
        download_dataset("horse2zebra", tmp_path / "two", progress=False)
    assert not (tmp_path / "two" / "horse2zebra").exists() and not (tmp_path / "two" / ".hashes.json").exists()


def test_local_file_instead_of_download(tmp_path):
    archive = horse_zip(tmp_path / "h.zip")
    data = download_dataset("cyclegan/horse2zebra", tmp_path / "d", file=archive, progress=False)
    assert (data / "trainB" / "1.png").is_file() and archive.exists()
    tar = facades_tar(tmp_path / "f.tar.gz", tmp_path / "src")
    assert (download_dataset("pix2pix/facades", tmp_path / "d", file=tar, progress=False) / "test").is_dir()
    with pytest.raises(DownloadError, match="no such file"):
        download_dataset("pix2pix/maps", tmp_path / "d", file=tmp_path / "absent.tar.gz", progress=False)


@pytest.mark.parametrize(
    "members",
    [
        (member("facades/train/a.png"), member("../evil.png")),
        (member("/tmp/translate-test-evil.png"),),
        (member("facades/link", tarfile.SYMTYPE, "../../outside"),),
        (member("facades/link", tarfile.SYMTYPE, "/etc"),),
        (member("facades/hard", tarfile.LNKTYPE, "../outside"),),
        (member("facades/dev", tarfile.CHRTYPE),),
    ],
    ids=["dotdot", "absolute", "symlink-up", "symlink-absolute", "hardlink-up", "device"],
)
def test_unsafe_tar_refused(tmp_path, members):
    archive = tar_with(tmp_path / "evil.tar.gz", *members)
    root = tmp_path / "root" / "datasets"
    with pytest.raises(DownloadError, match="refusing") as info:
        download_dataset("pix2pix/facades", root, file=archive, progress=False)
    assert "\n" not in str(info.value)
    assert not (root / "pix2pix" / "facades").exists() and list((root / "pix2pix").iterdir()) == []
    assert not (tmp_path / "root" / "evil.png").exists() and not Path("/tmp/translate-test-evil.png").exists()
    assert pins() == {}  # a refused first file is not pinned


@pytest.mark.parametrize("name", ["../evil.png", "/abs/evil.png"])
def test_unsafe_zip_refused(tmp_path, name):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("horse2zebra/trainA/0.png", b"x")
        zf.writestr(zipfile.ZipInfo(name), b"x")
    with pytest.raises(DownloadError, match="refusing"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "evil.png").exists()


def test_zip_symlink_refused(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("horse2zebra/link")
    info.external_attr = (0o120777 << 16)  # a symbolic link, as Info-ZIP stores one
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DownloadError, match="symbolic link"):
        safe_extract(archive, tmp_path / "out")


def test_archive_without_images_is_not_installed(tmp_path):
    archive = tmp_path / "notes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("horse2zebra/readme.txt", "no images here")
    with pytest.raises(DataError, match="does not hold a usable horse2zebra"):
        download_dataset("horse2zebra", tmp_path / "d", file=archive, progress=False)
    assert not (tmp_path / "d" / "horse2zebra").exists() and pins() == {}
    good = download_dataset("horse2zebra", tmp_path / "d", file=horse_zip(tmp_path / "h.zip"), progress=False)
    assert (good / "trainA").is_dir()  # the bad first file did not lock out the good one
    not_archive = tmp_path / "plain.zip"
    not_archive.write_bytes(b"not an archive at all")
    with pytest.raises(DownloadError, match="not a tar.gz or zip"):
        download_dataset("apple2orange", tmp_path / "e", file=not_archive, progress=False)
