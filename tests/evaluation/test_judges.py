"""The judges: trained once into the cache and reused, able to tell true images from noise and clean renderings
from damaged ones; Inception lookup."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from translate.errors import TranslateError
from translate.evaluation import inception, judges, style_cases
from translate.evaluation.evaluate import evaluate, style_summary
from translate.files import load_weights

from tests.conftest import TINY


DEFAULT_STYLE = judges.RECIPES[judges.STYLE]  # read now: the tiny_judges fixture swaps RECIPES for the module


def noise(x: torch.Tensor) -> torch.Tensor:
    return torch.rand(x.shape[0], 3, *x.shape[-2:], generator=torch.Generator().manual_seed(0)) * 2 - 1


def style_recipe(steps: int = 2) -> judges.Recipe:
    return judges.Recipe(judges.STYLE, size=16, n_train=4, n_heldout=2, steps=steps, batch_size=4)


def cache_files(home: Path) -> dict[str, int]:
    """The judge cache under `home`: each file's name and modification time."""
    return {p.name: p.stat().st_mtime_ns for p in (home / "judges").iterdir()}


def images() -> torch.Tensor:
    return torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1


@pytest.mark.slow
def test_a_judge_is_trained_once_then_read_from_the_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("TRANSLATE_HOME", str(home))
    recipe = style_recipe()
    first = judges.get_judge(judges.STYLE, recipe)
    assert judges.judges_dir() == home / "judges"
    weights = home / "judges" / f"style-{recipe.key()}.safetensors"
    card_file = weights.with_suffix(".json")
    assert set(cache_files(home)) == {weights.name, card_file.name}  # no temporary files left
    card = json.loads(card_file.read_text())
    assert card["key"] == recipe.key() and card["recipe"]["steps"] == 2
    assert {"accuracy", "photo_acc", "shinkai_acc"} <= set(card["heldout"]) and card["train_seconds"] >= 0
    assert judges.get_judge(judges.STYLE, recipe) is first  # within a process, from memory

    # Another process, or another machine, with this cache: nothing is trained or rewritten, the same judge comes back.
    other = tmp_path / "other"
    shutil.copytree(home / "judges", other / "judges")
    monkeypatch.setenv("TRANSLATE_HOME", str(other))
    stamps = cache_files(other)
    again = judges.get_judge(judges.STYLE, recipe)
    assert cache_files(other) == stamps
    assert torch.equal(first(images()), again(images()))

    # A changed recipe is a new judge: trained into its own file beside the first, which stays as it was.
    monkeypatch.setenv("TRANSLATE_HOME", str(home))
    stamps = cache_files(home)
    changed = judges.get_judge(judges.STYLE, style_recipe(steps=3))
    added = set(cache_files(home)) - set(stamps)
    assert added == {f"style-{style_recipe(steps=3).key()}.safetensors", f"style-{style_recipe(steps=3).key()}.json"}
    assert {name: cache_files(home)[name] for name in stamps} == stamps
    assert changed.card["recipe"]["steps"] == 3 and not torch.equal(first(images()), changed(images()))


@pytest.mark.slow
def test_a_damaged_cache_is_retrained(tmp_path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path / "home"))
    recipe = style_recipe(steps=1)
    good = judges.get_judge(judges.STYLE, recipe)
    other = tmp_path / "other"  # another process reading a cache whose weights file was damaged
    shutil.copytree(tmp_path / "home" / "judges", other / "judges")
    weights = other / "judges" / f"style-{recipe.key()}.safetensors"
    weights.write_bytes(b"not weights")
    monkeypatch.setenv("TRANSLATE_HOME", str(other))
    with caplog.at_level(logging.WARNING, logger="translate"):
        judge = judges.get_judge(judges.STYLE, recipe)
    assert f"cached judge {weights.name} is unusable" in caplog.text
    assert torch.equal(judge(images()), good(images()))  # trained again: the same recipe gives the same judge
    assert set(load_weights(weights)) == set(good.net.state_dict())  # and the file is whole again


