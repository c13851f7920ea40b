"""Sutton & Barto's figures 2.1 and chapters 3-5: grid worlds, DP (car rental, gambler), Blackjack MC.

Every figure runs at the book's size (numbers of episodes and runs) within seconds: the DP figures are
exact array computations on the envs' models, the Blackjack figures play their games in batches
(:mod:`rlsuite.envs.blackjack`) and the one-state MDP of figure 5.4 is sampled in closed form.
The book's printed numbers (figures 3.2, 3.5 and 4.1) are stored beside ours with the comparison.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.app.reproduce._common import FigureTable, ReproduceOptions, _legend_outside, _plt, _save

FIGURES = FigureTable()

# The book's printed numbers (2nd edition).
BOOK_FIG_3_2 = [
    [3.3, 8.8, 4.4, 5.3, 1.5],
    [1.5, 3.0, 2.3, 1.9, 0.5],
    [0.1, 0.7, 0.7, 0.4, -0.4],
    [-1.0, -0.4, -0.4, -0.6, -1.2],
    [-1.9, -1.3, -1.2, -1.4, -2.0],
]
BOOK_FIG_3_5 = [
    [22.0, 24.4, 22.0, 19.4, 17.5],
    [19.8, 22.0, 19.8, 17.8, 16.0],
    [17.8, 19.8, 17.8, 16.0, 14.4],
    [16.0, 17.8, 16.0, 14.4, 13.0],
    [14.4, 16.0, 14.4, 13.0, 11.7],
]
# figure 4.1: v_k of the equiprobable policy, rows of the 4x4 grid, as printed (k = inf: whole numbers)
BOOK_FIG_4_1: dict[str, list[list[float]]] = {
    "0": [[0.0] * 4] * 4,
    "1": [[0.0, -1.0, -1.0, -1.0], [-1.0, -1.0, -1.0, -1.0], [-1.0, -1.0, -1.0, -1.0], [-1.0, -1.0, -1.0, 0.0]],
    "2": [[0.0, -1.7, -2.0, -2.0], [-1.7, -2.0, -2.0, -2.0], [-2.0, -2.0, -2.0, -1.7], [-2.0, -2.0, -1.7, 0.0]],
    "3": [[0.0, -2.4, -2.9, -3.0], [-2.4, -2.9, -3.0, -2.9], [-2.9, -3.0, -2.9, -2.4], [-3.0, -2.9, -2.4, 0.0]],
    "10": [[0.0, -6.1, -8.4, -9.0], [-6.1, -7.7, -8.4, -8.4], [-8.4, -8.4, -7.7, -6.1], [-9.0, -8.4, -6.1, 0.0]],
    "inf": [[0.0, -14.0, -20.0, -22.0], [-14.0, -18.0, -20.0, -20.0], [-20.0, -20.0, -18.0, -14.0],
            [-22.0, -20.0, -14.0, 0.0]],
}
ARROWS = {0: (0.0, -1.0), 1: (1.0, 0.0), 2: (0.0, 1.0), 3: (-1.0, 0.0)}  # up right down left as (dx, dy)
BLACKJACK_TRUE_VALUE = -0.27726  # S&B example 5.4: the state (usable ace, sum 13, dealer 2) under stick-on-20


def _env(env_id: str, **kwargs: Any) -> Any:
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401

    return gym.make(env_id, **kwargs).unwrapped


def _printed(values: np.ndarray, decimals: int = 1) -> np.ndarray:
    """Values rounded as the book prints them: to ``decimals``, halves up (figure 4.1 prints -1.75 as -1.7)."""
    scale = 10.0**decimals
    return np.floor(np.asarray(values) * scale + 0.5) / scale + 0.0


def _value_table(ax: Any, values: np.ndarray, title: str, fmt: str = "{:.1f}", optimal: np.ndarray | None = None,
                 terminal: np.ndarray | None = None) -> None:  # fmt: skip
    """A grid of numbers (and, with ``optimal`` [S, 4] bool, an arrow per optimal action)."""
    n = values.shape[0]
    ax.set_xlim(0, n)
    ax.set_ylim(n, 0)
    ax.set_xticks(range(n + 1), [])
    ax.set_yticks(range(n + 1), [])
    ax.grid(True, color="0.3")
    ax.set_title(title, fontsize=9)
    for r in range(n):
        for c in range(n):
            s = r * n + c
            if terminal is not None and terminal[s]:
                ax.add_patch(_plt().Rectangle((c, r), 1, 1, color="0.8"))
            if optimal is None:
                shown = _printed(values[r, c], 1) if fmt == "{:.1f}" else values[r, c]  # as the book prints
                ax.text(c + 0.5, r + 0.5, fmt.format(shown), ha="center", va="center", fontsize=8)
                continue
            if terminal is not None and terminal[s]:
                continue
            for a in np.flatnonzero(optimal[s]):
                dx, dy = ARROWS[int(a)]
                ax.arrow(c + 0.5, r + 0.5, 0.3 * dx, 0.3 * dy, head_width=0.1, length_includes_head=True,
                         color="tab:green")  # fmt: skip


def _optimal_actions(q: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """[S, A] bool: every action within ``tol`` of the best (the book draws every tied arrow)."""
    return q >= q.max(axis=1, keepdims=True) - tol


# ----- figure 2.1 -----
@FIGURES.add("sb-fig-2.1", "the 10-armed testbed's reward distributions (violin plot)")
def sb_fig_2_1(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """The 10-armed testbed's reward distributions: q*(a) ~ N(0, 1), R ~ N(q*(a), 1)."""
    env = _env("rlsuite/KArmedBandit-v0")
    env.reset(seed=opts.seed)
    q_star = env.q_star.copy()
    rng = np.random.default_rng(opts.seed)
    samples = rng.normal(q_star, 1.0, size=(2000, q_star.size))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.violinplot(samples, positions=np.arange(1, q_star.size + 1), showextrema=False)
    for a, q in enumerate(q_star, start=1):
        ax.hlines(q, a - 0.3, a + 0.3, color="k", lw=1)
        ax.text(a + 0.32, q, f"q*({a})", fontsize=7, va="center")
    ax.axhline(0.0, color="0.5", ls="--", lw=0.8)
    ax.set_xticks(range(1, q_star.size + 1))
    ax.set_xlabel("Action")
    ax.set_ylabel("Reward distribution")
    ax.set_title(f"Sutton & Barto fig 2.1: a 10-armed testbed (seed {opts.seed}), 2000 samples per action")
    _save(fig, out / "sb-fig-2.1.png")
    best = int(q_star.argmax()) + 1
    return {
        "figure": "Sutton & Barto fig 2.1: the 10-armed testbed's reward distributions",
        "entries": [{"q_star": q_star.tolist(), "sample_means": samples.mean(axis=0).tolist(),
                     "sample_std": samples.std(axis=0).tolist(), "samples": 2000, "seed": opts.seed,
                     "seed_dependent": True}],
        "summary": f"q* of seed {opts.seed}: best action {best} (q* = {q_star.max():.2f})",
        "size": {"samples_per_action": 2000},
    }


