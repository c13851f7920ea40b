"""Zhao's *Mathematical Foundations of RL*, chapters 2-4: state values, optimality, value and policy iteration.

Every figure here is exact (Bellman equations solved, DP step by step): nothing depends on a seed.
Each grid is drawn as the book draws it: the policy (arrows, length by probability; a circle: stay)
beside a grid of its state values. Where the book prints numbers, they are stored in the JSON beside
ours with the comparison to the printed digit.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.app.reproduce._common import FigureTable, ReproduceOptions, _grid_env, _legend_outside, _plt, _save

FIGURES = FigureTable()

# The book's action letters, in the grid world's action order a1..a5.
ACTIONS = {"U": 0, "R": 1, "D": 2, "L": 3, "S": 4}
BOOK_DIGIT = 0.051  # a value printed to one decimal matches ours when within half a digit (and rounding)


def policy_of(rows: list[str], n_actions: int = 5) -> np.ndarray:
    """A deterministic policy [S, A] from rows of action letters (U R D L S), as the book draws it."""
    actions = [ACTIONS[c] for row in rows for c in row.split()]
    return np.eye(n_actions)[actions]


def letters(policy: np.ndarray, n_cols: int) -> list[str]:
    """The greedy action of each state as rows of letters (the inverse of :func:`policy_of`)."""
    names = "URDLS"
    greedy = np.asarray(policy).argmax(axis=1)
    return [" ".join(names[a] for a in greedy[i : i + n_cols]) for i in range(0, len(greedy), n_cols)]


def values_of(env: Any, policy: np.ndarray, gamma: float = 0.9) -> np.ndarray:
    """The exact state values of ``policy`` on ``env`` (the Bellman equation solved, eq. 2.11)."""
    from rlsuite.agents.tabular.solvers import policy_evaluation

    v = policy_evaluation(env.unwrapped.tabular_model, policy, gamma)
    return np.where(np.abs(v) < 1e-12, 0.0, v)  # no "-0.0" printed for a value that is 0


def book_bump_model(env: Any) -> Any:
    """The env's model with the book's price for walking into the wall from a forbidden cell.

    The book's printed epsilon-greedy values (figs 5.6, 5.7) are those of a grid world where that move
    costs r_boundary + r_forbidden (-11 with r_forbidden = -10); rlsuite's grid world charges r_boundary.
    Only a forbidden cell on the edge sees the difference ((5, 2) on the book's grid), and only a policy
    that walks into the wall there (an epsilon-greedy one) has other values.
    """
    from rlsuite.envs.gridworld import FORBIDDEN
    from rlsuite.envs.model import TabularModel

    base = env.unwrapped
    model = base.tabular_model
    nxt = model.next_states[0].T  # [S, A]
    bumps = (nxt == np.arange(base.n_states)[:, None]) & (np.arange(base.n_actions) != 4)[None, :]
    bumps &= (base.kinds.reshape(-1) == FORBIDDEN)[:, None]
    rewards = model.expected_rewards + np.where(bumps, base.rewards["forbidden"], 0.0)
    return TabularModel(rewards, next_states=model.next_states, next_probs=model.next_probs)


def grid_rows(env: Any, v: np.ndarray, digits: int = 1) -> list[list[float]]:
    base = env.unwrapped
    return np.round(np.asarray(v), digits).reshape(base.n_rows, base.n_cols).tolist()


def book_match(ours: np.ndarray, book: list[list[float]]) -> dict[str, Any]:
    """How many cells of a printed table our values match to its printed digit."""
    diff = np.abs(np.asarray(ours, dtype=float).reshape(np.shape(book)) - np.asarray(book))
    return {"book": book, "cells_matching_book": int((diff <= BOOK_DIGIT).sum()), "cells": int(diff.size),
            "matches_book": bool((diff <= BOOK_DIGIT).all())}  # fmt: skip


def policy_and_values(env: Any, policy: np.ndarray, v: np.ndarray | None, axes: Any, title: str) -> None:
    """The book's pair of grids: the policy on the left, the state values on the right."""
    from rlsuite.envs.plotting import plot_grid

    plot_grid(env, policy=policy, ax=axes[0], title=f"{title}: policy")
    if v is not None:
        plot_grid(env, values=v, ax=axes[1], title=f"{title}: state values")


def printed_policy_panels(env: Any, table: dict[str, Any], pairs: Any) -> list[dict[str, Any]]:
    """Each ``label: (policy rows, printed values)`` of ``table`` solved exactly, drawn into a pair of axes."""
    entries = []
    for pair, (label, (rows, book)) in zip(pairs, table.items(), strict=True):
        pi = policy_of(rows)
        v = values_of(env, pi)
        policy_and_values(env, pi, v, pair, label)
        entries.append({"panel": label, "policy": rows, "values": grid_rows(env, v), **book_match(v, book),
                        "seed_dependent": False})  # fmt: skip
    return entries


def q_table(ax: Any, q: np.ndarray, title: str, columns: list[str] | None = None) -> None:
    """A q-table (states as rows, actions as columns) drawn as a table, as the book prints it."""
    ax.axis("off")
    columns = columns or ["a1 up", "a2 right", "a3 down", "a4 left", "a5 stay"]
    cells = [[f"{x:.2f}".rstrip("0").rstrip(".") for x in row] for row in q]
    table = ax.table(cellText=cells, rowLabels=[f"s{i + 1}" for i in range(len(q))], colLabels=columns,
                     loc="center", cellLoc="center")  # fmt: skip
    table.scale(1.0, 1.4)
    ax.set_title(title, fontsize=9)


# ----- chapter 2 -----
# Fig 2.7: the four policies (rows 1..5 of action letters) and the values the book prints.
FIG_2_7 = {
    "good policy 1": (
        ["R R R D D", "U U R D D", "U L D R D", "U R S L D", "U R U L L"],
        [[3.5, 3.9, 4.3, 4.8, 5.3], [3.1, 3.5, 4.8, 5.3, 5.9], [2.8, 2.5, 10.0, 5.9, 6.6],
         [2.5, 10.0, 10.0, 10.0, 7.3], [2.3, 9.0, 10.0, 9.0, 8.1]],
    ),
    "good policy 2": (
        ["R R R R D", "U U R R D", "U L D R D", "U R S L D", "U R U L L"],
        [[3.5, 3.9, 4.3, 4.8, 5.3], [3.1, 3.5, 4.8, 5.3, 5.9], [2.8, 2.5, 10.0, 5.9, 6.6],
         [2.5, 10.0, 10.0, 10.0, 7.3], [2.3, 9.0, 10.0, 9.0, 8.1]],
    ),
    "bad policy 1": (
        ["R R R R R"] * 5,
        [[-6.6, -7.3, -8.1, -9.0, -10.0], [-8.5, -8.3, -8.1, -9.0, -10.0], [-7.5, -8.3, -8.1, -9.0, -10.0],
         [-7.5, -7.2, -9.1, -9.0, -10.0], [-7.6, -7.3, -8.1, -9.0, -10.0]],
    ),
    "bad policy 2": (
        ["R L L U U", "D S R D R", "L R D L S", "S D U U R", "S R S R S"],
        [[0.0, 0.0, 0.0, -10.0, -10.0], [-9.0, -10.0, -0.4, -0.5, -10.0], [-10.0, -0.5, 0.5, -0.5, 0.0],
         [0.0, -1.0, -0.5, -0.5, -10.0], [0.0, 0.0, 0.0, 0.0, 0.0]],
    ),
}  # fmt: skip


@FIGURES.add("zhao-fig-2.7", "two good and two bad policies and their state values")
def zhao_fig_2_7(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Two good and two bad policies and their state values (the Bellman equation solved exactly)."""
    env = _grid_env()
    plt = _plt()
    fig, axes = plt.subplots(2, 4, figsize=(16, 8.6))
    entries = printed_policy_panels(env, FIG_2_7, axes.reshape(4, 2))
    fig.suptitle("Zhao fig. 2.7: policies and their state values (Bellman equation solved exactly); "
                 "r_boundary = r_forbidden = -1, r_target = 1, gamma = 0.9")  # fmt: skip
    _save(fig, out / "zhao-fig-2.7.png")
    matched = sum(e["matches_book"] for e in entries)
    return {"figure": "Zhao, figure 2.7", "entries": entries,
            "summary": f"state values match the book's printed tables in {matched} of {len(entries)} panels"}


# ----- chapter 3 -----
def _two_by_two(**kwargs: Any) -> Any:
    """The 2x2 grid of Zhao's small examples (target bottom right); ``forbidden`` as the example has it."""
    return _grid_env(n_rows=2, n_cols=2, target=(2, 2), **kwargs)


FIG_3_2_V = [8.0, 10.0, 10.0, 10.0]
FIG_3_2_Q_S1 = [6.2, 8.0, 9.0, 6.2, 7.2]


@FIGURES.add("zhao-fig-3.2", "policy improvement on the 2x2 example: v_pi, q_pi(s1, a)")
def zhao_fig_3_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Policy improvement on the 2x2 example: v_pi, q_pi(s1, a), and the improved policy."""
    env = _two_by_two(forbidden=[(1, 2)])
    model = env.unwrapped.tabular_model
    pi = policy_of(["R D", "R S"])
    v = values_of(env, pi)
    q = model.q_values(v, 0.9)
    improved = np.eye(5)[q.argmax(axis=1)]
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.2), gridspec_kw={"width_ratios": [1, 1, 1.6, 1]})
    policy_and_values(env, pi, v, axes[:2], "given policy")
    axes[2].bar(range(5), q[0], color="tab:green")
    axes[2].set_xticks(range(5), ["a1 up", "a2 right", "a3 down", "a4 left", "a5 stay"])
    for i, x in enumerate(q[0]):
        axes[2].text(i, x + 0.1, f"{x:.1f}", ha="center", fontsize=9)
    axes[2].margins(y=0.12)
    axes[2].set_title("action values q_pi(s1, a) of the given policy", fontsize=9)
    axes[2].set_xlabel("action a at s1")
    axes[2].set_ylabel("q_pi(s1, a)")
    from rlsuite.envs.plotting import plot_grid

    plot_grid(env, policy=improved, ax=axes[3], title="improved policy: greedy in q_pi")
    fig.suptitle("Zhao fig. 3.2: policy improvement (forbidden s2, target s4; r_boundary = r_forbidden = -1, "
                 "r_target = 1, gamma = 0.9)")  # fmt: skip
    _save(fig, out / "zhao-fig-3.2.png")
    entry = {"values": np.round(v, 2).tolist(), "book_values": FIG_3_2_V, "q_s1": np.round(q[0], 2).tolist(),
             "book_q_s1": FIG_3_2_Q_S1, "improved_policy": letters(improved, 2), "seed_dependent": False,
             "matches_book": bool(np.allclose(v, FIG_3_2_V, atol=BOOK_DIGIT)
                                  and np.allclose(q[0], FIG_3_2_Q_S1, atol=BOOK_DIGIT))}  # fmt: skip
    return {"figure": "Zhao, figure 3.2", "entries": [entry],
            "summary": f"v_pi = {entry['values']}, q_pi(s1, .) = {entry['q_s1']}; the improved policy moves "
            f"{'down' if improved[0].argmax() == 2 else 'elsewhere'} at s1"}  # fmt: skip


@FIGURES.add("zhao-fig-3.3", "two different optimal policies, one stochastic, same v*")
def zhao_fig_3_3(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Two different optimal policies (one stochastic) with the same state values v*."""
    from rlsuite.agents.tabular.agent import exact_optimum

    env = _grid_env(n_rows=3, n_cols=3, forbidden=[(2, 3), (3, 1)], target=(3, 3), r_forbidden=-10.0)
    v_star, _ = exact_optimum(env.unwrapped.tabular_model, 0.9)
    first = policy_of(["R D L", "R D D", "R R S"])
    second = first.copy()
    second[0] = [0.0, 0.5, 0.5, 0.0, 0.0]  # s1: right or down, each with probability 0.5
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.9))
    entries = []
    for pair, (label, pi) in zip(axes.reshape(2, 2), (("policy 1", first), ("policy 2", second)), strict=True):
        v = values_of(env, pi)
        policy_and_values(env, pi, v, pair, label)
        entries.append({"panel": label, "policy": pi.tolist(), "values": grid_rows(env, v, 4),
                        "max_gap_to_v_star": float(np.max(np.abs(v - v_star))), "seed_dependent": False})  # fmt: skip
    fig.suptitle("Zhao fig. 3.3: optimal policies need not be unique (policy 2 is stochastic at s1); "
                 "both have the optimal values v* (r_forbidden = -10, gamma = 0.9)")  # fmt: skip
    _save(fig, out / "zhao-fig-3.3.png")
    gap = max(e["max_gap_to_v_star"] for e in entries)
    return {"figure": "Zhao, figure 3.3", "v_star": grid_rows(env, v_star, 4), "entries": entries,
            "summary": f"both policies reach v* (max gap {gap:.1e})"}


