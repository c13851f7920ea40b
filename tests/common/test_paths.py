"""The rlsuite cache folder: $RLSUITE_CACHE, else ~/.cache/rlsuite; created with its parents."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlsuite.common.paths import cache_dir


def test_cache_dir_under_rlsuite_cache_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path / "cache"))
    path = cache_dir("models", "tiny")
    assert path == tmp_path / "cache" / "models" / "tiny" and path.is_dir()
    assert cache_dir("models", "tiny") == path  # again: already there


def test_cache_dir_defaults_to_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RLSUITE_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "rlsuite" and cache_dir().is_dir()
