"""Planning and learning with tabular models (Sutton & Barto ch. 8): Dyna-Q, Dyna-Q+, prioritized
sweeping, and the experiments of figures 8.7 (expected vs sample updates) and 8.8 (trajectory sampling).

:func:`dyna_runs` runs many independent Dyna learners in lockstep, in numpy or in torch on a device (one Q
table and one model per run, no host-device sync per step); Dyna-Q+ is the same loop with an exploration
bonus ``kappa * sqrt(tau)`` on the modelled reward of a pair last tried ``tau`` steps ago, and with the
untried actions of a visited state in its model (leading back to the state with reward 0), as in the book's
figure 8.4-8.5 experiments. Prioritized sweeping keeps one priority queue per learner and runs one learner
at a time (:class:`PrioritizedSweepingLearner`): it is inherently sequential on the host (each planning
update pops the queue's top pair, and what it pushes depends on the values that update wrote), so it runs
in numpy only and refuses a torch device (:data:`HOST_ONLY`).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.agents.base import History
from rlsuite.agents.tabular.agent import TabularAgent
from rlsuite.agents.tabular.sim import BatchSim, RunsTogether, epsilon_greedy_actions, time_to_ask, use_compiled
from rlsuite.common import progress
from rlsuite.common.backend import ArrayBackend, drawing_from
from rlsuite.common.config import Config, option
from rlsuite.common.device import to_numpy
from rlsuite.common.errors import UsageError


@dataclass
class DynaRuns:
    """What :func:`dyna_runs` returns: ``rewards`` [T, R] per real step (0 after a run stopped),
    ``lengths`` [E, R] steps of each episode (0 for episodes not played), ``steps`` [R] real steps of each
    run, ``q`` [R, S, A]."""

    rewards: np.ndarray
    lengths: np.ndarray
    steps: np.ndarray
    q: np.ndarray


def dyna_runs(
    schedule: list[tuple[int, BatchSim]],
    runs: int,
    planning_steps: int,
    alpha: float,
    gamma: float,
    epsilon: float,
    rng: np.random.Generator | ArrayBackend,
    kappa: float | np.ndarray = 0.0,
    total_steps: int | None = None,
    episodes: int | None = None,
    stop: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    compiled: bool = True,
) -> DynaRuns:
    """``runs`` Dyna-Q learners (tabular Dyna-Q, S&B section 8.2), stepped together.

    Each real step: act epsilon-greedily (ties at random), Q-learning update (d), record the transition in
    the model (e), then ``planning_steps`` times update a (state, action) pair drawn from the model: a
    visited state uniformly, then one of its modelled actions uniformly (f). Runs with ``kappa > 0``
    ([runs] or one value) are Dyna-Q+ (section 8.3): their planning reward is ``r + kappa sqrt(tau)``.

    Args:
        schedule: ``[(from_step, sim), ...]``: the env from each step on (a maze that changes), sorted.
        total_steps / episodes: stop after this many real steps, or when each run has played this many
            episodes (or ``stop(q, runs_just_ended)`` says so at the end of one of its episodes: a bool
            mask over the runs given).
        compiled: numpy runs go through the compiled loop (:mod:`rlsuite.agents.tabular.compiled`: the same numbers
            bit for bit); False runs the array code below (what torch runs).
    """
    if (total_steps is None) == (episodes is None):
        raise ValueError("give exactly one of total_steps and episodes")
    backend = drawing_from(rng)
    if use_compiled(compiled, backend):
        from rlsuite.agents.tabular import compiled as kernels

        kappa_runs = np.array(np.broadcast_to(np.asarray(kappa, dtype=float), (runs,)))
        return DynaRuns(*kernels.run_dyna(schedule, runs, planning_steps, alpha, gamma, epsilon, backend.rng,
                                          kappa_runs, total_steps, episodes, stop))  # fmt: skip
    schedule = [(start, later.to(backend)) for start, later in schedule]
    sim = schedule[0][1]
    S, A = sim.n_states, sim.n_actions
    rows = backend.arange(runs)
    kappa_host = np.array(np.broadcast_to(np.asarray(kappa, dtype=float), (runs,)))
    bonus = bool((kappa_host > 0).any())  # known on the host
    kappa, plus = backend.asarray(kappa_host), backend.asarray(kappa_host > 0, "bool")
    q = backend.zeros((runs, S, A))
    m_next = backend.zeros((runs, S, A), "int64")
    m_rew = backend.zeros((runs, S, A))
    m_time = backend.zeros((runs, S, A))
    known = backend.zeros((runs, S, A), "bool")
    seen = backend.zeros((runs, S), "bool")
    seen_list = backend.zeros((runs, S), "int64")
    n_seen = backend.zeros(runs, "int64")
    horizon = total_steps if total_steps is not None else 10**9
    rewards: list[Any] = []
    E = episodes or 1
    lengths = backend.zeros((E, runs), "int64")
    ep_done = backend.zeros(runs, "int64")
    ep_steps = backend.zeros(runs, "int64")
    active = backend.ones(runs, "bool")
    real_steps = backend.zeros(runs, "int64")
    base = rows * S
    q_flat, q_rows, known_rows = q.reshape(-1), q.reshape(runs * S, A), known.reshape(runs * S, A)
    seen_flat, m_next_flat = seen_list.reshape(-1), m_next.reshape(-1)
    m_rew_flat, m_time_flat = m_rew.reshape(-1), m_time.reshape(-1)
    s = sim.reset(runs, backend)
    t = 0
    # total_steps without stop: every run stays active, nothing to ask the device
    ask = episodes is not None or stop is not None
    while t < horizon and not (ask and time_to_ask(backend, t) and not bool(active.any())):
        for start, later in schedule:
            if start == t:
                sim = later
        a = epsilon_greedy_actions(q[rows, s], epsilon, backend)
        s2, r, done = sim.step(s, a, backend)
        t += 1
        # (d) direct RL: one-step Q-learning
        target = r + gamma * backend.where(done, 0.0, backend.amax(q[rows, s2], 1))
        q[rows, s, a] += backend.where(active, alpha * (target - q[rows, s, a]), 0.0)
        # (e) model learning; Dyna-Q+ puts a newly seen state's untried actions in its model
        new = active & ~seen[rows, s]
        slot = n_seen.clip(max=S - 1)  # a new state's place in the run's list (others: written back unchanged)
        seen_list[rows, slot] = backend.where(new, s, seen_list[rows, slot])
        n_seen += new
        seen[rows, s] = seen[rows, s] | new
        fresh = (new & plus)[:, None]
        known[rows, s] = known[rows, s] | fresh
        m_next[rows, s] = backend.where(fresh, s[:, None], m_next[rows, s])
        m_rew[rows, s] = backend.where(fresh, 0.0, m_rew[rows, s])
        m_time[rows, s] = backend.where(fresh, 1.0, m_time[rows, s])  # the reference's minimum time stamp
        known[rows, s, a] = known[rows, s, a] | active
        m_next[rows, s, a] = backend.where(active, s2, m_next[rows, s, a])
        m_rew[rows, s, a] = backend.where(active, r, m_rew[rows, s, a])
        m_time[rows, s, a] = backend.where(active, float(t), m_time[rows, s, a])
        # (f) planning, on flat views of the tables (one fancy index per array)
        step_size = alpha * active
        u, ua = backend.uniform((planning_steps, runs)), backend.uniform((planning_steps, runs, A))
        for k in range(planning_steps):
            ps = seen_flat[base + backend.as_index(u[k] * n_seen)]
            pa = (ua[k] * known_rows[base + ps]).argmax(1)  # a modelled action, uniformly
            i = (base + ps) * A + pa
            pr = m_rew_flat[i]
            if bonus:
                pr = pr + kappa * backend.sqrt((t - m_time_flat[i]).clip(min=0.0))
            ptarget = pr + gamma * backend.amax(q_rows[base + m_next_flat[i]], 1)
            q_flat[i] += step_size * (ptarget - q_flat[i])
        rewards.append(backend.where(active, r, 0.0))
        ep_steps += active
        real_steps += active
        s = s2
        ended = active & done
        if backend.maybe_any(ended):  # torch: always, with masks (numpy draws nothing when no episode ended)
            if episodes is not None:
                e = ep_done.clip(max=E - 1)
                lengths[e, rows] = backend.where(ended, ep_steps, lengths[e, rows])
            ep_done += ended
            ep_steps = backend.where(ended, 0, ep_steps)
            s = backend.where(ended, sim.reset(runs, backend), s)
            if episodes is not None:
                active &= ep_done < episodes
            if stop is not None:  # a host callback: reads the runs that ended (numpy; a sync on torch)
                idx = rows[ended]
                active[idx] &= ~stop(q[idx], idx)
    return DynaRuns(backend.stack(rewards), lengths, real_steps, q)


def greedy_path_ok(next_state: np.ndarray, terminal: np.ndarray, start: int, q: np.ndarray, limit: float) -> np.ndarray:
    """[R] whether the greedy policy of each ``q`` [R, S, A] (ties to the first action) walks from ``start``
    to a terminal state of the deterministic ``next_state`` [S, A] within ``limit`` steps (example 8.4's test:
    ``limit`` = 1.2 x the shortest path)."""
    R = q.shape[0]
    rows = np.arange(R)
    s = np.full(R, start)
    arrived = terminal[s].copy()
    for _ in range(int(limit)):
        s = np.where(arrived, s, next_state[s, q[rows, s].argmax(axis=1)])
        arrived |= terminal[s]
    return arrived


class PrioritizedSweepingLearner:
    """Prioritized sweeping for a deterministic env (S&B section 8.4), one learner.

    Each real step: Q-learning's priority ``P = |R + gamma max_a Q(S', a) - Q(S, A)|`` puts (S, A) in the
    queue when ``P > theta``; then up to ``planning_steps`` times the first pair of the queue is updated
    and each modelled predecessor (S-, A-) of its state is queued with its own priority. Counts updates
    (``backups``: one per real step plus one per planning update), as example 8.4 does.
    """

    def __init__(self, n_states: int, n_actions: int, planning_steps: int, alpha: float, gamma: float,
                 epsilon: float, theta: float) -> None:  # fmt: skip
        # Q as lists of Python floats: one learner's scalar updates cost a tenth of numpy's per-call overhead
        # (the same IEEE arithmetic, so the same numbers)
        self.rows: list[list[float]] = [[0.0] * n_actions for _ in range(n_states)]
        self.model: dict[tuple[int, int], tuple[int, float]] = {}
        self.predecessors: dict[int, set[tuple[int, int]]] = {}
        self.queue: list[list[Any]] = []
        self.entries: dict[tuple[int, int], list[Any]] = {}
        self.counter = 0
        self.n, self.alpha, self.gamma, self.epsilon, self.theta = planning_steps, alpha, gamma, epsilon, theta
        self.backups = 0

    @property
    def q(self) -> np.ndarray:
        """Q [S, A], a fresh array."""
        return np.array(self.rows)

    def _push(self, priority: float, pair: tuple[int, int]) -> None:
        """Queue ``pair`` (replacing its queued entry, as the reference's queue does) when ``priority > theta``."""
        if priority > self.theta:
            old = self.entries.pop(pair, None)
            if old is not None:
                old[2] = None  # removed: skipped when popped
            self.counter += 1
            entry: list[Any] = [-priority, self.counter, pair]
            self.entries[pair] = entry
            heapq.heappush(self.queue, entry)

    def _pop(self) -> tuple[int, int] | None:
        while self.queue:
            pair = heapq.heappop(self.queue)[2]
            if pair is not None:
                del self.entries[pair]
                return pair
        return None

    def step(self, s: int, a: int, r: float, s2: int, done: bool) -> None:
        """Learn from one real transition and plan."""
        q = self.rows
        self.model[(s, a)] = (s2, r)
        self.predecessors.setdefault(s2, set()).add((s, a))
        self._push(abs(r + self.gamma * max(q[s2]) * (not done) - q[s][a]), (s, a))
        k = 0
        while k < self.n and (pair := self._pop()) is not None:
            ps, pa = pair
            ns, pr = self.model[(ps, pa)]
            q[ps][pa] += self.alpha * (pr + self.gamma * max(q[ns]) - q[ps][pa])
            for bs, ba in self.predecessors.get(ps, ()):
                self._push(abs(self.model[(bs, ba)][1] + self.gamma * max(q[ps]) - q[bs][ba]), (bs, ba))
            k += 1
        self.backups += k + 1

    def act(self, s: int, rng: np.random.Generator) -> int:
        """``epsilon_greedy_actions`` of one row, from the same draws (greedy ties, exploring pick, epsilon)."""
        row = self.rows[s]
        A = len(row)
        u = rng.random(2 * A + 1).tolist()
        if u[2 * A] < self.epsilon:
            return max(range(A), key=lambda j: u[A + j])
        best = max(row)
        return max(range(A), key=lambda j: u[j] if row[j] == best else 0.0)


def prioritized_sweeping_until_optimal(
    env: Any, learner: PrioritizedSweepingLearner, rng: np.random.Generator, limit: float, max_episodes: int = 10_000
) -> int:
    """Play episodes of ``env`` (a deterministic table env) until the greedy path is within ``limit``
    steps; return the number of updates (example 8.4's measure)."""
    base = env.unwrapped
    for episode in range(max_episodes):
        s, _ = env.reset(seed=int(rng.integers(2**31)) if episode == 0 else None)
        done = False
        while not done:
            a = learner.act(s, rng)
            s2, r, done, _, _ = env.step(a)
            learner.step(s, a, float(r), s2, done)
            s = s2
        if greedy_path_ok(base.next_state, base.terminal, base.start_state, learner.q[None], limit)[0]:
            break
    return learner.backups


def expected_vs_sample(b: int, runs: int, rng: np.random.Generator) -> np.ndarray:
    """Figure 8.7: [2b] RMS error (over ``runs``) of the sample-average estimate of a value whose ``b``
    equally likely successors have values ~ N(0, 1), after 1..2b sample updates. An expected update
    costs b computations and leaves no error; the book's curve is ``sqrt((b - 1) / (b t))``."""
    values = rng.standard_normal((runs, b))
    true = values.mean(axis=1, keepdims=True)
    picks = np.take_along_axis(values, rng.integers(b, size=(runs, 2 * b)), axis=1)
    means = np.cumsum(picks, axis=1) / np.arange(1, 2 * b + 1)
    return np.sqrt(((means - true) ** 2).mean(axis=0))


TERMINATION_PROB = 0.1  # figure 8.8: each transition ends the episode with this probability


def _greedy_start_value(
    q: np.ndarray, nxt: np.ndarray, rew: np.ndarray, v: np.ndarray, tol: float = 1e-2
) -> tuple[np.ndarray, np.ndarray]:
    """Exact value of the start state (0) under the greedy policy of ``q`` [N, n, 2] for tasks ``nxt``, ``rew``
    [N, n, 2, b] (iterative policy evaluation from ``v``, warm started); returns (v(0) [N], v [N, n])."""
    N, n = q.shape[:2]
    pi = q.argmax(axis=2)
    tasks, states = np.arange(N)[:, None], np.arange(n)[None, :]
    ns, r = nxt[tasks, states, pi], rew[tasks, states, pi]  # [N, n, b]
    r_mean = r.mean(axis=2)
    for _ in range(1000):
        new = (1 - TERMINATION_PROB) * (r_mean + v[np.arange(N)[:, None, None], ns].mean(axis=2))
        delta = np.abs(new - v).max()
        v = new
        if delta < tol:
            break
    return v[:, 0], v


def trajectory_sampling(
    n_states: int, b: int, tasks: int, updates: int, evals: int, on_policy: bool, rng: np.random.Generator,
    epsilon: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Figure 8.8: the value of the start state under the greedy policy vs the number of expected updates,
    for ``tasks`` random tasks (``n_states`` states, 2 actions, ``b`` successors each with rewards ~ N(0, 1),
    termination probability 0.1 on every transition), updating either uniformly (cycling through all
    (s, a) pairs) or on-policy (along epsilon-greedy trajectories from the start state).

    Returns ``(update counts [evals + 1], start values [evals + 1, tasks])``, the values exact (policy
    evaluation on the task's model, not the reference's 1000 sampled episodes)."""
    nxt = rng.integers(n_states, size=(tasks, n_states, 2, b))
    rew = rng.standard_normal((tasks, n_states, 2, b))
    q = np.zeros((tasks, n_states, 2))
    rows = np.arange(tasks)
    v = np.zeros((tasks, n_states))
    marks = np.linspace(0, updates, evals + 1).astype(int)
    values = np.zeros((evals + 1, tasks))
    s = np.zeros(tasks, dtype=np.int64)
    done = 0
    for i, until in enumerate(marks):
        while done < until:
            if on_policy:
                a = epsilon_greedy_actions(q[rows, s], epsilon, rng)
                ps, pa = s, a
            else:
                ps = np.full(tasks, done // 2 % n_states)
                pa = np.full(tasks, done % 2)
            succ = nxt[rows, ps, pa]  # [N, b]
            # the expected update: q(s, a) = (1 - p_end) * mean_b [r + max_a' q(s', a')]
            q[rows, ps, pa] = (1 - TERMINATION_PROB) * (rew[rows, ps, pa] + q[rows[:, None], succ].max(axis=2)).mean(1)
            if on_policy:
                ends = rng.random(tasks) < TERMINATION_PROB
                s = np.where(ends, 0, succ[rows, rng.integers(b, size=tasks)])
            done += 1
        values[i], v = _greedy_start_value(q, nxt, rew, v)
    return marks, values


def sim_schedule(env: Any) -> list[tuple[int, BatchSim]]:
    """The env's sims from each step on: a maze that changes (``phases()``) gives two, other envs one."""
    phases = getattr(env.unwrapped, "phases", None)
    if phases is None:
        return [(0, BatchSim.of(env))]
    return [(start, BatchSim.of(maze)) for start, maze in phases()]


@dataclass
class PlanningConfig(Config):
    """What the planning agents share."""

    planning_steps: int = option(5, help="model updates per real step (n)", ge=0)
    alpha: float = option(0.1, help="step size", gt=0.0, le=1.0)
    gamma: float = option(0.95, help="discount factor", ge=0.0, lt=1.0)
    epsilon: float = option(0.1, help="exploration of the epsilon-greedy behaviour", ge=0.0, le=1.0)


@dataclass
class DynaQConfig(PlanningConfig):
    """Tabular Dyna-Q (S&B 8.2); the defaults are figure 8.2's (with n = 5)."""

    runs: int = option(1, help="independent runs learned at once; the history averages them", ge=1)
    log_every: int = option(100, help="real steps between history rows", ge=1)


@dataclass
class DynaQPlusConfig(DynaQConfig):
    """Dyna-Q+ (S&B 8.3): an exploration bonus kappa sqrt(tau) in planning; the defaults are figure 8.4's."""

    planning_steps: int = option(10, help="model updates per real step (n)", ge=0)
    alpha: float = option(1.0, help="step size (the reference code's 1.0 for figures 8.4 and 8.5)", gt=0.0, le=1.0)
    kappa: float = option(1e-4, help="bonus weight: planning reward r + kappa sqrt(steps since last tried)", gt=0.0)


class DynaQ(RunsTogether, TabularAgent):
    """Tabular Dyna-Q over ``runs`` runs of the env's tables; the budget counts real steps.

    ``q`` after learning is the mean of the runs' tables; the history has ``cumulative_reward`` (mean over
    runs) every ``log_every`` steps.
    """

    config_cls = DynaQConfig
    name = "dyna_q"
    budget_unit = "steps"
    default_budget = 3000
    default_env = "rlsuite/DynaMaze-v0"
    def kappa(self) -> float:
        return 0.0

    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        budget = self.check_budget(budget)
        cfg = self.config
        with progress.task(self.name, total=budget, unit="step"):
            backend = ArrayBackend(self.device)
            backend.seed(np.random.default_rng(seed))  # numpy: draws from this Generator itself
            out = dyna_runs(sim_schedule(self.env), cfg.runs, cfg.planning_steps, cfg.alpha, self.gamma,
                            cfg.epsilon, backend, kappa=self.kappa(), total_steps=budget)  # fmt: skip
        self.q = to_numpy(out.q).astype(np.float64).mean(axis=0)
        self.pi = np.eye(self.n_actions)[self.q.argmax(axis=1)]
        cumulative = to_numpy(out.rewards).astype(np.float64).cumsum(axis=0).mean(axis=1)
        history = History()
        for t in range(cfg.log_every, budget + 1, cfg.log_every):
            history.log(steps=t, cumulative_reward=float(cumulative[t - 1]))
        if budget % cfg.log_every:
            history.log(steps=budget, cumulative_reward=float(cumulative[-1]))
        return history


class DynaQPlus(DynaQ):
    """Dyna-Q+ (S&B 8.3): Dyna-Q whose planning rewards carry ``kappa sqrt(tau)``, and whose model holds every
    action of a visited state (untried ones lead back to the state with reward 0)."""

    config_cls = DynaQPlusConfig
    name = "dyna_q_plus"
    default_env = "rlsuite/BlockingMaze-v0"

    def kappa(self) -> float:
        return float(self.config.kappa)


@dataclass
class PrioritizedSweepingConfig(PlanningConfig):
    """Prioritized sweeping for a deterministic env (S&B 8.4); the defaults are example 8.4's."""

    alpha: float = option(0.5, help="step size", gt=0.0, le=1.0)
    theta: float = option(1e-4, help="a pair enters the queue when its priority exceeds theta", ge=0.0)


HOST_ONLY = (
    "prioritized sweeping runs in numpy on the host only: its priority queue is sequential (each update pops the "
    "top pair and pushes its predecessors by the values just written); use --backend numpy (device 'cpu')"
)


class PrioritizedSweeping(TabularAgent):
    """Prioritized sweeping on the env itself (one learner); the budget counts real steps.

    The history has one row per finished episode (and the last step): ``steps``, ``backups`` (updates made
    so far), ``episode_length``, and the error against the exact optimum.

    Host only: one learner, one real step and one queue pop at a time, each depending on the last, leaves
    nothing to batch on a device; ``device`` other than ``"cpu"`` (numpy) raises a one-line ``UsageError``
    (:data:`HOST_ONLY`).
    """

    config_cls = PrioritizedSweepingConfig
    name = "prioritized_sweeping"
    budget_unit = "steps"
    default_budget = 3000
    default_env = "rlsuite/DynaMaze-v0"
    uses_device = True  # takes device= so that a torch one is refused with the reason, not the DP agents' message

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        if device != "cpu":
            raise UsageError(f"device {device!r}: {HOST_ONLY}")
        super().__init__(env, config)

    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        budget = self.check_budget(budget)
        cfg = self.config
        rng = np.random.default_rng(seed)
        learner = PrioritizedSweepingLearner(self.n_states, self.n_actions, cfg.planning_steps, cfg.alpha,
                                             self.gamma, cfg.epsilon, cfg.theta)  # fmt: skip
        history = History()
        s, _ = self.env.reset(seed=seed)
        length = 0
        with progress.task(self.name, total=budget, unit="step") as bar:
            for t in range(1, budget + 1):
                a = learner.act(int(s), rng)
                s2, r, term, trunc, _ = self.env.step(a)
                learner.step(int(s), a, float(r), int(s2), bool(term))
                s, length = s2, length + 1
                if term or trunc or t == budget:
                    self.q = learner.q
                    history.log(steps=t, backups=learner.backups, episode_length=length, **self.truth_metrics())
                    s, _ = self.env.reset()
                    length = 0
                bar.advance()
        self.q = learner.q.copy()
        self.pi = np.eye(self.n_actions)[self.q.argmax(axis=1)]
        return history
