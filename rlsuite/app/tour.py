"""``rlsuite tour``: the README's main job, a tour of what rlsuite does, on embedded defaults.

Each section is a function ``section(out_dir, quick) -> dict`` that writes its figures and
returns its numbers; the tour writes all numbers to ``results.json`` and a ``summary.md``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.common.io import atomic_path, write_json, write_text

# (title, "module:function"), run in order. Later layers add their sections here.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("grid world, solved exactly", "rlsuite.app.tour:gridworld_section"),
    ("10-armed bandit", "rlsuite.app.tour:bandit_section"),
    ("tabular agents", "rlsuite.app.train_tabular:tour_section"),
    ("deep RL with stable-baselines3", "rlsuite.agents.sb3:tour_section"),
    ("RLHF vs DPO (align compare)", "rlsuite.alignment.compare:tour_section"),
    ("vision: detector, DetectionPolicy", "rlsuite.app.vision_tour:vision_section"),
)


def add_subcommands(subparsers: Any) -> None:
    p = subparsers.add_parser("tour", help="run the tour of rlsuite on its embedded defaults (the README's main job)")
    p.add_argument("--out", default="tour", help="folder for the results (default: ./tour)")
    p.add_argument("--quick", action="store_true", help="smaller budgets, for a fast look")
    p.add_argument("--only", nargs="*", metavar="SECTION", help="run only sections whose title contains this word")
    p.set_defaults(func=_run_tour)


def _load(target: str) -> Callable[[Path, bool], dict[str, Any]]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _run_tour(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    summary = ["# rlsuite tour\n"]
    for title, target in SECTIONS:
        if args.only and not any(word in title for word in args.only):
            continue
        print(f"== {title}", flush=True)
        t0 = time.perf_counter()
        numbers = _load(target)(out, args.quick)
        numbers["seconds"] = round(time.perf_counter() - t0, 2)
        results[title] = numbers
        summary.append(f"## {title}\n\n```json\n{json.dumps(numbers, indent=2, default=str)}\n```\n")
        print(f"   done in {numbers['seconds']} s", flush=True)
    write_json(out / "results.json", results)
    write_text(out / "summary.md", "\n".join(summary))
    print(f"\nThe tour's results (numbers and PNG figures) are in {out}")
    return 0


def gridworld_section(out: Path, quick: bool) -> dict[str, Any]:
    """Zhao's grid world: exact optimal values and policy by value iteration (the book's figure 3.4)."""
    import gymnasium as gym

    from rlsuite.agents.tabular.dp import value_iteration
    from rlsuite.envs.model import tabular_model
    from rlsuite.envs.plotting import plot_grid

    numbers: dict[str, Any] = {}
    for name, kwargs in (("r_forbidden=-1", {}), ("r_forbidden=-10", {"r_forbidden": -10.0})):
        env = gym.make("rlsuite/GridWorld-v0", render_mode="rgb_array", **kwargs)
        v, q, iters = value_iteration(tabular_model(env), gamma=0.9)
        greedy = q.argmax(axis=1)
        tag = name.replace("=", "").replace("-", "m")
        plot_grid(env, values=v, policy=greedy, path=out / f"gridworld_optimal_{tag}.png",
                  title=f"optimal v* and policy, gamma=0.9, {name}")
        env.reset(seed=0)
        import matplotlib.pyplot as plt

        with atomic_path(out / f"gridworld_frame_{tag}.png") as tmp:
            plt.imsave(tmp, env.render(), format="png")
        numbers[name] = {"v*": np.round(v.reshape(5, 5), 1).tolist(), "sweeps": iters}
        env.close()
    return numbers


def bandit_section(out: Path, quick: bool) -> dict[str, Any]:
    """The 10-armed testbed: epsilon-greedy with sample averages, all runs in one batched env."""
    import gymnasium as gym

    from rlsuite.agents.tabular.bandit import EpsilonGreedyBandit, EpsilonGreedyBanditConfig
    from rlsuite.common.plotting import plot_curves

    runs, steps = (200, 500) if quick else (2000, 1000)
    curves: dict[str, np.ndarray] = {}
    for eps in (0.0, 0.01, 0.1):
        envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=runs, vectorization_mode="vector_entry_point")
        history = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=eps)).learn(steps, seed=0)
        curves[f"epsilon={eps}"] = history["average_reward"]
        envs.close()
    plot_curves(curves, out / "bandit_average_reward.png", xlabel="step", ylabel="average reward",
                title=f"10-armed testbed, {runs} runs")
    return {"runs": runs, "steps": steps,
            "final average reward (last 100 steps)": {k: round(float(v[-100:].mean()), 3) for k, v in curves.items()}}
