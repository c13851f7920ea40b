"""``rlsuite reproduce NAME``: regenerate a book figure as ``NAME.png`` + ``NAME.json``.

``rlsuite reproduce --list`` lists the figures; ``rlsuite reproduce all`` makes every one. The
settings are the fields of :class:`ReproduceOptions` (``--runs``, ``--steps``, ``--seed``, ``--out``,
``--overwrite``, ``--episodes``; ``--help`` lists them). The JSON holds one entry per curve, table or
panel with the settings used; where a result depends on the random seed it says so, and where the
book's printed numbers are known here they are stored beside ours with the comparison.

Every figure has a title, labelled axes and its legend outside the data. The figures go into one
folder (default ``./figures``), locked while a process writes it (:class:`~rlsuite.common.io.OutputDir`);
each PNG and JSON is written atomically, the JSON last, and a figure already there is replaced only
with ``--overwrite``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.common.config import Config, option
from rlsuite.common.errors import OutputDirError, UsageError


@dataclass
class ReproduceOptions(Config):
    """How large the sampled figures are, from which seed, and where they go."""

    runs: int = option(2000, help="independent runs per bandit curve (the book: 2000)", ge=1)
    steps: int = option(1000, help="pulls per bandit run (the book: 1000)", ge=1)
    episodes: int | None = option(
        None, help="MC epsilon-greedy episodes in zhao-mc-epsilon-greedy (None: the agent's 300000)", ge=1
    )
    seed: int = option(0, help="random seed of every sampled figure (the testbeds, MC, SGD, Robbins-Monro)", ge=0)
    out: str = option(
        "figures", help="output folder; NAME.png and NAME.json go there", aliases=["--output_dir", "--output-dir"]
    )
    overwrite: bool = option(False, help="replace NAME.png and NAME.json when --out holds them already")


# Numbers printed in Zhao's figure 3.4 (gamma = 0.9), rows of v* on the 5x5 grid.
ZHAO_FIG_3_4 = {
    "r_forbidden=-1": {0: [5.8, 5.6, 6.2, 6.5, 5.8], 4: [7.2, 9.0, 10.0, 9.0, 8.1]},
    "r_forbidden=-10": {
        0: [3.5, 3.9, 4.3, 4.8, 5.3],
        1: [3.1, 3.5, 4.8, 5.3, 5.9],
        2: [2.8, 2.5, 10.0, 5.9, 6.6],
        3: [2.5, 10.0, 10.0, 10.0, 7.3],
        4: [2.3, 9.0, 10.0, 9.0, 8.1],
    },
}

GRID_NOTE = "grid world: r_boundary = -1, r_target = 1, gamma = 0.9"


def _plt() -> Any:
    from rlsuite.common.plotting import pyplot

    return pyplot()


def _save(fig: Any, path: Path) -> None:
    from rlsuite.common.plotting import save_figure

    save_figure(fig, path)


def _legend_outside(ax: Any, **kwargs: Any) -> None:
    """The legend to the right of the axes, where it covers no data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, **kwargs)


def _grid_env(**kwargs: Any) -> Any:
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401

    return gym.make("rlsuite/GridWorld-v0", **kwargs)


def _grid_panel(env: Any, values: np.ndarray, greedy: np.ndarray, ax: Any, title: str) -> None:
    """A grid-world panel: the cells, the state value at the foot of each cell and one arrow (a circle:
    stay) for its greedy action above it, so that neither covers the other."""
    from matplotlib.patches import Circle

    from rlsuite.envs.gridworld import MOVES
    from rlsuite.envs.plotting import plot_grid

    plot_grid(env, ax=ax, title=title)  # the cells: free, forbidden, target
    base = env.unwrapped
    for r in range(base.n_rows):
        for c in range(base.n_cols):
            s = base.to_state((r, c))
            ax.text(c + 0.5, r + 0.84, f"{values[s]:.1f}", ha="center", va="center", fontsize=8)
            a = int(greedy[s])
            if a == 4:
                ax.add_patch(Circle((c + 0.5, r + 0.4), 0.13, fill=False, color="tab:green", lw=1.6))
            else:
                dr, dc = MOVES[a]
                ax.arrow(c + 0.5 - 0.16 * dc, r + 0.4 - 0.16 * dr, 0.32 * dc, 0.32 * dr, head_width=0.12,
                         length_includes_head=True, color="tab:green", lw=1.6)  # fmt: skip
    ax.set_xlabel("column")
    ax.set_ylabel("row")


