"""Exact solutions of a finite MDP (Zhao ch. 4): value iteration, policy evaluation, policy iteration.

Functions of a :class:`~rlsuite.envs.model.TabularModel`, vectorised over states. The DP agents
(``dp.py``) run them step by step; every tabular agent measures itself against
:func:`value_iteration`'s optimum (``agent.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.envs import checks
from rlsuite.envs.model import TabularModel


def value_iteration(
    model: TabularModel,
    gamma: float = 0.9,
    tol: float = 1e-10,
    max_iters: int = 100_000,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact optimal values by value iteration: ``v <- max_a (r(s, a) + gamma * E[v(s')])``.

    Deterministic compact models (grid worlds without slip) take a fast path (see
    :func:`_shift_plans`): most moves of a grid are a constant offset in the state index, so a
    backup is a few contiguous slice copies plus small fix-ups, with no full gather; it scales
    to 100x100 grids and beyond. ``device="cuda"`` (or ``"auto"`` where there is a GPU) runs
    the same sweeps in torch on that device (float64, so ``tol`` means the same thing);
    ``"torch:cpu"`` runs them in torch on the CPU.

    Returns:
        ``(v, q, iterations)``: state values [S], action values [S, A], sweeps done.
    """
    checks.number("gamma", gamma, 0.0, 1.0)
    checks.number("tol", tol, 0.0)
    checks.integer("max_iters", max_iters, 1)
    if device != "cpu":
        from rlsuite.common.backend import TORCH_PREFIX, torch_device_name
        from rlsuite.common.device import select_device

        dev = select_device(torch_device_name(device))
        if dev.type != "cpu" or device.startswith(TORCH_PREFIX):  # "torch:cpu": the torch sweeps on the CPU
            return _value_iteration_torch(model, gamma, tol, max_iters, dev)
    v = np.zeros(model.n_states)
    if model.deterministic:
        assert model.next_states is not None
        rew = np.ascontiguousarray(model.expected_rewards.T)  # [A, S]
        shifts, fix_at, fix_from = _shift_plans(model.next_states[0])
        fix_rew = rew.reshape(-1)[fix_at]
        S = model.n_states
        q_t, gv, v_new, diff = np.empty_like(rew), np.empty_like(v), np.empty_like(v), np.empty_like(v)
        q_flat, fixed = q_t.reshape(-1), np.empty(len(fix_at))
        it = 0
        while it < max_iters:
            it += 1
            np.multiply(v, gamma, out=gv)
            for a, offset in shifts:  # q(s, a) = r(s, a) + gamma v(s + offset): one slice add
                if offset >= 0:
                    np.add(gv[offset:], rew[a, : S - offset], out=q_t[a, : S - offset])
                else:
                    np.add(gv[: S + offset], rew[a, -offset:], out=q_t[a, -offset:])
            np.take(gv, fix_from, out=fixed)  # the pairs off their action's offset (boundaries)
            fixed += fix_rew
            q_flat[fix_at] = fixed
            np.maximum.reduce(q_t, axis=0, out=v_new)
            np.subtract(v_new, v, out=diff)
            np.abs(diff, out=diff)
            v, v_new = v_new, v
            if diff.max() < tol:
                break
        return v, model.q_values(v, gamma), it
    for it in range(1, max_iters + 1):
        q = model.q_values(v, gamma)
        v_new = q.max(axis=1)
        if np.max(np.abs(v_new - v)) < tol:
            return v_new, q, it
        v = v_new
    return v, model.q_values(v, gamma), max_iters


