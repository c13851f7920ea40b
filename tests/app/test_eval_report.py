"""``rlsuite eval``'s one vocabulary (rlsuite/app/evalreport.py, docs/eval.md) and the result lines' wrapping."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from rlsuite.app.cli import main
from rlsuite.app.console import wrap
from rlsuite.app.evalreport import EVAL_KEYS, clamp_gap, from_sb3, return_stats

DOC = Path(__file__).resolve().parents[2] / "docs" / "eval.md"


def test_docs_eval_md_lists_every_key_once() -> None:
    listed = re.findall(r"^\| `(\w+)` \|", DOC.read_text(), flags=re.M)
    assert sorted(listed) == sorted(EVAL_KEYS) and len(listed) == len(set(listed))


def test_tabular_and_bandit_reports_use_only_the_documented_keys(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    vi, bandit = Path("vi"), Path("eg")
    assert main(["train", "value_iteration", "--out", str(vi)]) == 0
    assert main(["train", "epsilon_greedy", "--out", str(bandit), "--budget", "150", "--runs", "20",
                 "--device", "cpu"]) == 0  # fmt: skip
    out = " ".join(capsys.readouterr().out.split())
    # value iteration stops at its tolerance after 133 sweeps of its 1000-sweep budget: the line says so
    assert len((vi / "metrics.csv").read_text().splitlines()) == 1 + 133
    assert "value_iteration on rlsuite/GridWorld-v0, seed 0: 133 iterations (budget 1000);" in out
    assert out.count("run folder") == 2
    texts = []
    for run in (vi, bandit):
        assert main(["eval", str(run), "--episodes", "3", "--device", "cpu"]) == 0
        lines = capsys.readouterr().out.splitlines()
        report = json.loads((run / "eval.json").read_text())
        assert set(report) <= set(EVAL_KEYS), set(report) - set(EVAL_KEYS)
        assert len(lines) < 10 and max(map(len, lines)) < 80
        texts.append(" ".join(" ".join(lines).split()))
    assert texts[0] == ("value_iteration on rlsuite/GridWorld-v0, run vi greedy return 95.000 +- 0.000 (SE) over 3 "
                        "episodes; discounted 5.832 gap to the optimum v* - v_pi (exact, gamma 0.9): max over states "
                        "0, mean 0, at the start 0 (0 means below 1e-06) greedy action optimal in 100% of states "
                        "full report: vi/eval.json")  # fmt: skip
    assert (report["runs"], report["steps"]) == (20, 150)
    assert f"reward per step {report['average_reward']:.3f} (mean over all steps and runs)" in texts[1]


def test_return_stats_and_the_clamped_gap() -> None:
    stats = return_stats([1.0, 2.0, 3.0, 6.0])
    assert stats["return_mean"] == 3.0
    assert stats["return_std"] == pytest.approx(math.sqrt(14 / 4))
    assert stats["return_se"] == pytest.approx(math.sqrt(14 / 3) / 2)  # sample std / sqrt(n)
    assert return_stats([5.0])["return_se"] is None
    assert (clamp_gap(-8.6e-10), clamp_gap(9e-7), clamp_gap(0.25)) == (0.0, 0.0, 0.25)


def test_an_sb3_report_is_flattened_into_the_shared_keys() -> None:
    raw = {"episodes": 5, "return_mean": 90.0, "return_std": 2.0, "length_mean": 100.0,
           "optimum": {"gamma": 0.9, "max_value_gap": -8.6e-10, "optimal_action_fraction": 0.76,
                       "v_star_start": 5.832, "v_pi_start": 5.832, "value_gap_start": -1e-12,
                       "optimal_return_mean": 95.0}}  # fmt: skip
    out = from_sb3(raw)
    assert set(out) <= set(EVAL_KEYS)
    assert out["return_se"] == pytest.approx(2.0 / 2.0)  # population std 2 over 5 episodes: SE = 2 / sqrt(4)
    assert (out["gap_to_optimum_max"], out["gap_to_optimum_start"]) == (0.0, 0.0)
    assert (out["optimal_action_fraction"], out["optimal_return_mean"]) == (0.76, 95.0)


def test_wrap_breaks_at_word_boundaries_and_keeps_symbols_whole() -> None:
    line = ("q_learning on rlsuite/GridWorld-v0, seed 0: 29952 steps (budget 30000); max |v - v*| 8, "
            "greedy optimal in 52% of states; run folder runs/q")  # fmt: skip
    lines = wrap(line).splitlines()
    assert all(len(x) < 80 for x in lines) and " ".join(" ".join(lines).split()) == line
    assert any("|v - v*| 8" in x for x in lines)  # not split inside the symbol
    assert lines[1].startswith("  ")
