"""Videos through `translate predict`: every frame translated at the clip's frame rate, frame folders put together,
and damaged or unreadable videos named in one line with nothing half-written left behind."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.inference.test_translator import RESNET, invoke, make_run, one_line_error
from translate.data.transforms import to_image, to_tensor
from translate.errors import DataError, TranslateError
from translate.inference.batch import predict_files
from translate.inference.translator import load

av = pytest.importorskip("av")

SIZE = (48, 32)  # width, height
RATE = Fraction(12)


def moving_bar(i: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """Frame i of a test clip: a white bar moving right over a coloured ground."""
    width, height = size
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 0], pixels[..., 2] = 40 + 20 * i, 200 - 20 * i
    pixels[:, 5 * i: 5 * i + 10] = 255
    return pixels


def write_clip(path: Path, n: int = 8, rate: Fraction = RATE, size: tuple[int, int] = SIZE,
               sound: bool = False) -> Path:
    """A tiny H.264 clip (with a second of sine sound when asked), written with PyAV."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.options = {"crf": "10"}
        audio = container.add_stream("aac", rate=16000) if sound else None
        for i in range(n):
            container.mux(video.encode(av.VideoFrame.from_ndarray(moving_bar(i, size), format="rgb24")))
        if audio is not None:
            tone = np.sin(np.linspace(0, 2 * np.pi * 440, 16000, dtype=np.float32))[None] * 0.2
            frame = av.AudioFrame.from_ndarray(tone.astype(np.float32), format="fltp", layout="mono")
            frame.sample_rate = 16000
            container.mux(audio.encode(frame))
            container.mux(audio.encode(None))
        container.mux(video.encode(None))
    return path


def read_clip(path: Path) -> tuple[list[np.ndarray], Fraction, list[str]]:
    """(frames as RGB arrays, frame rate, the kinds of stream) of a video file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return frames, Fraction(stream.average_rate), [s.type for s in container.streams]


def luma_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two RGB frames' brightness, in 0-255 levels."""
    weights = np.array([0.299, 0.587, 0.114])
    return float(np.abs(a.astype(float) @ weights - b.astype(float) @ weights).mean())


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".*")]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_every_frame_is_translated_at_the_clips_frame_rate(tmp_path: Path, batch_size: int, capsys) -> None:
    translator = load(make_run(tmp_path / "run", RESNET))
    clip = write_clip(tmp_path / "clip.mp4", n=8, rate=Fraction(25, 2))
    summary = predict_files(translator, [str(clip)], tmp_path / "out", batch_size=batch_size)
    assert summary.written == [tmp_path / "out" / "clip.mp4"] and summary.frames == {summary.written[0]: 8}
    assert summary.line() == "wrote 1 video (8 frames)"
    assert "frame/s" in capsys.readouterr().err  # the progress bar counts frames

    inputs, _, _ = read_clip(clip)
    outputs, rate, _ = read_clip(tmp_path / "out" / "clip.mp4")
    assert rate == Fraction(25, 2) and len(outputs) == 8 and outputs[0].shape == (32, 48, 3)
    expected = [np.asarray(to_image(translator.translate_tensor(to_tensor(Image.fromarray(frame))[None])[0]))
                for frame in inputs]
    errors = np.array([[luma_error(out, want) for want in expected] for out in outputs])
    # H.264 keeps brightness close (its colour is stored at half resolution); each frame is in its place
    assert errors.diagonal().max() < 4 and list(errors.argmin(axis=1)) == list(range(8))
    assert not leftovers(tmp_path / "out")


def test_side_by_side_size_and_sound(tmp_path: Path) -> None:
    translator = load(make_run(tmp_path / "run", RESNET))
    clip = write_clip(tmp_path / "talk.mkv", n=6, sound=True)
    summary = predict_files(translator, [str(clip)], tmp_path / "out", sbs=True, size=(32, 24), progress=False)
    frames, rate, kinds = read_clip(tmp_path / "out" / "talk.mkv")
    assert summary.frames == {tmp_path / "out" / "talk.mkv": 6} and rate == RATE
    assert frames[0].shape == (24, 64, 3) and kinds == ["video", "audio"]  # input | output; the sound kept


def test_a_folder_of_frames_gives_frames_and_with_fps_a_video(tmp_path: Path) -> None:
    translator = load(make_run(tmp_path / "run", RESNET))
    (tmp_path / "frames").mkdir()
    for i in range(5):
        Image.fromarray(moving_bar(i)).save(tmp_path / "frames" / f"frame_{i:03d}.png")
    summary = predict_files(translator, [str(tmp_path / "frames")], tmp_path / "out", fps=10, progress=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"frame_{i:03d}.png" for i in range(5)] + [
        "frames.mp4"]
    assert summary.line() == "wrote 5 images and 1 video (5 frames)"
    frames, rate, _ = read_clip(tmp_path / "out" / "frames.mp4")
    assert rate == 10 and len(frames) == 5
    for i, frame in enumerate(frames):  # in name order
        assert luma_error(frame, np.asarray(Image.open(tmp_path / "out" / f"frame_{i:03d}.png"))) < 4


