"""Crash-safe runs (issue 26, point 2): ``kill -9`` at chosen moments of ``rlsuite train`` leaves a folder
that ``--resume`` finishes (SB3) or ``--overwrite`` replaces (every family), never a stuck one.

The moments are chosen by watching the run folder: the first checkpoint written, the final policy
written (after the last save and before ``finished.json``, the case that used to be stuck).
"""

from __future__ import annotations

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
