"""The embedded procedural digits: labelled, deterministic, jittered, and read by the digit judge."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from translate.data import digits
from translate.data.datasets import build_split
from translate.config import resolve


def test_an_item_is_its_index_digit_and_the_same_every_time():
    a = digits.render_item(0, "train", 13)
    assert a.shape == (28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, digits.render_item(0, "train", 13))
    assert a.max() > 200 and a[0].max() < 30  # a white digit on black, clear of the top edge
    assert not np.array_equal(a, digits.render_item(0, "test", 13))  # splits differ
    assert not np.array_equal(a, digits.render_item(1, "train", 13))  # seeds differ
    assert not np.array_equal(digits.render_item(0, "train", 3), a)


def test_the_jitter_varies_one_digit_and_the_clean_digits_are_upright():
    sevens = np.stack([digits.render_item(0, "train", 7 + 10 * i) for i in range(8)]).astype(float)
    assert sevens.std(0).mean() > 20  # fonts, strokes, angles and shifts differ
    clean = digits.clean_digits()
    assert clean.shape == (10, 1, 28, 28) and clean.min() == -1 and clean.max() > 0.9


def test_the_digits_style_builds_labelled_splits():
    config = resolve("cgan", "digits", assignments=["data.n_train=12", "data.n_test=10", "data.crop_size=16",
                                                    "data.load_size=16"])
    train, test = build_split(config["data"], "train"), build_split(config["data"], "test")
    assert (len(train), len(test)) == (12, 10)
    item = test[3]
    assert item["label"] == 3 and item["B"].shape == (1, 16, 16) and -1 <= item["B"].min() < item["B"].max() <= 1
    assert [test[i]["label"] for i in range(10)] == list(range(10))  # the sample grid's rows
    assert torch.equal(test[3]["B"], build_split(config["data"], "test")[3]["B"])
    assert "procedural digits" in train.describe()


def test_labelled_data_comes_only_from_the_embedded_digits():
    from translate.errors import ConfigError

    config = resolve("cgan", "digits", overrides={"data": {"root": "somewhere"}})
    with pytest.raises(ConfigError, match="embedded digits only"):
        build_split(config["data"], "train")


def test_the_digit_judge_reads_held_out_digits(tiny_judges):
    from translate.evaluation import judges

    judge = judges.get_judge(judges.DIGITS)
    assert judge.card["heldout"]["accuracy"] > 0.3  # a tiny judge; the default reads 99.6% (README)
    images, labels = digits.render_split(0, "test", 20, size=28)  # any size: the judge resizes to its own
    scores = judges.digit_accuracy(judge(images), labels)
    assert scores["accuracy"] > 0.3 and len(scores["by_label"]) == 10