def _action_names(policy: np.ndarray) -> list[list[str]]:
    from rlsuite.envs.gridworld import ACTION_NAMES

    greedy = np.asarray(policy).argmax(axis=1)
    return [[ACTION_NAMES[a] for a in row] for row in greedy.reshape(5, 5)]


# ----- Zhao -----
def zhao_fig_3_4(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Optimal state values and policies for four settings (value iteration, exact)."""
    from rlsuite.agents.tabular.dp import ValueIteration, ValueIterationConfig

    settings = [
        ("gamma = 0.9, r_forbidden = -1", 0.9, {}, "r_forbidden=-1"),
        ("gamma = 0.5, r_forbidden = -1", 0.5, {}, None),
        ("gamma = 0, r_forbidden = -1", 0.0, {}, None),
        ("gamma = 0.9, r_forbidden = -10", 0.9, {"r_forbidden": -10.0}, "r_forbidden=-10"),
    ]
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.8))
    entries = []
    for ax, (label, gamma, kwargs, published_key) in zip(axes, settings, strict=True):
        env = _grid_env(**kwargs)
        agent = ValueIteration(env, ValueIterationConfig(gamma=gamma, tol=1e-10))
        agent.learn(10_000)
        v = agent.state_values
        _grid_panel(env, v, agent.policy.argmax(axis=1), ax, label)
        entry: dict[str, Any] = {
            "panel": label,
            "gamma": gamma,
            "env": {"r_boundary": -1.0, "r_forbidden": -1.0, "r_target": 1.0, **kwargs},
            "v_star": np.round(v.reshape(5, 5), 1).tolist(),
            "greedy_policy": _action_names(agent.policy),
            "seed_dependent": False,
        }
        if published_key:
            book = ZHAO_FIG_3_4[published_key]
            ours = np.round(v.reshape(5, 5), 1)
            entry["book_rows"] = {str(r): vals for r, vals in book.items()}
            entry["matches_book"] = bool(
                all(np.allclose(ours[r], vals, atol=0.051) for r, vals in book.items())
            )
        entries.append(entry)
    fig.suptitle(
        "Zhao fig. 3.4: optimal state values v* and optimal actions (value iteration, exact); r_target = 1, "
        "r_boundary = -1"
    )
    _save(fig, out / "zhao-fig-3.4.png")
    compared = [e for e in entries if "matches_book" in e]
    return {
        "figure": "Zhao, Mathematical Foundations of RL, figure 3.4",
        "entries": entries,
        "summary": f"v* matches the book's printed values in {sum(e['matches_book'] for e in compared)} of "
        f"{len(compared)} panels compared",
    }


def zhao_mc_basic_episode_length(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """MC Basic with episode lengths 1..100: short episodes leave states far from the target unvalued."""
    from rlsuite.agents.tabular.mc import MCBasic, MCBasicConfig

    lengths = [1, 2, 3, 4, 14, 15, 30, 100]
    env = _grid_env()
    plt = _plt()
    fig, axes = plt.subplots(2, 4, figsize=(16, 9))
    entries = []
    for ax, length in zip(axes.ravel(), lengths, strict=True):
        agent = MCBasic(env, MCBasicConfig(episode_length=length))
        agent.learn(20)
        v = agent.state_values
        _grid_panel(env, v, agent.policy.argmax(axis=1), ax, f"episode length {length}")
        entries.append(
            {
                "episode_length": length,
                "iterations": 20,
                "gamma": 0.9,
                "values": np.round(v.reshape(5, 5), 2).tolist(),
                "greedy_policy": _action_names(agent.policy),
                "states_with_nonzero_value": int((np.abs(v) > 1e-9).sum()),
                "greedy_optimal": bool(agent.truth_metrics()["greedy_optimal"]),
                "seed_dependent": False,  # deterministic env and policy: one episode per (s, a) is exact
            }
        )
    fig.suptitle(
        "Zhao ch. 5, MC Basic: state values and greedy actions after 20 iterations, by episode length "
        f"({GRID_NOTE}, r_forbidden = -1)"
    )
    _save(fig, out / "zhao-mc-basic-episode-length.png")
    valued = [e["states_with_nonzero_value"] for e in entries]
    return {
        "figure": "Zhao ch. 5, MC Basic: the impact of the episode length (default grid world: "
        "r_boundary=r_forbidden=-1, r_target=1, gamma=0.9)",
        "entries": entries,
        "summary": f"states valued for episode lengths {lengths}: {valued}",
    }


def zhao_mc_epsilon_greedy(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Optimal epsilon-greedy policies for several epsilon (exact), and MC epsilon-greedy at 0.1."""
    from rlsuite.agents.base import epsilon_greedy, greedy_optimal_fraction
    from rlsuite.agents.tabular.dp import policy_evaluation
    from rlsuite.agents.tabular.mc import MCEpsilonGreedy

    env = _grid_env(r_forbidden=-10.0)
    learner = MCEpsilonGreedy(env)
    model, q_star = learner.model, learner.q_star
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(14, 9.6))
    panels = axes.ravel()
    entries = []
    for ax, eps in zip(panels[:4], (0.0, 0.1, 0.2, 0.5), strict=True):
        q = np.zeros_like(q_star)
        for _ in range(200):  # policy iteration within the epsilon-greedy policies
            pi = epsilon_greedy(q, eps)
            v = policy_evaluation(model, pi, 0.9)
            q_new = model.q_values(v, 0.9)
            if np.array_equal(q_new.argmax(1), q.argmax(1)) and np.allclose(q_new, q):
                break
            q = q_new
        greedy_p = 1 - eps + eps / 5
        _grid_panel(env, v, pi.argmax(axis=1), ax, f"optimal {eps}-greedy policy (exact)\narrow: greedy action, "
                    f"probability {greedy_p:.2f}")  # fmt: skip
        entries.append(
            {
                "epsilon": eps,
                "method": "exact policy iteration over epsilon-greedy policies",
                "values": np.round(v.reshape(5, 5), 1).tolist(),
                "greedy_policy": _action_names(pi),
                "greedy_consistent_with_optimal": greedy_optimal_fraction(q, q_star) == 1.0,
                "seed_dependent": False,
            }
        )
    history = learner.learn(opts.episodes, seed=opts.seed)
    episodes = int(history.last()["episodes"])
    _grid_panel(
        env,
        learner.state_values,
        learner.policy.argmax(axis=1),
        panels[4],
        f"MC epsilon-greedy, eps = 0.1, {episodes} episodes (seed {opts.seed})\narrow: greedy action, "
        "probability 0.92",
    )
    consistent = [e["epsilon"] for e in entries[:4] if e["greedy_consistent_with_optimal"]]
    panels[5].axis("off")
    panels[5].text(
        0.0,
        0.95,
        "Arrows: the greedy action of each state\n(a circle: stay). It has probability\n1 - eps + eps/5; each "
        "other action eps/5.\n\nNumbers: the state values v of the\nepsilon-greedy policy.\n\nGrid world: "
        "r_forbidden = -10 (orange),\nr_boundary = -1, r_target = 1 (blue),\ngamma = 0.9.\n\nAs epsilon grows "
        f"the values fall; the greedy\nactions are optimal for epsilon in\n{consistent} only.",
        va="top",
        fontsize=10,
        transform=panels[5].transAxes,
    )
    entries.append(
        {
            "epsilon": 0.1,
            "method": "MC epsilon-greedy (every visit)",
            "episodes": episodes,
            "values": np.round(learner.state_values.reshape(5, 5), 1).tolist(),
            "greedy_policy": _action_names(learner.policy),
            "greedy_optimal_fraction": history.last()["optimal_fraction"],
            "seed": opts.seed,
            "seed_dependent": True,
        }
    )
    fig.suptitle("Zhao ch. 5: optimal epsilon-greedy policies for growing epsilon, and MC epsilon-greedy")
    _save(fig, out / "zhao-mc-epsilon-greedy.png")
    return {
        "figure": "Zhao ch. 5: optimal epsilon-greedy policies for growing epsilon (grid world with "
        "r_forbidden=-10, gamma=0.9); larger epsilon drifts from the optimal greedy policy",
        "entries": entries,
        "summary": f"greedy actions optimal for epsilon in {consistent}; MC eps=0.1 greedy optimal in "
        f"{entries[-1]['greedy_optimal_fraction']:.0%} of states after {episodes} episodes",
    }


