"""Benchmark variants: named rows that differ by config assignments, one table, shared runs, one-line errors."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from translate.bench.benchmark import benchmark, combinations, make_options
from translate.cli import main

TINY = ["generator.width=4", "discriminator.width=4", "data.n_train=4", "data.n_test=2", "data.test_size=0"]


def test_each_variant_is_a_row_with_its_assignments_and_test_size():
    options = make_options({"models": ["pix2pix"], "styles": ["labels2photo"], "variants": [
        {"name": "L1", "set": ["trainer.gan_weight=0"]},
        {"name": "PixelGAN", "set": ["discriminator.name=pixel"]},
        {"name": "at 2x", "test_size": 128},
    ]}, {})
    plan = combinations(options, "quality", {}, ["generator.width=8"])
    assert [combo.label for combo, _ in plan] == ["L1", "PixelGAN", "at 2x"]
    (l1, l1_config), (pixel, pixel_config), (twice, twice_config) = plan
    assert l1_config["trainer"]["gan_weight"] == 0 and "gan_weight" not in twice_config["trainer"]
    assert pixel.discriminator == "pixel" and "n_layers" not in pixel_config["discriminator"]
    assert [c.test_size for c, _ in plan] == [0, 0, 128] and l1.slug != twice.slug
    assert all(config["generator"]["width"] == 8 for _, config in plan)  # --set reaches every variant


def test_variant_labels_name_the_combination_when_there_are_several():
    options = make_options({"models": ["pix2pix"], "styles": ["coloring"], "generators": ["unet", "resnet"],
                            "variants": [{"name": "L1", "set": ["trainer.gan_weight=0"]}]}, {})
    assert [c.label for c, _ in combinations(options, "quality", {})] == ["pix2pix L1", "pix2pix G=resnet L1"]


@pytest.mark.parametrize("variants, message", [
    ('[benchmark.variants]\nname = "L1"\n', "benchmark.variants must be a list of tables"),
    ('[[benchmark.variants]]\nset = ["trainer.gan_weight=0"]\n', "benchmark.variants entry 1 needs a name"),
    ('[[benchmark.variants]]\nname = "L1"\nsett = []\n', "variant 'L1': unknown key 'sett'; did you mean 'set'?"),
    ('[[benchmark.variants]]\nname = "L1"\nset = ["trainer.gan_weight"]\n',
     "variant 'L1': set entry 'trainer.gan_weight' is not KEY=VALUE"),
    ('[[benchmark.variants]]\nname = "L1"\nset = [0]\n', "variant 'L1': set must be a list of \"KEY=VALUE\" strings"),
    ('[[benchmark.variants]]\nname = "2x"\ntest_size = 4\n', "variant '2x': test_size = 4"),
    ('[[benchmark.variants]]\nname = "L1"\n[[benchmark.variants]]\nname = "L1"\n', "variant 'L1' is listed twice"),
    ('[[benchmark.variants]]\nname = "L1"\nset = ["trainer.gan_weigth=0"]\n',
     "variant 'L1': [trainer] trainer 'pix2pix' takes no keyword 'gan_weigth'; did you mean 'gan_weight'?"),
])
def test_bad_variant_specs_are_one_line_errors(tmp_path, variants, message):
    config = tmp_path / "bad.toml"
    config.write_text('[benchmark]\ntables = ["quality"]\nmodels = ["pix2pix"]\nstyles = ["labels2photo"]\n' + variants)
    result = CliRunner().invoke(main, ["benchmark", "--config", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}") and result.output.count("\n") == 1, result.output
    assert not (tmp_path / "out").exists()  # refused before any work


@pytest.mark.slow
def test_variants_train_once_per_config_and_share_one_table(tmp_path, tiny_judges):
    report = benchmark(tmp_path, tables=["quality"], models=["pix2pix"], styles=["labels2photo"], steps=2, evals=1,
                       limit=2, grid_images=2, quality_size=32, assignments=TINY, variants=[
                           {"name": "L1", "set": ["trainer.gan_weight=0"]},
                           {"name": "L1+cGAN"},
                           {"name": "L1+cGAN at 2x", "test_size": 64},
                       ])
    l1, both, twice = report["quality"]["rows"]
    assert [r["label"] for r in (l1, both, twice)] == ["L1", "L1+cGAN", "L1+cGAN at 2x"]
    assert l1["discriminator"] == "none" and both["discriminator"] == "patch"  # L1 alone trained no D
    assert twice["shares_run"] == "L1+cGAN" and twice["run"] == both["run"]
    assert len(list((tmp_path / "runs").iterdir())) == 2  # the 2x row was scored, not trained again
    assert [r["test_size"] for r in (l1, both, twice)] == [32, 32, 64]
    assert twice["evaluation"]["image_size"] == [64, 64]
    md = (tmp_path / "report.md").read_text()
    assert "| FCN pixel acc | FCN class acc | FCN class IoU |" in md
    assert "| L1 | unet | none | 32 |" in md and "| L1+cGAN at 2x | unet | patch | 64 | L1+cGAN's run |" in md
    assert "FCN-score of the true photos at 32 px" in md and "FCN-score of the true photos at 64 px" in md
    assert "(grid_labels2photo.png)" in md and "(grid_labels2photo_64px.png)" in md
    assert (tmp_path / "grid_labels2photo.png").is_file() and (tmp_path / "grid_labels2photo_64px.png").is_file()
