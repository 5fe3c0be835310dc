"""The catalogue and `pull`: real cards are valid; tmp cards with tiny networks are pulled from a local HTTP
server on 127.0.0.1 (never any outside address), resumed, verified, refused, and reproduce the originals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import torch
from click.testing import CliRunner
from tests.models.test_cartoon import AuthorsTransformer, authors_pipeline, our_pipeline, run_from
from tests.models.test_cartoon import randomised as randomised_authors
from tests.zoo.test_download import FileServer, free_port
from tests.zoo.test_importers import RefResnet, RefUnet, randomised

from translate import files
from translate.zoo import cards as zoo_cards, pull
from translate.cli import main
from translate.config import from_run
from translate.zoo.download import DownloadError
from translate.errors import CheckpointError, ConfigError, TranslateError
from translate.registry import GENERATORS, TRAINERS, UnknownNameError
from translate.rundir import read_config, save_networks

REAL_CATALOGUE = Path(__file__).resolve().parents[2] / "registry"
PIX2PIX = ["edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night"]
CYCLEGAN = ["apple2orange", "orange2apple", "summer2winter_yosemite", "winter2summer_yosemite", "horse2zebra",
            "zebra2horse", "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh", "sat2map",
            "map2sat", "cityscapes_photo2label", "cityscapes_label2photo", "facades_photo2label",
            "facades_label2photo", "iphone2dslr_flower"]
CARTOON = {"shinkai": "Shinkai", "hayao": "Hayao", "hosoda": "Hosoda", "paprika": "Paprika"}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A tmp cache and catalogue, seeded torch, and no proxy between us and 127.0.0.1."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv(files.HOME_ENV, str(tmp_path / "home"))
    (tmp_path / "cards").mkdir()
    monkeypatch.setenv(zoo_cards.CATALOGUE_ENV, str(tmp_path / "cards"))
    torch.manual_seed(0)


@pytest.fixture
def server():
    with FileServer() as s:
        yield s


@pytest.fixture
def cards(tmp_path: Path) -> Path:
    return tmp_path / "cards"


def write_card(folder: Path, name: str, url: str = "", fmt: str = "reference", generator: dict | None = None,
               trainer: str = "cyclegan", sha256: str = "", **extra: Any) -> Path:
    """A valid card for a tiny network; `extra` overrides top-level keys or whole tables."""
    card: dict[str, Any] = {
        "name": name, "task": "a -> b", "trained_on": "nothing real", "licence": "test", "citation": "test",
        "recipe": "test", "metrics": {}, "metrics_note": "not measured here: a test card",
        "trainer": {"name": trainer},
        "generator": generator or {"name": "resnet", "width": 8, "n_blocks": 2, "norm": "instance", "dropout": False},
        "source": {"format": fmt, "url": url, "sha256": sha256},
        "input": {"channel_order": "RGB", "value_range": [-1.0, 1.0], "direction": "AtoB"},
    }
    card.update(extra)
    path = folder / (name.replace("/", "--") + ".toml")
    path.write_text(tomli_w.dumps(card))
    return path


def reference_file(width: int = 8, old_statistics: bool = True) -> tuple[torch.nn.Module, bytes]:
    """A reference CycleGAN generator and its saved state dict (with old instance-norm statistics)."""
    net = randomised(RefResnet(3, 3, ngf=width, n_blocks=2))
    state = dict(net.state_dict())
    if old_statistics:  # old PyTorch kept running stats in InstanceNorm2d; such files are published
        state["model.2.running_mean"], state["model.2.running_var"] = torch.zeros(width), torch.ones(width)
    return net, to_bytes(state)


def to_bytes(obj: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_entries(tmp_path: Path) -> list[str]:
    """Everything in the cache but the hash record: must be empty after a refused pull."""
    home = tmp_path / "home"
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and p.name != pull.HASHES)


def load_generator(run: Path) -> torch.nn.Module:
    config = read_config(run)
    from translate.rundir import load_network_state

    settings = {k: v for k, v in config["generator"].items() if k != "name"}
    net = GENERATORS.create(config["generator"]["name"], **settings)
    net.load_state_dict(load_network_state(run, "G"))
    return net.eval()


def same_outputs(ours: torch.nn.Module, theirs: torch.nn.Module, size: tuple[int, int] = (20, 28)) -> None:
    x = torch.rand(2, 3, *size) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x.clone()), atol=1e-5, rtol=0)


# ------------------------------------------------------------------------------------------------ the real cards


def test_every_real_card_is_valid_and_names_only_registered_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(zoo_cards.CATALOGUE_ENV)
    assert zoo_cards.catalogue_dir().resolve() == REAL_CATALOGUE
    catalogue = zoo_cards.load_catalogue()
    expected = {("pix2pix/" + n if n in CYCLEGAN else n) for n in PIX2PIX}
    expected |= {("cyclegan/" + n if n in PIX2PIX else n) for n in CYCLEGAN}
    expected |= {f"cartoongan-{k}" for k in CARTOON}
    assert expected <= set(catalogue)
    for card in catalogue.values():
        assert card["trainer"]["name"] in TRAINERS and card["generator"]["name"] in GENERATORS
        # the config a pull writes is one every command reads
        config = card.run_config()
        config["generator"] = {**card["generator"], **card.generator_kwargs()}
        config["source"] = {"format": card.source["format"], "url": card.source["url"]}
        from_run(config)
    for name in PIX2PIX:
        card = catalogue["pix2pix/" + name if name in CYCLEGAN else name]
        assert card.source["url"] == f"http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{name}.pth"
        assert card["generator"] == {"name": "unet", "width": 64, "depth": 8, "norm": "batch", "dropout": True}
    for name in CYCLEGAN:
        card = catalogue["cyclegan/" + name if name in PIX2PIX else name]
        assert card.source["url"] == f"http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{name}.pth"
        assert card["generator"] == {"name": "resnet", "width": 64, "n_blocks": 9, "norm": "instance",
                                     "dropout": False}
    for key, style in CARTOON.items():
        card = catalogue[f"cartoongan-{key}"]
        assert card.source["url"] == f"http://vllab1.ucmerced.edu/~yli62/CartoonGAN/pytorch_pth/{style}_net_G_float.pth"
        assert card.source["format"] == "cartoongan" and card["input"]["channel_order"] == "BGR"
        assert card["generator"]["name"] == "cartoon"
    for name in PIX2PIX:  # as their authors run them: test.py without --eval
        assert catalogue["pix2pix/" + name if name in CYCLEGAN else name]["input"]["test_mode"] == "reference"
    assert all(catalogue[name]["input"]["test_mode"] == "eval" for name in SHIPPED)  # how their metrics were made
    assert catalogue["style_monet"]["input"]["direction"] == "BtoA"
    assert catalogue["pix2pix/facades_label2photo"]["input"]["direction"] == "BtoA"


# the models trained here on the scenes world and shipped: name -> (trainer, source rendering, target rendering)
SHIPPED = {
    "scenes-shinkai": ("cyclegan", "photo", "shinkai"),
    "scenes-shinkai-cartoongan": ("cartoongan", "photo", "shinkai"),
    "scenes-coloring": ("pix2pix", "photo", "sketch"),
    "scenes-labels2photo": ("pix2pix", "labels", "photo"),
    "scenes-sketch2photo": ("pix2pix", "sketch", "photo"),
}


@pytest.mark.parametrize("name", list(SHIPPED))
def test_shipped_scenes_models_run_offline_and_translate(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    import numpy as np

    import translate
    from translate.data.scenes import render

    monkeypatch.delenv(zoo_cards.CATALOGUE_ENV)
    card = zoo_cards.find_card(name)
    trainer, source, target = SHIPPED[name]
    assert card.shipped and card["trainer"]["name"] == trainer
    assert (card.path.parent / card.source["file"]).stat().st_size < 5_000_000
    assert card["metrics"] and card["metrics_command"].startswith(f"translate eval {name} ")
    assert card["style"] and card["metrics_command"] == f"translate eval {name} --style {card['style']}"
    translator = translate.load(name)  # no server, no pull: the weights come with the package
    # scenes the model never saw (training and test splits draw other seeds), at a size it was not trained at
    errors = []
    for seed in (10_001, 10_002, 10_003):
        scene = render(seed, (72, 80))
        source_image, target_image = scene.image(source), scene.image(target)
        output = translator(source_image)
        assert output.size == source_image.size and output.mode == target_image.mode
        as_array = lambda im: np.asarray(im.convert(target_image.mode), np.float32) / 255  # noqa: E731
        errors.append((np.abs(as_array(output) - as_array(target_image)).mean(),
                       np.abs(as_array(source_image) - as_array(target_image)).mean()))
    model_error, copy_error = np.mean(errors, axis=0)
    # closer to the true rendering than the input itself is (unpaired models too: the world gives the truth)
    assert model_error < 0.75 * copy_error, (model_error, copy_error)


@pytest.mark.parametrize("name", list(SHIPPED))
def test_a_shipped_model_read_from_the_package_is_the_one_its_pull_makes(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path, name: str) -> None:
    import translate

    monkeypatch.delenv(zoo_cards.CATALOGUE_ENV)
    shipped = translate.load(name)
    x = torch.rand(1, shipped.in_channels, 24, 40) * 2 - 1
    assert shipped.run is None and not (tmp_path / "home").exists()
    run = pull.pull(name, progress=False)
    pulled = translate.load(run)
    assert from_run(pull.shipped_config(zoo_cards.find_card(name))) == from_run(read_config(run))
    assert (shipped.in_channels, shipped.out_channels, shipped.bgr) == (pulled.in_channels, pulled.out_channels,
                                                                        pulled.bgr)
    torch.testing.assert_close(shipped(x), pulled(x))


def test_predict_with_a_shipped_model_writes_nothing_to_a_read_only_cache(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    from tests.conftest import noise_image

    monkeypatch.delenv(zoo_cards.CATALOGUE_ENV)
    (tmp_path / "plain-file").write_text("not a folder")
    # root ignores permissions: a cache under a regular file is one that no one can create or write
    monkeypatch.setenv(files.HOME_ENV, str(tmp_path / "plain-file" / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    noise_image(0, (40, 24)).save(tmp_path / "photo.png")
    before = sorted(p for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(main, ["predict", "scenes-shinkai", str(tmp_path / "photo.png"), "--out",
                                       str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and (tmp_path / "out" / "photo.png").is_file()
    after = sorted(p for p in tmp_path.rglob("*") if not p.is_relative_to(tmp_path / "out"))
    assert after == before


def test_the_bare_shared_name_is_refused_with_both_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(zoo_cards.CATALOGUE_ENV)
    with pytest.raises(TranslateError, match="name one: cyclegan/sat2map or pix2pix/sat2map"):
        zoo_cards.find_card("sat2map")
    with pytest.raises(TranslateError, match="cyclegan/sat2map or pix2pix/sat2map"):
        pull.open_run("sat2map")
    assert zoo_cards.find_card("cyclegan/horse2zebra").name == "horse2zebra"
    result = CliRunner().invoke(main, ["pull", "sat2map"])
    assert result.exit_code == 1 and "pix2pix/sat2map" in result.output and "Traceback" not in result.output
    unknown = CliRunner().invoke(main, ["pull", "hors2zebra"])
    assert unknown.exit_code == 1 and "did you mean 'horse2zebra'?" in unknown.output
    assert len(unknown.output.strip().splitlines()) == 1


def test_models_lists_the_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(zoo_cards.CATALOGUE_ENV)
    listing = json.loads(CliRunner().invoke(main, ["models", "--json"]).output)
    rows = {row["name"]: row for row in listing["catalogue"]}
    assert rows["horse2zebra"]["task"] == "horse -> zebra" and rows["horse2zebra"]["on_this_machine"] is False
    assert rows["cartoongan-shinkai"]["format"] == "cartoongan" and rows["horse2zebra"]["metric"] == ""
    text = CliRunner().invoke(main, ["models"]).output
    assert "catalogue" in text and "cartoongan-hosoda" in text and "generators:" in text


def test_known_but_not_pulled_and_unknown_names() -> None:
    write_card(zoo_cards.catalogue_dir(), "tiny", url="http://127.0.0.1:9/tiny.pth")
    with pytest.raises(TranslateError, match=r"^model 'tiny' is not on this machine; run: translate pull tiny "
                                             r"\(in Python: translate.pull\('tiny'\)\)$"):
        pull.open_run("tiny")
    import translate

    with pytest.raises(TranslateError, match=r"translate pull tiny \(in Python: translate.pull\('tiny'\)\)$"):
        translate.load("tiny")
    with pytest.raises(CheckpointError, match="no run directory or catalogue model 'runs/no-such-run'"):
        pull.open_run("runs/no-such-run")
    with pytest.raises(UnknownNameError, match="did you mean 'tiny'"):
        zoo_cards.find_card("tyny")
    with pytest.raises(CheckpointError, match="no run directory or catalogue model 'tyny'; did you mean 'tiny'"):
        pull.open_run("tyny")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"licence": ""}, "'licence' must be a non-empty string"),
        ({"licnce": "x"}, "did you mean 'licence'"),
        ({"generator": {"name": "unet256"}}, "did you mean 'unet'"),
        ({"generator": {"name": "resnet", "widht": 8}}, "did you mean 'width'"),
        ({"trainer": "pix2pox"}, "did you mean 'pix2pix'"),
        ({"source": {"format": "onnx", "url": "http://127.0.0.1:9/x"}}, "source.format 'onnx'"),
        ({"source": {"format": "cartoongan", "url": "http://127.0.0.1:9/x"}}, "holds a cartoon generator"),
        ({"source": {"format": "reference"}}, "needs a url"),
        ({"source": {"format": "reference", "url": "http://127.0.0.1:9/x", "sha256": "abc"}}, "64 lowercase hex"),
        ({"source": {"format": "translate", "file": "weights/none.safetensors", "sha256": "0" * 64}}, "are missing"),
        ({"input": {"channel_order": "RGBA", "value_range": [-1, 1], "direction": "AtoB"}}, "input.channel_order"),
        ({"input": {"channel_order": "RGB", "value_range": [0, 1], "direction": "AtoB"}}, "value_range"),
        ({"metrics_note": ""}, "needs a metrics_note"),
        ({"metrics": {"fid": 40.0}}, "need the metrics_command"),
        ({"style": "shinkay"}, "style 'shinkay' is not one of"),
        ({"credits": {"file": "a.jpg"}}, "credits must be a list of tables"),
        ({"credits": [{"file": "a.jpg", "author": "", "licence": "CC0"}]}, r"\[\[credits\]\] #1: file, author and"),
        ({"credits": [{"file": "a.jpg", "author": "A", "licence": "CC0", "licnse": "x"}]}, "did you mean 'licence'"),
        ({"input": {"channel_order": "RGB", "value_range": [-1, 1], "direction": "AtoB", "test_mode": "train"}},
         "input.test_mode is 'train'; choose one of: eval, reference"),
    ],
)
def test_bad_cards_are_refused_naming_the_file(change: dict, message: str) -> None:
    path = write_card(zoo_cards.catalogue_dir(), "bad", url="http://127.0.0.1:9/bad.pth", **change)
    with pytest.raises(ConfigError, match=message) as info:
        zoo_cards.load_catalogue()
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_card_file_names_and_shared_names_are_checked(cards: Path) -> None:
    (cards / "other.toml").write_text(write_card(cards, "tiny", url="http://127.0.0.1:9/t.pth").read_text())
    with pytest.raises(ConfigError, match="must be called tiny.toml"):
        zoo_cards.load_catalogue()
    (cards / "other.toml").unlink()
    write_card(cards, "cyclegan/tiny", url="http://127.0.0.1:9/t.pth")
    with pytest.raises(ConfigError, match="'tiny' is also cyclegan/tiny"):
        zoo_cards.load_catalogue()
    (cards / "tiny.toml").unlink()
    write_card(cards, "pix2pix/tiny", url="http://127.0.0.1:9/t.pth")
    with pytest.raises(ConfigError, match="prefix of 'pix2pix/tiny' must be its trainer"):
        zoo_cards.load_catalogue()


# ---------------------------------------------------------------------------------------------------- pulling


def test_pull_imports_a_reference_checkpoint_and_records_its_hash(server, cards: Path, tmp_path: Path) -> None:
    theirs, data = reference_file()
    server.files["/cyclegan/tiny.pth"] = data
    url = server.url("/cyclegan/tiny.pth")
    write_card(cards, "cyclegan/tiny", url=url)
    write_card(cards, "pix2pix/tiny", url=url, trainer="pix2pix", generator={"name": "unet", "width": 8, "depth": 5})
    card = zoo_cards.find_card("cyclegan/tiny")
    assert not pull.on_this_machine(card)
    run = pull.pull("cyclegan/tiny", progress=False)
    assert run == tmp_path / "home" / "models" / "cyclegan--tiny"
    same_outputs(load_generator(run), theirs)
    config = read_config(run)
    assert config["model"] == "cyclegan" and config["trainer"] == {"name": "cyclegan"}
    assert config["source"] == {"file": "cyclegan--tiny--tiny.pth", "format": "reference", "url": url,
                                "sha256": sha(data)}
    assert config["data"]["channel_order"] == "RGB" and config["data"]["direction"] == "AtoB"
    from_run(config)
    # the hash nobody published is recorded; the download itself is not kept (the run holds the weights)
    record = json.loads((tmp_path / "home" / "downloads" / pull.HASHES).read_text())
    assert record == {url: sha(data)}
    assert cache_entries(tmp_path) == ["models/cyclegan--tiny/checkpoints/latest.safetensors",
                                       "models/cyclegan--tiny/config.toml"]
    assert pull.open_run("cyclegan/tiny").run == run and pull.on_this_machine(card)
    # pulled already: nothing is fetched again
    assert pull.pull("cyclegan/tiny", progress=False) == run and len(server.requests) == 1


def test_an_interrupted_transfer_is_resumed(server, cards: Path, tmp_path: Path) -> None:
    theirs, data = reference_file()
    server.files["/tiny.pth"] = data
    server.cut["/tiny.pth"] = len(data) // 3
    write_card(cards, "tiny", url=server.url("/tiny.pth"), sha256=sha(data))
    with pytest.raises(DownloadError, match="cut short") as info:
        pull.pull("tiny", progress=False)
    assert "\n" not in str(info.value) and "resumes" in str(info.value)
    assert cache_entries(tmp_path) == ["downloads/tiny--tiny.pth.part"]  # kept to resume; no run dir
    run = pull.pull("tiny", progress=False)
    assert server.requests[-1] == ("/tiny.pth", f"bytes={len(data) // 3}-")
    same_outputs(load_generator(run), theirs)
    assert not (tmp_path / "home" / "downloads" / pull.HASHES).exists()  # the card pins the hash


def test_a_checksum_mismatch_leaves_nothing(server, cards: Path, tmp_path: Path) -> None:
    _, data = reference_file()
    server.files["/tiny.pth"] = data
    write_card(cards, "tiny", url=server.url("/tiny.pth"), sha256="0" * 64)
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        pull.pull("tiny", progress=False)
    assert "\n" not in str(info.value)
    assert cache_entries(tmp_path) == []


def test_a_file_that_differs_from_the_first_download_is_refused(server, cards: Path, tmp_path: Path) -> None:
    theirs, data = reference_file()
    server.files["/tiny.pth"] = data
    write_card(cards, "tiny", url=server.url("/tiny.pth"))
    run = pull.pull("tiny", progress=False)
    _, other = reference_file(old_statistics=False)
    server.files["/tiny.pth"] = other
    with pytest.raises(DownloadError, match="differs from .* recorded for") as info:
        pull.pull("tiny", force=True, progress=False)
    assert "\n" not in str(info.value)
    # the model pulled before is untouched, and nothing else is left
    same_outputs(load_generator(run), theirs)
    assert cache_entries(tmp_path) == ["models/tiny/checkpoints/latest.safetensors", "models/tiny/config.toml"]


def test_404_and_an_unreachable_address_name_the_address_and_the_fix(server, cards: Path, tmp_path: Path) -> None:
    write_card(cards, "tiny", url=server.url("/missing.pth"))
    with pytest.raises(DownloadError, match="404") as info:
        pull.pull("tiny", progress=False)
    message = str(info.value)
    assert server.url("/missing.pth") in message and "translate pull tiny --file PATH" in message
    dead = f"http://127.0.0.1:{free_port()}/tiny.pth"
    write_card(cards, "tiny", url=dead)
    result = CliRunner().invoke(main, ["pull", "tiny", "--quiet"])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert f"could not reach {dead}" in result.output and "translate pull tiny --file PATH" in result.output
    assert cache_entries(tmp_path) == []


def test_a_file_that_is_not_a_checkpoint_or_does_not_fit_is_refused(server, cards: Path, tmp_path: Path) -> None:
    server.files["/junk.pth"] = b"<html>a page, not a checkpoint</html>"
    write_card(cards, "junk", url=server.url("/junk.pth"))
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint") as info:
        pull.pull("junk", progress=False)
    assert "\n" not in str(info.value)
    _, wider = reference_file(width=16)  # the card says width 8
    server.files["/wide.pth"] = wider
    write_card(cards, "wide", url=server.url("/wide.pth"))
    with pytest.raises(CheckpointError, match="does not fit") as info:
        pull.pull("wide", progress=False)
    assert "\n" not in str(info.value) and "width" in str(info.value)
    # nothing half-made, and no hash pinned for a file that proved useless
    assert cache_entries(tmp_path) == [] and not (tmp_path / "home" / "downloads" / pull.HASHES).exists()
    assert [p.name for p in (tmp_path / "home" / "models").iterdir()] == []


def test_a_pix2pix_unet_is_pulled_with_its_direction(server, cards: Path) -> None:
    theirs = randomised(RefUnet(3, 3, num_downs=5, ngf=8))
    server.files["/facades.pth"] = to_bytes(theirs.state_dict())
    write_card(cards, "facades", url=server.url("/facades.pth"), trainer="pix2pix",
               generator={"name": "unet", "width": 8, "depth": 5, "norm": "batch", "dropout": True},
               input={"channel_order": "RGB", "value_range": [-1.0, 1.0], "direction": "BtoA"})
    run = pull.pull("facades", progress=False)
    assert read_config(run)["data"]["direction"] == "BtoA" and read_config(run)["model"] == "pix2pix"
    same_outputs(load_generator(run), theirs, (32, 32))


def test_a_card_in_reference_test_mode_runs_as_the_references_test_py(server, cards: Path) -> None:
    import translate

    theirs = randomised(RefUnet(3, 3, num_downs=5, ngf=8))  # no dropout: the batch statistics alone differ
    server.files["/facades.pth"] = to_bytes(theirs.state_dict())
    write_card(cards, "facades-ref", url=server.url("/facades.pth"), trainer="pix2pix",
               generator={"name": "unet", "width": 8, "depth": 5, "norm": "batch", "dropout": False},
               input={"channel_order": "RGB", "value_range": [-1.0, 1.0], "direction": "AtoB",
                      "test_mode": "reference"})
    pull.pull("facades-ref", progress=False)
    reference, evaluated = translate.load("facades-ref"), translate.load("facades-ref", test_mode="eval")
    assert (reference.test_mode, evaluated.test_mode) == ("reference", "eval") and "reference mode" in repr(reference)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        by_running = theirs.eval()(x.clone())
        by_batch = theirs.train()(x.clone())  # test.py without --eval: the network in train mode (last: it moves
        # the running statistics, as the reference's test.py does to its own copy)
    torch.testing.assert_close(reference(x), by_batch, atol=1e-5, rtol=0)
    torch.testing.assert_close(reference(x), by_batch, atol=1e-5, rtol=0)  # its running statistics were not moved
    torch.testing.assert_close(evaluated(x), by_running, atol=1e-5, rtol=0)
    assert not torch.allclose(by_batch, by_running, atol=1e-3)
    with pytest.raises(ConfigError, match="test mode 'train': use eval or reference"):
        translate.load("facades-ref", test_mode="train")


def test_a_cartoongan_file_is_pulled_and_reproduces_the_authors_outputs(server, cards: Path) -> None:
    theirs = randomised_authors(AuthorsTransformer(width=8, n_blocks=2))
    server.files["/Shinkai_net_G_float.pth"] = to_bytes(theirs.state_dict())
    write_card(cards, "cartoongan-tiny", url=server.url("/Shinkai_net_G_float.pth"), fmt="cartoongan",
               trainer="cartoongan", generator={"name": "cartoon", "width": 8, "n_blocks": 2},
               input={"channel_order": "BGR", "value_range": [-1.0, 1.0], "direction": "AtoB"})
    run = pull.pull("cartoongan-tiny", progress=False)
    ours, order = run_from(run)
    assert order == "BGR" and read_config(run)["source"]["format"] == "cartoongan"
    rgb = torch.rand(2, 3, 16, 24) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(our_pipeline(ours, order, rgb), authors_pipeline(theirs, rgb), atol=1e-5, rtol=0)


def test_file_option_works_offline_and_force_pulls_again(cards: Path, tmp_path: Path) -> None:
    theirs, data = reference_file()
    (tmp_path / "fetched.pth").write_bytes(data)
    write_card(cards, "tiny", url=f"http://127.0.0.1:{free_port()}/tiny.pth")
    result = CliRunner().invoke(main, ["pull", "tiny", "--file", str(tmp_path / "fetched.pth"), "--quiet"])
    assert result.exit_code == 0, result.output
    run = tmp_path / "home" / "models" / "tiny"
    assert "tiny is ready in" in result.output and str(run) in result.output
    same_outputs(load_generator(run), theirs)
    assert read_config(run)["source"]["file"] == str(tmp_path / "fetched.pth")
    assert (tmp_path / "fetched.pth").exists()  # the user's own file is never deleted
    # --force redoes it; a different --file is refused once a hash is recorded for the address
    _, other = reference_file(old_statistics=False)
    (tmp_path / "other.pth").write_bytes(other)
    with pytest.raises(DownloadError, match="differs"):
        pull.pull("tiny", file=tmp_path / "other.pth", force=True, progress=False)
    assert pull.pull("tiny", file=tmp_path / "fetched.pth", force=True, progress=False) == run
    with pytest.raises(DownloadError, match="no such file"):
        pull.pull("tiny", file=tmp_path / "absent.pth", force=True, progress=False)


def test_a_shipped_model_is_here_without_a_pull(cards: Path, tmp_path: Path) -> None:
    net = GENERATORS.create("resnet", width=8, n_blocks=2).eval()
    (cards / "weights").mkdir()
    save_networks(cards / "weights", {"G_A": net, "D_A": GENERATORS.create("unet", width=4, depth=3)}, tag="scenes")
    file = cards / "weights" / "checkpoints" / "scenes.safetensors"
    digest = sha(file.read_bytes())
    write_card(cards, "scenes-tiny", fmt="translate", source={"format": "translate", "sha256": digest, "network": "G_A",
                                                              "file": "weights/checkpoints/scenes.safetensors"},
               metrics={"fid": 41.5, "ssim": 0.61}, metrics_command="translate evaluate scenes-tiny",
               headline="ssim")
    card = zoo_cards.find_card("scenes-tiny")
    assert card.shipped and pull.on_this_machine(card)
    row = next(r for r in pull.listing() if r["name"] == "scenes-tiny")
    assert row["source"] == "shipped" and row["on_this_machine"] and row["metric"] == "ssim 0.61"
    found = pull.open_run("scenes-tiny")  # offline: no server anywhere, and nothing written
    assert found.run is None and found.checkpoint == file and not (tmp_path / "home").exists()
    import translate

    same_outputs(translate.load("scenes-tiny").generator, net)
    assert not (tmp_path / "home").exists()
    run = pull.pull("scenes-tiny", progress=False)  # a run directory only on request
    assert run == tmp_path / "home" / "models" / "scenes-tiny" and pull.open_run("scenes-tiny").run == run
    same_outputs(load_generator(run), net)
    assert read_config(run)["source"]["sha256"] == digest and read_config(run)["source"]["format"] == "translate"
    assert pull.shipped_config(card)["generator"] == read_config(run)["generator"]
    assert pull.pull("scenes-tiny", progress=False) == run
