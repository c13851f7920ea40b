"""Model-based solvers (Zhao ch. 4), vectorised over states."""

from __future__ import annotations

import numpy as np

from rlsuite.envs.model import TabularModel


def value_iteration(
    model: TabularModel, gamma: float = 0.9, tol: float = 1e-10, max_iters: int = 100_000
) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact optimal values by value iteration: ``v <- max_a (R + gamma * T v)``.

    Returns:
        ``(v, q, iterations)``: state values [S], action values [S, A], sweeps done.
    """
    T, R = model.transition_probs, model.expected_rewards
    v = np.zeros(model.n_states)
    for it in range(1, max_iters + 1):
        q = R + gamma * (T @ v)
        v_new = q.max(axis=1)
        if np.max(np.abs(v_new - v)) < tol:
            return v_new, q, it
        v = v_new
    return v, R + gamma * (T @ v), max_iters
