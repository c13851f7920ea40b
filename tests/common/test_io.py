"""rlsuite.common.io: atomic writes, one writer per folder, finished markers, newest valid checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rlsuite.common.errors import OutputDirError
from rlsuite.common.io import (
    OutputDir,
    atomic_path,
    newest_valid,
    run_name,
    unique_path,
    write_json,
    write_text,
)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_file_replaces_the_old_one_only_when_the_block_succeeds(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        assert target.read_text() != "half"  # nothing reaches the target while the block runs
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["a.txt"]  # no temporary left behind
    with atomic_path(target) as tmp:
        assert tmp.parent != tmp_path and tmp.name == "a.txt"
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert _names(tmp_path) == ["a.txt"]


def test_atomic_folder_replaces_a_whole_folder(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.bin").write_text("1")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new.bin").write_text("2")
        raise RuntimeError("crash")
    assert _names(target) == ["old.bin"]
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new.bin").write_text("2")
    assert _names(target) == ["new.bin"]  # replaced, not merged
    assert _names(tmp_path) == ["model"]  # the old copy and the temporary are gone


def test_atomic_path_creates_missing_parents_and_a_block_that_writes_nothing_changes_nothing(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "a" / "b" / "c.txt") as tmp:
        tmp.write_text("x")
    assert (tmp_path / "a" / "b" / "c.txt").read_text() == "x"
    (tmp_path / "d.txt").write_text("kept")
    with pytest.raises(RuntimeError, match=r"d.txt\): the block wrote nothing"), atomic_path(tmp_path / "d.txt"):
        pass  # a save routine that forgot to save is a bug, not a silent success
    assert (tmp_path / "d.txt").read_text() == "kept"
    assert _names(tmp_path) == ["a", "d.txt"]


def test_write_json_and_text_round_trip_numpy_and_paths(tmp_path: Path) -> None:
    data = {"i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True), "a": np.arange(3), "p": Path("x/y")}
    path = write_json(tmp_path / "r.json", data)
    assert path == tmp_path / "r.json"
    assert json.loads(path.read_text()) == {"i": 3, "f": 0.5, "b": True, "a": [0, 1, 2], "p": "x/y"}
    assert path.read_text().endswith("}\n") and '\n  "i": 3' in path.read_text()  # indented, one trailing newline
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        write_json(tmp_path / "bad.json", {"x": object()})
    assert not (tmp_path / "bad.json").exists()
    assert write_text(tmp_path / "t.md", "# t\n").read_text() == "# t\n"


def test_run_names_unique_paths_and_run_folders(tmp_path: Path) -> None:
    name = run_name("rlsuite/GridWorld-v0", "ppo", 3)
    assert name.startswith("rlsuite-GridWorld-v0__ppo__3__") and "/" not in name and ":" not in run_name("a:b", "x", 0)
    assert unique_path(tmp_path / "r") == tmp_path / "r"
    (tmp_path / "r").mkdir()
    (tmp_path / "r-2").mkdir()
    assert unique_path(tmp_path / "r") == tmp_path / "r-3"
    first = unique_path(tmp_path / "runs" / run_name("rlsuite/GridWorld-v0", "q_learning", 0))
    first.mkdir(parents=True)
    second = unique_path(first)
    assert second != first and second.parent == first.parent
    assert first.parent == second.parent == tmp_path / "runs"


def test_newest_valid_skips_newer_broken_checkpoints_in_step_order(tmp_path: Path) -> None:
    paths = {step: tmp_path / f"ckpt-{step}" for step in (10, 2, 30, 20)}
    broken = {paths[30], paths[20]}
    best, skipped = newest_valid(paths.items(), lambda p: p not in broken)
    assert best == (10, paths[10])
    assert skipped == [paths[30], paths[20]]  # newest first
    assert newest_valid([], lambda p: True) == (None, [])
    assert newest_valid(paths.items(), lambda p: False) == (None, [paths[30], paths[20], paths[10], paths[2]])


def test_output_dir_refuses_finished_results_without_overwrite_and_keeps_them(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with OutputDir(out) as od:
        (od.path / "model.bin").write_text("good")
        od.finish({"steps": 5})
    assert OutputDir(out).finished and OutputDir(out).finished_info()["steps"] == 5
    with pytest.raises(OutputDirError, match=r"run: holds finished results; pass --overwrite"):
        OutputDir(out).open()
    assert (out / "model.bin").read_text() == "good"
    with OutputDir(out, resume=True) as od:  # a resumed job may continue a finished one
        od.unfinish()
        assert not od.finished
        od.finish()
    with OutputDir(out, overwrite=True) as od:
        assert _names(od.path) == [".lock"]  # emptied, the lock kept
    assert not (out / "model.bin").exists()


def test_output_dir_unfinished_work_needs_resume_overwrite_or_allow_existing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint-1").mkdir()
    with pytest.raises(OutputDirError, match="holds an unfinished job; pass --resume to continue it or --overwrite"):
        OutputDir(out).check()
    with pytest.raises(OutputDirError, match="holds an unfinished job; pass --overwrite to start again"):
        OutputDir(out, can_resume=False).check()
    OutputDir(out, resume=True).check()
    OutputDir(out, allow_existing=True).check()
    assert _names(out) == ["checkpoint-1"]
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".lock").write_text("")  # a lock file alone is not content
    OutputDir(empty).check()


def test_output_dir_refuses_a_file_and_an_unwritable_parent(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputDirError, match=r"f: exists and is not a folder"):
        OutputDir(tmp_path / "f").open()
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputDirError, match=r"ro/out: not writable \(.*ro denies it\)"):
            OutputDir(locked / "out").check()
    finally:
        locked.chmod(0o700)


def test_a_second_writer_is_refused_with_the_holders_pid(tmp_path: Path) -> None:
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from rlsuite.common.io import OutputDir
            with OutputDir({str(out)!r}):
                print("locked", flush=True)
                sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputDirError, match=rf"in use by process {holder.pid} \(lock file .*\.lock\)"):
            OutputDir(out, allow_existing=True).open()
    finally:
        holder.communicate("\n", timeout=60)
    with OutputDir(out, allow_existing=True) as od:  # released when the holder ends
        assert (od.path / ".lock").read_text() == str(os.getpid())
