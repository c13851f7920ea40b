"""rlsuite.alignment.compare.report, exactly: every function on small hand-built results shaped like
``run_compare``'s (no training), each output whole: the markdown's lines, the numbers' formatting, the rows'
order, the figure's artists (labels, positions, colours, limits; never pixels).

The numbers are chosen so that a changed format or rounding shows: 2.3456 is "2.35" with two digits and
"2.346" with three, 701.6 MB is "702" with none, 0.1 as a setting is "0.1" (``:g``) but "0.10" (``_num``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from rlsuite.alignment.compare import report as R

DPO_SIGNAL = "preference pairs, offline"
GOLD_SIGNAL = "gold reward (#positive - #negative words), online"  # longer than the console table's 34 characters


def results(gold: bool = True, judge: bool = True, seeds: int = 2) -> dict[str, Any]:
    """A comparison's results: SFT, DPO, GRPO (reward model) and, with a gold reward, GRPO (gold)."""
    dpo = {"method": "dpo", "signal": DPO_SIGNAL, "kl_strength": 0.1, "strength_name": "beta",
           "reward": 2.3456, "reward_sem": 0.1234, "win_rate_vs_sft": 0.8125, "win_rate_sem": 0.0432,
           "kl_to_sft": 1.2345, "kl_sem": 0.0567, "dpo_implicit_reward_accuracy": 0.8125,
           "judge_win_rate_vs_sft": 0.7512, "judge_win_rate_sem": 0.0431, "judge_agreement_with_gold": 0.9166,
           "cost": {"wall_seconds": 12.345, "peak_memory_mb": 701.6, "peak_memory_kind": "max RSS", "tokens": 12000}}
    grpo = {"method": "grpo", "signal": "reward model, online", "kl_strength": 0.05, "strength_name": "KL coef",
            "reward": -0.5, "reward_sem": 0.1, "win_rate_vs_sft": 0.25, "win_rate_sem": 0.05,
            "kl_to_sft": 3.0, "kl_sem": 0.25, "reward_model_accuracy": 0.6667, "cost_includes_reward_model": True,
            "cost": {"wall_seconds": 100.0, "peak_memory_mb": 0, "peak_memory_kind": None, "tokens": 0}}
    gold_row = {"method": "grpo_gold", "signal": GOLD_SIGNAL, "kl_strength": 1.0, "strength_name": "KL coef",
                "reward": 1.0, "reward_sem": 0.0, "win_rate_vs_sft": 1.0, "win_rate_sem": 0.0, "kl_to_sft": -0.0123,
                "kl_sem": 0.001, "judge_win_rate_vs_sft": 0.5, "judge_win_rate_sem": 0.125,
                "cost": {"wall_seconds": 7.0, "peak_memory_mb": 1234.4, "tokens": 5}}
    sft = {"method": "sft", "signal": "-", "reward": 0.2345, "reward_sem": 0.1111, "win_rate_vs_sft": 0.5,
           "win_rate_sem": 0.0, "kl_to_sft": 0.0, "kl_sem": 0.0, "n_samples": 32}
    if not judge:  # no pairwise judge: no judge columns in the rows
        for row in (dpo, gold_row):
            for key in ("judge_win_rate_vs_sft", "judge_win_rate_sem", "judge_agreement_with_gold"):
                row.pop(key, None)
    methods = {"SFT": sft, "DPO": dpo, "GRPO": grpo, **({"GRPO (gold)": gold_row} if gold else {})}

    def point(strength: float, kl: float, reward: float) -> dict[str, Any]:
        errs = (0.0234, 0.0151) if seeds > 1 else (0.0, 0.0)
        return {"kl_strength": strength, "seeds": seeds, "reward": reward, "reward_err": errs[0], "kl": kl,
                "kl_err": errs[1], "per_seed": [{"reward": reward, "kl": kl}] * seeds}

    frontier = {"DPO": [point(0.03, 1.5, 2.4012), point(0.1, 1.25, 2.3456), point(1.0, 0.875, 2.0)],
                "GRPO": [point(0.05, 3.0, -0.5), point(0.5, 0.625, 0.7777)]}
    stage_costs = {
        "sft": {"note": "embedded tiny model, SFT'd once and cached", "path": "/cache/sft"},
        "reward": {"wall_seconds": 3.25, "peak_memory_mb": 500.0, "peak_memory_kind": None, "tokens": 100,
                   "ran_on": {"where": "main process", "host": "h1", "pid": 4321, "device": "cpu"}},
        "dpo-beta0.1-seed0": {"wall_seconds": 12.345, "peak_memory_mb": 701.6, "peak_memory_kind": "max RSS",
                              "ran_on": None},
    }
    config = {"methods": ["dpo", "grpo"], "dpo_betas": [0.03, 0.1, 1.0], "seeds": seeds, "learning_rate": 1e-05,
              "chat": None, "quick": True, "judge": "rm" if judge else "none", "heldout_fraction": 0.1}
    return {
        "settings": {"model": "embedded tiny Llama", "data": "synthetic sentiment task" if gold else "/d/pairs.jsonl",
                     "skip_sft": False, "conversational": not gold, "config": config},
        "reward_kind": ("gold reward (#positive - #negative words)" if gold
                        else "trained reward model as judge (the data has no gold reward)"),
        "kl_estimator": "Monte Carlo",
        "error_bars": "frontier: one seed, no error bars; table: standard error across samples",
        "judge": {"kind": "reward model", "path": "/rm"} if judge else None,
        "methods": methods, "frontier": frontier, "stage_costs": stage_costs,
        "heldout": {"prompts": 12, "pairs": 30, "train_pairs": 270},
        "workers": {"count": 2, "ray_address": None, "torch_threads_per_process": 3},
    }  # fmt: skip