# ----- chapter 3 -----
def grid_values_uniform(env: Any, gamma: float = 0.9) -> np.ndarray:
    """Exact ``v_pi`` of the equiprobable policy: solve ``(I - gamma P_pi) v = r_pi``."""
    from rlsuite.agents.tabular.solvers import policy_evaluation

    model = env.tabular_model
    return policy_evaluation(model, np.full((model.n_states, model.n_actions), 1.0 / model.n_actions), gamma)


def _compare(ours: np.ndarray, book: list[list[float]], decimals: int = 1) -> dict[str, Any]:
    printed = _printed(ours, decimals)
    return {"book": book, "ours_printed": printed.tolist(),
            "matches_book": bool(np.array_equal(printed, np.array(book)))}  # fmt: skip


@FIGURES.add("sb-fig-3.2", "grid world: v of the equiprobable random policy")
def sb_fig_3_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    env = _env("rlsuite/SBGridWorld-v0")
    v = grid_values_uniform(env).reshape(5, 5)
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    _value_table(axes[0], np.zeros((5, 5)), "Exceptional reward dynamics", fmt="")
    for (name, cell), (dest, r) in zip((("A", env.A), ("B", env.B)), ((env.A_PRIME, "+10"), (env.B_PRIME, "+5")),
                                       strict=True):  # fmt: skip
        axes[0].text(cell[1] + 0.5, cell[0] + 0.5, name, ha="center", va="center", fontsize=12)
        axes[0].text(dest[1] + 0.5, dest[0] + 0.5, name + "'", ha="center", va="center", fontsize=12)
        axes[0].annotate("", (dest[1] + 0.5, dest[0] + 0.3), (cell[1] + 0.5, cell[0] + 0.7),
                         arrowprops={"arrowstyle": "->", "color": "tab:red"})  # fmt: skip
        axes[0].text(cell[1] + 0.6, (cell[0] + dest[0]) / 2 + 0.5, r, color="tab:red", fontsize=10)
    _value_table(axes[1], v, "State-value function of the equiprobable random policy (gamma = 0.9)")
    fig.suptitle("Sutton & Barto fig 3.2: grid world example")
    _save(fig, out / "sb-fig-3.2.png")
    comparison = _compare(v, BOOK_FIG_3_2)
    return {
        "figure": "Sutton & Barto fig 3.2: grid world, v of the equiprobable random policy",
        "entries": [{"panel": "v_pi", "values": v.tolist(), "gamma": 0.9, "seed_dependent": False, **comparison}],
        "summary": f"v(A) = {v[0, 1]:.1f}, v(B) = {v[0, 3]:.1f}; matches the book's printed values: "
                   f"{comparison['matches_book']}",
        "size": {"exact": True},
    }


