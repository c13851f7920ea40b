"""The tabular family of ``rlsuite train / eval / algos`` (contract in ``rlsuite/app/train.py``).

``rlsuite train ALGO --env ID [--config FILE.yaml] [--set key=value ...] [--seed N] [--budget N]``
trains one algorithm and writes ``runs/<env>__<algo>__<seed>__<time>/`` with ``config.json``
(``"family": "tabular"``), the agent (``agent.npz`` + ``agent.json``), ``metrics.csv`` and PNGs:
the learning curve and, on grid worlds, the value heat map and the policy arrows. The YAML file
is a mapping of the algorithm's config fields; bandit algorithms also take ``runs`` (default
2000), the number of independent runs played at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.common.errors import UsageError

ALGOS: dict[str, str] = {
    "value_iteration": "value iteration on the exact model (Zhao ch. 4.1)",
    "policy_iteration": "policy iteration, exact evaluation (Zhao ch. 4.2)",
    "truncated_policy_iteration": "truncated policy iteration, j evaluation sweeps (Zhao ch. 4.3)",
    "mc_basic": "MC Basic: Monte Carlo policy iteration over every (s, a) (Zhao ch. 5.1)",
    "mc_exploring_starts": "MC Exploring Starts, first/every visit (Zhao ch. 5.2)",
    "mc_epsilon_greedy": "MC epsilon-greedy, first/every visit (Zhao ch. 5.4)",
    "td0": "TD(0) state values of a fixed policy (Zhao ch. 7.1)",
    "sarsa": "Sarsa, epsilon-greedy on-policy TD control (Zhao ch. 7.2)",
    "expected_sarsa": "Expected Sarsa (Zhao ch. 7.3)",
    "n_step_sarsa": "n-step Sarsa (Zhao ch. 7.4)",
    "q_learning": "Q-learning, on-policy (epsilon-greedy) or off-policy (uniform behaviour) (Zhao ch. 7.5)",
    "epsilon_greedy": "bandit: epsilon-greedy, sample averages or constant step, optimistic Q1 (S&B 2.2-2.6)",
    "ucb": "bandit: upper confidence bound action selection (S&B 2.7)",
    "gradient_bandit": "bandit: soft-max preferences, with or without baseline (S&B 2.8)",
    "thompson_sampling": "bandit: Thompson sampling, Gaussian or Bernoulli posterior",
}

DEFAULT_ENV = {"bandit": "rlsuite/KArmedBandit-v0", "tabular": "rlsuite/GridWorld-v0"}


def _classes() -> tuple[dict[str, type], type]:
    from rlsuite.agents.tabular import ALGORITHMS
    from rlsuite.agents.tabular.bandit import BanditAgent

    return ALGORITHMS, BanditAgent


def _resolve_device(device: str | None, on_device: bool) -> str:
    """Where the agent computes: ``"cpu"`` (numpy) or a CUDA device.

    Bandit agents keep their [runs, k] tables beside the batched env's arrays; MC and TD agents run
    their batched env copies (and TD its tables) there too; so ``cuda``, and ``auto`` on a GPU
    machine, runs them in torch on the GPU. The model-based solvers' agents (value iteration,
    policy iteration) do a handful of exact sweeps on small tables and stay on the CPU.
    """
    from rlsuite.common.device import select_device

    if device in (None, "auto", "cpu"):
        if not on_device or device == "cpu":
            return "cpu"
        return "cuda" if select_device("auto").type == "cuda" else "cpu"
    if not on_device:
        raise UsageError(
            f"--device {device}: the dynamic-programming agents sweep small exact tables on the CPU; use "
            "--device cpu or auto (value_iteration(model, device=...) runs large models on CUDA)"
        )
    return str(select_device(device))


def _has_device_field(cls: type) -> bool:
    """Whether the algorithm's config has a ``device`` field (the batched MC and TD agents)."""
    return any(f.name == "device" for f in dataclasses.fields(cls.config_cls))


def _make_env(env_id: str, bandit: bool, runs: int, device: str = "cpu") -> Any:
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401  (registers the ids)

    try:
        if bandit:
            return gym.make_vec(env_id, num_envs=runs, vectorization_mode="vector_entry_point", device=device)
        return gym.make(env_id)
    except gym.error.Error as exc:
        raise UsageError(f"--env {env_id}: {exc}") from exc


