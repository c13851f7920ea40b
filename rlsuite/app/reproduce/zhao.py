"""Zhao's *Mathematical Foundations of Reinforcement Learning*: the figures of chapters 2-7."""

from __future__ import annotations

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


@FIGURES.add("zhao-fig-3.4", "optimal values and policies, four settings (value iteration)")
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


# Fig 5.4's printed values (r_forbidden = -10), by episode length; rows 1..5.
ZHAO_FIG_5_4 = {
    1: [[0.0] * 5, [0.0] * 5, [0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]],
    2: [[0.0] * 5, [0.0] * 5, [0.0, 0.0, 1.9, 0.0, 0.0], [0.0, 1.9, 1.9, 1.9, 0.0], [0.0, 0.9, 1.9, 0.9, 0.0]],
    3: [[0.0] * 5, [0.0] * 5, [0.0, 0.0, 2.7, 0.0, 0.0], [0.0, 2.7, 2.7, 2.7, 0.0], [0.0, 1.7, 2.7, 1.7, 0.8]],
    4: [[0.0] * 5, [0.0] * 5, [0.0, 0.0, 3.4, 0.0, 0.0], [0.0, 3.4, 3.4, 3.4, 0.7], [0.0, 2.4, 3.4, 2.4, 1.5]],
    14: [[1.2, 1.6, 2.0, 2.5, 3.0], [0.9, 1.2, 2.5, 3.0, 3.6], [0.5, 0.3, 7.7, 3.6, 4.3], [0.3, 7.7, 7.7, 7.7, 5.0],
         [0.0, 6.7, 7.7, 6.7, 5.8]],
    15: [[1.4, 1.8, 2.2, 2.7, 3.3], [1.1, 1.4, 2.7, 3.3, 3.8], [0.8, 0.5, 7.9, 3.8, 4.5], [0.5, 7.9, 7.9, 7.9, 5.2],
         [0.2, 6.9, 7.9, 6.9, 6.0]],
    30: [[3.1, 3.5, 3.9, 4.4, 4.9], [2.7, 3.1, 4.4, 4.9, 5.5], [2.4, 2.1, 9.6, 5.5, 6.1], [2.1, 9.6, 9.6, 9.6, 6.9],
         [1.9, 8.6, 9.6, 8.6, 7.7]],
    100: [[3.5, 3.9, 4.3, 4.8, 5.3], [3.1, 3.5, 4.8, 5.3, 5.9], [2.8, 2.5, 10.0, 5.9, 6.6],
          [2.5, 10.0, 10.0, 10.0, 7.3], [2.3, 9.0, 10.0, 9.0, 8.1]],
}  # fmt: skip


def mc_basic_run(env: Any, episode_length: int, iterations: int = 20) -> Any:
    """Fig 5.4's MC Basic agent after ``iterations`` iterations with episodes of ``episode_length`` steps."""
    from rlsuite.agents.tabular.mc import MCBasic, MCBasicConfig

    agent = MCBasic(env, MCBasicConfig(episode_length=episode_length))
    agent.learn(iterations)
    return agent


@FIGURES.add("zhao-fig-5.4", "MC Basic with episode lengths 1..100")
def zhao_mc_basic_episode_length(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """MC Basic with episode lengths 1..100 (fig 5.4): short episodes leave states far from the target unvalued."""
    from rlsuite.app.reproduce.zhao_ch2_4 import book_match

    lengths = list(ZHAO_FIG_5_4)
    env = _grid_env(r_forbidden=-10.0)
    plt = _plt()
    fig, axes = plt.subplots(2, 4, figsize=(16, 9))
    entries = []
    for ax, length in zip(axes.ravel(), lengths, strict=True):
        agent = mc_basic_run(env, length)
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
                **book_match(v, ZHAO_FIG_5_4[length]),
                "seed_dependent": False,  # deterministic env and policy: one episode per (s, a) is exact
            }
        )
    fig.suptitle(
        "Zhao fig. 5.4, MC Basic: state values and greedy actions after 20 iterations, by episode length "
        "(r_boundary = -1, r_forbidden = -10, r_target = 1, gamma = 0.9)"
    )
    _save(fig, out / "zhao-fig-5.4.png")
    valued = [e["states_with_nonzero_value"] for e in entries]
    matched = sum(e["matches_book"] for e in entries)
    return {
        "figure": "Zhao, figure 5.4: MC Basic, the impact of the episode length (r_boundary=-1, "
        "r_forbidden=-10, r_target=1, gamma=0.9)",
        "entries": entries,
        "summary": f"states valued for episode lengths {lengths}: {valued}; the book's tables matched in "
        f"{matched} of {len(entries)} panels",
    }


