"""Bad input gets one line naming the file or key and the fix; nothing already written is lost or overwritten."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from PIL import Image

from tests.bombs import write_bomb
from tests.conftest import noise_image
from translate.cli import main


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result: Any, *expected: str) -> str:
    """The result is exit status 1 and one line "Error: ..." holding every `expected` string; returns the line."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    for text in expected:
        assert text in lines[0], result.output
    return lines[0]


def tiny_run(folder: Path) -> Path:
    from tests.inference.test_translator import RESNET, make_run

    return make_run(folder, RESNET)


# ------------------------------------------------------------------------------------ decompression bombs


def test_predict_names_and_skips_a_bomb_and_writes_the_rest(tmp_path: Path) -> None:
    run = tiny_run(tmp_path / "run")
    (tmp_path / "in").mkdir()
    noise_image(0, (20, 16)).save(tmp_path / "in" / "a.png")
    write_bomb(tmp_path / "in" / "bomb.png")
    result = invoke("predict", run, tmp_path / "in", "--out", tmp_path / "out", "-q")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "bomb.png" in result.output and "60000 x 60000 pixels is over the limit" in result.output
    assert "wrote 1 image, skipped 1" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]


def test_predict_max_pixels_sets_the_limit_both_ways(tmp_path: Path) -> None:
    run = tiny_run(tmp_path / "run")
    noise_image(0, (20, 16)).save(tmp_path / "a.png")
    one_line_error(invoke("predict", run, tmp_path / "a.png", "--out", tmp_path / "low", "--max-pixels", "100", "-q"),
                   "a.png", "20 x 16 pixels is over the limit of 100", "--max-pixels 320", "--tile")
    result = invoke("predict", run, tmp_path / "a.png", "--out", tmp_path / "ok", "--max-pixels", "320",
                    "--tile", "16", "--overlap", "4", "-q")
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "ok" / "a.png") as out:
        assert out.size == (20, 16)


def test_data_check_lists_a_bomb_as_unreadable(tmp_path: Path) -> None:
    noise_image(0, (20, 16)).save(tmp_path / "a.png")
    write_bomb(tmp_path / "bomb.png")
    result = invoke("data", "check", tmp_path)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "bomb.png: 60000 x 60000 pixels is over the limit" in result.output


def test_the_training_loaders_skip_a_bomb_by_name(tmp_path: Path, caplog: Any) -> None:
    from translate.data.folders import ImageFolder

    noise_image(0, (20, 16)).save(tmp_path / "a.png")
    write_bomb(tmp_path / "b_bomb.png")
    data = ImageFolder([str(tmp_path)])
    with caplog.at_level(logging.WARNING, logger="translate"):
        item = data[1]
    assert item["A_path"].endswith("a.png")
    assert "b_bomb.png: 60000 x 60000 pixels is over the limit" in caplog.text
