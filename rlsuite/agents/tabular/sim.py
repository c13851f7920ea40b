"""Many independent runs of a small tabular env at once, in numpy: its transitions sampled from its
tables, one row per run (Sutton & Barto's chapter 6-8 experiments average tens to thousands of runs).

:class:`BatchSim` reads an env's tables: rlsuite's table envs (:class:`~rlsuite.envs.table.TableEnv`:
the random walks, windy grid world, maximization-bias MDP, mazes; with their reward noise), or any env
with a FrozenLake-style ``P`` (gymnasium's CliffWalking, FrozenLake, Taxi). Each run of the sim is a
copy of the env; sampling it is exactly sampling the env (same outcome probabilities and rewards).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.common.errors import UsageError
from rlsuite.envs.table import TableEnv


@dataclass
class BatchSim:
    """An env's transitions as arrays [S, A, K] over its ``K`` outcomes per (s, a).

    Attributes:
        next_states, rewards, dones: each outcome's next state, reward, and whether it ends the episode.
        cum_probs: cumulative outcome probabilities (the last is 1).
        reward_std: [S, A] Gaussian noise added to the reward (0: none).
        start_probs: [S] distribution of the start state.
    """

    next_states: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    cum_probs: np.ndarray
    reward_std: np.ndarray
    start_probs: np.ndarray

    @property
    def n_states(self) -> int:
        return int(self.next_states.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.next_states.shape[1])

    @classmethod
    def of(cls, env: Any) -> BatchSim:
        """The sim of ``env`` (a table env, or one with ``P``); one line naming what is missing otherwise."""
        base = getattr(env, "unwrapped", env)
        if isinstance(base, TableEnv):
            S, A = base.next_state.shape
            start = np.zeros(S)
            start[base.start_state] = 1.0
            std = np.zeros((S, A)) if base.reward_std is None else base.reward_std
            return cls(
                base.next_state[:, :, None],
                base.reward[:, :, None],
                base.terminal[base.next_state][:, :, None],
                np.ones((S, A, 1)),
                std,
                start,
            )
        P = getattr(base, "P", None)
        if P is None:
            name = env.spec.id if getattr(env, "spec", None) else type(base).__name__
            raise UsageError(
                f"{name}: has no tables to simulate (P); the S&B runs need rlsuite's table envs "
                "(rlsuite/RandomWalk-v0, WindyGridWorld-v0, MaximizationBias-v0, DynaMaze-v0, ...) or one with P "
                "(CliffWalking-v1, FrozenLake-v1, Taxi-v3)"
            )
        S, A = int(env.observation_space.n), int(env.action_space.n)
        K = max(len(P[s][a]) for s in range(S) for a in range(A))
        ns, rw, dn, pr = (np.zeros((S, A, K), dtype=t) for t in (np.int64, float, bool, float))
        for s in range(S):
            for a in range(A):
                for k, (p, s2, r, d) in enumerate(P[s][a]):
                    ns[s, a, k], rw[s, a, k], dn[s, a, k], pr[s, a, k] = s2, r, d, p
                ns[s, a, len(P[s][a]) :] = ns[s, a, 0]
        start = getattr(base, "initial_state_distrib", None)
        if start is None:
            start = np.zeros(S)
            start[int(env.reset(seed=0)[0])] = 1.0
        cum = np.cumsum(pr, axis=2)
        cum[:, :, -1] = 1.0
        return cls(ns, rw, dn, cum, np.zeros((S, A)), np.asarray(start, dtype=float))

    def reset(self, runs: int, rng: np.random.Generator) -> np.ndarray:
        """Start states [runs]."""
        if self.start_probs.max() == 1.0:
            return np.full(runs, int(self.start_probs.argmax()), dtype=np.int64)
        return rng.choice(self.n_states, size=runs, p=self.start_probs)

    def step(
        self, s: np.ndarray, a: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One step of every run: ``(next states, rewards, episode ended)``, each [runs]."""
        if self.cum_probs.shape[2] == 1:
            k = np.zeros_like(s)
        else:
            k = (rng.random(s.shape)[:, None] > self.cum_probs[s, a]).sum(axis=1)
        s2, r, done = self.next_states[s, a, k], self.rewards[s, a, k], self.dones[s, a, k]
        std = self.reward_std[s, a]
        if std.any():
            r = r + std * rng.standard_normal(s.shape)
        return s2, r, done


def random_argmax(q: np.ndarray, rng: np.random.Generator, allowed: np.ndarray | None = None) -> np.ndarray:
    """The argmax over the last axis, ties broken uniformly at random (as the book's agents do);
    ``allowed`` (same shape, bool) restricts the choice."""
    if allowed is not None:
        q = np.where(allowed, q, -np.inf)
    best = q == q.max(axis=-1, keepdims=True)
    return np.argmax(rng.random(q.shape) * best, axis=-1)


def epsilon_greedy_actions(
    q: np.ndarray, epsilon: float, rng: np.random.Generator, allowed: np.ndarray | None = None
) -> np.ndarray:
    """Epsilon-greedy actions of rows ``q`` [R, A]: uniform among the allowed with probability epsilon."""
    greedy = random_argmax(q, rng, allowed)
    uniform = random_argmax(np.zeros_like(q), rng, allowed)
    return np.where(rng.random(q.shape[0]) < epsilon, uniform, greedy)
