"""`translate eval NAME --photos DIR`: a table and JSON of the look's proxies on photographs without ground truth,
and one-line errors for folders that cannot be scored."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from translate.cli import main
from translate.data import scenes
from translate.evaluation import photo_proxies as proxies
from translate.evaluation.photos import MAX_SIDE

MODEL = "scenes-shinkai"  # shipped with the package: runs offline at once


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def photos(tmp_path):
    """Three small photographs of the scenes world's training split, of two sizes, one in a sub-folder, as JPEG
    and PNG."""
    folder = tmp_path / "photos"
    (folder / "trip").mkdir(parents=True)
    for index, (size, name) in enumerate((((40, 56), "a.png"), ((48, 48), "b.jpg"), ((40, 56), "trip/c.png"))):
        photo = scenes.render(scenes.scene_seed(0, "train", index), size).photo
        Image.fromarray(photo).save(folder / name, quality=95)
    return folder


def assert_one_line_error(result, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    for text in expected:
        assert text in result.output


def test_the_table_has_a_row_per_proxy_and_a_column_for_inputs_outputs_and_renderings(photos):
    result = run("eval", MODEL, "--photos", str(photos), "--quiet")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"photos: {photos}, 3 photos") and MODEL in lines[0]
    assert lines[1].split() == ["proxy", "input", "output", "renderings"]
    rows = {line[:16].strip(): line[16:].split() for line in lines[2:7]}
    assert list(rows) == ["colourfulness", "palette flatness", "outline density", "edge sharpness", "content kept"]
    assert rows["content kept"][0] == "-"  # an input keeps all of itself by definition
    assert all(float(cell) >= 0 for row in rows.values() for cell in row if cell != "-")
    assert any(line.startswith("content kept: SSIM of the Sobel edge maps") for line in lines)


def test_json_reports_each_proxy_three_ways_and_the_inputs_as_read(photos):
    result = run("eval", MODEL, "--photos", str(photos), "--json", "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n_photos"] == 3 and report["n_renderings"] == 3 and report["skipped"] == []
    assert report["max_side"] == MAX_SIDE and report["scaled_down"] == 0 and report["test_mode"] == "eval"
    assert set(report["proxies"]) == set(proxies.PROXIES)
    for name, columns in report["proxies"].items():
        assert set(columns) == {"input", "output", "renderings"}, name
    assert report["proxies"]["content_kept"]["input"] is None
    assert 0 < report["proxies"]["content_kept"]["output"] <= 1
    # the input column is the photos' own proxies, measured at their own size
    files = [photos / "a.png", photos / "b.jpg", photos / "trip" / "c.png"]
    assert [entry["file"] for entry in report["per_photo"]] == [str(f) for f in files]
    assert [entry["size"] for entry in report["per_photo"]] == [[40, 56], [48, 48], [40, 56]]
    expected = np.mean([proxies.colourfulness(np.asarray(Image.open(f).convert("RGB"))) for f in files])
    assert report["proxies"]["colourfulness"]["input"] == pytest.approx(expected)
    # the world's Shinkai renderings are more colourful and more outlined than its photos
    assert report["proxies"]["colourfulness"]["renderings"] > report["proxies"]["colourfulness"]["input"]
    assert report["proxies"]["outline_density"]["renderings"] > report["proxies"]["outline_density"]["input"]


def test_size_caps_the_long_side_and_unreadable_files_are_skipped_by_name(photos):
    (photos / "a2.jpg").write_bytes(b"not a jpeg")  # sorted between a.png and b.jpg
    result = run("eval", MODEL, "--photos", str(photos), "--size", "32", "--limit", "2", "--json", "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])  # after the warning naming the skipped file
    assert report["n_photos"] == 2 and report["scaled_down"] == 2
    assert [entry["size"] for entry in report["per_photo"]] == [[23, 32], [32, 32]]  # aspect kept
    assert report["skipped"] == [[str(photos / "a2.jpg"),
                                  "not an image PIL can read; remove it or convert it to PNG/JPEG"]]


def test_folders_that_cannot_be_scored_are_one_line_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(run("eval", MODEL, "--photos", str(empty)), "no image files", "put photographs in it")
    assert_one_line_error(run("eval", MODEL, "--photos", str(tmp_path / "missing")), "no such folder")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("a.png", "b.jpg"):
        (broken / name).write_bytes(b"not an image")
    assert_one_line_error(run("eval", MODEL, "--photos", str(broken)), "none of its 2 image files could be read",
                          "a.png (not an image PIL can read", "re-export them")
    assert_one_line_error(run("eval", MODEL, "--photos", str(broken / "a.png")), "a.png: not an image PIL can read")
    assert_one_line_error(run("eval", MODEL, "--photos", str(empty), "--style", "shinkai"),
                          "--photos does not combine with --style")