def zhao_sgd_mean_estimation(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """SGD, BGD and MBGD (m=5, 50) estimating the mean of X uniform on a square (Zhao ch. 6)."""
    from rlsuite.agents.tabular.sa import MeanEstimationConfig, gradient_mean_estimation

    cfg = MeanEstimationConfig()
    rng = np.random.default_rng(opts.seed)
    data = rng.uniform(-cfg.half_width, cfg.half_width, size=(cfg.n_samples, 2))
    mean = data.mean(axis=0)
    methods = {
        "SGD (m=1)": ("sgd", 1),
        "MBGD (m=5)": ("mbgd", 5),
        "MBGD (m=50)": ("mbgd", 50),
        "BGD (m=n)": ("bgd", cfg.n_samples),
    }
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5))
    ax1.scatter(data[:, 0], data[:, 1], s=6, c="0.6", label="samples x_i")
    entries = []
    for label, (method, m) in methods.items():
        w = gradient_mean_estimation(
            data, np.array(cfg.w1), cfg.iterations, method, np.random.default_rng(opts.seed + 1), batch_size=m
        )
        dist = np.linalg.norm(w - mean, axis=1)
        ax1.plot(w[:, 0], w[:, 1], marker=".", lw=1, label=label)
        ax2.plot(np.arange(1, len(dist) + 1), dist, label=label)
        entries.append(
            {
                "method": label,
                "batch_size": m,
                "step_size": "1/k",
                "estimates": w.round(4).tolist(),
                "distance_to_sample_mean": dist.round(4).tolist(),
                "seed": opts.seed + 1,
                "seed_dependent": method != "bgd",
            }
        )
    ax1.scatter([mean[0]], [mean[1]], marker="*", s=160, c="k", zorder=5, label="sample mean")
    ax1.set_title(f"estimates w_k of E[X], from w_1 = {tuple(cfg.w1)}")
    ax1.set_xlabel("first coordinate of x and w")
    ax1.set_ylabel("second coordinate of x and w")
    ax1.set_aspect("equal", adjustable="datalim")
    _legend_outside(ax1)
    ax2.set_xlabel("iteration k")
    ax2.set_ylabel("distance |w_k - sample mean| (units of X)")
    ax2.set_title("distance to the sample mean")
    ax2.grid(alpha=0.3)
    _legend_outside(ax2)
    fig.suptitle(
        f"Zhao ch. 6: SGD, MBGD and BGD (a_k = 1/k) estimating E[X], X uniform on [-{cfg.half_width:g}, "
        f"{cfg.half_width:g}]^2, {cfg.n_samples} samples"
    )
    _save(fig, out / "zhao-sgd-mean-estimation.png")
    finals = ", ".join(f"{e['method']} {e['distance_to_sample_mean'][-1]:.2g}" for e in entries)
    return {
        "figure": "Zhao ch. 6: SGD, BGD and MBGD on the mean-estimation example",
        "settings": {
            "X": f"uniform on [-{cfg.half_width}, {cfg.half_width}]^2",
            "n_samples": cfg.n_samples,
            "w1": list(cfg.w1),
            "data_seed": opts.seed,
            "note": "the book's setup (uniform on the square of side 20 at the origin, 100 samples, a_k = 1/k); "
            "it prints no numbers for this figure; w1 is rlsuite's choice of a far initial guess",
        },
        "entries": entries,
        "summary": f"distance to the sample mean after {cfg.iterations} iterations: {finals}",
    }


