"""``defaults._obtain`` run for real with plain train/save/load callables (issue 26, mutation testing).

The defaults' own builders always hand ``_obtain`` a config with a ``device`` field and no ``extra`` configs
of their own kind; here a config without ``device``, an ``extra`` config off its defaults, the reuse's log
line and the device a reused model is loaded on are pinned exactly.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from rlsuite.common.config import Config, option
from rlsuite.common.errors import OutputDirError
from rlsuite.vision.defaults import Trained, _obtain, config_key

AUTO = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # what "auto" resolves to here


@dataclass
class Recipe(Config):
    """A config with no ``device`` field: ``_obtain`` resolves ``"auto"`` for it."""

    seed: int = option(0, help="a seed")


@dataclass
class Extra(Config):
    """Options beside the recipe (as ``train-vlm-policy``'s model options): in the key when off their defaults."""

    rank: int = option(2, help="a rank")


class Plain:
    """A model of one JSON file, with train/save/load callables that record the device each is handed."""

    def __init__(self) -> None:
        self.trained_on: list[torch.device] = []
        self.loaded: list[tuple[Path, torch.device]] = []

    def train(self, device: torch.device) -> tuple[dict[str, Any], dict[str, Any]]:
        self.trained_on.append(device)
        return {"weights": [1, 2]}, {"score": 0.5}

    @staticmethod
    def save(model: dict[str, Any], tmp: Path) -> None:
        (tmp / "model.json").write_text(json.dumps(model))

    def load(self, folder: Path, device: torch.device) -> dict[str, Any]:
        self.loaded.append((folder, device))
        return json.loads((folder / "model.json").read_text())

    def obtain(self, folder: Path, extra: tuple[Config, ...] = ()) -> Trained:
        return _obtain("plain", Recipe(seed=3), folder, False, self.train, self.save, self.load, None, extra=extra)


def test_a_config_without_a_device_field_is_trained_and_reloaded_on_the_auto_device(tmp_path: Path) -> None:
    plain, folder = Plain(), tmp_path / "run"
    trained = plain.obtain(folder)
    assert (trained.model, trained.metrics, trained.folder, trained.reused, trained.device) == (
        {"weights": [1, 2]}, {"score": 0.5}, folder, False, AUTO)  # fmt: skip
    assert plain.trained_on == [AUTO] and plain.loaded == []
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "finished.json", "metrics.json", "model.json"]
    assert json.loads((folder / "metrics.json").read_text()) == {"score": 0.5}
    kept = plain.obtain(folder)
    assert (kept.model, kept.metrics, kept.folder, kept.reused, kept.device) == (
        {"weights": [1, 2]}, {"score": 0.5}, folder, True, AUTO)  # fmt: skip
    assert plain.trained_on == [AUTO] and plain.loaded == [(folder, AUTO)]


def test_the_finished_marker_names_the_key_of_the_config_with_its_extra_options(tmp_path: Path) -> None:
    plain, folder, extra = Plain(), tmp_path / "run", (Extra(rank=4),)
    key = config_key(Recipe(seed=3), extra)
    assert key != config_key(Recipe(seed=3))  # an extra config off its defaults changes the key
    plain.obtain(folder, extra)
    info = json.loads((folder / "finished.json").read_text())
    assert sorted(info) == ["config_key", "finished_at", "model"]
    assert (info["model"], info["config_key"]) == ("plain", key)
    assert plain.obtain(folder, extra).reused and plain.trained_on == [AUTO]
    # the same recipe without its extra options is another config: the finished folder is not reused
    with pytest.raises(OutputDirError, match=r"holds a finished run of other settings; --resume continues"):
        _obtain("plain", Recipe(seed=3), folder, False, plain.train, plain.save, plain.load, None, resume=True)


def test_the_cache_folder_is_keyed_with_the_extra_options_and_reused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path))
    plain, extra = Plain(), (Extra(rank=4),)
    key = config_key(Recipe(seed=3), extra)
    trained = _obtain("plain", Recipe(seed=3), None, False, plain.train, plain.save, plain.load, None, extra=extra)
    assert trained.folder == tmp_path / "vision" / "plain" / key
    assert json.loads((trained.folder / "finished.json").read_text())["config_key"] == key
    kept = _obtain("plain", Recipe(seed=3), None, False, plain.train, plain.save, plain.load, None, extra=extra)
    assert kept.reused and kept.device == AUTO and plain.trained_on == [AUTO]


def test_a_reused_model_is_logged_with_its_name_and_folder(tmp_path: Path, caplog) -> None:
    plain, folder = Plain(), tmp_path / "run"
    plain.obtain(folder)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rlsuite.vision.defaults"):
        plain.obtain(folder)
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("rlsuite.vision.defaults", logging.INFO, f"plain: reusing the model trained earlier with this config in "
                                                  f"{folder}")]  # fmt: skip
