"""Generators and discriminators: any-size shapes, receptive fields, reference parameter counts, dropout noise."""

from __future__ import annotations

import time
from functools import lru_cache

import pytest
import torch
from torch import nn

import translate
from translate.errors import TranslateError
from translate.models import PatchDiscriminator, UNetGenerator, set_dropout
from translate.models.base import Generator
from translate.models.layers import reflect_pad
from translate.bench.measure import count_macs, count_parameters, part_table
from translate.registry import GENERATORS as REGISTERED

SIZES = [(32, 32), (64, 64), (256, 256), (45, 30)]
GENERATORS = ["unet", "resnet", "timm_unet"]


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


@lru_cache(maxsize=None)
def tiny_generator(name: str, channels: int) -> nn.Module:
    return translate.create("generator", name, in_channels=channels, out_channels=channels, width=8).eval()


@pytest.mark.parametrize("name", GENERATORS)
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_output_matches_input_size(name: str, channels: int) -> None:
    net = tiny_generator(name, channels)
    assert net.size_multiple >= 4
    for height, width in SIZES:
        with torch.no_grad():
            out = net(torch.randn(1, channels, height, width))
        assert out.shape == (1, channels, height, width)
        assert out.abs().max() <= 1.0  # tanh


# tiny settings per registered generator; one registered later without an entry is tried with its defaults
TINY = {"unet": {"width": 4, "depth": 4}, "resnet": {"width": 4, "n_blocks": 1},
        "cartoon": {"width": 4, "n_blocks": 1}, "timm_unet": {"width": 4}}


@pytest.mark.parametrize("name", REGISTERED.names())
def test_every_registered_generator_keeps_the_contract(name: str) -> None:
    net = translate.create("generator", name, in_channels=3, out_channels=3, **TINY.get(name, {})).eval()
    assert isinstance(net, Generator)
    with torch.no_grad():
        assert net(torch.rand(2, 3, 37, 45) * 2 - 1).shape == (2, 3, 37, 45)
        height, width = net.fitting_size(37), net.fitting_size(45)
        assert height % net.size_multiple == width % net.size_multiple == 0 and min(height, width) >= net.min_size
        x = torch.rand(2, 3, height, width) * 2 - 1
        torch.testing.assert_close(net.forward_aligned(x), net(x), atol=0, rtol=0)


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_trains_on_an_odd_size(name: str) -> None:
    net = tiny_generator(name, 3).train()
    try:
        out = net(torch.randn(2, 3, 45, 30))
        out.mean().backward()
    finally:
        net.eval().zero_grad()
    assert out.shape == (2, 3, 45, 30)


@pytest.mark.parametrize("size", [(32, 32), (7, 5), (1, 1)])
def test_deep_unet_runs_on_inputs_smaller_than_its_multiple(size: tuple[int, int]) -> None:
    net = translate.create("generator", "unet", width=4, depth=8).eval()
    assert net.size_multiple == 256
    with torch.no_grad():
        assert net(torch.randn(1, 3, *size)).shape == (1, 3, *size)


def test_unet_depth_comes_from_image_size() -> None:
    assert translate.create("generator", "unet", width=4).depth == 8
    assert translate.create("generator", "unet", width=4, image_size=128).depth == 7
    assert translate.create("generator", "unet", width=4, image_size=128, depth=5).depth == 5


def test_unet_without_skips_is_the_encoder_decoder() -> None:
    with_skips = UNetGenerator(width=8, depth=5)
    without = UNetGenerator(width=8, depth=5, skips=False)
    assert count_parameters(without) < count_parameters(with_skips)
    assert without.decoder[1][1].in_channels == with_skips.decoder[1][1].in_channels // 2
    assert without.eval()(torch.randn(1, 3, 45, 30)).shape == (1, 3, 45, 30)


def test_reflect_pad_agrees_with_torch_and_extends_past_the_image() -> None:
    x = torch.randn(1, 2, 7, 5)
    assert torch.equal(reflect_pad(x, 2, 3, 1, 4), nn.functional.pad(x, (2, 3, 1, 4), mode="reflect"))
    assert reflect_pad(x, 100, 151, 20, 0).shape == (1, 2, 27, 256)


@pytest.mark.parametrize(
    "kind, name, kwargs, expected",
    [
        ("generator", "unet", {}, 54_413_955),
        ("generator", "unet", {"depth": 7}, 41_828_995),
        ("generator", "resnet", {}, 11_378_179),
        ("generator", "resnet", {"n_blocks": 6}, 7_837_699),
        ("discriminator", "patch", {"in_channels": 6}, 2_768_705),
        ("discriminator", "patch", {"norm": "instance"}, 2_764_737),
        ("discriminator", "pixel", {"in_channels": 6}, 9_024),
    ],
)
def test_parameter_counts_equal_the_reference(kind: str, name: str, kwargs: dict, expected: int) -> None:
    with torch.device("meta"):  # shapes only: no memory, no init arithmetic
        part = translate.create(kind, name, **kwargs)
    assert count_parameters(part) == expected


