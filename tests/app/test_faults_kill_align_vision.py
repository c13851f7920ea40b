"""Crash-safe ``align`` and ``vision`` training (issue 26, point 2): ``kill -9`` early, mid-training and around
the final save leaves a folder that ``--resume`` finishes at its budget (align) or that the printed advice
replaces (vision: ``--overwrite``), never a stuck one. The moments are files appearing in the run folder,
as in ``tests/app/test_faults_kill.py`` (whose helpers these use).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_faults_kill import _kill_when, _rlsuite, _run

SFT = ["align", "sft", "--budget", "30", "--set", "save_strategy=steps", "save_steps=10"]
DETECTOR = ["vision", "train-detector", "--budget", "20", "--eval_frames", "4", "--eval_episodes", "2"]


def _killed(argv: list[str], out: Path, moment: str) -> None:
    if not _kill_when(_rlsuite(*argv, "--out", str(out)), out / moment):
        pytest.skip(f"the run finished before {moment} could be caught")
    if (out / "finished.json").exists():
        pytest.skip("killed after the marker")


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["run_config.json", "checkpoint-10", "model"],
                         ids=["early", "mid-training", "final save"])  # fmt: skip
def test_align_killed_then_resumed_finishes_at_its_budget(tmp_path: Path, moment: str) -> None:
    out = tmp_path / "sft"
    _killed(SFT, out, moment)
    rc, err = _run(*SFT, "--out", str(out))  # a plain re-run is refused, with advice that works
    assert rc == 2 and "--resume" in err and "--overwrite" in err, err
    rc, err = _run(*SFT, "--out", str(out), "--resume")
    assert rc == 0, err
    assert json.loads((out / "finished.json").read_text())["global_steps"] == 30
    assert (out / "model" / "model.safetensors").is_file()


@pytest.mark.slow
def test_align_killed_then_overwritten_starts_again(tmp_path: Path) -> None:
    out = tmp_path / "sft"
    _killed(SFT, out, "checkpoint-10")
    rc, err = _run(*SFT, "--out", str(out), "--overwrite")
    assert rc == 0, err
    assert json.loads((out / "finished.json").read_text())["global_steps"] == 30
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-20", "checkpoint-30"]


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["log.txt", "model.safetensors"], ids=["early", "final save"])
def test_detector_killed_then_the_advice_replaces_it(tmp_path: Path, moment: str) -> None:
    out = tmp_path / "detector"
    _killed(DETECTOR, out, moment)
    rc, err = _run(*DETECTOR, "--out", str(out))
    assert rc == 2 and err.strip().endswith("pass --overwrite to replace them, or use another folder"), err
    rc, err = _run(*DETECTOR, "--out", str(out), "--overwrite")  # the advice, followed
    assert rc == 0, err
    assert (out / "finished.json").is_file() and (out / "model.safetensors").is_file()


@pytest.mark.slow
def test_vlm_policy_killed_then_the_advice_replaces_it(tmp_path: Path) -> None:
    """Mid-run ``--resume`` of train-vlm-policy is another change's; here: a killed run is never stuck."""
    argv = ["vision", "train-vlm-policy", "--quick", "--set", "bc_steps=10", "ppo_updates=1", "eval_episodes=2"]
    out = tmp_path / "vlm"
    _killed(argv, out, "log.txt")
    rc, err = _run(*argv, "--out", str(out))
    assert rc == 2 and "--overwrite" in err, err
    rc, err = _run(*argv, "--out", str(out), "--overwrite")  # the advice, followed
    assert rc == 0, err
    assert (out / "finished.json").is_file() and (out / "model.safetensors").is_file()
