"""Zhao's *Mathematical Foundations of RL*, chapters 5-7: Monte Carlo, stochastic approximation, TD learning.

The sampled figures take ``--seed``; their JSON says so (``seed_dependent``). The book's examples learn
from single streams of experience (one episode of a million steps, one behaviour episode of 100,000
steps, episodes from one start state): :mod:`rlsuite.agents.tabular.stream` runs them sample by sample.
The figures not here (5.4, 5.7, 6.5) are in ``zhao.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.app.reproduce._common import FigureTable, ReproduceOptions, _grid_env, _legend_outside, _plt, _save
from rlsuite.app.reproduce.zhao_ch2_4 import FIG_2_7, book_match, grid_rows, letters, policy_and_values, policy_of

FIGURES = FigureTable()


# ----- chapter 5 -----
@FIGURES.add("zhao-fig-5.2", "law of large numbers: the average of coin flips")
def zhao_fig_5_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """The law of large numbers: the running average of +1/-1 coin flips approaches E[X] = 0."""
    rng = np.random.default_rng(opts.seed)
    x = rng.choice([-1.0, 1.0], size=200)
    k = np.arange(1, len(x) + 1)
    average = np.cumsum(x) / k
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(k, x, "o", ms=3, mfc="none", label="samples")
    ax.plot(k, average, lw=1.8, label="average")
    ax.set_ylim(-2, 2)
    ax.set_xlabel("Sample index")
    ax.set_ylabel("sample x_k, average of x_1..x_k")
    ax.set_title(f"Zhao fig. 5.2: the law of large numbers (X uniform on {{+1, -1}}, E[X] = 0; seed {opts.seed})")
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    _save(fig, out / "zhao-fig-5.2.png")
    marks = [10, 50, 100, 200]
    entry = {"samples": x.tolist(), "average": average.round(6).tolist(), "seed": opts.seed, "seed_dependent": True}
    return {"figure": "Zhao, figure 5.2", "entries": [entry],
            "summary": "average after " + ", ".join(f"{m}: {average[m - 1]:+.3f}" for m in marks) + " samples"}


SINGLE_EPISODE_STEPS = 1_000_000  # figs 5.5 and 5.8: one episode of a million steps

FIG_5_3_POLICY = ["U D R", "R D D", "R R S"]  # pi_0 of fig 5.3


@FIGURES.add("zhao-fig-5.3", "MC Basic, one iteration on the 3x3 example")
def zhao_fig_5_3(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """MC Basic on the 3x3 example: q_pi0(s1, a) from one episode per action, and the improved policy."""
    from rlsuite.agents.tabular.mc import MCBasic, MCBasicConfig
    from rlsuite.envs.plotting import plot_grid

    gamma = 0.9
    env = _grid_env(n_rows=3, n_cols=3, forbidden=[(2, 3), (3, 1)], target=(3, 3))
    agent = MCBasic(env, MCBasicConfig(episode_length=300))  # gamma^300: the truncation is below 1e-13
    agent.pi = policy_of(FIG_5_3_POLICY)
    agent.learn(1, seed=opts.seed)  # one iteration: estimate q_pi0 from episodes, then act greedily
    q = agent.q
    book = [-1 / (1 - gamma), gamma**3 / (1 - gamma), gamma**3 / (1 - gamma), -1 / (1 - gamma), -gamma / (1 - gamma)]
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), gridspec_kw={"width_ratios": [1, 1.5, 1]})
    plot_grid(env, policy=policy_of(FIG_5_3_POLICY), ax=axes[0], title="initial policy pi_0")
    names = ["a1 up", "a2 right", "a3 down", "a4 left", "a5 stay"]
    axes[1].bar(range(5), q[0], color="tab:green", label="MC estimate (one episode each)")
    axes[1].plot(range(5), book, "k_", ms=30, mew=2, label="the book's closed form")
    axes[1].set_xticks(range(5), names)
    axes[1].set_xlabel("action a at s1")
    axes[1].set_ylabel("q_pi0(s1, a)")
    axes[1].set_title("action values of s1 from the returns of the episodes starting at (s1, a)", fontsize=9)
    _legend_outside(axes[1])
    plot_grid(env, policy=agent.policy, values=agent.state_values, ax=axes[2], title="pi_1 (greedy) and max_a q")
    fig.suptitle("Zhao fig. 5.3: MC Basic, one iteration (r_boundary = r_forbidden = -1, r_target = 1, gamma = 0.9)")
    _save(fig, out / "zhao-fig-5.3.png")
    entry = {"q_s1": np.round(q[0], 4).tolist(), "book_q_s1": np.round(book, 4).tolist(),
             "matches_book": bool(np.allclose(q[0], book, atol=1e-9)), "pi0": FIG_5_3_POLICY,
             "pi1": letters(agent.policy, 3), "seed_dependent": False}  # fmt: skip
    return {"figure": "Zhao, figure 5.3", "entries": [entry],
            "summary": f"q_pi0(s1, .) = {entry['q_s1']}; pi_1 = {entry['pi1']}"}


def _optimal_epsilon_greedy(model: Any, epsilon: float, gamma: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """The best epsilon-greedy policy and its values: policy iteration within the epsilon-greedy policies."""
    from rlsuite.agents.base import epsilon_greedy
    from rlsuite.agents.tabular.solvers import policy_evaluation

    q = np.zeros((model.n_states, model.n_actions))
    pi = epsilon_greedy(q, epsilon)
    for _ in range(200):
        v = policy_evaluation(model, pi, gamma)
        new = epsilon_greedy(model.q_values(v, gamma) + 1e-12 * pi, epsilon)
        if np.array_equal(new, pi):
            break
        pi = new
    return pi, policy_evaluation(model, pi, gamma)


@FIGURES.add("zhao-fig-5.5", "MC epsilon-greedy from single episodes of 1M steps")
def zhao_fig_5_5(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """MC epsilon-greedy (epsilon = 0.5) from one episode of a million steps per iteration."""
    from rlsuite.agents.tabular.stream import mc_epsilon_greedy_single_episodes
    from rlsuite.envs.plotting import plot_grid

    env = _grid_env()
    model = env.unwrapped.tabular_model
    steps = SINGLE_EPISODE_STEPS
    rng = np.random.default_rng(opts.seed)
    policies = mc_epsilon_greedy_single_episodes(model, np.full((25, 5), 0.2), 0.5, 0.9, 2, steps, 0, rng)
    _, v_best = _optimal_epsilon_greedy(model, 0.5)
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.6))
    entries = []
    for ax, pi, label in zip(axes, policies, ("(a) initial policy", "(b) after the first iteration",
                                                "(c) after the second iteration"), strict=True):  # fmt: skip
        plot_grid(env, policy=pi, ax=ax, title=label)
        v = np.linalg.solve(np.eye(25) - 0.9 * model.policy_matrices(pi)[0], model.policy_matrices(pi)[1])
        entries.append({"panel": label, "greedy_policy": letters(pi, 5), "values": grid_rows(env, v),
                        "max_gap_to_optimal_eps_greedy": float(np.max(v_best - v)),
                        "seed": opts.seed, "seed_dependent": True})  # fmt: skip
    fig.suptitle(f"Zhao fig. 5.5: MC epsilon-greedy (epsilon = 0.5), one episode of {steps:,} steps per iteration "
                 f"from the top left\n(r_boundary = r_forbidden = -1, gamma = 0.9; seed {opts.seed})")  # fmt: skip
    _save(fig, out / "zhao-fig-5.5.png")
    return {"figure": "Zhao, figure 5.5", "episode_steps": steps, "optimal_eps_greedy_values": grid_rows(env, v_best),
            "entries": entries,
            "summary": "max gap of v_pi to the optimal 0.5-greedy values: "
            + ", ".join(f"{e['max_gap_to_optimal_eps_greedy']:.2f}" for e in entries)}  # fmt: skip


# Fig 5.6's printed values: epsilon-greedy versions of fig 2.7's second good policy, r_forbidden = -10.
FIG_5_6 = {
    0.0: FIG_2_7["good policy 2"][1],
    0.1: [[0.4, 0.5, 0.9, 1.3, 1.4], [0.1, 0.0, 0.5, 1.3, 1.7], [0.1, -0.4, 3.4, 1.4, 1.9],
          [-0.1, 3.4, 3.3, 3.7, 2.2], [-0.3, 2.6, 3.7, 3.1, 2.7]],
    0.2: [[-2.2, -2.4, -2.1, -1.7, -1.8], [-2.5, -3.0, -3.3, -2.3, -2.0], [-2.3, -3.3, -2.5, -2.8, -2.2],
          [-2.5, -2.5, -2.8, -2.0, -2.4], [-2.8, -3.2, -2.1, -2.3, -2.2]],
    0.5: [[-8.0, -9.0, -8.4, -7.2, -7.8], [-8.7, -10.8, -12.4, -9.6, -8.9], [-8.3, -12.3, -15.3, -12.3, -10.5],
          [-9.7, -15.5, -17.0, -14.4, -12.2], [-10.9, -16.7, -15.2, -14.3, -12.4]],
}  # fmt: skip


def epsilon_greedy_values(env: Any, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """Fig 5.6's policy for ``epsilon`` (epsilon-greedy in fig 2.7's second good policy) and its exact values."""
    from rlsuite.agents.base import epsilon_greedy
    from rlsuite.app.reproduce.zhao_ch2_4 import values_of

    pi = epsilon_greedy(policy_of(FIG_2_7["good policy 2"][0]), epsilon)
    return pi, values_of(env, pi)


@FIGURES.add("zhao-fig-5.6", "state values of epsilon-greedy policies, epsilon 0..0.5")
def zhao_fig_5_6(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """State values of epsilon-greedy policies consistent with one optimal policy, epsilon 0..0.5 (exact)."""
    from rlsuite.agents.tabular.solvers import policy_evaluation
    from rlsuite.app.reproduce.zhao_ch2_4 import book_bump_model
    env = _grid_env(r_forbidden=-10.0)
    plt = _plt()
    fig, axes = plt.subplots(2, 4, figsize=(16, 8.6))
    entries = []
    for pair, (eps, book) in zip(axes.reshape(4, 2), FIG_5_6.items(), strict=True):
        pi, v = epsilon_greedy_values(env, eps)
        policy_and_values(env, pi, v, pair, f"epsilon = {eps}")
        v_book = policy_evaluation(book_bump_model(env), pi, 0.9)  # the book's price of a wall from (5, 2)
        entries.append({"epsilon": eps, "values": grid_rows(env, v), **book_match(v, book),
                        "book_wall_price": {"values": grid_rows(env, v_book), **book_match(v_book, book)},
                        "seed_dependent": False})  # fmt: skip
    fig.suptitle("Zhao fig. 5.6: epsilon-greedy policies with the same greedy actions and their state values "
                 "(r_forbidden = -10, gamma = 0.9)")  # fmt: skip
    _save(fig, out / "zhao-fig-5.6.png")
    counts = [f"{e['cells_matching_book']}/25" for e in entries]
    book_counts = [f"{e['book_wall_price']['cells_matching_book']}/25" for e in entries]
    return {"figure": "Zhao, figure 5.6", "entries": entries,
            "summary": f"cells matching the book's tables for epsilon 0, 0.1, 0.2, 0.5: {counts}; with the book's "
            f"price for walking into the wall from a forbidden cell (r_boundary + r_forbidden): {book_counts}"}


def draw_trajectory(ax: Any, env: Any, states: np.ndarray, color: str = "limegreen") -> None:
    """A trajectory over a grid as a line through the visited cells (a little jitter shows repeats)."""
    from rlsuite.envs.plotting import plot_grid

    plot_grid(env, ax=ax)
    base = env.unwrapped
    rows, cols = np.divmod(np.asarray(states), base.n_cols)
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, size=(2, len(states)))
    ax.plot(cols + 0.5 + jitter[0], rows + 0.5 + jitter[1], color=color, lw=0.6, alpha=0.8)
    ax.plot([cols[0] + 0.5], [rows[0] + 0.5], "*", color="tab:blue", ms=12)


def stationary_pair_frequencies(model: Any, pi: np.ndarray) -> np.ndarray:
    """The long-run frequency of each (s, a) [S, A] under ``pi``: d_pi(s) pi(a | s), d_pi from P_pi."""
    T, _ = model.policy_matrices(pi)
    w, vecs = np.linalg.eig(T.T)
    d = np.real(vecs[:, np.argmin(np.abs(w - 1.0))])
    return (d / d.sum())[:, None] * pi


@FIGURES.add("zhao-fig-5.8", "exploration of epsilon-greedy policies (epsilon 1, 0.5)")
def zhao_fig_5_8(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Exploration of epsilon-greedy policies: trajectories of 100..10,000 steps, and visits in a million."""
    from rlsuite.agents.base import epsilon_greedy
    from rlsuite.agents.tabular.stream import sample_trajectory

    env = _grid_env()
    model = env.unwrapped.tabular_model
    total = SINGLE_EPISODE_STEPS
    greedy = policy_of(FIG_2_7["good policy 1"][0])
    plt = _plt()
    fig, axes = plt.subplots(2, 4, figsize=(18, 8.4), gridspec_kw={"width_ratios": [1, 1, 1, 1.8]})
    entries = []
    for row, eps in zip(axes, (1.0, 0.5), strict=True):
        pi = epsilon_greedy(greedy, eps)
        states, actions, _ = sample_trajectory(model, pi, 0, total, np.random.default_rng(opts.seed))
        for ax, n in zip(row[:3], (100, 1000, 10_000), strict=True):
            draw_trajectory(ax, env, states[: n + 1])
            ax.set_title(f"epsilon = {eps}, trajectory of {n:,} steps", fontsize=9)
        visits = np.bincount(states[:-1] * 5 + actions, minlength=125)
        expected = stationary_pair_frequencies(model, pi).reshape(-1) * total
        row[3].plot(np.arange(1, 126), visits, ".-", lw=0.8, label="visits")
        row[3].plot(np.arange(1, 126), expected, "k--", lw=0.8, label="d_pi(s) pi(a|s) x steps")
        row[3].set_xlabel("State-action index (5 (s - 1) + a)")
        row[3].set_ylabel("Visited times")
        row[3].set_title(f"epsilon = {eps}: visits of each (s, a) in {total:,} steps", fontsize=9)
        _legend_outside(row[3])
        entries.append({"epsilon": eps, "steps": total, "visits": visits.tolist(),
                        "expected_visits": expected.round(1).tolist(),
                        "pairs_never_visited": int((visits == 0).sum()), "seed": opts.seed,
                        "seed_dependent": True})  # fmt: skip
    fig.suptitle(f"Zhao fig. 5.8: exploration of epsilon-greedy policies (greedy actions of an optimal policy; seed "
                 f"{opts.seed})")  # fmt: skip
    _save(fig, out / "zhao-fig-5.8.png")
    spread = [f"{min(e['visits'])}..{max(e['visits'])}" for e in entries]
    return {"figure": "Zhao, figure 5.8", "entries": entries,
            "summary": f"visits per (s, a) in {total:,} steps: epsilon 1: {spread[0]}, epsilon 0.5: {spread[1]}"}