@FIGURES.add("sb-fig-3.5", "grid world: v* and pi*")
def sb_fig_3_5(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    from rlsuite.agents.tabular.solvers import value_iteration

    env = _env("rlsuite/SBGridWorld-v0")
    v, q, _ = value_iteration(env.tabular_model, gamma=0.9, tol=1e-12)
    optimal = _optimal_actions(q, 1e-6)
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    _value_table(axes[0], v.reshape(5, 5), "v*")
    _value_table(axes[1], v.reshape(5, 5), "pi* (every optimal action)", optimal=optimal)
    fig.suptitle("Sutton & Barto fig 3.5: optimal solutions to the grid world example")
    _save(fig, out / "sb-fig-3.5.png")
    comparison = _compare(v.reshape(5, 5), BOOK_FIG_3_5)
    from rlsuite.envs.sutton_barto import GRID_ACTIONS

    policy = [[[GRID_ACTIONS[a] for a in np.flatnonzero(optimal[r * 5 + c])] for c in range(5)] for r in range(5)]
    return {
        "figure": "Sutton & Barto fig 3.5: v* and pi* of the grid world",
        "entries": [{"panel": "v*", "values": v.reshape(5, 5).tolist(), "gamma": 0.9, "seed_dependent": False,
                     **comparison}, {"panel": "pi*", "optimal_actions": policy}],
        "summary": f"v*(A) = {v[1]:.1f}; matches the book's printed values: {comparison['matches_book']}",
        "size": {"exact": True},
    }


# ----- chapter 4 -----
def iterative_policy_evaluation(env: Any, sweeps: int, gamma: float = 1.0) -> list[np.ndarray]:
    """``v_0 .. v_sweeps`` of the equiprobable policy, synchronous sweeps (two arrays, as figure 4.1)."""
    model = env.tabular_model
    pi = np.full((model.n_states, model.n_actions), 1.0 / model.n_actions)
    T_pi, r_pi = model.policy_matrices(pi)  # a sweep is v <- r_pi + gamma T_pi v
    v = [np.zeros(model.n_states)]
    for _ in range(sweeps):
        v.append(r_pi + gamma * (T_pi @ v[-1]))
    return v


@FIGURES.add("sb-fig-4.1", "4x4 grid: iterative policy evaluation, v_k and greedy policies")
def sb_fig_4_1(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    env = _env("rlsuite/SBGridWorld4x4-v0")
    model = env.tabular_model
    history = iterative_policy_evaluation(env, 1000)
    ks = {"0": 0, "1": 1, "2": 2, "3": 3, "10": 10, "inf": 1000}
    plt = _plt()
    fig, axes = plt.subplots(len(ks), 2, figsize=(6, 3 * len(ks)))
    entries = []
    for row, (label, k) in enumerate(ks.items()):
        v = history[k]
        greedy = _optimal_actions(model.q_values(v, 1.0), 1e-9)
        _value_table(axes[row, 0], v.reshape(4, 4), f"v_k for the random policy, k = {label}",
                     fmt="{:.0f}" if label == "inf" else "{:.1f}", terminal=env.terminal)
        _value_table(axes[row, 1], v.reshape(4, 4), f"greedy policy w.r.t. v_k, k = {label}", optimal=greedy,
                     terminal=env.terminal)  # fmt: skip
        book = np.array(BOOK_FIG_4_1[label])
        ours = _printed(v.reshape(4, 4), 0 if label == "inf" else 1)
        entries.append({"k": label, "sweeps": k, "values": v.reshape(4, 4).tolist(), "book": book.tolist(),
                        "ours_printed": ours.tolist(), "matches_book": bool(np.array_equal(ours, book)),
                        "greedy_actions": greedy.astype(int).tolist()})  # fmt: skip
    fig.suptitle("Sutton & Barto fig 4.1: iterative policy evaluation, 4x4 grid world")
    _save(fig, out / "sb-fig-4.1.png")
    ok = all(e["matches_book"] for e in entries)
    return {
        "figure": "Sutton & Barto fig 4.1: v_k of the random policy and the greedy policies",
        "entries": entries,
        "summary": f"v_inf(1) = {history[-1][1]:.2f} (book -14); every panel matches the printed values: {ok}",
        "size": {"exact": True, "sweeps_for_inf": 1000},
    }


def car_rental_policy_iteration(
    env: Any, gamma: float = 0.9, max_iters: int = 20
) -> tuple[list[np.ndarray], np.ndarray]:
    """Policy iteration from the do-nothing policy, exact evaluation: ``([pi_0, pi_1, ...], v of the last)``.

    Policies are [S] action indices (``moves[a]`` cars); improvement takes the first best action.
    """
    from rlsuite.agents.tabular.solvers import policy_evaluation

    model = env.tabular_model
    pi = np.full(model.n_states, int(np.flatnonzero(env.moves == 0)[0]))
    policies = [pi]
    while True:
        v = policy_evaluation(model, pi, gamma)
        new = model.q_values(v, gamma).argmax(axis=1)
        if np.array_equal(new, pi) or len(policies) > max_iters:
            return policies, v
        pi = new
        policies.append(pi)


@FIGURES.add("sb-fig-4.2", "Jack's car rental: policy iteration pi_0..pi_4 and v_pi4")
def sb_fig_4_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    env = _env("rlsuite/CarRental-v0")
    policies, v = car_rental_policy_iteration(env)
    L = env.max_cars + 1
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(14, 9))
    for i, (ax, pi) in enumerate(zip(axes.flat, [*policies, None], strict=False)):
        if pi is None:
            break
        moves = env.moves[pi].reshape(L, L)
        cs = ax.contourf(np.arange(L), np.arange(L), moves, levels=np.arange(-5.5, 6.5), cmap="RdBu_r")
        ax.set_title(f"pi_{i}")
        ax.set_xlabel("# cars at second location")
        ax.set_ylabel("# cars at first location")
        fig.colorbar(cs, ax=ax, label="cars moved from first to second", ticks=range(-5, 6))
    ax = axes.flat[-1]
    im = ax.imshow(v.reshape(L, L), origin="lower", cmap="viridis")
    ax.set_title(f"v_pi{len(policies) - 1}")
    ax.set_xlabel("# cars at second location")
    ax.set_ylabel("# cars at first location")
    fig.colorbar(im, ax=ax, label="value")
    fig.suptitle("Sutton & Barto fig 4.2: policy iteration on Jack's car rental (Poisson rentals and returns)")
    _save(fig, out / "sb-fig-4.2.png")
    entries = [
        {"policy": f"pi_{i}", "cars_moved": env.moves[pi].reshape(L, L).tolist()} for i, pi in enumerate(policies)
    ]
    entries.append({"panel": f"v_pi{len(policies) - 1}", "values": v.reshape(L, L).round(3).tolist(), "gamma": 0.9})
    return {
        "figure": "Sutton & Barto fig 4.2: car rental policies pi_0..pi_4 and v_pi4",
        "entries": entries,
        "summary": f"{len(policies) - 1} improvements to a stable policy; v(20, 20) = {v[-1]:.1f}, "
                   f"v(0, 0) = {v[0]:.1f}",
        "size": {"exact": True},
    }


def gambler_value_iteration(env: Any, tol: float = 1e-9) -> tuple[list[np.ndarray], np.ndarray]:
    """Synchronous value iteration sweeps ``[v_0, v_1, ...]`` (v_0 = 0) and the final policy: the
    smallest stake among those whose value rounds (to 5 decimals) to the best, stake 0 excluded (as
    ShangtongZhang's code, which draws the book's figure)."""
    model = env.tabular_model
    sweeps = [np.zeros(model.n_states)]
    while True:
        v = model.q_values(sweeps[-1], 1.0).max(axis=1)
        sweeps.append(v)
        if np.abs(v - sweeps[-2]).max() < tol:
            break
    q = np.round(model.q_values(sweeps[-1], 1.0), 5)
    legal = np.arange(model.n_actions)[None, :] <= env.max_stake(np.arange(model.n_states))[:, None]
    q[~legal] = -np.inf
    q[:, 0] = -np.inf
    policy = q.argmax(axis=1)
    policy[env.terminal] = 0
    return sweeps, policy


@FIGURES.add("sb-fig-4.3", "gambler's problem: value iteration sweeps and the final policy")
def sb_fig_4_3(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    env = _env("rlsuite/Gambler-v0")
    sweeps, policy = gambler_value_iteration(env)
    shown = {"sweep 1": 1, "sweep 2": 2, "sweep 3": 3, f"sweep {len(sweeps) - 1} (final)": len(sweeps) - 1}
    capital = np.arange(1, env.goal)
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(9, 9))
    for label, k in shown.items():
        axes[0].plot(capital, sweeps[k][1:-1], lw=1, label=label)
    axes[0].set_xlabel("Capital")
    axes[0].set_ylabel("Value estimates")
    axes[0].grid(alpha=0.3)
    _legend_outside(axes[0])
    axes[1].step(capital, policy[1:-1], where="mid")
    axes[1].set_xlabel("Capital")
    axes[1].set_ylabel("Final policy (stake)")
    axes[1].grid(alpha=0.3)
    fig.suptitle(f"Sutton & Barto fig 4.3: the gambler's problem, p_h = {env.p_h}")
    _save(fig, out / "sb-fig-4.3.png")
    return {
        "figure": "Sutton & Barto fig 4.3: gambler's problem, value iteration sweeps and the final policy",
        "entries": [{"sweep": k, "label": label, "values": sweeps[k].tolist()} for label, k in shown.items()]
        + [{"panel": "final policy", "stakes": policy.tolist(), "p_h": env.p_h}],
        "summary": f"{len(sweeps) - 1} sweeps; stakes at 25, 50, 75: {policy[25]}, {policy[50]}, {policy[75]}",
        "size": {"exact": True, "sweeps": len(sweeps) - 1},
    }


# ----- chapter 5: Blackjack -----
def _blackjack_grid(values: np.ndarray, usable: int) -> np.ndarray:
    """[10, 10] of a [N_STATES] table: rows player sum 12..21, columns dealer showing 1 (ace)..10."""
    return values.reshape(32, 11, 2)[12:22, 1:11, usable]


def _blackjack_panel(fig: Any, ax: Any, grid: np.ndarray, title: str, label: str, **kwargs: Any) -> None:
    im = ax.imshow(grid, origin="lower", extent=(0.5, 10.5, 11.5, 21.5), aspect="auto", **kwargs)
    ax.set_xticks(range(1, 11), ["A", *map(str, range(2, 11))])
    ax.set_yticks(range(12, 22))
    ax.set_xlabel("Dealer showing")
    ax.set_ylabel("Player sum")
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, label=label)


