"""The numpy paths' inner loops of the chapter 6-8 runs, compiled with numba: each kernel here makes the same
updates from the same random numbers, in the same order, as the array code it stands for (which torch runs on
a device, :mod:`rlsuite.common.backend`), so a numpy run gives the same numbers bit for bit either way
(``compiled=False`` runs the array code; tests compare the two).

Why: a batched numpy step costs tens of microseconds of call overhead whatever the number of runs, so at the
books' sizes (1 to a few hundred runs of tiny tables) the array code is no faster than one Python step of the
reference implementation; compiled, a step of one run costs well under a microsecond.

The random numbers come from the caller's numpy ``Generator`` itself (numba draws from the same bit generator
and leaves it where the array code would), drawn in the array code's shapes and order: an epsilon-greedy act of
``R`` runs draws ``R x A`` uniforms for the greedy ties, ``R x A`` for the exploring choice, then ``R``; a step of a
stochastic sim ``R``; reward noise ``R`` normals when any chosen pair is noisy; a random start ``R`` uniforms
(``Generator.choice``'s inverse CDF). Sums over actions follow numpy's own order (sequential below 8 terms,
eight-way pairwise from 8).

numba compiles each kernel at its first call in a process (about a second) and keeps the machine code in the
package's ``__pycache__`` (``cache=True``): numba's own files beside the module's ``.pyc`` files, written and read
by this package only, never a file a user passes in. Importing this module imports numba (about 0.5 s), so
the modules that use it import it only inside the functions that run a kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

METHODS = {"sarsa": 0, "expected_sarsa": 1, "q_learning": 2, "double_q": 3}


def sim_tables(sim: Any) -> tuple[Any, ...]:
    """A numpy :class:`~rlsuite.agents.tabular.sim.BatchSim`'s tables as the kernels take them."""
    return (np.ascontiguousarray(sim.next_states, dtype=np.int64), np.ascontiguousarray(sim.rewards, dtype=float),
            np.ascontiguousarray(sim.dones, dtype=np.bool_), np.ascontiguousarray(sim.cum_probs, dtype=float),
            np.ascontiguousarray(sim.reward_std, dtype=float), bool(sim.noisy))  # fmt: skip


def start_of(sim: Any) -> int:
    """The one start state of ``sim``, or -1 when the start is drawn (``BatchSim.reset``'s rule)."""
    return int(sim.start_probs.argmax()) if sim.start_probs.max() == 1.0 else -1


def start_cdf(sim: Any) -> np.ndarray:
    """The start distribution's CDF as ``Generator.choice`` makes it (cumulative sums over their last)."""
    cdf = np.cumsum(np.asarray(sim.start_probs, dtype=float))
    return cdf / cdf[-1]


@njit(cache=True)
def _sum(x: Any) -> float:
    """``x.sum()`` of a contiguous 1-D float array, numpy's order (pairwise in blocks of eight from 8 terms)."""
    n = x.shape[0]
    if n < 8:
        res = 0.0
        for i in range(n):
            res += x[i]
        return res
    r = x[:8].copy()
    stop = n - n % 8
    for i in range(8, stop, 8):
        for j in range(8):
            r[j] += x[i + j]
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for i in range(stop, n):
        res += x[i]
    return res


@njit(cache=True)
def _max(q: Any, ok: Any) -> float:
    """The largest ``q`` over the allowed actions (``-inf`` when none is)."""
    m = -np.inf
    for j in range(q.shape[0]):
        if ok[j] and q[j] > m:
            m = q[j]
    return m


@njit(cache=True)
def _random_argmax(q: Any, u: Any, ok: Any) -> int:
    """``sim.random_argmax`` of one row: ``argmax(u * (q == max q))`` over the allowed actions."""
    m = _max(q, ok)
    best, best_u = 0, -1.0
    for j in range(q.shape[0]):
        v = q[j] if ok[j] else -np.inf
        x = u[j] if v == m else 0.0
        if x > best_u:
            best, best_u = j, x
    return best