def _shift_plans(next_states: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """How to compute ``v[next_states]`` [A, S] with slices instead of a full gather.

    For a grid, ``next_states[a][s] == s + offset_a`` for every state but those on the boundary
    the move hits. Returns ``(shifts, fix_at, fix_from)``: ``(a, offset_a)`` for each action whose
    most common offset covers at least three quarters of the states, and, for every other
    (s, a) pair, its flat index ``a * S + s`` into the [A, S] table and its next state.
    """
    S = next_states.shape[1]
    shifts: list[tuple[int, int]] = []
    fix_at, fix_from = [], []
    for a, nxt in enumerate(next_states):
        offsets = nxt - np.arange(S)
        offset = int(np.bincount(offsets + S).argmax()) - S  # the most common offset (offsets > -S)
        off = np.flatnonzero(offsets != offset)
        if len(off) > S // 4:  # no dominant offset: gather the whole row
            off = np.arange(S)
        else:
            shifts.append((a, offset))
        fix_at.append(a * S + off)
        fix_from.append(nxt[off])
    return shifts, np.concatenate(fix_at), np.concatenate(fix_from)


def _value_iteration_torch(
    model: TabularModel, gamma: float, tol: float, max_iters: int, dev: Any
) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`value_iteration`'s sweeps in torch on ``dev``: one gather per outcome, max over actions."""
    v, it = torch_sweeps(torch_tables(model, dev), gamma, tol, max_iters)
    v_host = v.cpu().numpy()
    return v_host, model.q_values(v_host, gamma), it


def torch_tables(model: TabularModel, dev: Any) -> tuple[Any, ...]:
    """A model's tables on ``dev`` (float64), copied once, for :func:`torch_sweeps`: ``(r [S, A], T [S, A, S])``
    for a dense model, ``(r [A, S], next_states [K, A, S], next_probs [K, A, S])`` for a compact one."""
    import torch

    if model.next_states is None:  # a matrix-vector product per sweep, [S, A]
        return (torch.as_tensor(model.expected_rewards, dtype=torch.float64, device=dev),
                torch.as_tensor(model.transition_probs, dtype=torch.float64, device=dev))  # fmt: skip
    return (torch.as_tensor(model.expected_rewards.T, dtype=torch.float64, device=dev),  # K gathers per sweep, [A, S]
            torch.as_tensor(model.next_states, device=dev),
            torch.as_tensor(model.next_probs, dtype=torch.float64, device=dev))  # fmt: skip


def torch_sweeps(tables: tuple[Any, ...], gamma: float, tol: float, max_iters: int) -> tuple[Any, int]:
    """Value-iteration sweeps over :func:`torch_tables` on their device: ``(v [S] there, sweeps done)``.

    Each sweep reads one scalar on the host (the stopping test) unless ``tol`` is 0, which runs
    ``max_iters`` sweeps with no host-device sync (what a benchmark times).
    """
    import torch

    dense = len(tables) == 2
    r = tables[0]
    v = torch.zeros(r.shape[0] if dense else r.shape[1], dtype=torch.float64, device=r.device)
    it = 0
    while it < max_iters:
        it += 1
        if dense:
            v_new = (r + gamma * (tables[1] @ v)).amax(1)
        else:
            v_new = (r + gamma * (tables[2] * v[tables[1]]).sum(0)).amax(0)
        v, v_old = v_new, v
        if tol > 0 and float((v - v_old).abs().max()) < tol:  # one scalar to the host per sweep
            break
    return v, it


def policy_evaluation(model: TabularModel, policy: np.ndarray, gamma: float = 0.9) -> np.ndarray:
    """Exact state values of a policy: solve ``(I - gamma * T_pi) v = R_pi``.

    Args:
        model: the MDP.
        policy: action probabilities [S, A], or one greedy action per state [S].
        gamma: the discount, < 1.

    Returns:
        ``v_pi`` [S].
    """
    checks.number("gamma", gamma, 0.0, 1.0)
    pi = checks.policy_table("policy", policy, model.n_states, model.n_actions)
    if pi.ndim == 1:
        pi = np.eye(model.n_actions)[pi.astype(int)]
    T_pi, R_pi = model.policy_matrices(pi)
    return np.linalg.solve(np.eye(model.n_states) - gamma * T_pi, R_pi)


def greedy_policy(q: np.ndarray) -> np.ndarray:
    """The deterministic greedy policy of ``q`` as action probabilities [S, A] (ties: first action)."""
    return np.eye(q.shape[1])[q.argmax(axis=1)]


def policy_iteration(
    model: TabularModel, gamma: float = 0.9, max_iters: int = 1000
) -> tuple[np.ndarray, np.ndarray, int]:
    """Exact optimal policy by policy iteration (exact evaluation, greedy improvement).

    Returns:
        ``(v, policy, iterations)``: state values [S], greedy policy [S, A], improvements done.
    """
    checks.integer("max_iters", max_iters, 1)
    pi = greedy_policy(model.expected_rewards)
    v = policy_evaluation(model, pi, gamma)
    for it in range(1, max_iters + 1):
        q = model.q_values(v, gamma)
        new_pi = greedy_policy(_stable_argmax_q(q, pi))
        v = policy_evaluation(model, new_pi, gamma)
        if np.array_equal(new_pi, pi):
            return v, pi, it
        pi = new_pi
    return v, pi, max_iters


def _stable_argmax_q(q: np.ndarray, pi: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """``q`` nudged toward the current policy's actions so exact ties do not make improvement cycle."""
    return q + tol * pi


def iterative_policy_evaluation(
    model: TabularModel, policy: np.ndarray, v: np.ndarray, gamma: float, sweeps: int
) -> np.ndarray:
    """``sweeps`` synchronous Bellman-expectation sweeps ``v <- R_pi + gamma * T_pi v`` from ``v``."""
    checks.number("gamma", gamma, 0.0, 1.0)
    checks.integer("sweeps", sweeps, 0)
    policy = checks.policy_table("policy", policy, model.n_states, model.n_actions)
    if policy.ndim == 1:
        policy = np.eye(model.n_actions)[policy]
    T_pi, R_pi = model.policy_matrices(policy)
    for _ in range(sweeps):
        v = R_pi + gamma * (T_pi @ v)
    return v
