"""The claims that need whole commands: the vision benchmark's --quick mode and the full quick tour.

Both take minutes on 2 cores, so they are marked slow (CI runs them after the README's test command).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_vision_throughput_quick_measures_every_wrapper_against_the_env(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "vision_throughput.py"), "--quick"],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    baseline = re.search(r"baseline: PixelGridWorldRandom-v0 env.step ([\d,]+) frames/s", proc.stdout)
    assert baseline and int(baseline.group(1).replace(",", "")) > 0
    rows = re.findall(r"^(\w[\w ()+-]*?)\s+cpu\s+(\d+)\s+([\d,]+)\s+([\d.]+)$", proc.stdout, flags=re.M)
    wrappers = {name.strip() for name, *_ in rows}
    assert {"DetectionRewardModel (grid detector)", "VLMRewardModel (tiny CLIP)", "VLMPolicy scoring (tiny Llava)",
            "VLMYesNoReward (tiny Llava)", "DetectionPolicy (grid detector + VI)"} <= wrappers  # fmt: skip
    for _, batch, fps, ratio in rows:
        fps_value = int(fps.replace(",", ""))
        # the ratio column is frames/s over the env's own frames/s, measured in the same run
        assert float(ratio) == pytest.approx(fps_value / int(baseline.group(1).replace(",", "")), abs=2e-3)
        assert int(batch) in (1, 8)


@pytest.mark.slow
def test_the_quick_tour_runs_every_section_and_keeps_the_console_to_its_own_lines(tmp_path) -> None:
    """A fresh process, as a user runs it: third-party bars and logs (datasets' "Tokenizing train dataset",
    TRL's metric dicts) go to the tour's log.txt, never to the console."""
    from rlsuite.app.tour import SECTIONS

    out = tmp_path / "tour"
    proc = subprocess.run(
        [sys.executable, "-m", "rlsuite.app.cli", "tour", "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = proc.stdout + proc.stderr
    for noise in ("examples/s", "Tokenizing", "{'loss'", "FutureWarning", "\x1b["):
        assert noise not in console, (noise, console[-3000:])
    # rlsuite's own results: a headline per section, the alignment table once, under 60 lines in all
    words = " ".join(console.split())
    assert "gold" in console and "policy iteration: optimal in 5 iterations, max |v - v*| 0" in words
    assert len(console.splitlines()) < 60 and console.count("win vs SFT") == 1
    results = json.loads((out / "results.json").read_text())
    assert list(results) == [title for title, _ in SECTIONS.values()]
    assert (out / "finished.json").is_file() and (out / "summary.md").stat().st_size > 1000
    for png in ("gridworld_optimal_r_forbiddenm1.png", "bandit_average_reward.png", "vision_detections.png"):
        assert (out / png).stat().st_size > 1000, png
    align = results["RLHF vs DPO (align compare)"]
    assert Path(align["report"]).is_file()
