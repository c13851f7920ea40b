"""Sutton & Barto's *Reinforcement Learning: An Introduction* (2nd ed.): the figures of chapters 6-8.

Names follow the reference implementation's images (ShangtongZhang/reinforcement-learning-an-introduction):
``sb-ex-6.2`` (example 6.2, both panels), ``sb-fig-6.2`` (batch updating), ``sb-fig-6.3`` (windy grid world,
example 6.5), ``sb-fig-6.4`` (cliff walking, example 6.6), ``sb-fig-6.6`` (interim and asymptotic performance:
the book's figure 6.3), ``sb-fig-6.7`` (maximization bias: the book's figure 6.5), ``sb-fig-7.2``, ``sb-fig-8.2``,
``sb-fig-8.4``, ``sb-fig-8.5``, ``sb-ex-8.4``, ``sb-fig-8.7``, ``sb-fig-8.8``.

Every sampled figure runs its runs at once in numpy (:mod:`rlsuite.agents.tabular.prediction`,
:mod:`~rlsuite.agents.tabular.episodic`, :mod:`~rlsuite.agents.tabular.planning`). ``--runs`` sets the number
of runs of every figure; left at its default (the bandits' 2000), each figure uses its own count (``RUNS``:
the book's, or the reference code's where the book gives none). ``--seed`` seeds them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.app.reproduce._common import FigureTable, ReproduceOptions, _legend_outside, _plt, _save

FIGURES = FigureTable()

# figure -> (runs by default, where the count comes from)
RUNS: dict[str, tuple[int, str]] = {
    "sb-ex-6.2": (100, "book and reference: 100"),
    "sb-fig-6.2": (100, "book and reference: 100"),
    "sb-fig-6.3": (1, "book: one run"),
    "sb-fig-6.4": (50, "reference: 50 (the book smooths one run)"),
    "sb-fig-6.6": (10, "reference: 10 (the book: 50,000 interim, 10 asymptotic)"),
    "sb-fig-6.7": (10000, "book: 10,000 (reference: 1,000)"),
    "sb-fig-7.2": (100, "book and reference: 100"),
    "sb-fig-8.2": (30, "book: 30 (reference: 10)"),
    "sb-fig-8.4": (20, "reference: 20"),
    "sb-fig-8.5": (20, "reference: 5; 20 cost the same here"),
    "sb-ex-8.4": (5, "reference: 5"),
    "sb-fig-8.7": (100, "reference: 100"),
    "sb-fig-8.8": (30, "reference: 30 tasks (the book: 200)"),
}


def _runs(name: str, opts: ReproduceOptions) -> int:
    """``--runs`` when given (not its bandit default), else the figure's own count."""
    return opts.runs if opts.runs != ReproduceOptions().runs else RUNS[name][0]


def _size(name: str, runs: int, **extra: Any) -> dict[str, Any]:
    return {"runs": runs, "book": {"runs": RUNS[name][0], "source": RUNS[name][1]}, **extra}


def _axes(ax: Any, xlabel: str, ylabel: str) -> None:
    """Label the axes, add a light grid and put the legend outside the data."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    _legend_outside(ax)


def _make(env_id: str, **kwargs: Any) -> Any:
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401

    return gym.make(env_id, **kwargs)


def _rng(opts: ReproduceOptions, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng([opts.seed, salt])


def _walk(n_states: int = 5) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """The random walk's env, sim, uniform policy and true values."""
    from rlsuite.agents.tabular.sim import BatchSim

    env = _make("rlsuite/RandomWalk-v0" if n_states == 5 else "rlsuite/RandomWalk19-v0")
    return env, BatchSim.of(env), np.full((n_states + 2, 2), 0.5), env.unwrapped.true_values()


