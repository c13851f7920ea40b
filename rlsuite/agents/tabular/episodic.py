"""Episodic TD control over many independent runs at once (Sutton & Barto ch. 6): Sarsa, Expected
Sarsa, Q-learning and Double Q-learning, one Q table per run, every run stepping its own episodes.

The book's chapter 6 figures average tens to thousands of runs of a few hundred episodes each;
:func:`episodic_control` runs them in lockstep in numpy (each run starts its next episode as soon
as its last one ends), with ties of the greedy action broken at random as the book's agents do;
or in torch on a device (``DoubleQLearning(env, config, device=...)``), with the same updates and no
host-device sync per step.
:class:`DoubleQLearning` is the agent of ``rlsuite train double_q_learning``; Sarsa, Expected
Sarsa and Q-learning have their agents in :mod:`rlsuite.agents.tabular.td`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rlsuite.agents.base import History, redefault
from rlsuite.agents.tabular.agent import TabularAgent
from rlsuite.agents.tabular.sim import (
    BatchSim,
    RunsTogether,
    epsilon_greedy_actions,
    random_argmax,
    time_to_ask,
    use_compiled,
)
from rlsuite.agents.tabular.stream import EpisodicTDConfig
from rlsuite.common import progress
from rlsuite.common.backend import ArrayBackend, drawing_from
from rlsuite.common.config import option
from rlsuite.common.device import to_numpy

Method = Literal["sarsa", "expected_sarsa", "q_learning", "double_q"]


@dataclass
class ControlRuns:
    """What :func:`episodic_control` returns: per episode and run [E, R] the ``returns`` (sum of rewards),
    ``lengths`` (steps) and ``first_actions``; the final tables ``q`` [R, S, A] (Double Q: the mean of its two)."""

    returns: np.ndarray
    lengths: np.ndarray
    first_actions: np.ndarray
    q: np.ndarray


def allowed_actions(env: Any) -> np.ndarray | None:
    """[S, A] the actions each state offers (the maximization-bias MDP's A has 2 of B's 10), or None: all."""
    return getattr(getattr(env, "unwrapped", env), "allowed_actions", None)


def _expected_value(q: Any, epsilon: float, allowed: Any, backend: ArrayBackend) -> Any:
    """``sum_a pi(a|s') q(s', a)`` of the epsilon-greedy policy (greedy mass shared among tied maxima), rows [R, A]."""
    ok = backend.ones(tuple(q.shape), "bool") if allowed is None else allowed
    qm = backend.where(ok, q, -np.inf)
    best = (qm == backend.amax(qm, 1, keepdims=True)) & ok
    pi = epsilon * ok / ok.sum(1)[:, None] + (1 - epsilon) * best / best.sum(1)[:, None]
    return (pi * backend.where(ok, q, 0.0)).sum(1)


def episodic_control(
    sim: BatchSim,
    method: Method,
    runs: int,
    episodes: int,
    alpha: float | np.ndarray,
    epsilon: float,
    gamma: float,
    rng: np.random.Generator | ArrayBackend,
    allowed: np.ndarray | None = None,
    max_episode_steps: int = 100_000,
    compiled: bool = True,
) -> ControlRuns:
    """``runs`` independent learners of ``method`` for ``episodes`` episodes each, epsilon-greedy.

    Updates (S&B): Sarsa ``Q(S,A) += alpha [R + gamma Q(S',A') - Q(S,A)]`` (6.7); Expected Sarsa with
    ``sum_a pi(a|S') Q(S',a)`` (6.9); Q-learning with ``max_a Q(S',a)`` (6.8); Double Q-learning
    (6.10): a fair coin picks the table updated, whose argmax at S' the other table evaluates; it
    acts epsilon-greedily in Q1 + Q2. ``alpha`` may differ per run ([runs]: a parameter study in one go).
    An episode still running after ``max_episode_steps`` steps is cut (no bootstrap cut-off is applied).

    ``rng``: a numpy ``Generator`` (numpy arrays), or an :class:`ArrayBackend` (torch on its device: tables,
    sim and records there; the steps never wait for the device, :func:`~rlsuite.agents.tabular.sim.time_to_ask`).
    numpy runs go through the numba-compiled loop (:mod:`rlsuite.agents.tabular.compiled`): the same updates from
    the same draws, so the same numbers bit for bit as the array code below, which ``compiled=False`` runs.
    """
    backend = drawing_from(rng)
    if use_compiled(compiled, backend):
        from rlsuite.agents.tabular import compiled as kernels

        out = kernels.control(
            kernels.sim_tables(sim), kernels.start_of(sim), kernels.start_cdf(sim),
            np.ones((sim.n_states, sim.n_actions), bool) if allowed is None else np.asarray(allowed, bool),
            kernels.METHODS[method], runs, episodes, np.broadcast_to(np.asarray(alpha, float), (runs,)).copy(),
            float(epsilon), float(gamma), int(max_episode_steps), backend.rng,
        )  # fmt: skip
        return ControlRuns(*out)
    sim = sim.to(backend)
    S, A = sim.n_states, sim.n_actions
    rows = backend.arange(runs)
    alpha = backend.broadcast(backend.asarray(alpha), runs)
    ok = None if allowed is None else backend.asarray(allowed, "bool")
    q1 = backend.zeros((runs, S, A))
    q2 = backend.zeros((runs, S, A)) if method == "double_q" else None

    def act(s: Any) -> Any:
        q = q1[rows, s] if q2 is None else q1[rows, s] + q2[rows, s]
        return epsilon_greedy_actions(q, epsilon, backend, None if ok is None else ok[s])

    returns = backend.zeros((episodes, runs))
    lengths = backend.zeros((episodes, runs), "int64")
    firsts = backend.zeros((episodes, runs), "int64")
    done_eps = backend.zeros(runs, "int64")
    ret = backend.zeros(runs)
    steps = backend.zeros(runs, "int64")
    s = sim.reset(runs, backend)
    a = act(s)
    firsts[0] = a
    t = 0
    while True:
        live = done_eps < episodes
        if time_to_ask(backend, t) and not bool(live.any()):
            break
        t += 1
        s2, r, done = sim.step(s, a, backend)
        ret += r
        steps += 1
        on_policy = method in ("sarsa", "expected_sarsa")
        a2 = act(s2) if on_policy else None
        nxt_ok = None if ok is None else ok[s2]
        if method == "sarsa":
            boot = q1[rows, s2, a2]
        elif method == "expected_sarsa":
            boot = _expected_value(q1[rows, s2], epsilon, nxt_ok, backend)
        elif method == "q_learning":
            boot = backend.amax(q1[rows, s2] if nxt_ok is None else backend.where(nxt_ok, q1[rows, s2], -np.inf), 1)
        else:
            assert q2 is not None
            first = backend.uniform((runs,)) < 0.5  # update Q1 (evaluated by Q2), else Q2 (evaluated by Q1)
            upd = backend.where(first[:, None], q1[rows, s2], q2[rows, s2])
            other = backend.where(first[:, None], q2[rows, s2], q1[rows, s2])
            boot = other[rows, random_argmax(upd, backend, nxt_ok)]
        target = r + gamma * backend.where(done, 0.0, boot)
        if q2 is None:
            q1[rows, s, a] += backend.where(live, alpha * (target - q1[rows, s, a]), 0.0)
        else:
            for table, mine in ((q1, first), (q2, ~first)):
                table[rows, s, a] += backend.where(live & mine, alpha * (target - table[rows, s, a]), 0.0)
        if a2 is None:
            a2 = act(s2)
        ended = live & (done | (steps >= max_episode_steps))
        if backend.maybe_any(ended):  # torch: always, with masks (numpy draws nothing when no episode ended)
            e = done_eps.clip(max=episodes - 1)  # the episode that ended (runs that are done: masked)
            returns[e, rows] = backend.where(ended, ret, returns[e, rows])
            lengths[e, rows] = backend.where(ended, steps, lengths[e, rows])
            done_eps += ended
            ret, steps = backend.where(ended, 0.0, ret), backend.where(ended, 0, steps)
            s2 = backend.where(ended, sim.reset(runs, backend), s2)
            a2 = backend.where(ended, act(s2), a2)
            again = ended & (done_eps < episodes)
            e = done_eps.clip(max=episodes - 1)
            firsts[e, rows] = backend.where(again, a2, firsts[e, rows])
        s, a = s2, a2
    q = q1 if q2 is None else (q1 + q2) / 2
    return ControlRuns(returns, lengths, firsts, q)


@dataclass
class DoubleQLearningConfig(EpisodicTDConfig):
    """Double Q-learning (S&B 6.7; it acts epsilon-greedily in Q1 + Q2); the defaults are example 6.7's."""

    gamma: float = redefault(EpisodicTDConfig, "gamma", 1.0)
    runs: int = option(1, help="independent runs learned at once; the history averages them", ge=1)


class DoubleQLearning(RunsTogether, TabularAgent):
    """Double Q-learning (S&B eq. 6.10) over ``runs`` runs; the budget counts episodes.

    ``q`` after learning is the mean over runs of ``(Q1 + Q2) / 2``; the history has one row per episode:
    the mean return and length over runs, and the share of runs whose first action was 1 (the
    maximization-bias MDP's "left").
    """

    config_cls = DoubleQLearningConfig
    name = "double_q_learning"
    budget_unit = "episodes"
    default_budget = 300
    default_env = "rlsuite/MaximizationBias-v0"
    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        budget = self.check_budget(budget)
        cfg = self.config
        backend = ArrayBackend(self.device)
        backend.seed(np.random.default_rng(seed))  # numpy: draws from this Generator itself
        with progress.task(self.name, total=budget, unit="episode"):
            out = episodic_control(
                BatchSim.of(self.env), "double_q", cfg.runs, budget, cfg.alpha, cfg.epsilon, self.gamma,
                backend, allowed_actions(self.env), cfg.max_episode_steps,
            )  # fmt: skip
        out = ControlRuns(*(to_numpy(x) for x in (out.returns, out.lengths, out.first_actions, out.q)))
        self.q = out.q.astype(np.float64).mean(axis=0)
        ok = allowed_actions(self.env)
        self.pi = np.eye(self.n_actions)[np.where(ok if ok is not None else True, self.q, -np.inf).argmax(axis=1)]
        history = History()
        for e in range(budget):
            history.log(
                episodes=e + 1,
                mean_return=float(out.returns[e].mean()),
                mean_length=float(out.lengths[e].mean()),
                first_action_1=float((out.first_actions[e] == 1).mean()),
            )
        return history
