"""Third-party messages go to the output folder's log.txt, not the console (README): a Ray sweep's console
is rlsuite's own two lines; Ray's start-up lines (the local-instance banner, the token warning) are in
log.txt. Run as a user runs it (a subprocess: Ray's handler holds the real stderr)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_ray_sweeps_console_has_no_ray_lines(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = tmp_path / "sweep"
    argv = [sys.executable, "-m", "rlsuite", "sweep", "q_learning", "--set", "alpha=0.1", "--seeds", "0-1",
            "--workers", "2", "--ray", "--budget", "2000", "--out", str(out)]  # fmt: skip
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    console = (done.stderr + done.stdout).splitlines()
    assert console == ["sweep: 2 cells, 2 to train (0 finished), 2 at once on Ray",
                       f"sweep: 2 of 2 cells finished; report {out / 'report.md'}"]  # fmt: skip
    assert "Started a local Ray instance" in (out / "log.txt").read_text()