def train(args: argparse.Namespace) -> Path:
    """Train ``args.algo`` on ``args.env``; write and return the run folder."""
    from rlsuite.common.config import build_config, load_yaml, parse_overrides
    from rlsuite.common.io import make_run_dir, write_json
    from rlsuite.common.seeding import seed_everything

    algorithms, bandit_base = _classes()
    if args.algo not in algorithms:
        raise UsageError(f"unknown tabular algorithm {args.algo!r} (known: {', '.join(ALGOS)})")
    cls = algorithms[args.algo]
    bandit = issubclass(cls, bandit_base)
    device = _resolve_device(getattr(args, "device", None), bandit or _has_device_field(cls))
    if getattr(args, "resume", None):
        raise UsageError("--resume: tabular runs take seconds and keep no checkpoints; start a new run")
    values: dict[str, Any] = load_yaml(args.config) if args.config else {}
    overrides = parse_overrides(getattr(args, "set", None))
    runs = values.pop("runs", 2000) if bandit else None
    runs = overrides.pop("runs", runs) if bandit else None
    if bandit and (isinstance(runs, bool) or not isinstance(runs, int) or runs < 1):
        raise UsageError(f"runs: expected a positive integer, got {runs!r}")
    config = build_config(cls.config_cls, values, where=args.config or "config")
    config = build_config(cls.config_cls, {**dataclasses.asdict(config), **overrides}, where="--set")
    if _has_device_field(cls) and "device" not in values and "device" not in overrides:
        config = dataclasses.replace(config, device=device)  # --device, unless the config names one
    env_id = args.env or DEFAULT_ENV["bandit" if bandit else "tabular"]
    env = _make_env(env_id, bandit, runs or 1, device if bandit else "cpu")
    seed_everything(args.seed)
    agent = cls(env, config)
    budget = cls.check_budget(args.budget) if not bandit else (args.budget or cls.default_budget)
    history = agent.learn(budget, seed=args.seed)

    run_dir = make_run_dir(args.runs_dir, env_id, args.algo, args.seed)
    write_json(
        run_dir / "config.json",
        {
            "family": "tabular",
            "algo": args.algo,
            "env_id": env_id,
            "seed": args.seed,
            "budget": budget,
            "budget_unit": cls.budget_unit,
            "runs": runs,
            "device": device,
            "config": dataclasses.asdict(config),
        },
    )
    agent.save(run_dir / "agent")
    history.to_csv(run_dir / "metrics.csv")
    write_plots(agent, history, run_dir, f"{args.algo} on {env_id}")
    print(json.dumps({"final": history.last()}, indent=2))
    return run_dir


def write_plots(agent: Any, history: Any, run_dir: Path, title: str) -> list[Path]:
    """The learning curve, and on grid worlds the value heat map and the policy arrows."""
    from rlsuite.common.plotting import plot_curves
    from rlsuite.envs.plotting import plot_grid

    x_name = history.columns[0]
    x = history[x_name]
    curves = {c: history[c] for c in history.columns[1:] if c not in ("greedy_optimal", "delta")}
    paths = [plot_curves(curves, run_dir / "learning_curve.png", xlabel=x_name, title=title, x=x)]
    base = getattr(getattr(agent, "env", None), "unwrapped", None)
    if base is not None and hasattr(base, "kinds"):
        paths.append(plot_value_heatmap(base, agent.state_values, run_dir / "values_heatmap.png", title))
        paths.append(
            plot_grid(
                base, values=agent.state_values, policy=agent.policy, path=run_dir / "policy.png", title=title
            )
            and run_dir / "policy.png"
        )
    return paths


