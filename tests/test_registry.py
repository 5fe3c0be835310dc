"""The registry: one door to every part, with errors that say what is known."""

import pytest
import torch
from click.testing import CliRunner

import translate
from translate.cli import main
from translate.registry import KeywordTypeError, Registry, UnknownKeywordError, UnknownNameError


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


def typed_registry() -> Registry:
    reg = Registry("widget")

    @reg.register("typed")
    def typed_widget(
        count: int = 1, scale: float = 1.0, on: bool = False, depth: "int | None" = None, label: "str" = "a", untyped=3
    ) -> tuple:
        """A widget with annotated keywords, two of them strings as under `from __future__ import annotations`."""
        return (count, scale, on, depth, label, untyped)

    return reg


@pytest.mark.parametrize(
    "kwargs",
    [{"count": 2}, {"scale": 2}, {"scale": 0.5}, {"on": True}, {"depth": None}, {"depth": 4}, {"label": "b"},
     {"untyped": 7}],
)
def test_keywords_of_the_declared_type_pass(kwargs):
    assert typed_registry().create("typed", **kwargs)


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"count": "abc"}, "count = 'abc': expected an integer, e.g. count=1"),
        ({"count": 2.5}, "expected an integer"),
        ({"count": True}, "count = true: expected an integer"),  # a bool is no int here
        ({"scale": False}, "expected a number"),
        ({"on": 1}, "on = 1: expected true or false, e.g. on=false"),
        ({"depth": "deep"}, "expected an integer"),  # int | None, given as a string annotation
        ({"label": 3}, "expected a string"),
        ({"untyped": "x"}, "expected an integer, e.g. untyped=3"),  # no annotation: the default's type
    ],
)
def test_keywords_of_another_type_are_refused_in_one_line(kwargs, expected):
    with pytest.raises(KeywordTypeError) as e:
        typed_registry().create("typed", **kwargs)
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_create_refuses_a_width_that_is_not_an_integer():
    with pytest.raises(KeywordTypeError, match=r"generator 'unet' keyword width = 'abc': expected an integer"):
        translate.create("generator", "unet", width="abc")
    with pytest.raises(KeywordTypeError, match="lambda_gp = 'x': expected a number"):
        translate.create("loss", "wgan-gp", lambda_gp="x")
    assert translate.create("loss", "wgan-gp", lambda_gp=1).lambda_gp == 1  # an int where a float is expected


@pytest.mark.parametrize(
    "setting, message",
    [
        ("generator.width=abc",
         "generator.width = 'abc': expected an integer (unet's width), e.g. --set generator.width=64"),
        ("discriminator.n_layers=2.5", "discriminator.n_layers = 2.5: expected an integer (patch's n_layers)"),
        ("generator.dropout=1", "generator.dropout = 1: expected true or false (unet's dropout)"),
        ("trainer.lambda_l1=true", "trainer.lambda_l1 = true: expected a number (pix2pix's lambda_l1)"),
    ],
)
def test_dry_run_refuses_a_part_keyword_of_the_wrong_type(setting, message):
    args = ["train", "--model", "pix2pix", "--style", "coloring", "--set", setting, "--dry-run"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, TypeError)


def test_dry_run_takes_an_integer_where_a_number_is_expected():
    result = CliRunner().invoke(
        main, ["train", "--model", "pix2pix", "--style", "coloring", "--set", "trainer.lambda_l1=50", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
