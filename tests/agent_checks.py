"""Checks of a learned tabular agent against its env's exact optimum, shared by the agent tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def unique_optimal_actions(q_star: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Per state, the optimal action where it is unique, else -1."""
    best = q_star >= q_star.max(axis=1, keepdims=True) - tol
    return np.where(best.sum(axis=1) == 1, best.argmax(axis=1), -1)


def wrong_greedy_states(agent: Any) -> list[int]:
    """The states whose optimal action is unique and whose greedy action (argmax of ``q_values``) is another."""
    unique = unique_optimal_actions(agent.q_star)
    return np.flatnonzero((unique >= 0) & (agent.q_values.argmax(axis=1) != unique)).tolist()


def assert_learned_the_optimum(name: str, agent: Any, last: dict[str, float], where: str) -> None:
    """After ``learn``: TD(0) (which evaluates a policy) within 0.2 of v_pi, a control agent greedy-optimal
    wherever the optimal action is unique. ``last`` is the history's last row; ``where`` names the run."""
    if name == "td0":
        assert last["value_error"] < 0.2, f"td0 {where}: value error {last['value_error']}"
        return
    wrong = wrong_greedy_states(agent)
    assert wrong == [], f"{name} {where}: greedy action wrong in states {wrong}"
