"""HTML results pages of `translate predict --html` and `translate eval --html`: a row per image with its figures,
every picture readable offline, every text escaped."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
import torch

from tests.conftest import noise_image
from tests.evaluation.test_evaluate import make_run as make_coloring_run
from tests.inference.test_translator import RESNET, invoke, make_run, one_line_error
from translate.evaluation import inception
from translate.results_page import Cell, render


class Page(HTMLParser):
    """What a browser would fetch for a page, and its rows and texts."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []
        self.rows = 0
        self.tags: set[str] = set()
        self.text = ""
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        found = dict(attrs)
        if tag in ("img", "video") and found.get("src"):
            self.sources.append(found["src"] or "")
        if tag == "a":
            self.links.append(found.get("href") or "")
        self.rows += tag == "tr"

    def handle_data(self, data: str) -> None:
        self.text += data

    def files(self, folder: Path) -> list[Path]:
        """The pictures the page links to (not embedded), as paths."""
        return [folder / unquote(src) for src in self.sources + self.links if not src.startswith("data:")]


def assert_offline(page: Page, folder: Path) -> None:
    assert not page.tags & {"script", "link", "iframe"}  # nothing run, nothing fetched
    assert not [s for s in page.sources + page.links if re.match(r"[a-z]+://", s)]
    assert all(path.is_file() for path in page.files(folder)), page.files(folder)


def test_predict_html_shows_each_input_beside_its_output(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", RESNET)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    noise_image(0, (40, 24)).save(tmp_path / "in" / "a & <b>.png")
    noise_image(1, (24, 40)).save(tmp_path / "in" / "sub" / "c.tif")  # a format browsers do not show
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    result = invoke("predict", run, tmp_path / "in", "--out", tmp_path / "out", "--html", "--format", "same", "-q")
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'out' / 'index.html'}" in result.output

    raw = (tmp_path / "out" / "index.html").read_text()
    page = Page(tmp_path / "out" / "index.html")
    assert page.rows == 3  # the header and two images
    assert "a & <b>.png" in page.text and "a &amp; &lt;b&gt;.png" in raw and "<b>.png" not in raw  # escaped
    assert "40x24" in page.text and "24x40" in page.text and "broken.png" in page.text  # sizes; the file skipped
    assert_offline(page, tmp_path / "out")
    linked = {path.resolve() for path in page.files(tmp_path / "out")}
    assert linked == {(tmp_path / "out" / "a & <b>.png").resolve()}  # the PNG output; the TIFF one is embedded
    assert sum(src.startswith("data:image/") for src in page.sources) == 3  # both inputs and the TIFF output


def test_eval_html_has_the_table_and_a_row_per_image_with_its_figures(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(inception.INCEPTION_ENV, raising=False)  # no FID: this machine's weights are not looked for
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    run = make_coloring_run(tmp_path / "run")
    result = invoke("eval", run, "dodge", "--limit", "3", "--size", "32", "--html", tmp_path / "page",
                    "--out", tmp_path / "r.json", "-q")
    assert result.exit_code == 0, result.output
    reports = json.loads((tmp_path / "r.json").read_text())
    page = Page(tmp_path / "page" / "index.html")
    assert_offline(page, tmp_path / "page")
    assert page.rows == 2 * (1 + 3)  # a table per model: a header and three images
    assert len(page.files(tmp_path / "page")) == 2 * 2 * 3 * 3  # img and its link, per model, image and column
    assert "line F" in page.text and "model" in page.text  # the metrics table on top
    l1 = [float(v) for v in re.findall(r"L1 ([0-9.]+)", page.text)]
    assert len(l1) == 2 * 3
    for report, own in zip(reports, (l1[:3], l1[3:])):  # each image's L1 under its output; their mean is the report's
        assert sum(own) / 3 == pytest.approx(report["l1"], abs=1e-4)


def test_eval_html_refuses_a_full_folder_and_photos(tmp_path: Path) -> None:
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "mine.txt").write_text("keep")
    one_line_error(invoke("eval", "dodge", "--limit", "2", "--html", tmp_path / "page"), "--overwrite")
    assert [p.name for p in (tmp_path / "page").iterdir()] == ["mine.txt"]
    (tmp_path / "photos").mkdir()
    one_line_error(invoke("eval", "dodge", "--photos", tmp_path / "photos", "--html", tmp_path / "p2"),
                   "translate predict dodge")


def test_render_escapes_every_text_and_attribute() -> None:
    page = render('<t>"', ['<h>'], [('<s>', [[Cell('x".png', 10, ["<l1>", "&l2"])]])], preface="<p1>", notes=["<n>"])
    for bare in ("<t>", "<h>", "<s>", "<l1>", "&l2", "<p1>", "<n>", 'x".png'):
        assert bare not in page.split("<style>")[0] + page.split("</style>")[1]
    assert 'src="x&quot;.png"' in page and "&lt;l1&gt;" in page and "&amp;l2" in page
