"""What `align compare` and `align METHOD` say: with the user's --data (no gold reward) no gold-labelled
row, column or sentence in report.md and no gold run planned; a single method's result line reports the
reward it trained on (online: the batches' mean reward; offline: the implicit reward margin)."""

from __future__ import annotations

from typing import Any

import pytest

from rlsuite.alignment.compare import CompareConfig
from rlsuite.alignment.compare.report import report_md
from rlsuite.alignment.compare.run import without_gold
from rlsuite.app.align import reward_phrase
from rlsuite.common.errors import UsageError


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
