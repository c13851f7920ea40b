"""Exact tabular models of discrete envs, as dense arrays for vectorised solvers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlsuite.common.errors import UsageError


@dataclass(frozen=True)
class TabularModel:
    """A finite MDP: ``transition_probs`` [S, A, S] and ``expected_rewards`` [S, A]."""

    transition_probs: np.ndarray
    expected_rewards: np.ndarray

    @property
    def n_states(self) -> int:
        return int(self.transition_probs.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.transition_probs.shape[1])


def tabular_model(env: gym.Env[Any, Any]) -> TabularModel:
    """The exact model of ``env``: rlsuite's dense arrays, or built from a FrozenLake-style ``P``.

    Transitions flagged ``terminated`` in ``P`` are treated as leading to an absorbing
    zero-reward state (their next-state probability mass is dropped), as in gymnasium's
    toy-text envs.
    """
    base = env.unwrapped
    if hasattr(base, "transition_probs") and hasattr(base, "expected_rewards"):
        return TabularModel(np.asarray(base.transition_probs), np.asarray(base.expected_rewards))
    P = getattr(base, "P", None)
    if P is None or not isinstance(env.observation_space, gym.spaces.Discrete):
        raise UsageError(f"{env.spec.id if env.spec else type(base).__name__}: has no exact tabular model (P)")
    S = int(env.observation_space.n)
    A = int(env.action_space.n)  # type: ignore[attr-defined]
    T = np.zeros((S, A, S))
    R = np.zeros((S, A))
    for s in range(S):
        for a in range(A):
            for prob, ns, rew, done in P[s][a]:
                R[s, a] += prob * rew
                if not done:
                    T[s, a, ns] += prob
    return TabularModel(T, R)
