"""Config layering: defaults < model < style < --config < command line < --set, and its errors."""

import tomllib

import pytest

from translate import config as cfg
from translate.resume import for_resume
from translate.errors import ConfigError, TranslateError
from translate.rundir import dumps_toml


def test_layers_apply_in_order(tmp_path):
    user = tmp_path / "mine.toml"
    user.write_text('[train]\nsteps = 7\nbatch_size = 3\n[data]\ncrop_size = 48\n')
    config = cfg.resolve(
        "pix2pix", "coloring", user, overrides={"train": {"batch_size": 5}}, assignments=["train.seed=9"]
    )
    assert config["optim"]["lr"] == 2e-4  # built-in default
    assert config["generator"]["name"] == "unet"  # model file
    assert config["data"]["task"] == "photo2sketch"  # style file
    assert config["train"]["steps"] == 7  # --config file
    assert config["train"]["batch_size"] == 5  # command line over --config
    assert config["train"]["seed"] == 9  # --set, last
    assert config["data"]["crop_size"] == 48  # --config over the style


def test_set_values_are_toml_and_fall_back_to_strings():
    table = cfg.assignments_to_table(["generator.width=32", "data.root=/some/where", "data.flip=false", "optim.lr=1e-3"])
    assert table == {"generator": {"width": 32}, "data": {"root": "/some/where", "flip": False}, "optim": {"lr": 1e-3}}
    with pytest.raises(ConfigError, match="expected key.sub=value"):
        cfg.assignments_to_table(["generator.width"])


def test_set_reaches_the_part_constructor():
    config = cfg.resolve("pix2pix", "coloring", assignments=["generator.width=32"])
    assert config["generator"] == {"name": "unet", "width": 32, "norm": "batch", "dropout": True, "upsample": "resize"}


def test_unknown_keys_are_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"unknown config key 'train.stpes' in --set; did you mean 'train.steps'\?"):
        cfg.resolve("pix2pix", "coloring", assignments=["train.stpes=3"])
    with pytest.raises(ConfigError, match=r"unknown config key 'dat' .*did you mean 'data'"):
        cfg.resolve("pix2pix", "coloring", assignments=["dat.root=x"])


def test_a_held_out_size_too_small_is_refused():
    with pytest.raises(ConfigError, match=r"^data.test_size=4: use 0 \(the crop size\) or a size >= 8$"):
        cfg.resolve("pix2pix", "coloring", assignments=["data.test_size=4"])


def test_unknown_part_keyword_names_the_valid_ones():
    with pytest.raises(TranslateError, match=r"takes no keyword 'widht'; did you mean 'width'\?.*valid:"):
        cfg.resolve("pix2pix", "coloring", assignments=["generator.widht=32"])


def test_unknown_model_and_style_and_part_names():
    with pytest.raises(ConfigError, match=r"unknown model 'pix2px'; did you mean 'pix2pix'"):
        cfg.resolve("pix2px", "coloring")
    with pytest.raises(ConfigError, match=r"unknown style 'shinkay'; did you mean 'shinkai'"):
        cfg.resolve("cyclegan", "shinkay")
    with pytest.raises(ConfigError, match=r"unknown generator 'resnt'; did you mean 'resnet'"):
        cfg.resolve("cyclegan", "shinkai", overrides={"generator": {"name": "resnt"}})


def test_swapping_a_part_drops_the_old_parts_keywords():
    # cyclegan's resnet sets n_blocks; a unet must not receive it.
    config = cfg.resolve("cyclegan", "shinkai", overrides={"generator": {"name": "unet"}})
    assert config["generator"] == {"name": "unet"}
    config = cfg.resolve("cyclegan", "shinkai", assignments=["generator.n_blocks=6"])
    assert config["generator"]["name"] == "resnet" and config["generator"]["n_blocks"] == 6


def test_types_and_choices_are_checked():
    with pytest.raises(ConfigError, match=r"'train.steps' in --set must be int"):
        cfg.resolve("pix2pix", "coloring", assignments=["train.steps=many"])
    with pytest.raises(ConfigError, match=r"'data.direction' is 'AB'; choose one of: AtoB, BtoA"):
        cfg.resolve("pix2pix", "coloring", assignments=["data.direction=AB"])
    assert cfg.resolve("pix2pix", "coloring", assignments=["optim.lr=1"])["optim"]["lr"] == 1  # int for float


def test_a_broken_config_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nsteps = 1\n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        cfg.resolve("pix2pix", "coloring", bad)
    with pytest.raises(ConfigError, match="does not exist"):
        cfg.resolve("pix2pix", "coloring", tmp_path / "missing.toml")


def test_the_resolved_config_round_trips_through_toml():
    config = cfg.resolve("cyclegan", "shinkai", assignments=["generator.width=16"])
    again = cfg.from_run(tomllib.loads(dumps_toml(config)))
    assert again == config


def test_no_model_is_an_error_listing_models():
    with pytest.raises(ConfigError, match="no model given; use --model with one of: .*pix2pix"):
        cfg.resolve(None, "shinkai")


def test_a_preset_layers_after_the_style():
    small = cfg.resolve("cyclegan", "shinkai")
    paper = cfg.resolve("cyclegan", "shinkai", preset="paper")
    assert small["data"]["crop_size"] < 256 and paper["data"]["crop_size"] == 256
    assert paper["generator"]["width"] == 64 and paper["data"]["task"] == "photo2shinkai"
    with pytest.raises(ConfigError, match="unknown preset 'papr'; did you mean 'paper'"):
        cfg.resolve("cyclegan", "shinkai", preset="papr")