@njit(cache=True)
def _act(q1: Any, q2: Any, double: bool, s: Any, ok: Any, epsilon: float, rng: Any, out: Any) -> None:
    """``sim.epsilon_greedy_actions`` of every run (in Q1 + Q2 for Double Q), into ``out``."""
    R, _, A = q1.shape
    u_greedy, u_explore, u_eps = rng.random((R, A)), rng.random((R, A)), rng.random(R)
    row, zeros = np.empty(A), np.zeros(A)
    for i in range(R):
        for j in range(A):
            row[j] = q1[i, s[i], j] + q2[i, s[i], j] if double else q1[i, s[i], j]
        greedy = _random_argmax(row, u_greedy[i], ok[s[i]])
        explore = _random_argmax(zeros, u_explore[i], ok[s[i]])
        out[i] = explore if u_eps[i] < epsilon else greedy


@njit(cache=True)
def _expected(q: Any, epsilon: float, ok: Any) -> float:
    """``episodic._expected_value`` of one row: the epsilon-greedy policy's expectation of ``q``."""
    A = q.shape[0]
    m = -np.inf
    n_ok = 0
    for j in range(A):
        if ok[j]:
            n_ok += 1
            if q[j] > m:
                m = q[j]
    n_best = 0
    for j in range(A):
        if ok[j] and q[j] == m:
            n_best += 1
    terms = np.empty(A)
    for j in range(A):
        best = 1.0 if (ok[j] and q[j] == m) else 0.0
        pi = epsilon * (1.0 if ok[j] else 0.0) / n_ok + (1 - epsilon) * best / n_best
        terms[j] = pi * (q[j] if ok[j] else 0.0)
    return _sum(terms)


@njit(cache=True)
def _reset(runs: int, start: int, start_cdf: Any, rng: Any, out: Any) -> None:
    """``BatchSim.reset``: one start state, or ``Generator.choice`` by the start distribution's CDF."""
    if start >= 0:
        out[:] = start
        return
    u = rng.random(runs)
    for i in range(runs):
        out[i] = np.searchsorted(start_cdf, u[i], side="right")


@njit(cache=True)
def _step(tables: Any, s: Any, a: Any, rng: Any, s2: Any, r: Any, done: Any) -> None:
    """``BatchSim.step`` of every run, into ``s2``, ``r``, ``done``."""
    next_states, rewards, dones, cum_probs, reward_std, noisy = tables
    R, K = s.shape[0], next_states.shape[2]
    u = rng.random(R) if K > 1 else np.empty(0)
    for i in range(R):
        k = 0
        if K > 1:
            for c in range(K):
                if u[i] >= cum_probs[s[i], a[i], c]:
                    k += 1
        s2[i], r[i], done[i] = next_states[s[i], a[i], k], rewards[s[i], a[i], k], dones[s[i], a[i], k]
    if noisy:
        any_noise = False
        for i in range(R):
            if reward_std[s[i], a[i]] != 0.0:
                any_noise = True
        if any_noise:
            z = rng.standard_normal(R)
            for i in range(R):
                r[i] = r[i] + reward_std[s[i], a[i]] * z[i]