def test_unknown_keyword_names_the_valid_ones() -> None:
    with pytest.raises(TranslateError, match="width"):
        translate.create("generator", "unet", widht=8)


@pytest.mark.parametrize("name", ["resnet", "cartoon"])
def test_resize_upsampling_keeps_the_parameters_and_has_no_checkerboard(name: str) -> None:
    torch.manual_seed(0)
    transpose = translate.create("generator", name, width=4, n_blocks=0, upsample="transpose")
    resize = translate.create("generator", name, width=4, n_blocks=0, upsample="resize")
    assert count_parameters(resize) == count_parameters(transpose)

    def up_of_a_flat_map(upsample: str) -> torch.Tensor:
        """The first up block on a constant feature map, away from the borders."""
        layer = translate.models.layers.upsample_layer(4, 4, upsample)
        nn.init.constant_(layer.weight if upsample == "transpose" else layer[1].weight, 1.0)
        return layer(torch.ones(1, 4, 8, 8))[0, 0, 2:-2, 2:-2]

    # a stride-2 transposed 3x3 conv gives a flat input a period-2 pattern (4 taps on some pixels, 1-2 on
    # others): the checkerboard; resize then conv keeps it flat
    assert up_of_a_flat_map("transpose").std() > 1.0
    assert up_of_a_flat_map("resize").std() < 1e-3  # float rounding only
    with pytest.raises(TranslateError, match="upsample"):
        translate.create("generator", name, upsample="bilinear")


def test_unet_resize_upsampling_drops_every_transposed_conv() -> None:
    transpose = translate.create("generator", "unet", width=4, image_size=32)
    resize = translate.create("generator", "unet", width=4, image_size=32, upsample="resize")
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in transpose.modules()) == 5
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in resize.modules())
    assert resize(torch.rand(1, 3, 32, 32) * 2 - 1).shape == (1, 3, 32, 32)
    with pytest.raises(TranslateError, match="upsample"):
        translate.create("generator", "unet", upsample="bilinear")


def test_bad_norm_is_a_translate_error() -> None:
    with pytest.raises(TranslateError, match="instance"):
        translate.create("generator", "resnet", norm="group")


@pytest.mark.parametrize("n_layers, field", [(1, 16), (3, 70), (5, 286)])
def test_patch_receptive_field_attribute(n_layers: int, field: int) -> None:
    assert PatchDiscriminator(n_layers=n_layers, width=4).receptive_field == field


