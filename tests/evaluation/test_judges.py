"""The judges: trained once into the cache and reused, able to tell true images from noise; Inception lookup."""

from __future__ import annotations

import json
import os

import pytest
import torch

from translate.evaluation import inception, judges
from translate.errors import TranslateError
from translate.evaluation.evaluate import evaluate

from tests.conftest import TINY



def noise(x: torch.Tensor) -> torch.Tensor:
    return torch.rand(x.shape[0], 3, *x.shape[-2:], generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_a_judge_is_trained_once_then_read_from_the_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path))
    monkeypatch.setattr(judges, "_LOADED", {})
    recipe = judges.Recipe(judges.STYLE, size=16, n_train=4, n_heldout=2, steps=2, batch_size=4)
    before = judges.TRAINED[judges.STYLE]
    first = judges.get_judge(judges.STYLE, recipe)
    assert judges.TRAINED[judges.STYLE] == before + 1
    weights = tmp_path / "judges" / f"style-{recipe.key()}.safetensors"
    card_file = weights.with_suffix(".json")
    card = json.loads(card_file.read_text())
    assert card["key"] == recipe.key() and card["recipe"]["steps"] == 2
    assert {"accuracy", "photo_acc", "shinkai_acc"} <= set(card["heldout"]) and card["train_seconds"] >= 0
    assert not [p for p in weights.parent.iterdir() if p.name.startswith(".")]  # no temporary files left
    stamp = weights.stat().st_mtime_ns

    monkeypatch.setattr(judges, "_LOADED", {})  # a new process: only the disk cache remains
    again = judges.get_judge(judges.STYLE, recipe)
    assert judges.TRAINED[judges.STYLE] == before + 1 and weights.stat().st_mtime_ns == stamp
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    assert torch.allclose(first(x), again(x))
    assert judges.get_judge(judges.STYLE, recipe) is again  # and within a process, from memory

    changed = judges.Recipe(judges.STYLE, size=16, n_train=4, n_heldout=2, steps=3, batch_size=4)
    assert changed.key() != recipe.key()
    judges.get_judge(judges.STYLE, changed)
    assert judges.TRAINED[judges.STYLE] == before + 2


def test_a_damaged_cache_is_retrained(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSLATE_HOME", str(tmp_path))
    monkeypatch.setattr(judges, "_LOADED", {})
    recipe = judges.Recipe(judges.STYLE, size=16, n_train=4, n_heldout=2, steps=1, batch_size=2)
    judges.get_judge(judges.STYLE, recipe)
    (tmp_path / "judges" / f"style-{recipe.key()}.safetensors").write_bytes(b"not weights")
    monkeypatch.setattr(judges, "_LOADED", {})
    before = judges.TRAINED[judges.STYLE]
    judges.get_judge(judges.STYLE, recipe)
    assert judges.TRAINED[judges.STYLE] == before + 1


def test_training_leaves_the_global_random_state_alone(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    judges.train_judge(judges.Recipe(judges.SEGMENTER, size=16, n_train=2, n_heldout=1, steps=1, batch_size=2))
    assert torch.equal(torch.rand(3), expected)


def test_fcn_score_ranks_true_photos_above_noise(tiny_judges) -> None:
    report = evaluate(noise, "labels2photo", size=32, limit=8, inception=False)
    fcn = report["fcn"]
    assert fcn["judge_size"] == 32 and fcn["judge"]["recipe"]["steps"] == TINY[judges.SEGMENTER].steps
    for key in ("pixel_acc", "class_acc", "class_iou"):
        assert 0 <= fcn["generated"][key] <= 1
    assert fcn["real"]["pixel_acc"] > fcn["generated"]["pixel_acc"]
    assert fcn["real"]["class_iou"] > fcn["generated"]["class_iou"]


def test_fcn_score_resizes_to_the_judge(tiny_judges) -> None:
    report = evaluate(noise, "labels2photo", size=48, limit=2, inception=False)
    assert report["image_size"] == [48, 48] and report["fcn"]["judge_size"] == 32


def test_style_score_tells_shinkai_from_photos(tiny_judges) -> None:
    identity = evaluate(lambda x: x, "shinkai", size=32, limit=8, inception=False)  # the photo, unchanged
    style = identity["style_score"]
    assert style["target_style"] == "shinkai" and style["judge_size"] == 32
    assert style["real_target_acc"] > style["score"]  # true renderings look more Shinkai than photos
    assert style["real_acc"] > 0.5
    assert {"accuracy", "photo_acc", "shinkai_acc"} <= set(style["judge"]["heldout"])


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
