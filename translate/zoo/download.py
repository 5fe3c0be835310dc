"""Downloads that resume, verify and never leave a half-written file where a whole one is expected.

`download(url, dest)` fetches http(s), `file://` or a plain local path into `dest`: bytes go to `dest.part`
(resumed with an HTTP Range request after an interruption), and only a complete, verified file is renamed to
`dest`. `verify_or_record` pins the hash of a file whose hash was never published. Standard library only,
so that `translate pull` and `translate data download` do not need torch to start.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO, Callable

from translate.errors import TranslateError
from translate.files import commit, home, write_json

log = logging.getLogger("translate")

CHUNK = 1 << 20
FIX = "fetch the file by other means and pass --file PATH"


class DownloadError(TranslateError):
    """A file that could not be fetched or verified; the message names the address and the fix."""


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _one_line(reason: object) -> str:
    # Exceptions from sockets and servers can carry newlines; the CLI prints exactly one line.
    return " ".join(str(reason).split()) or type(reason).__name__


def _bar(progress: bool, total: int | None, initial: int, name: str):  # noqa: ANN202 (tqdm or a no-op)
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=name,
                disable=not progress, leave=False)


def _local_source(url: str) -> Path | None:
    """The path a `file://` URL or a plain path names, or None for a network address."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        return Path(urllib.request.url2pathname(parts.path))
    if parts.scheme in ("http", "https"):
        return None
    if parts.scheme and len(parts.scheme) > 1:  # one letter is a Windows drive, i.e. a path
        raise DownloadError(f"{url}: cannot download '{parts.scheme}:' addresses; use http(s), file:// or a path")
    return Path(url)


def _verify(part: Path, dest: Path, url: str, sha256: str | None, expected_size: int | None) -> None:
    """Check size and hash of the finished `part`; on a mismatch delete it (it cannot be resumed) and raise."""
    size = part.stat().st_size
    if expected_size is not None and size != expected_size:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{url}: got {size} bytes, expected {expected_size}; the download was deleted, "
                            f"try again or {FIX}")
    if sha256 is not None:
        got = sha256_file(part)
        if got != sha256.lower():
            part.unlink(missing_ok=True)
            raise DownloadError(f"checksum mismatch for {url}: sha256 {got}, expected {sha256.lower()}; nothing was "
                                f"written to {dest}; try again (the file at the address may have changed) or {FIX}")


