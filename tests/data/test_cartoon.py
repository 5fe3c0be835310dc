"""CartoonGAN's pieces: edge smoothing (one image, a folder, batches with a cache) and VGG19 content features."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image

from tests.bombs import write_bomb
from translate.data.cartoon import EdgeSmoother, edge_smooth, edge_smooth_folder
from translate.errors import DataError, TranslateError
from translate.models import vgg


def two_tone(size: int = 64) -> np.ndarray:
    """Left half dark blue, right half white, with a 4-pixel black outline between: one sharp edge."""
    image = np.zeros((size, size, 3), np.uint8)
    image[:, : size // 2] = (20, 40, 160)
    image[:, size // 2 :] = 255
    image[:, size // 2 - 2 : size // 2 + 2] = 0
    return image


def test_edge_smoothing_blurs_the_edge_zone_only():
    image = two_tone()
    out = edge_smooth(image)
    assert isinstance(out, np.ndarray) and out.shape == image.shape and out.dtype == np.uint8
    changed = np.abs(out.astype(int) - image.astype(int)).sum(axis=2) > 0
    columns = np.flatnonzero(changed.any(axis=0))
    assert columns.size and columns.min() >= 32 - 8 and columns.max() <= 32 + 8  # near the outline only
    assert not changed[:, :16].any() and not changed[:, -16:].any()  # flat regions untouched
    edge_row = out[10, 28:36].astype(int)
    assert len({tuple(p) for p in out[10, 28:36]}) > 3  # intermediate values: a soft edge
    assert edge_row.min() >= 0


def test_edge_smoothing_keeps_the_type_and_mode():
    rgb = Image.fromarray(two_tone(48))
    assert edge_smooth(rgb).mode == "RGB" and edge_smooth(rgb).size == (48, 48)
    grey = rgb.convert("L")
    assert edge_smooth(grey).mode == "L"
    flat = np.full((32, 32, 3), 128, np.uint8)
    assert np.array_equal(edge_smooth(flat), flat)  # no edges, nothing to smooth


def test_edge_smooth_folder_mirrors_the_tree(tmp_path):
    src = tmp_path / "trainB"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(two_tone(32)).save(src / "a.png")
    Image.fromarray(two_tone(32)).save(src / "sub" / "b.jpg")
    assert edge_smooth_folder(src, tmp_path / "smooth") == 2
    assert (tmp_path / "smooth/a.png").is_file() and (tmp_path / "smooth/sub/b.jpg").is_file()
    assert Image.open(tmp_path / "smooth/sub/b.jpg").format == "JPEG"
    with pytest.raises(DataError, match="source folder"):
        edge_smooth_folder(src, src)
    with pytest.raises(DataError, match="no images"):
        edge_smooth_folder(tmp_path / "empty", tmp_path / "x")


def test_edge_smooth_folder_refuses_a_used_folder_and_skips_bad_images(tmp_path, caplog):
    src, out = tmp_path / "trainB", tmp_path / "smooth"
    src.mkdir()
    Image.fromarray(two_tone(32)).save(src / "a.png")
    (src / "broken.png").write_bytes(b"not an image")
    write_bomb(src / "bomb.png")
    with caplog.at_level(logging.WARNING, logger="translate"):
        assert edge_smooth_folder(src, out) == 1
    assert "broken.png" in caplog.text and "bomb.png" in caplog.text
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]
    before = (out / "a.png").read_bytes()
    (out / "a.png").write_bytes(b"kept")
    with pytest.raises(DataError, match="not empty; choose another --out or pass --overwrite"):
        edge_smooth_folder(src, out)
    assert (out / "a.png").read_bytes() == b"kept"  # nothing touched
    assert edge_smooth_folder(src, out, overwrite=True) == 1 and (out / "a.png").read_bytes() == before


def test_edge_smooth_command(tmp_path):
    from click.testing import CliRunner

    from translate.cli import main

    src = tmp_path / "trainB"
    src.mkdir()
    Image.fromarray(two_tone(32)).save(src / "a.png")
    done = CliRunner().invoke(main, ["data", "edge-smooth", str(src), "--out", str(tmp_path / "smooth"), "-q"])
    assert done.exit_code == 0 and "wrote 1 edge-smoothed" in done.output
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "smooth/a.png")), two_tone(32))
    empty = CliRunner().invoke(main, ["data", "edge-smooth", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")])
    assert empty.exit_code == 1 and empty.output.startswith("Error: no images") and "Traceback" not in empty.output


def test_batches_are_smoothed_on_the_fly_with_a_cache():
    smoother = EdgeSmoother()
    batch = torch.from_numpy(two_tone(32)).permute(2, 0, 1).float().div(127.5).sub(1).unsqueeze(0).repeat(2, 1, 1, 1)
    out = smoother(batch, ["x.png", "x.png"])
    assert out.shape == batch.shape and not torch.equal(out, batch)
    assert smoother.misses == 1 and smoother.hits == 1  # the same pixels under the same key: computed once
    expected = torch.from_numpy(edge_smooth(two_tone(32)).astype(np.float32)).div(127.5).sub(1).permute(2, 0, 1)
    assert torch.allclose(out[0], expected)
    grey = batch[:, :1]
    assert smoother(grey).shape == grey.shape


def test_vgg19_layers_match_torchvision_names():
    assert vgg.layer_index("conv4_4") == 25 and vgg.layer_index("relu4_4") == 26 and vgg.layer_index("conv1_1") == 0
    with pytest.raises(TranslateError, match="unknown VGG19 layer"):
        vgg.layer_index("conv6_1")


def test_random_vgg_is_fixed_and_said_loudly(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # no ImageNet weights here
    with caplog.at_level(logging.WARNING, logger="translate"):
        a = vgg.content_features("conv4_4", "auto")
    assert a.kind == "random" and "RANDOM VGG19" in caplog.text and "random" in a.description
    b = vgg.content_features("conv4_4", "random")
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not any(p.requires_grad for p in a.parameters())
    features = a(torch.zeros(1, 1, 32, 32))
    assert features.shape == (1, 512, 4, 4)
    with pytest.raises(TranslateError, match="nothing is downloaded"):
        vgg.content_features("conv4_4", "imagenet")


def test_vgg_weights_from_a_file_and_the_torch_cache(monkeypatch, tmp_path):
    from translate.files import save_weights

    state = {f"features.{k}": v + 1.0 for k, v in vgg.vgg19_features().state_dict().items()}
    save_weights(tmp_path / "vgg.safetensors", state)
    net = vgg.VGGFeatures("conv1_2", str(tmp_path / "vgg.safetensors"))
    assert net.kind == "file" and torch.equal(net.features[0].weight, state["features.0.weight"])
    (tmp_path / "checkpoints").mkdir()
    torch.save(state, tmp_path / "checkpoints" / vgg.IMAGENET_FILE)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    net = vgg.VGGFeatures("conv4_4", "auto")
    assert net.kind == "imagenet" and torch.equal(net.features[25].weight, state["features.25.weight"])
    with pytest.raises(TranslateError, match="not a file"):
        vgg.VGGFeatures("conv4_4", str(tmp_path / "missing.pth"))
