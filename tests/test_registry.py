"""The registry: one door to every part, with errors that say what is known."""

import pytest
import torch

import translate
from translate.registry import Registry, UnknownKeywordError, UnknownNameError


def make_registry() -> Registry:
    reg = Registry("widget")

    @reg.register("round", "a round widget")
    def round_widget(radius: int = 1, colour: str = "red") -> tuple:
        return ("round", radius, colour)

    @reg.register("square")
    def square_widget(side: int = 2) -> tuple:
        """A square widget.

        More text that is not part of the one-line doc.
        """
        return ("square", side)

    return reg


def test_create_passes_keywords_to_the_builder():
    reg = make_registry()
    assert reg.create("round", radius=3) == ("round", 3, "red")
    assert reg.names() == ["round", "square"]
    assert [e.doc for e in reg] == ["a round widget", "A square widget."]


def test_unknown_name_suggests_the_closest_and_lists_known():
    reg = make_registry()
    with pytest.raises(UnknownNameError) as e:
        reg.create("rounds")
    message = str(e.value)
    assert "unknown widget 'rounds'" in message
    assert "did you mean 'round'?" in message
    assert "known: round, square" in message


def test_unknown_keyword_names_the_valid_ones():
    reg = make_registry()
    with pytest.raises(UnknownKeywordError) as e:
        reg.create("round", radios=2)
    assert "'radios'" in str(e.value) and "did you mean 'radius'?" in str(e.value)
    assert "valid: radius, colour" in str(e.value)


def test_a_name_registered_twice_is_a_bug():
    reg = make_registry()
    with pytest.raises(ValueError):
        reg.add("round", lambda: None)


def test_library_door_knows_every_kind():
    expected = {
        "generator": {"unet", "resnet", "cartoon"},
        "discriminator": {"patch", "pixel", "image"},
        "loss": {"vanilla", "lsgan"},
        "trainer": {"pix2pix", "cyclegan", "cartoongan"},
        "dataset": {"scenes", "paired", "unpaired"},
        "style": {"coloring", "shinkai"},
    }
    for kind, names in expected.items():
        reg = translate.registry(kind)
        assert reg.kind == kind and names <= set(reg.names()), (kind, reg.names())
        assert all(entry.doc for entry in reg), f"a {kind} without a one-line doc"
    net = translate.create("generator", "unet", in_channels=1, out_channels=3, width=8, image_size=32)
    assert net(torch.zeros(1, 1, 32, 32)).shape == (1, 3, 32, 32)
    with pytest.raises(UnknownNameError, match="did you mean 'generator'"):
        translate.create("generatr", "unet")
    with pytest.raises(UnknownNameError, match="unknown generator 'unet256'; did you mean 'unet'"):
        translate.create("generator", "unet256")


def test_styles_are_registered_from_the_style_files():
    assert {"shinkai", "coloring", "labels2photo", "sketch2photo"} <= set(translate.list_names("style"))
    table = translate.create("style", "shinkai")
    assert table["data"]["task"] == "photo2shinkai"
