"""Many independent runs of a small tabular env at once, in numpy or torch: its transitions sampled from its
tables, one row per run (Sutton & Barto's chapter 6-8 experiments average tens to thousands of runs).

:class:`BatchSim` reads an env's tables: rlsuite's table envs (:class:`~rlsuite.envs.table.TableEnv`:
the random walks, windy grid world, maximization-bias MDP, mazes; with their reward noise), or any env
with a FrozenLake-style ``P`` (gymnasium's CliffWalking, FrozenLake, Taxi). Each run of the sim is a
copy of the env; sampling it is exactly sampling the env (same outcome probabilities and rewards).

The tables are numpy arrays (:meth:`BatchSim.of`) or torch tensors on a device (:meth:`BatchSim.to`); the
functions here draw from ``rng``: a numpy ``Generator`` (numpy, the stream it always was) or an
:class:`~rlsuite.common.backend.ArrayBackend` (its own generator: torch on the tables' device). Nothing here
reads a value back from the device (fixed shapes, masks instead of index lists).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.common.backend import ArrayBackend, drawing_from
from rlsuite.common.errors import UsageError
from rlsuite.envs.model import start_distribution
from rlsuite.envs.table import TableEnv

logger = logging.getLogger(__name__)


class RunsTogether:
    """A mixin of the agents that learn ``config.runs`` independent runs at once on a :class:`BatchSim`: they take
    ``device=`` (numpy, or torch on a device), and ``--device auto`` counts their runs as the env copies."""

    uses_device = True

    @classmethod
    def env_copies(cls, config: Any, env: Any) -> int:
        return int(config.runs)


@dataclass
class BatchSim:
    """An env's transitions as arrays [S, A, K] over its ``K`` outcomes per (s, a).

    Attributes:
        next_states, rewards, dones: each outcome's next state, reward, and whether it ends the episode.
        cum_probs: cumulative outcome probabilities (the last is 1).
        reward_std: [S, A] Gaussian noise added to the reward (0: none).
        start_probs: [S] distribution of the start state (host numpy always; ``start_cum``: its cumulative
            sums beside the tables).
        noisy: whether any reward has noise (known on the host: the torch path never asks the device).
    """

    next_states: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    cum_probs: np.ndarray
    reward_std: np.ndarray
    start_probs: np.ndarray
    start_cum: Any = None
    noisy: bool = False

    def __post_init__(self) -> None:
        if self.start_cum is None:
            self.start_cum = np.cumsum(self.start_probs)
        self.noisy = bool(np.any(self.reward_std)) if isinstance(self.reward_std, np.ndarray) else self.noisy
        self.n_states, self.n_actions = (int(n) for n in self.next_states.shape[:2])

    def to(self, backend: ArrayBackend) -> BatchSim:
        """This sim with its tables on ``backend`` (torch on a device: ``float32`` rewards and probabilities)."""
        return BatchSim(
            backend.asarray(self.next_states, "int64"), backend.asarray(self.rewards),
            backend.asarray(self.dones, "bool"), backend.asarray(self.cum_probs), backend.asarray(self.reward_std),
            self.start_probs, backend.asarray(np.cumsum(self.start_probs)), self.noisy,
        )  # fmt: skip

    @classmethod
    def of(cls, env: Any) -> BatchSim:
        """The sim of ``env`` (a table env, or one with ``P``); one line naming what is missing otherwise."""
        base = getattr(env, "unwrapped", env)
        if isinstance(base, TableEnv):
            S, A = base.next_state.shape
            std = np.zeros((S, A)) if base.reward_std is None else base.reward_std
            return cls(
                base.next_state[:, :, None],
                base.reward[:, :, None],
                base.terminal[base.next_state][:, :, None],
                np.ones((S, A, 1)),
                std,
                start_distribution(base),
            )
        P = getattr(base, "P", None)
        if P is None:
            name = env.spec.id if getattr(env, "spec", None) else type(base).__name__
            raise UsageError(
                f"{name}: has no tables to simulate (P); the S&B runs need rlsuite's table envs "
                "(rlsuite/RandomWalk-v0, WindyGridWorld-v0, MaximizationBias-v0, DynaMaze-v0, ...) or one with P "
                "(CliffWalking-v1, FrozenLake-v1, Taxi-v4)"
            )
        S, A = int(env.observation_space.n), int(env.action_space.n)
        K = max(len(P[s][a]) for s in range(S) for a in range(A))
        ns, rw, dn, pr = (np.zeros((S, A, K), dtype=t) for t in (np.int64, float, bool, float))
        for s in range(S):
            for a in range(A):
                for k, (p, s2, r, d) in enumerate(P[s][a]):
                    ns[s, a, k], rw[s, a, k], dn[s, a, k], pr[s, a, k] = s2, r, d, p
                ns[s, a, len(P[s][a]) :] = ns[s, a, 0]
        start = start_distribution(base)
        if start is None:  # an env that does not say: where its first reset puts it
            start = np.zeros(S)
            start[int(env.reset(seed=0)[0])] = 1.0
        cum = np.cumsum(pr, axis=2)
        cum[:, :, -1] = 1.0
        return cls(ns, rw, dn, cum, np.zeros((S, A)), start)

    def reset(self, runs: int, rng: np.random.Generator | ArrayBackend) -> Any:
        """Start states [runs], on the tables' backend."""
        backend = drawing_from(rng)
        if self.start_probs.max() == 1.0:
            return backend.zeros(runs, "int64") + int(self.start_probs.argmax())
        if backend.is_torch:  # inverse CDF of one uniform draw u per run: the sums <= u (none without mass at u = 0)
            return (backend.uniform((runs, 1)) >= self.start_cum).sum(1).clamp_max(self.n_states - 1)
        return backend.rng.choice(self.n_states, size=runs, p=self.start_probs)

    def step(self, s: Any, a: Any, rng: np.random.Generator | ArrayBackend) -> tuple[Any, Any, Any]:
        """One step of every run: ``(next states, rewards, episode ended)``, each [runs]."""
        backend = drawing_from(rng)
        if self.cum_probs.shape[2] == 1:  # deterministic
            s2, r, done = self.next_states[s, a, 0], self.rewards[s, a, 0], self.dones[s, a, 0]
        else:
            k = (backend.uniform(tuple(s.shape))[:, None] >= self.cum_probs[s, a]).sum(1)
            s2, r, done = self.next_states[s, a, k], self.rewards[s, a, k], self.dones[s, a, k]
        if self.noisy:
            std = self.reward_std[s, a]
            if backend.is_torch or std.any():  # numpy: draws only when a chosen pair is noisy
                r = r + std * backend.normal(tuple(s.shape))
        return s2, r, done