def blackjack_prediction(episodes: int, rng: np.random.Generator, batch: int = 100_000) -> np.ndarray:
    """First-visit MC values [N_STATES] of stick-on-20 after ``episodes`` batched games."""
    from rlsuite.agents.tabular.mc_prediction import first_visit_sums, ratio
    from rlsuite.envs import blackjack as bj

    policy = bj.stick_on(20)
    sums, counts = np.zeros(bj.N_STATES), np.zeros(bj.N_STATES)
    done = 0
    while done < episodes:
        n = min(batch, episodes - done)
        g = bj.play(policy, n, rng)
        rewards = np.zeros(g.states.shape)
        rewards[g.alive.sum(axis=0) - 1, np.arange(n)] = g.reward  # the one reward, at the last step
        s, c = first_visit_sums(g.states, rewards, g.alive, 1.0, bj.N_STATES)
        sums += s
        counts += c
        done += n
    return ratio(sums, counts)


@FIGURES.add("sb-fig-5.1", "Blackjack: first-visit MC prediction of stick-on-20, 10,000 and 500,000 episodes")
def sb_fig_5_1(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    rng = np.random.default_rng(opts.seed)
    sizes = (10_000, 500_000)
    values = {n: blackjack_prediction(n, rng) for n in sizes}
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(11, 9))
    entries = []
    for col, n in enumerate(sizes):
        for row, (usable, name) in enumerate(((1, "Usable ace"), (0, "No usable ace"))):
            grid = _blackjack_grid(values[n], usable)
            _blackjack_panel(fig, axes[row, col], grid, f"{name}, after {n:,} episodes", "v(s)", vmin=-1, vmax=1,
                             cmap="viridis")  # fmt: skip
            entries.append({"episodes": n, "usable_ace": bool(usable), "values": grid.round(4).tolist(),
                            "rows": "player sum 12..21", "columns": "dealer showing 1..10", "seed": opts.seed,
                            "seed_dependent": True})  # fmt: skip
    fig.suptitle("Sutton & Barto fig 5.1: first-visit MC prediction of the stick-on-20-or-21 policy (Blackjack)")
    _save(fig, out / "sb-fig-5.1.png")
    v = _blackjack_grid(values[500_000], 0)
    return {
        "figure": "Sutton & Barto fig 5.1: Blackjack state values of stick-on-20 by first-visit MC",
        "entries": entries,
        "summary": f"500,000 episodes, no usable ace: v(20, 10) = {v[8, 9]:.3f}, v(13, 2) = {v[1, 1]:.3f}",
        "size": {"episodes": list(sizes), "book": {"episodes": list(sizes)}},
    }