# ----- chapter 6 -----
@FIGURES.add("zhao-fig-6.3", "Robbins-Monro on w^3 - 5 with noisy observations")
def zhao_fig_6_3(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Robbins-Monro on g(w) = w^3 - 5 from observations with N(0, 1) noise, w_1 = 0."""
    from rlsuite.agents.tabular.sa import robbins_monro

    noise: list[float] = []

    def g_noisy(w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noise.append(float(rng.standard_normal()))
        return w**3 - 5.0 + noise[-1]

    scale = 0.4  # a_k = 0.4 / k: from w_1 = 0, a_1 = 1 jumps to w_2 = 5 and diverges (g grows like w^3)
    w = robbins_monro(g_noisy, 0.0, 50, np.random.default_rng(opts.seed), step_size=lambda k: scale / k)
    root = 5.0 ** (1 / 3)
    k = np.arange(1, len(w) + 1)
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax1.plot(k, w, "o-", ms=3, mfc="none", label="w_k")
    ax1.axhline(root, color="0.5", ls="--", label="root 5^(1/3)")
    ax1.set_ylabel("Estimated root w_k")
    ax1.set_xlabel("Iteration index k")
    _legend_outside(ax1)
    ax2.plot(k[:-1], noise, "o-", ms=3, mfc="none", color="tab:green", label="eta_k")
    ax2.set_ylabel("Observation noise eta_k")
    ax2.set_xlabel("Iteration index k")
    _legend_outside(ax2)
    fig.suptitle(f"Zhao fig. 6.3: Robbins-Monro on g(w) = w^3 - 5, w_1 = 0, a_k = {scale}/k (seed {opts.seed})")
    _save(fig, out / "zhao-fig-6.3.png")
    return {"figure": "Zhao, figure 6.3", "entries": [{"w": w.round(6).tolist(), "noise": noise,
            "step_size": f"{scale}/k",
            "note": "the book says a_k = 1/k; from w_1 = 0 that jumps to w_2 = 5 - eta_1 and "
            "diverges; the book's plotted w_2 is near 2, as with a_1 = 0.4", "seed": opts.seed,
            "seed_dependent": True}],
            "summary": f"w_51 = {w[-1]:.3f} (root {root:.3f})"}  # fmt: skip


@FIGURES.add("zhao-fig-6.4", "Robbins-Monro on tanh(w - 1) without noise")
def zhao_fig_6_4(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Robbins-Monro without noise on g(w) = tanh(w - 1) from w_1 = 3: each step moves toward the root."""
    from rlsuite.agents.tabular.sa import robbins_monro

    w = robbins_monro(lambda w, rng: np.tanh(w - 1.0), 3.0, 30, np.random.default_rng(0))
    grid = np.linspace(0.5, 4.0, 200)
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.4))
    ax1.plot(grid, np.tanh(grid - 1.0), label="g(w) = tanh(w - 1)")
    ax1.plot(w[:6], np.tanh(w[:6] - 1.0), "o", color="tab:red", label="(w_k, g(w_k)), k = 1..6")
    for i, x in enumerate(w[:4]):
        ax1.annotate(f"w_{i + 1}", (x, 0.0), textcoords="offset points", xytext=(0, -14), ha="center", fontsize=8)
        ax1.plot([x], [0.0], "|", color="k", ms=10)
    ax1.axhline(0.0, color="0.5", lw=0.8)
    ax1.set_xlabel("w")
    ax1.set_ylabel("g(w)")
    ax1.set_title("g and the iterates", fontsize=9)
    _legend_outside(ax1)
    ax2.plot(np.arange(1, len(w) + 1), w, "o-", ms=3, label="w_k")
    ax2.axhline(1.0, color="0.5", ls="--", label="root w* = 1")
    ax2.set_xlabel("Iteration index k")
    ax2.set_ylabel("w_k")
    ax2.set_title("w_{k+1} = w_k - g(w_k) / k", fontsize=9)
    _legend_outside(ax2)
    fig.suptitle("Zhao fig. 6.4: why Robbins-Monro converges (g(w) = tanh(w - 1), no noise, w_1 = 3, a_k = 1/k)")
    _save(fig, out / "zhao-fig-6.4.png")
    return {"figure": "Zhao, figure 6.4", "entries": [{"w": w.round(8).tolist(), "seed_dependent": False}],
            "summary": f"w_1 .. w_5 = {w[:5].round(3).tolist()}, w_31 = {w[-1]:.4f} (root 1)"}


