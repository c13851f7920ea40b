"""``rlsuite tour``: the README's main job, a tour of what rlsuite does, on embedded defaults.

Each section is a function ``section(out_dir, quick) -> dict`` that writes its figures and
returns its numbers. The tour shows one progress display (section k of n), prints one result line
per section, and writes all numbers to ``results.json`` and a readable ``summary.md`` (markdown
tables; value grids as grids). Finished sections are kept in ``sections/<key>.json``, so
``--resume`` continues an interrupted tour where it stopped.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.app import console
from rlsuite.app.args import Parsed, add_command
from rlsuite.app.reports import markdown
from rlsuite.common.config import Config, config_error, option
from rlsuite.common.io import OutputDir, write_json, write_text

log = logging.getLogger(__name__)

# key -> (title, "module:function"), run in this order.
SECTIONS: dict[str, tuple[str, str]] = {
    "gridworld": ("grid world, solved exactly", "rlsuite.app.tour:gridworld_section"),
    "bandit": ("10-armed bandit", "rlsuite.app.tour:bandit_section"),
    "tabular": ("tabular agents", "rlsuite.app.train_tabular:tour_section"),
    "approx": ("Zhao ch. 8-10: function approximation and actor-critic", "rlsuite.app.tour:approx_section"),
    "sb3": ("deep RL with stable-baselines3", "rlsuite.app.train_sb3:tour_section"),
    "align": ("RLHF vs DPO (align compare)", "rlsuite.app.align:tour_section"),
    "vision": ("vision: detector, DetectionPolicy", "rlsuite.app.vision_tour:vision_section"),
}


@dataclass
class TourOptions(Config):
    """What the tour runs and where it writes."""

    out: str = option("tour", help="folder for the results", aliases=["--output_dir", "--output-dir"])
    quick: bool = option(False, help="smaller budgets, for a fast look")
    only: list[str] | None = option(None, help=f"run only these sections (of: {', '.join(SECTIONS)})")
    resume: bool = option(False, help="continue an interrupted tour in --out, skipping finished sections")
    overwrite: bool = option(False, help="replace a finished tour in --out")

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = [s for s in self.only or [] if s not in SECTIONS]
        if unknown:
            raise config_error(self, "only", f"unknown section {unknown[0]!r} (sections: {', '.join(SECTIONS)})")
        if self.only is not None and not self.only:
            raise config_error(self, "only", "names no section")


def add_subcommands(subparsers: Any) -> None:
    add_command(
        subparsers,
        "tour",
        help="the tour of rlsuite on its embedded defaults (the README's main job)",
        description="Solve Zhao's grid world exactly, play the 10-armed testbed, train tabular and SB3 agents "
        "against the exact optimum, compare RLHF with DPO, and run the vision defaults; figures and numbers go "
        "to --out.",
        configs=[TourOptions],
        run=run_tour,
        config_file=False,
    )


def _load(target: str) -> Callable[[Path, bool], dict[str, Any]]:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _figures(numbers: Any) -> list[str]:
    if isinstance(numbers, str):
        return [numbers] if numbers.endswith(".png") else []
    if isinstance(numbers, dict):
        return [f for v in numbers.values() for f in _figures(v)]
    if isinstance(numbers, list):
        return [f for v in numbers for f in _figures(v)]
    return []


# figure -> its caption line in summary.md
CAPTIONS: dict[str, str] = {
    "gridworld_optimal_r_forbiddenm1.png": "Zhao's 5x5 grid world solved by value iteration (gamma 0.9, "
    "r_forbidden -1): optimal values v* in the cells, the greedy policy as arrows.",
    "gridworld_optimal_r_forbiddenm10.png": "The same with r_forbidden -10: the optimal paths go around the "
    "forbidden (orange) cells.",
    "gridworld_frame.png": "What the env's render() draws at reset(seed=0): the layout and the agent at its start.",
    "bandit_average_reward.png": "10-armed testbed: reward per step, averaged over runs, for epsilon-greedy "
    "with sample averages at three epsilons (S&B figure 2.2's setting; --quick plays fewer runs and steps).",
    "tabular_gap_to_optimum.png": "Tabular agents against the exact optimum: max |v - v*| (log scale) and the "
    "fraction of states whose greedy action is optimal, over each agent's own budget.",
    "tabular_q_learning_policy.png": "On-policy Q-learning's learned state values and greedy policy.",
    "sb3_ppo_gridworld.png": "SB3 PPO's greedy policy on the grid world, each cell with its exact value v_pi; "
    "red outlines: states where v_pi < v*.",
    "sb3_dqn_gridworld.png": "SB3 DQN's greedy policy on the grid world, each cell with its exact value v_pi; "
    "red outlines: states where v_pi < v*.",
    "sb3_gridworld_eval.png": "Greedy evaluation return of PPO and DQN during training, the exact optimal "
    "policy's return dashed.",
    "approx_gap_to_optimum.png": "Zhao ch. 8-10 agents (function approximation, actor-critic) against the exact "
    "optimum: the greedy policy's gap max_s v* - v_pi and its optimal states, over each agent's budget.",
    "vision_detections.png": "The grid detector's boxes on a random 6x6 layout, with their scores.",
}


def _captions(results: dict[str, Any]) -> str:
    names = dict.fromkeys(_figures(results))
    lines = [f"- `{n}`: {CAPTIONS.get(n, 'figure of the section above.')}" for n in names]
    return "\n## Figures\n\n" + "\n".join(lines) + "\n" if lines else ""


def _zero(x: float) -> str:
    return "0" if abs(x) < 1e-6 else f"{x:.3g}"


def _gridworld_headline(n: dict[str, Any]) -> tuple[str, list[str]]:
    parts = [f"v*(start) {v['v*'][0][0]} at {k} ({v['sweeps']} sweeps)"
             for k, v in n.items() if isinstance(v, dict) and "v*" in v]  # fmt: skip
    return "value iteration: " + "; ".join(parts), []


def _bandit_headline(n: dict[str, Any]) -> tuple[str, list[str]]:
    finals = n["final average reward (last 100 steps)"]
    best = max(finals, key=finals.get)
    shown = ", ".join(f"{k.split('=')[1]}: {v:.2f}" for k, v in finals.items())
    return f"reward per step over the last 100 steps by epsilon ({n['runs']} runs) {shown}; best {best}", []


def _tabular_headline(n: dict[str, Any]) -> tuple[str, list[str]]:
    rows = {k: v for k, v in n.items() if isinstance(v, dict) and "max |v - v*|" in v}
    pi = rows.get("policy iteration")
    head = (f"policy iteration: optimal in {pi['budget']}, max |v - v*| {_zero(pi['max |v - v*|'])}" if pi
            else "tabular agents against the exact optimum")  # fmt: skip
    width = max(len(k) for k in rows)
    table = [f"{'agent':<{width}}  {'work done':>18}  {'max |v - v*|':>12}  optimal states"]
    table += [f"{k:<{width}}  {v['budget']:>18}  {_zero(v['max |v - v*|']):>12}  "
              f"{v['states with an optimal greedy action']:>14}" for k, v in rows.items()]  # fmt: skip
    return head, table


def _approx_headline(n: dict[str, Any]) -> tuple[str, list[str]]:  # main's approx_section (Zhao ch. 8-10)
    gaps = {k: v["gap to v* (max_s v* - v_pi)"] for k, v in n.items()
            if isinstance(v, dict) and "gap to v* (max_s v* - v_pi)" in v}  # fmt: skip
    best = min(gaps, key=gaps.get)
    return f"closest to v*: {best}, max_s v* - v_pi {_zero(gaps[best])} ({len(gaps)} agents)", []


def _sb3_headline(n: dict[str, Any]) -> tuple[str, list[str]]:
    parts = [f"{a.upper()} greedy return {n[a]['return_mean']:.1f} (optimal {n[a]['optimal_return_mean']:.1f}), "
             f"optimal actions in {n[a]['optimal_action_fraction']:.0%} of states"
             for a in ("ppo", "dqn") if a in n]  # fmt: skip
    return f"after {n['budget']} env steps: " + "; ".join(parts), []


def _align_headline(n: dict[str, Any]) -> tuple[str, list[str]]:
    methods = n["methods"]
    width = max(len(k) for k in methods)
    table = [f"{'method':<{width}}  {'reward':>7}  {'win vs SFT':>10}  {'KL to SFT':>9}"]
    table += [f"{k:<{width}}  {m['reward']:>+7.2f}  {m['win_rate_vs_sft']:>10.2f}  {m['kl_to_sft']:>9.2f}"
              for k, m in methods.items()]  # fmt: skip
    line = f"{len(methods)} methods on the embedded model, scored by the {n['reward_kind']}; report {n['report']}"
    return line, table


def _vision_headline(n: dict[str, Any]) -> tuple[str, list[str]]:
    ap = n.get("AP50 (held-out random layouts)")
    success = n.get("DetectionPolicy success (random solvable layouts)")
    return f"grid detector AP50 {ap:.2f} held out; DetectionPolicy success {success:.2f}", []


HEADLINES: dict[str, Callable[[dict[str, Any]], tuple[str, list[str]]]] = {
    "gridworld": _gridworld_headline, "bandit": _bandit_headline, "tabular": _tabular_headline,
    "approx": _approx_headline,
    "sb3": _sb3_headline, "align": _align_headline, "vision": _vision_headline,
}  # fmt: skip


def _headline(key: str, numbers: dict[str, Any]) -> tuple[str, list[str]]:
    """The section's one headline result (and, for some, a small table printed once at its end)."""
    seconds = numbers.get("seconds", 0.0)
    try:
        line, table = HEADLINES[key](numbers)
    except (KeyError, TypeError, ValueError, AttributeError):  # a section whose numbers lack a headline
        figures = set(_figures(numbers))
        line, table = "done" + (f", {len(figures)} figure{'s' * (len(figures) > 1)}" if figures else ""), []
    return f"{line} ({seconds:.0f} s)", table


