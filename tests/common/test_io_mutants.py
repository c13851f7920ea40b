"""OutputDir's and write_json's file-system invariants, exactly: the lock file's mode and content, the holder named
from a lock taken in a race (at most 64 bytes, undecodable bytes replaced, "unknown" when empty), what overwrite and
resume leave in the folder, nested folders created, the finished marker's key and time format, a second close, a
parent that may not be written (even by root), and a link inside the folder."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rlsuite.common.errors import OutputDirError
from rlsuite.common.io import FINISHED, LOCK, OutputDir, write_json
from tests.common.test_io_holder import held


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_the_lock_file_is_rw_r_r_and_holds_only_this_pid(tmp_path: Path, umask_022: None) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK).write_text("123456789012345")  # a longer pid left by an earlier holder
    with OutputDir(run, allow_existing=True):
        assert (run / LOCK).stat().st_mode & 0o777 == 0o644
        assert (run / LOCK).read_text() == str(os.getpid())
    fresh = tmp_path / "fresh"
    with OutputDir(fresh):
        assert (fresh / LOCK).stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("content", "holder"), [(b"", "unknown"), (b" \n", "unknown"), (b"\xff" + b"7" * 70, "\ufffd" + "7" * 63)]
)
def test_a_lock_taken_between_check_and_lock_is_refused_naming_it(tmp_path: Path, content: bytes, holder: str) -> None:
    run = tmp_path / "run"
    od = OutputDir(run)
    od.check()  # free now; another process takes the lock before this one does
    with held(run, content), pytest.raises(OutputDirError) as caught:
        od._lock()
    assert str(caught.value) == (
        f"{run}: in use by process {holder} (lock file {run / LOCK}); wait for it or use another folder"
    )


def test_open_creates_missing_parents(tmp_path: Path) -> None:
    with OutputDir(tmp_path / "a" / "b" / "run") as od:
        assert od.path.is_dir()
    assert sorted(p.name for p in (tmp_path / "a" / "b" / "run").iterdir()) == [LOCK]


def test_overwrite_empties_files_and_subfolders_but_keeps_the_lock(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "sub" / "deeper").mkdir(parents=True)
    (run / "sub" / "deeper" / "x.txt").write_text("x")
    (run / "log.txt").write_text("log")
    with OutputDir(run, overwrite=True):
        assert sorted(p.name for p in run.iterdir()) == [LOCK]


def test_resume_and_allow_existing_keep_what_the_folder_holds(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "sub").mkdir(parents=True)
    (run / "log.txt").write_text("log")
    for kwargs in ({"resume": True}, {"allow_existing": True}):
        with OutputDir(run, **kwargs):
            assert sorted(p.name for p in run.iterdir()) == [LOCK, "log.txt", "sub"]


def test_finish_writes_the_local_time_under_finished_at(tmp_path: Path) -> None:
    with OutputDir(tmp_path / "run") as od:
        before = time.strftime("%Y-%m-%dT%H:%M:%S")
        od.finish({"steps": 3})
        after = time.strftime("%Y-%m-%dT%H:%M:%S")
    info = json.loads((tmp_path / "run" / FINISHED).read_text())
    assert list(info) == ["finished_at", "steps"] and info["steps"] == 3
    assert info["finished_at"] in {before, after}


def test_write_json_keeps_the_key_order(tmp_path: Path) -> None:
    write_json(tmp_path / "x.json", {"b": 1, "a": [2, 3]})
    assert (tmp_path / "x.json").read_text() == '{\n  "b": 1,\n  "a": [\n    2,\n    3\n  ]\n}\n'


def test_closing_twice_is_harmless_and_a_closed_folder_sees_other_holders(tmp_path: Path) -> None:
    run = tmp_path / "run"
    od = OutputDir(run).open()
    od.close()
    od.close()
    (run / LOCK).write_bytes(b"")
    with held(run, b"4242"):
        assert od.holder() == "4242"


@contextmanager
def access_checked_as_nobody() -> Iterator[None]:
    """``os.access`` answers for an unprivileged user (it checks the real uid), the effective uid unchanged; as
    anyone but root, nothing changes (the check is already unprivileged)."""
    if os.getuid() != 0:
        yield
        return
    os.setreuid(65534, 0)
    try:
        yield
    finally:
        os.setreuid(0, 0)


def test_a_parent_that_cannot_be_written_is_refused() -> None:
    base = Path(tempfile.mkdtemp(prefix="rlsuite-ro-"))  # not under tmp_path: its parents are private to root
    try:
        base.chmod(0o755)  # searchable by everyone (the parents in /tmp are too)
        ro = base / "ro"
        ro.mkdir(mode=0o555)
        ro.chmod(0o555)
        with access_checked_as_nobody():
            if not os.access(base, os.X_OK):
                pytest.skip(f"{base} is not searchable by an unprivileged user here")
            with pytest.raises(OutputDirError) as caught:
                OutputDir(ro / "out").check()
        assert str(caught.value) == f"{ro / 'out'}: not writable ({ro} denies it)"
    finally:
        shutil.rmtree(base)


def test_a_link_inside_the_folder_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "b.txt").write_text("b")
    (run / "a").symlink_to(tmp_path)
    with pytest.raises(OutputDirError) as caught:
        OutputDir(run, overwrite=True).check()
    assert str(caught.value) == (
        f"{run / 'a'}: a symbolic link inside the output folder; refused (links are never followed when writing): "
        "remove it or use another folder"
    )


def test_every_file_written_is_flushed_to_disk_before_it_is_moved_into_place(tmp_path, monkeypatch) -> None:
    """atomic_path fsyncs the file it wrote, or every file of the folder it wrote (nested ones too), before the
    move; with fsync=False none."""
    from rlsuite.common import io as rio

    synced: list[str] = []
    monkeypatch.setattr(rio.os, "fsync", lambda fd: synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")).name))
    with rio.atomic_path(tmp_path / "one.txt") as tmp:
        tmp.write_text("x")
    assert synced == ["one.txt"]
    synced.clear()
    with rio.atomic_path(tmp_path / "folder") as tmp:
        (tmp / "sub").mkdir(parents=True)
        (tmp / "a.json").write_text("{}")
        (tmp / "sub" / "b.bin").write_bytes(b"\x00")
    assert sorted(synced) == ["a.json", "b.bin"]
    synced.clear()
    with rio.atomic_path(tmp_path / "two.txt", fsync=False) as tmp:
        tmp.write_text("y")
    assert synced == [] and (tmp_path / "two.txt").read_text() == "y"
