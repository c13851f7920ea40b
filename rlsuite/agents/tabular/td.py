"""Temporal-difference learning (Zhao ch. 7): TD(0), Sarsa, Expected Sarsa, n-step Sarsa, Q-learning.

Many copies of the env step at once through the batched env; each batched step updates every
visited entry once by the mean TD error of that entry's samples in the batch (so a step size
``alpha`` means the same as in the one-sample rule). Episodes run in lockstep: all copies
restart together every ``episode_length`` steps from uniformly random states (exploring
starts over states, so every state keeps being visited on a continuing task).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

import numpy as np

from rlsuite.agents.base import History, epsilon_greedy, sample_actions
from rlsuite.agents.tabular.agent import TabularAgent
from rlsuite.agents.tabular.batch import (
    as_states,
    backend_of,
    make_batched,
    reset_to,
    start_states,
)
from rlsuite.agents.tabular.mc import check_below_episode_length, move_tables
from rlsuite.agents.tabular.solvers import greedy_policy, policy_evaluation
from rlsuite.common import progress
from rlsuite.common.backend import ArrayBackend
from rlsuite.common.config import Config, config_error, option
from rlsuite.common.device import to_numpy


@dataclass
class TDConfig(Config):
    """What the TD agents share; the defaults suit the book's 5x5 grid world."""

    SEARCH_SPACE: ClassVar[dict[str, dict[str, Any]]] = {
        "alpha": {"low": 0.02, "high": 0.5, "log": True}, "epsilon": {"low": 0.05, "high": 0.5},
        "episode_length": {"choices": [5, 10, 20, 50]}}  # fmt: skip

    gamma: float = option(0.9, help="discount factor", ge=0.0, le=1.0)
    alpha: float = option(0.1, help="step size at the start", gt=0.0, le=1.0)
    alpha_final: float = option(
        0.01, help="step size at the end of the budget (linear decay; = alpha for constant)", gt=0.0, le=1.0
    )
    epsilon: float = option(0.1, help="exploration of the epsilon-greedy behaviour policy", ge=0.0, le=1.0)
    num_envs: int = option(256, help="env copies stepped at once", ge=1)
    episode_length: int = option(10, help="steps between lockstep restarts from random states", ge=1)
    log_every: int = option(100, help="batched steps between history rows", ge=1)


@dataclass
class TD0Config(TDConfig):
    """TD(0) state-value prediction of a fixed policy."""

    policy: Literal["uniform", "optimal"] = option(
        "uniform", help="the policy evaluated: uniform random, or optimal (from value iteration)"
    )


@dataclass
class SarsaConfig(TDConfig):
    """Sarsa: on-policy TD control with an epsilon-greedy policy."""


@dataclass
class ExpectedSarsaConfig(TDConfig):
    """Expected Sarsa: the target averages q over the next action's policy."""