@njit(cache=True)
def control(tables: Any, start: int, start_cdf: Any, ok: Any, method: int, runs: int, episodes: int, alpha: Any,
            epsilon: float, gamma: float, max_steps: int, rng: Any) -> Any:  # fmt: skip
    """:func:`~rlsuite.agents.tabular.episodic.episodic_control`'s loop; returns (returns, lengths, firsts, q)."""
    S, A = tables[0].shape[0], tables[0].shape[1]
    double = method == 3
    q1 = np.zeros((runs, S, A))
    q2 = np.zeros((runs, S, A)) if double else np.zeros((1, 1, 1))
    returns, lengths = np.zeros((episodes, runs)), np.zeros((episodes, runs), dtype=np.int64)
    firsts = np.zeros((episodes, runs), dtype=np.int64)
    done_eps, steps = np.zeros(runs, dtype=np.int64), np.zeros(runs, dtype=np.int64)
    ret = np.zeros(runs)
    s, a = np.zeros(runs, dtype=np.int64), np.zeros(runs, dtype=np.int64)
    s2, a2 = np.zeros(runs, dtype=np.int64), np.zeros(runs, dtype=np.int64)
    new_s, new_a = np.zeros(runs, dtype=np.int64), np.zeros(runs, dtype=np.int64)
    r, done, ended = np.zeros(runs), np.zeros(runs, dtype=np.bool_), np.zeros(runs, dtype=np.bool_)
    upd, other = np.empty(A), np.empty(A)
    _reset(runs, start, start_cdf, rng, s)
    _act(q1, q2, double, s, ok, epsilon, rng, a)
    firsts[0] = a
    while True:
        if done_eps.min() >= episodes:
            break
        _step(tables, s, a, rng, s2, r, done)
        for i in range(runs):
            ret[i] += r[i]
            steps[i] += 1
        if method <= 1:
            _act(q1, q2, double, s2, ok, epsilon, rng, a2)
        coin, u_tie = np.empty(0), np.empty((0, 0))
        if double:
            coin = rng.random(runs)
            u_tie = rng.random((runs, A))
        for i in range(runs):
            live = done_eps[i] < episodes
            first = True
            if method == 0:
                boot = q1[i, s2[i], a2[i]]
            elif method == 1:
                boot = _expected(q1[i, s2[i]], epsilon, ok[s2[i]])
            elif method == 2:
                boot = _max(q1[i, s2[i]], ok[s2[i]])
            else:
                first = coin[i] < 0.5  # update Q1 (evaluated by Q2), else Q2 (evaluated by Q1)
                for j in range(A):
                    upd[j] = q1[i, s2[i], j] if first else q2[i, s2[i], j]
                    other[j] = q2[i, s2[i], j] if first else q1[i, s2[i], j]
                boot = other[_random_argmax(upd, u_tie[i], ok[s2[i]])]
            target = r[i] + gamma * (0.0 if done[i] else boot)
            if live and first:
                q1[i, s[i], a[i]] += alpha[i] * (target - q1[i, s[i], a[i]])
            if live and double and not first:
                q2[i, s[i], a[i]] += alpha[i] * (target - q2[i, s[i], a[i]])
        if method >= 2:
            _act(q1, q2, double, s2, ok, epsilon, rng, a2)
        any_ended = False
        for i in range(runs):
            ended[i] = done_eps[i] < episodes and (done[i] or steps[i] >= max_steps)
            any_ended = any_ended or ended[i]
        if any_ended:
            for i in range(runs):
                if ended[i]:
                    e = min(done_eps[i], episodes - 1)
                    returns[e, i], lengths[e, i] = ret[i], steps[i]
                    done_eps[i] += 1
                    ret[i], steps[i] = 0.0, 0
            _reset(runs, start, start_cdf, rng, new_s)
            for i in range(runs):
                if ended[i]:
                    s2[i] = new_s[i]
            _act(q1, q2, double, s2, ok, epsilon, rng, new_a)
            for i in range(runs):
                if ended[i]:
                    a2[i] = new_a[i]
                    if done_eps[i] < episodes:
                        firsts[done_eps[i], i] = a2[i]
        s[:] = s2
        a[:] = a2
    q = q1 if not double else (q1 + q2) / 2
    return returns, lengths, firsts, q


