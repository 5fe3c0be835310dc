"""`data check`: usable sets pass; truncated files, non-images and unpaired names are listed."""

import json

from click.testing import CliRunner

from translate.cli import main
from translate.data.check import check_folder

from tests.conftest import noise_image, write_ab, write_folders


def test_a_clean_paired_set_is_usable(ab_root):
    report = check_folder(ab_root)
    assert report.layout == "paired-ab" and report.usable
    assert report.counts == {"train": 3, "test": 2}
    assert dict(report.sizes) == {"48x24": 5} and dict(report.modes) == {"RGB": 5}


def test_truncated_png_and_non_image_files_are_listed(ab_root):
    good = ab_root / "train" / "000.png"
    (ab_root / "train" / "cut.png").write_bytes(good.read_bytes()[:300])
    (ab_root / "train" / "notes.txt").write_text("hello")
    (ab_root / "train" / "fake.jpg").write_text("not a jpeg")
    report = check_folder(ab_root)
    assert not report.usable
    assert {f for f, _ in report.unreadable} == {"train/cut.png", "train/fake.jpg"}
    assert report.not_images == ["train/notes.txt"]
    result = CliRunner().invoke(main, ["data", "check", str(ab_root)])
    assert result.exit_code == 1
    assert "cut.png: unreadable or truncated" in result.output and "notes.txt" in result.output
    assert "NOT usable" in result.output


def test_unpaired_names_in_a_and_b(tmp_path):
    write_folders(tmp_path / "A" / "train", tmp_path / "B" / "train", ["p", "q"])
    noise_image(9).save(tmp_path / "B" / "train" / "extra.png")
    report = check_folder(tmp_path)
    assert report.layout == "paired-folders"
    assert report.unpaired == ["B/train/extra.png"] and not report.usable


def test_unpaired_layout_and_json(unpaired_root):
    result = CliRunner().invoke(main, ["data", "check", "--json", str(unpaired_root)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["layout"] == "unpaired" and report["images"] == 5 and report["usable"]


def test_empty_or_missing_folder_is_not_usable(tmp_path):
    assert not check_folder(tmp_path).usable
    result = CliRunner().invoke(main, ["data", "check", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "is not a folder" in result.output


def test_side_by_side_note_for_square_images(tmp_path):
    write_ab(tmp_path / "train", 1)
    noise_image(0, (24, 24)).save(tmp_path / "train" / "square.png")
    report = check_folder(tmp_path)
    assert report.usable and any("twice as wide" in n for n in report.notes)
