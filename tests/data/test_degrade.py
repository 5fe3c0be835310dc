"""Degraded photos: the second stage's training inputs and the test conditions keep size and are seeded."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from translate.data import scenes
from translate.data.degrade import CONDITIONS, HAZY_TRAINING, TRAINING

PHOTO = scenes.render(3, 48).image("photo")
ALL = {**TRAINING, **HAZY_TRAINING, **CONDITIONS}


@pytest.mark.parametrize("name", list(ALL))
def test_a_degradation_keeps_the_size_is_rgb_and_repeats_with_its_seed(name: str) -> None:
    one = ALL[name](PHOTO, np.random.default_rng(7))
    again = ALL[name](PHOTO, np.random.default_rng(7))
    assert one.mode == "RGB" and one.size == PHOTO.size
    assert np.array_equal(np.asarray(one), np.asarray(again))
    if name != "clean":
        assert not np.array_equal(np.asarray(one), np.asarray(PHOTO))


def test_what_each_condition_does_to_a_photo() -> None:
    photo = np.asarray(PHOTO, np.float32)
    rng = np.random.default_rng(0)
    contrast = lambda image: float(np.asarray(image, np.float32).std())  # noqa: E731
    hazy = np.asarray(CONDITIONS["low-contrast"](PHOTO, rng), np.float32)
    assert hazy.min() >= 0.55 * 255 - 1 and contrast(hazy) < 0.35 * contrast(photo)
    detail = lambda image: float(np.abs(np.diff(np.asarray(image, np.float32), axis=1)).mean())  # noqa: E731
    assert detail(CONDITIONS["blurred"](PHOTO, rng)) < 0.8 * detail(PHOTO)  # sigma 0.56 px at 48 px
    assert detail(CONDITIONS["noisy"](PHOTO, rng)) > 1.5 * detail(PHOTO)


def test_dilation_spreads_light_over_a_thin_dark_line() -> None:
    lines = np.full((32, 32, 3), 230, np.uint8)
    lines[16, :] = 0
    out = np.asarray(TRAINING["noise+dilate"](Image.fromarray(lines), np.random.default_rng(0)))
    assert out[16].mean() > 150  # the black line is gone under its light neighbours


def test_haze_comes_first_and_lowers_the_contrast() -> None:
    contrast = lambda image: float(np.asarray(image, np.float32).std())  # noqa: E731
    plain = [contrast(TRAINING["noise+blur"](PHOTO, np.random.default_rng(i))) for i in range(8)]
    hazy = [contrast(HAZY_TRAINING["haze+noise+blur"](PHOTO, np.random.default_rng(i))) for i in range(8)]
    assert np.mean(hazy) < 0.8 * np.mean(plain)