# ----- chapter 7 -----
def _td_control_figure(out: Path, opts: ReproduceOptions, method: str, number: str, title: str) -> dict[str, Any]:
    """Figs 7.2 / 7.3: the learned policy, and the total reward and length of every episode."""
    from rlsuite.agents.base import epsilon_greedy
    from rlsuite.agents.tabular.stream import StreamTDConfig, td_control_episodes
    from rlsuite.envs.plotting import plot_grid

    env = _grid_env(r_target=0.0, r_forbidden=-10.0, r_boundary=-10.0, r_other=-1.0, terminate_at_target=True)
    base = env.unwrapped
    cfg = StreamTDConfig()
    result = td_control_episodes(base.tabular_model, 0, base.target_state, cfg, method,  # type: ignore[arg-type]
                                 np.random.default_rng(opts.seed))  # fmt: skip
    path = greedy_path(base.tabular_model, result.q, 0, base.target_state)
    plt = _plt()
    fig = plt.figure(figsize=(13, 5))
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 1.6])
    ax_pi = fig.add_subplot(grid[:, 0])
    plot_grid(env, policy=epsilon_greedy(result.q, cfg.epsilon), ax=ax_pi, title="learned epsilon-greedy policy")
    rows, cols = np.divmod(np.array(path), base.n_cols)
    ax_pi.plot(cols + 0.5, rows + 0.5, color="tab:blue", lw=2, alpha=0.5, label="greedy path from (1, 1)")
    _legend_outside(ax_pi)
    episodes = np.arange(1, cfg.episodes + 1)
    ax_r, ax_l = fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 1])
    ax_r.plot(episodes, result.total_rewards, lw=0.8)
    ax_r.set_ylabel("Total rewards")
    ax_r.set_xlabel("Episode index")
    ax_l.plot(episodes, result.lengths, lw=0.8)
    ax_l.set_ylabel("Episode length")
    ax_l.set_xlabel("Episode index")
    for ax in (ax_r, ax_l):
        ax.grid(alpha=0.3)
    fig.suptitle(f"Zhao fig. {number}: {title}, from the top left to the target\n(r_target = 0, r_forbidden = "
                 f"r_boundary = -10, r_other = -1; alpha = 0.1, epsilon = 0.1, gamma = 0.9; seed {opts.seed})")
    _save(fig, out / f"zhao-fig-{number}.png")
    reaches = path[-1] == base.target_state
    first, last = result.lengths[:50].mean(), result.lengths[-50:].mean()
    return {"figure": f"Zhao, figure {number}", "entries": [{
        "method": method, "total_rewards": result.total_rewards.tolist(), "lengths": result.lengths.tolist(),
        "greedy_path": [list(base.to_cell(s, one_indexed=True)) for s in path],
        "greedy_path_reaches_target": reaches, "config": cfg.to_dict(), "seed": opts.seed, "seed_dependent": True}],
        "summary": f"mean episode length {first:.0f} (first 50) -> {last:.0f} (last 50); the greedy path from "
        f"(1, 1) {f'reaches the target in {len(path) - 1} steps' if reaches else 'does not reach the target'}"}