@njit(cache=True)
def sample_episodes(tables: Any, start: int, start_cdf: Any, cum: Any, runs: int, max_steps: int, rng: Any) -> Any:
    """:func:`~rlsuite.agents.tabular.prediction.sample_episodes`'s loop; returns (states, rewards, lengths)."""
    A = cum.shape[1]
    cap = 64
    states, rewards = np.zeros((cap + 1, runs), dtype=np.int64), np.zeros((cap, runs))
    s, a = np.zeros(runs, dtype=np.int64), np.zeros(runs, dtype=np.int64)
    s2, r, done = np.zeros(runs, dtype=np.int64), np.zeros(runs), np.zeros(runs, dtype=np.bool_)
    live, lengths = np.ones(runs, dtype=np.bool_), np.zeros(runs, dtype=np.int64)
    _reset(runs, start, start_cdf, rng, s)
    states[0] = s
    T = 0
    for t in range(max_steps):
        u = rng.random(runs)
        for i in range(runs):  # every run steps, as in the array code (an ended run's step is discarded below)
            k = 0
            for j in range(A):
                if u[i] >= cum[s[i], j]:
                    k += 1
            a[i] = min(k, A - 1)
        _step(tables, s, a, rng, s2, r, done)
        if t + 1 > cap:  # grow the records
            cap *= 2
            grown_s, grown_r = np.zeros((cap + 1, runs), dtype=np.int64), np.zeros((cap, runs))
            grown_s[: t + 1], grown_r[:t] = states[: t + 1], rewards[:t]
            states, rewards = grown_s, grown_r
        any_live = False
        for i in range(runs):
            if live[i]:
                s[i] = s2[i]
                rewards[t, i] = r[i]
                lengths[i] += 1
            live[i] = live[i] and not done[i]
            any_live = any_live or live[i]
        states[t + 1] = s
        T = t + 1
        if not any_live:
            break
    return states[: T + 1].copy(), rewards[:T].copy(), lengths


@njit(cache=True)
def n_step_updates(V: Any, states: Any, lengths: Any, rewards: Any, disc: Any, n: int, alpha: Any) -> None:
    """:func:`~rlsuite.agents.tabular.prediction.n_step_updates`'s loop (``n < 0``: MC), ``V`` in place; ``disc``:
    ``gamma ** arange(T + 1)`` (numpy's powers)."""
    T, R = rewards.shape
    C = np.zeros((T + 1, R))  # _partial_returns: C[t] = sum_{k < t} gamma^k r_k, numpy's cumsum order
    for t in range(T):
        for i in range(R):
            C[t + 1, i] = C[t, i] + rewards[t, i] * disc[t]
    for tau in range(T):
        any_live = False
        for i in range(R):
            any_live = any_live or tau < lengths[i]
        if not any_live:
            break
        for i in range(R):
            end = lengths[i] if n < 0 else min(lengths[i], tau + n)
            G = (C[end, i] - C[tau, i]) / disc[tau]
            if end < lengths[i]:  # S_{tau+n} is not terminal: bootstrap from it
                G = G + disc[min(end - tau, T)] * V[i, states[min(end, T), i]]
            if tau < lengths[i]:
                s = states[tau, i]
                V[i, s] += alpha[i] * (G - V[i, s])