def plot_value_heatmap(grid: Any, values: np.ndarray, path: Path, title: str) -> Path:
    """State values of a grid world as a heat map with the numbers written in."""
    from rlsuite.common.plotting import pyplot, save_figure

    plt = pyplot()
    v = np.asarray(values).reshape(grid.n_rows, grid.n_cols)
    fig, ax = plt.subplots(figsize=(0.9 * grid.n_cols + 1.4, 0.9 * grid.n_rows + 0.6))
    im = ax.imshow(v, cmap="viridis")
    if grid.n_rows * grid.n_cols <= 400:
        for r in range(grid.n_rows):
            for c in range(grid.n_cols):
                ax.text(c, r, f"{v[r, c]:.1f}", ha="center", va="center", fontsize=8, color="w")
    ax.set_xticks(range(grid.n_cols), [str(i + 1) for i in range(grid.n_cols)])
    ax.set_yticks(range(grid.n_rows), [str(i + 1) for i in range(grid.n_rows)])
    fig.colorbar(im, ax=ax)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def evaluate(run_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Replay a saved run.

    Grid-world agents: play ``args.episodes`` episodes greedily and report the mean return and,
    with an exact model, the gap of the greedy policy to the optimum (max over states of
    ``v*(s) - v_pi(s)``, exactly). Bandit agents: the saved tables belong to bandit problems
    that are gone, so the algorithm is replayed with the saved config on fresh problems.
    """
    from rlsuite.agents.tabular.dp import policy_evaluation

    meta = json.loads((run_dir / "config.json").read_text())
    algorithms, bandit_base = _classes()
    if meta.get("algo") not in algorithms:
        raise UsageError(f"{run_dir / 'config.json'}: unknown tabular algorithm {meta.get('algo')!r}")
    cls = algorithms[meta["algo"]]
    device = _resolve_device(getattr(args, "device", None), issubclass(cls, bandit_base) or _has_device_field(cls))
    if issubclass(cls, bandit_base):
        agent = cls.load(run_dir / "agent", device=device)
        history = agent.learn(meta["budget"], seed=args.seed)
        return {
            "run_dir": str(run_dir),
            "algo": meta["algo"],
            "env_id": meta["env_id"],
            "runs": agent.num_runs,
            "steps": meta["budget"],
            "average_reward": float(history["average_reward"].mean()),
            "optimal_action_last_100": float(history["optimal_action"][-100:].mean()),
        }
    agent = cls.load(run_dir / "agent")
    env = agent.env
    returns, discounted = [], []
    for ep in range(args.episodes):
        obs, _ = env.reset(seed=args.seed + ep)
        total, disc, k, done = 0.0, 0.0, 0, False
        while not done:
            action, _ = agent.predict(obs)
            obs, r, term, trunc, _ = env.step(int(action))
            total += float(r)
            disc += agent.gamma**k * float(r)
            k += 1
            done = term or trunc
        returns.append(total)
        discounted.append(disc)
    report: dict[str, Any] = {
        "run_dir": str(run_dir),
        "algo": meta["algo"],
        "env_id": meta["env_id"],
        "episodes": args.episodes,
        "mean_return": float(np.mean(returns)),
        "mean_discounted_return": float(np.mean(discounted)),
    }
    if agent.model is not None and agent.v_star is not None:
        greedy = np.eye(agent.n_actions)[agent.policy.argmax(axis=1)]
        v_pi = policy_evaluation(agent.model, greedy, agent.gamma)
        report["gap_to_optimum_max"] = float(np.max(agent.v_star - v_pi))
        report["gap_to_optimum_mean"] = float(np.mean(agent.v_star - v_pi))
        report.update({k: v for k, v in agent.truth_metrics().items() if k != "value_error"})
    return report


def tour_section(out: Path, quick: bool) -> dict[str, Any]:
    """The tour's "tabular agents" section: control algorithms on the book's grid world vs the optimum.

    Trains MC Exploring Starts, Sarsa, Q-learning (on- and off-policy) and policy iteration with
    their default configs, plots the gap to the optimum (max |v - v*|) and the fraction of states
    whose greedy action is optimal, and draws Q-learning's values and policy on the grid.
    """
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401
    from rlsuite.agents.tabular import ALGORITHMS
    from rlsuite.agents.tabular.td import QLearningConfig
    from rlsuite.common.plotting import pyplot, save_figure
    from rlsuite.envs.plotting import plot_grid

    env = gym.make("rlsuite/GridWorld-v0")
    scale = 4 if quick else 1
    runs = {
        "policy iteration": (ALGORITHMS["policy_iteration"](env), None),
        "MC exploring starts": (ALGORITHMS["mc_exploring_starts"](env), 20_000 // scale),
        "Sarsa": (ALGORITHMS["sarsa"](env), 3_000_000 // scale),
        "Q-learning (on-policy)": (ALGORITHMS["q_learning"](env), 3_000_000 // scale),
        "Q-learning (off-policy, uniform behaviour)": (
            ALGORITHMS["q_learning"](env, QLearningConfig(behavior="uniform")),
            1_000_000 // scale,
        ),
    }
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    numbers: dict[str, Any] = {}
    for label, (agent, budget) in runs.items():
        history = agent.learn(budget, seed=0)
        x_name = history.columns[0]
        x = history[x_name] / max(history[x_name].max(), 1)
        ax1.plot(x, history["value_error"], label=label)
        ax2.plot(x, history["optimal_fraction"], label=label)
        last = history.last()
        numbers[label] = {
            "budget": f"{int(history[x_name][-1])} {agent.budget_unit}",
            "max |v - v*|": round(last["value_error"], 4),
            "states with an optimal greedy action": f"{last['optimal_fraction']:.0%}",
        }
    ax1.set_yscale("symlog", linthresh=1e-2)
    ax1.set_ylabel("max |max_a q - v*|")
    ax2.set_ylabel("fraction of states, greedy action optimal")
    for ax in (ax1, ax2):
        ax.set_xlabel("fraction of the budget")
        ax.grid(alpha=0.3)
    ax2.legend(fontsize=7)
    fig.suptitle("tabular agents on Zhao's grid world vs the exact optimum (gamma = 0.9)")
    save_figure(fig, out / "tabular_gap_to_optimum.png")
    q_agent = runs["Q-learning (on-policy)"][0]
    plot_grid(
        env,
        values=q_agent.state_values,
        policy=q_agent.policy,
        path=out / "tabular_q_learning_policy.png",
        title="Q-learning: learned values and greedy policy",
    )
    return numbers