def _rms(V: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """[R] RMS over the non-terminal states (all but the first and last)."""
    return np.sqrt(((V[:, 1:-1] - truth[1:-1]) ** 2).mean(axis=1))


def _prediction_curves(
    methods: list[tuple[str, int | None, float]], runs: int, episodes: int, opts: ReproduceOptions, initial: float,
    batch: bool = False, salt: int = 0,
) -> dict[str, np.ndarray]:
    """RMS error [episodes + 1] averaged over runs for each (label, n (None: MC), alpha) on the 5-state walk,
    every method's runs in one batch (one alpha per run)."""
    from rlsuite.agents.tabular.prediction import BatchFixedPoint, n_step_updates, sample_episodes

    _, sim, policy, truth = _walk()
    rng = _rng(opts, salt)
    out: dict[str, np.ndarray] = {}
    groups: dict[int | None, list[tuple[str, float]]] = {}
    for label, n, alpha in methods:
        groups.setdefault(n, []).append((label, alpha))
    for n, members in groups.items():
        R = runs * len(members)
        alphas = np.repeat([a for _, a in members], runs)
        V = np.tile(np.where(np.arange(7) % 6 == 0, 0.0, initial), (R, 1))
        fixed = BatchFixedPoint(R, 7, V.copy(), np.arange(7) % 6 == 0, 1.0)
        errors = [_rms(V, truth)]
        for _ in range(episodes):
            ep = sample_episodes(sim, policy, R, rng)
            if batch:
                fixed.add(ep)
                V = fixed.mc() if n is None else fixed.td()
            else:
                n_step_updates(V, ep, n, alphas, 1.0)
            errors.append(_rms(V, truth))
        E = np.array(errors).reshape(episodes + 1, len(members), runs).mean(axis=2)
        for i, (label, _) in enumerate(members):
            out[label] = E[:, i]
    return {label: out[label] for label, _, _ in methods}


@FIGURES.add("sb-ex-6.2", "random walk: TD(0) values after 0/1/10/100 episodes; RMS error TD vs MC")
def sb_ex_6_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Example 6.2: TD(0)'s values after 0, 1, 10, 100 episodes (one run); RMS error of TD and MC vs episodes."""
    from rlsuite.agents.tabular.prediction import n_step_updates, sample_episodes

    name = "sb-ex-6.2"
    runs = _runs(name, opts)
    _, sim, policy, truth = _walk()
    rng = _rng(opts)
    V = np.array([[0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0]])
    snapshots = {0: V[0].copy()}
    for episode in range(1, 101):
        n_step_updates(V, sample_episodes(sim, policy, 1, rng), 1, 0.1, 1.0)
        if episode in (1, 10, 100):
            snapshots[episode] = V[0].copy()
    methods = [(f"TD alpha={a}", 1, a) for a in (0.15, 0.1, 0.05)] + [(f"MC alpha={a}", None, a)
                                                                      for a in (0.01, 0.02, 0.03, 0.04)]  # fmt: skip
    rms = _prediction_curves(methods, runs, 100, opts, 0.5, salt=1)
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6))
    labels = ["A", "B", "C", "D", "E"]
    for k, v in snapshots.items():
        left.plot(labels, v[1:6], marker="o", label=f"after {k} episodes")
    left.plot(labels, truth[1:6], "k--", label="true values")
    left.set_xlabel("state")
    left.set_ylabel("estimated value")
    left.set_title("TD(0) estimates, alpha = 0.1, one run")
    left.grid(alpha=0.3)
    _legend_outside(left)
    for label, y in rms.items():
        right.plot(np.arange(101), y, ls="-" if label.startswith("TD") else "--", label=label)
    right.set_xlabel("walks / episodes")
    right.set_ylabel("RMS error, averaged over states and runs")
    right.set_title(f"TD vs constant-alpha MC, {runs} runs")
    right.grid(alpha=0.3)
    _legend_outside(right)
    fig.suptitle(f"Sutton & Barto example 6.2: random walk (5 states), seed {opts.seed}")
    _save(fig, out / f"{name}.png")
    entries: list[dict[str, Any]] = [
        {"curve": f"values after {k} episodes", "values": np.round(v[1:6], 4).tolist(), "seed_dependent": k > 0}
        for k, v in snapshots.items()
    ]
    entries.append({"curve": "true values", "values": truth[1:6].tolist(), "seed_dependent": False})
    entries += [{"curve": label, "rms_error": np.round(y, 4).tolist(), "runs": runs, "seed_dependent": True}
                for label, y in rms.items()]  # fmt: skip
    levels = "; ".join(f"{k}: {float(np.mean(y[-10:])):.3f}" for k, y in rms.items())
    return {"figure": "Sutton & Barto example 6.2: random walk values and RMS error", "entries": entries,
            "summary": f"RMS error over episodes 91-100: {levels}",
            "size": _size(name, runs, episodes=100)}  # fmt: skip