@njit(cache=True)
def dyna(phases: Any, phase_from: Any, starts: Any, cdfs: Any, state: Any, q: Any, m_next: Any, m_rew: Any,
         m_time: Any, known: Any, seen: Any, seen_list: Any, counts: Any, s: Any, rng: Any, alpha: float,
         gamma: float, epsilon: float, kappa: Any, plus: Any, bonus: bool, planning_steps: int, horizon: int,
         episodes: int, ask: bool, stop: bool, lengths: Any, record: Any) -> int:  # fmt: skip
    """:func:`~rlsuite.agents.tabular.planning.dyna_runs`'s loop, resumable (:func:`run_dyna`): ``state`` =
    ``[t, phase, records]``, ``counts`` = ``[n_seen, episodes done, episode steps, active, real steps, ended]``
    per run. Returns 0 when done, 1 at the end of a step where a run ended its episode and ``stop`` is set
    (the host asks its callback about the runs ``counts[5]`` marks, then calls again), 2 when ``record`` is full."""
    runs, S, A = q.shape
    n_seen, ep_done, ep_steps = counts[0], counts[1], counts[2]
    active, real_steps, ended = counts[3], counts[4], counts[5]
    s2, r, done = np.zeros(runs, dtype=np.int64), np.zeros(runs), np.zeros(runs, dtype=np.bool_)
    a, new_s = np.zeros(runs, dtype=np.int64), np.zeros(runs, dtype=np.int64)
    zeros_q = np.zeros((1, 1, 1))
    ok = np.ones((S, A), dtype=np.bool_)
    E = lengths.shape[0]
    while state[0] < horizon:
        if ask:
            any_active = False
            for i in range(runs):
                any_active = any_active or active[i] != 0
            if not any_active:
                return 0
        if state[2] >= record.shape[0]:
            return 2
        t = state[0]
        for p in range(phase_from.shape[0]):
            if phase_from[p] == t:
                state[1] = p
        tables = phases[state[1]]
        _act(q, zeros_q, False, s, ok, epsilon, rng, a)
        _step(tables, s, a, rng, s2, r, done)
        t += 1
        state[0] = t
        for i in range(runs):
            live = active[i] != 0
            target = r[i] + gamma * (0.0 if done[i] else _max(q[i, s2[i]], ok[s2[i]]))
            if live:  # (d) direct RL: one-step Q-learning
                q[i, s[i], a[i]] += alpha * (target - q[i, s[i], a[i]])
            # (e) model learning; Dyna-Q+ puts a newly seen state's untried actions in its model
            if live and not seen[i, s[i]]:
                seen_list[i, min(n_seen[i], S - 1)] = s[i]
                n_seen[i] += 1
                seen[i, s[i]] = True
                if plus[i]:
                    for j in range(A):
                        known[i, s[i], j] = True
                        m_next[i, s[i], j], m_rew[i, s[i], j], m_time[i, s[i], j] = s[i], 0.0, 1.0
            if live:
                known[i, s[i], a[i]] = True
                m_next[i, s[i], a[i]], m_rew[i, s[i], a[i]], m_time[i, s[i], a[i]] = s2[i], r[i], float(t)
        # (f) planning: a visited state uniformly, then one of its modelled actions uniformly
        u, ua = rng.random((planning_steps, runs)), rng.random((planning_steps, runs, A))
        for k in range(planning_steps):
            for i in range(runs):
                ps = seen_list[i, int(u[k, i] * n_seen[i])]
                pa, best = 0, -1.0
                for j in range(A):
                    x = ua[k, i, j] if known[i, ps, j] else 0.0
                    if x > best:
                        pa, best = j, x
                pr = m_rew[i, ps, pa]
                if bonus:
                    pr = pr + kappa[i] * np.sqrt(max(t - m_time[i, ps, pa], 0.0))
                nxt = m_next[i, ps, pa]
                step_size = alpha if active[i] != 0 else 0.0
                q[i, ps, pa] += step_size * (pr + gamma * _max(q[i, nxt], ok[nxt]) - q[i, ps, pa])
        any_ended = False
        for i in range(runs):
            record[state[2], i] = r[i] if active[i] != 0 else 0.0
            ep_steps[i] += active[i]
            real_steps[i] += active[i]
            s[i] = s2[i]
            ended[i] = 1 if (active[i] != 0 and done[i]) else 0
            any_ended = any_ended or ended[i] != 0
        state[2] += 1
        if any_ended:
            for i in range(runs):
                if ended[i] != 0:
                    if episodes >= 0:
                        lengths[min(ep_done[i], E - 1), i] = ep_steps[i]
                    ep_done[i] += 1
                    ep_steps[i] = 0
            _reset(runs, starts[state[1]], cdfs[state[1]], rng, new_s)
            for i in range(runs):
                if ended[i] != 0:
                    s[i] = new_s[i]
                    if episodes >= 0 and ep_done[i] >= episodes:
                        active[i] = 0
            if stop:
                return 1
    return 0