@FIGURES.add("sb-fig-5.2", "Blackjack: Monte Carlo ES, pi* and v*")
def sb_fig_5_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    import gymnasium as gym

    from rlsuite.agents.tabular.mc_prediction import BlackjackMCES, BlackjackMCESConfig

    episodes = 500_000
    agent = BlackjackMCES(gym.make("Blackjack-v1"), BlackjackMCESConfig(batch=5_000))
    agent.learn(episodes, seed=opts.seed)
    q, policy = agent.q_values, agent.policy.argmax(axis=1)
    v = q.max(axis=1)
    plt = _plt()
    fig, axes = plt.subplots(2, 2, figsize=(11, 9))
    entries = []
    for row, (usable, name) in enumerate(((1, "Usable ace"), (0, "No usable ace"))):
        pi = _blackjack_grid(policy, usable)
        _blackjack_panel(fig, axes[row, 0], pi, f"pi*: {name} (1 = hit, 0 = stick)", "action", cmap="coolwarm",
                         vmin=0, vmax=1)  # fmt: skip
        _blackjack_panel(fig, axes[row, 1], _blackjack_grid(v, usable), f"v*: {name}", "v*(s)", cmap="viridis",
                         vmin=-1, vmax=1)  # fmt: skip
        entries.append({"usable_ace": bool(usable), "policy_hit": pi.tolist(),
                        "values": _blackjack_grid(v, usable).round(4).tolist(), "episodes": episodes,
                        "seed": opts.seed, "seed_dependent": True})  # fmt: skip
    fig.suptitle("Sutton & Barto fig 5.2: Monte Carlo ES on Blackjack, the optimal policy and state values")
    _save(fig, out / "sb-fig-5.2.png")
    sticks = int((1 - _blackjack_grid(policy, 0)[:, 1:]).sum(axis=0)[0])
    return {
        "figure": "Sutton & Barto fig 5.2: pi* and v* of Blackjack by Monte Carlo ES",
        "entries": entries,
        "summary": f"{episodes:,} episodes; no usable ace vs dealer 2: sticks on {sticks} of sums 12-21",
        "size": {"episodes": episodes, "improve_every": 5_000, "book": {"episodes": episodes}},
    }


