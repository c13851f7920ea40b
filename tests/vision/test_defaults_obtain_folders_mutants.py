"""``defaults._obtain``'s folders run for real (mutation testing): what it refuses, keeps, empties and logs.

An explicit folder with leftovers and no finished model is refused with one exact line (the advice names
``--resume`` only when it holds checkpoints); ``resume`` continues such a folder (``train`` sees its checkpoints,
the other files stay); a crashed try in the cache's folder is emptied; an explicit finished folder of other
settings is refused without ``overwrite``; the saved model is logged with its name and folder.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from test_defaults_obtain_mutants import AUTO, Plain, Recipe

from rlsuite.common.errors import OutputDirError
from rlsuite.vision.defaults import _obtain, config_key


def _leave(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("left by a crash\n")


def _run(plain: Plain, folder: Path | None, resume: bool = False, overwrite: bool = False):
    return _obtain("plain", Recipe(seed=3), folder, overwrite, plain.train, plain.save, plain.load, None,
                   resume=resume)  # fmt: skip


def test_leftovers_without_checkpoints_are_refused_naming_the_first_three_and_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    _leave(folder, "d.txt", "b.txt", "a.txt", "c.txt")
    with pytest.raises(OutputDirError) as err:
        _run(Plain(), folder)
    assert str(err.value) == (f"{folder}: holds files but no finished model (a.txt, b.txt, c.txt...); "
                              "pass --overwrite to replace them, or use another folder")  # fmt: skip


def test_leftovers_with_checkpoints_are_refused_naming_resume_too(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    _leave(folder, "model.json", "metrics.json")
    (folder / "checkpoints").mkdir()
    with pytest.raises(OutputDirError) as err:
        _run(Plain(), folder)
    assert str(err.value) == (
        f"{folder}: holds files but no finished model (checkpoints, metrics.json, model.json...); "
        "pass --resume to continue it, --overwrite to replace them, or use another folder"
    )


def test_resume_continues_an_unfinished_folder_keeping_its_files_until_it_finishes(tmp_path: Path) -> None:
    folder, seen = tmp_path / "run", []
    _leave(folder, "notes.txt")
    (folder / "checkpoints").mkdir()
    _leave(folder / "checkpoints", "step_1")

    class Resuming(Plain):
        def train(self, device):
            seen.append(sorted(p.name for p in folder.rglob("*") if p.name != ".lock"))
            return super().train(device)

    plain = Resuming()
    trained = _run(plain, folder, resume=True)
    assert seen == [["checkpoints", "notes.txt", "step_1"]]  # train found the checkpoint to continue from
    assert (trained.reused, trained.device, plain.trained_on) == (False, AUTO, [AUTO])
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "finished.json", "metrics.json", "model.json",
                                                        "notes.txt"]  # checkpoints removed once finished  # fmt: skip


def test_resume_of_a_fresh_folder_trains_it(tmp_path: Path) -> None:
    plain, folder = Plain(), tmp_path / "fresh"
    trained = _run(plain, folder, resume=True)
    assert (trained.model, trained.reused, plain.trained_on) == ({"weights": [1, 2]}, False, [AUTO])
    assert json.loads((folder / "finished.json").read_text())["config_key"] == config_key(Recipe(seed=3))


def test_a_crashed_try_in_the_cache_folder_is_emptied_and_trained_again(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path))
    folder = tmp_path / "vision" / "plain" / config_key(Recipe(seed=3))
    _leave(folder, "model.json", "half-written.tmp")
    plain = Plain()
    trained = _run(plain, None)
    assert (trained.folder, trained.reused, plain.trained_on) == (folder, False, [AUTO])
    assert sorted(p.name for p in folder.iterdir()) == [".lock", "finished.json", "metrics.json", "model.json"]


def test_a_finished_explicit_folder_of_other_settings_is_refused_without_overwrite(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    _obtain("plain", Recipe(seed=4), folder, False, Plain().train, Plain.save, Plain().load, None)
    plain = Plain()
    with pytest.raises(OutputDirError) as err:
        _run(plain, folder)
    assert (
        str(err.value) == f"{folder}: holds finished results; pass --overwrite to replace them (or use another folder)"
    )
    assert plain.trained_on == []
    assert json.loads((folder / "finished.json").read_text())["config_key"] == config_key(Recipe(seed=4))
    assert _run(plain, folder, overwrite=True).reused is False and plain.trained_on == [AUTO]


def test_a_saved_model_is_logged_with_its_name_and_folder(tmp_path: Path, caplog) -> None:
    folder = tmp_path / "run"
    with caplog.at_level(logging.INFO, logger="rlsuite.vision.defaults"):
        _run(Plain(), folder)
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("rlsuite.vision.defaults", logging.INFO, f"plain: saved to {folder}")]  # fmt: skip
