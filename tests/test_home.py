"""The user cache: `$TRANSLATE_HOME`, else `$XDG_CACHE_HOME/translate` (as torch.hub and Hugging Face do), else
`~/.cache/translate`."""

from __future__ import annotations

from pathlib import Path

import pytest

from translate import files


def test_home_honours_translate_home_then_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv(files.HOME_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert files.home() == tmp_path / "user" / ".cache" / "translate"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert files.home() == tmp_path / "xdg" / "translate"
    monkeypatch.setenv(files.HOME_ENV, str(tmp_path / "own"))
    assert files.home() == tmp_path / "own"
    monkeypatch.setenv(files.HOME_ENV, "")  # set but empty counts as unset, as for XDG_CACHE_HOME
    assert files.home() == tmp_path / "xdg" / "translate"