# Fig 5.7's printed values of the optimal epsilon-greedy policies (r_forbidden = -10), rows 1..5.
ZHAO_FIG_5_7 = {
    0.0: [ZHAO_FIG_3_4["r_forbidden=-10"][r] for r in range(5)],
    0.1: [[0.4, 0.5, 0.9, 1.3, 1.4], [0.1, 0.0, 0.5, 1.3, 1.7], [0.1, -0.4, 3.4, 1.4, 1.9],
          [-0.1, 3.4, 3.3, 3.7, 2.2], [-0.3, 2.6, 3.7, 3.1, 2.7]],
    0.2: [[-1.1, -1.5, -1.1, -0.6, -0.6], [-1.5, -2.2, -2.3, -1.0, -0.6], [-1.2, -2.4, -2.2, -1.5, -0.6],
          [-1.6, -2.3, -2.6, -1.4, -1.1], [-2.0, -3.0, -1.8, -1.4, -1.0]],
    0.5: [[-4.3, -5.5, -4.5, -2.6, -2.3], [-5.6, -7.7, -7.7, -4.1, -2.4], [-5.5, -9.0, -8.0, -5.6, -2.8],
          [-6.8, -8.9, -9.4, -5.5, -4.2], [-7.9, -10.1, -6.7, -5.1, -3.7]],
}  # fmt: skip


@FIGURES.add("zhao-fig-5.7", "optimal epsilon-greedy policies for epsilon 0..0.5, MC eps-greedy")
def zhao_mc_epsilon_greedy(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Optimal epsilon-greedy policies for several epsilon (exact), and MC epsilon-greedy at 0.1."""
    from rlsuite.agents.base import epsilon_greedy, greedy_optimal_fraction
    from rlsuite.agents.tabular.dp import policy_evaluation
    from rlsuite.agents.tabular.mc import MCEpsilonGreedy
    from rlsuite.app.reproduce.zhao_ch2_4 import book_bump_model, book_match
    from rlsuite.app.reproduce.zhao_ch5_7 import _optimal_epsilon_greedy

    env = _grid_env(r_forbidden=-10.0)
    learner = MCEpsilonGreedy(env)
    model, q_star = learner.model, learner.q_star
    # the book's tables are of a grid where walking into the wall from a forbidden cell costs -11
    v_book = {eps: _optimal_epsilon_greedy(book_bump_model(env), eps)[1] for eps in ZHAO_FIG_5_7}
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
                **book_match(v, ZHAO_FIG_5_7[eps]),
                "book_wall_price": {"values": np.round(v_book[eps], 1).reshape(5, 5).tolist(),
                                    **book_match(v_book[eps], ZHAO_FIG_5_7[eps])},
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
    fig.suptitle("Zhao fig. 5.7: optimal epsilon-greedy policies for growing epsilon, and MC epsilon-greedy")
    _save(fig, out / "zhao-fig-5.7.png")
    return {
        "figure": "Zhao ch. 5: optimal epsilon-greedy policies for growing epsilon (grid world with "
        "r_forbidden=-10, gamma=0.9); larger epsilon drifts from the optimal greedy policy",
        "entries": entries,
        "summary": f"greedy actions optimal for epsilon in {consistent}; MC eps=0.1 greedy optimal in "
        f"{entries[-1]['greedy_optimal_fraction']:.0%} of states after {episodes} episodes",
    }


@FIGURES.add("zhao-fig-6.5", "SGD / BGD / MBGD on the mean-estimation example")
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
    ax2.set_yscale("symlog", linthresh=1e-2)  # log: methods stay apart after k=3; linear near 0 (BGD lands on it)
    ax2.set_ylabel("distance |w_k - sample mean| (units of X;\nlog scale, linear below 0.01)")
    ax2.set_title("distance to the sample mean")
    ax2.grid(alpha=0.3)
    _legend_outside(ax2)
    fig.suptitle(
        f"Zhao ch. 6: SGD, MBGD and BGD (a_k = 1/k) estimating E[X], X uniform on [-{cfg.half_width:g}, "
        f"{cfg.half_width:g}]^2, {cfg.n_samples} samples"
    )
    _save(fig, out / "zhao-fig-6.5.png")
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


@FIGURES.add("zhao-robbins-monro", "Robbins-Monro root finding; incremental mean's 1/sqrt(k) rate")
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



# The names these figures had before they took the book's numbers; they still work.
ALIASES = {
    "zhao-mc-basic-episode-length": "zhao-fig-5.4",
    "zhao-mc-epsilon-greedy": "zhao-fig-5.7",
    "zhao-sgd-mean-estimation": "zhao-fig-6.5",
}
GROUPS = {"zhao-robbins-monro": "Zhao, chapter 6"}