def download(
    url: str,
    dest: str | os.PathLike[str],
    sha256: str | None = None,
    progress: bool = True,
    timeout: float = 30,
    expected_size: int | None = None,
) -> Path:
    """Fetch `url` (http(s), `file://` or a local path) into `dest` and return `dest`.

    Resumes `dest.part` left by an interrupted download; `dest` appears only once complete and verified.
    An existing `dest` that matches `sha256` (or any existing `dest` when no hash is given) is kept as is.
    """
    dest = Path(dest)
    if dest.is_file() and (sha256 is None or sha256_file(dest) == sha256.lower()):
        log.info("%s is already downloaded", dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    source = _local_source(url)
    if source is not None:
        _copy_local(source, part, url, progress)
    else:
        _fetch_http(url, part, progress, timeout)
    _verify(part, dest, url, sha256, expected_size)
    commit(part, dest)
    return dest


def _copy_local(source: Path, part: Path, url: str, progress: bool) -> None:
    if not source.is_file():
        raise DownloadError(f"{url}: no such file; check the path")
    # A local copy is quick and cannot be interrupted by a network, so it always starts from byte 0.
    size = source.stat().st_size
    with open(source, "rb") as src, open(part, "wb") as out, _bar(progress, size, 0, source.name) as bar:
        while chunk := src.read(CHUNK):
            out.write(chunk)
            bar.update(len(chunk))


def _open(url: str, start: int, timeout: float) -> http.client.HTTPResponse:
    """Send the request (with a Range header when resuming); turn failures into one-line DownloadErrors."""
    request = urllib.request.Request(url, headers={"User-Agent": "translate-downloader"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416:
            return e  # type: ignore[return-value]  # the caller decides whether the part is already whole
        e.close()
        if e.code == 404:
            raise DownloadError(f"{url}: not found (HTTP 404); check the address, or {FIX}") from None
        raise DownloadError(f"{url}: the server answered HTTP {e.code} {_one_line(e.reason)}; "
                            f"try again later, or {FIX}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = e.reason if isinstance(e, urllib.error.URLError) else e
        raise DownloadError(f"could not reach {url} ({_one_line(reason)}); check the network, or {FIX}") from None


def _fetch_http(url: str, part: Path, progress: bool, timeout: float) -> None:
    """Fill `part` with the whole file at `url`, resuming what is there; raise when the transfer is cut."""
    for _ in range(2):  # a second pass only after a resume the server could not honour
        start = part.stat().st_size if part.is_file() else 0
        response = _open(url, start, timeout)
        with response:
            status = response.status if hasattr(response, "status") else response.code
            if status == 416:
                # Nothing left past `start`: the part is whole if the server's size agrees, else start over.
                total = re.fullmatch(r"bytes \*/(\d+)", response.headers.get("Content-Range", ""))
                if total and int(total.group(1)) == start:
                    return
                part.unlink(missing_ok=True)
                continue
            if status == 206:
                got = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
                if not got or int(got.group(1)) != start:
                    part.unlink(missing_ok=True)  # a range we did not ask for: do not splice it in
                    continue
            else:
                start = 0  # 200: the server ignored Range (or there was nothing to resume); start over
            length = response.headers.get("Content-Length")
            total = start + int(length) if length and length.isdigit() else None
            if start:
                log.info("resuming %s at byte %d", url, start)
            with open(part, "ab" if start else "wb") as out:
                done = start + _stream(response, out, url, progress, total, start)
                out.flush()
                os.fsync(out.fileno())  # what arrived is kept for a later resume, so make it durable
        if total is not None and done < total:
            raise DownloadError(f"{url}: transfer cut short after {done} of {total} bytes; the partial file "
                                f"{part} is kept and the next run resumes it")
        return
    raise DownloadError(f"{url}: the server cannot resume the partial download; try again, or {FIX}")


def _stream(response: BinaryIO, out: BinaryIO, url: str, progress: bool, total: int | None, start: int) -> int:
    """Copy the response body to `out`; return the bytes copied (fewer than sent when the link drops)."""
    written = 0
    with _bar(progress, total, start, Path(urllib.parse.urlsplit(url).path).name or url) as bar:
        while True:
            try:
                chunk = response.read(CHUNK)
            except (OSError, http.client.HTTPException) as e:
                # A dropped link or a timeout mid-body: keep what arrived; the caller reports the shortfall.
                log.debug("transfer of %s stopped: %s", url, _one_line(e))
                break
            if not chunk:
                break
            out.write(chunk)
            written += len(chunk)
            bar.update(len(chunk))
    return written


HASHES = ".hashes.json"


def hash_record() -> Path:
    """The one record of hashes pinned at first download (catalogue models and data sets alike), in the user
    cache: `home()/downloads/.hashes.json`. Kept there, not beside each download, so that a new output folder
    does not trust a first download afresh."""
    return home() / "downloads" / HASHES


def verify_or_record(path: str | os.PathLike[str], record_file: str | os.PathLike[str], key: str) -> str:
    """Check `path` against the sha256 recorded under `key` in `record_file`, recording it the first time.

    For files whose hash was never published: the first download is trusted and pinned (with a warning),
    and a later file that differs is refused. Returns the file's sha256.
    """
    path, record_file = Path(path), Path(record_file)
    digest = sha256_file(path)
    record: dict[str, str] = {}
    if record_file.is_file():
        try:
            record = json.loads(record_file.read_text(encoding="utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError) as e:
            raise DownloadError(f"{record_file}: not a readable hash record ({_one_line(e)}); "
                                "delete it to record the hashes afresh") from None
    pinned = record.get(key)
    if pinned is None:
        record[key] = digest
        write_json(record_file, record)
        log.warning("no published checksum for %s: recorded sha256 %s of this first download in %s; "
                    "later downloads must match it", key, digest, record_file)
    elif pinned != digest:
        raise DownloadError(f"{path}: sha256 {digest} differs from {pinned}, recorded for {key} at its first "
                            f"download in {record_file}; the file is damaged or has changed; delete it and download "
                            f"again, or remove '{key}' from {record_file} if the change is expected")
    return digest


def pin_on_first_use(path: Path, record_file: Path, key: str, fetched: bool) -> Callable[[], None] | None:
    """For a file whose hash was never published: check it now against the hash pinned under `key`, or, on its
    first use, return the step that pins it, to be run once the file has proved usable (so that a bad first
    file cannot lock out the good one). A refused file that was `fetched` here is deleted."""

    def pin() -> None:
        try:
            verify_or_record(path, record_file, key)
        except DownloadError:
            if fetched:
                path.unlink(missing_ok=True)  # a refused download must not be picked up by the next run
            raise

    try:
        pinned = key in json.loads(record_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        pinned = False  # missing or unreadable: verify_or_record reports a broken record when it gets there
    if pinned:
        pin()
        return None
    return pin