def run_dyna(schedule: list[tuple[int, Any]], runs: int, planning_steps: int, alpha: float, gamma: float,
             epsilon: float, rng: np.random.Generator, kappa: np.ndarray, total_steps: int | None,
             episodes: int | None, stop: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """:func:`dyna` until done, calling ``stop`` on the host when it asks; returns (rewards, lengths, steps, q)."""
    sims = [sim for _, sim in schedule]
    phases = tuple(sim_tables(sim) for sim in sims)
    S, A = sims[0].n_states, sims[0].n_actions
    starts = np.array([start_of(sim) for sim in sims], dtype=np.int64)
    cdfs = np.stack([start_cdf(sim) for sim in sims])
    state = np.zeros(3, dtype=np.int64)
    q, m_rew, m_time = np.zeros((runs, S, A)), np.zeros((runs, S, A)), np.zeros((runs, S, A))
    m_next, known = np.zeros((runs, S, A), dtype=np.int64), np.zeros((runs, S, A), dtype=np.bool_)
    seen, seen_list = np.zeros((runs, S), dtype=np.bool_), np.zeros((runs, S), dtype=np.int64)
    counts = np.zeros((6, runs), dtype=np.int64)
    counts[3] = 1  # every run active
    s = np.zeros(runs, dtype=np.int64)
    _reset(runs, int(starts[0]), cdfs[0], rng, s)
    lengths = np.zeros((episodes or 1, runs), dtype=np.int64)
    record = np.zeros((1024, runs))
    ask = episodes is not None or stop is not None
    horizon = total_steps if total_steps is not None else 10**9
    phase_from = np.array([start for start, _ in schedule], dtype=np.int64)
    rows = np.arange(runs)
    while True:
        why = dyna(phases, phase_from, starts, cdfs, state, q, m_next, m_rew, m_time, known, seen, seen_list, counts,
                   s, rng, float(alpha), float(gamma), float(epsilon), kappa, kappa > 0, bool((kappa > 0).any()),
                   int(planning_steps), int(horizon), -1 if episodes is None else int(episodes), ask,
                   stop is not None, lengths, record)  # fmt: skip
        if why == 1:  # the host callback: may stop the runs that just ended
            idx = rows[counts[5] != 0]
            counts[3, idx] &= ~np.asarray(stop(q[idx], idx), dtype=bool)
        elif why == 2:
            record = np.concatenate([record, np.zeros_like(record)])
        else:
            return record[: state[2]].copy(), lengths, counts[4].copy(), q


def warm_up() -> None:
    """Load (or, the first time after an install, compile) every kernel, on a two-state chain: what a process
    pays once before its first compiled run (benchmarks time it apart)."""
    tables = (np.array([[[0], [1]], [[1], [1]]], dtype=np.int64), np.array([[[0.0], [1.0]], [[0.0], [0.0]]]),
              np.array([[[False], [True]], [[True], [True]]]), np.ones((2, 2, 1)), np.zeros((2, 2)), False)  # fmt: skip
    cdf, rng = np.array([1.0, 1.0]), np.random.default_rng(0)
    control(tables, 0, cdf, np.ones((2, 2), np.bool_), 0, 1, 1, np.ones(1), 0.1, 1.0, 10, rng)
    states, rewards, lengths = sample_episodes(tables, 0, cdf, np.array([[0.5, 1.0], [0.5, 1.0]]), 1, 10, rng)
    n_step_updates(np.zeros((1, 2)), states, lengths, rewards, np.ones(len(rewards) + 1), 1, np.ones(1))
    run_dyna([(0, _ChainSim(tables))], 1, 1, 0.5, 0.9, 0.1, rng, np.zeros(1), 4, None, None)


class _ChainSim:
    """The warm-up's two-state chain as :func:`run_dyna` reads a sim."""

    def __init__(self, tables: tuple[Any, ...]) -> None:
        self.next_states, self.rewards, self.dones, self.cum_probs, self.reward_std, self.noisy = tables
        self.n_states, self.n_actions, self.start_probs = 2, 2, np.array([1.0, 0.0])
