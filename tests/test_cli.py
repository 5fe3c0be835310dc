"""The CLI through click's test runner: listings, config resolution, data commands, one-line errors."""

import json

import numpy as np
from click.testing import CliRunner
from PIL import Image

from translate.cli import main
from translate.data import scenes


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_models_lists_every_kind_with_docs():
    result = run("models")
    assert result.exit_code == 0, result.output
    for heading in ("models:", "generators:", "discriminators:", "losses:", "trainers:", "datasets:", "styles:"):
        assert heading in result.output
    assert "shinkai" in result.output and "scenes" in result.output


def test_models_json_is_machine_readable():
    listing = json.loads(run("models", "--json").output)
    assert {"generator", "discriminator", "loss", "trainer", "dataset", "style", "model"} <= set(listing)
    assert {"name", "doc"} <= set(listing["style"][0])


def test_train_resolves_and_prints_its_config():
    result = run("train", "--model", "cyclegan", "--style", "shinkai", "--size", "32", "--steps", "3",
                 "--set", "generator.width=8", "--dry-run")
    assert result.exit_code == 0, result.output
    assert 'name = "cyclegan"' in result.output and "crop_size = 32" in result.output
    assert "steps = 3" in result.output and "width = 8" in result.output


def test_bad_names_and_keys_are_one_line_errors_without_traceback():
    for args, expected in (
        (["--model", "cyclegn", "--style", "shinkai"], "did you mean 'cyclegan'?"),
        (["--model", "cyclegan", "--style", "shinkai", "--generator", "unet256"], "did you mean 'unet'?"),
        (["--model", "cyclegan", "--style", "shinkai", "--set", "train.setps=3"], "did you mean 'train.steps'?"),
        (["--model", "cyclegan", "--style", "shinkai", "--set", "generator.widht=3"], "did you mean 'width'?"),
        (["--model", "cyclegan", "--style", "shinkai", "--config", "/no/such.toml"], "does not exist"),
    ):
        result = run("train", *args, "--dry-run")
        assert result.exit_code == 1, result.output
        assert expected in result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_data_make_writes_a_set_that_data_check_accepts(tmp_path):
    out = tmp_path / "coloring"
    result = run("data", "make", "scenes", "--task", "photo2sketch", "--n", "3", "--size", "32", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert len(list((out / "train").glob("*.png"))) == 3
    assert run("data", "check", str(out)).exit_code == 0
    bad = run("data", "make", "scenes", "--task", "photo2skecth", "--n", "1", "--out", str(out))
    assert bad.exit_code == 1 and "did you mean 'photo2sketch'?" in bad.output


def test_data_preview_writes_a_png(tmp_path):
    out = tmp_path / "grid.png"
    result = run("data", "preview", "--seeds", "0,1", "--size", "32", "--out", str(out))
    assert result.exit_code == 0, result.output
    grid = Image.open(out)
    # two rows (seeds 0 and 1) of four 32 px renderings, 4 px gaps, under a 14 px header
    assert grid.format == "PNG" and grid.mode == "RGB" and grid.size == (4 * 32 + 5 * 4, 14 + 2 * 36 + 4)
    pixels = np.asarray(grid)
    for row, seed in enumerate((0, 1)):
        scene = scenes.render(seed, 32)
        for column, kind in enumerate(scenes.KINDS):
            left, top = 4 + column * 36, 14 + 4 + row * 36
            cell = pixels[top:top + 32, left:left + 32]
            assert np.array_equal(cell, np.asarray(scene.image(kind).convert("RGB"))), (seed, kind)
    assert not np.array_equal(pixels[18:50, 40:72], pixels[54:86, 40:72])  # two different scenes


def test_python_dash_m_is_the_same_command():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "translate", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "Train a model on a style" in done.stdout
