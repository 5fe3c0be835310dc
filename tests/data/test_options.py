"""The image options every data set takes: one home, one check of the direction, every [data] key delivered."""

import pytest

import translate
from translate.config import DEFAULTS
from translate.data.datasets import SceneDataset, build_dataset
from translate.data.folders import PairedFolder, UnpairedFolder
from translate.data.options import OPTION_NAMES, ImageOptions, image_keywords
from translate.errors import DataError
from translate.registry import DATASETS, UnknownKeywordError

# A value other than the default for every option that the [data] table sets (train comes from the split).
CHANGED = {"direction": "BtoA", "load_size": 24, "crop_size": 16, "test_size": 20, "flip": False, "in_channels": 1,
           "out_channels": 1}

# [data] keys that are not image options: what build_dataset reads itself, and what other parts read.
READ_BY_BUILD_DATASET = {"root", "root_a", "root_b", "photo_hue", "layout", "task", "n_train", "n_test", "seed", "on_error"}
READ_ELSEWHERE = {"channel_order": "the trainers and Translator", "workers": "the training loop's DataLoader"}


def test_every_data_key_has_one_reader():
    # A new [data] key must become an image option or be read by build_dataset or another part, on purpose.
    options = set(OPTION_NAMES) - {"train"}
    assert options == set(CHANGED)
    assert options | READ_BY_BUILD_DATASET | set(READ_ELSEWHERE) == set(DEFAULTS["data"])
    assert not options & READ_BY_BUILD_DATASET


@pytest.mark.parametrize("kind", ["paired", "unpaired", "scenes"])
def test_every_image_option_of_the_data_table_reaches_the_dataset(kind, ab_root, unpaired_root):
    root = {"paired": str(ab_root), "unpaired": str(unpaired_root), "scenes": ""}[kind]
    data = {**DEFAULTS["data"], **CHANGED, "root": root, "task": "labels2photo", "seed": 7, "n_train": 5,
            "on_error": "fail", "layout": "unpaired" if kind == "unpaired" else "paired"}
    dataset = build_dataset(data, "train", train=False)
    assert type(dataset) is {"paired": PairedFolder, "unpaired": UnpairedFolder, "scenes": SceneDataset}[kind]
    assert dataset.options == ImageOptions(train=False, **CHANGED)
    if kind == "scenes":
        assert (len(dataset), dataset.seed) == (5, 7)
        assert (dataset.source, dataset.target) == ("photo", "labels")  # BtoA
    else:
        assert dataset.on_error == "fail"
    item = dataset[0]
    assert item["A"].shape == item["B"].shape == (1, 20, 20)  # held out (train=False): test_size


def test_the_split_decides_the_jitter_unless_told():
    assert image_keywords(DEFAULTS["data"], True)["train"] is True
    data = {**DEFAULTS["data"], "task": "labels2photo", "load_size": 24, "crop_size": 16, "n_test": 2}
    assert build_dataset(data, "test").options.train is False
    assert build_dataset(data, "train").render_size == 24
    assert build_dataset(data, "train", train=False).render_size == 16


@pytest.mark.parametrize("kind", ["paired", "scenes"])
def test_crops_to_train_on_and_whole_images_held_out(kind, ab_root):
    # Trained on 16 px crops of 32 px images, held out as the whole image at 32 px: the scale trained at.
    data = {**DEFAULTS["data"], "root": str(ab_root) if kind == "paired" else "", "task": "labels2photo",
            "load_size": 32, "crop_size": 16, "test_size": 32, "n_train": 2, "n_test": 2}
    assert build_dataset(data, "train")[0]["A"].shape[-2:] == (16, 16)
    assert build_dataset(data, "test" if kind == "scenes" else "train", train=False)[0]["A"].shape[-2:] == (32, 32)
    untold = build_dataset({**data, "test_size": 0}, "train", train=False)  # 0: held out at the crop size
    assert untold[0]["A"].shape[-2:] == (16, 16)


@pytest.mark.parametrize("name", ["paired", "unpaired", "scenes", "mixed"])
def test_a_bad_direction_is_one_clear_error(name, ab_root, unpaired_root):
    where = {"paired": {"root": str(ab_root)}, "unpaired": {"root": str(unpaired_root)}, "scenes": {},
             "mixed": {"root_a": str(ab_root / "train")}}[name]
    with pytest.raises(DataError, match="^direction 'sideways' is not AtoB or BtoA$"):
        translate.create("dataset", name, direction="sideways", **where)


@pytest.mark.parametrize("name", ["paired", "unpaired", "scenes", "mixed"])
def test_the_registry_lists_and_checks_the_options(name):
    entry = DATASETS.entry(name)
    assert set(OPTION_NAMES) <= set(entry.keywords())
    assert {k: entry.defaults()[k] for k in CHANGED} == {k: DEFAULTS["data"][k] for k in CHANGED}
    with pytest.raises(UnknownKeywordError, match="did you mean 'load_size'"):
        translate.create("dataset", name, lod_size=20)