# results(gold=True, judge=True, seeds=2): the synthetic task with the reward model as pairwise judge
GOLD_REPORT = """\
# rlsuite align compare

| | |
|---|---|
| model | embedded tiny Llama |
| data | synthetic sentiment task |
| prompts | plain text |
| reward | gold reward (#positive - #negative words) |
| KL | Monte Carlo |
| error bars | frontier: one seed, no error bars; table: standard error across samples |
| workers | 2 (3 torch thread(s) each) |

## Methods

| method | signal | reward | win rate vs SFT | KL to SFT | RM acc. | implicit acc. | wall s | peak MB | tokens \
| judge win rate | judge-gold agreement |
|---|---|---|---|---|---|---|---|---|---|---|---|
| SFT | - | 0.23 ± 0.11 | 0.50 ± 0.00 | 0.00 ± 0.00 | - | - | - | - | - | - | - |
| DPO (beta 0.1) | preference pairs, offline | 2.35 ± 0.12 | 0.81 ± 0.04 | 1.23 ± 0.06 | - | 0.81 | 12.3 | 702 \
| 12000 | 0.75 ± 0.04 | 0.92 |
| GRPO (KL coef 0.05) | reward model, online | -0.50 ± 0.10 | 0.25 ± 0.05 | 3.00 ± 0.25 | 0.67 | - | 100.0 | 0 | 0 \
| - | - |
| GRPO (gold) (KL coef 1) | gold reward (#positive - #negative words), online | 1.00 ± 0.00 | 1.00 ± 0.00 \
| -0.01 ± 0.00 | - | - | 7.0 | 1234 | 5 | 0.50 ± 0.12 | - |

Judge: reward model (/rm), each method's sample against the SFT sample of the same prompt and draw (a tie counts \
one half); agreement: how often it prefers what the gold reward prefers, over the pairs the gold reward does not tie.

Costs of methods that train on the reward model include its training. Peak memory: max RSS. \
Cost at matched gold reward: `benchmarks/alignment_cost.py`.

## Frontier

![frontier](frontier.png)

| method | KL strength | seeds | reward | KL |
|---|---|---|---|---|
| DPO | 0.03 | 2 | 2.40 ± 0.02 | 1.50 ± 0.02 |
| DPO | 0.1 | 2 | 2.35 ± 0.02 | 1.25 ± 0.02 |
| DPO | 1 | 2 | 2.00 ± 0.02 | 0.88 ± 0.02 |
| GRPO | 0.05 | 2 | -0.50 ± 0.02 | 3.00 ± 0.02 |
| GRPO | 0.5 | 2 | 0.78 ± 0.02 | 0.62 ± 0.02 |

Held out: 12 prompts, 30 pairs (270 pairs trained on).

## Where each stage ran

| stage | where | host | pid | wall s |
|---|---|---|---|---|
| sft | - | - | - | - |
| reward | main process | h1 | 4321 | 3.2 |
| dpo-beta0.1-seed0 | - | - | - | 12.3 |

## Settings

| setting | value |
|---|---|
| methods | dpo, grpo |
| dpo_betas | 0.03, 0.1, 1 |
| seeds | 2 |
| learning_rate | 1e-05 |
| chat | - |
| quick | true |
| judge | rm |
| heldout_fraction | 0.1 |
"""

NO_GOLD_METHODS = """\
| method | signal | reward | win rate vs SFT | KL to SFT | RM acc. | implicit acc. | wall s | peak MB | tokens |
|---|---|---|---|---|---|---|---|---|---|
| SFT | - | 0.23 ± 0.11 | 0.50 ± 0.00 | 0.00 ± 0.00 | - | - | - | - | - |
| DPO (beta 0.1) | preference pairs, offline | 2.35 ± 0.12 | 0.81 ± 0.04 | 1.23 ± 0.06 | - | 0.81 | 12.3 | 702 | 12000 |
| GRPO (KL coef 0.05) | reward model, online | -0.50 ± 0.10 | 0.25 ± 0.05 | 3.00 ± 0.25 | 0.67 | - | 100.0 | 0 | 0 |
"""