def zhao_robbins_monro(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Robbins-Monro on g(w) = tanh(w - 1) with Gaussian noise, and the incremental mean's 1/sqrt(k) rate."""
    from rlsuite.agents.tabular.sa import incremental_mean, robbins_monro

    rng = np.random.default_rng(opts.seed)
    w = robbins_monro(lambda w, r: np.tanh(w - 1.0) + 0.1 * r.standard_normal(np.shape(w)), 3.0, 50, rng)
    x = rng.normal(1.0, 1.0, size=(10_000, 200))
    err = np.abs(incremental_mean(x)[1:] - 1.0).mean(axis=1)
    k = np.arange(1, len(err) + 1)
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.6))
    ax1.plot(np.arange(1, len(w) + 1), w, marker=".", label="w_k")
    ax1.axhline(1.0, color="0.5", ls="--", label="root w* = 1")
    ax1.set_title("Robbins-Monro: the root of g(w) = tanh(w - 1)\nfrom g(w_k) + N(0, 0.1^2) noise, w_1 = 3, a_k = 1/k")
    ax1.set_xlabel("iteration k")
    ax1.set_ylabel("estimate w_k")
    ax1.grid(alpha=0.3)
    _legend_outside(ax1)
    ax2.loglog(k, err, label="mean |w_k - E[X]|, 200 runs")
    ax2.loglog(k, np.sqrt(2 / np.pi) / np.sqrt(k), ls="--", label="sqrt(2/pi) / sqrt(k)")
    ax2.set_title("incremental mean: w_k, the mean of k samples\nof X ~ N(1, 1), estimates E[X] = 1")
    ax2.set_xlabel("number of samples k")
    ax2.set_ylabel("mean absolute error |w_k - E[X]|")
    ax2.grid(alpha=0.3, which="both")
    _legend_outside(ax2)
    fig.suptitle("Zhao ch. 6: stochastic approximation")
    _save(fig, out / "zhao-robbins-monro.png")
    marks = (1, 10, 100, 1000, 10000)
    return {
        "figure": "Zhao ch. 6: Robbins-Monro and incremental mean estimation",
        "entries": [
            {
                "curve": "robbins-monro",
                "w": w.round(4).tolist(),
                "noise_std": 0.1,
                "seed": opts.seed,
                "seed_dependent": True,
            },
            {
                "curve": "incremental-mean error",
                "k": list(marks),
                "mean_abs_error": [float(err[i - 1]) for i in marks],
                "theory": [float(np.sqrt(2 / np.pi / i)) for i in marks],
                "runs": 200,
                "seed": opts.seed,
                "seed_dependent": True,
            },
        ],
        "summary": f"Robbins-Monro w_51 = {w[-1]:.3f} (root 1); incremental-mean error at k = 10000: "
        f"{err[-1]:.4f} (theory {np.sqrt(2 / np.pi / 10000):.4f})",
    }