def greedy_path(model: Any, q: np.ndarray, start: int, target: int, max_steps: int = 50) -> list[int]:
    """The states visited by the greedy policy of ``q`` from ``start`` until ``target`` (or a repeat)."""
    path = [start]
    while path[-1] != target and len(path) <= max_steps:
        s = int(model.next_states[0][int(q[path[-1]].argmax()), path[-1]])
        if s in path:
            break
        path.append(s)
    return path


@FIGURES.add("zhao-fig-7.2", "Sarsa: policy, total reward and length per episode")
def zhao_fig_7_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Sarsa from the top left to the target: the learned policy, the reward and length of each episode."""
    return _td_control_figure(out, opts, "sarsa", "7.2", "Sarsa")


@FIGURES.add("zhao-fig-7.3", "Q-learning on-policy: policy, reward, length per episode")
def zhao_fig_7_3(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """On-policy Q-learning from the top left to the target: the policy, reward and length per episode."""
    return _td_control_figure(out, opts, "q_learning", "7.3", "Q-learning (on-policy)")


BEHAVIOUR_STEPS = 100_000
DRAWN_STEPS = 5_000  # of a behaviour episode, drawn on the grid (the book draws all, a solid mesh)


def _off_policy_run(model: Any, behaviour: np.ndarray, v_star: np.ndarray, q0: float, seed: int) -> dict[str, Any]:
    """Off-policy Q-learning (alpha = 0.1) along one behaviour episode of 100,000 steps from the top left."""
    from rlsuite.agents.tabular.stream import q_learning_along, sample_trajectory

    states, actions, rewards = sample_trajectory(model, behaviour, 0, BEHAVIOUR_STEPS, np.random.default_rng(seed))
    q, steps, rmse = q_learning_along(states, actions, rewards, np.full(behaviour.shape, q0), 0.1, 0.9, v_star)
    return {"states": states, "q": q, "steps": steps, "rmse": rmse}


def _rmse_panel(ax: Any, run: dict[str, Any], title: str) -> None:
    ax.plot(run["steps"], run["rmse"], lw=1)
    ax.set_xlabel("Step in the episode")
    ax.set_ylabel("State value error (RMSE)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)


@FIGURES.add("zhao-fig-7.4", "off-policy Q-learning from a uniform behaviour episode")
def zhao_fig_7_4(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Off-policy Q-learning from one uniform behaviour episode of 100,000 steps, from q0 = 0, 10, 100."""
    from rlsuite.agents.base import greedy_optimal_fraction
    from rlsuite.agents.tabular.agent import exact_optimum
    from rlsuite.app.reproduce.zhao import ZHAO_FIG_3_4
    from rlsuite.envs.plotting import plot_grid

    env = _grid_env()
    model = env.unwrapped.tabular_model
    v_star, q_star = exact_optimum(model, 0.9)
    behaviour = np.full((25, 5), 0.2)
    runs = {q0: _off_policy_run(model, behaviour, v_star, q0, opts.seed) for q0 in (0.0, 10.0, 100.0)}
    plt = _plt()
    fig, axes = plt.subplots(2, 4, figsize=(18, 8.6))
    a = axes.ravel()
    plot_grid(env, policy=np.eye(5)[q_star.argmax(axis=1)], ax=a[0], title="(a) optimal policy")
    plot_grid(env, values=v_star, ax=a[1], title="(b) optimal state values")
    plot_grid(env, policy=behaviour, ax=a[2], title="(c) behaviour policy (uniform)")
    draw_trajectory(a[3], env, runs[0.0]["states"][: DRAWN_STEPS + 1])
    a[3].set_title(f"(d) the episode: its first {DRAWN_STEPS:,} of {BEHAVIOUR_STEPS:,} steps", fontsize=9)
    plot_grid(env, policy=np.eye(5)[runs[0.0]["q"].argmax(axis=1)], ax=a[4], title="(e) learned policy (q0 = 0)")
    for ax, (q0, run), tag in zip(a[5:], runs.items(), "fgh", strict=True):
        _rmse_panel(ax, run, f"({tag}) state value error when q0(s, a) = {q0:g}")
    fig.suptitle(f"Zhao fig. 7.4: off-policy Q-learning from one uniform behaviour episode\n(r_boundary = "
                 f"r_forbidden = -1, r_target = 1, alpha = 0.1, gamma = 0.9; seed {opts.seed})")  # fmt: skip
    _save(fig, out / "zhao-fig-7.4.png")
    book_v = [ZHAO_FIG_3_4["r_forbidden=-1"][0], [6.5, 7.2, 8.0, 7.2, 6.5], [7.2, 8.0, 10.0, 8.0, 7.2],
              [8.0, 10.0, 10.0, 10.0, 8.0], ZHAO_FIG_3_4["r_forbidden=-1"][4]]  # fmt: skip
    entries = [{"panel": "(b) optimal state values", "values": grid_rows(env, v_star), **book_match(v_star, book_v),
                "seed_dependent": False}]  # fmt: skip
    for q0, run in runs.items():
        entries.append({"q0": q0, "steps": run["steps"][::10].tolist(),
                        "rmse": run["rmse"][::10].round(5).tolist(), "final_rmse": float(run["rmse"][-1]),
                        "greedy_optimal_fraction": greedy_optimal_fraction(run["q"], q_star), "seed": opts.seed,
                        "seed_dependent": True})  # fmt: skip
    return {"figure": "Zhao, figure 7.4", "entries": entries,
            "summary": "final RMSE for q0 = 0, 10, 100: " + ", ".join(f"{e['final_rmse']:.3f}" for e in entries[1:])
            + f"; learned greedy policy optimal in {entries[1]['greedy_optimal_fraction']:.0%} of states"}  # fmt: skip


