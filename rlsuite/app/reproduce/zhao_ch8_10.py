"""Zhao's *Mathematical Foundations of Reinforcement Learning*: the computed figures of chapters 8-10.

8.5 (the stationary distribution of an epsilon-greedy policy), 8.6-8.8 (TD-Linear with polynomial and
Fourier features against the true ``v_pi``), 8.9-8.10 (Sarsa and Q-learning with linear features),
8.11-8.12 (deep Q-learning from one behaviour episode) and 10.2 (importance sampling). Each JSON
holds the plotted numbers, the exact answer they are compared with (the stationary distribution
from the transition matrix, ``v_pi`` and TD's fixed point by linear solves, ``v*`` by value
iteration) and whether the book's claim holds for this seed.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.app.reproduce._common import (
    FigureTable,
    ReproduceOptions,
    _action_names,
    _grid_env,
    _grid_panel,
    _legend_outside,
    _plt,
    _save,
)

FIGURES = FigureTable()


HARSH = {"r_boundary": -10.0, "r_forbidden": -10.0}  # figs 8.9-8.12: r_boundary = r_forbidden = -10
# Zhao fig 8.6(b): the true state values of the uniform policy (gamma = 0.9, r_boundary = r_forbidden = -1);
# the text layer of the PDF keeps rows 2-5.
ZHAO_FIG_8_6 = {
    1: [-3.8, -3.8, -3.8, -3.1, -2.9],
    2: [-3.6, -3.9, -3.4, -3.2, -2.9],
    3: [-3.9, -3.6, -3.4, -2.9, -3.2],
    4: [-4.5, -4.2, -3.4, -3.4, -3.5],
}
# Zhao section 8.2: P_pi^T of fig 8.5's epsilon-greedy policy (epsilon = 0.5) on the 2x2 grid.
ZHAO_FIG_8_5_P_T = [[0.3, 0.1, 0.1, 0.0], [0.1, 0.3, 0.0, 0.1], [0.6, 0.0, 0.3, 0.1], [0.0, 0.6, 0.6, 0.8]]


def _sampled(opts: ReproduceOptions) -> dict[str, Any]:
    """What an entry drawn from random numbers records of them."""
    return {"seed": opts.seed, "seed_dependent": True}


def _rmse(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(x) - np.asarray(y)) ** 2)))


def _surface(ax: Any, values: np.ndarray, title: str) -> None:
    """A 3-D surface of 5x5 state values over (column, row), as the book draws them."""
    n_rows, n_cols = values.shape
    cols, rows = np.meshgrid(np.arange(1, n_cols + 1), np.arange(1, n_rows + 1))
    ax.plot_surface(cols, rows, values, cmap="viridis", edgecolor="k", linewidth=0.3)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_zlabel("state value")
    ax.invert_yaxis()
    ax.set_title(title, fontsize=9)


# ----- 8.5 -----


@FIGURES.add("zhao-fig-8.5", "stationary distribution of an epsilon-greedy policy: exact and visit frequencies")
def zhao_fig_8_5(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """The stationary distribution of an epsilon-greedy policy (epsilon = 0.5) on a 2x2 grid: exact from the
    transition matrix (an eigenvector of P_pi^T) and the visit frequencies of one long episode."""
    from rlsuite.agents.approx.linear import stationary_distribution
    from rlsuite.agents.base import epsilon_greedy

    env = _grid_env(n_rows=2, n_cols=2, forbidden=[(1, 2)], target=(2, 2))
    model = env.unwrapped.tabular_model
    greedy = np.eye(5)[[2, 2, 1, 4]]  # s1 down, s2 down, s3 right, s4 stay: the book's policy
    pi = epsilon_greedy(greedy, 0.5)
    T_pi, _ = model.policy_matrices(pi)
    d = stationary_distribution(T_pi)
    steps = 1000
    rng = np.random.default_rng(opts.seed)
    s, visits = 0, np.zeros((steps, 4))
    counts = np.zeros(4)
    for t in range(steps):
        counts[s] += 1
        visits[t] = counts / (t + 1)
        s = int(rng.choice(4, p=T_pi[s]))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i in range(4):
        line = ax.plot(np.arange(1, steps + 1), visits[:, i], label=f"s{i + 1}: visit frequency")[0]
        ax.plot([steps], [d[i]], "*", ms=12, color=line.get_color(), label=f"s{i + 1}: d_pi (exact) = {d[i]:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("step index")
    ax.set_ylabel("percentage of visits")
    ax.set_title("Zhao fig. 8.5: long-run behaviour of an epsilon-greedy policy (epsilon = 0.5), 2x2 grid")
    _legend_outside(ax)
    _save(fig, out / "zhao-fig-8.5.png")
    matches = bool(np.allclose(T_pi.T, ZHAO_FIG_8_5_P_T, atol=1e-9))
    return {
        "figure": "Zhao, Mathematical Foundations of RL, figure 8.5",
        "entries": [
            {
                "P_pi_transposed": np.round(T_pi.T, 4).tolist(),
                "P_pi_transposed_matches_book": matches,
                "d_pi_exact": np.round(d, 4).tolist(),
                "visit_frequency_after": {str(n): np.round(visits[n - 1], 4).tolist() for n in (10, 100, steps)},
                "steps": steps,
                **_sampled(opts),
            }
        ],
        "summary": f"d_pi = {np.round(d, 4).tolist()} (P_pi as printed: {matches}); visit frequencies after "
        f"{steps} steps {np.round(visits[-1], 3).tolist()}",
    }


# ----- 8.6-8.8 -----


@FIGURES.add("zhao-fig-8.6", "the evaluated policy's true state values: table and 3-D surface")
def zhao_fig_8_6(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """The policy evaluated (uniform), its true state values as a table and as a 3-D surface."""
    from rlsuite.agents.approx.linear import TDLinear

    env = _grid_env()
    agent = TDLinear(env)
    v = agent.v_pi.reshape(5, 5)
    plt = _plt()
    fig = plt.figure(figsize=(12, 4.8))
    ax1 = fig.add_subplot(1, 2, 1)
    _grid_panel(env, agent.v_pi, np.full(25, 4), ax1, "true v_pi (the policy: every action 0.2; circle: no arrow)")
    ax2 = fig.add_subplot(1, 2, 2, projection="3d")
    _surface(ax2, v, "true state values as a surface")
    fig.suptitle("Zhao fig. 8.6: the uniform policy's true state values (gamma = 0.9, r_boundary = r_forbidden = -1)")
    _save(fig, out / "zhao-fig-8.6.png")
    ours = np.round(v, 1)
    matches = bool(all(np.allclose(ours[r], row, atol=0.051) for r, row in ZHAO_FIG_8_6.items()))
    return {
        "figure": "Zhao, Mathematical Foundations of RL, figure 8.6",
        "entries": [
            {
                "v_pi": ours.tolist(),
                "book_rows": {str(r): row for r, row in ZHAO_FIG_8_6.items()},
                "matches_book": matches,
                "seed_dependent": False,
            }
        ],
        "summary": f"v_pi matches the book's printed rows: {matches}",
    }


def _td_linear_figure(out: Path, opts: ReproduceOptions, name: str, kind: str, orders: list[int]) -> dict[str, Any]:
    """TD-Linear with ``kind`` features of each order: the estimated surface and the RMSE per episode."""
    from rlsuite.agents.approx.features import state_features
    from rlsuite.agents.approx.linear import TDLinear, TDLinearConfig, td_fixed_point

    env = _grid_env()
    episodes = opts.episodes or 500
    plt = _plt()
    fig = plt.figure(figsize=(5 * (len(orders) + 1), 8.5))
    truth = TDLinear(env)
    _surface(fig.add_subplot(2, len(orders) + 1, 1, projection="3d"), truth.v_pi.reshape(5, 5), "true v_pi")
    entries = []
    for i, order in enumerate(orders):
        agent = TDLinear(env, TDLinearConfig(features=kind, order=order))
        history = agent.learn(episodes, seed=opts.seed)
        phi = state_features(env, kind, order, "TDLinear")
        fixed = _rmse(phi @ td_fixed_point(agent.model, agent.pi, phi, agent.gamma), agent.v_pi)
        dim = phi.shape[1]
        label = f"order {order}, phi(s) in R^{dim}"
        _surface(
            fig.add_subplot(2, len(orders) + 1, i + 2, projection="3d"),
            agent.state_values.reshape(5, 5),
            f"TD-Linear estimate, {label}",
        )
        ax = fig.add_subplot(2, len(orders) + 1, len(orders) + 1 + i + 2)
        ax.plot(history["episode"], history["rmse"], label="TD-Linear: alpha = 0.0005")
        ax.axhline(fixed, ls="--", color="k", label=f"TD fixed point (exact): {fixed:.3f}")
        ax.set_xlabel("episode index")
        ax.set_ylabel("state value error (RMSE)")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=8)
        entries.append(
            {
                "features": kind,
                "order": order,
                "dimension": dim,
                "episodes": episodes,
                "rmse_first": float(history["rmse"][0]),
                "rmse_last": float(history["rmse"][-1]),
                "rmse_last_50_mean": float(history["rmse"][-50:].mean()),
                "rmse_td_fixed_point": fixed,
                **_sampled(opts),
            }
        )
    fig.suptitle(
        f"Zhao {name.removeprefix('zhao-')}: TD-Linear with {kind} features, 500 episodes of 500 steps, "
        "w0 ~ N(0, 1), alpha = 0.0005, gamma = 0.9"
    )
    _save(fig, out / f"{name}.png")
    fixed_points = [e["rmse_td_fixed_point"] for e in entries]
    falls = bool(all(a > b for a, b in itertools.pairwise(fixed_points)))
    return {
        "figure": f"Zhao, Mathematical Foundations of RL, figure {name.removeprefix('zhao-fig-')}",
        "entries": entries,
        "claims": {"rmse_of_the_td_fixed_point_falls_with_the_order": falls},
        "summary": f"{kind} orders {orders}: final RMSE {[round(e['rmse_last'], 3) for e in entries]}, "
        f"TD fixed point {[round(f, 3) for f in fixed_points]} (falls with the order: {falls})",
    }


@FIGURES.add("zhao-fig-8.7", "TD-Linear with polynomial features vs the true v_pi (surfaces, RMSE)")
def zhao_fig_8_7(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """TD-Linear with the polynomial features (8.15)-(8.17)."""
    return _td_linear_figure(out, opts, "zhao-fig-8.7", "polynomial", [1, 2, 3])


@FIGURES.add("zhao-fig-8.8", "TD-Linear with Fourier features vs the true v_pi (surfaces, RMSE)")
def zhao_fig_8_8(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """TD-Linear with the Fourier features (8.18), q = 1, 2, 3."""
    return _td_linear_figure(out, opts, "zhao-fig-8.8", "fourier", [1, 2, 3])


# ----- 8.9-8.10 -----


def _linear_control_figure(out: Path, opts: ReproduceOptions, name: str, algo: str) -> dict[str, Any]:
    from rlsuite.agents.approx.linear import LinearQLearning, LinearSarsa

    env = _grid_env(**HARSH)
    cls = LinearSarsa if algo == "Sarsa" else LinearQLearning
    agent = cls(env)
    episodes = opts.episodes or 500
    history = agent.learn(episodes, seed=opts.seed)
    plt = _plt()
    fig = plt.figure(figsize=(13, 5.5))
    ax1, ax2 = fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 3)
    ax1.plot(history["episode"], history["return"])
    ax1.set_ylabel("total reward")
    ax2.plot(history["episode"], history["length"])
    ax2.set_ylabel("episode length")
    ax2.set_xlabel("episode index")
    ax3 = fig.add_subplot(1, 2, 2)
    _grid_panel(env, agent.state_values, agent.policy.argmax(axis=1), ax3, "learned q: max_a q_hat and greedy action")
    fig.suptitle(
        f"Zhao {name.removeprefix('zhao-')}: {algo} with linear (Fourier, order 5) features from the "
        "top-left cell; gamma = 0.9, epsilon = 0.1, alpha = 0.001, r_boundary = r_forbidden = -10"
    )
    _save(fig, out / f"{name}.png")
    path = _greedy_path(env, agent.policy.argmax(axis=1))
    last = history.last()
    reaches = path[-1] == env.unwrapped.target_state
    return {
        "figure": f"Zhao, Mathematical Foundations of RL, figure {name.removeprefix('zhao-fig-')}",
        "entries": [
            {
                "algorithm": algo,
                "episodes": episodes,
                "returns": history["return"].tolist(),
                "lengths": history["length"].astype(int).tolist(),
                "greedy_policy": _action_names(agent.policy),
                "greedy_path_from_top_left": path,
                "greedy_path_reaches_target": bool(reaches),
                "final_gap_to_optimum": last["gap_to_optimum"],
                "final_optimal_fraction": last["optimal_fraction"],
                **_sampled(opts),
            }
        ],
        "summary": f"greedy path from the top-left reaches the target in {len(path) - 1} steps: {bool(reaches)}; "
        f"last 50 episodes: mean length {history['length'][-50:].mean():.1f}, mean total reward "
        f"{history['return'][-50:].mean():.1f}; greedy action optimal in {last['optimal_fraction']:.0%} of states",
    }


def _greedy_path(env: Any, greedy: np.ndarray, start: int = 0, limit: int = 25) -> list[int]:
    """The states the greedy policy visits from ``start`` until the target (or ``limit`` moves)."""
    base = env.unwrapped
    path = [start]
    while path[-1] != base.target_state and len(path) <= limit:
        path.append(int(base.next_state_table[path[-1], greedy[path[-1]]]))
    return path


@FIGURES.add("zhao-fig-8.9", "Sarsa with linear features: total reward and episode length")
def zhao_fig_8_9(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Sarsa with linear function approximation (Algorithm 8.2): total reward and length per episode."""
    return _linear_control_figure(out, opts, "zhao-fig-8.9", "Sarsa")


