"""Loading any image mode, jitter, and the [-1, 1] round trip."""

import numpy as np
import pytest
import torch
from PIL import Image

from translate.data.transforms import Jitter, open_image, split_ab, to_image, to_mode, to_tensor
from translate.errors import DataError

from tests.conftest import noise_image


def _save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("mode", ["RGB", "L", "LA", "P", "RGBA", "CMYK", "1", "I;16", "I", "F"])
def test_every_mode_loads_as_rgb_or_grey(tmp_path, mode, channels):
    image = noise_image(0, (20, 12), "RGB")
    if mode == "I;16":
        image = Image.fromarray(np.asarray(image.convert("L")).astype(np.uint16) * 257)
    elif mode in ("I", "F"):
        image = image.convert(mode)
    else:
        image = image.convert(mode)
    suffix = {"CMYK": ".tif", "F": ".tif", "I": ".tif"}.get(mode, ".png")
    path = _save(image, tmp_path / f"x{suffix}")
    out = open_image(path, channels)
    assert out.mode == ("RGB" if channels == 3 else "L")
    assert out.size == (20, 12)


def test_sixteen_bit_grey_is_scaled_not_clipped():
    array = np.full((4, 4), 65535, np.uint16)
    array[0, 0] = 0
    out = np.asarray(to_mode(Image.fromarray(array), 1))
    assert out.max() == 255 and out.min() == 0


def test_transparency_becomes_white():
    clear = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert np.asarray(to_mode(clear, 3)).min() == 255


def test_exif_rotation_is_applied(tmp_path):
    image = noise_image(1, (30, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    path = tmp_path / "rot.jpg"
    image.save(path, exif=exif)
    assert open_image(path).size == (10, 30)


def test_truncated_and_non_images_name_the_file(tmp_path):
    good = _save(noise_image(2, (64, 64)), tmp_path / "good.png")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(good.read_bytes()[:200])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(DataError, match=r"cut.png: unreadable or truncated"):
        open_image(truncated)
    with pytest.raises(DataError, match=r"notes.png: not an image"):
        open_image(text)
    with pytest.raises(DataError, match="no such file"):
        open_image(tmp_path / "nothing.png")


def test_tensor_round_trip_is_exact():
    image = noise_image(3, (9, 7))
    tensor = to_tensor(image)
    assert tensor.shape == (3, 7, 9) and tensor.min() >= -1 and tensor.max() <= 1
    assert np.array_equal(np.asarray(to_image(tensor)), np.asarray(image))
    grey = image.convert("L")
    assert to_tensor(grey).shape == (1, 7, 9)
    assert np.array_equal(np.asarray(to_image(to_tensor(grey))), np.asarray(grey))


def test_jitter_crops_and_flips_both_images_alike():
    import random

    jitter = Jitter(load_size=20, crop_size=16, flip=True, train=True)
    a = noise_image(4, (20, 20))
    b = a.copy()
    random.seed(0)
    for _ in range(5):
        params = jitter.sample()
        assert np.array_equal(np.asarray(jitter(a, params)), np.asarray(jitter(b, params)))
        assert jitter(a, params).size == (16, 16)
    test = Jitter(load_size=20, crop_size=16, train=False)
    assert test.sample() == (0, 0, False)
    assert test(a, test.sample()).size == (16, 16)


def test_split_ab_halves():
    ab = Image.fromarray(np.concatenate([np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)], 1))
    a, b = split_ab(ab)
    assert np.asarray(a).max() == 0 and np.asarray(b).min() == 255
    assert torch.equal(to_tensor(a), -torch.ones(3, 4, 4))


def test_a_decompression_bomb_is_named_before_a_pixel_is_decoded(tmp_path):
    from tests.bombs import write_bomb

    bomb = write_bomb(tmp_path / "bomb.png")
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(DataError, match=r"bomb.png: 60000 x 60000 pixels is over the limit .*--max-pixels .*--tile"):
        open_image(bomb)
    assert Image.MAX_IMAGE_PIXELS == before  # PIL's global is left as it was


def test_max_pixels_refuses_or_allows_an_image_on_purpose(tmp_path, monkeypatch):
    path = _save(noise_image(3, (40, 30)), tmp_path / "photo.png")
    with pytest.raises(DataError, match=r"photo.png: 40 x 30 pixels is over the limit of 1,000"):
        open_image(path, max_pixels=1000)
    # Allowed on purpose, it is read even where PIL's own process-wide limit would refuse it.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert open_image(path, max_pixels=1200).size == (40, 30)
    assert open_image(path, max_pixels=None).size == (40, 30)
    assert Image.MAX_IMAGE_PIXELS == 100