# ----- Sutton & Barto, chapter 2 -----
def _testbed(agent_cls: type, config: Any, opts: ReproduceOptions, **env_kwargs: Any) -> Any:
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401

    envs = gym.make_vec(
        "rlsuite/KArmedBandit-v0",
        num_envs=opts.runs,
        vectorization_mode="vector_entry_point",
        max_episode_steps=opts.steps,
        **env_kwargs,
    )
    return agent_cls(envs, config).learn(opts.steps, seed=opts.seed)


PANEL_LABELS = {"average_reward": "average reward", "optimal_action": "optimal action"}


def _bandit_figure(
    out: Path,
    name: str,
    title: str,
    curves: dict[str, tuple[type, Any, dict[str, Any]]],
    opts: ReproduceOptions,
    panels: tuple[str, ...] = ("average_reward", "optimal_action"),
) -> dict[str, Any]:
    from rlsuite.common import progress

    plt = _plt()
    fig, axes = plt.subplots(len(panels), 1, figsize=(9.5, 3.6 * len(panels)), squeeze=False)
    entries = []
    steps = np.arange(1, opts.steps + 1)
    with progress.task(name, total=len(curves), unit="curve") as bar:
        for label, (cls, config, env_kwargs) in curves.items():
            history = _testbed(cls, config, opts, **env_kwargs)
            bar.advance()
            entry: dict[str, Any] = {
                "curve": label,
                "algorithm": cls.name,
                "config": config.to_dict(),
                "env": {"k": 10, **env_kwargs},
                "runs": opts.runs,
                "steps": opts.steps,
                "seed": opts.seed,
                "seed_dependent": True,
            }
            for ax, col in zip(axes[:, 0], panels, strict=True):
                y = history[col]
                ax.plot(steps, 100 * y if col == "optimal_action" else y, lw=1, label=label)
                entry[col] = np.round(y, 4).tolist()
                entry[f"{col}_last_100"] = float(y[-100:].mean())
            entries.append(entry)
    for ax, col in zip(axes[:, 0], panels, strict=True):
        ax.set_ylabel(PANEL_LABELS[col] + (" (% of runs)" if col == "optimal_action" else " (reward units)"))
        ax.set_xlabel("steps (pulls of an arm)")
        ax.grid(alpha=0.3)
        _legend_outside(ax)
    axes[0, 0].set_title(f"{title}\n10-armed testbed, {opts.runs} runs, seed {opts.seed}")
    _save(fig, out / f"{name}.png")
    last = panels[-1]
    levels = "; ".join(
        f"{e['curve']}: {100 * e[f'{last}_last_100']:.0f}% optimal" if last == "optimal_action"
        else f"{e['curve']}: {e[f'{last}_last_100']:.2f}"
        for e in entries
    )  # fmt: skip
    return {
        "figure": title,
        "entries": entries,
        "summary": f"last 100 steps: {levels}",
    }


