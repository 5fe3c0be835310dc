"""The web server of `translate serve`: one page, its script and style, and a small JSON/PNG API (standard library).

    GET  /                                     the page (index.html, app.js, style.css: shipped in the package)
    GET  /api/models                           the offered models, the upload limit and the tile size
    GET  /api/card?model=ID                    a model's card: task, metrics, licence, credits, recipe
    POST /api/translate?model=ID[&direction=AtoB][&name=photo.jpg]
                                               the image file's bytes as the body; a PNG back, or {"error": ...}

Every refusal is a JSON `{"error": "one line with the fix"}` with a 4xx status, and the server goes on. The body
of an upload is kept only once its Content-Length is within the limit, and only while fewer than `queue_limit`
uploads are waiting, so memory stays bounded whatever the clients send. Each connection serves one request
(HTTP/1.0), so a body left unread is never taken for the next request.
"""

from __future__ import annotations

import errno
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from translate.errors import DataError, TranslateError
from translate.registry import UnknownNameError
from translate.serve.shelf import Shelf

log = logging.getLogger("translate")

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"/": "index.html", "/index.html": "index.html", "/app.js": "app.js", "/style.css": "style.css"}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8"}
# Nothing but this server: no CDN, no inline script; uploads and results are shown from blob: URLs.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
DEFAULT_MAX_UPLOAD_MB = 20
DRAIN_FACTOR = 4  # a refused body up to this many times the upload limit is read and dropped, not left unread


class Refusal(Exception):
    """A request refused with an HTTP status and one line for the page."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def status_of(error: TranslateError) -> HTTPStatus:
    """The HTTP status a TranslateError answers with: an unknown model is not found, the rest are bad requests."""
    if isinstance(error, UnknownNameError):
        return HTTPStatus.NOT_FOUND
    if isinstance(error, DataError):
        return HTTPStatus.UNPROCESSABLE_ENTITY
    return HTTPStatus.BAD_REQUEST


class TranslateServer(ThreadingHTTPServer):
    """A threading HTTP server holding the shelf of models, the upload limit and the page's files."""

    daemon_threads = True  # Ctrl-C does not wait for a client that keeps its connection open

    def __init__(self, address: tuple[str, int], shelf: Shelf, max_upload_bytes: int, queue_limit: int = 32) -> None:
        super().__init__(address, Handler)
        self.shelf, self.max_upload_bytes = shelf, max_upload_bytes
        self.waiting = threading.BoundedSemaphore(queue_limit)
        self.pages = {name: (STATIC / name).read_bytes() for name in set(PAGES.values())}

    @property
    def url(self) -> str:
        """The page's address (an IPv6 host in brackets)."""
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"