def test_frames_of_different_sizes_make_no_video(tmp_path: Path) -> None:
    translator = load(make_run(tmp_path / "run", RESNET))
    (tmp_path / "frames").mkdir()
    Image.fromarray(moving_bar(0)).save(tmp_path / "frames" / "a.png")
    Image.fromarray(moving_bar(1, (40, 32))).save(tmp_path / "frames" / "b.png")
    with pytest.raises(DataError, match="a video needs frames of one size: pass --size WxH"):
        predict_files(translator, [str(tmp_path / "frames")], tmp_path / "out", fps=10, progress=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]  # the frames are kept


def test_damaged_and_empty_videos_are_named_and_nothing_half_written_is_left(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", RESNET)
    good = write_clip(tmp_path / "good.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(good[: len(good) // 3])  # the moov atom is at the end: unreadable
    (tmp_path / "noise.webm").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.avi").write_bytes(b"")
    for name in ("cut.mp4", "noise.webm", "empty.avi"):
        result = invoke("predict", run, tmp_path / name, "--out", tmp_path / f"out-{name}", "-q")
        # as for images: the skipped file is warned about, then the one-line error that nothing was written
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert result.output.strip().splitlines()[-1].startswith("Error: nothing written")
        assert f"{name} (not a readable video" in result.output
        out = tmp_path / f"out-{name}"
        assert not out.exists() or not any(out.iterdir())
    result = invoke("predict", run, tmp_path / "cut.mp4", tmp_path / "good.mp4", "--out", tmp_path / "out", "-q")
    assert result.exit_code == 0 and "wrote 1 video (8 frames), skipped 1: " in result.output
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["good.mp4"]


def test_a_clip_cut_short_is_warned_about_and_a_corrupt_one_skipped(tmp_path: Path, caplog) -> None:
    translator = load(make_run(tmp_path / "run", RESNET))
    good = write_clip(tmp_path / "good.mkv", n=10).read_bytes()  # Matroska: the header first, then the frames
    (tmp_path / "cut.mkv").write_bytes(good[: len(good) * 2 // 3])
    corrupt = bytearray(good)
    corrupt[len(good) // 3: 2 * len(good) // 3] = bytes(len(good) // 3)
    (tmp_path / "corrupt.mkv").write_bytes(bytes(corrupt))
    summary = predict_files(translator, [str(tmp_path / "cut.mkv"), str(tmp_path / "corrupt.mkv")], tmp_path / "out",
                            progress=False)
    assert 0 < summary.frames[tmp_path / "out" / "cut.mkv"] < 10
    assert "cut.mkv: read" in caplog.text and "frames of about 10; the file seems cut short" in caplog.text
    assert [name for name, _ in summary.skipped] == [str(tmp_path / "corrupt.mkv")]
    assert "cannot be decoded" in summary.skipped[0][1] and not (tmp_path / "out" / "corrupt.mkv").exists()
    assert not leftovers(tmp_path / "out")


def test_an_existing_output_is_never_replaced_unasked(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", RESNET)
    clip = write_clip(tmp_path / "clip.mp4")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "clip.mp4").write_bytes(b"mine")
    one_line_error(invoke("predict", run, clip, "--out", tmp_path / "out"), "--overwrite")
    assert (tmp_path / "out" / "clip.mp4").read_bytes() == b"mine"
    result = invoke("predict", run, clip, "--out", tmp_path / "out", "--overwrite", "-q")
    assert result.exit_code == 0 and len(read_clip(tmp_path / "out" / "clip.mp4")[0]) == 8


def test_cli_globs_videos_and_refuses_a_bad_fps(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", RESNET)
    write_clip(tmp_path / "a.mp4", n=3)
    write_clip(tmp_path / "b.mov", n=2)
    result = invoke("predict", run, str(tmp_path / "*.m*"), "--out", tmp_path / "out", "-q")
    assert result.exit_code == 0 and "wrote 2 videos (5 frames)" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.mp4", "b.mov"]
    result = invoke("predict", run, tmp_path / "a.mp4", "--out", tmp_path / "o2", "--fps", "0")
    assert result.exit_code == 2 and "--fps" in result.output


def test_without_pyav_a_video_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path / "run", RESNET)
    clip = write_clip(tmp_path / "clip.mp4")
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` fails as if it were not installed
    one_line_error(invoke("predict", run, clip, "--out", tmp_path / "out"), 'pip install "translate-zoo[video]"')
    assert not (tmp_path / "out").exists()
    with pytest.raises(TranslateError, match="translate-zoo"):
        predict_files(load(run), [str(clip)], tmp_path / "out")


def test_an_odd_sized_clip_is_padded_to_even_sides(tmp_path: Path) -> None:
    from translate.inference.video import VideoWriter

    with VideoWriter(tmp_path / "odd.mp4", 5, (33, 21)) as video:
        for i in range(3):
            video.write(Image.fromarray(moving_bar(i, (33, 21))))
    frames, rate, _ = read_clip(tmp_path / "odd.mp4")
    assert len(frames) == 3 and frames[0].shape == (22, 34, 3) and rate == 5
    assert luma_error(frames[0][:21, :33], moving_bar(0, (33, 21))) < 4


def test_the_html_page_plays_the_video_beside_its_first_frame(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", RESNET)
    clip = write_clip(tmp_path / "clip.mp4")
    result = invoke("predict", run, clip, "--out", tmp_path / "out", "--html", "-q")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "index.html").read_text()
    assert '<video src="clip.mp4"' in page and "8 frames" in page
    assert page.count('src="data:image/') == 1  # the input clip, shown by its first frame
