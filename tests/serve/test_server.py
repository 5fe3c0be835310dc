"""`translate serve` over real HTTP on loopback: the model list and cards, translations (tiled when large), every
kind of bad request answered in one line while the server goes on, nothing written, and many requests at once."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.bombs import write_bomb
from tests.conftest import noise_image
from tests.inference.test_translator import RESNET, make_run
from translate.cli import main
from translate.inference.translator import load
from translate.serve.server import STATIC, TranslateServer, make_server
from translate.serve.shelf import Shelf, catalogue_offers, find_runs, offers_for

LIMIT = 200_000  # bytes: the upload limit of the test server


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def start(shelf: Shelf, max_upload_bytes: int = LIMIT) -> TranslateServer:
    server = make_server(shelf, "127.0.0.1", 0, max_upload_bytes=max_upload_bytes)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture
def tiny_run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "runs" / "tiny", RESNET)


@pytest.fixture
def server(tiny_run: Path) -> Iterator[TranslateServer]:
    running = start(Shelf(offers_for([str(tiny_run)]), device="cpu", tile=48, overlap=8))
    yield running
    running.shutdown()
    running.server_close()


def get(server: TranslateServer, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=60) as response:
            body = response.read()
            return response.status, json.loads(body) if "json" in response.headers["Content-Type"] else body
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def post(server: TranslateServer, data: bytes, **query: str) -> tuple[int, dict[str, str], bytes]:
    url = f"{server.url}api/translate?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "image/png"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def error(answer: tuple[int, dict[str, str], bytes], status: int, *expected: str) -> str:
    """The answer is `status` with a JSON error of one line holding every `expected` string; returns it."""
    code, _, body = answer
    assert code == status, (code, body)
    message = json.loads(body)["error"]
    assert "\n" not in message and "Traceback" not in message
    for text in expected:
        assert text in message, message
    return message


# ------------------------------------------------------------------------------------------- list and cards


def test_the_list_offers_runs_and_catalogue_models_and_says_what_is_missing(server: TranslateServer,
                                                                            tiny_run: Path) -> None:
    status, listing = get(server, "/api/models")
    assert status == 200 and listing["max_upload_bytes"] == LIMIT and listing["tile"] == 48
    rows = {row["id"]: row for row in listing["models"]}
    assert rows[str(tiny_run)]["usable"] and rows[str(tiny_run)]["kind"] == "run"
    assert rows["scenes-shinkai"]["usable"] and rows["scenes-shinkai"]["kind"] == "shipped"
    assert rows["horse2zebra"] == {**rows["horse2zebra"], "usable": False, "kind": "not pulled"}
    assert "translate pull horse2zebra" in rows["horse2zebra"]["unusable"]
    usable = [row["usable"] for row in listing["models"]]
    assert usable == sorted(usable, reverse=True)  # what can run comes first


def test_cards_show_task_metrics_licence_and_credits(server: TranslateServer, tiny_run: Path) -> None:
    status, card = get(server, "/api/card?model=scenes-shinkai")
    assert status == 200 and card["task"].startswith("photo -> Shinkai")
    assert card["metrics"]["style"] > 0.5 and "translate eval scenes-shinkai" in card["metrics_command"]
    assert card["licence"].startswith("BSD-3-Clause") and "Zhu" in card["citation"]
    assert "shipped" in card["source"] and card["credits"] == ""  # the world is all its data
    status, card = get(server, "/api/card?model=photo-shinkai")  # trained on credited photographs too
    assert status == 200 and card["credits"].count("LGPLv3") >= 1 and "Aitzol Berasategi" in card["credits"]
    status, card = get(server, f"/api/card?model={urllib.parse.quote(str(tiny_run))}")
    assert status == 200 and card["name"] == str(tiny_run) and "resnet width 4" in card["model"]
    status, answer = get(server, "/api/card?model=scenes-shinkia")
    assert status == 404 and answer["error"] == "unknown model 'scenes-shinkia'; did you mean 'scenes-shinkai'?"


def test_the_page_uses_nothing_but_this_server(server: TranslateServer) -> None:
    status, page = get(server, "/")
    assert status == 200 and b'src="/app.js"' in page and b'href="/style.css"' in page
    for name in ("index.html", "app.js", "style.css"):
        text = (STATIC / name).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text), f"{name} reaches another host"
    with urllib.request.urlopen(server.url + "app.js", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/javascript")
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert get(server, "/etc/passwd")[0] == 404 and get(server, "/../setup.cfg")[0] == 404


# ---------------------------------------------------------------------------------------------- translating


def test_an_upload_comes_back_translated_at_its_own_size(server: TranslateServer, tiny_run: Path) -> None:
    image = noise_image(0, (40, 24))
    status, headers, body = post(server, png_bytes(image), model=str(tiny_run), name="a.png")
    assert status == 200 and headers["Content-Type"] == "image/png", body[:200]
    out = Image.open(io.BytesIO(body))
    assert out.size == (40, 24) and headers["X-Size"] == "40x24" and headers["X-Tiled"] == "0"
    np.testing.assert_array_equal(np.asarray(out), np.asarray(load(tiny_run)(image)))


def test_a_large_image_is_translated_in_tiles(server: TranslateServer, tiny_run: Path) -> None:
    image = noise_image(1, (100, 60))  # over the server's tile of 48 px
    status, headers, body = post(server, png_bytes(image), model=str(tiny_run))
    assert status == 200 and headers["X-Tiled"] == "1"
    expected = load(tiny_run).tile(image, tile=48, overlap=8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(body))), np.asarray(expected))


def test_a_shipped_model_runs_offline(server: TranslateServer) -> None:
    status, headers, body = post(server, png_bytes(noise_image(2, (32, 32))), model="scenes-shinkai")
    assert status == 200 and Image.open(io.BytesIO(body)).size == (32, 32)


# ------------------------------------------------------------------------------------------------ bad input


def test_bad_uploads_get_one_line_and_the_server_goes_on(server: TranslateServer, tiny_run: Path,
                                                         tmp_path: Path) -> None:
    model = str(tiny_run)
    error(post(server, b"%PDF-1.4 not an image", model=model, name="notes.pdf"), 422,
          "notes.pdf: not an image PIL can read")
    bomb = write_bomb(tmp_path / "bomb.png").read_bytes()
    error(post(server, bomb, model=model, name="bomb.png"), 422, "bomb.png: 60000 x 60000 pixels is over the limit")
    truncated = png_bytes(noise_image(3, (64, 64)))
    error(post(server, truncated[: len(truncated) // 2], model=model, name="cut.png"), 422, "cut.png", "truncated")
    error(post(server, b"", model=model), 400, "empty")
    error(post(server, png_bytes(noise_image(4, (40, 24))), model="scenes-shinkia"), 404,
          "unknown model 'scenes-shinkia'; did you mean 'scenes-shinkai'?")
    error(post(server, b"x"), 400, "no model named", "?model=NAME")
    error(post(server, png_bytes(noise_image(5, (8, 8))), model="horse2zebra"), 400, "translate pull horse2zebra")
    error(post(server, png_bytes(noise_image(5, (8, 8))), model=model, direction="BtoA"), 400, "runs AtoB")
    big = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
    error(post(server, png_bytes(Image.fromarray(big)), model=model), 413, "over this server's limit of 0.2 MB",
          "--max-upload-mb")
    status, _, body = post(server, png_bytes(noise_image(6, (40, 24))), model=model)
    assert status == 200 and Image.open(io.BytesIO(body)).size == (40, 24)


def test_an_oversized_upload_is_refused_from_its_headers(server: TranslateServer, tiny_run: Path) -> None:
    host, port = server.server_address[:2]
    for header, value, status, expected in (("Content-Length", str(1000 * LIMIT), 413, "200.0 MB, over"),
                                            ("Transfer-Encoding", "chunked", 411, "needs a Content-Length")):
        connection = http.client.HTTPConnection(host, port, timeout=30)
        connection.putrequest("POST", f"/api/translate?model={urllib.parse.quote(str(tiny_run))}")
        connection.putheader(header, value)
        connection.endheaders()  # no body follows: the answer must not wait for one
        response = connection.getresponse()
        assert response.status == status and expected in json.loads(response.read())["error"]
        connection.close()
    assert get(server, "/api/models")[0] == 200


def test_a_failure_or_a_full_queue_is_one_line_and_the_server_goes_on(server: TranslateServer, tiny_run: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    image = png_bytes(noise_image(8, (40, 24)))

    def fails(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("not enough memory")

    with monkeypatch.context() as patch:
        patch.setattr(server.shelf, "translate", fails)
        error(post(server, image, model=str(tiny_run)), 500, "the server failed (RuntimeError: not enough memory)")
    with monkeypatch.context() as patch:
        patch.setattr(server, "waiting", threading.BoundedSemaphore(1))
        server.waiting.acquire()  # the one place in the queue is taken
        error(post(server, image, model=str(tiny_run)), 503, "busy", "try again")
    assert post(server, image, model=str(tiny_run))[0] == 200


def test_serving_writes_nothing(tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("TRANSLATE_HOME", str(home))
    monkeypatch.chdir(work)
    before = sorted(tiny_run.rglob("*"))
    running = start(Shelf(offers_for([str(tiny_run)]), device="cpu", tile=48, overlap=8))
    try:
        for model in (str(tiny_run), "scenes-shinkai"):
            assert post(running, png_bytes(noise_image(7, (64, 40))), model=model)[0] == 200
        assert post(running, b"not an image", model="scenes-shinkai")[0] == 422
    finally:
        running.shutdown()
        running.server_close()
    assert list(home.iterdir()) == [] and list(work.iterdir()) == []
    assert sorted(tiny_run.rglob("*")) == before


def test_concurrent_requests_on_loopback_all_succeed(server: TranslateServer, tiny_run: Path) -> None:
    images = [noise_image(10 + i, (40, 40)) for i in range(24)]  # under the tile: whole

    def one(image: Image.Image) -> tuple[int, np.ndarray]:
        status, _, body = post(server, png_bytes(image), model=str(tiny_run))
        return status, np.asarray(Image.open(io.BytesIO(body))) if status == 200 else body

    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(one, images))
    assert [status for status, _ in answers] == [200] * 24, [a for a in answers if a[0] != 200][:1]
    translator = load(tiny_run)
    for image, (_, out) in zip(images, answers):  # each client got its own image back, translated
        np.testing.assert_array_equal(out, np.asarray(translator(image)))


# ------------------------------------------------------------------------------------------- the command


def test_runs_under_a_folder_are_found(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    runs = tmp_path / "runs"
    make_run(runs / "a", RESNET)
    make_run(runs / "deep" / "b", RESNET, cyclegan=True)
    make_run(runs / "broken", RESNET)
    (runs / "broken" / "config.toml").write_text("model = [")
    (runs / "notes").mkdir()
    assert find_runs(runs) == [runs / "a", runs / "broken", runs / "deep" / "b"]
    with caplog.at_level("WARNING", logger="translate"):
        offers = {o.id: o for o in offers_for([str(runs / "a")], str(runs), catalogue=False)}
    assert list(offers) == [str(runs / "a"), str(runs / "deep" / "b")]  # each once; the damaged one named
    assert f"not offering {runs / 'broken'}" in caplog.text and "not valid TOML" in caplog.text
    assert offers[str(runs / "deep" / "b")].directions == ("AtoB", "BtoA")
    assert all(o.directions == ("AtoB",) for o in catalogue_offers())  # a card's generator runs as it is


def test_the_command_refuses_bad_arguments_in_one_line(tmp_path: Path) -> None:
    def one_line(args: list[str], expected: str) -> None:
        result = CliRunner().invoke(main, ["serve", *args])
        assert result.exit_code != 0 and "Traceback" not in result.output, result.output
        assert expected in result.output and len(result.output.strip().splitlines()) == 1, result.output

    one_line([str(tmp_path / "missing")], "not a run directory")
    one_line(["--runs", str(tmp_path / "missing")], "no such folder")
    one_line(["--no-catalogue"], "nothing to serve")
    one_line(["--tile", "32", "--overlap", "32"], "--overlap 32 must be smaller than --tile 32")
    with make_server(Shelf([]), "127.0.0.1", 0) as taken:
        one_line(["--port", str(taken.server_address[1])], f"port {taken.server_address[1]} on 127.0.0.1 is in use")


@pytest.mark.slow
def test_the_command_serves_until_interrupted(tiny_run: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "translate", "serve", str(tiny_run), "--no-catalogue", "--port", "0"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        first = process.stdout.readline()
        assert "1 of 1 models ready" in first, first + process.stderr.read()
        url = re.search(r"open (http://127\.0\.0\.1:\d+/) ", first).group(1)
        request = urllib.request.Request(f"{url}api/translate?model={urllib.parse.quote(str(tiny_run))}&name=a.png",
                                         data=png_bytes(noise_image(0, (40, 24))), method="POST")
        with urllib.request.urlopen(request, timeout=120) as response:
            assert Image.open(io.BytesIO(response.read())).size == (40, 24)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0 and out.strip() == "stopped", (out, err)
    assert f"{tiny_run}: a.png 40x24 in" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [tmp_path / "runs"]  # nothing written where it ran
