"""Paired and unpaired folders in every layout, and what happens with bad files."""

import logging

import pytest
import torch

from translate.data.datasets import build_dataset
from translate.data.folders import ImageFolder, PairedFolder, UnpairedFolder
from translate.errors import DataError

from tests.conftest import noise_image, write_folders

SIZES = dict(load_size=20, crop_size=16)


def _is_pair(item) -> bool:
    # Fixture pairs are B = 255 - A, so A + B = 0 in [-1, 1] (up to resampling), with the same jitter.
    return float((item["A"] + item["B"]).abs().mean()) < 0.02


def test_side_by_side_pairs(ab_root):
    data = PairedFolder(str(ab_root), "train", **SIZES)
    assert len(data) == 3
    item = data[0]
    assert item["A"].shape == item["B"].shape == (3, 16, 16)
    assert all(_is_pair(data[i]) for i in range(3))
    assert len(PairedFolder(str(ab_root), "test", **SIZES)) == 2


@pytest.mark.parametrize("layout", ["split/A", "A/split", "A"])
def test_a_and_b_folders_pair_by_name(tmp_path, layout):
    names = ["x", "y", "z"]
    a_dir, b_dir = {
        "split/A": (tmp_path / "train" / "A", tmp_path / "train" / "B"),
        "A/split": (tmp_path / "A" / "train", tmp_path / "B" / "train"),
        "A": (tmp_path / "A", tmp_path / "B"),
    }[layout]
    write_folders(a_dir, b_dir, names)
    data = PairedFolder(str(tmp_path), "train", **SIZES)
    assert len(data) == 3 and all(_is_pair(data[i]) for i in range(3))
    assert data[1]["A_path"].endswith("y.png") and data[1]["B_path"].endswith("y.png")


def test_direction_swaps_sides_and_channels_follow(ab_root):
    forward = PairedFolder(str(ab_root), "test", train=False, **SIZES)[0]
    backward = PairedFolder(str(ab_root), "test", direction="BtoA", train=False, out_channels=1, **SIZES)[0]
    assert torch.allclose(backward["A"], forward["B"])
    assert backward["B"].shape == (1, 16, 16)


def test_unmatched_names_are_refused(tmp_path):
    write_folders(tmp_path / "A", tmp_path / "B", ["x", "y"])
    noise_image(5).save(tmp_path / "A" / "lonely.png")
    with pytest.raises(DataError, match=r"1 file\(s\) in .*A and 0 in .*B have no partner.*lonely.png"):
        PairedFolder(str(tmp_path), "train")


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        PairedFolder(str(tmp_path / "nope"))
    with pytest.raises(DataError, match="no paired images for split 'train'"):
        PairedFolder(str(tmp_path))
    (tmp_path / "trainA").mkdir()
    (tmp_path / "trainB").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        UnpairedFolder(str(tmp_path))


def test_unpaired_samples_b_independently(unpaired_root):
    data = UnpairedFolder(str(unpaired_root), **SIZES)
    assert len(data) == 3  # the larger side
    b_paths = set()
    for epoch in range(20):
        data.set_epoch(epoch)
        b_paths.add(data[0]["B_path"])
    assert len(b_paths) == 2  # B is drawn at random, anew each epoch
    serial = UnpairedFolder(str(unpaired_root), train=False, **SIZES)
    assert [serial[i]["B_path"][-6:] for i in range(3)] == ["B0.jpg", "B1.jpg", "B0.jpg"]


def test_a_bad_file_is_named_and_skipped_or_fatal(ab_root, caplog):
    (ab_root / "train" / "001.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    data = PairedFolder(str(ab_root), "train", **SIZES)
    with caplog.at_level(logging.WARNING, logger="translate"):
        item = data[1]
    assert item["A_path"].endswith("002.png")
    assert "001.png" in caplog.text
    strict = PairedFolder(str(ab_root), "train", on_error="fail", **SIZES)
    with pytest.raises(DataError, match=r"001.png.*data.on_error='fail'"):
        strict[1]


def test_image_folder_keeps_sizes(tmp_path):
    noise_image(0, (33, 17)).save(tmp_path / "a.png")
    (tmp_path / "sub").mkdir()
    noise_image(1, (8, 8), "L").save(tmp_path / "sub" / "b.jpg")
    data = ImageFolder([str(tmp_path)])
    assert [tuple(data[i]["A"].shape) for i in range(2)] == [(3, 17, 33), (3, 8, 8)]


def _data_table(**kw):
    from translate.config import DEFAULTS

    return {**DEFAULTS["data"], "load_size": 20, "crop_size": 16, **kw}


def test_build_dataset_reads_a_folder_or_the_scenes_world(ab_root, unpaired_root):
    assert isinstance(build_dataset(_data_table(root=str(ab_root))), PairedFolder)
    assert isinstance(build_dataset(_data_table(root=str(unpaired_root), layout="unpaired")), UnpairedFolder)
    world = build_dataset(_data_table(task="photo2sketch", out_channels=1, n_train=4))
    item = world[0]
    assert item["A"].shape == (3, 16, 16) and item["B"].shape == (1, 16, 16)
    assert len(world) == 4


def test_held_out_scenes_carry_the_target_region_map():
    from translate.data.scenes import render, scene_seed

    test = build_dataset(_data_table(task="photo2shinkai", n_test=2), split="test", train=False)
    item = test[1]
    assert item["regions"].shape == (16, 16) and item["regions"].dtype == torch.int32
    assert torch.equal(item["regions"], torch.from_numpy(render(scene_seed(0, "test", 1), 16).regions))
    assert "regions" not in build_dataset(_data_table(task="photo2shinkai", n_train=2))[0]  # training needs none


def test_scenes_unpaired_train_is_unpaired_and_test_is_paired():
    train = build_dataset(_data_table(task="photo2shinkai", layout="unpaired", n_train=8))
    test = build_dataset(_data_table(task="photo2shinkai", layout="unpaired", n_test=2), split="test")
    assert train[0]["A_path"] != train[0]["B_path"].replace("shinkai", "photo")
    item = test[0]
    assert item["A_path"].split("/")[1] == item["B_path"].split("/")[1]  # the same scene


def test_an_items_randomness_is_a_function_of_seed_epoch_and_index(unpaired_root, ab_root):
    import random

    for data in (UnpairedFolder(str(unpaired_root), **SIZES), PairedFolder(str(ab_root), "train", **SIZES)):
        def item(epoch: int, index: int, seed: int = 7) -> dict:
            data.set_epoch(epoch, seed)
            return data[index]

        first = item(1, 2)
        random.seed(123), torch.manual_seed(123)  # global generators play no part ...
        item(0, 0), item(3, 1)  # ... nor what was loaded before
        again = item(1, 2)
        assert torch.equal(first["A"], again["A"]) and torch.equal(first["B"], again["B"])
        assert first["B_path"] == again["B_path"]
        others = [item(e, 2, s) for e, s in ((0, 7), (2, 7), (3, 7), (1, 8), (1, 9), (1, 10))]
        assert any(not torch.equal(first["A"], o["A"]) for o in others)  # another epoch or seed: another crop