def test_a_style_can_hold_settings_for_one_model(monkeypatch, tmp_path):
    assert cfg.resolve("cartoongan", "shinkai")["train"]["epochs"] == 20  # [models.cartoongan.train]
    cyclegan = cfg.resolve("cyclegan", "shinkai")
    assert (cyclegan["train"]["epochs"], cyclegan["data"]["n_train"], cyclegan["data"]["test_size"]) == (1, 2400, 128)
    assert cyclegan["generator"]["n_blocks"] == 3 and cyclegan["generator"]["upsample"] == "resize"
    cartoongan = cfg.resolve("cartoongan", "shinkai")
    assert cartoongan["data"]["n_train"] == 200  # [models.cyclegan.data] is CycleGAN's
    assert cartoongan["trainer"]["speckled_negatives"] > 0 and cartoongan["data"]["test_size"] == 128
    assert cfg.resolve("cartoongan", "shinkai", preset="paper")["trainer"]["speckled_negatives"] == 0
    paper = cfg.resolve("cyclegan", "shinkai", preset="paper")  # the papers' held-out size and upsampling back
    assert (paper["data"]["test_size"], paper["generator"]["upsample"]) == (0, "transpose")
    assert paper["trainer"]["tv_weight"] == 0 and cfg.resolve("cyclegan", "shinkai")["trainer"]["tv_weight"] > 0
    assert paper["trainer"]["speckled_negatives"] == 0 < cyclegan["trainer"]["speckled_negatives"]
    assert cfg.resolve("cyclegan", "shinkai", preset="paper")["generator"]["n_blocks"] == 9  # after the style's
    assert cfg.resolve("cyclegan", "shinkai", preset="paper")["train"]["epochs"] == 0
    assert cfg.resolve("cartoongan", "shinkai", assignments=["train.epochs=3"])["train"]["epochs"] == 3

    root = tmp_path / "configs"
    for group in ("models", "styles", "presets"):
        (root / group).mkdir(parents=True)
    for name in ("pix2pix", "cyclegan"):
        (root / "models" / f"{name}.toml").write_text((cfg.configs_dir() / "models" / f"{name}.toml").read_text())
    monkeypatch.setattr(cfg, "CONFIG_ROOTS", (root,))
    (root / "styles" / "bad.toml").write_text("[models.pix2pox.train]\nepochs = 2\n")
    with pytest.raises(ConfigError, match="unknown config key 'models.pix2pox'.*did you mean 'models.pix2pix'"):
        cfg.resolve("cyclegan", "bad")
    (root / "styles" / "bad.toml").write_text("[models.pix2pix.train]\nepochs = 2\nepohcs = 3\n")
    with pytest.raises(ConfigError, match=r"'train.epohcs' in configs/styles/bad.toml \[models.pix2pix\]"):
        cfg.resolve("cyclegan", "bad")


# ------------------------------------------------------------------------------------------- resume


def test_a_resume_may_change_how_long_and_how_it_trains():
    run = cfg.resolve("pix2pix", "coloring", overrides={"train": {"steps": 4}})
    config = for_resume(run, {"train": {"steps": 8, "device": "cpu", "quiet": True}},
                            ["data.workers=2", "train.log_every=1"])
    assert config["train"]["steps"] == 8 and config["train"]["device"] == "cpu" and config["data"]["workers"] == 2
    assert config["train"]["quiet"] and config["train"]["log_every"] == 1
    assert config["generator"] == run["generator"] and config["data"]["crop_size"] == run["data"]["crop_size"]
    # --epochs alone on a run that counted steps: epochs count from then on
    by_epochs = for_resume(run, {"train": {"epochs": 3}})
    assert by_epochs["train"]["steps"] == 0 and by_epochs["train"]["epochs"] == 3


def test_a_resume_refuses_what_would_change_the_networks_or_the_data_in_one_line():
    run = cfg.resolve("pix2pix", "coloring")
    with pytest.raises(ConfigError) as e:
        for_resume(run, {"data": {"crop_size": 48}}, ["generator.width=32", "train.batch_size=4"])
    message = str(e.value)
    assert "\n" not in message and "--resume" in message and "new run" in message
    assert all(k in message for k in ("generator.width", "data.crop_size", "train.batch_size"))
    with pytest.raises(ConfigError, match="cannot change model"):
        for_resume(run, {"model": "cyclegan"})
    assert for_resume(run, {"model": "pix2pix"})["model"] == "pix2pix"  # naming the run's own model is fine


def test_a_runs_record_of_resumes_reads_back():
    run = cfg.resolve("pix2pix", "coloring")
    text = dumps_toml({**run, "resumes": [{"step": 4, "time": "t", "changed": ["train.steps = 8 (was 4)"]}]})
    assert "[[resumes]]" in text
    again = cfg.from_run(tomllib.loads(text))
    assert again["resumes"][0]["step"] == 4
    assert for_resume(tomllib.loads(text), {"train": {"steps": 9}})["train"]["steps"] == 9


def test_bgr_channel_order_is_refused_for_training_in_one_line(tmp_path):
    from translate.trainers.loop import train

    config = cfg.resolve("pix2pix", "coloring", assignments=["data.channel_order=BGR", f"train.out={tmp_path / 'run'}"])
    with pytest.raises(ConfigError, match=r"^data.channel_order = 'BGR' is for imported models.*'RGB'$"):
        train(config)
    assert not (tmp_path / "run").exists()  # refused before anything is written