@dataclass
class NStepSarsaConfig(TDConfig):
    """n-step Sarsa: the target sums n rewards, then bootstraps."""

    n: int = option(3, help="steps before bootstrapping (below episode_length)", ge=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_below_episode_length(self, "n")


@dataclass
class QLearningConfig(TDConfig):
    """Q-learning: off-policy TD control toward the greedy policy."""

    behavior: Literal["epsilon_greedy", "uniform"] = option(
        "epsilon_greedy",
        help="behaviour policy: epsilon-greedy in q (on-policy version) or uniform random (off-policy)",
    )


Array: TypeAlias = Any  # a [num_envs] batch: a numpy array, or a torch tensor on the agent's device


def batch_update(table: Any, index: Any, delta: Any, live: Any, alpha: float) -> None:
    """``table[i] += alpha * mean(delta at i)`` for every distinct ``i`` in ``index`` where ``live`` (flat views;
    numpy or torch). Fixed shapes, no boolean indexing: no host-device sync on a GPU (``ArrayBackend.bincount``)."""
    backend = ArrayBackend.of(table)
    flat = table.reshape(-1)
    sums = backend.bincount(index, delta, flat.shape[0], live)
    counts = backend.bincount(index, None, flat.shape[0], live)
    flat += alpha * sums / counts.clip(min=1)  # entries not hit: sums 0, unchanged


class _TDAgent(TabularAgent):
    """The batched TD loop: lockstep episodes, one update per batched step. The budget counts env steps."""

    budget_unit = "steps"
    uses_device = True
    batches_env = True
    default_budget = 3_000_000
    alpha: float = 0.1

    def behaviour(self) -> np.ndarray:
        """The policy [S, A] that acts now."""
        return epsilon_greedy(self.q, self.config.epsilon)

    def update(self, s: Array, a: Array, r: Array, s2: Array, a2: Array, live: Array, term: Array) -> None:
        """One batched step's update from ``(s, a, r, s2, a2)`` per copy: ``live`` marks the copies still in
        their episode before the step, ``term`` those whose episode ended at this step (live ones only)."""
        raise NotImplementedError

    def begin_episode(self) -> None:
        """Called at each lockstep restart."""

    def learned_policy(self) -> np.ndarray:
        return epsilon_greedy(self.q, self.config.epsilon)

    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        budget = self.check_budget(budget)
        cfg = self.config
        venv = make_batched(self.env, cfg.num_envs, self.device)
        venv.reset(seed=seed)
        backend = backend_of(venv, seed)
        allowed = backend.asarray(start_states(self.env, self.n_states), dtype="int64")
        self.tables_to(backend)
        history = History()
        n_batches = max(1, budget // cfg.num_envs)
        s = backend.zeros(cfg.num_envs, dtype="int64")
        a = s
        all_live = backend.ones(cfg.num_envs, dtype="bool")
        live = all_live
        with progress.task(self.name, total=n_batches * cfg.num_envs, unit="step") as bar:
            for t in range(n_batches):
                self.alpha = cfg.alpha + (cfg.alpha_final - cfg.alpha) * t / max(1, n_batches - 1)
                if t % cfg.episode_length == 0:
                    s = reset_to(venv, backend.choice(allowed, (cfg.num_envs,)))
                    live = all_live
                    self.begin_episode()
                    a = sample_actions(self.behaviour(), s, backend)
                obs, r, term, _, _ = venv.step(a)
                s2 = as_states(venv, obs)
                term = backend.asarray(term, dtype="bool")
                a2 = sample_actions(self.behaviour(), s2, backend)
                self.update(s, a, backend.asarray(r), s2, a2, live, term & live)
                live = live & ~term
                s, a = s2, a2
                if (t + 1) % cfg.log_every == 0 or t + 1 == n_batches:
                    self.pi = self.learned_policy()
                    history.log(steps=(t + 1) * cfg.num_envs, **self.truth_metrics())
                bar.advance(cfg.num_envs)
        venv.close()
        self.pi = self.learned_policy()
        self.tables_to(None)
        return history

    def tables_to(self, backend: ArrayBackend | None) -> None:
        """Move ``q`` (and ``v``, ``pi``) onto ``backend`` for learning, or back to host numpy (None)."""
        move_tables(self, ("q", "v", "pi"), backend)


class Sarsa(_TDAgent):
    """Sarsa: ``q(s,a) += alpha [r + gamma q(s',a') - q(s,a)]``, a' from the epsilon-greedy policy."""

    config_cls = SarsaConfig
    name = "sarsa"

    def update(self, s: Array, a: Array, r: Array, s2: Array, a2: Array, live: Array, term: Array) -> None:
        target = r + self.config.gamma * self.q[s2, a2] * ~term
        batch_update(self.q, s * self.n_actions + a, target - self.q[s, a], live, self.alpha)


class ExpectedSarsa(_TDAgent):
    """Expected Sarsa: ``q(s,a) += alpha [r + gamma sum_a' pi(a'|s') q(s',a') - q(s,a)]``."""

    config_cls = ExpectedSarsaConfig
    name = "expected_sarsa"

    def update(self, s: Array, a: Array, r: Array, s2: Array, a2: Array, live: Array, term: Array) -> None:
        pi = self.behaviour()
        expected = (pi[s2] * self.q[s2]).sum(1)
        target = r + self.config.gamma * expected * ~term
        batch_update(self.q, s * self.n_actions + a, target - self.q[s, a], live, self.alpha)


class QLearning(_TDAgent):
    """Q-learning: ``q(s,a) += alpha [r + gamma max_a' q(s',a') - q(s,a)]``; learns the greedy policy."""

    config_cls = QLearningConfig
    name = "q_learning"

    def behaviour(self) -> np.ndarray:
        epsilon = 1.0 if self.config.behavior == "uniform" else self.config.epsilon
        return epsilon_greedy(self.q, epsilon)

    def learned_policy(self) -> np.ndarray:
        return epsilon_greedy(self.q, 0.0)  # greedy, ties toward the first action

    def update(self, s: Array, a: Array, r: Array, s2: Array, a2: Array, live: Array, term: Array) -> None:
        target = r + self.config.gamma * ArrayBackend.of(self.q).amax(self.q[s2], 1) * ~term
        batch_update(self.q, s * self.n_actions + a, target - self.q[s, a], live, self.alpha)


@dataclass
class Pending:
    """A step of every copy waiting for its n-step return (arrays [num_envs]): the state and action to
    update, the reward after them (0 where the copy had ended), whether the copy was live, and whether its
    episode has ended since (then the return does not bootstrap)."""

    s: Array
    a: Array
    r: Array
    live: Array
    ended: Array


class NStepSarsa(_TDAgent):
    """n-step Sarsa: the target ``r_t + ... + gamma^{n-1} r_{t+n-1} + gamma^n q(s_{t+n}, a_{t+n})``.

    Each copy keeps its last n (s, a, r); at each step the entry from n steps ago is updated.
    Entries whose episode terminated inside their window do not bootstrap; at a lockstep
    restart the pending entries are updated with the rewards they have and the last bootstrap.
    """

    config_cls = NStepSarsaConfig
    name = "n_step_sarsa"

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        super().__init__(env, config, device=device)
        self.buffer: deque[Pending] = deque()
        self._next: tuple[Array, Array] | None = None

    def _update_head(self, s2: Array, a2: Array) -> None:
        """Update the oldest pending entry from the rewards after it, bootstrapping at (s2, a2)."""
        g = 0.0
        for k, pending in enumerate(self.buffer):
            g += self.config.gamma**k * pending.r
        head = self.buffer.popleft()
        g += self.config.gamma ** (len(self.buffer) + 1) * self.q[s2, a2] * ~head.ended
        s0, a0, live0 = head.s, head.a, head.live
        batch_update(self.q, s0 * self.n_actions + a0, g - self.q[s0, a0], live0, self.alpha)

    def begin_episode(self) -> None:
        while self.buffer and self._next is not None:
            self._update_head(*self._next)
        self.buffer.clear()

    def update(self, s: Array, a: Array, r: Array, s2: Array, a2: Array, live: Array, term: Array) -> None:
        self.buffer.append(Pending(s, a, r * live, live & True, live & False))  # live copied; nothing ended yet
        for pending in self.buffer:
            pending.ended = pending.ended | term
        self._next = (s2, a2)
        if len(self.buffer) == self.config.n:
            self._update_head(s2, a2)


class TD0(_TDAgent):
    """TD(0) prediction: ``v(s) += alpha [r + gamma v(s') - v(s)]`` for a fixed policy.

    With an exact model the history records ``max |v - v_pi|`` against the exact ``v_pi``.
    """

    config_cls = TD0Config
    name = "td0"

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        super().__init__(env, config, device=device)
        self.v = np.zeros(self.n_states)
        if self.config.policy == "optimal":
            if self.q_star is None:
                raise config_error(self.config, "policy", "'optimal' needs an env with an exact model")
            self.pi = greedy_policy(self.q_star)
        self.v_pi = None if self.model is None else policy_evaluation(self.model, self.pi, self.gamma)

    def behaviour(self) -> np.ndarray:
        return self.pi

    def learned_policy(self) -> np.ndarray:
        return self.pi

    def value_estimate(self) -> np.ndarray:
        return to_numpy(self.v)

    def truth_metrics(self) -> dict[str, float]:
        if self.v_pi is None:
            return {}
        return {"value_error": float(np.max(np.abs(to_numpy(self.v) - self.v_pi)))}

    def update(self, s: Array, a: Array, r: Array, s2: Array, a2: Array, live: Array, term: Array) -> None:
        target = r + self.config.gamma * self.v[s2] * ~term
        batch_update(self.v, s, target - self.v[s], live, self.alpha)