def run_tour(parsed: Parsed) -> int:
    opts: TourOptions = parsed.get(TourOptions)
    keys = [k for k in SECTIONS if not opts.only or k in opts.only]
    out = Path(opts.out).resolve()
    with OutputDir(out, overwrite=opts.overwrite, resume=opts.resume) as folder:
        console.log_to(out)
        folder.unfinish()
        results: dict[str, Any] = {}
        with console.Job([SECTIONS[k][0] for k in keys]) as job:
            for key in keys:
                title, target = SECTIONS[key]
                saved = out / "sections" / f"{key}.json"
                if opts.resume and saved.is_file():
                    results[title] = json.loads(saved.read_text())
                    job.done(title, "finished earlier, kept")
                    continue
                job.stage(title)
                t0 = time.perf_counter()
                with console.results_printed_by_command("rlsuite"):  # a section's own lines go to log.txt
                    numbers = _load(target)(out, opts.quick)
                numbers["seconds"] = round(time.perf_counter() - t0, 1)
                write_json(saved, numbers)
                results[title] = numbers
                line, table = _headline(key, numbers)
                job.done(title, line)
                for row in table:
                    job.log.info("    %s", row)
        write_json(out / "results.json", results)
        summary = "# rlsuite tour\n\n" + ("(quick budgets)\n\n" if opts.quick else "") + markdown(results)
        summary += _captions(results)
        write_text(out / "summary.md", summary)
        folder.finish({"sections": keys, "quick": opts.quick})
    console.result(f"The tour's results (summary.md, results.json, PNG figures) are in {out}")
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
                  title=f"optimal v* and greedy policy\n(value iteration, gamma 0.9, {name})")
        numbers[name] = {
            "v*": np.round(v.reshape(5, 5), 1).tolist(),
            "sweeps": iters,
            "figures": [f"gridworld_optimal_{tag}.png"],
        }
        if not kwargs:  # the rendering shows the layout, which r_forbidden does not change: drawn once
            env.reset(seed=0)
            _frame(env.render(), out / "gridworld_frame.png")
            numbers[name]["figures"].append("gridworld_frame.png")
        env.close()
    return numbers