def blackjack_off_policy(runs: int, episodes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary and weighted importance-sampling estimates [runs, episodes] of the value of (usable ace,
    player sum 13, dealer 2) under stick-on-20, from games of the uniformly random behaviour policy."""
    from rlsuite.agents.tabular.mc_prediction import importance_ratios, ratio
    from rlsuite.envs import blackjack as bj

    target = np.eye(2)[bj.stick_on(20)]
    behaviour = np.full((bj.N_STATES, 2), 0.5)
    g = bj.play(behaviour, runs * episodes, rng, initial=(13, 2, 1))
    rho = importance_ratios(g.states, g.actions, g.alive, target, behaviour)[0].reshape(runs, episodes)
    weighted_returns = np.cumsum(rho * g.reward.reshape(runs, episodes), axis=1)
    ordinary = weighted_returns / np.arange(1, episodes + 1)  # eq. 5.5
    weighted = ratio(weighted_returns, np.cumsum(rho, axis=1))  # eq. 5.6
    return ordinary, weighted


@FIGURES.add("sb-fig-5.3", "Blackjack: off-policy estimation, ordinary vs weighted importance sampling")
def sb_fig_5_3(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    rng = np.random.default_rng(opts.seed)
    runs, episodes = 100, 10_000
    ordinary, weighted = blackjack_off_policy(runs, episodes, rng)
    mse = {"Ordinary importance sampling": ((ordinary - BLACKJACK_TRUE_VALUE) ** 2).mean(axis=0),
           "Weighted importance sampling": ((weighted - BLACKJACK_TRUE_VALUE) ** 2).mean(axis=0)}  # fmt: skip
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 5))
    x = np.arange(1, episodes + 1)
    for (label, y), color in zip(mse.items(), ("tab:green", "tab:red"), strict=True):
        ax.plot(x, y, color=color, label=label)
    ax.set_xscale("log")
    ax.set_ylim(-0.1, 5)
    ax.set_xlabel("Episodes (log scale)")
    ax.set_ylabel(f"Mean square error\n(average over {runs} runs)")
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    ax.set_title("Sutton & Barto fig 5.3: off-policy estimation of one Blackjack state\n(usable ace, player 13, "
                 f"dealer 2; true value {BLACKJACK_TRUE_VALUE}), seed {opts.seed}")  # fmt: skip
    _save(fig, out / "sb-fig-5.3.png")
    at = [1, 10, 100, 1000, 10_000]
    entries = [{"curve": label, "mse_at": {str(n): float(y[n - 1]) for n in at},
                "mse": y[np.unique(np.geomspace(1, episodes, 200).astype(int)) - 1].round(5).tolist(),
                "episodes_index": np.unique(np.geomspace(1, episodes, 200).astype(int)).tolist(),
                "runs": runs, "seed": opts.seed, "seed_dependent": True} for label, y in mse.items()]  # fmt: skip
    o, w = (entries[i]["mse_at"] for i in range(2))
    return {
        "figure": "Sutton & Barto fig 5.3: ordinary vs weighted importance sampling, MSE over 100 runs",
        "entries": entries,
        "summary": f"MSE after 10 / 10,000 episodes: ordinary {o['10']:.2f} / {o['10000']:.4f}, "
                   f"weighted {w['10']:.2f} / {w['10000']:.4f}",
        "size": {"runs": runs, "episodes": episodes, "book": {"runs": 100, "episodes": 10_000}},
    }


def infinite_variance_estimates(runs: int, episodes: int, rng: np.random.Generator,
                                p_back: float = 0.9) -> np.ndarray:  # fmt: skip
    """First-visit ordinary importance-sampling estimates [runs, episodes] of v(s) = 1 on the one-state MDP,
    behaviour uniform. An episode of the behaviour policy is ``L`` steps: each step continues (left, back
    to s) with probability ``0.5 p_back``; it ends by left (reward 1, rho = 2^L) with probability
    ``0.5 (1 - p_back)`` and by right (rho = 0) with 0.5, so ``L`` is geometric and ``rho G = 2^L`` when it
    ends by left, else 0."""
    n = runs * episodes
    stop = 1.0 - 0.5 * p_back
    length = rng.geometric(stop, n)
    by_left = rng.random(n) < 0.5 * (1.0 - p_back) / stop
    weighted_return = np.where(by_left, np.exp2(length.astype(np.float64)), 0.0).reshape(runs, episodes)
    return np.cumsum(weighted_return, axis=1) / np.arange(1, episodes + 1)


@FIGURES.add("sb-fig-5.4", "one-state MDP: infinite variance of ordinary importance sampling")
def sb_fig_5_4(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    rng = np.random.default_rng(opts.seed)
    runs = 10
    episodes = opts.episodes or 1_000_000
    estimates = infinite_variance_estimates(runs, episodes, rng)
    idx = np.unique(np.geomspace(1, episodes, 400).astype(int)) - 1
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 5))
    for r in range(runs):
        ax.plot(idx + 1, estimates[r, idx], lw=0.8)
    ax.axhline(1.0, color="k", ls="--", lw=0.8, label="v_pi(s) = 1")
    ax.set_xscale("log")
    ax.set_xlabel("Episodes (log scale)")
    ax.set_ylabel("Monte-Carlo estimate of v_pi(s)\nwith ordinary importance sampling")
    ax.set_ylim(0, 3)
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    ax.set_title(f"Sutton & Barto fig 5.4: infinite variance of ordinary importance sampling\n{runs} runs, seed "
                 f"{opts.seed}")  # fmt: skip
    _save(fig, out / "sb-fig-5.4.png")
    final = estimates[:, -1]
    return {
        "figure": "Sutton & Barto fig 5.4: ordinary importance sampling on the one-state MDP, 10 runs",
        "entries": [
            {"run": r, "episodes_index": (idx + 1).tolist(), "estimate": estimates[r, idx].round(4).tolist(),
             "final": float(final[r]), "seed": opts.seed, "seed_dependent": True}
            for r in range(runs)
        ],
        "summary": f"after {episodes:,} episodes the 10 estimates span {final.min():.2f}..{final.max():.2f} (true 1)",
        "size": {"runs": runs, "episodes": episodes, "book": {"runs": 10, "episodes": 100_000_000}},
    }