ONE_SEED_FRONTIER = """\
| DPO | 0.03 | 1 | 2.40 | 1.50 |
| DPO | 0.1 | 1 | 2.35 | 1.25 |
| DPO | 1 | 1 | 2.00 | 0.88 |
| GRPO | 0.05 | 1 | -0.50 | 3.00 |
| GRPO | 0.5 | 1 | 0.78 | 0.62 |
"""


def _section(text: str, first: str, last: str) -> str:
    """The lines of ``text`` from the one starting with ``first`` up to (not including) the next one starting with
    ``last``."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith(last))
    return "".join(lines[start:end])


def test_the_gold_report_with_a_judge_and_two_seeds_whole() -> None:
    assert R.report_md(results(gold=True, judge=True, seeds=2)) == GOLD_REPORT


def test_the_users_data_without_a_judge_one_seed_whole() -> None:
    """No gold column, row or sentence; no judge column; the frontier without error bars."""
    expected = GOLD_REPORT
    for old, new in [
        ("| data | synthetic sentiment task |", "| data | /d/pairs.jsonl |"),
        ("| prompts | plain text |", "| prompts | conversations through the chat template |"),
        ("| reward | gold reward (#positive - #negative words) |",
         "| reward | trained reward model as judge (the data has no gold reward) |"),
        (_section(GOLD_REPORT, "| method | signal |", "\n"), NO_GOLD_METHODS),
        (_section(GOLD_REPORT, "Judge: ", "\n"),
         "Reward and win rates: the trained reward model judges (the data has no gold reward). No pairwise judge "
         "(judge: none, or the reward model already judges every win rate).\n"),
        (" Cost at matched gold reward: `benchmarks/alignment_cost.py`.", ""),
        (_section(GOLD_REPORT, "| DPO | 0.03 |", "\n"), ONE_SEED_FRONTIER),
        ("| seeds | 2 |", "| seeds | 1 |"), ("| judge | rm |", "| judge | none |"),
    ]:  # fmt: skip
        assert expected.count(old) == 1, old
        expected = expected.replace(old, new)
    assert R.report_md(results(gold=False, judge=False, seeds=1)) == expected


def test_a_causal_lm_judge_on_the_users_data_has_its_column_and_no_agreement() -> None:
    r = results(gold=False, judge=True, seeds=1)
    r["judge"] = {"kind": "causal LM prompted as a judge", "path": "/j"}
    text = R.report_md(r)
    assert _section(text, "| method | signal |", "\n") == (
        "| method | signal | reward | win rate vs SFT | KL to SFT | RM acc. | implicit acc. | wall s | peak MB "
        "| tokens | judge win rate |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
        "| SFT | - | 0.23 ± 0.11 | 0.50 ± 0.00 | 0.00 ± 0.00 | - | - | - | - | - | - |\n"
        "| DPO (beta 0.1) | preference pairs, offline | 2.35 ± 0.12 | 0.81 ± 0.04 | 1.23 ± 0.06 | - | 0.81 | 12.3 "
        "| 702 | 12000 | 0.75 ± 0.04 |\n"
        "| GRPO (KL coef 0.05) | reward model, online | -0.50 ± 0.10 | 0.25 ± 0.05 | 3.00 ± 0.25 | 0.67 | - | 100.0 "
        "| 0 | 0 | - |\n"
    )
    assert _section(text, "Reward and win rates", "\n") == (
        "Reward and win rates: the trained reward model judges (the data has no gold reward). Judge: causal LM "
        "prompted as a judge (/j), each method's sample against the SFT sample of the same prompt and draw (a tie "
        "counts one half).\n"
    )
    assert "Peak memory: max RSS.\n" in text


def test_gold_without_a_judge_keeps_both_judge_columns_empty() -> None:
    r = results(gold=True, judge=False, seeds=2)
    del r["methods"]["DPO"]["signal"]  # no signal: "-"
    text = R.report_md(r)
    rows = _section(text, "| method | signal |", "\n").splitlines()
    assert rows[0].endswith("| tokens | judge win rate | judge-gold agreement |")
    assert rows[1] == "|---" * 12 + "|"
    assert [row.split(" | ")[-2:] for row in rows[2:]] == [["-", "- |"]] * 4
    assert rows[3] == ("| DPO (beta 0.1) | - | 2.35 ± 0.12 | 0.81 ± 0.04 | 1.23 ± 0.06 | - "
                       "| 0.81 | 12.3 | 702 | 12000 | - | - |")  # fmt: skip
    assert _section(text, "No pairwise judge", "\n") == (
        "No pairwise judge (judge: none, or the reward model already judges every win rate).\n")


def test_no_peak_memory_kind_anywhere_leaves_it_blank() -> None:
    r = results()
    r["stage_costs"] = {"sft": {"note": "the given model is the SFT policy", "path": "/m"},
                        "reward": {"peak_memory_kind": None, "wall_seconds": None, "ran_on": {"pid": 7}}}
    text = R.report_md(r)
    assert "Peak memory: . Cost at matched gold reward: `benchmarks/alignment_cost.py`.\n" in text
    assert _section(text, "| sft |", "\n") == "| sft | - | - | - | - |\n| reward | - | - | 7 | - |\n"


def test_a_settings_value_of_each_type() -> None:
    r = results()
    r["settings"]["config"] = {"a": [], "b": [True, None, 3, "x"], "c": 2.5, "d": -0.0, "e": 1e20, "f": False,
                               "g": float("nan"), "h": (1.5, 2.0)}  # fmt: skip
    assert R.report_md(r).split("|---|---|\n")[-1] == (
        "| a |  |\n| b | true, -, 3, x |\n| c | 2.5 |\n| d | -0 |\n| e | 1e+20 |\n| f | false |\n| g | nan |\n"
        "| h | (1.5, 2.0) |\n"
    )


def test_the_frontier_table_keeps_the_methods_and_points_in_their_order() -> None:
    r = results(seeds=3)
    r["frontier"] = {"GRPO": r["frontier"]["GRPO"][::-1], "none": [], "DPO": r["frontier"]["DPO"][:1]}
    assert _section(R.report_md(r), "| GRPO | 0.5 |", "\n") == (
        "| GRPO | 0.5 | 3 | 0.78 ± 0.02 | 0.62 ± 0.02 |\n"
        "| GRPO | 0.05 | 3 | -0.50 ± 0.02 | 3.00 ± 0.02 |\n"
        "| DPO | 0.03 | 3 | 2.40 ± 0.02 | 1.50 ± 0.02 |\n"
    )


@pytest.mark.parametrize(
    ("x", "digits", "text"),
    [(None, 2, "-"), (True, 2, "true"), (False, 0, "false"), (0, 2, "0"), (-12, 1, "-12"), (2.0, 2, "2.00"),
     (2.3456, 2, "2.35"), (2.3456, 1, "2.3"), (2.3456, 3, "2.346"), (-0.004, 2, "-0.00"), (701.6, 0, "702"),
     (float("nan"), 2, "nan"), ("rm", 2, "rm"), ([1, 2], 2, "[1, 2]")],
)  # fmt: skip
def test_num(x: Any, digits: int, text: str) -> None:
    assert R._num(x, digits) == text


def test_num_and_pm_default_to_two_digits() -> None:
    assert (R._num(2.3456), R._num(True), R._num(None)) == ("2.35", "true", "-")
    assert R._pm(2.3456, 0.0567) == "2.35 ± 0.06"
    assert R._pm(-1.0, 0.0, 1) == "-1.0 ± 0.0"
    assert R._pm(0.5, 0.12345, 3) == "0.500 ± 0.123"


def test_judged_and_the_judge_note() -> None:
    assert R._judged({"judge_win_rate_vs_sft": 0.7512, "judge_win_rate_sem": 0.0431}) == "0.75 ± 0.04"
    assert R._judged({"judge_win_rate_sem": 0.0431}) == "-"
    judge = {"kind": "reward model", "path": "/rm"}
    body = ("Judge: reward model (/rm), each method's sample against the SFT sample of the same prompt and draw "
            "(a tie counts one half)")  # fmt: skip
    rm = "Reward and win rates: the trained reward model judges (the data has no gold reward). "
    agreement = ("; agreement: how often it prefers what the gold reward prefers, over the pairs the gold reward does "
                 "not tie")  # fmt: skip
    none = "No pairwise judge (judge: none, or the reward model already judges every win rate)."
    assert R._judge_note({"judge": judge}, True) == body + agreement + "."
    assert R._judge_note({"judge": judge}, False) == rm + body + "."
    assert R._judge_note({"judge": None}, True) == none
    assert R._judge_note({}, False) == rm + none


def test_summary_line() -> None:
    row = {"reward_kind": "gold", "reward": 2.3456, "kl_to_sft": 1.2345, "win_rate_vs_sft": 0.8125,
           "cost": {"wall_seconds": 12.345}, "ran_on": {"where": "ray worker"}}
    assert R.summary_line(row) == "gold +2.35  KL 1.23  win 0.81  (12.3 s, ray worker)"
    judged = {"reward_kind": "rm", "reward": -0.5, "kl_to_sft": 0.0, "win_rate_vs_sft": 0.0}
    assert R.summary_line(judged) == "judge -0.50  KL 0.00  win 0.00  (0.0 s, )"  # no cost, nowhere
    assert R.summary_line({**judged, "cost": {}, "ran_on": {}}) == "judge -0.50  KL 0.00  win 0.00  (0.0 s, )"
    assert R.summary_line({**row, "skipped": True}) == "gold +2.35  KL 1.23  win 0.81  (finished earlier)"
    assert R.summary_line({**row, "reward_kind": "gold reward"}).startswith("judge +2.35")


def test_table_text() -> None:
    r = results()
    r["methods"]["DPO"].pop("signal")
    r["methods"]["GRPO"]["cost"] = {"wall_seconds": 7}
    assert R.table_text(r) == (
        "method       signal                              reward   win     KL  wall s\n"
        "SFT          -                                     0.23  0.50   0.00       -\n"
        "DPO          -                                     2.35  0.81   1.23    12.3\n"
        "GRPO         reward model, online                 -0.50  0.25   3.00       7\n"
        "GRPO (gold)  gold reward (#positive - #negative    1.00  1.00  -0.01     7.0"
    )


def test_strength_name() -> None:
    r = results()
    assert (R.strength_name(r, "DPO"), R.strength_name(r, "GRPO")) == ("beta", "KL coef")
    assert R.strength_name(r, "SFT") == "KL strength"  # a row without one
    assert R.strength_name(r, "IPO") == "KL strength"  # no row
    r["methods"]["DPO"]["strength_name"] = 0.5
    assert R.strength_name(r, "DPO") == "0.5"


TAB10 = [(0.12156862745098039, 0.4666666666666667, 0.7058823529411765), (1.0, 0.4980392156862745, 0.054901960784313725),
         (0.17254901960784313, 0.6274509803921569, 0.17254901960784313),
         (0.8392156862745098, 0.15294117647058825, 0.1568627450980392)]  # matplotlib's "tab10", its first four


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures ``plot_frontier`` saves (saved for real, then kept to be read)."""
    import rlsuite.common.plotting as plotting

    figures: list[Any] = []
    save = plotting.save_figure

    def keep(fig: Any, path: Any) -> Path:
        figures.append(fig)
        return save(fig, path)

    monkeypatch.setattr(plotting, "save_figure", keep)
    return figures


