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


# ---------------------------------------------------------------------- nothing silently overwritten


def test_data_make_refuses_a_folder_with_files_and_overwrite_replaces_the_set(tmp_path: Path) -> None:
    out = tmp_path / "set"
    make = ("data", "make", "scenes", "--task", "photo2shinkai", "--size", "16", "--n-test", "1", "--out", out)
    assert invoke(*make, "--n", "4").exit_code == 0
    (out / "notes.txt").write_text("mine")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    one_line_error(invoke(*make, "--n", "2"), str(out), "--overwrite")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing written or lost
    result = invoke(*make, "--n", "2", "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "trainA").iterdir()) == ["00000.png", "00001.png"]  # old and new never mix
    assert (out / "notes.txt").read_text() == "mine"  # only the numbered images of the old set are replaced


def test_write_task_refuses_for_python_users_too(tmp_path: Path) -> None:
    import pytest

    from translate.data.scenes import write_task
    from translate.errors import DataError

    (tmp_path / "keep.png").write_bytes(b"mine")
    with pytest.raises(DataError, match="not empty.*--overwrite"):
        write_task("photo2sketch", n=1, size=16, seed=0, out=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]


def test_data_preview_refuses_an_existing_file_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    out.write_bytes(b"mine")
    one_line_error(invoke("data", "preview", "--seeds", "0", "--size", "16", "--out", out), "grid.png exists",
                   "--overwrite")
    assert out.read_bytes() == b"mine"
    assert invoke("data", "preview", "--seeds", "0", "--size", "16", "--out", out, "--overwrite").exit_code == 0
    with Image.open(out) as grid:
        assert grid.format == "PNG"


def test_eval_refuses_an_existing_report_before_scoring(tmp_path: Path, monkeypatch: Any) -> None:
    import translate.evaluation.evaluate as evaluate

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("scored although the report could not be written")

    monkeypatch.setattr(evaluate, "evaluate_run", never)
    out = tmp_path / "report.json"
    out.write_text("{}")
    one_line_error(invoke("eval", "dodge", "--style", "coloring", "--out", out), "report.json exists", "--overwrite")
    assert out.read_text() == "{}"
    one_line_error(invoke("eval", "dodge", "--style", "coloring", "--out", f"{tmp_path}/"), "is a folder")


# ------------------------------------------------------------------------- one line, never a traceback


def test_data_preview_bad_out_and_size_are_one_line(tmp_path: Path) -> None:
    one_line_error(invoke("data", "preview", "--out", f"{tmp_path}/"), "is a folder", "preview.png")
    (tmp_path / "existing").mkdir()
    one_line_error(invoke("data", "preview", "--out", tmp_path / "existing"), "is a folder")
    one_line_error(invoke("data", "preview", "--size", "0", "--out", tmp_path / "g.png"), "--size 0")
    one_line_error(invoke("data", "preview", "--size", "16", "--out", tmp_path / "g.xyz"), ".xyz", ".png")
    one_line_error(invoke("data", "make", "scenes", "--task", "photo2sketch", "--size", "0", "--out",
                          tmp_path / "set"), "--size 0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]


def test_predict_batch_size_that_is_not_auto_or_a_whole_number_is_one_line(tmp_path: Path) -> None:
    run = tiny_run(tmp_path / "run")
    noise_image(0, (20, 16)).save(tmp_path / "a.png")
    for bad in ("0", "eight", "-2"):
        one_line_error(invoke("predict", run, tmp_path / "a.png", "--out", tmp_path / "out", "--batch-size", bad),
                       f"--batch-size {bad}", "use auto or a whole number")
    assert not (tmp_path / "out").exists()


def test_predict_on_a_device_this_machine_lacks_is_one_line(tmp_path: Path) -> None:
    import torch

    if torch.backends.mps.is_available():
        import pytest

        pytest.skip("this machine has MPS")
    run = tiny_run(tmp_path / "run")
    noise_image(0, (20, 16)).save(tmp_path / "a.png")
    one_line_error(invoke("predict", run, tmp_path / "a.png", "--out", tmp_path / "out", "--device", "mps"),
                   "device 'mps'", "use cpu or auto")
    assert not (tmp_path / "out").exists()


def test_pull_with_a_file_that_is_no_checkpoint_is_one_line(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path / "home"))
    junk = tmp_path / "not_a_checkpoint.pth"
    junk.write_bytes(b"this is not a checkpoint" * 10)
    line = one_line_error(invoke("pull", "apple2orange", "--file", junk), "not_a_checkpoint.pth")
    assert "weights_only" not in line and "unpickl" not in line.lower(), line
