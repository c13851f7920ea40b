"""`align compare`'s report and `align METHOD`'s result line, from results as data (no training).

- frontier.png fit for a report: a title, labelled axes, a legend beside the plot that says what each
  method's numbers are (beta or a KL coefficient), strength labels at the curves' end points near their
  points and clear of each other (the crowded DPO/IPO/rDPO cluster of a full tour's numbers);
- with the user's --data (no gold reward) no gold-labelled row, column or sentence in report.md and no
  gold run planned;
- a single method's result line reports the reward it trained on (online: the batches' mean reward;
  offline: the implicit reward margin).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from figure_checks import check_report_figure

from rlsuite.alignment.compare import CompareConfig
from rlsuite.alignment.compare.report import plot_frontier, report_md
from rlsuite.alignment.compare.run import without_gold
from rlsuite.app.align import reward_phrase
from rlsuite.common.errors import UsageError

# (strength, kl, reward, kl_err, reward_err) of `rlsuite tour`'s alignment section (3 seeds, 2026-12-05)
TOUR = {
    "DPO": ("beta", [(0.03, 1.53, 2.41, 0.22, 0.12), (0.1, 1.46, 2.39, 0.14, 0.07), (0.3, 1.28, 2.31, 0.03, 0.02),
                     (1.0, 1.11, 2.23, 0.04, 0.05)]),
    "IPO": ("beta", [(0.03, 1.3, 2.23, 0.16, 0.13), (0.1, 1.24, 2.22, 0.1, 0.09), (0.3, 1.23, 2.26, 0.02, 0.02),
                     (1.0, 0.96, 2.1, 0.05, 0.04)]),
    "rDPO": ("beta", [(0.03, 1.54, 2.41, 0.23, 0.12), (0.1, 1.46, 2.38, 0.17, 0.08),
                      (0.3, 1.32, 2.32, 0.01, 0.01), (1.0, 1.22, 2.3, 0.01, 0.01)]),
    "RLOO": ("KL coef", [(0.01, 4.25, 2.09, 1.17, 0.13), (0.05, 2.12, 1.8, 0.56, 0.09), (0.5, 0.61, 1.48, 0.01, 0.01)]),
    "GRPO": ("KL coef", [(0.01, 3.73, 2.0, 0.84, 0.12), (0.05, 2.61, 1.83, 0.3, 0.04), (0.5, 0.55, 1.35, 0.06, 0.03)]),
    "PPO": ("KL coef", [(0.01, 1.52, 1.73, 0.17, 0.12), (0.05, 1.45, 1.7, 0.16, 0.12), (0.5, 0.56, 1.39, 0.04, 0.06)]),
}  # fmt: skip


def tour_results(seeds: int) -> dict[str, Any]:
    frontier = {m: [{"kl_strength": s, "kl": k, "reward": r, "kl_err": ke, "reward_err": re, "seeds": seeds}
                    for s, k, r, ke, re in pts] for m, (_, pts) in TOUR.items()}  # fmt: skip
    methods: dict[str, Any] = {m: {"strength_name": name} for m, (name, _) in TOUR.items()}
    methods["SFT"] = {"reward": 0.23, "reward_sem": 0.12}
    return {"frontier": frontier, "methods": methods, "reward_kind": "gold (#positive - #negative words)"}


@pytest.mark.parametrize("seeds", [3, 1])
def test_frontier_figure_labels_its_strengths_clearly(tmp_path: Path, monkeypatch, seeds: int) -> None:
    import rlsuite.common.plotting as plotting

    drawn = []
    monkeypatch.setattr(plotting, "save_figure", lambda fig, path: drawn.append(fig))
    plot_frontier(tour_results(seeds), tmp_path / "frontier.png")
    (fig,) = drawn
    assert check_report_figure(fig) == []
    (ax,) = fig.axes
    assert "KL strength" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:6] == ["DPO (numbers: beta)", "IPO (numbers: beta)", "rDPO (numbers: beta)",
                          "RLOO (numbers: KL coef)", "GRPO (numbers: KL coef)", "PPO (numbers: KL coef)"]  # fmt: skip
    renderer = fig.canvas.get_renderer()
    labels = ax.texts
    ends = sorted(f"{s:g}" for _, pts in TOUR.values() for s in (pts[0][0], pts[-1][0]))
    assert sorted(t.get_text() for t in labels) == ends  # the end points only
    boxes = [t.get_window_extent(renderer) for t in labels]
    for i, box in enumerate(boxes):
        assert not any(box.overlaps(other) for other in boxes[i + 1:]), labels[i].get_text()
        px, py = ax.transData.transform(labels[i].xy)  # near its point: within the outer ring (28 pt) and its size
        assert min(abs(px - box.x0), abs(px - box.x1), abs(px - (box.x0 + box.x1) / 2)) < 45
        assert min(abs(py - box.y0), abs(py - box.y1), abs(py - (box.y0 + box.y1) / 2)) < 45


def results(reward_kind: str) -> dict[str, Any]:
    def row(reward: float) -> dict[str, Any]:
        return {"signal": "preference pairs, offline", "reward": reward, "reward_sem": 0.1, "win_rate_vs_sft": 0.8,
                "win_rate_sem": 0.05, "kl_to_sft": 1.2, "kl_sem": 0.1, "judge_win_rate_vs_sft": 0.75,
                "judge_win_rate_sem": 0.05, "judge_agreement_with_gold": 0.9,
                "cost": {"wall_seconds": 6.5, "peak_memory_mb": 700.0, "tokens": 1000}}  # fmt: skip

    return {
        "settings": {"model": "m", "data": "pairs.jsonl", "conversational": False, "config": {"seeds": 1}},
        "reward_kind": reward_kind, "kl_estimator": "Monte Carlo", "error_bars": "table: SE across samples",
        "workers": {"count": 1, "torch_threads_per_process": 1},
        "judge": {"kind": "reward model", "path": "rm"} if reward_kind.startswith("gold") else None,
        "methods": {"SFT": row(0.2), "DPO": row(2.3), **({"GRPO (gold)": row(2.2)} if "gold reward" in reward_kind
                                                         and reward_kind.startswith("gold") else {})},
        "frontier": {}, "heldout": {"prompts": 4, "pairs": 8, "train_pairs": 80}, "stage_costs": {},
    }  # fmt: skip


def test_without_a_gold_reward_the_report_names_no_gold() -> None:
    text = report_md(results("trained reward model as judge (the data has no gold reward)"))
    assert "(gold)" not in text and "judge-gold" not in text and "matched gold reward" not in text
    assert "the trained reward model judges (the data has no gold reward)" in text
    header = next(line for line in text.splitlines() if line.startswith("| method | signal |"))
    rows = [line for line in text.splitlines() if line.startswith(("| SFT |", "| DPO |", "|---|---|---|---|---|---|"))]
    assert header.count("|") - 1 == 10 and len(rows) == 3 and all(line.count("|") - 1 == 10 for line in rows)
    llm = {**results("trained reward model as judge (the data has no gold reward)"),
           "judge": {"kind": "causal LM prompted as a judge, position-swapped", "path": "judge"}}
    text = report_md(llm)  # a causal-LM judge on the user's data: its win rate, no agreement with gold
    assert "| tokens | judge win rate |\n" in text and "judge-gold" not in text and "gold reward prefers" not in text
    assert "| 1000 | 0.75 ± 0.05 |\n" in text
    gold = report_md(results("gold reward (#positive - #negative words)"))  # the synthetic task: both columns
    assert "| judge win rate | judge-gold agreement |" in gold and "| GRPO (gold) |" in gold


def test_the_users_data_plans_no_gold_run() -> None:
    cfg = without_gold(CompareConfig())
    assert "grpo_gold" not in cfg.methods and "grpo_gold" not in cfg.frontier
    assert cfg.methods == [m for m in CompareConfig().methods if m != "grpo_gold"]
    with pytest.raises(UsageError, match="the user's data has no gold reward, and every method"):
        without_gold(CompareConfig(methods=["grpo_gold"], frontier=["grpo_gold"]))


def test_a_methods_result_line_reports_its_reward() -> None:
    online = {"log_history": [{"loss": 0.04, "reward": -0.018}, {"loss": -0.005, "reward": 0.124}, {"step": 20}]}
    assert reward_phrase(online, "gold") == ", reward -0.018 -> 0.124 (training batches, gold)"
    assert reward_phrase(online, "runs/rm") == ", reward -0.018 -> 0.124 (training batches, the reward model)"
    ppo = {"log_history": [{"objective/scores": -0.088}, {"objective/scores": 0.066}]}
    assert reward_phrase(ppo, "runs/rm") == ", reward -0.088 -> 0.066 (training batches, the reward model)"
    dpo = {"log_history": [{"loss": 0.69, "rewards/margins": 0.009}, {"loss": 0.6, "rewards/margins": 0.16}]}
    assert reward_phrase(dpo, None) == ", implicit reward margin (chosen - rejected) 0.009 -> 0.160 (training batches)"
    assert reward_phrase({"log_history": [{"loss": 2.0}]}, None) == ""  # SFT logs no reward
