"""rlsuite.common.processes run in the test's own process (test_processes.py kills drivers in child Pythons).

The kill -9 cases can only run in a child; these pin what the same functions do in this process: the
SIGTERM handler and its restoration, the watchdog's quiet goodbye, and where Ray's log records go.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from test_processes import _descendants

from rlsuite.common import processes


def _children() -> set[int]:
    """The processes under this one (from /proc)."""
    return set(_descendants(os.getpid()))


def test_sigterm_inside_the_block_is_system_exit_143_and_the_old_handler_comes_back() -> None:
    def mine(signum: int, frame: object) -> None:
        raise AssertionError("the block's handler should have run")

    old = signal.signal(signal.SIGTERM, mine)
    try:
        with pytest.raises(SystemExit) as info, processes.sigterm_as_exit():
            os.kill(os.getpid(), signal.SIGTERM)
        assert info.value.code == 143
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, old)


def test_sigterm_as_exit_off_the_main_thread_changes_nothing() -> None:
    seen: list[object] = []

    def run() -> None:
        with processes.sigterm_as_exit():
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [before] and signal.getsignal(signal.SIGTERM) is before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_a_block_that_ends_says_goodbye_to_its_watchdog_and_kills_nothing() -> None:
    before = _children()
    with processes.reap_on_death():
        (watchdog,) = _children() - before  # one watchdog, started before the block runs
        with open(f"/proc/{watchdog}/cmdline") as f:
            argv = f.read().split("\0")
        assert argv[1] == "-c" and argv[3] == str(os.getpid())  # it watches this process
        child = subprocess.Popen(["sleep", "30"], start_new_session=True)
        time.sleep(1.0)  # the watchdog polls twice a second: it has seen the child (and would kill it on a death)
    try:
        assert _children() - before == {child.pid}  # the watchdog has exited (and been waited for)
        assert child.poll() is None  # what the block left running is the caller's business
    finally:
        child.kill()
        child.wait()


@pytest.fixture
def ray_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("ray")
    saved = (list(logger.handlers), logger.propagate)
    yield logger
    logger.handlers[:], logger.propagate = saved


def test_ray_logs_go_to_the_root_logger_and_file_handlers_stay(ray_logger: logging.Logger, tmp_path) -> None:
    stream, other_stream = logging.StreamHandler(), logging.StreamHandler(sys.stdout)
    to_file = logging.FileHandler(tmp_path / "ray.log")
    ray_logger.handlers[:] = [stream, to_file, other_stream]
    ray_logger.propagate = False
    processes.ray_logs_to_root()
    assert ray_logger.handlers == [to_file] and ray_logger.propagate is True
    to_file.close()
