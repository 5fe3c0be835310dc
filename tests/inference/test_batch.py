"""The predict command's pipeline: inputs decoded and outputs saved on background threads while the network runs,
with the same files, the same summary and the same failures as translating one batch after another."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import noise_image
from translate.config import build_generator, from_run
from translate.data.transforms import open_image, to_image, to_tensor
from translate.inference import batch as batch_module
from translate.inference.batch import predict_files
from translate.inference.translator import Translator

SIZES = [(32, 24), (32, 24), (24, 32), (32, 24), (32, 24), (32, 24), (40, 32), (40, 32), (32, 24), (24, 32)]


@pytest.fixture
def translator() -> Translator:
    torch.manual_seed(0)
    net = build_generator(from_run({"generator": {"name": "resnet", "width": 4, "n_blocks": 1, "norm": "instance"}}),
                          3, 3)
    return Translator(net, {"data": {}}, in_channels=3, out_channels=3)


def write_images(folder: Path, sizes: list[tuple[int, int]] = SIZES) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, size in enumerate(sizes):
        paths.append(folder / f"{i:02d}.png")
        noise_image(i, size).save(paths[-1])
    return paths


def one_batch_after_another(translator: Translator, paths: list[Path], batch_size: int) -> dict[str, np.ndarray]:
    """What predict wrote before it overlapped its work: each run of equal sizes read, translated and saved in turn."""
    expected: dict[str, np.ndarray] = {}
    pending: list[tuple[Path, Image.Image]] = []

    def flush() -> None:
        if pending:
            results = translator.translate_tensor(torch.stack([to_tensor(image) for _, image in pending]))
            for (path, _), result in zip(pending, results):
                expected[path.stem] = np.asarray(to_image(result))
            pending.clear()

    for path in paths:
        image = open_image(path)
        if pending and pending[0][1].size != image.size:
            flush()
        pending.append((path, image))
        if len(pending) >= batch_size:
            flush()
    flush()
    return expected


def leftovers(folder: Path) -> list[str]:
    """Half-written files: the temporary files an atomic write renames into place."""
    return [p.name for p in folder.rglob("*") if p.name.startswith(".")]


@pytest.mark.parametrize("batch_size", [1, 4])
def test_outputs_are_the_pixels_one_batch_after_another_gives(
    translator: Translator, tmp_path: Path, batch_size: int
) -> None:
    paths = write_images(tmp_path / "in")
    summary = predict_files(translator, [str(tmp_path / "in")], tmp_path / "out", batch_size=batch_size,
                            progress=False)
    assert summary.written == [tmp_path / "out" / p.name for p in paths] and not summary.skipped
    for name, pixels in one_batch_after_another(translator, paths, batch_size).items():
        with Image.open(tmp_path / "out" / f"{name}.png") as out:
            assert np.array_equal(np.asarray(out), pixels), name


def test_an_auto_batch_runs_images_of_one_size_together_up_to_the_pixel_cap(
    translator: Translator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from translate.inference import translator as translator_module

    monkeypatch.setattr(translator_module, "BATCH_PIXELS", 3 * 32 * 24)  # three 32 x 24 images, one 40 x 32
    paths = write_images(tmp_path / "in")
    batches = []
    forward = translator.translate_tensor

    def counted(batch: torch.Tensor) -> torch.Tensor:
        batches.append((len(batch), tuple(batch.shape[2:])))
        return forward(batch)

    monkeypatch.setattr(translator, "translate_tensor", counted)
    summary = predict_files(translator, [str(tmp_path / "in")], tmp_path / "out", progress=False)
    assert summary.written == [tmp_path / "out" / p.name for p in paths]
    assert batches == [(2, (24, 32)), (1, (32, 24)), (3, (24, 32)), (1, (32, 40)), (1, (32, 40)), (1, (24, 32)),
                       (1, (32, 24))]
    for path in paths:  # each as it would come out alone
        alone = np.asarray(to_image(forward(to_tensor(open_image(path))[None])[0])).astype(int)
        with Image.open(tmp_path / "out" / path.name) as out:
            assert np.abs(np.asarray(out).astype(int) - alone).max() <= 1, path.name


def test_the_reference_test_mode_translates_each_image_alone(translator: Translator) -> None:
    assert translator.batch_for(256, 256) == 16 and translator.batch_for(1024, 1024) == 1
    translator.test_mode = "reference"  # batch statistics: an image's output would depend on its batch-mates
    assert translator.batch_for(64, 64) == 1


def test_summary_and_log_keep_input_order_with_bad_files_mixed_in(
    translator: Translator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    paths = write_images(tmp_path / "in", [(24, 24), (24, 24), (48, 48), (24, 24), (24, 24), (24, 24)])
    good = paths[0].read_bytes()
    paths[1].write_bytes(good[: len(good) // 2])  # truncated
    # paths[2] is over the pixel limit below; paths[4] cannot be written
    save_image = batch_module.save_image

    def full_disk_for_04(image: Image.Image, path: Path) -> None:
        if path.name == "04.png":
            raise OSError("disk full")
        save_image(image, path)

    monkeypatch.setattr(batch_module, "save_image", full_disk_for_04)
    with caplog.at_level(logging.WARNING, logger="translate"):
        summary = predict_files(translator, [str(p) for p in paths], tmp_path / "out", progress=False,
                                max_pixels=40 * 40)
    out = tmp_path / "out"
    assert summary.written == [out / "00.png", out / "03.png", out / "05.png"]
    assert [name for name, _ in summary.skipped] == [str(paths[1]), str(paths[2]), str(paths[4])]
    assert "unreadable or truncated" in summary.skipped[0][1] and not summary.skipped[0][1].startswith(str(paths[1]))
    assert summary.skipped[1][1].startswith("48 x 48 pixels is over the limit")
    assert summary.skipped[2][1] == f"could not write {out / '04.png'}: disk full"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w.split(":")[0] for w in warnings] == [f"skipping {p}" for p in (paths[1], paths[2], paths[4])]
    assert warnings[2] == f"skipping {paths[4]}: could not write {out / '04.png'} (disk full)"
    assert sorted(p.name for p in out.iterdir()) == ["00.png", "03.png", "05.png"]


def test_a_target_that_is_a_folder_is_reported_and_the_rest_written(translator: Translator, tmp_path: Path) -> None:
    paths = write_images(tmp_path / "in", [(24, 24)] * 5)
    (tmp_path / "out" / "02.png").mkdir(parents=True)
    summary = predict_files(translator, [str(tmp_path / "in")], tmp_path / "out", batch_size=2, overwrite=True,
                            progress=False)
    assert [name for name, _ in summary.skipped] == [str(paths[2])]
    assert summary.skipped[0][1].startswith(f"could not write {tmp_path / 'out' / '02.png'}: ")
    assert [p.name for p in summary.written] == ["00.png", "01.png", "03.png", "04.png"]
    for path in summary.written:
        with Image.open(path) as out:
            assert out.size == (24, 24)
    assert not leftovers(tmp_path / "out")


@pytest.mark.parametrize("where", ["reader", "writer"])
def test_an_unexpected_error_in_a_background_thread_reaches_the_caller(
    translator: Translator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    paths = write_images(tmp_path / "in", [(24, 24)] * 6)
    read, save = batch_module.open_image, batch_module.save_image

    def open_but_break_03(path: Path, *args: Any) -> Image.Image:
        if Path(path).name == "03.png":
            raise RuntimeError("a bug while reading 03")
        return read(path, *args)

    def save_but_break_03(image: Image.Image, path: Path) -> None:
        if path.name == "03.png":
            raise RuntimeError("a bug while writing 03")
        save(image, path)

    if where == "reader":
        monkeypatch.setattr(batch_module, "open_image", open_but_break_03)
    else:
        monkeypatch.setattr(batch_module, "save_image", save_but_break_03)
    threads = threading.active_count()
    with pytest.raises(RuntimeError, match=f"a bug while {'reading' if where == 'reader' else 'writing'} 03"):
        predict_files(translator, [str(p) for p in paths], tmp_path / "out", progress=False, batch_size=1)
    assert threading.active_count() == threads
    assert not leftovers(tmp_path / "out")
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written[:3] == ["00.png", "01.png", "02.png"] and "03.png" not in written  # as one by one would leave
    for name in written:
        with Image.open(tmp_path / "out" / name) as out:
            out.load()  # whole files only


def test_ctrl_c_stops_the_threads_and_leaves_no_partial_files(
    translator: Translator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_images(tmp_path / "in", [(24, 24)] * 8)
    translate_tensor, calls = translator.translate_tensor, []

    def interrupted_on_the_third_batch(batch: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return translate_tensor(batch)

    monkeypatch.setattr(translator, "translate_tensor", interrupted_on_the_third_batch)
    threads = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        predict_files(translator, [str(p) for p in paths], tmp_path / "out", progress=False, batch_size=1)
    assert threading.active_count() == threads
    assert not leftovers(tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} <= {"00.png", "01.png"}


@pytest.mark.parametrize("batch_size", [1, 3])
def test_reading_ahead_stops_two_batches_ahead_of_the_network(
    translator: Translator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    paths = write_images(tmp_path / "in", [(24, 24)] * 12)
    read, opened = batch_module.open_image, []

    def counted(path: Path, *args: Any) -> Image.Image:
        opened.append(Path(path).name)
        return read(path, *args)

    bound = batch_size + max(2, 2 * batch_size)  # the batch being translated and two more
    seen: list[int] = []
    translate_tensor = translator.translate_tensor

    def first_batch_waits_for_the_reader(batch: torch.Tensor) -> torch.Tensor:
        if not seen:  # the network is busy: let the reader run until it has to stop
            deadline = time.monotonic() + 5
            while len(opened) < bound and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.05)  # room to overshoot, were it unbounded
            seen.append(len(opened))
        return translate_tensor(batch)

    monkeypatch.setattr(batch_module, "open_image", counted)
    monkeypatch.setattr(translator, "translate_tensor", first_batch_waits_for_the_reader)
    summary = predict_files(translator, [str(p) for p in paths], tmp_path / "out", batch_size=batch_size,
                            progress=False)
    assert seen == [bound]
    assert opened == [p.name for p in paths] and len(summary.written) == len(paths)


def test_predict_imports_only_what_predicting_needs(tmp_path: Path) -> None:
    """Start-up is most of a short predict: no plotting, image science, timm, torchvision or torch's compiler."""
    import os
    import subprocess
    import sys

    from tests.inference.test_translator import RESNET, make_run

    run = make_run(tmp_path / "run", RESNET)
    noise_image(0, (24, 16)).save(tmp_path / "a.png")
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
           "TRANSLATE_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "translate", "predict", str(run),
                           str(tmp_path / "a.png"), "--out", str(tmp_path / "out"), "-q"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert (tmp_path / "out" / "a.png").is_file()
    heavy = {"matplotlib", "scipy", "skimage", "timm", "torchvision", "torch._dynamo"}
    assert not heavy & imported, sorted(heavy & imported)
