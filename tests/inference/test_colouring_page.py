"""Colouring pages: a predicted sketch made printable (binary, no specks, gaps closed, even lines, white paper),
from Python and from `translate predict --page`, and refused for models that do not draw line art."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from scipy import ndimage

import translate
from tests.conftest import noise_image
from translate.cli import main
from translate.errors import ConfigError
from translate.inference.colouring_page import check_draws_lines, colouring_page, page_ink

SETTINGS = {"min_speck": 4, "gap": 3, "line_width": 2}


def sketch(size: int = 48) -> np.ndarray:
    """A model-like sketch in [0, 1]: off-white paper with grain, a thick line, a thin faint line broken by a
    2 px gap, and a 2 x 2 speck."""
    rng = np.random.default_rng(0)
    grey = 0.92 + rng.uniform(-0.03, 0.03, (size, size))
    grey[8:13, 4:44] = 0.05  # 5 px thick
    grey[30, 4:20] = 0.3  # 1 px thin, fainter...
    grey[30, 22:44] = 0.3  # ...broken at x = 20, 21
    grey[40:42, 40:42] = 0.1  # a speck
    return grey


def test_a_page_is_pure_black_on_pure_white_with_its_lines_kept() -> None:
    page = np.asarray(colouring_page(Image.fromarray((sketch() * 255).astype(np.uint8)), **SETTINGS))
    assert set(np.unique(page)) == {0, 255}
    assert page[20:28].min() == 255  # grainy paper between the lines became white
    assert (page[8:13, 10:38] == 0).any(axis=0).all()  # the thick line runs on
    assert (page[29:32, 6:42] == 0).any(axis=0).all()  # the thin one too, its gap bridged


def test_specks_go_and_lines_come_out_one_width() -> None:
    ink = page_ink(sketch(), **SETTINGS)
    assert not ink[38:44, 38:44].any()  # the speck
    thick, thin = ink[4:18, 16:30].sum(axis=0), ink[26:36, 8:16].sum(axis=0)
    assert set(thick) == set(thin) == {2}  # the 5 px line and the 1 px line are both 2 px wide now
    _, pieces = ndimage.label(ink, structure=np.ones((3, 3)))
    assert pieces == 2  # the broken line is one piece


def test_without_bridging_the_gap_stays_and_without_speck_removal_the_speck_stays() -> None:
    ink = page_ink(sketch(), min_speck=0, gap=0, line_width=1)
    assert ink[38:44, 38:44].any()
    assert not ink[30, 20:22].any()


def test_a_blank_page_stays_blank_and_grain_is_not_ink() -> None:
    paper = np.full((32, 32), 0.9) + np.random.default_rng(1).uniform(-0.05, 0.05, (32, 32))
    assert not page_ink(paper).any()


def test_every_input_kind_comes_back_as_the_same_kind() -> None:
    grey = (sketch() * 255).astype(np.uint8)
    from_array = colouring_page(grey, **SETTINGS)
    assert from_array.dtype == np.uint8 and from_array.shape == grey.shape
    rgb_float = colouring_page(np.repeat(grey[..., None], 3, axis=2) / 255.0, **SETTINGS)
    assert rgb_float.shape == grey.shape and set(np.unique(rgb_float)) == {0.0, 1.0}
    tensor = torch.from_numpy(grey).float()[None, None].repeat(2, 3, 1, 1) / 127.5 - 1
    out = colouring_page(tensor, **SETTINGS)
    assert out.shape == tensor.shape and set(out.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(torch.from_numpy(from_array == 0), out[1, 2] == -1)
    as_uint8 = colouring_page(torch.from_numpy(grey)[None], **SETTINGS)
    assert as_uint8.dtype == torch.uint8 and as_uint8.shape == (1, 48, 48)


def test_bad_settings_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="line_width must be 1 or more"):
        page_ink(sketch(), line_width=0)
    with pytest.raises(ConfigError, match="threshold must be in"):
        page_ink(sketch(), threshold=128)


@pytest.mark.parametrize("config, direction, draws", [
    ({"style": "coloring", "data": {"task": "photo2sketch"}}, "AtoB", True),
    ({"style": "", "data": {"task": "photo2sketch"}}, "AtoB", True),
    ({"style": "coloring", "data": {"direction": "BtoA"}}, "AtoB", False),  # trained sketch -> photo
    ({"style": "sketch2photo", "data": {"task": "sketch2photo"}}, "BtoA", True),  # CycleGAN's G_B
    ({"style": "shinkai", "data": {"task": "photo2shinkai"}}, "AtoB", False),
    ({"model": "pix2pix", "data": {}}, "AtoB", False),
])
def test_only_models_that_draw_line_art_make_pages(config: dict, direction: str, draws: bool) -> None:
    if draws:
        check_draws_lines(config, direction, "RUN")
    else:
        with pytest.raises(ConfigError, match="scenes-coloring"):
            check_draws_lines(config, direction, "RUN")


def test_a_translator_with_page_on_gives_pages_and_can_turn_it_off() -> None:
    photo = noise_image(3, (40, 32))
    translator = translate.load("scenes-coloring", page=True)
    page = translator(photo)
    assert page.mode == "L" and page.size == (40, 32) and set(np.unique(np.asarray(page))) <= {0, 255}
    translator.page = False
    plain = translator(photo)
    assert np.array_equal(np.asarray(page), np.asarray(colouring_page(plain)))
    tiled = translate.load("scenes-coloring", page={"line_width": 1}).tile(photo, tile=32, overlap=8)
    assert set(np.unique(np.asarray(tiled))) <= {0, 255}


def test_predict_page_writes_pages_and_refuses_a_model_that_does_not_draw_lines(tmp_path: Path) -> None:
    noise_image(4, (48, 40)).save(tmp_path / "photo.png")
    done = CliRunner().invoke(main, ["predict", "scenes-coloring", str(tmp_path / "photo.png"), "--out",
                                     str(tmp_path / "pages"), "--page", "-q"])
    assert done.exit_code == 0, done.output
    page = np.asarray(Image.open(tmp_path / "pages" / "photo.png"))
    assert page.shape == (40, 48) and set(np.unique(page)) <= {0, 255}

    refused = CliRunner().invoke(main, ["predict", "scenes-shinkai", str(tmp_path / "photo.png"), "--out",
                                        str(tmp_path / "shinkai"), "--page"])
    assert refused.exit_code == 1
    message = refused.output.strip()
    assert len(message.splitlines()) == 1 and "style 'shinkai'" in message and "scenes-coloring" in message
    assert "Traceback" not in refused.output and not (tmp_path / "shinkai").exists()