def _frame(image: np.ndarray, path: Path) -> None:
    """The env's own ``render()`` frame, titled and with its axes in pixels."""
    from rlsuite.common.plotting import pyplot, save_figure

    fig, ax = pyplot().subplots(figsize=(4.2, 4.6))
    ax.imshow(image)
    ax.set_title("rlsuite/GridWorld-v0 render() at reset(seed=0)\n(agent at the start; the same layout for any "
                 "r_forbidden)", fontsize=8)  # fmt: skip
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    save_figure(fig, path)


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
    plot_curves(curves, out / "bandit_average_reward.png", xlabel="step (pulls per run)",
                ylabel="average reward per step\n(mean over runs)",
                title=f"10-armed testbed: epsilon-greedy, sample averages ({runs} runs, seed 0)")
    return {"runs": runs, "steps": steps,
            "final average reward (last 100 steps)": {k: round(float(v[-100:].mean()), 3) for k, v in curves.items()},
            "figure": "bandit_average_reward.png"}


def approx_section(out: Path, quick: bool) -> dict[str, Any]:
    """Zhao ch. 8-10 on the book's grid world against the exact optimum: TD-Linear's RMSE to v_pi, and the
    gap of the greedy policy to v* for linear Q-learning, deep Q-learning and the actor-critics."""
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401
    from rlsuite.agents.approx import QAC, DeepQLearning, LinearQLearning, OffPolicyAC, TDLinear
    from rlsuite.agents.approx.linear import LinearQLearningConfig, TDLinearConfig
    from rlsuite.app.plots import plot_learning_curve

    env = gym.make("rlsuite/GridWorld-v0")
    scale = 2 if quick else 1
    onehot = LinearQLearningConfig(features="onehot", alpha=0.1, behavior="uniform", start="random",
                                   stop_at_target=False, episode_length=100, log_every=10)  # fmt: skip
    runs = {
        "Q-learning, linear (one-hot), uniform behaviour": (LinearQLearning(env, onehot), 200 // scale),
        "deep Q-learning, one 1000-step episode": (DeepQLearning(env), 1000 // scale),
        "off-policy actor-critic": (OffPolicyAC(env, OffPolicyAC.config_cls(log_every=10)), 300 // scale),
        "QAC": (QAC(env, QAC.config_cls(log_every=10)), 300 // scale),
    }
    curves: dict[str, dict[str, np.ndarray]] = {}
    numbers: dict[str, Any] = {}
    for label, (agent, budget) in runs.items():
        history = agent.learn(budget, seed=0)
        x_name = history.columns[0]
        curves[label] = {"x": history[x_name] / history[x_name].max(), "gap_to_optimum": history["gap_to_optimum"],
                         "optimal_fraction": history["optimal_fraction"]}  # fmt: skip
        last = history.last()
        numbers[label] = {"budget": f"{budget} {agent.budget_unit}",
                          "gap to v* (max_s v* - v_pi)": float(f"{last['gap_to_optimum']:.3g}"),
                          "states with an optimal greedy action": f"{last['optimal_fraction']:.0%}"}  # fmt: skip
    plot_learning_curve(curves, "fraction of the budget", out / "approx_gap_to_optimum.png",
                        "Zhao ch. 8-10 agents on the grid world vs the exact optimum (gamma = 0.9)")  # fmt: skip
    td = TDLinear(env, TDLinearConfig(features="fourier", order=3))
    rmse = td.learn(200 // scale, seed=0)["rmse"]
    numbers["TD-Linear, Fourier q = 3"] = {"budget": f"{200 // scale} episodes", "RMSE to v_pi first": round(
        float(rmse[0]), 3), "RMSE to v_pi last": round(float(rmse[-1]), 3)}  # fmt: skip
    numbers["figures"] = ["approx_gap_to_optimum.png"]
    return numbers