def _curve(container: Any) -> tuple[Any, ...]:
    """An errorbar's label, data, style, caps and error segments."""
    line, caps, bars = container.lines
    return (container.get_label(), container.has_xerr, container.has_yerr, list(line.get_xdata()),
            list(line.get_ydata()), line.get_marker(), line.get_linestyle(), line.get_markersize(),
            line.get_linewidth(), line.get_color(), [cap.get_markersize() for cap in caps],
            [[seg.tolist() for seg in bar.get_segments()] for bar in bars])  # fmt: skip


def _labels(ax: Any) -> list[tuple[Any, ...]]:
    return [(t.get_text(), t.xy, t.xyann, t.get_color(), t.get_ha(), t.get_va(), t.get_fontsize(), t.anncoords,
             t.arrow_patch) for t in ax.texts]  # fmt: skip


def test_the_frontier_figure_with_two_seeds(tmp_path: Path, drawn: list[Any]) -> None:
    """Curves sorted by KL with error bars, an empty method skipped (its colour too), one-point and
    several-point methods labelled at their ends, the SFT marker; titles, grid and legend."""
    r = results(seeds=2)
    dpo, grpo = r["frontier"]["DPO"], r["frontier"]["GRPO"]
    ppo = {**grpo[0], "kl": 2.0, "reward": 1.0, "kl_strength": 0.2}
    r["frontier"] = {"IPO": [], "DPO": [dpo[1], dpo[2], dpo[0]], "GRPO": grpo, "PPO": [ppo]}
    R.plot_frontier(r, tmp_path / "frontier.png")
    assert (tmp_path / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (fig,) = drawn
    assert tuple(fig.get_size_inches()) == (8.0, 4.8)
    (ax,) = fig.axes
    e = 0.0151  # the KL's error bars (x), then the reward's (y: 0.0234)
    assert [_curve(c) for c in ax.containers] == [
        ("DPO (numbers: beta)", True, True, [0.875, 1.25, 1.5], [2.0, 2.3456, 2.4012], "o", "-", 4.0, 1.2, TAB10[1],
         [4.0] * 4, [[[[0.875 - e, 2.0], [0.875 + e, 2.0]], [[1.25 - e, 2.3456], [1.25 + e, 2.3456]],
                      [[1.5 - e, 2.4012], [1.5 + e, 2.4012]]],
                     [[[0.875, 2.0 - 0.0234], [0.875, 2.0234]], [[1.25, 2.3456 - 0.0234], [1.25, 2.3456 + 0.0234]],
                      [[1.5, 2.4012 - 0.0234], [1.5, 2.4012 + 0.0234]]]]),
        ("GRPO (numbers: KL coef)", True, True, [0.625, 3.0], [0.7777, -0.5], "o", "-", 4.0, 1.2, TAB10[2],
         [4.0] * 4, [[[[0.625 - e, 0.7777], [0.625 + e, 0.7777]], [[3.0 - e, -0.5], [3.0 + e, -0.5]]],
                     [[[0.625, 0.7777 - 0.0234], [0.625, 0.7777 + 0.0234]],
                      [[3.0, -0.5 - 0.0234], [3.0, -0.5 + 0.0234]]]]),
        ("PPO (numbers: KL strength)", True, True, [2.0], [1.0], "o", "-", 4.0, 1.2, TAB10[3], [4.0] * 4,
         [[[[2.0 - e, 1.0], [2.0 + e, 1.0]]], [[[2.0, 1.0 - 0.0234], [2.0, 1.0234]]]]),
        ("SFT (error bar: SE over samples)", False, True, [0.0], [0.2345], "s", "None", 6.0, 1.5, "k", [4.0] * 2,
         [[[[0.0, 0.2345 - 0.1111], [0.0, 0.2345 + 0.1111]]]]),
    ]  # fmt: skip
    up = (math.cos(math.radians(90)) * 7, 7.0)  # the right is taken by the axes' edge there
    assert _labels(ax) == [
        ("1", (0.875, 2.0), (7.0, 0.0), TAB10[1], "left", "center", 7.0, "offset points", None),
        ("0.03", (1.5, 2.4012), (7.0, 0.0), TAB10[1], "left", "center", 7.0, "offset points", None),
        ("0.5", (0.625, 0.7777), (7.0, 0.0), TAB10[2], "left", "center", 7.0, "offset points", None),
        ("0.05", (3.0, -0.5), up, TAB10[2], "center", "bottom", 7.0, "offset points", None),
        ("0.2", (2.0, 1.0), (7.0, 0.0), TAB10[3], "left", "center", 7.0, "offset points", None),
    ]  # fmt: skip
    assert ax.get_xlabel() == "KL(π ‖ π_SFT) per completion, nats (Monte Carlo)"
    assert ax.get_ylabel() == "gold reward (#positive − #negative words)"
    assert ax.get_title() == ("Reward vs KL to the SFT policy (error bars: SE over 2 seeds; numbers at the ends: "
                              "KL strength)")
    assert ax.title.get_fontsize() == 9.0
    grid = [*ax.xaxis.get_gridlines(), *ax.yaxis.get_gridlines()]
    assert {(g.get_visible(), g.get_alpha()) for g in grid} == {(True, 0.3)}
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "DPO (numbers: beta)", "GRPO (numbers: KL coef)", "PPO (numbers: KL strength)",
        "SFT (error bar: SE over samples)"]  # fmt: skip
    assert {t.get_fontsize() for t in legend.get_texts()} == {8.0}
    assert (legend._loc, legend.borderaxespad) == (2, 0.0)  # 2: "upper left"
    assert tuple(legend.get_bbox_to_anchor().p0) == tuple(ax.transAxes.transform((1.01, 1.0)))


