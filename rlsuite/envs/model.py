"""Exact tabular models of discrete envs, in forms that vectorised solvers can use."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import gymnasium as gym
import numpy as np

from rlsuite.common.errors import UsageError


class TabularModel:
    """A finite MDP with ``S`` states and ``A`` actions.

    Two storage forms, one interface:
    - dense: ``transition_probs`` [S, A, S];
    - compact: each (s, a) has ``K`` outcomes, ``next_states`` and ``next_probs`` [K, A, S]
      (action-major, so a Bellman backup is ``K`` contiguous gathers and a max over a leading
      axis). Grid worlds have K = 1 (deterministic) or K = 5 (slippery), so a 100x100 grid needs
      a few MB instead of the 4 GB of its dense [S, A, S] array.

    ``transition_probs`` is built on demand from the compact form; solvers should prefer
    :meth:`q_values`, which uses whichever form is cheaper.

    Args:
        expected_rewards: ``r(s, a)`` [S, A].
        transition_probs: dense ``p(s' | s, a)`` [S, A, S], or
        next_states, next_probs: the compact form [K, A, S].
    """

    def __init__(
        self,
        expected_rewards: np.ndarray,
        transition_probs: np.ndarray | None = None,
        next_states: np.ndarray | None = None,
        next_probs: np.ndarray | None = None,
    ) -> None:
        self.expected_rewards = np.asarray(expected_rewards, dtype=np.float64)
        self.n_states, self.n_actions = (int(n) for n in self.expected_rewards.shape)
        if (transition_probs is None) == (next_states is None):
            raise ValueError("give either transition_probs or next_states (with next_probs)")
        self._dense = None if transition_probs is None else np.asarray(transition_probs, dtype=np.float64)
        self.next_states = None if next_states is None else np.ascontiguousarray(next_states, dtype=np.int64)
        self.next_probs = None if next_probs is None else np.ascontiguousarray(next_probs, dtype=np.float64)
        self._rewards_as = np.ascontiguousarray(self.expected_rewards.T)
        self.deterministic = self.next_states is not None and self.next_states.shape[0] == 1

    @cached_property
    def transition_probs(self) -> np.ndarray:
        """``p(s' | s, a)`` as a dense [S, A, S] array (built on first use from the compact form)."""
        if self._dense is not None:
            return self._dense
        assert self.next_states is not None and self.next_probs is not None
        T = np.zeros((self.n_states, self.n_actions, self.n_states))
        s_idx = np.broadcast_to(np.arange(self.n_states), self.next_states.shape)
        a_idx = np.broadcast_to(np.arange(self.n_actions)[:, None], self.next_states.shape)
        np.add.at(T, (s_idx, a_idx, self.next_states), self.next_probs)
        return T

    def q_values(self, v: np.ndarray, gamma: float) -> np.ndarray:
        """The Bellman backup ``r(s, a) + gamma * sum_s' p(s'|s, a) v(s')`` as [S, A]."""
        if self._dense is not None:
            return self.expected_rewards + gamma * (self._dense @ v)
        assert self.next_states is not None and self.next_probs is not None
        if self.deterministic:
            expected_next = v[self.next_states[0]]  # [A, S]
        else:
            expected_next = np.einsum("kas,kas->as", self.next_probs, v[self.next_states])
        return (self._rewards_as + gamma * expected_next).T  # a [S, A] view of the [A, S] result

    def policy_matrices(self, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(T_pi [S, S], r_pi [S])`` of a stochastic policy [S, A] (dense: for S up to a few thousand)."""
        T_pi = np.einsum("sa,sat->st", policy, self.transition_probs)
        return T_pi, (policy * self.expected_rewards).sum(axis=1)


def tabular_model(env: gym.Env[Any, Any]) -> TabularModel:
    """The exact model of ``env``: rlsuite's own (``env.unwrapped.tabular_model``), or built from
    a FrozenLake-style ``P``.

    Transitions flagged ``terminated`` in ``P`` are treated as leading to an absorbing
    zero-reward state (their next-state probability mass is dropped), as in gymnasium's
    toy-text envs.
    """
    base = env.unwrapped
    if isinstance(getattr(base, "tabular_model", None), TabularModel):
        return base.tabular_model
    P = getattr(base, "P", None)
    if P is None or not isinstance(env.observation_space, gym.spaces.Discrete):
        name = env.spec.id if env.spec else type(base).__name__
        raise UsageError(f"{name}: has no exact tabular model (P)")
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
    return TabularModel(R, transition_probs=T)


def start_distribution(env: Any) -> np.ndarray | None:
    """The law of ``env``'s start state as float probabilities [S]; None when the env does not say.

    Read from the env, never from a reset: rlsuite's finite MDPs' ``start_probs`` (random starts in
    S&B's grids, the gambler, the car rental), the grid world's start (one cell, or uniform over
    ``random_start_states`` when it has none), a table env's ``start_state``, and gymnasium's toy text
    ``initial_state_distrib``. A pixel grid world's is its world's (the current layout's). ``env``: a
    gymnasium env (wrapped or not), or any object with those attributes.
    """
    base = getattr(env, "unwrapped", env)
    world = getattr(base, "world", None)
    if world is not None and world is not base:  # a pixel grid world
        return start_distribution(world)
    if getattr(base, "start_probs", None) is not None:  # FiniteMDPEnv
        return np.array(base.start_probs, dtype=np.float64)
    if hasattr(base, "start_state") and hasattr(base, "n_states"):  # grid world, table envs
        probs = np.zeros(int(base.n_states))
        if base.start_state is not None:
            probs[base.start_state] = 1.0
        else:
            probs[base.random_start_states] = 1.0 / len(base.random_start_states)
        return probs
    if getattr(base, "initial_state_distrib", None) is not None:  # gymnasium toy text
        return np.array(base.initial_state_distrib, dtype=np.float64)
    return None
