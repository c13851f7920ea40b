"""``rlsuite eval``'s one vocabulary: the keys of ``eval.json`` for every family, and its short summary.

Each family's ``evaluate`` returns a report in these keys (:data:`EVAL_KEYS`, documented in
docs/eval.md); :func:`summary` turns it into the few lines ``rlsuite eval`` prints.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

GAP_TOLERANCE = 1e-6  # a gap below this is round-off of exact policy evaluation: reported as 0

# key -> what it means (docs/eval.md lists the same keys; a test checks they agree)
EVAL_KEYS: dict[str, str] = {
    "run_dir": "the run folder evaluated",
    "algo": "the algorithm that trained it",
    "env_id": "the env it was evaluated on",
    "model": "SB3: the saved policy played (model/ or a checkpoint)",
    "timesteps": "SB3: env steps the policy was trained for",
    "episodes": "greedy episodes played",
    "return_mean": "mean undiscounted return of the greedy episodes",
    "return_std": "their standard deviation (population, ddof 0)",
    "return_se": "standard error of return_mean (sample std / sqrt(episodes)); null for one episode",
    "discounted_return_mean": "tabular: mean discounted return (the agent's gamma) of the same episodes",
    "length_mean": "mean episode length in steps",
    "optimal_return_mean": "SB3: mean return of the exact optimal policy on the same seeds",
    "gamma": "the discount the gaps are computed with",
    "gap_to_optimum_max": "max over states of v*(s) - v_pi(s), exact, clamped at 0 (0 when below gap_tolerance)",
    "gap_to_optimum_mean": "tabular: mean over states of v*(s) - v_pi(s), clamped the same way",
    "gap_to_optimum_start": "v*(start) - v_pi(start) at the start distribution, clamped the same way",
    "v_star_start": "v* at the start distribution",
    "v_pi_start": "the greedy policy's exact value at the start distribution",
    "gap_tolerance": "gaps below this are round-off of exact policy evaluation and reported as 0",
    "optimal_action_fraction": "fraction of states whose greedy action is optimal (q*(s, a) >= v*(s) - 1e-6)",
    "runs": "bandits: independent bandit problems replayed at once",
    "steps": "bandits: steps of each replay",
    "average_reward": "bandits: reward per step, averaged over every step of every run",
    "average_reward_last_100": "bandits: reward per step over the last 100 steps (all runs)",
    "optimal_action_last_100": "bandits: fraction of pulls of the best arm over the last 100 steps (all runs)",
    "videos": "SB3 with --video: the folder of recorded episodes",
}


def clamp_gap(gap: float) -> float:
    """An exact gap to the optimum: never negative, and 0 below :data:`GAP_TOLERANCE` (round-off)."""
    return 0.0 if gap < GAP_TOLERANCE else float(gap)


def return_stats(returns: Sequence[float]) -> dict[str, Any]:
    """``episodes``, ``return_mean``, ``return_std`` (ddof 0), ``return_se`` (ddof 1 / sqrt(n)) of returns."""
    n = len(returns)
    mean = sum(returns) / n
    var0 = sum((r - mean) ** 2 for r in returns) / n
    return {"episodes": n, "return_mean": mean, "return_std": math.sqrt(var0),
            "return_se": math.sqrt(var0 / (n - 1)) if n > 1 else None}  # fmt: skip


def from_sb3(report: Mapping[str, Any]) -> dict[str, Any]:
    """An :func:`rlsuite.agents.sb3.evaluate_run` report in the shared keys (its ``optimum`` flattened)."""
    out = {k: v for k, v in report.items() if k not in ("optimum", "returns", "lengths")}
    n, std = int(report["episodes"]), float(report["return_std"])
    out["return_se"] = std / math.sqrt(n - 1) if n > 1 else None
    optimum = report.get("optimum")
    if optimum:
        out["gamma"] = optimum["gamma"]
        out["optimal_return_mean"] = optimum["optimal_return_mean"]
        out["gap_to_optimum_max"] = clamp_gap(optimum["max_value_gap"])
        if "v_star_start" in optimum:
            out["v_star_start"], out["v_pi_start"] = optimum["v_star_start"], optimum["v_pi_start"]
            out["gap_to_optimum_start"] = clamp_gap(optimum["value_gap_start"])
        out["gap_tolerance"] = GAP_TOLERANCE
        out["optimal_action_fraction"] = optimum["optimal_action_fraction"]
    return out


def _num(x: float) -> str:
    return f"{x:.4g}" if x != 0 else "0"


def summary(report: Mapping[str, Any], eval_file: str) -> list[str]:
    """What ``rlsuite eval`` prints: a few lines (the full report is in ``eval_file``)."""
    lines = [f"{report['algo']} on {report['env_id']}, run {report['run_dir']}"
             + (f" ({report['timesteps']} env steps)" if "timesteps" in report else "")]  # fmt: skip
    if "average_reward" in report:
        lines.append(f"replayed with its saved settings on {report['runs']} fresh bandit problems x "
                     f"{report['steps']} steps")  # fmt: skip
        lines.append(f"reward per step {report['average_reward']:.3f} (mean over all steps and runs), "
                     f"{report['average_reward_last_100']:.3f} over the last 100 steps")  # fmt: skip
        lines.append(f"best arm pulled in {report['optimal_action_last_100']:.0%} of the last 100 steps")
    if "return_mean" in report:
        se = report.get("return_se")
        spread = f" +- {se:.3f} (SE)" if se is not None else " (one episode: no SE)"
        line = f"greedy return {report['return_mean']:.3f}{spread} over {report['episodes']} episodes"
        if "optimal_return_mean" in report:
            line += f"; the optimal policy {report['optimal_return_mean']:.3f}"
        if "discounted_return_mean" in report:
            line += f"; discounted {report['discounted_return_mean']:.3f}"
        lines.append(line)
    if "gap_to_optimum_max" in report:
        parts = [f"max over states {_num(report['gap_to_optimum_max'])}"]
        if "gap_to_optimum_mean" in report:
            parts.append(f"mean {_num(report['gap_to_optimum_mean'])}")
        if "gap_to_optimum_start" in report:
            parts.append(f"at the start {_num(report['gap_to_optimum_start'])}")
        lines.append(f"gap to the optimum v* - v_pi (exact, gamma {report['gamma']:g}): {', '.join(parts)} "
                     f"(0 means below {report['gap_tolerance']:g})")  # fmt: skip
    if "optimal_action_fraction" in report:
        lines.append(f"greedy action optimal in {report['optimal_action_fraction']:.0%} of states")
    lines.append(f"full report: {eval_file}")
    from rlsuite.app.console import wrap

    return [wrap(line) for line in lines]
