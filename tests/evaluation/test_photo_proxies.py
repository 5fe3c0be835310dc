"""The look's proxies on images whose look is known: grey and saturated, flat and noisy, outlined and blurred,
the same scene and an unrelated one; and the scenes world's Shinkai renderings against its photos."""

import math

import numpy as np
import pytest
from scipy import ndimage

from translate.data import scenes
from translate.evaluation import photo_proxies as proxies


def noisy_photo(seed: int = 0, size: int = 48) -> np.ndarray:
    """A smooth colour gradient under sensor noise: many colours, no flat areas, no lines."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 200, size)
    base = np.stack([ramp[None, :].repeat(size, 0), ramp[:, None].repeat(size, 1), np.full((size, size), 120.0)], -1)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def posterised(image: np.ndarray, levels: int = 2) -> np.ndarray:
    """`image` with each channel cut to `levels` flat tones: a cel-shaded version of it."""
    step = 256 // levels
    return (image // step * step + step // 2).astype(np.uint8)


def step_edge(width: int = 0, size: int = 32) -> np.ndarray:
    """A dark-to-light vertical edge, hard (`width` 0) or a linear ramp `width` pixels wide."""
    x = np.arange(size, dtype=np.float64)
    lightness = np.clip((x - size / 2) / max(width, 1) + 0.5, 0, 1) if width else (x >= size / 2).astype(float)
    return np.repeat((30 + 180 * lightness)[None, :, None], size, 0).repeat(3, 2).round().astype(np.uint8)


def scene(index: int, size: int = 64) -> scenes.Scene:
    return scenes.render(scenes.scene_seed(0, "test", index), size)


def test_grey_has_no_colour_and_saturated_colour_has_much():
    grey = np.full((32, 32, 3), 128, np.uint8)
    assert proxies.colourfulness(grey) == pytest.approx(0.0, abs=1e-9)
    assert proxies.colourfulness(grey[..., 0]) == pytest.approx(0.0, abs=1e-9)  # a grey H x W array reads too
    halves = np.zeros((32, 32, 3), np.uint8)
    halves[:, :16] = (255, 0, 0)
    halves[:, 16:] = (0, 0, 255)
    # rg is 255 or 0 and yb 127.5 or -255: sd sqrt(127.5^2 + 191.25^2), mean sqrt(127.5^2 + 63.75^2)
    expected = math.hypot(127.5, 191.25) + 0.3 * math.hypot(127.5, 63.75)
    assert proxies.colourfulness(halves) == pytest.approx(expected)
    assert proxies.colourfulness(halves) > 200 > proxies.colourfulness(noisy_photo())


def test_a_posterised_image_is_flatter_than_the_noisy_photo_it_came_from():
    photo = noisy_photo()
    flat = posterised(ndimage.median_filter(photo, size=(5, 5, 1)))
    assert proxies.palette_flatness(flat) > 0.9 > 0.3 > proxies.palette_flatness(photo)
    eight_colours = np.arange(8, dtype=np.uint8).repeat(8)[None, :].repeat(16, 0)[..., None].repeat(3, 2) * 30
    assert proxies.palette_flatness(eight_colours) == 1.0


def test_thin_dark_lines_are_outlines_and_wide_shadows_are_not():
    canvas = np.full((40, 40, 3), (120, 180, 90), np.uint8)
    assert proxies.outline_density(canvas) == 0.0
    lined = canvas.copy()
    lined[10, :] = lined[:, 25] = (36, 54, 27)  # the colour darkened in its own hue, as the world's outlines are
    assert proxies.outline_density(lined) == pytest.approx((40 + 40 - 1) / 1600)
    shadow = canvas.copy()
    shadow[:, 10:30] = (36, 54, 27)  # 20 px wide: a shadow, not a line
    assert proxies.outline_density(shadow) == 0.0
    faint = canvas.copy()
    faint[10, :] = (100, 160, 70)  # slightly darker: a crease in the paint, not an outline
    assert proxies.outline_density(faint) == 0.0


def test_sharpness_is_one_for_a_hard_step_and_falls_as_the_edge_is_blurred():
    assert proxies.edge_sharpness(step_edge()) == pytest.approx(1.0)
    ramps = [proxies.edge_sharpness(step_edge(width)) for width in (3, 4, 12)]
    assert ramps[:2] == pytest.approx([2 / 3, 2 / 4], abs=0.02)  # 2/w for an edge spread over w pixels
    assert 0.3 < ramps[2] < 0.45  # wider than the window, which sees only part of the rise
    blurred = [proxies.edge_sharpness(ndimage.gaussian_filter(step_edge(), (0, sigma, 0))) for sigma in (0.5, 1, 2)]
    assert 1.0 > blurred[0] > blurred[1] > blurred[2]
    dim = step_edge() // 3 + 60  # a third of the contrast: still a hard step
    assert proxies.edge_sharpness(dim) == pytest.approx(1.0)
    assert math.isnan(proxies.edge_sharpness(np.full((16, 16, 3), 90, np.uint8)))  # no edge to measure


def test_content_kept_is_one_for_the_same_image_and_low_for_an_unrelated_one():
    a, b = scene(0), scene(1)
    assert proxies.content_kept(a.photo, a.photo) == pytest.approx(1.0)
    same_scene = proxies.content_kept(a.photo, a.shinkai)  # restyled, same edges
    unrelated = proxies.content_kept(a.photo, b.shinkai)
    assert same_scene > 0.35 and unrelated < 0.25 and same_scene > unrelated + 0.15
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    assert proxies.content_kept(noisy_photo(), noise) < 0.2
    with pytest.raises(ValueError, match="one size"):
        proxies.content_kept(a.photo, a.photo[:32])


def test_the_worlds_shinkai_renderings_score_as_the_look_they_are():
    """On every proxy but content kept, the renderings sit on the cel side of the world's photos of the same scenes."""
    for index in range(3):
        s = scene(index)
        photo, shinkai = proxies.measure(s.photo), proxies.measure(s.shinkai, s.photo)
        assert shinkai["colourfulness"] > photo["colourfulness"] + 20
        assert shinkai["palette_flatness"] > photo["palette_flatness"]
        assert shinkai["outline_density"] > photo["outline_density"]
        assert shinkai["edge_sharpness"] > photo["edge_sharpness"]
        assert set(shinkai) == set(proxies.PROXIES) and "content_kept" not in photo


def test_proxies_are_deterministic_and_take_any_size():
    image = scene(2, size=40)
    wide = scenes.render(scenes.scene_seed(0, "test", 2), (24, 70)).shinkai
    assert proxies.measure(image.shinkai, image.photo) == proxies.measure(image.shinkai, image.photo)
    values = proxies.measure(wide, wide)
    assert all(np.isfinite(v) for v in values.values()) and values["content_kept"] == pytest.approx(1.0)
