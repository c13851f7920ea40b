"""Episodic prediction (Sutton & Barto ch. 6-7): n-step TD (TD(0) at n = 1) and constant-alpha MC,
online or with batch updating, over many independent runs at once.

The policy evaluated is the uniform random one (the random walks' own process). Each run keeps its
own value table ``V`` [runs, S]; an episode is sampled for every run at once (:class:`BatchSim`),
then the updates are applied in the order the book's online algorithm makes them. ``V`` of a state
is updated from the return of the ``n`` steps after it, so the updates of one episode run in time
order ``tau = 0, 1, ...``, each bootstrapping from ``V`` as the earlier ones left it (n-step TD,
eq. 7.2 / the algorithm of section 7.1; TD(0), eq. 6.2, at n = 1; constant-alpha MC, eq. 6.1, when n
is past the episode's end).

Batch updating (section 6.3) repeats the increments over all episodes seen so far until ``V``
stops changing; its limit has a closed form, computed here directly: for MC the mean of the
returns that followed each state, for TD(0) the values of the maximum-likelihood model of the
observed transitions (certainty equivalence). States never visited keep their initial value.

Device (``device=`` in the constructor; ``rlsuite train --backend torch --device ...``): the runs' tables, the
sim and the episodes live on the :class:`~rlsuite.common.backend.ArrayBackend` (numpy, or torch on a device).
The steps of an episode never wait for the device: whether every run's episode has ended is asked at steps
1, 2, 4, 8, ... (:func:`~rlsuite.agents.tabular.sim.time_to_ask`), and the history row of each episode reads
its errors back once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.agents.base import History
from rlsuite.agents.tabular.agent import TabularAgent
from rlsuite.agents.tabular.sim import BatchSim, RunsTogether, time_to_ask, use_compiled
from rlsuite.agents.tabular.solvers import policy_evaluation
from rlsuite.common import progress
from rlsuite.common.backend import ArrayBackend, drawing_from
from rlsuite.common.config import Config, config_error, option
from rlsuite.common.device import to_numpy


@dataclass
class PredictionConfig(Config):
    """What n-step TD and constant-alpha MC share; the defaults are example 6.2's."""

    alpha: float = option(0.1, help="constant step size", gt=0.0, le=1.0)
    gamma: float = option(1.0, help="discount factor", ge=0.0, le=1.0)
    initial_value: float = option(0.5, help="V of every non-terminal state at the start (example 6.2: 0.5)")
    batch: bool = option(False, help="batch updating (S&B 6.3): V solves the batch's fixed point after each episode")
    runs: int = option(1, help="independent runs learned at once; the history averages them", ge=1)
    max_episode_steps: int = option(100_000, help="an episode still running after this many steps is cut", ge=1)