def sb_fig_2_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    from rlsuite.agents.tabular.bandit import EpsilonGreedyBandit as E
    from rlsuite.agents.tabular.bandit import EpsilonGreedyBanditConfig as C

    curves = {f"epsilon={e}": (E, C(epsilon=e), {}) for e in (0.0, 0.01, 0.1)}
    return _bandit_figure(
        out, "sb-fig-2.2", "Sutton & Barto fig 2.2: epsilon-greedy, sample averages", curves, opts
    )


def sb_fig_2_3(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    from rlsuite.agents.tabular.bandit import EpsilonGreedyBandit as E
    from rlsuite.agents.tabular.bandit import EpsilonGreedyBanditConfig as C

    curves = {
        "optimistic, greedy: Q1=5, eps=0": (E, C(epsilon=0.0, initial_value=5.0, step_size=0.1), {}),
        "realistic, eps-greedy: Q1=0, eps=0.1": (E, C(epsilon=0.1, initial_value=0.0, step_size=0.1), {}),
    }
    return _bandit_figure(
        out,
        "sb-fig-2.3",
        "Sutton & Barto fig 2.3: optimistic initial values (alpha = 0.1)",
        curves,
        opts,
        panels=("optimal_action",),
    )


def sb_fig_2_4(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    from rlsuite.agents.tabular.bandit import UCB, EpsilonGreedyBandit, EpsilonGreedyBanditConfig, UCBConfig

    curves = {
        "UCB c=2": (UCB, UCBConfig(c=2.0), {}),
        "epsilon-greedy eps=0.1": (EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.1), {}),
    }
    return _bandit_figure(
        out,
        "sb-fig-2.4",
        "Sutton & Barto fig 2.4: UCB vs epsilon-greedy (sample averages)",
        curves,
        opts,
        panels=("average_reward",),
    )


def sb_fig_2_5(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    from rlsuite.agents.tabular.bandit import GradientBandit as G
    from rlsuite.agents.tabular.bandit import GradientBanditConfig as C

    curves = {
        f"alpha={a}, {'with' if b else 'without'} baseline": (G, C(alpha=a, baseline=b), {"q_mean": 4.0})
        for b in (True, False)
        for a in (0.1, 0.4)
    }
    return _bandit_figure(
        out,
        "sb-fig-2.5",
        "Sutton & Barto fig 2.5: gradient bandit with and without baseline, q* ~ N(+4, 1)",
        curves,
        opts,
        panels=("optimal_action",),
    )


def _power_of_two_label(e: int) -> str:
    return str(2**e) if e >= 0 else f"1/{2 ** -e}"


def sb_fig_2_6(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Parameter study: average reward over the first ``steps`` steps vs each method's parameter."""
    from rlsuite.agents.tabular.bandit import (
        UCB,
        EpsilonGreedyBandit,
        EpsilonGreedyBanditConfig,
        GradientBandit,
        GradientBanditConfig,
        UCBConfig,
    )
    from rlsuite.common import progress

    studies: dict[str, tuple[list[int], Callable[[float], tuple[type, Any]]]] = {
        "epsilon-greedy (epsilon)": (
            list(range(-7, -1)),
            lambda p: (EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=p)),
        ),
        "gradient bandit (alpha)": (
            list(range(-5, 2)),
            lambda p: (GradientBandit, GradientBanditConfig(alpha=p)),
        ),
        "UCB (c)": (list(range(-4, 3)), lambda p: (UCB, UCBConfig(c=p))),
        "greedy with optimistic initialization, alpha=0.1 (Q0)": (
            list(range(-2, 3)),
            lambda p: (
                EpsilonGreedyBandit,
                EpsilonGreedyBanditConfig(epsilon=0.0, initial_value=p, step_size=0.1),
            ),
        ),
    }
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 5))
    entries = []
    with progress.task("sb-fig-2.6", total=sum(len(e) for e, _ in studies.values()), unit="setting") as bar:
        for label, (exponents, make) in studies.items():
            means, configs = [], []
            for e in exponents:
                cls, config = make(2.0**e)
                means.append(float(_testbed(cls, config, opts)["average_reward"].mean()))
                configs.append(config.to_dict())
                bar.advance()
            ax.plot([2.0**e for e in exponents], means, marker="o", label=label)
            best = int(np.argmax(means))
            entries.append(
                {
                    "curve": label,
                    "parameter": [f"2^{e}" for e in exponents],
                    "parameter_label": [_power_of_two_label(e) for e in exponents],
                    "parameter_value": [2.0**e for e in exponents],
                    "configs": configs,
                    "average_reward_first_steps": means,
                    "best": {
                        "parameter": f"2^{exponents[best]}",
                        "parameter_label": _power_of_two_label(exponents[best]),
                        "average_reward": max(means),
                    },
                    "runs": opts.runs,
                    "steps": opts.steps,
                    "seed": opts.seed,
                    "seed_dependent": True,
                }
            )
    ax.set_xscale("log", base=2)
    ticks = list(range(-7, 3))
    ax.set_xticks([2.0**e for e in ticks], [_power_of_two_label(e) for e in ticks])
    ax.minorticks_off()
    ax.set_xlabel("parameter value: epsilon (epsilon-greedy), alpha (gradient bandit), c (UCB), Q0 (optimistic)")
    ax.set_ylabel(f"average reward over the first {opts.steps} steps")
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    ax.set_title(f"Sutton & Barto fig 2.6: parameter study of the bandit methods\n10-armed testbed, {opts.runs} "
                 f"runs, seed {opts.seed}")  # fmt: skip
    _save(fig, out / "sb-fig-2.6.png")
    peaks = "; ".join(f"{e['curve']}: {e['best']['average_reward']:.2f} at {e['best']['parameter_label']}"
                      for e in entries)  # fmt: skip
    return {"figure": "Sutton & Barto fig 2.6: parameter study", "entries": entries, "summary": f"peaks: {peaks}"}


