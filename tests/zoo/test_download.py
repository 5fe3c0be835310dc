"""The downloader against a local HTTP server on 127.0.0.1 (never any outside address)."""

from __future__ import annotations

import hashlib
import http.server
import json
import logging
import re
import socket
import threading

import pytest

from translate.zoo.download import DownloadError, download, sha256_file, verify_or_record
from translate.errors import TranslateError

PAYLOAD = bytes(range(256)) * 400  # 100 KiB, several read chunks of the handler


class FileServer:
    """Serve `files` (path -> bytes) on 127.0.0.1 with Range support; `cut[path] = n` sends only n body bytes
    while announcing the whole length, `ignore_range` answers 200 to Range requests; `requests` logs
    (path, Range header) of every request."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep the test output clean
                pass

            def do_GET(self) -> None:
                owner.requests.append((self.path, self.headers.get("Range")))
                body = owner.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start, status = 0, 200
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if match and not owner.ignore_range:
                    start = int(match.group(1))
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                self.send_response(status)
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                send = body[start:]
                if self.path in owner.cut:
                    send = send[: owner.cut.pop(self.path)]  # cut once: the resume then succeeds
                self.wfile.write(send)
                self.close_connection = True

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self) -> "FileServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Requests to 127.0.0.1 must not go through a proxy named in the environment (it would be outside)."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def server():
    with FileServer() as s:
        yield s


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_with_correct_sha256(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    dest = download(server.url("/f.bin"), tmp_path / "f.bin", sha256=digest(PAYLOAD), progress=False, timeout=5)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "f.bin.part").exists()
    assert sha256_file(dest) == digest(PAYLOAD)
    # Already there and matching: kept, not fetched again.
    download(server.url("/f.bin"), dest, sha256=digest(PAYLOAD), progress=False, timeout=5)
    assert len(server.requests) == 1


def test_interrupted_download_resumes_with_range(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.cut["/f.bin"] = 30000
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError) as info:
        download(server.url("/f.bin"), dest, sha256=digest(PAYLOAD), progress=False, timeout=5)
    message = str(info.value)
    assert "\n" not in message and server.url("/f.bin") in message and "resume" in message
    assert not dest.exists()
    assert (tmp_path / "f.bin.part").stat().st_size == 30000
    download(server.url("/f.bin"), dest, sha256=digest(PAYLOAD), progress=False, timeout=5)
    assert server.requests[-1] == ("/f.bin", "bytes=30000-")
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "f.bin.part").exists()


def test_server_ignoring_range_starts_over(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(b"junk that is not the start of the file")
    server.ignore_range = True
    download(server.url("/f.bin"), tmp_path / "f.bin", sha256=digest(PAYLOAD), progress=False, timeout=5)
    assert server.requests[-1][1] is not None  # it asked to resume, got 200, and rewrote the part
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_complete_part_answered_416_is_verified(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    (tmp_path / "f.bin.part").write_bytes(PAYLOAD)
    download(server.url("/f.bin"), tmp_path / "f.bin", sha256=digest(PAYLOAD), progress=False, timeout=5)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        download(server.url("/f.bin"), dest, sha256="0" * 64, progress=False, timeout=5)
    assert "\n" not in str(info.value) and server.url("/f.bin") in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_404_is_one_line_naming_the_url(server, tmp_path):
    url = server.url("/missing.zip")
    with pytest.raises(TranslateError) as info:
        download(url, tmp_path / "m.zip", progress=False, timeout=5)
    message = str(info.value)
    assert "\n" not in message and url in message and "404" in message and "--file" in message
    assert not (tmp_path / "m.zip").exists()


def test_unreachable_address_is_one_line(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/f.bin"
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "f.bin", progress=False, timeout=5)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"could not reach {url} (") and "--file" in message
    assert not (tmp_path / "f.bin").exists()


def test_file_url_and_local_path(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(PAYLOAD)
    a = download(source.as_uri(), tmp_path / "out" / "a.bin", sha256=digest(PAYLOAD), progress=False)
    b = download(str(source), tmp_path / "out" / "b.bin", sha256=digest(PAYLOAD), progress=False)
    assert a.read_bytes() == b.read_bytes() == PAYLOAD
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(str(source), tmp_path / "out" / "c.bin", sha256="1" * 64, progress=False)
    assert not (tmp_path / "out" / "c.bin").exists() and not (tmp_path / "out" / "c.bin.part").exists()
    with pytest.raises(DownloadError, match="no such file"):
        download(str(tmp_path / "absent.bin"), tmp_path / "out" / "d.bin", progress=False)


def test_expected_size_mismatch_refused(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    with pytest.raises(DownloadError, match="expected 5;"):
        download(server.url("/f.bin"), tmp_path / "f.bin", expected_size=5, progress=False, timeout=5)
    assert list(tmp_path.iterdir()) == []


class Captured(logging.Handler):
    """Records of the "translate" logger, read from the logger itself: the CLI turns its propagation off."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_of_translate():
    log, handler = logging.getLogger("translate"), Captured()
    log.addHandler(handler)
    yield handler.messages
    log.removeHandler(handler)


def test_verify_or_record_pins_the_first_file(tmp_path, warnings_of_translate):
    record = tmp_path / "hashes.json"
    first = tmp_path / "first.bin"
    first.write_bytes(b"first")
    assert verify_or_record(first, record, "facades") == digest(b"first")
    assert len(warnings_of_translate) == 1 and "recorded" in warnings_of_translate[0]
    assert "facades" in warnings_of_translate[0]
    assert json.loads(record.read_text()) == {"facades": digest(b"first")}
    verify_or_record(first, record, "facades")  # the same file again: fine, and quiet
    assert len(warnings_of_translate) == 1
    other = tmp_path / "other.bin"
    other.write_bytes(b"other")
    with pytest.raises(DownloadError, match="differs") as info:
        verify_or_record(other, record, "facades")
    assert "\n" not in str(info.value)
    assert json.loads(record.read_text()) == {"facades": digest(b"first")}
    verify_or_record(other, record, "maps")  # another key is recorded beside it
    assert set(json.loads(record.read_text())) == {"facades", "maps"}