def test_the_frontier_figure_with_one_seed_and_eleven_methods(tmp_path: Path, drawn: list[Any]) -> None:
    """No error bars, no caps; the judge's reward axis; no SFT marker without an SFT row; the 11th
    method takes the first colour again."""
    r = results(gold=False, seeds=1)
    del r["methods"]["SFT"]
    r["frontier"] = {f"M{i}": [{"kl_strength": 0.1, "seeds": 1, "reward": float(i % 3), "reward_err": 0.5,
                                "kl": float(i // 3), "kl_err": 0.5}] for i in range(11)}  # fmt: skip
    R.plot_frontier(r, tmp_path / "frontier.png")
    (fig,) = drawn
    (ax,) = fig.axes
    curves = [_curve(c) for c in ax.containers]
    assert [c[0] for c in curves] == [f"M{i} (numbers: KL strength)" for i in range(11)]
    assert [c[1:3] + c[5:9] + c[10:] for c in curves] == [(False, False, "o", "-", 4.0, 1.2, [], [])] * 11
    assert [c[9] for c in curves][:4] == TAB10 and curves[10][9] == TAB10[0]
    assert [(t.get_text(), t.xy, t.get_color()) for t in ax.texts] == [
        ("0.1", (float(i // 3), float(i % 3)), curves[i][9]) for i in range(11)]  # fmt: skip
    assert ax.get_ylabel() == "reward-model score (judge)"
    assert ax.get_title() == ("Reward vs KL to the SFT policy (one seed: no error bars; numbers at the ends: "
                              "KL strength)")


def test_write_report_writes_the_three_files(tmp_path: Path, drawn: list[Any]) -> None:
    r = results()
    R.write_report(tmp_path / "out", r)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["frontier.png", "report.md", "results.json"]
    assert (tmp_path / "out" / "report.md").read_text() == GOLD_REPORT
    assert json.loads((tmp_path / "out" / "results.json").read_text()) == r
    assert len(drawn) == 1 and (tmp_path / "out" / "frontier.png").read_bytes()[:4] == b"\x89PNG"
    R.write_report(str(tmp_path / "str"), r)  # a str is a folder too
    assert (tmp_path / "str" / "report.md").read_text() == GOLD_REPORT


# place_labels on a bare 4 x 3 inch axes at 100 dpi, data 0..10 both ways: the axes span pixels 40..360 x 30..270,
# and the point (5, 5) is pixel (200, 150). A "0.1" label at fontsize 7 is 15 x 9.7 pixels (16.5 x 11.7 grown by
# place_labels' 1.1 x 1.2); 7 points are 9.7 pixels.
RING7 = [(7.0, 0.0, "left", "center"), (4.95, 4.95, "left", "bottom"), (0.0, 7.0, "center", "bottom"),
         (-4.95, 4.95, "right", "bottom"), (-7.0, 0.0, "right", "center"), (-4.95, -4.95, "right", "top"),
         (0.0, -7.0, "center", "top"), (4.95, -4.95, "left", "top")]  # fmt: skip


def _axes(size: tuple[float, float] = (4, 3), rect: tuple[float, ...] = (0.1, 0.1, 0.8, 0.8)) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(rect)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    return ax


def _spot(ax: Any, x: float, y: float, angle: int, text: str = "0.1") -> Any:
    """The box place_labels measures for ``text`` at ``(x, y)``'s first-ring spot at ``angle`` (display pixels)."""
    dx, dy, ha, va = RING7[angle // 45]
    ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=7, ha=ha, va=va)
    box = ann.get_window_extent(ax.figure.canvas.get_renderer()).expanded(1.1, 1.2)
    ann.remove()
    return box


def _marker(ax: Any, px: float, py: float) -> None:
    """A data point (a line's marker) at display pixel ``(px, py)``."""
    x, y = ax.transData.inverted().transform((px, py))
    ax.plot([x], [y], "o")


def _where(placed: list[Any]) -> list[tuple[Any, ...]]:
    """Each placed label's text, offset (points, rounded to 0.01), alignment and whether it has a leader line."""
    return [(a.get_text(), round(a.xyann[0], 2) + 0.0, round(a.xyann[1], 2) + 0.0, a.get_ha(), a.get_va(),
             a.arrow_patch is not None) for a in placed]  # fmt: skip


def test_a_label_with_room_takes_the_first_spot() -> None:
    ax = _axes()
    placed = R.place_labels(ax, [(5.0, 5.0, "0.1", "C3")])
    assert placed == list(ax.texts) and len(placed) == 1
    (ann,) = placed
    assert (ann.get_text(), ann.xy, ann.xyann, ann.anncoords, ann.get_fontsize(), ann.get_color()) == (
        "0.1", (5.0, 5.0), (7.0, 0.0), "offset points", 7.0, "C3")  # fmt: skip
    assert (ann.get_ha(), ann.get_va(), ann.arrow_patch) == ("left", "center", None)
    assert R.place_labels(_axes(), []) == []


def test_labels_on_one_point_go_round_it() -> None:
    """Six labels on one point take the first ring's free spots in turn (the spot above is passed over: it overlaps
    the labels beside it, and the one below then overlaps the label below left)."""
    ax = _axes()
    placed = R.place_labels(ax, [(5.0, 5.0, f"0.{i}", "C0") for i in range(1, 7)])
    spots = [RING7[i] for i in (0, 1, 3, 4, 5, 7)]
    assert _where(placed) == [(f"0.{i}", *spot, False) for i, spot in enumerate(spots, start=1)]
    assert list(ax.texts) == placed and {(a.get_fontsize(), a.get_color(), a.anncoords) for a in placed} == {
        (7.0, "C0", "offset points")}  # fmt: skip


def _first_ring_only(counts: tuple[int, ...]) -> Any:
    """Axes of 60 x 44 pixels, room for the first ring round (5, 5) only, with ``counts`` data markers in the middle
    of its spots (counter-clockwise from the right)."""
    ax = _axes((1.0, 0.8), (0.2, 0.225, 0.6, 0.55))
    for angle, count in zip(range(0, 360, 45), counts, strict=True):
        box = _spot(ax, 5.0, 5.0, angle)
        x, y = ax.transData.inverted().transform(((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2))
        ax.plot([x] * count, [y] * count, "o")
    return ax


def test_a_label_over_a_label_weighs_a_hundred_markers() -> None:
    """The second label's spots: the first over the first label (100), the next with 100 markers (100), the rest
    with 101: a tie, and the first of equals is taken."""
    ax = _first_ring_only((0, 100, 101, 101, 101, 101, 101, 101))
    placed = R.place_labels(ax, [(5.0, 5.0, "0.1", "C0"), (5.0, 5.0, "0.2", "C1")])
    assert _where(placed) == [("0.1", *RING7[0], False), ("0.2", *RING7[0], False)]


def test_no_clear_spot_takes_the_first_least_crowded() -> None:
    """Axes (60 x 44 pixels) with room for the first ring only, each of its spots holding 3, 2, 2, 1, 2, 1, 3, 2
    data markers (counter-clockwise from the right): the label takes the first spot with one (above left)."""
    ax = _first_ring_only((3, 2, 2, 1, 2, 1, 3, 2))
    placed = R.place_labels(ax, [(5.0, 5.0, "0.1", "C2")])
    assert _where(placed) == [("0.1", *RING7[3], False)]
    assert list(ax.texts) == placed and (placed[0].get_fontsize(), placed[0].get_color(), placed[0].xy) == (
        7.0, "C2", (5.0, 5.0))  # fmt: skip


def test_a_data_marker_or_another_labels_point_moves_a_label_on() -> None:
    ax = _axes()
    box = _spot(ax, 5.0, 5.0, 0)
    _marker(ax, (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
    assert _where(R.place_labels(ax, [(5.0, 5.0, "0.1", "C0")])) == [("0.1", *RING7[1], False)]
    ax = _axes()  # no line: the other label's point is the marker in the way
    box = _spot(ax, 5.0, 5.0, 0)
    other = ax.transData.inverted().transform(((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2))
    placed = R.place_labels(ax, [(5.0, 5.0, "0.1", "C0"), (*other, "0.3", "C1")])
    assert _where(placed)[0] == ("0.1", *RING7[1], False)
    ax = _axes()  # a marker above the first spot, in its columns but far from its rows: no clash
    _marker(ax, (box.x0 + box.x1) / 2, box.y1 + 40)
    assert _where(R.place_labels(ax, [(5.0, 5.0, "0.1", "C0")])) == [("0.1", *RING7[0], False)]


@pytest.mark.parametrize(("edge", "gap", "moved"), [
    ("left", 1.0, True), ("left", 2.5, False), ("right", 1.0, True), ("right", 2.5, False),
    ("bottom", 1.0, True), ("bottom", 2.5, False), ("top", 1.0, True), ("top", 2.5, False)])  # fmt: skip
def test_a_marker_within_two_pixels_of_a_spot_counts(edge: str, gap: float, moved: bool) -> None:
    ax = _axes()
    box = _spot(ax, 5.0, 5.0, 0)
    mid = ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
    px, py = {"left": (box.x0 - gap, mid[1]), "right": (box.x1 + gap, mid[1]), "bottom": (mid[0], box.y0 - gap),
              "top": (mid[0], box.y1 + gap)}[edge]  # fmt: skip
    _marker(ax, px, py)
    (where,) = _where(R.place_labels(ax, [(5.0, 5.0, "0.1", "C0")]))
    assert (where[1:3] != (7.0, 0.0)) == moved, where


def test_a_spot_must_lie_wholly_inside_the_axes() -> None:
    """At the left edge with the right-hand spots taken, the spot above (half outside) is passed over."""
    ax = _axes()
    for angle in (0, 45):
        box = _spot(ax, 0.0, 5.0, angle)
        _marker(ax, (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
    assert _where(R.place_labels(ax, [(0.0, 5.0, "0.1", "C0")])) == [("0.1", *RING7[7], False)]
    corner = R.place_labels(_axes(), [(10.0, 10.0, "0.1", "C0"), (10.0, 0.0, "0.2", "C0"), (0.0, 0.0, "0.3", "C0")])
    assert _where(corner) == [("0.1", *RING7[5], False), ("0.2", *RING7[3], False), ("0.3", *RING7[1], False)]


def test_axes_too_small_for_any_label() -> None:
    with pytest.raises(AssertionError, match=r"^the axes are too small for a label$"):
        R.place_labels(_axes((0.2, 0.2)), [(5.0, 5.0, "0.1", "C0")])


def _ring_taken() -> Any:
    """Axes whose point (5, 5) has a data marker in the middle of each first-ring spot, nothing further out."""
    ax = _axes()
    for angle in range(0, 360, 45):
        box = _spot(ax, 5.0, 5.0, angle)
        _marker(ax, (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)
    return ax


def test_a_label_whose_first_ring_is_taken_goes_further_out() -> None:
    """The docstring: each label "takes the first [spot] inside the axes that overlaps no label placed before it
    and no data marker"; here the second ring's spots are clear. (Its measured box once held its leader line,
    which covers the first-ring spot in the same direction and ends at the label's own marker: no spot off the
    first ring was ever clear.)"""
    (ann,) = R.place_labels(_ring_taken(), [(5.0, 5.0, "0.1", "C0")])
    assert round(math.hypot(*ann.xyann), 9) == 16.0  # the second ring: the nearest clear one


def test_a_label_off_the_first_ring_has_a_leader_line() -> None:
    """The docstring: "a spot off the first ring gets a thin leader line back to its point"."""
    (ann,) = R.place_labels(_ring_taken(), [(5.0, 5.0, "0.1", "C4")])
    arrow = ann.arrow_patch
    assert arrow is not None and (arrow.get_linewidth(), arrow.get_edgecolor()[:3], arrow.shrinkA, arrow.shrinkB) == (
        0.5, (0.5803921568627451, 0.403921568627451, 0.7411764705882353), 0, 3)  # fmt: skip


def test_crowded_labels_go_out_to_the_second_and_third_rings_with_leaders() -> None:
    """Labels on one point fill the first ring, then go out to 16 and 28 points, each beyond the first ring with a
    leader line back to its point."""
    ax = _axes()
    placed = R.place_labels(ax, [(5.0, 5.0, f"0.{i}", "C0") for i in range(1, 21)])
    radii = [round(math.hypot(*a.xyann), 6) for a in placed]
    assert sorted(set(radii)) == [7.0, 16.0, 28.0]
    assert [a.arrow_patch is not None for a in placed] == [r > 7 for r in radii]