FigureFn = Callable[[Path, ReproduceOptions], dict[str, Any]]

FIGURES: dict[str, tuple[str, FigureFn]] = {
    "zhao-fig-3.4": ("optimal values and policies, four settings (value iteration)", zhao_fig_3_4),
    "zhao-mc-basic-episode-length": ("MC Basic with episode lengths 1..100", zhao_mc_basic_episode_length),
    "zhao-mc-epsilon-greedy": (
        "optimal epsilon-greedy policies for epsilon 0..0.5, MC eps-greedy",
        zhao_mc_epsilon_greedy,
    ),
    "zhao-sgd-mean-estimation": ("SGD / BGD / MBGD on the mean-estimation example", zhao_sgd_mean_estimation),
    "zhao-robbins-monro": (
        "Robbins-Monro root finding; incremental mean's 1/sqrt(k) rate",
        zhao_robbins_monro,
    ),
    "sb-fig-2.2": ("10-armed testbed: epsilon-greedy, eps 0 / 0.01 / 0.1", sb_fig_2_2),
    "sb-fig-2.3": ("optimistic initial values vs realistic epsilon-greedy", sb_fig_2_3),
    "sb-fig-2.4": ("UCB c=2 vs epsilon-greedy 0.1", sb_fig_2_4),
    "sb-fig-2.5": ("gradient bandit with and without baseline, q* offset +4", sb_fig_2_5),
    "sb-fig-2.6": ("parameter study of the bandit methods", sb_fig_2_6),
}