@pytest.mark.slow
def test_training_leaves_the_global_random_state_alone(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    judges.train_judge(judges.Recipe(judges.SEGMENTER, size=16, n_train=2, n_heldout=1, steps=1, batch_size=2))
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.slow
def test_fcn_score_ranks_true_photos_above_noise(tiny_judges) -> None:
    report = evaluate(noise, "labels2photo", size=32, limit=8, inception=False)
    fcn = report["fcn"]
    assert fcn["judge_size"] == 32 and fcn["judge"]["recipe"]["steps"] == TINY[judges.SEGMENTER].steps
    for key in ("pixel_acc", "class_acc", "class_iou"):
        assert 0 <= fcn["generated"][key] <= 1
    assert fcn["real"]["pixel_acc"] > fcn["generated"]["pixel_acc"]
    assert fcn["real"]["class_iou"] > fcn["generated"]["class_iou"]


@pytest.mark.slow
def test_fcn_score_resizes_to_the_judge(tiny_judges) -> None:
    report = evaluate(noise, "labels2photo", size=48, limit=2, inception=False)
    assert report["image_size"] == [48, 48] and report["fcn"]["judge_size"] == 32


@pytest.mark.slow
def test_style_score_tells_shinkai_from_photos(tiny_judges) -> None:
    identity = evaluate(lambda x: x, "shinkai", size=32, limit=8, inception=False)  # the photo, unchanged
    style = identity["style_score"]
    assert style["target_style"] == "shinkai" and style["judge_size"] == 32
    assert style["real_target_acc"] > style["score"]  # true renderings look more Shinkai than photos
    assert style["real_acc"] > 0.5
    assert {"accuracy", "photo_acc", "shinkai_acc"} <= set(style["judge"]["heldout"])


@pytest.mark.slow
def test_segmenter_output_shape_and_grey_input(tiny_judges) -> None:
    segmenter = judges.get_judge(judges.SEGMENTER)
    labels = segmenter(torch.rand(2, 1, 20, 28) * 2 - 1)
    assert labels.shape == (2, 32, 32) and labels.dtype == torch.long
    assert int(labels.max()) < judges.N_CLASSES


# ------------------------------------------------------------------------------------------ Inception


def test_inception_weights_are_found_only_where_they_are(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(inception.INCEPTION_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert inception.find_inception() is None
    assert inception.features() is None
    cached = tmp_path / "hub" / "checkpoints" / "inception_v3_google-0cc3c7bd.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert inception.find_inception() == cached
    given = tmp_path / "mine.pth"
    given.write_bytes(b"")
    monkeypatch.setenv(inception.INCEPTION_ENV, str(given))
    assert inception.find_inception() == given
    assert inception.find_inception(str(cached)) == cached  # an explicit path wins
    with pytest.raises(TranslateError, match="do not exist"):
        inception.find_inception(str(tmp_path / "missing.pth"))


def test_a_wrong_inception_file_is_one_clear_error(tmp_path) -> None:
    bad = tmp_path / "inception_v3_google-bad.pth"
    bad.write_bytes(os.urandom(64))
    with pytest.raises(TranslateError, match="not torchvision inception_v3 weights"):
        inception.InceptionFeatures(bad)


# ------------------------------------------------------------------------------------------ the style judge


def test_the_style_judge_looks_at_native_pixels() -> None:
    judge = judges.Judge(judges.StyleNet().eval(), judges.Recipe(judges.STYLE), {})
    flat = torch.zeros(1, 3, 256, 256)
    assert judge.prepare(flat).shape[-2:] == (256, 256)  # a 2-px checkerboard survives, as it would not a resize
    checkered = style_cases.checkerboard(flat, 0.2, torch.Generator().manual_seed(0))
    assert torch.equal(checkered[..., :2, :2], checkered[..., 2:4, 2:4])
    assert float(checkered.abs().amax()) == pytest.approx(0.2)
    assert judge(torch.rand(2, 1, 40, 72) * 2 - 1).shape == (2,)  # grey, not square, any size


def test_the_style_score_is_the_mean_probability() -> None:
    judge = SimpleNamespace(recipe=judges.RECIPES[judges.STYLE], card={})
    summary = style_summary(judge, "shinkai", generated=[torch.tensor([0.2, 0.4]), torch.tensor([0.6])],
                            source=[torch.tensor([0.1, 0.3])], target=[torch.tensor([0.9, 0.7])])
    assert summary["score"] == pytest.approx(0.4) and summary["mean_prob"] == pytest.approx(0.4)
    assert summary["share"] == pytest.approx(1 / 3)  # the old score: outputs at or above 0.5
    assert summary["real_target_score"] == pytest.approx(0.8) and summary["real_acc"] == 1
    worse = style_summary(judge, "shinkai", generated=[torch.tensor([0.1, 0.3, 0.55])], source=[torch.tensor([0.1])],
                          target=[torch.tensor([0.9])])
    assert worse["share"] == summary["share"] and worse["score"] < summary["score"]  # graded: it still ranks them


@pytest.mark.slow
def test_the_default_style_judge_ranks_damage_below_clean_renderings() -> None:
    # The default recipe, trained here (a minute or two): its held-out cases are the val split's scenes at every size.
    judge = judges.train_judge(DEFAULT_STYLE)
    heldout = judge.card["heldout"]
    damaged = [case for case in style_cases.CASES if case.split()[0] in ("blur", "noise", "checkerboard")]
    assert len(damaged) == 9
    for size, scores in [("all", heldout["scores"]), *heldout["scores_by_size"].items()]:
        clean = scores["clean"]
        assert clean > 0.8 and scores["clean resized 0.8x"] > 0.6, size  # mild softness is still the style
        for case in damaged:
            assert scores[case] < clean - 0.05, (size, case, scores[case])
        for case in ("blur 2px", "noise 0.2", "checkerboard 0.2"):
            assert scores[case] < 0.5, (size, case, scores[case])
        for case in ("photo", "garish photo", "untrained", "hue 120"):
            assert scores[case] < 0.1, (size, case, scores[case])
        for case in ("flat colour", "sky blend", "blur 6px"):  # featureless: version 3 called a flat frame 0.77
            assert scores[case] < 0.5, (size, case, scores[case])
    assert set(heldout["scores_by_size"]) == {"64", "128", "256"}
    assert heldout["shinkai_acc"] > 0.9 and heldout["photo_acc"] > 0.95
