"""Checkpoints: a save cut short at any point leaves one that loads (the last or the new one, never a mix)."""

from __future__ import annotations

import os

import pytest
import torch

from translate.trainers import checkpoint


class Crash(Exception):
    pass


def state(value: float) -> dict:
    return {"networks": {"G": {"w": torch.full((3,), value)}}, "optim": {"m": torch.full((2,), value)}}


@pytest.mark.parametrize("cut", range(7))
def test_a_save_cut_short_anywhere_keeps_a_checkpoint_that_loads(tmp_path, monkeypatch, cut):
    checkpoint.save(tmp_path, "latest", state(1.0), {"step": 1})
    calls = []

    def crash_at_cut(real):
        def wrapped(*args, **kwargs):
            if real.__name__ != "replace" or not str(args[0]).endswith(".tmp"):  # not an atomic write's own rename
                calls.append(real.__name__)
                if len(calls) == cut + 1:
                    raise Crash
            return real(*args, **kwargs)
        return wrapped

    # the seven writes and renames a save makes: 3 pending files, 3 renames, the folder's fsync
    monkeypatch.setattr(checkpoint, "save_weights", crash_at_cut(checkpoint.save_weights))
    monkeypatch.setattr(checkpoint, "write_json", crash_at_cut(checkpoint.write_json))
    monkeypatch.setattr(checkpoint.os, "replace", crash_at_cut(os.replace))
    monkeypatch.setattr(checkpoint, "fsync_dir", crash_at_cut(checkpoint.fsync_dir))
    with pytest.raises(Crash):
        checkpoint.save(tmp_path, "latest", state(2.0), {"step": 2})
    monkeypatch.undo()

    assert checkpoint.exists(tmp_path)
    loaded, record = checkpoint.load(tmp_path)
    committed = cut >= 3  # the pending JSON was written: the new checkpoint is finished on load
    assert record["step"] == (2 if committed else 1)
    value = 2.0 if committed else 1.0
    assert torch.equal(loaded["networks"]["G"]["w"], torch.full((3,), value))
    assert torch.equal(loaded["optim"]["m"], torch.full((2,), value))
    left = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert left == ["latest.json", "latest.safetensors", "latest.state.safetensors"]  # nothing pending left


def test_weights_that_share_memory_are_saved_each_whole(tmp_path):
    from translate.files import load_weights, save_weights

    weight = torch.randn(4, 4)
    tensors = {"a": weight, "tied": weight, "rows": weight[1:], "expanded": torch.randn(2).expand(3, 2),
               "channels_last": torch.randn(1, 3, 4, 4).contiguous(memory_format=torch.channels_last)}
    save_weights(tmp_path / "w.safetensors", tensors)
    loaded = load_weights(tmp_path / "w.safetensors")
    assert loaded.keys() == tensors.keys() and all(torch.equal(loaded[k], tensors[k]) for k in tensors)


def test_a_checkpoint_written_in_the_background_that_fails_stops_the_run_with_its_error(tmp_path, monkeypatch):
    import threading

    from tests.trainers.test_loop import tiny_config
    from translate.trainers.loop import train

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(checkpoint, "save", disk_full)
    threads = threading.active_count()
    with pytest.raises(OSError, match="No space left"):
        train(tiny_config("pix2pix", "coloring", tmp_path / "run", 6, checkpoint_every=3))
    assert threading.active_count() == threads