def figure_names(name: str) -> list[str]:
    """The figures ``name`` stands for (``all``: every one); an unknown name is a one-line error."""
    if name == "all":
        return list(FIGURES)
    if name not in FIGURES:
        import difflib

        close = difflib.get_close_matches(name, list(FIGURES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown figure {name!r}{hint}; `rlsuite reproduce --list` lists them")
    return [name]


def reproduce(
    name: str,
    options: ReproduceOptions | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Make figure ``name`` (or ``all``) into ``options.out``; return each figure's JSON data.

    ``on_done(data)`` is called as each figure is written (the CLI prints its result line there).

    Everything a user can get wrong is checked before any work: the name, the folder (writable, not
    locked by another process), and figures already there (refused unless ``overwrite``).
    """
    from rlsuite.app import console
    from rlsuite.common.io import OutputDir, write_json

    opts = options or ReproduceOptions()
    names = figure_names(name)
    out = Path(opts.out)
    folder = OutputDir(out, resume=True)  # a figures folder collects figures: add to it, never empty it
    folder.check()
    if not opts.overwrite:
        for n in names:
            for path in (out / f"{n}.png", out / f"{n}.json"):
                if path.exists():
                    raise OutputDirError(f"{path}: exists; pass --overwrite to replace it (or choose another --out)")
    results = []
    with folder, console.Job(names) as job:
        console.log_to(out)
        for n in names:
            job.stage(n)
            data = {"name": n, **FIGURES[n][1](out, opts)}
            if n.startswith("sb-"):
                data["size"] = {"runs": opts.runs, "steps": opts.steps, "book": {"runs": 2000, "steps": 1000}}
            write_json(out / f"{n}.json", data)  # last: a figure whose JSON exists is complete
            results.append(data)
            if on_done is not None:
                on_done(data)
    return results


# ----- the command -----
def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="figure name, or `all`; --list shows them")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")


def add_subcommands(subparsers: Any) -> None:
    from rlsuite.app.args import add_command

    add_command(
        subparsers,
        "reproduce",
        help="regenerate a book figure (PNG + JSON of the plotted numbers)",
        description="Regenerate a figure of Zhao's or Sutton & Barto's book as NAME.png + NAME.json in --out. "
        "--list shows the figures; `all` makes every one.",
        configs=[ReproduceOptions],
        run=_run,
        arguments=_arguments,
    )


def _run(parsed: Any) -> int:
    args = parsed.args
    if args.list or not args.name:
        for name, (description, _) in FIGURES.items():
            print(f"{name:<30} {description}")
        return 0
    opts: ReproduceOptions = parsed.get(ReproduceOptions)
    reproduce(args.name, opts, on_done=lambda data: print(f"{Path(opts.out) / data['name']}.png, .json: "
                                                          f"{data['summary']}", flush=True))  # fmt: skip
    return 0
