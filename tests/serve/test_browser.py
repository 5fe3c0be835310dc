"""`translate serve` in a real headless browser (Debian's chromium driven by playwright): load the page, choose or
drop an image, see the output appear and download it; bad files get their one line on the page.

Skipped when chromium or playwright is missing, except in CI (the CI variable set), where that is a failure:
`.ci/run` installs both (`apt-get install chromium`, `pip install -e ".[serve-test]"`).
"""

from __future__ import annotations

import io
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from PIL import Image

from tests.bombs import write_bomb
from tests.conftest import noise_image
from tests.inference.test_translator import RESNET, make_run
from translate.serve.server import TranslateServer, make_server
from translate.serve.shelf import Shelf, offers_for

pytestmark = pytest.mark.slow

LIMIT = 100_000  # bytes: the test server's upload limit
CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str:
    """The system's chromium, or a skip (a failure in CI) saying what to install."""
    reason = ""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = 'playwright is not installed: pip install -e ".[serve-test]"'
    found = next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)
    if found is None:
        reason = reason or "no chromium on PATH: apt-get install chromium"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: the browser test must run there)")
        pytest.skip(reason)
    return str(found)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TranslateServer, Path]]:
    run = make_run(tmp_path / "runs" / "tiny", RESNET)
    server = make_server(Shelf(offers_for([str(run)]), device="cpu"), "127.0.0.1", 0, max_upload_bytes=LIMIT)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server, run
    server.shutdown()
    server.server_close()


def open_page(browser: Any, server: TranslateServer) -> tuple[Any, list[str], list[str]]:
    """A fresh page on the server; JavaScript errors and requests for anything outside the server are recorded."""
    page = browser.new_page(viewport={"width": 1100, "height": 760}, accept_downloads=True)
    js_errors: list[str] = []
    elsewhere: list[str] = []
    page.on("pageerror", lambda e: js_errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith((server.url, "blob:", "data:")) else elsewhere.append(r.url))
    page.goto(server.url)
    page.wait_for_selector("#model option", state="attached")
    return page, js_errors, elsewhere


def status_of(page: Any, kind: str) -> str:
    page.wait_for_selector(f"#status.{kind}", timeout=30_000)
    return page.inner_text("#status")


def output_width(page: Any, width: int) -> None:
    """Wait until the output image shown is `width` pixels wide (the page's own script makes it)."""
    from playwright.sync_api import expect

    expect(page.locator("#output")).to_have_js_property("naturalWidth", width, timeout=30_000)


def card_shows(page: Any, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#card")).to_contain_text(text, timeout=30_000)


def test_choose_an_image_see_the_output_and_download_it(browser: Any, served: Any, tmp_path: Path) -> None:
    server, run = served
    page, js_errors, elsewhere = open_page(browser, server)
    page.select_option("#model", str(run))
    card_shows(page, "resnet width 4")
    noise_image(0, (64, 64)).save(tmp_path / "photo.png")
    page.set_input_files("#file", str(tmp_path / "photo.png"))
    output_width(page, 64)
    assert "64x64" in status_of(page, "done")
    assert page.is_visible("#input") and page.is_visible("#output")
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "photo-tiny.png"  # the image's name and the run's folder
    saved = Path(download.value.path())
    with Image.open(saved) as out:
        assert out.size == (64, 64) and out.format == "PNG"

    page.select_option("#model", "scenes-shinkai")  # another model: the card changes and the image is redone
    card_shows(page, "BSD-3-Clause")
    assert "Zhu" in page.inner_text("#card") and "style" in page.inner_text("#card")
    output_width(page, 64)
    assert "scenes-shinkai: 64x64" in status_of(page, "done")
    assert page.is_disabled("#model option[value='horse2zebra']")  # listed, but it needs translate pull
    assert js_errors == [] and elsewhere == []


def test_a_dropped_image_is_translated(browser: Any, served: Any) -> None:
    server, run = served
    page, js_errors, _ = open_page(browser, server)
    page.select_option("#model", str(run))
    buffer = io.BytesIO()
    noise_image(1, (48, 32)).save(buffer, format="PNG")
    transfer = page.evaluate_handle("""(bytes) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], "dropped.png", { type: "image/png" }));
        return transfer;
    }""", list(buffer.getvalue()))
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    output_width(page, 48)
    assert "48x32" in status_of(page, "done") and js_errors == []


def test_bad_files_get_their_message_on_the_page(browser: Any, served: Any, tmp_path: Path) -> None:
    server, run = served
    page, js_errors, _ = open_page(browser, server)
    page.select_option("#model", str(run))
    (tmp_path / "notes.png").write_text("not an image at all")
    write_bomb(tmp_path / "bomb.png")
    (tmp_path / "huge.png").write_bytes(os.urandom(LIMIT + 1))
    for file, expected in (("notes.png", "notes.png: not an image PIL can read"),
                           ("bomb.png", "bomb.png: 60000 x 60000 pixels is over the limit"),
                           ("huge.png", "over this server's limit of 0.1 MB")):
        page.set_input_files("#file", str(tmp_path / file))
        assert expected in status_of(page, "error"), file
        assert not page.is_visible("#output") and page.is_hidden("#download")
    noise_image(2, (40, 24)).save(tmp_path / "fine.png")  # the server went on
    page.set_input_files("#file", str(tmp_path / "fine.png"))
    output_width(page, 40)
    assert js_errors == []
