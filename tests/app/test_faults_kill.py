"""Crash-safe runs (issue 26, point 2): ``kill -9`` at chosen moments of ``rlsuite train`` leaves a folder
that ``--resume`` finishes (SB3) or ``--overwrite`` replaces (every family), never a stuck one.

The moments are chosen by watching the run folder: the first checkpoint written, the final policy
written (after the last save and before ``finished.json``, the case that used to be stuck).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PPO = ["ppo", "--budget", "512", "--set", "n_steps=32", "--set", "batch_size=32", "--set", "n_epochs=1",
       "--set", "progress_bar=false", "--set", "checkpoint_freq=256"]  # fmt: skip


def _rlsuite(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "rlsuite", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def _kill_when(proc: subprocess.Popen[str], ready: Path, timeout: float = 240) -> bool:
    """SIGKILL ``proc`` as soon as ``ready`` exists; False if it ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            return True
        if proc.poll() is not None:
            proc.communicate()
            return False
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"{ready} never appeared")


def _run(*args: str) -> tuple[int, str]:
    proc = _rlsuite(*args)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["checkpoints/step_256", "model"])
def test_sb3_killed_then_resumed_finishes_at_its_budget(tmp_path: Path, moment: str) -> None:
    out = tmp_path / "run"
    if not _kill_when(_rlsuite("train", *PPO, "--out", str(out)), out / moment):
        pytest.skip(f"the run finished before {moment} could be caught")
    if (out / "finished.json").exists():
        pytest.skip("killed after the marker")
    rc, err = _run("train", *PPO, "--out", str(out))  # a plain re-run is refused, with advice that works
    assert rc == 2 and "pass --resume to continue it or --overwrite" in err, err
    rc, err = _run("train", *PPO, "--out", str(out), "--resume")
    assert rc == 0, err
    assert json.loads((out / "finished.json").read_text())["steps"] == 512
    assert (out / "model").is_dir() and (out / "policy_values.npz").is_file()


@pytest.mark.slow
def test_sb3_killed_then_overwritten_starts_again(tmp_path: Path) -> None:
    out = tmp_path / "run"
    if not _kill_when(_rlsuite("train", *PPO, "--out", str(out)), out / "checkpoints" / "step_256"):
        pytest.skip("the run finished first")
    rc, err = _run("train", *PPO, "--out", str(out), "--overwrite")
    assert rc == 0, err
    assert json.loads((out / "finished.json").read_text())["steps"] == 512


@pytest.mark.slow
def test_sb3_killed_before_its_first_checkpoint_is_started_again(tmp_path: Path) -> None:
    out = tmp_path / "run"
    if not _kill_when(_rlsuite("train", *PPO, "--out", str(out)), out / "config.json"):
        pytest.skip("the run finished first")
    if any((out / "checkpoints").glob("step_*")):
        pytest.skip("killed after the first checkpoint")
    rc, err = _run("train", *PPO, "--out", str(out), "--resume")
    assert rc == 2 and "start again with --overwrite" in err, err  # the advice of the refusal works:
    rc, err = _run("train", *PPO, "--out", str(out), "--overwrite")
    assert rc == 0, err


@pytest.mark.slow
def test_tabular_killed_then_overwritten_starts_again(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["train", "q_learning", "--budget", "20000", "--out", str(out)]
    if not _kill_when(_rlsuite(*argv), out / "log.txt"):
        pytest.skip("the run finished first")
    assert not (out / "finished.json").exists()
    rc, err = _run(*argv)
    assert rc == 2 and err.strip().endswith("holds an unfinished job; pass --overwrite to start again"), err
    rc, err = _run(*argv, "--overwrite")
    assert rc == 0, err
    assert (out / "finished.json").is_file() and (out / "agent.npz").is_file()


@pytest.mark.slow
def test_align_that_diverges_is_not_marked_finished(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``--learning_rate 1e10``: every weight NaN after two steps; one line, exit 2, no marker, no model/."""
    from rlsuite.app.cli import main
    from rlsuite.testing.alignment import tiny_base

    out = tmp_path / "sft"
    argv = ["align", "sft", "--model", str(tiny_base()), "--budget", "2", "--out", str(out)]
    assert main([*argv, "--learning_rate", "1e10"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("rlsuite: error: ")]
    assert len(err) == 1 and "training diverged" in err[0] and "NaN/inf" in err[0], err
    assert not (out / "finished.json").exists() and not (out / "model").exists()
    assert main([*argv, "--overwrite"]) == 0  # the advice, followed
    assert (out / "finished.json").is_file()


def _children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc")
def test_sweep_killed_takes_its_worker_processes_along(tmp_path: Path) -> None:
    """``kill -9`` of ``rlsuite sweep --workers 2`` while its cells train: the workers die with it (they used
    to wait on their task queue for ever, torch loaded, each holding hundreds of MB)."""
    proc = _rlsuite("sweep", "q_learning", "--set", "alpha=0.1,0.3", "--seeds", "0-1", "--budget", "100000000",
                    "--workers", "2", "--out", str(tmp_path / "s"))  # fmt: skip
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            workers = [p for p in _children(proc.pid) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert len(workers) == 2, f"the sweep's two workers never started: {proc.communicate()}"
        time.sleep(1.0)  # the watchdog notes the processes started under the driver twice a second
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)  # not communicate(): a surviving worker holds the driver's stdout open
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), "a worker outlived the killed sweep"
    finally:
        proc.kill()
        for pid in workers:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=30)