@FIGURES.add("sb-fig-6.2", "random walk: batch TD(0) vs batch MC, RMS error")
def sb_fig_6_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Figure 6.2: batch-updating TD(0) and MC on the random walk (values start at -1, as the reference's)."""
    name = "sb-fig-6.2"
    runs = _runs(name, opts)
    rms = _prediction_curves([("batch TD", 1, 0.0), ("batch MC", None, 0.0)], runs, 100, opts, -1.0, batch=True)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    for label, y in rms.items():
        ax.plot(np.arange(1, 101), y[1:], label=label)
    ax.set_ylim(0, 0.25)
    _axes(ax, "walks / episodes", "RMS error, averaged over states and runs")
    ax.set_title(f"Sutton & Barto fig 6.2: batch training on the random walk\n{runs} runs, seed {opts.seed}")
    _save(fig, out / f"{name}.png")
    entries = [{"curve": k, "rms_error": np.round(y[1:], 4).tolist(), "runs": runs, "seed_dependent": True}
               for k, y in rms.items()]  # fmt: skip
    levels = "; ".join(f"{k}: {float(np.mean(y[-10:])):.3f}" for k, y in rms.items())
    return {"figure": "Sutton & Barto fig 6.2: batch TD vs batch MC", "entries": entries,
            "summary": f"RMS error over episodes 91-100: {levels}",
            "size": _size(name, runs, episodes=100)}  # fmt: skip


def _control(env: Any, method: str, runs: int, episodes: int, alpha: Any, rng: np.random.Generator,
             epsilon: float = 0.1) -> Any:  # fmt: skip
    from rlsuite.agents.tabular.episodic import allowed_actions, episodic_control
    from rlsuite.agents.tabular.sim import BatchSim

    return episodic_control(BatchSim.of(env), method, runs, episodes, alpha, epsilon, 1.0, rng,  # type: ignore[arg-type]
                            allowed_actions(env))  # fmt: skip


@FIGURES.add("sb-fig-6.3", "windy grid world: Sarsa, episodes vs time steps (example 6.5)")
def sb_fig_6_3(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Example 6.5: Sarsa (alpha 0.5, epsilon 0.1) on the windy grid world, episodes vs time steps."""
    name = "sb-fig-6.3"
    runs = _runs(name, opts)
    episodes = 170
    res = _control(_make("rlsuite/WindyGridWorld-v0"), "sarsa", runs, episodes, 0.5, _rng(opts))
    steps = res.lengths.cumsum(axis=0).mean(axis=1)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    ax.plot(steps, np.arange(1, episodes + 1), label=f"Sarsa, mean of {runs} run(s)")
    _axes(ax, "time steps", "episodes")
    ax.set_title(f"Sutton & Barto example 6.5: Sarsa on the windy grid world\nalpha 0.5, epsilon 0.1, seed {opts.seed}")
    _save(fig, out / f"{name}.png")
    last = float(res.lengths[-10:].mean())
    entries = [{"curve": "Sarsa", "cumulative_steps": np.round(steps, 1).tolist(), "runs": runs,
                "last_10_episode_length": last, "seed_dependent": True}]  # fmt: skip
    return {"figure": "Sutton & Barto example 6.5: windy grid world", "entries": entries,
            "summary": f"{episodes} episodes in {steps[-1]:.0f} steps (book: about 8000); last 10 episodes "
                       f"{last:.1f} steps (optimal 15)", "size": _size(name, runs, episodes=episodes)}  # fmt: skip


@FIGURES.add("sb-fig-6.4", "cliff walking: Sarsa vs Q-learning, sum of rewards per episode (example 6.6)")
def sb_fig_6_4(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Example 6.6: sum of rewards per episode of Sarsa and Q-learning on CliffWalking (alpha 0.5, eps 0.1)."""
    name = "sb-fig-6.4"
    runs = _runs(name, opts)
    episodes = 500
    env = _make("CliffWalking-v1")
    curves = {label: _control(env, m, runs, episodes, 0.5, _rng(opts, i)).returns.mean(axis=1)
              for i, (label, m) in enumerate((("Sarsa", "sarsa"), ("Q-learning", "q_learning")))}  # fmt: skip
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    for label, y in curves.items():
        ax.plot(np.arange(1, episodes + 1), y, label=label)
    ax.set_ylim(-100, 0)
    _axes(ax, "episodes", f"sum of rewards during episode (mean of {runs} runs)")
    ax.set_title(f"Sutton & Barto example 6.6: cliff walking, alpha 0.5, epsilon 0.1\n{runs} runs, seed {opts.seed}")
    _save(fig, out / f"{name}.png")
    entries = [{"curve": k, "sum_of_rewards": np.round(y, 2).tolist(), "last_100": float(y[-100:].mean()),
                "runs": runs, "seed_dependent": True} for k, y in curves.items()]  # fmt: skip
    levels = "; ".join(f"{e['curve']}: {e['last_100']:.1f}" for e in entries)
    return {"figure": "Sutton & Barto example 6.6: Sarsa vs Q-learning on the cliff", "entries": entries,
            "summary": f"mean sum of rewards, last 100 episodes: {levels} (book: about -25 and -50)",
            "size": _size(name, runs, episodes=episodes)}  # fmt: skip


@FIGURES.add("sb-fig-6.6", "cliff walking: interim/asymptotic performance vs alpha (2nd ed. fig 6.3)")
def sb_fig_6_6(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """The book's figure 6.3: interim (first 100 episodes) and asymptotic (all 1000) mean sum of rewards per
    episode on the cliff vs alpha, for Sarsa, Expected Sarsa and Q-learning (the reference's sizes)."""
    name = "sb-fig-6.6"
    runs = _runs(name, opts)
    episodes = 1000
    alphas = np.round(np.arange(0.1, 1.01, 0.1), 2)
    env = _make("CliffWalking-v1")
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 5))
    entries = []
    methods = (("Sarsa", "sarsa"), ("Expected Sarsa", "expected_sarsa"), ("Q-learning", "q_learning"))
    for i, (label, method) in enumerate(methods):
        res = _control(env, method, runs * len(alphas), episodes, np.repeat(alphas, runs), _rng(opts, i))
        per = res.returns.reshape(episodes, len(alphas), runs)
        interim, asymptotic = per[:100].mean(axis=(0, 2)), per.mean(axis=(0, 2))
        ax.plot(alphas, interim, ls="--", marker="o", color=f"C{i}", label=f"interim {label}")
        ax.plot(alphas, asymptotic, ls="-", marker="s", color=f"C{i}", label=f"asymptotic {label}")
        entries.append({"curve": label, "alpha": alphas.tolist(), "interim": np.round(interim, 2).tolist(),
                        "asymptotic": np.round(asymptotic, 2).tolist(), "runs": runs,
                        "seed_dependent": True})  # fmt: skip
    ax.set_ylim(-160, 0)
    _axes(ax, "step size alpha", "mean sum of rewards per episode")
    ax.set_title(f"Sutton & Barto fig 6.3 (2nd ed.): interim (first 100 episodes) and asymptotic ({episodes})\n"
                 f"performance on the cliff, {runs} runs per alpha, seed {opts.seed}")  # fmt: skip
    _save(fig, out / f"{name}.png")
    best = "; ".join(f"{e['curve']}: asymptotic {max(e['asymptotic']):.1f}, interim {max(e['interim']):.1f}"
                     for e in entries)  # fmt: skip
    return {"figure": "Sutton & Barto fig 6.3 (2nd ed.): interim and asymptotic performance", "entries": entries,
            "summary": f"best over alpha: {best}", "size": _size(name, runs, episodes=episodes)}  # fmt: skip


@FIGURES.add("sb-fig-6.7", "maximization bias: Q-learning vs Double Q-learning, % left (2nd ed. fig 6.5)")
def sb_fig_6_7(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """The book's figure 6.5: % of episodes going left from A, Q-learning vs Double Q-learning."""
    name = "sb-fig-6.7"
    runs = _runs(name, opts)
    episodes = 300
    env = _make("rlsuite/MaximizationBias-v0")
    methods = (("Q-learning", "q_learning"), ("Double Q-learning", "double_q"))
    curves = {label: 100 * (_control(env, m, runs, episodes, 0.1, _rng(opts, i)).first_actions == 1).mean(axis=1)
              for i, (label, m) in enumerate(methods)}  # fmt: skip
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    for label, y in curves.items():
        ax.plot(np.arange(1, episodes + 1), y, label=label)
    ax.axhline(5.0, color="k", ls=":", label="optimal (epsilon-greedy: 5%)")
    _axes(ax, "episodes", "% left actions from A")
    ax.set_title(f"Sutton & Barto fig 6.5 (2nd ed.): maximization bias, B has 10 actions\n{runs} runs, "
                 f"alpha 0.1, epsilon 0.1, seed {opts.seed}")  # fmt: skip
    _save(fig, out / f"{name}.png")
    entries = [{"curve": k, "percent_left": np.round(y, 2).tolist(), "peak": float(y.max()),
                "peak_episode": int(y.argmax()) + 1, "last_50": float(y[-50:].mean()), "runs": runs,
                "seed_dependent": True} for k, y in curves.items()]  # fmt: skip
    levels = "; ".join(f"{e['curve']}: peak {e['peak']:.0f}% at episode {e['peak_episode']}, last 50 "
                       f"{e['last_50']:.1f}%" for e in entries)  # fmt: skip
    return {"figure": "Sutton & Barto fig 6.5 (2nd ed.): Q-learning vs Double Q-learning", "entries": entries,
            "summary": levels, "size": _size(name, runs, episodes=episodes)}


@FIGURES.add("sb-fig-7.2", "19-state random walk: n-step TD, RMS error vs alpha, n = 1..512")
def sb_fig_7_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Figure 7.2: n-step TD on the 19-state walk, RMS error over the first 10 episodes vs alpha, n = 1..512."""
    from rlsuite.agents.tabular.prediction import n_step_updates, sample_episodes

    name = "sb-fig-7.2"
    runs = _runs(name, opts)
    _, sim, policy, truth = _walk(19)
    rng = _rng(opts)
    alphas = np.round(np.arange(0.0, 1.01, 0.1), 2)
    R = runs * len(alphas)
    walks = [sample_episodes(sim, policy, R, rng) for _ in range(10)]  # shared by every n
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 5))
    entries = []
    for k in range(10):
        n = 2**k
        V = np.zeros((R, 21))
        total = np.zeros(R)
        for ep in walks:
            n_step_updates(V, ep, n, np.repeat(alphas, runs), 1.0)
            total += _rms(V, truth)
        err = (total / 10).reshape(len(alphas), runs).mean(axis=1)
        ax.plot(alphas, err, label=f"n = {n}")
        entries.append({"curve": f"n = {n}", "n": n, "alpha": alphas.tolist(), "rms_error": np.round(err, 4).tolist(),
                        "best_alpha": float(alphas[int(np.argmin(err))]), "best": float(err.min()), "runs": runs,
                        "seed_dependent": True})  # fmt: skip
    ax.set_ylim(0.25, 0.55)
    _axes(ax, "alpha", "average RMS error over 19 states and first 10 episodes")
    ax.set_title(f"Sutton & Barto fig 7.2: n-step TD on the 19-state random walk\n{runs} runs, seed {opts.seed}")
    _save(fig, out / f"{name}.png")
    best = min(entries, key=lambda e: e["best"])
    return {"figure": "Sutton & Barto fig 7.2: n-step TD methods", "entries": entries,
            "summary": f"lowest error {best['best']:.3f} at n = {best['n']}, alpha = {best['best_alpha']} (book: "
                       "n = 4, alpha about 0.4-0.5)", "size": _size(name, runs, episodes=10)}  # fmt: skip


def _dyna(env: Any, runs: int, n: int, alpha: float, rng: np.random.Generator, **kwargs: Any) -> Any:
    """Dyna runs on ``env`` (an id, or an env), gamma 0.95, epsilon 0.1."""
    from rlsuite.agents.tabular.planning import dyna_runs, sim_schedule

    env = _make(env) if isinstance(env, str) else env
    return dyna_runs(sim_schedule(env), runs, n, alpha, 0.95, 0.1, rng, **kwargs)


@FIGURES.add("sb-fig-8.2", "Dyna maze: steps per episode, 0 / 5 / 50 planning steps")
def sb_fig_8_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Figure 8.2: steps per episode of Dyna-Q on the Dyna maze with 0, 5, 50 planning steps (alpha 0.1)."""
    name = "sb-fig-8.2"
    runs = _runs(name, opts)
    curves = {n: _dyna("rlsuite/DynaMaze-v0", runs, n, 0.1, _rng(opts, n), episodes=50).lengths.mean(axis=1)
              for n in (0, 5, 50)}  # fmt: skip
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    for n, y in curves.items():
        ax.plot(np.arange(2, 51), y[1:], label=f"{n} planning steps" + (" (direct RL only)" if n == 0 else ""))
    ax.set_ylim(0, 800)
    ax.axhline(14, color="k", ls=":", label="shortest path (14)")
    _axes(ax, "episodes", f"steps per episode (mean of {runs} runs)")
    ax.set_title(f"Sutton & Barto fig 8.2: Dyna-Q on the Dyna maze\nalpha 0.1, epsilon 0.1, gamma 0.95, seed "
                 f"{opts.seed}")  # fmt: skip
    _save(fig, out / f"{name}.png")
    entries = [{"curve": f"n = {n}", "planning_steps": n, "steps_per_episode": np.round(y, 1).tolist(),
                "episode_2": float(y[1]), "last_10": float(y[-10:].mean()), "runs": runs, "seed_dependent": True}
               for n, y in curves.items()]  # fmt: skip
    levels = "; ".join(f"n = {e['planning_steps']}: episode 2 {e['episode_2']:.0f} steps" for e in entries)
    return {"figure": "Sutton & Barto fig 8.2: Dyna-Q with 0, 5, 50 planning steps", "entries": entries,
            "summary": levels, "size": _size(name, runs, episodes=50)}


def _changing_maze(out: Path, name: str, env_id: str, steps: int, n: int, kappa: float, opts: ReproduceOptions,
                   title: str) -> dict[str, Any]:  # fmt: skip
    runs = _runs(name, opts)
    res = _dyna(env_id, 2 * runs, n, 1.0, _rng(opts), kappa=np.repeat([0.0, kappa], runs), total_steps=steps)
    cumulative = res.rewards.cumsum(axis=0)
    curves = {"Dyna-Q": cumulative[:, :runs].mean(axis=1), "Dyna-Q+": cumulative[:, runs:].mean(axis=1)}
    change = _make(env_id).unwrapped.change_at
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    for label, y in curves.items():
        ax.plot(np.arange(1, steps + 1), y, label=label)
    ax.axvline(change, color="k", ls=":", label=f"the maze changes ({change} steps)")
    _axes(ax, "time steps", f"cumulative reward (mean of {runs} runs)")
    ax.set_title(f"{title}\nn = {n}, alpha 1.0, kappa {kappa:g}, epsilon 0.1, seed {opts.seed}")
    _save(fig, out / f"{name}.png")
    entries = [{"curve": k, "cumulative_reward": np.round(y[99::100], 2).tolist(), "every": 100,
                "at_change": float(y[change - 1]), "final": float(y[-1]),
                "after_change_per_1000": float((y[-1] - y[change - 1]) * 1000 / (steps - change)), "runs": runs,
                "seed_dependent": True} for k, y in curves.items()]  # fmt: skip
    levels = "; ".join(f"{e['curve']}: {e['final']:.0f} ({e['after_change_per_1000']:.1f} per 1000 steps after the "
                       "change)" for e in entries)  # fmt: skip
    return {"figure": title, "entries": entries, "summary": f"cumulative reward at {steps} steps: {levels}",
            "size": _size(name, runs, steps=steps)}  # fmt: skip


@FIGURES.add("sb-fig-8.4", "blocking maze: cumulative reward, Dyna-Q vs Dyna-Q+")
def sb_fig_8_4(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Figure 8.4: the blocking maze, Dyna-Q vs Dyna-Q+ (n = 10, kappa = 1e-4, the reference's sizes)."""
    return _changing_maze(out, "sb-fig-8.4", "rlsuite/BlockingMaze-v0", 3000, 10, 1e-4, opts,
                          "Sutton & Barto fig 8.4: the blocking maze")  # fmt: skip


@FIGURES.add("sb-fig-8.5", "shortcut maze: cumulative reward, Dyna-Q vs Dyna-Q+")
def sb_fig_8_5(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Figure 8.5: the shortcut maze, Dyna-Q vs Dyna-Q+ (n = 50, kappa = 1e-3, the reference's sizes)."""
    return _changing_maze(out, "sb-fig-8.5", "rlsuite/ShortcutMaze-v0", 6000, 50, 1e-3, opts,
                          "Sutton & Barto fig 8.5: the shortcut maze")  # fmt: skip


@FIGURES.add("sb-ex-8.4", "prioritized sweeping vs Dyna-Q: updates until optimal vs maze size")
def sb_ex_8_4(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Example 8.4: updates until the greedy path is within 1.2 x the shortest, prioritized sweeping vs Dyna-Q,
    on the Dyna maze scaled 1..5 times per side (n = 5, alpha 0.5, theta 1e-4; the reference's sizes)."""
    from rlsuite.agents.tabular.planning import (
        PrioritizedSweepingLearner,
        greedy_path_ok,
        prioritized_sweeping_until_optimal,
    )

    name = "sb-ex-8.4"
    runs = _runs(name, opts)
    scales = [1, 2, 3, 4, 5]
    rng = _rng(opts)
    dyna, ps, sizes = [], [], []
    for k in scales:
        env = _make("rlsuite/DynaMaze-v0", scale=k)
        base = env.unwrapped
        limit = 14 * k * 1.2
        sizes.append(int((base.current != "#").sum()))

        def stop(q: np.ndarray, idx: np.ndarray, base: Any = base, limit: float = limit) -> np.ndarray:
            return greedy_path_ok(base.next_state, base.terminal, base.start_state, q, limit)

        res = _dyna(env, runs, 5, 0.5, rng, episodes=100_000, stop=stop)
        dyna.append(float(res.steps.mean() * 6))
        counts = []
        for _ in range(runs):
            learner = PrioritizedSweepingLearner(base.n_states, 4, 5, 0.5, 0.95, 0.1, 1e-4)
            counts.append(prioritized_sweeping_until_optimal(env, learner, rng, limit))
        ps.append(float(np.mean(counts)))
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    ax.plot(sizes, ps, marker="o", label="prioritized sweeping")
    ax.plot(sizes, dyna, marker="s", label="Dyna-Q")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _axes(ax, "gridworld size (free cells)", f"updates until optimal solution (mean of {runs} runs)")
    ax.set_title(f"Sutton & Barto example 8.4: prioritized sweeping vs Dyna-Q\nn = 5, alpha 0.5, seed {opts.seed}")
    _save(fig, out / f"{name}.png")
    entries = [{"curve": "prioritized sweeping", "size": sizes, "scale": scales, "updates": ps},
               {"curve": "Dyna-Q", "size": sizes, "scale": scales, "updates": dyna}]  # fmt: skip
    for e in entries:
        e |= {"runs": runs, "seed_dependent": True}
    ratio = "; ".join(f"{s} cells: {d / p:.1f}x" for s, d, p in zip(sizes, dyna, ps, strict=True))
    return {"figure": "Sutton & Barto example 8.4: prioritized sweeping", "entries": entries,
            "summary": f"Dyna-Q's updates / prioritized sweeping's: {ratio}", "size": _size(name, runs)}  # fmt: skip


@FIGURES.add("sb-fig-8.7", "expected vs sample updates: RMS error vs computation, b = 2..10000")
def sb_fig_8_7(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Figure 8.7: RMS error of sample updates vs computation (in units of b), against the book's formula."""
    from rlsuite.agents.tabular.planning import expected_vs_sample

    name = "sb-fig-8.7"
    runs = _runs(name, opts)
    rng = _rng(opts)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    entries = []
    for i, b in enumerate((2, 10, 100, 1000, 10000)):
        err = expected_vs_sample(b, runs, rng)
        t = np.arange(1, 2 * b + 1)
        ax.plot(t / b, err, color=f"C{i}", label=f"b = {b}, sample updates")
        formula = np.sqrt((b - 1) / (b * t))
        keep = np.unique(np.geomspace(1, 2 * b, 60).astype(int)) - 1
        entries.append({"curve": f"b = {b}", "b": b, "t": (keep + 1).tolist(),
                        "rms_error": np.round(err[keep], 4).tolist(), "formula": np.round(formula[keep], 4).tolist(),
                        "at_b": float(err[b - 1]), "runs": runs, "seed_dependent": True})  # fmt: skip
    ax.plot([0, 1, 1, 2], [1, 1, 0, 0], color="k", ls=":", label="expected update (error 1 until b computations)")
    ax.set_xticks([0, 1, 2], ["0", "b", "2b"])
    _axes(ax, "number of max_a' Q(s', a') computations", f"RMS error in value estimate ({runs} runs)")
    ax.set_title(f"Sutton & Barto fig 8.7: expected vs sample updates, successor values ~ N(0, 1)\nseed {opts.seed}")
    _save(fig, out / f"{name}.png")
    levels = "; ".join(f"b = {e['b']}: {e['at_b']:.3f}" for e in entries)
    return {"figure": "Sutton & Barto fig 8.7: expected vs sample updates", "entries": entries,
            "summary": f"RMS error after b sample updates: {levels} (formula sqrt((b-1)/b^2))",
            "size": _size(name, runs)}  # fmt: skip


@FIGURES.add("sb-fig-8.8", "trajectory sampling vs uniform: start-state value vs updates")
def sb_fig_8_8(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    """Figure 8.8: value of the start state under the greedy policy vs expected updates, on-policy trajectory
    sampling vs uniform sweeps; 1000 states with b = 1, 3, 10 and 10,000 states with b = 1 (the book's panels),
    20,000 updates each (the reference's; the book runs 200,000 at 10,000 states)."""
    from rlsuite.agents.tabular.planning import trajectory_sampling

    name = "sb-fig-8.8"
    tasks = _runs(name, opts)
    panels = ((1000, (1, 3, 10), 20_000), (10_000, (1,), 20_000))
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(9, 8.5))
    entries = []
    for ax, (n, branches, updates) in zip(axes, panels, strict=True):
        for i, b in enumerate(branches):
            for on_policy, ls in ((True, "-"), (False, "--")):
                rng = _rng(opts, 100 * n + 10 * b + on_policy)
                marks, values = trajectory_sampling(n, b, tasks, updates, 20, on_policy, rng)
                y = values.mean(axis=1)
                label = f"b = {b}, {'on-policy' if on_policy else 'uniform'}"
                ax.plot(marks, y, color=f"C{i}", ls=ls, label=label)
                entries.append({"curve": f"{n} states, {label}", "n_states": n, "b": b, "on_policy": on_policy,
                                "updates": marks.tolist(), "start_value": np.round(y, 4).tolist(), "tasks": tasks,
                                "seed_dependent": True})  # fmt: skip
        ax.set_xlabel("computation time, in expected updates")
        ax.set_ylabel("value of start state\nunder greedy policy")
        ax.set_title(f"{n} states, {tasks} tasks")
        ax.grid(alpha=0.3)
        _legend_outside(ax)
    fig.suptitle(f"Sutton & Barto fig 8.8: trajectory sampling vs uniform updates (seed {opts.seed})")
    _save(fig, out / f"{name}.png")
    levels = "; ".join(f"{e['curve']}: {e['start_value'][5]:.2f} then {e['start_value'][-1]:.2f}" for e in entries)
    return {"figure": "Sutton & Barto fig 8.8: trajectory sampling", "entries": entries,
            "summary": f"start value after 25% of the updates, then at the end: {levels}", "size": _size(name, tasks)}


# the --list group of the figures not named BOOK-fig-C.N (read by main's reproduce package)
GROUPS = {"sb-ex-6.2": "Sutton & Barto, chapter 6", "sb-ex-8.4": "Sutton & Barto, chapter 8"}

