"""The console script: env listing, one-line errors, the tour."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlsuite.app.cli import main


def test_envs_lists_every_registered_id(capsys: pytest.CaptureFixture[str]) -> None:
    import rlsuite

    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    for env_id in rlsuite.envs.registered_ids():
        assert env_id in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: rlsuite" in capsys.readouterr().out


def test_errors_are_one_line_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rlsuite", "train", "no-such-algo", "--env", "rlsuite/GridWorld-v0"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("rlsuite: error: unknown algorithm 'no-such-algo'")
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_tour_env_sections(tmp_path: Path) -> None:
    out = tmp_path / "tour"
    assert main(["tour", "--quick", "--out", str(out), "--only", "grid world", "bandit"]) == 0
    results = json.loads((out / "results.json").read_text())
    v = results["grid world, solved exactly"]["r_forbidden=-10"]["v*"]
    assert v[0] == [3.5, 3.9, 4.3, 4.8, 5.3]
    assert (out / "gridworld_optimal_r_forbiddenm1.png").stat().st_size > 1000
    assert (out / "bandit_average_reward.png").stat().st_size > 1000
    assert (out / "summary.md").read_text().startswith("# rlsuite tour")