def random_argmax(q: Any, rng: np.random.Generator | ArrayBackend, allowed: Any = None) -> Any:
    """The argmax over the last axis, ties broken uniformly at random (as the book's agents do);
    ``allowed`` (same shape, bool) restricts the choice."""
    backend = drawing_from(rng)
    if allowed is not None:
        q = backend.where(allowed, q, -np.inf)
    best = q == backend.amax(q, -1, keepdims=True)
    return (backend.uniform(tuple(q.shape)) * best).argmax(-1)


def epsilon_greedy_actions(q: Any, epsilon: float, rng: np.random.Generator | ArrayBackend, allowed: Any = None) -> Any:
    """Epsilon-greedy actions of rows ``q`` [R, A]: uniform among the allowed with probability epsilon."""
    backend = drawing_from(rng)
    greedy = random_argmax(q, backend, allowed)
    uniform = random_argmax(backend.zeros(tuple(q.shape)), backend, allowed)
    return backend.where(backend.uniform((int(q.shape[0]),)) < epsilon, uniform, greedy)


ASK_GAP = 1024  # torch loops of unknown length ask the device whether they are done at most this far apart


def time_to_ask(backend: ArrayBackend, t: int) -> bool:
    """Whether a loop of unknown length asks at step ``t`` (0, 1, ...) whether all its runs are done: numpy at
    every step (reading costs nothing); torch only at t = 0, 1, 2, 4, 8, ... and then every :data:`ASK_GAP`
    steps (a host-device sync each: log2 of the length plus length / 1024 in all, never one per step; the
    steps taken after every run has ended are masked no-ops)."""
    return not backend.is_torch or t & (t - 1) == 0 or t % ASK_GAP == 0


@functools.cache
def numba_missing() -> str | None:
    """Why numba cannot be imported (logged once as a warning), or None when it can."""
    try:
        import numba  # noqa: F401
    except ImportError as exc:
        logger.warning("numba cannot be imported (%s): the tabular runs use their array code, the same numbers "
                       "but slower; `pip install numba` (a dependency of rlsuite) restores the compiled loops", exc)
        return str(exc)
    return None


def use_compiled(compiled: bool, backend: ArrayBackend) -> bool:
    """Whether a loop runs compiled (:mod:`rlsuite.agents.tabular.compiled`): asked for, on numpy, numba there."""
    return compiled and not backend.is_torch and numba_missing() is None
