"""What `rlsuite tour` shows: a headline result per section, tables printed once, under 60 lines; every
figure fit for a report (title, labelled axes, legend off the data) with a caption line in summary.md."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from figure_checks import check_report_figure

from rlsuite.app.cli import main


@pytest.fixture
def drawn(monkeypatch) -> dict[str, list[str]]:
    """Every figure the tour saves, checked as it is saved: {file name: problems}."""
    import rlsuite.app.plots as plots
    import rlsuite.common.plotting as plotting
    import rlsuite.envs.plotting as grid_plotting

    checked: dict[str, list[str]] = {}
    save = plotting.save_figure

    def checking_save(fig, path):
        checked[Path(path).name] = check_report_figure(fig)
        return save(fig, path)

    for module in (plotting, plots, grid_plotting):
        monkeypatch.setattr(module, "save_figure", checking_save)
    yield checked
    for handler in logging.getLogger().handlers[:]:
        if getattr(handler, "_rlsuite", False):
            logging.getLogger().removeHandler(handler)


def test_the_quick_tour_shows_its_findings_in_few_lines(tmp_path: Path, capsys, drawn) -> None:
    out = tmp_path / "tour"
    assert main(["tour", "--quick", "--out", str(out), "--only", "gridworld", "bandit", "tabular"]) == 0
    captured = capsys.readouterr()
    lines = (captured.err + captured.out).splitlines()
    assert len(lines) < 60 and all(len(line) < 80 or " " not in line.strip() for line in lines)  # a long path
    text = " ".join(" ".join(lines).split())
    # one headline result per section (from the numbers in results.json)
    results = json.loads((out / "results.json").read_text())
    sweeps = results["grid world, solved exactly"]["r_forbidden=-1"]["sweeps"]
    assert f"grid world, solved exactly value iteration: v*(start) 5.8 at r_forbidden=-1 ({sweeps} sweeps)" in text
    assert "v*(start) 3.5 at r_forbidden=-10" in text
    finals = results["10-armed bandit"]["final average reward (last 100 steps)"]
    assert (f"by epsilon (200 runs) 0.0: {finals['epsilon=0.0']:.2f}, 0.01: {finals['epsilon=0.01']:.2f}, "
            f"0.1: {finals['epsilon=0.1']:.2f}") in text  # fmt: skip
    assert "tabular agents policy iteration: optimal in 5 iterations, max |v - v*| 0 (" in text
    # the agents' table once, after the tabular section's headline
    assert text.count("agent work done max |v - v*| optimal states") == 1
    assert "policy iteration 5 iterations 0 100%" in text
    # figures fit for a report, each with a caption line in summary.md
    assert set(drawn) == {"gridworld_optimal_r_forbiddenm1.png", "gridworld_optimal_r_forbiddenm10.png",
                          "gridworld_frame.png", "bandit_average_reward.png", "tabular_gap_to_optimum.png",
                          "tabular_q_learning_policy.png"}  # fmt: skip
    assert {name: problems for name, problems in drawn.items() if problems} == {}
    summary = (out / "summary.md").read_text()
    captions = [line for line in summary.splitlines() if line.startswith("- `") and ".png`: " in line]
    assert sorted(line.split("`")[1] for line in captions) == sorted(drawn)
    assert not any(line.endswith("figure of the section above.") for line in captions)


@pytest.mark.slow
def test_the_whole_quick_tour_prints_under_60_lines(tmp_path: Path, capsys, drawn) -> None:
    """Every section (SB3, align compare and vision too; their default models come from the cache when
    trained before): a headline each, the alignment table once, under 60 lines, every figure fit."""
    out = tmp_path / "tour"
    assert main(["tour", "--quick", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    lines = (captured.err + captured.out).splitlines()
    assert len(lines) < 60, "\n".join(lines)
    text = " ".join(" ".join(lines).split())
    for section in ("grid world, solved exactly", "10-armed bandit", "tabular agents",
                    "deep RL with stable-baselines3", "RLHF vs DPO (align compare)", "vision: detector"):
        assert section in text
    assert text.count("method reward win vs SFT KL to SFT") == 1
    assert "frontier.png" in drawn and {name: problems for name, problems in drawn.items() if problems} == {}