@FIGURES.add("zhao-fig-8.10", "Q-learning with linear features: total reward and episode length")
def zhao_fig_8_10(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Q-learning with linear function approximation (Algorithm 8.3, on-policy)."""
    return _linear_control_figure(out, opts, "zhao-fig-8.10", "Q-learning")


# ----- 8.11-8.12 -----


def _dqn_figure(out: Path, opts: ReproduceOptions, name: str, steps: int, batch: int) -> dict[str, Any]:
    from rlsuite.agents.approx.dqn import DeepQLearning, DQNConfig

    env = _grid_env(**HARSH)
    agent = DeepQLearning(env, DQNConfig(episode_steps=steps, replay_size=steps, batch_size=batch))
    history = agent.learn(1000, seed=opts.seed)
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.6))
    counts = np.bincount(agent.buffer["s"].cpu().numpy(), minlength=25).reshape(5, 5)
    im = axes[0].imshow(counts, cmap="Blues")
    fig.colorbar(im, ax=axes[0], fraction=0.046)
    axes[0].set_title(f"the behaviour episode ({steps} steps, uniform): visits per state", fontsize=9)
    axes[0].set_xlabel("column")
    axes[0].set_ylabel("row")
    _grid_panel(env, agent.state_values, agent.policy.argmax(axis=1), axes[1], "the final learned policy")
    axes[2].plot(history["iteration"], history["loss"])
    axes[2].set_xlabel("iteration index")
    axes[2].set_ylabel("TD error / loss function")
    axes[3].plot(history["iteration"], history["rmse"])
    axes[3].set_xlabel("iteration index")
    axes[3].set_ylabel("state value error (RMSE)")
    fig.suptitle(
        f"Zhao {name.removeprefix('zhao-')}: deep Q-learning from one {steps}-step episode, batch size "
        f"{batch}, one-hot input, 100 hidden units; gamma = 0.9, r_boundary = r_forbidden = -10"
    )
    _save(fig, out / f"{name}.png")
    last = history.last()
    return {
        "figure": f"Zhao, Mathematical Foundations of RL, figure {name.removeprefix('zhao-fig-')}",
        "entries": [
            {
                "episode_steps": steps,
                "batch_size": batch,
                "iterations": 1000,
                "visited_pairs": agent.visited_pairs(),
                "loss_first": float(history["loss"][0]),
                "loss_last": last["loss"],
                "rmse_first": float(history["rmse"][0]),
                "rmse_last": last["rmse"],
                "gap_to_optimum": last["gap_to_optimum"],
                "optimal_fraction": last["optimal_fraction"],
                "greedy_policy": _action_names(agent.policy),
                **_sampled(opts),
            }
        ],
        "summary": f"{agent.visited_pairs()} of 125 (s, a) visited; loss {history['loss'][0]:.2f} -> "
        f"{last['loss']:.4f}, "
        f"RMSE to v* {history['rmse'][0]:.2f} -> {last['rmse']:.2f}; greedy optimal in "
        f"{last['optimal_fraction']:.0%} of states",
    }


@FIGURES.add("zhao-fig-8.11", "deep Q-learning from one 1000-step episode: policy, loss, value error")
def zhao_fig_8_11(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Deep Q-learning from one 1000-step uniform episode, batch size 100."""
    return _dqn_figure(out, opts, "zhao-fig-8.11", 1000, 100)


@FIGURES.add("zhao-fig-8.12", "deep Q-learning from one 100-step episode: the loss fits, the values do not")
def zhao_fig_8_12(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Deep Q-learning from one 100-step uniform episode, batch size 50."""
    return _dqn_figure(out, opts, "zhao-fig-8.12", 100, 50)


# ----- 10.2 -----


@FIGURES.add("zhao-fig-10.2", "importance sampling: plain vs weighted average of samples from p1")
def zhao_fig_10_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Importance sampling: samples of X in {+1, -1} from p1 (0.8, 0.2); the plain average tends to
    E_p1[X] = 0.6, the importance-weighted one (10.10) to E_p0[X] = 0 for p0 = (0.5, 0.5)."""
    n = 200
    p0, p1 = {1: 0.5, -1: 0.5}, {1: 0.8, -1: 0.2}
    rng = np.random.default_rng(opts.seed)
    x = np.where(rng.random(n) < p1[1], 1, -1)
    weights = np.where(x == 1, p0[1] / p1[1], p0[-1] / p1[-1])
    k = np.arange(1, n + 1)
    average = np.cumsum(x) / k
    weighted = np.cumsum(weights * x) / k
    exact = {
        "E_p0": sum(v * p for v, p in p0.items()),
        "E_p1": sum(v * p for v, p in p1.items()),
        "E_p1_of_weighted": sum(p1[v] * (p0[v] / p1[v]) * v for v in (1, -1)),
    }
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(k, x, "o", ms=3, mfc="none", label="samples (from p1)")
    ax.plot(k, average, ":", lw=2, label="average")
    ax.plot(k, weighted, "-", lw=2, label="importance sampling")
    ax.axhline(exact["E_p1"], color="grey", lw=0.6)
    ax.axhline(exact["E_p0"], color="grey", lw=0.6)
    ax.set_ylim(-2, 2)
    ax.set_xlabel("sample index")
    ax.set_ylabel("value")
    ax.set_title("Zhao fig. 10.2: importance sampling; p0(+1) = p0(-1) = 0.5, samples from p1(+1) = 0.8, p1(-1) = 0.2")
    _legend_outside(ax)
    _save(fig, out / "zhao-fig-10.2.png")
    return {
        "figure": "Zhao, Mathematical Foundations of RL, figure 10.2",
        "entries": [
            {
                "samples": n,
                "exact": exact,
                "average_last": float(average[-1]),
                "importance_sampling_last": float(weighted[-1]),
                "fraction_of_plus_one": float((x == 1).mean()),
                **_sampled(opts),
            }
        ],
        "summary": f"after {n} samples: average {average[-1]:.3f} (E_p1[X] = 0.6), importance-weighted "
        f"{weighted[-1]:.3f} (E_p0[X] = 0)",
    }
