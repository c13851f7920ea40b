"""Sutton & Barto's *Reinforcement Learning: An Introduction*: the figures of chapter 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.app.reproduce._common import FigureTable, ReproduceOptions, _legend_outside, _plt, _save

FIGURES = FigureTable()


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


@FIGURES.add("sb-fig-2.2", "10-armed testbed: epsilon-greedy, eps 0 / 0.01 / 0.1")
def sb_fig_2_2(out: Path, opts: ReproduceOptions) -> dict[str, Any]:
    from rlsuite.agents.tabular.bandit import EpsilonGreedyBandit as E
    from rlsuite.agents.tabular.bandit import EpsilonGreedyBanditConfig as C

    curves = {f"epsilon={e}": (E, C(epsilon=e), {}) for e in (0.0, 0.01, 0.1)}
    return _bandit_figure(
        out, "sb-fig-2.2", "Sutton & Barto fig 2.2: epsilon-greedy, sample averages", curves, opts
    )


@FIGURES.add("sb-fig-2.3", "optimistic initial values vs realistic epsilon-greedy")
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


@FIGURES.add("sb-fig-2.4", "UCB c=2 vs epsilon-greedy 0.1")
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


@FIGURES.add("sb-fig-2.5", "gradient bandit with and without baseline, q* offset +4")
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


@FIGURES.add("sb-fig-2.6", "parameter study of the bandit methods")
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
    # below the axes in two columns: as wide as the plot, no empty band beside a tall narrow legend
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, borderaxespad=0.0, fontsize=8)
    ax.set_title(f"Sutton & Barto fig 2.6: parameter study of the bandit methods\n10-armed testbed, {opts.runs} "
                 f"runs, seed {opts.seed}")  # fmt: skip
    _save(fig, out / "sb-fig-2.6.png")
    peaks = "; ".join(f"{e['curve']}: {e['best']['average_reward']:.2f} at {e['best']['parameter_label']}"
                      for e in entries)  # fmt: skip
    return {"figure": "Sutton & Barto fig 2.6: parameter study", "entries": entries, "summary": f"peaks: {peaks}"}