FIG_3_5 = {
    "(a) optimal policy": (["D D", "R S"], [[9.0, 10.0], [10.0, 10.0]]),
    "(b) non-optimal policy (detour)": (["D L", "R S"], [[9.0, 8.1], [10.0, 10.0]]),
}


@FIGURES.add("zhao-fig-3.5", "no meaningless detours: the discount does it")
def zhao_fig_3_5(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """The discount, not a negative step reward, is what keeps optimal policies off detours."""
    env = _two_by_two(forbidden=[])
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    entries = printed_policy_panels(env, FIG_3_5, axes.reshape(2, 2))
    fig.suptitle("Zhao fig. 3.5: no meaningless detours (r_other = 0, gamma = 0.9; target bottom right)")
    _save(fig, out / "zhao-fig-3.5.png")
    return {"figure": "Zhao, figure 3.5", "entries": entries,
            "summary": f"v(s2) = {entries[0]['values'][0][1]} going down, {entries[1]['values'][0][1]} by the "
            "detour; the book's tables matched: " + str([e["matches_book"] for e in entries])}  # fmt: skip


# ----- chapter 4 -----
# Tables 4.2 and 4.3: q(s, a) of value iteration at k = 0 and k = 1 on fig 4.2's example, gamma = 0.9.
G = 0.9
TABLE_4_2 = [[-1, -1, 0, -1, 0], [-1, -1, 1, 0, -1], [0, 1, -1, -1, 0], [-1, -1, -1, 0, 1]]
TABLE_4_3 = [[-1 + G * 0, -1 + G * 1, 0 + G * 1, -1 + G * 0, 0 + G * 0],
             [-1 + G * 1, -1 + G * 1, 1 + G * 1, 0 + G * 0, -1 + G * 1],
             [0 + G * 0, 1 + G * 1, -1 + G * 1, -1 + G * 1, 0 + G * 1],
             [-1 + G * 1, -1 + G * 1, -1 + G * 1, 0 + G * 1, 1 + G * 1]]  # fmt: skip


def last_argmax(q: np.ndarray) -> np.ndarray:
    """The greedy policy [S, A] with ties broken toward the last action (the book's pi_1 stays at s1)."""
    n_actions = q.shape[1]
    return np.eye(n_actions)[n_actions - 1 - q[:, ::-1].argmax(axis=1)]


@FIGURES.add("zhao-fig-4.2", "value iteration step by step (tables 4.2-4.3)")
def zhao_fig_4_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Value iteration step by step on the 2x2 example: the q-tables of k = 0, 1 and the policies pi_1, pi_2."""
    from rlsuite.envs.plotting import plot_grid

    env = _two_by_two(forbidden=[(1, 2)])
    model = env.unwrapped.tabular_model
    v = np.zeros(4)
    steps = []
    for k in range(2):  # q_k = r + gamma P v_k (Table 4.1), pi_{k+1} greedy in q_k, v_{k+1} = max_a q_k
        q = model.q_values(v, 0.9)
        pi = last_argmax(q)
        v = q.max(axis=1)
        steps.append((k, q, pi, v))
    plt = _plt()
    fig, axes = plt.subplots(1, 5, figsize=(18, 3.8), gridspec_kw={"width_ratios": [1, 2.2, 1, 2.2, 1]})
    plot_grid(env, ax=axes[0], title="the example (s1 s2 / s3 s4)")
    entries = []
    for (k, q, pi, v), ax_q, ax_pi, book in zip(steps, axes[1::2], axes[2::2], (TABLE_4_2, TABLE_4_3), strict=True):
        q_table(ax_q, q, f"q_{k}(s, a), k = {k} (Table 4.{k + 2})")
        plot_grid(env, values=v, policy=pi, ax=ax_pi, title=f"pi_{k + 1} and v_{k + 1}")
        entries.append({"k": k, "q": np.round(q, 4).tolist(), "book_q": np.round(book, 4).tolist(),
                        "matches_book": bool(np.allclose(q, book, atol=1e-9)), "policy": letters(pi, 2),
                        "v_next": np.round(v, 4).tolist(), "seed_dependent": False})  # fmt: skip
    fig.suptitle("Zhao fig. 4.2: value iteration step by step (r_boundary = r_forbidden = -1, r_target = 1, "
                 "gamma = 0.9;\nties broken toward the later action, as the book's pi_1 stays at s1)")  # fmt: skip
    _save(fig, out / "zhao-fig-4.2.png")
    return {"figure": "Zhao, figure 4.2 and tables 4.2-4.3", "entries": entries,
            "summary": f"q-tables match tables 4.2-4.3: {[e['matches_book'] for e in entries]}; pi_2 = "
            f"{entries[1]['policy']}"}  # fmt: skip


# Fig 4.3 / table 4.5: a 1x2 grid (target s2), actions left / stay / right = the grid's a4 / a5 / a2.
LSR = [3, 4, 1]
TABLE_4_5 = [[-10.0, -9.0, -7.1], [-9.0, -7.1, -9.1]]
FIG_4_3_SWEEPS = [[0.0, 0.0], [-1.0, 0.0], [-1.9, -0.9], [-2.71, -1.71]]


@FIGURES.add("zhao-fig-4.3", "policy iteration on two states (table 4.5)")
def zhao_fig_4_3(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Policy iteration on a two-state example: evaluate pi_0 (iteratively and exactly), improve to pi_1."""
    from rlsuite.agents.tabular.solvers import iterative_policy_evaluation
    from rlsuite.envs.plotting import plot_grid

    env = _grid_env(n_rows=1, n_cols=2, forbidden=[], target=(1, 2))
    model = env.unwrapped.tabular_model
    pi0 = policy_of(["L L"])
    sweeps = [np.zeros(2)]
    for _ in range(60):  # (4.4): v^(j+1) = r_pi + gamma P_pi v^(j)
        sweeps.append(iterative_policy_evaluation(model, pi0, sweeps[-1], 0.9, 1))
    v0 = values_of(env, pi0)
    q0 = model.q_values(v0, 0.9)[:, LSR]
    pi1 = np.eye(5)[np.array(LSR)[q0.argmax(axis=1)]]
    v1 = values_of(env, pi1)
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.6), gridspec_kw={"width_ratios": [1.2, 1.6, 1.6, 1.2]})
    plot_grid(env, values=v0, policy=pi0, ax=axes[0], title="(a) pi_0 and v_pi0")
    j = np.arange(len(sweeps))
    for s in range(2):
        axes[1].plot(j, [w[s] for w in sweeps], marker=".", label=f"v^(j)(s{s + 1})")
        axes[1].axhline(v0[s], color="0.5", ls="--", lw=0.8)
    axes[1].set_xlabel("iteration j of (4.4)")
    axes[1].set_ylabel("v_pi0^(j)(s)")
    axes[1].set_title("evaluating pi_0 iteratively (dashed: exact)", fontsize=9)
    _legend_outside(axes[1])
    q_table(axes[2], q0, "q_pi0(s, a) (Table 4.5)", ["a_l left", "a_0 stay", "a_r right"])
    plot_grid(env, values=v1, policy=pi1, ax=axes[3], title="(b) pi_1 and v_pi1")
    fig.suptitle("Zhao fig. 4.3: policy iteration on two states (target s2; r_boundary = -1, r_target = 1, "
                 "gamma = 0.9)")  # fmt: skip
    _save(fig, out / "zhao-fig-4.3.png")
    entry = {"v_pi0": np.round(v0, 4).tolist(), "first_sweeps": np.round(sweeps[:4], 4).tolist(),
             "book_first_sweeps": FIG_4_3_SWEEPS, "q_pi0": np.round(q0, 4).tolist(), "book_q_pi0": TABLE_4_5,
             "pi1": ["right" if a == 1 else "stay" if a == 4 else "left" for a in pi1.argmax(axis=1)],
             "v_pi1": np.round(v1, 4).tolist(), "seed_dependent": False,
             "matches_book": bool(np.allclose(sweeps[:4], FIG_4_3_SWEEPS, atol=1e-9)
                                  and np.allclose(q0, TABLE_4_5, atol=BOOK_DIGIT))}  # fmt: skip
    return {"figure": "Zhao, figure 4.3 and table 4.5", "entries": [entry],
            "summary": f"v_pi0 = {entry['v_pi0']}, pi_1 = {entry['pi1']} (optimal after one iteration)"}


