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


def test_a_reader_that_goes_away_is_not_a_traceback() -> None:
    """`rlsuite reproduce --list | head -1`: the listing stops quietly when the pipe closes."""
    proc = subprocess.run(f"{sys.executable} -m rlsuite reproduce --list | head -1", shell=True,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.stdout == "Zhao, chapter 2:\n"
    assert proc.stderr == ""


def test_console_logs_go_to_stderr_as_it_is_when_they_come(capsys: pytest.CaptureFixture[str]) -> None:
    """The console handler follows sys.stderr: a stream closed since setup (a test's capture) is not written to."""
    import io
    import logging

    from rlsuite.app import console

    old, sys.stderr = sys.stderr, io.StringIO()
    try:
        console.setup()
    finally:
        closed, sys.stderr = sys.stderr, old
    closed.close()
    logging.getLogger("rlsuite.test").info("after the old stream closed")
    assert capsys.readouterr().err == "after the old stream closed\n"


def test_tour_env_sections(tmp_path: Path) -> None:
    out = tmp_path / "tour"
    assert main(["tour", "--quick", "--out", str(out), "--only", "gridworld", "bandit"]) == 0
    results = json.loads((out / "results.json").read_text())
    v = results["grid world, solved exactly"]["r_forbidden=-10"]["v*"]
    assert v[0] == [3.5, 3.9, 4.3, 4.8, 5.3]
    assert (out / "gridworld_optimal_r_forbiddenm1.png").stat().st_size > 1000
    assert (out / "bandit_average_reward.png").stat().st_size > 1000
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# rlsuite tour")
    # the value grid as a 5x5 markdown table, rows and columns numbered from 1 like the book's cells
    assert "| row \\ col | 1 | 2 | 3 | 4 | 5 |" in summary
    assert "| 1 | 3.5 | 3.9 | 4.3 | 4.8 | 5.3 |" in summary
    assert "| 4 | 2.5 | 10.0 | 10.0 | 10.0 | 7.3 |" in summary
    assert "```json" not in summary
    assert (out / "finished.json").is_file()
    # a finished tour is not overwritten unasked; --overwrite replaces it; unknown sections are refused
    assert main(["tour", "--quick", "--out", str(out), "--only", "gridworld"]) == 2
    assert main(["tour", "--quick", "--out", str(out), "--only", "gridworld", "--overwrite"]) == 0
    assert not (out / "bandit_average_reward.png").exists()
    assert main(["tour", "--quick", "--out", str(tmp_path / "t2"), "--only", "nothing"]) == 2
    assert not (tmp_path / "t2").exists()


def test_tour_resume_keeps_finished_sections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tour"
    assert main(["tour", "--quick", "--out", str(out), "--only", "gridworld"]) == 0
    (out / "finished.json").unlink()  # as if interrupted after the first section
    kept = (out / "sections" / "gridworld.json").read_text()
    assert main(["tour", "--quick", "--out", str(out), "--only", "gridworld", "bandit", "--resume"]) == 0
    assert (out / "sections" / "gridworld.json").read_text() == kept
    assert "finished earlier, kept" in capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert list(results) == ["grid world, solved exactly", "10-armed bandit"]


def test_align_without_out_uses_the_folder_its_help_names(tmp_path: Path, monkeypatch, capsys) -> None:
    """`align grpo` without --out: runs/align-grpo (its help), not TRL's ./trainer_output."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "runs" / "align-grpo"
    run.mkdir(parents=True)
    (run / "finished.json").write_text("{}")  # a finished run: --resume stops at once, naming the folder
    assert main(["align", "grpo", "--reward_model", "gold", "--resume"]) == 0
    assert capsys.readouterr().out == ("grpo: runs/align-grpo is finished (? steps); nothing to resume "
                                       "(--overwrite trains again)\n")  # fmt: skip
    assert not (tmp_path / "trainer_output").exists()