@dataclass
class NStepTDConfig(PredictionConfig):
    """n-step TD prediction (S&B 7.1); n = 1 is TD(0) (S&B 6.1)."""

    n: int = option(1, help="steps summed before bootstrapping (1: TD(0))", ge=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.batch and self.n != 1:
            raise config_error(self, "batch", f"batch updating is TD(0)'s (n = 1) or MC's, not n = {self.n}")


@dataclass
class ConstantAlphaMCConfig(PredictionConfig):
    """Constant-alpha (every-visit) Monte Carlo prediction (S&B eq. 6.1)."""

    alpha: float = option(0.02, help="constant step size", gt=0.0, le=1.0)


@dataclass
class Episodes:
    """Sampled episodes of many runs: ``states`` [T + 1, R] (state after the end repeats), ``rewards`` [T, R],
    ``lengths`` [R] (steps of each run's episode); numpy arrays or torch tensors (torch: ``T`` may run past the
    longest episode, the steps after each run's end repeating its last state with reward 0)."""

    states: Any
    rewards: Any
    lengths: Any


def sample_episodes(
    sim: BatchSim, policy: Any, runs: int, rng: np.random.Generator | ArrayBackend, max_steps: int = 100_000,
    compiled: bool = True,
) -> Episodes:
    """One episode per run under ``policy`` [S, A], all runs stepped together until each has ended (on the
    backend ``rng`` draws from: a numpy ``Generator``, or an :class:`ArrayBackend` and the sim on its device).
    numpy runs go through the compiled loop (:mod:`rlsuite.agents.tabular.compiled`; the same draws and episodes
    bit for bit as the array code below, which ``compiled=False`` runs)."""
    backend = drawing_from(rng)
    if use_compiled(compiled, backend):
        from rlsuite.agents.tabular import compiled as kernels

        cum = np.ascontiguousarray(np.cumsum(policy, axis=-1), dtype=float)
        tables, start, cdf = kernels.sim_tables(sim), kernels.start_of(sim), kernels.start_cdf(sim)
        return Episodes(*kernels.sample_episodes(tables, start, cdf, cum, runs, max_steps, backend.rng))
    s = sim.reset(runs, backend)
    cum = backend.cumsum(policy)
    states, rewards = [s], []
    live = backend.ones(runs, "bool")
    lengths = backend.zeros(runs, "int64")
    for t in range(max_steps):
        a = (backend.uniform((runs,))[:, None] >= cum[s]).sum(1).clip(max=sim.n_actions - 1)
        s2, r, done = sim.step(s, a, backend)
        s = backend.where(live, s2, s)
        rewards.append(backend.where(live, r, 0.0))
        states.append(s)
        lengths += live
        live &= ~done
        if time_to_ask(backend, t) and not bool(live.any()):
            break
    return Episodes(backend.stack(states), backend.stack(rewards), lengths)


def _partial_returns(backend: ArrayBackend, rewards: Any, gamma: float) -> tuple[Any, Any]:
    """``(disc [T + 1], C [T + 1, R])``: ``disc[t] = gamma^t`` and ``C[t] = sum_{k < t} gamma^k r_k``, so that an
    n-step sum of rewards is a difference of two rows of C."""
    T, R = rewards.shape
    disc = backend.asarray(gamma ** np.arange(T + 1))
    return disc, backend.concat([backend.zeros((1, R)), (rewards * disc[:T, None]).cumsum(0)])


def n_step_updates(V: Any, ep: Episodes, n: int | None, alpha: Any, gamma: float, compiled: bool = True) -> None:
    """Apply one episode's n-step TD updates to ``V`` [R, S] in place, in time order (``n=None``: MC).

    The update of time ``tau`` (S&B 7.1): ``G = r_{tau+1} + ... + gamma^{n-1} r_{tau+n} + gamma^n V(S_{tau+n})``
    (no bootstrap past the end), ``V(S_tau) += alpha [G - V(S_tau)]``. ``alpha`` may differ per run ([R]).
    numpy tables go through the compiled loop (the same values bit for bit; ``compiled=False``: the array code).
    """
    backend = ArrayBackend.of(V)
    T, R = ep.rewards.shape
    if use_compiled(compiled, backend) and V.flags.c_contiguous and V.dtype == np.float64:
        from rlsuite.agents.tabular import compiled as kernels

        states, rewards = np.ascontiguousarray(ep.states, np.int64), np.ascontiguousarray(ep.rewards, float)
        alphas = np.broadcast_to(np.asarray(alpha, float), (R,)).copy()
        kernels.n_step_updates(V, states, np.asarray(ep.lengths, np.int64), rewards, gamma ** np.arange(T + 1),
                               -1 if n is None else int(n), alphas)
        return
    rows = backend.arange(R)
    disc, C = _partial_returns(backend, ep.rewards, gamma)
    alpha = backend.broadcast(backend.asarray(alpha), R)
    for tau in range(T):
        live = tau < ep.lengths
        if not backend.maybe_any(live):
            break
        end = ep.lengths if n is None else ep.lengths.clip(max=tau + n)
        G = (C[end, rows] - C[tau]) / disc[tau]
        boot = end < ep.lengths  # S_{tau+n} is not terminal: bootstrap from it
        G = G + backend.where(boot, disc[(end - tau).clip(max=T)] * V[rows, ep.states[end.clip(max=T), rows]], 0.0)
        s = ep.states[tau]
        V[rows, s] += backend.where(live, alpha * (G - V[rows, s]), 0.0)


class BatchFixedPoint:
    """The sufficient statistics of all episodes so far, per run, and the batch-updating limit of V (on the
    backend of ``initial``)."""

    def __init__(self, runs: int, n_states: int, initial: Any, terminal: np.ndarray, gamma: float) -> None:
        backend = self.backend = ArrayBackend.of(initial)
        self.counts = backend.zeros((runs, n_states))
        self.return_sums = backend.zeros((runs, n_states))
        self.transitions = backend.zeros((runs, n_states, n_states))
        self.reward_sums = backend.zeros((runs, n_states))
        self.initial, self.terminal, self.gamma = initial, backend.asarray(terminal, "bool"), gamma

    def add(self, ep: Episodes) -> None:
        backend = self.backend
        T, R = ep.rewards.shape
        S = self.counts.shape[1]
        live = backend.arange(T)[:, None] < ep.lengths[None, :]
        disc, C = _partial_returns(backend, ep.rewards, self.gamma)
        G = (C[ep.lengths, backend.arange(R)][None, :] - C[:T]) / disc[:T, None]  # return after each time step
        at = backend.arange(R)[None, :] * S + ep.states[:T]  # (run, s) flat, [T, R]
        backend.add_at(self.counts, at, None, live)
        backend.add_at(self.return_sums, at, G, live)
        backend.add_at(self.transitions, at * S + ep.states[1:], None, live)
        backend.add_at(self.reward_sums, at, ep.rewards, live)

    def mc(self) -> Any:
        """Batch MC's limit: the mean return after each visited state."""
        seen = self.counts > 0
        return self.backend.where(seen, self.return_sums / self.counts.clip(min=1), self.initial)

    def td(self) -> Any:
        """Batch TD(0)'s limit: ``V = r_hat + gamma P_hat V`` of the empirical model, on the visited states."""
        backend = self.backend
        S = self.counts.shape[1]
        seen = (self.counts > 0) & ~self.terminal
        P_hat = self.transitions / self.counts.clip(min=1)[:, :, None] * ~self.terminal  # a terminal state's value is 0
        r_hat = self.reward_sums / self.counts.clip(min=1)
        eye = backend.asarray(np.eye(S))
        A = backend.where(seen[:, :, None], eye - self.gamma * P_hat, eye)
        b = backend.where(seen, r_hat, backend.where(self.terminal, 0.0, self.initial))
        solve = backend.torch.linalg.solve if backend.is_torch else np.linalg.solve
        return solve(A, b[:, :, None])[:, :, 0]


class _EpisodicPrediction(RunsTogether, TabularAgent):
    """Prediction of the uniform random policy's values over ``runs`` runs; the budget counts episodes.

    ``v`` after learning is the mean of the runs' tables; the history has one row per episode (and
    one before the first) with ``rms_error``, the RMS over non-terminal states of ``V - v_pi`` averaged
    over runs, and ``value_error`` (max over states of the mean table's error), against the exact
    ``v_pi`` from the env's model.
    """

    budget_unit = "episodes"
    default_budget = 100
    default_env = "rlsuite/RandomWalk-v0"
    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        super().__init__(env, config, device=device)
        self.sim = BatchSim.of(env)
        self.terminal = np.asarray(getattr(env.unwrapped, "terminal", np.zeros(self.n_states, dtype=bool)))
        self.v_pi = None if self.model is None else policy_evaluation(self.model, self.pi, self.gamma)
        self.v = np.where(self.terminal, 0.0, self.config.initial_value)
        self.tables = np.tile(self.v, (self.config.runs, 1))

    def horizon(self) -> int | None:
        """Steps before bootstrapping: n for n-step TD, None for MC."""
        raise NotImplementedError

    def rms_errors(self) -> np.ndarray:
        """[runs] RMS error over the non-terminal states of each run's table."""
        assert self.v_pi is not None
        diff = (to_numpy(self.tables) - self.v_pi)[:, ~self.terminal]
        return np.sqrt((diff**2).mean(axis=1))

    def value_estimate(self) -> np.ndarray:
        return to_numpy(self.tables).mean(axis=0)

    def truth_metrics(self) -> dict[str, float]:
        if self.v_pi is None:
            return {}
        return {
            "rms_error": float(self.rms_errors().mean()),
            "value_error": float(np.max(np.abs(self.value_estimate() - self.v_pi))),
        }

    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        budget = self.check_budget(budget)
        cfg = self.config
        backend = ArrayBackend(self.device)
        backend.seed(np.random.default_rng(seed))  # numpy: draws from this Generator itself
        sim, pi = self.sim.to(backend), backend.asarray(self.pi)
        history = History()
        history.log(episodes=0, **self.truth_metrics())
        self.tables = backend.asarray(self.tables)
        fixed = BatchFixedPoint(cfg.runs, self.n_states, backend.copy(self.tables), self.terminal, self.gamma)
        with progress.task(self.name, total=budget, unit="episode") as bar:
            for episode in range(1, budget + 1):
                ep = sample_episodes(sim, pi, cfg.runs, backend, cfg.max_episode_steps)
                if cfg.batch:
                    fixed.add(ep)
                    self.tables = fixed.mc() if self.horizon() is None else fixed.td()
                else:
                    n_step_updates(self.tables, ep, self.horizon(), cfg.alpha, self.gamma)
                history.log(episodes=episode, **self.truth_metrics())
                bar.advance()
        self.tables = to_numpy(self.tables).astype(np.float64)
        self.v = self.value_estimate()
        return history

    def arrays(self) -> dict[str, Any]:
        return {**super().arrays(), "tables": self.tables}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super().set_arrays(arrays)
        self.tables = arrays["tables"].astype(np.float64)


class NStepTD(_EpisodicPrediction):
    """n-step TD prediction (S&B 7.1, eq. 7.2); TD(0) (eq. 6.2) at n = 1, optionally with batch updating."""

    config_cls = NStepTDConfig
    name = "n_step_td"

    def horizon(self) -> int | None:
        return int(self.config.n)


class ConstantAlphaMC(_EpisodicPrediction):
    """Constant-alpha every-visit MC prediction, ``V(S_t) += alpha [G_t - V(S_t)]`` (S&B eq. 6.1)."""

    config_cls = ConstantAlphaMCConfig
    name = "constant_alpha_mc"

    def horizon(self) -> int | None:
        return None