class Handler(BaseHTTPRequestHandler):
    """One request: the page's files, or the API; every refusal a JSON error, every failure logged."""

    server: TranslateServer
    timeout = 60  # seconds a client may stall mid-request before its connection is dropped
    server_version = "translate-serve"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the standard library's name)
        log.debug("%s %s", self.address_string(), format % args)

    # ---------------------------------------------------------------------------------------------- replies

    def reply(self, status: HTTPStatus, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, obj: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.reply(status, json.dumps(obj).encode(), "application/json")

    def refuse(self, status: HTTPStatus, message: str) -> None:
        if status >= 500:
            log.error("%s %s: %s", self.command, self.path, message)
        self.reply_json({"error": message}, status)

    def answer(self, route: Any) -> None:
        """Run `route`, turning every refusal, user error and failure into a JSON error: the server goes on."""
        self.body_read = False
        try:
            route()
        except Refusal as e:
            self.discard_body()
            self.refuse(e.status, str(e))
        except TranslateError as e:
            self.discard_body()
            self.refuse(status_of(e), str(e))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client left
        except Exception as e:  # a bug or an exhausted machine must not take the server down
            log.exception("%s %s failed", self.command, self.path)
            self.refuse(HTTPStatus.INTERNAL_SERVER_ERROR,
                        f"the server failed ({type(e).__name__}: {str(e)[:200]}); it goes on; its log has the details")

    # --------------------------------------------------------------------------------------------------- routes

    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def model_id(self) -> str:
        model = self.query().get("model", "")
        if not model:
            raise Refusal(HTTPStatus.BAD_REQUEST, "no model named; add ?model=NAME (GET /api/models lists them)")
        return model

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.answer(self.get)

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        self.answer(self.post)

    def get(self) -> None:
        path = urlsplit(self.path).path
        if path in PAGES:
            name = PAGES[path]
            self.reply(HTTPStatus.OK, self.server.pages[name], CONTENT_TYPES[Path(name).suffix])
        elif path == "/api/models":
            shelf = self.server.shelf
            self.reply_json({"models": shelf.listing(), "max_upload_bytes": self.server.max_upload_bytes,
                             "tile": shelf.tile})
        elif path == "/api/card":
            self.reply_json(self.server.shelf.offer(self.model_id()).card)
        else:
            raise Refusal(HTTPStatus.NOT_FOUND, f"no such page: {path}")

    def post(self) -> None:
        path = urlsplit(self.path).path
        if path != "/api/translate":
            raise Refusal(HTTPStatus.NOT_FOUND, f"no such endpoint: POST {path}; use POST /api/translate?model=NAME")
        query = self.query()
        model = self.model_id()
        self.server.shelf.offer(model)  # an unknown model is refused before its upload is read
        if not self.server.waiting.acquire(blocking=False):
            raise Refusal(HTTPStatus.SERVICE_UNAVAILABLE, "the server is busy with other images; try again shortly")
        try:
            data = self.read_upload()
            result = self.server.shelf.translate(model, data, name=query.get("name") or "the upload",
                                                 direction=query.get("direction", "AtoB"))
        finally:
            self.server.waiting.release()
        log.info("%s: %s %dx%d in %.2f s%s", model, query.get("name") or "upload", *result.size, result.seconds,
                 " (tiled)" if result.tiled else "")
        self.reply(HTTPStatus.OK, result.png, "image/png", {
            "X-Seconds": f"{result.seconds:.3f}", "X-Size": f"{result.size[0]}x{result.size[1]}",
            "X-Tiled": "1" if result.tiled else "0",
        })

    def body_length(self) -> int | None:
        """The stated length of the request's body; None when it has none that can be trusted."""
        if self.headers.get("Transfer-Encoding"):
            return None
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None
        return length if length >= 0 else None

    def read_upload(self) -> bytes:
        """The request body, refused unread when it is larger than the limit or of no stated length."""
        limit, length = self.server.max_upload_bytes, self.body_length()
        if length is None:
            raise Refusal(HTTPStatus.LENGTH_REQUIRED, "the upload needs a Content-Length; send the file as the body")
        if length > limit:
            raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"the file is {length / 1e6:.1f} MB, over this server's limit of {limit / 1e6:.1f} MB; "
                          "upload a smaller image, or restart translate serve with a larger --max-upload-mb")
        if length == 0:
            raise Refusal(HTTPStatus.BAD_REQUEST, "the upload is empty; choose an image file")
        self.body_read = True
        try:
            data = self.rfile.read(length)
        except TimeoutError:
            raise Refusal(HTTPStatus.REQUEST_TIMEOUT, f"the upload stalled for {self.timeout} s; send it again") from None
        if len(data) < length:
            raise Refusal(HTTPStatus.BAD_REQUEST, f"the upload stopped after {len(data)} of {length} bytes; send it again")
        return data

    def discard_body(self) -> None:
        """Read and drop a refused request's body (up to a few times the limit, never kept), so that the client,
        still sending, reads the refusal instead of a reset connection; a larger or unstated one is left unread."""
        length = self.body_length() if self.command == "POST" and not self.body_read else 0
        self.body_read = True
        if length is None or length > DRAIN_FACTOR * self.server.max_upload_bytes:
            return
        try:
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 16))
                if not chunk:
                    break
                length -= len(chunk)
        except OSError:
            pass  # a client that stalls or leaves gets its refusal if it still reads


def make_server(shelf: Shelf, host: str = "127.0.0.1", port: int = 8000,
                max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1000 * 1000) -> TranslateServer:
    """A server for `shelf` bound to host:port (port 0: any free one), not yet serving: call serve_forever()."""
    try:
        return TranslateServer((host, port), shelf, max_upload_bytes)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise TranslateError(f"port {port} on {host} is in use; pass another --port, or --port 0 for any free "
                                 "one") from None
        raise TranslateError(f"cannot listen on {host}:{port} ({e.strerror or e}); check --host and --port") from None


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
