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


def policy_evaluation(model: TabularModel, policy: np.ndarray, gamma: float = 0.9) -> np.ndarray:
    """Exact state values of a policy: solve ``(I - gamma * T_pi) v = R_pi``.

    Args:
        model: the MDP.
        policy: action probabilities [S, A], or one greedy action per state [S].
        gamma: the discount, < 1.

    Returns:
        ``v_pi`` [S].
    """
    pi = np.asarray(policy)
    if pi.ndim == 1:
        pi = np.eye(model.n_actions)[pi.astype(int)]
    T_pi = np.einsum("sa,sat->st", pi, model.transition_probs)
    R_pi = (pi * model.expected_rewards).sum(axis=1)
    return np.linalg.solve(np.eye(model.n_states) - gamma * T_pi, R_pi)