def measured_receptive_field(net: nn.Module, size: int) -> tuple[int, int]:
    """Extent (rows, cols) of input pixels whose gradient from the central output unit is non-zero.

    Every conv's weights become 0.01 first: positive weights and input, so every path carries gradient.
    """
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 0.01)
    x = torch.ones(1, 1, size, size, requires_grad=True)
    out = net(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    touched = x.grad[0, 0] != 0
    rows = touched.any(1).nonzero()
    cols = touched.any(0).nonzero()
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize("n_layers, field, size", [(1, 16, 48), (3, 70, 128), (5, 286, 384)])
def test_patch_receptive_field_by_gradient(n_layers: int, field: int, size: int) -> None:
    net = PatchDiscriminator(in_channels=1, width=4, n_layers=n_layers, norm="none")
    assert measured_receptive_field(net, size) == (field, field)
    assert net.receptive_field == field


def test_pixel_discriminator_sees_one_pixel() -> None:
    net = translate.create("discriminator", "pixel", in_channels=1, width=4, norm="none")
    assert net.receptive_field == 1
    assert measured_receptive_field(net, 9) == (1, 1)


@pytest.mark.parametrize("size", [(256, 256), (45, 30), (5, 3)])
def test_discriminator_output_shapes(size: tuple[int, int]) -> None:
    x = torch.randn(2, 6, *size)
    image = translate.create("discriminator", "image", in_channels=6, width=4)
    assert image(x).shape == (2, 1, 1, 1)
    pixel = translate.create("discriminator", "pixel", in_channels=6, width=4)
    assert pixel(x).shape == (2, 1, *size)
    patch = translate.create("discriminator", "patch", in_channels=6, width=4)
    assert patch(x).shape[:2] == (2, 1)


def test_set_dropout_keeps_noise_in_eval_mode() -> None:
    net = UNetGenerator(width=4, depth=7).eval()
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        assert torch.equal(net(x), net(x))
        set_dropout(net, True)
        assert not torch.equal(net(x), net(x))
    dropouts = [m for m in net.modules() if isinstance(m, nn.Dropout)]
    assert len(dropouts) == 2 and all(m.training for m in dropouts)  # unet_128: the reference's two
    assert not any(m.training for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    set_dropout(net, False)
    assert not any(m.training for m in net.modules())


def test_count_macs_matches_a_hand_count() -> None:
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert count_macs(conv, (1, 3, 16, 16)) == 16 * 16 * 8 * 3 * 9
    assert count_parameters(conv) == 8 * 3 * 9 + 8


def test_part_table_lists_every_part_quickly() -> None:
    start = time.perf_counter()
    rows = part_table(64)
    assert time.perf_counter() - start < 20
    names = {(r["kind"], r["name"]) for r in rows}
    assert {("generator", "unet"), ("generator", "resnet"), ("generator", "timm_unet")} <= names
    assert {("discriminator", "pixel"), ("discriminator", "patch"), ("discriminator", "image")} <= names
    unet = next(r for r in rows if r["name"] == "unet")
    assert unet["params"] == 54_413_955 and unet["macs"] > 0 and unet["doc"]


def test_timm_unet_pretrained_without_weights_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    start = time.perf_counter()
    with pytest.raises(TranslateError, match="not on this machine"):
        translate.create("generator", "timm_unet", pretrained=True)
    with pytest.raises(TranslateError, match="does not exist"):
        translate.create("generator", "timm_unet", weights=str(tmp_path / "missing.safetensors"))
    assert time.perf_counter() - start < 10


def test_timm_unet_loads_backbone_weights_from_a_local_file(tmp_path) -> None:
    import timm
    from safetensors.torch import save_file

    source = timm.create_model("mobilenetv2_100", pretrained=False)
    nn.init.constant_(source.conv_stem.weight, 0.5)
    file = tmp_path / "mobilenetv2.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(file))
    net = translate.create("generator", "timm_unet", width=4, weights=str(file))
    assert torch.equal(net.backbone.conv_stem.weight, source.conv_stem.weight)


# CartoonGAN's discriminator (Chen et al. 2018, Fig. 2) at width 32 on RGB, biases on every conv (instance norm
# has no affine parameters), 3x3 kernels: weights c_in * c_out * 9, plus c_out biases.
#   k3n32s1    3 *  32 * 9 +  32 =     896
#   k3n64s2   32 *  64 * 9 +  64 =  18_496
#   k3n128s1  64 * 128 * 9 + 128 =  73_856
#   k3n128s2 128 * 128 * 9 + 128 = 147_584
#   k3n256s1 128 * 256 * 9 + 256 = 295_168
#   k3n256s1 256 * 256 * 9 + 256 = 590_080
#   k3n1s1   256 *   1 * 9 +   1 =   2_305
#                                  1_128_385
# With batch norm the three normalised convs lose their biases (128 + 256 + 256 = 640) and the norms add a scale
# and a shift per channel (2 * 640 = 1_280): 1_128_385 + 640 = 1_129_025.
@pytest.mark.parametrize("norm, expected", [("instance", 1_128_385), ("batch", 1_129_025)])
def test_cartoon_discriminator_has_the_papers_parameter_count(norm: str, expected: int) -> None:
    with torch.device("meta"):
        net = translate.create("discriminator", "cartoon", norm=norm)
    assert count_parameters(net) == expected
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (32, 3, 1), (64, 3, 2), (128, 3, 1), (128, 3, 2), (256, 3, 1), (256, 3, 1), (1, 3, 1)
    ]


# Receptive field, growing by (k - 1) * jump per 3x3 conv, the jump doubling after each stride-2 conv:
#   k3n32s1 3, k3n64s2 5 (jump 2), k3n128s1 9, k3n128s2 13 (jump 4), k3n256s1 21, k3n256s1 29, k3n1s1 37.
def test_cartoon_discriminator_sees_37_pixels() -> None:
    net = translate.create("discriminator", "cartoon", in_channels=1, width=4, norm="none")
    assert net.receptive_field == 37
    assert measured_receptive_field(net, 96) == (37, 37)


@pytest.mark.parametrize("size, out", [((64, 64), (16, 16)), ((45, 30), (12, 8)), ((5, 3), (2, 2))])
def test_cartoon_discriminator_scores_quarter_size_patches(size: tuple[int, int], out: tuple[int, int]) -> None:
    net = translate.create("discriminator", "cartoon", width=4)
    assert net(torch.randn(2, 3, *size)).shape == (2, 1, *out)


def test_spectral_norm_bounds_every_patch_conv_and_keeps_training() -> None:
    net = PatchDiscriminator(in_channels=3, width=8, n_layers=2, spectral_norm=True)
    plain = PatchDiscriminator(in_channels=3, width=8, n_layers=2)
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in plain.parameters())
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(2, 3, 32, 32)
    for _ in range(20):  # one power iteration a step converges on the largest singular value
        optimiser.zero_grad()
        net(x).mean().backward()
        optimiser.step()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4 and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    for m in convs:
        assert torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2) == pytest.approx(1.0, abs=0.05)
    plain_sigma = [torch.linalg.matrix_norm(m.weight.flatten(1), ord=2) for m in plain.modules()
                   if isinstance(m, nn.Conv2d)]
    assert max(plain_sigma) < 0.5  # the reference's N(0, 0.02) init: SN rescales rather than merely clips