# Fig 4.4: the values the book prints for pi_0, pi_1, pi_2 and the last policy (r_forbidden = -10).
FIG_4_4 = {
    0: [[0.0] * 5, [0.0, -100.0, -100.0, 0.0, 0.0], [0.0, 0.0, -100.0, 0.0, 0.0], [0.0, -100.0, 10.0, -100.0, 0.0],
        [0.0, -100.0, 0.0, 0.0, 0.0]],
    1: [[0.0] * 5, [0.0] * 5, [0.0, 0.0, 10.0, 0.0, 0.0], [0.0, 10.0, 10.0, 10.0, 0.0], [0.0, 9.0, 10.0, 0.0, 0.0]],
    2: [[0.0] * 5, [0.0] * 5, [0.0, 0.0, 10.0, 0.0, 0.0], [0.0, 10.0, 10.0, 10.0, 0.0], [0.0, 9.0, 10.0, 9.0, 0.0]],
}  # fmt: skip


def policy_iteration_history(env: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(pi_k, v_pi_k)`` of policy iteration from 'stay everywhere' until the policy is stable (fig 4.4)."""
    from rlsuite.agents.tabular.solvers import _stable_argmax_q, greedy_policy

    model = env.unwrapped.tabular_model
    pi = policy_of(["S S S S S"] * 5)
    history = []
    while True:  # policy evaluation (exact), policy improvement (greedy; ties keep the current action)
        v = values_of(env, pi)
        history.append((pi, v))
        new = greedy_policy(_stable_argmax_q(model.q_values(v, 0.9), pi))
        if np.array_equal(new, pi) or len(history) > 100:
            return history
        pi = new


@FIGURES.add("zhao-fig-4.4", "policy iteration's policies, 'stay' to optimal")
def zhao_fig_4_4(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Policy iteration's policies from 'stay everywhere' to optimal (r_forbidden = -10), exact."""
    env = _grid_env(r_forbidden=-10.0)
    history = policy_iteration_history(env)
    last = len(history) - 1
    shown = [0, 1, 2, 3, 4, 5, last - 1, last]
    plt = _plt()
    fig, axes = plt.subplots(4, 4, figsize=(15, 15.5))
    entries = []
    for pair, k in zip(axes.reshape(8, 2), shown, strict=True):
        pi_k, v_k = history[k]
        policy_and_values(env, pi_k, v_k, pair, f"pi_{k}")
        entry = {"k": k, "policy": letters(pi_k, 5), "values": grid_rows(env, v_k), "seed_dependent": False}
        if k in FIG_4_4:
            entry.update(book_match(v_k, FIG_4_4[k]))
        entries.append(entry)
    fig.suptitle(f"Zhao fig. 4.4: policy iteration from 'stay everywhere' (r_forbidden = -10, gamma = 0.9): "
                 f"pi_0 .. pi_5, then pi_{last - 1} and pi_{last} (stable, optimal)")  # fmt: skip
    _save(fig, out / "zhao-fig-4.4.png")
    monotone = all(np.all(b[1] >= a[1] - 1e-9) for a, b in itertools.pairwise(history))
    return {"figure": "Zhao, figure 4.4", "iterations": last, "values_never_fall": bool(monotone),
            "entries": entries,
            "summary": f"optimal after {last} improvements; v_pi_k never falls: {monotone}"}  # fmt: skip
