"""Run names, unique paths, the newest valid checkpoint's warning, and unfinish on a folder never finished."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest

from rlsuite.common.io import FINISHED, OutputDir, newest_valid, run_name, unique_path


def test_run_name_is_env_algo_seed_and_local_time() -> None:
    before = time.strftime("%Y%m%d-%H%M%S")
    name = run_name("rlsuite/GridWorld:v0", "ppo", 3)
    after = time.strftime("%Y%m%d-%H%M%S")
    match = re.fullmatch(r"rlsuite-GridWorld-v0__ppo__3__(\d{8}-\d{6})", name)
    assert match is not None and before <= match.group(1) <= after


def test_unique_path_counts_from_2(tmp_path: Path) -> None:
    base = tmp_path / "run"
    assert unique_path(base) == base
    base.mkdir()
    assert unique_path(base) == tmp_path / "run-2"
    (tmp_path / "run-2").write_text("")
    assert unique_path(str(base)) == tmp_path / "run-3"


def test_newest_valid_warns_about_each_newer_invalid_one(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    paths = {step: tmp_path / f"step-{step}" for step in (10, 20, 30)}
    with caplog.at_level(logging.WARNING, logger="rlsuite.common.io"):
        found, skipped = newest_valid(list(paths.items()), lambda p: p != paths[30])
    assert found == (20, paths[20]) and skipped == [paths[30]]
    assert [r.getMessage() for r in caplog.records] == [
        f"skipping {paths[30]}: incomplete or corrupt (a crash during its save?)"
    ]


def test_unfinish_of_a_folder_never_finished_does_nothing(tmp_path: Path) -> None:
    with OutputDir(tmp_path / "run") as od:
        od.unfinish()
        assert not (od.path / FINISHED).exists()
