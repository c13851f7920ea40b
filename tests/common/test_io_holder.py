"""Who holds an output folder's lock, found before any work: another process's pid (as its lock file says),
"unknown" for an empty lock file, never this process itself."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rlsuite.common.errors import OutputDirError
from rlsuite.common.io import LOCK, OutputDir


@contextmanager
def held(folder: Path, content: bytes) -> Iterator[None]:
    """The folder's lock taken through a file description of its own, as another process would hold it."""
    folder.mkdir(exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, content)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def test_a_held_lock_is_refused_by_check_naming_the_pid(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with held(run, b"4242\n"):
        assert OutputDir(run).holder() == "4242"
        with pytest.raises(OutputDirError) as err:
            OutputDir(run, allow_existing=True).check()  # before any work, not only when locking
        assert str(err.value) == (
            f"{run}: in use by process 4242 (lock file {run / LOCK}); wait for it or use another folder"
        )
    assert OutputDir(run).holder() is None  # released


@pytest.mark.parametrize(("content", "holder"), [(b"", "unknown"), (b"  \n", "unknown"), (b"\xff42", "\ufffd42")])
def test_an_empty_or_garbled_lock_file_is_still_a_holder(tmp_path: Path, content: bytes, holder: str) -> None:
    with held(tmp_path / "run", content):
        assert OutputDir(tmp_path / "run").holder() == holder


def test_this_process_is_never_its_own_holder(tmp_path: Path) -> None:
    with OutputDir(tmp_path / "run") as first:
        assert first.holder() is None
        second = OutputDir(tmp_path / "run", allow_existing=True)
        assert second.holder() is None
        second.check()  # the lock itself refuses it when it is opened
        with pytest.raises(OutputDirError, match=f"in use by process {os.getpid()} "):
            second.open()


def test_no_lock_file_or_a_linked_one_has_no_holder(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    assert OutputDir(tmp_path / "run").holder() is None
    with held(tmp_path / "other", b"4242"):
        (tmp_path / "run" / LOCK).symlink_to(tmp_path / "other" / LOCK)
        assert OutputDir(tmp_path / "run").holder() is None