@FIGURES.add("zhao-fig-7.5", "off-policy Q-learning from non-exploratory behaviour")
def zhao_fig_7_5(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Off-policy Q-learning from behaviour policies that explore little: the error barely falls."""
    from rlsuite.agents.base import epsilon_greedy, greedy_optimal_fraction
    from rlsuite.agents.tabular.agent import exact_optimum
    from rlsuite.envs.plotting import plot_grid

    env = _grid_env()
    model = env.unwrapped.tabular_model
    v_star, q_star = exact_optimum(model, 0.9)
    greedy_random = np.random.default_rng(opts.seed).integers(5, size=25)
    behaviours = {
        "(a) epsilon = 0.5, greedy: right": epsilon_greedy(np.eye(5)[np.full(25, 1)], 0.5),
        "(b) epsilon = 0.1, greedy: left": epsilon_greedy(np.eye(5)[np.full(25, 3)], 0.1),
        "(c) epsilon = 0.1, greedy: random": epsilon_greedy(np.eye(5)[greedy_random], 0.1),
    }
    plt = _plt()
    fig, axes = plt.subplots(3, 3, figsize=(14, 13), gridspec_kw={"width_ratios": [1, 1, 1.5]})
    entries = []
    for row, (label, behaviour) in zip(axes, behaviours.items(), strict=True):
        run = _off_policy_run(model, behaviour, v_star, 0.0, opts.seed)
        plot_grid(env, policy=behaviour, ax=row[0], title=f"{label}: behaviour policy")
        draw_trajectory(row[1], env, run["states"][: DRAWN_STEPS + 1])
        row[1].set_title(f"the episode: its first {DRAWN_STEPS:,} of {BEHAVIOUR_STEPS:,} steps", fontsize=9)
        _rmse_panel(row[2], run, "state value error, q0 = 0")
        entries.append({"behaviour": label, "policy": letters(behaviour, 5), "steps": run["steps"][::10].tolist(),
                        "rmse": run["rmse"][::10].round(5).tolist(), "final_rmse": float(run["rmse"][-1]),
                        "greedy_optimal_fraction": greedy_optimal_fraction(run["q"], q_star), "seed": opts.seed,
                        "seed_dependent": True})  # fmt: skip
    fig.suptitle(f"Zhao fig. 7.5: Q-learning drops when the behaviour policy does not explore (alpha = 0.1, "
                 f"gamma = 0.9; seed {opts.seed})")  # fmt: skip
    _save(fig, out / "zhao-fig-7.5.png")
    return {"figure": "Zhao, figure 7.5", "entries": entries,
            "summary": "final RMSE: " + ", ".join(f"{e['final_rmse']:.2f}" for e in entries)
            + f" (from {float(np.sqrt(np.mean(v_star**2))):.2f} at q = 0)"}
