"""The recipes in docs/recipes/: each adds a part the way a newcomer would, and the part works where users meet it.

Each recipe is loaded once per process by path (`recipe`), so its registration runs once: registries are global,
and a name registered twice is refused. The parts stay registered for later tests, and pass their checks of
every registered part (tests/models/test_models.py, tests/test_registry.py).
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from click.testing import CliRunner

import translate
from translate import config as cfg
from translate.cli import main as translate_command
from translate.data.datasets import build_dataset
from translate.errors import TranslateError
from translate.files import load_weights
from translate.models.base import Generator
from translate.registry import load_parts
from translate.rundir import network_names, read_config

RECIPES = Path(__file__).resolve().parent.parent / "docs" / "recipes"


def recipe(name: str) -> ModuleType:
    """docs/recipes/<name>.py as a module, imported once per process."""
    module_name = f"translate_recipe_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, RECIPES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    return sys.modules[module_name]


@pytest.fixture(autouse=True)
def seeded_on_one_thread():
    # one thread: on a shared machine two spin-waiting OpenMP threads make these tiny steps several times slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def train_records(run: Path) -> list[dict]:
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [r for r in records if r["kind"] == "train"]


def losses_are_finite(records: list[dict], names: set[str]) -> bool:
    return all(names <= set(r) and all(math.isfinite(r[n]) for n in names) for r in records)


def cli(*args: str):
    return CliRunner().invoke(translate_command, list(args))


def test_every_recipe_is_tested():
    assert sorted(p.stem for p in RECIPES.glob("*.py")) == ["add_discriminator", "add_generator", "add_style",
                                                             "add_trainer"]
    assert recipe("add_generator") is recipe("add_generator")  # a second import registers nothing twice


def test_a_new_generator_trains_and_translates_any_size(tmp_path):
    module = recipe("add_generator")
    result = module.main(tmp_path / "run")
    run = result["run"]
    assert (run / "checkpoints" / "latest.safetensors").is_file() and (run / "samples" / "latest.png").is_file()
    assert read_config(run)["generator"] == {"name": "tiny", "width": 8}
    records = train_records(run)
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert losses_are_finite(records, {"G_GAN", "G_L1", "D_real", "D_fake"})
    assert isinstance(result["translator"].generator, module.TinyGenerator)
    assert result["output"].shape == (1, 45, 30)  # coloring: grey line art, at the input's size

    # the contract of every generator: any size in, the same size out, in [-1, 1]
    net = translate.create("generator", "tiny", in_channels=1, out_channels=1, width=4).eval()
    assert isinstance(net, Generator)
    for size in [(32, 32), (7, 5), (1, 1)]:
        with torch.no_grad():
            out = net(torch.randn(2, 1, *size))
        assert out.shape == (2, 1, *size) and out.abs().max() <= 1

    # the command line takes it by name, and checks its keywords like any part's
    dry = cli("train", "--model", "pix2pix", "--style", "coloring", "--generator", "tiny", "--dry-run")
    assert dry.exit_code == 0 and 'name = "tiny"' in dry.output
    typo = cli("train", "--model", "pix2pix", "--style", "coloring", "--generator", "tiny",
               "--set", "generator.widht=4", "--dry-run")
    assert typo.exit_code == 1 and "did you mean 'width'?" in typo.output


def test_a_new_discriminator_trains_through_the_translate_command(tmp_path):
    module = recipe("add_discriminator")
    run = module.main(tmp_path / "run")
    assert read_config(run)["discriminator"] == {"name": "sn_patch", "width": 8, "n_layers": 2}
    assert network_names(run) == ["D_A", "D_B", "G_A", "G_B"]
    weights = load_weights(run / "checkpoints" / "latest.safetensors")
    assert any(k.startswith("D_A.") and k.endswith("parametrizations.weight.original") for k in weights)
    records = train_records(run)
    assert len(records) == 4 and losses_are_finite(records, {"D_A", "D_B", "G_A", "G_B"})
    image = torch.rand(3, 37, 29) * 2 - 1
    assert translate.load(run)(image).shape == image.shape

    # what it promises: the PatchGAN's patches, any input size, weights of spectral norm 1
    d = translate.create("discriminator", "sn_patch", in_channels=6, width=4).eval()
    assert d.receptive_field == 70
    assert d(torch.randn(2, 6, 5, 3)).shape[:2] == (2, 1)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = [torch.linalg.matrix_norm(c.weight.detach().flatten(1), ord=2).item() for c in convs]
    assert len(norms) == 5 and all(abs(n - 1) < 0.05 for n in norms)


def test_a_new_trainer_trains_resumes_and_predicts(tmp_path):
    module = recipe("add_trainer")
    result = module.main(tmp_path / "run")
    run = result["run"]
    assert read_config(run)["trainer"] == {"name": "regression"}
    assert network_names(run) == ["G"]  # no discriminator: the trainer built only what it uses
    records = train_records(run)
    assert [r["step"] for r in records] == [1, 2, 3, 4]  # two steps, then two more after resuming
    assert losses_are_finite(records, {"G_L1"}) and "D_real" not in records[0]
    assert json.loads((run / "checkpoints" / "latest.json").read_text())["step"] == 4
    image = torch.rand(3, 40, 24) * 2 - 1
    assert result["translator"](image).shape == (1, 40, 24)  # coloring: grey line art

    # its tunables are config keys, checked like any part's
    with pytest.raises(TranslateError, match="did you mean 'loss'"):
        cfg.resolve("pix2pix", "coloring", assignments=["trainer.name=regression", "trainer.los=l2"])
    assert cfg.resolve("pix2pix", "coloring", assignments=["trainer.name=regression", "trainer.loss=l2"])


def test_a_new_style_reaches_the_trainer(tmp_path, monkeypatch):
    module = recipe("add_style")
    real = cfg.configs_dir()
    load_parts()  # register the shipped styles before the configs move
    configs = tmp_path / "configs"
    shutil.copytree(real, configs)
    monkeypatch.setattr(cfg, "CONFIG_ROOTS", (configs,))

    result = module.main(tmp_path / "run")
    assert result["style_file"] == configs / "styles" / "photo2labels.toml"
    assert not (real / "styles" / "photo2labels.toml").exists()
    run = result["run"]
    saved = cfg.from_run(read_config(run))
    assert saved["style"] == "photo2labels"
    data = saved["data"]
    assert (data["task"], data["direction"], data["crop_size"]) == ("labels2photo", "BtoA", 32)
    assert saved["generator"]["width"] == 8 and saved["discriminator"]["n_layers"] == 2  # the style's, under --set
    item = build_dataset(data, "test")[0]  # what the loop feeds the trainer, from the run's own config
    assert item["A_path"].endswith("/photo") and item["B_path"].endswith("/labels")
    assert losses_are_finite(train_records(run), {"G_GAN", "G_L1"})
    assert result["translator"](torch.rand(3, 32, 32) * 2 - 1).shape == (3, 32, 32)

    # the command line finds it by name, and suggests it for a typo
    dry = cli("train", "--model", "pix2pix", "--style", "photo2labels", "--dry-run")
    assert dry.exit_code == 0 and 'style = "photo2labels"' in dry.output and 'direction = "BtoA"' in dry.output
    typo = cli("train", "--model", "pix2pix", "--style", "photo2label", "--dry-run")
    assert typo.exit_code == 1 and "did you mean 'photo2labels'?" in typo.output

    # where the package's configs/ cannot be written: the same tables as a --config file
    own = tmp_path / "my_style.toml"
    own.write_text(module.STYLE)
    assert cfg.resolve("pix2pix", config_file=own)["data"]["direction"] == "BtoA"
