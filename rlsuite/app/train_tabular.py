"""The tabular family of ``rlsuite train / eval / algos`` (the contract is in :mod:`rlsuite.app.options`).

``rlsuite train ALGO [--env ID] [--env_kwargs '{...}'] [--config FILE.yaml] [--set KEY=VALUE ...]
[--KEY VALUE ...] [--seed N] [--budget N] [--out RUN]`` trains one algorithm and writes the run
folder (``runs/<env>__<algo>__<seed>__<time>/`` unless ``--out``) through
:class:`~rlsuite.common.io.OutputDir`: ``config.json`` (``"family": "tabular"``), the agent
(``agent.npz`` + ``agent.json``), ``metrics.csv``, ``log.txt``, the PNGs of
:func:`rlsuite.app.plots.write_run_plots`, and ``finished.json`` last. The flags are the
algorithm's own config fields (the parser builds the library's config class once and
:func:`train` hands it to the agent) and :class:`TabularOptions`: the shared run flags, ``--device``
(resolved once, :func:`run_device`) and ``--backend`` (numpy or torch); agents that play a batched
env (the bandits) also take ``--runs`` (:class:`BanditOptions`), the independent runs played at once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rlsuite.app.options import EvalOptions, TrainOptions
from rlsuite.common.config import Config, load_yaml, option
from rlsuite.common.device import BACKEND_HELP, GPU_MIN_COPIES, Backend, array_device, select_device
from rlsuite.common.errors import ConfigError, ModelFolderError, UsageError

if TYPE_CHECKING:
    from rlsuite.app.args import Parsed

log = logging.getLogger(__name__)

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
    "mc_prediction": "first-visit MC prediction of a fixed policy, e.g. Blackjack-v1 stick on 20 (S&B 5.1)",
    "off_policy_mc_prediction": "off-policy MC prediction, ordinary or weighted importance sampling (S&B 5.5)",
    "mc_es_blackjack": "Monte Carlo ES on Blackjack-v1, exploring starts over all states (S&B 5.3, fig 5.2)",
    "n_step_td": "n-step TD prediction of the uniform policy, TD(0) at n = 1, batch updating (S&B 6.1-6.3, 7.1)",
    "constant_alpha_mc": "constant-alpha MC prediction of the uniform policy, batch updating (S&B 6.2-6.3)",
    "double_q_learning": "Double Q-learning, episodic, many runs at once (S&B 6.7)",
    "dyna_q": "tabular Dyna-Q: Q-learning plus n planning updates from a learned model (S&B 8.2)",
    "dyna_q_plus": "Dyna-Q+: planning reward bonus kappa sqrt(tau) for long-untried actions (S&B 8.3)",
    "prioritized_sweeping": "prioritized sweeping on a deterministic env (S&B 8.4)",
    "td_linear": "TD-Linear: state values with polynomial/Fourier features, vs the true v_pi (Zhao alg. 8.1)",
    "sarsa_linear": "Sarsa with linear function approximation (Zhao alg. 8.2)",
    "q_learning_linear": "Q-learning with linear function approximation (Zhao alg. 8.3, linear)",
    "deep_q_learning": "deep Q-learning from one behaviour episode: replay, main + target network (Zhao 8.4)",
    "reinforce": "REINFORCE, policy gradient by Monte Carlo (Zhao alg. 9.1)",
    "qac": "QAC, the simplest actor-critic (Zhao alg. 10.1)",
    "a2c_book": "advantage (TD) actor-critic as the book gives it (Zhao alg. 10.2; `a2c` is SB3's)",
    "off_policy_ac": "off-policy actor-critic with importance sampling (Zhao alg. 10.3)",
    "deterministic_ac": "deterministic actor-critic on a simplex-relaxed action (Zhao alg. 10.4)",
}
RUNS_HELP = "independent runs played at once (copies of the batched env)"
MAX_EPISODE_STEPS = 100_000  # eval stops an episode here if the env never ends it
EXACT_FLOOR = 1e-6  # the tour's figure draws value errors below this (round-off of exact solvers) at it


def agent_class(algo: str) -> Any:
    """The agent class of ``algo`` (importing the tabular package registers them all)."""
    from rlsuite.agents.tabular import ALGORITHMS

    if algo not in ALGORITHMS:
        raise UsageError(f"unknown tabular algorithm {algo!r} (known: {', '.join(ALGOS)})")
    return ALGORITHMS[algo]


# ----- the flags: the algorithm's own config, and the run options -----


@dataclass
class TabularOptions(TrainOptions):
    """``rlsuite train`` of a tabular algorithm: the shared run flags, and numpy or torch arrays."""

    backend: Backend = option("auto", help=BACKEND_HELP)


@dataclass
class BanditOptions(TabularOptions):
    """``rlsuite train`` of a bandit algorithm: also how many independent runs play at once."""

    runs: int = option(2000, help=RUNS_HELP, ge=1)


def config_class(algo: str) -> type[Config]:
    """The algorithm's own config (the library's class: the parser builds it once, ``train`` hands it on)."""
    config_cls: type[Config] = agent_class(algo).config_cls
    return config_cls


def options_class(algo: str) -> type[TabularOptions]:
    """The run options of ``algo``'s command: :class:`BanditOptions` for agents of a batched env."""
    return BanditOptions if agent_class(algo).env_kind == "vector" else TabularOptions


def help_defaults(algo: str) -> dict[str, str]:
    """The defaults ``--help`` shows for the run flags: the algorithm's own budget and env."""
    cls = agent_class(algo)
    return {"budget": f"{cls.default_budget:,} {cls.budget_unit}", "env": cls.default_env}


def config_defaults(algo: str, ns: Any) -> list[tuple[dict[str, Any], str]]:
    """The ``--config`` YAML file: a flat mapping of settings (flags override it)."""
    path = getattr(ns, "config", None)
    return [(load_yaml(path), str(path))] if path else []


# ----- where it runs, what it learns on -----


def run_device(cls: Any, device: str, backend: Backend, copies: int) -> str:
    """The device a run of agent class ``cls`` computes on, resolved once from ``--device`` and ``--backend``.

    ``auto`` is the GPU only where it pays: agents with ``uses_device`` (bandits beside their
    batched env; MC and TD with their env copies, and TD's tables) that step at least
    ``GPU_MIN_COPIES`` env copies at once (``copies``); see docs/gpu.md. The dynamic-programming agents
    do a handful of exact sweeps on small tables and stay on the CPU (numpy).
    """
    if not cls.uses_device:
        if device not in ("auto", "cpu") or backend == "torch":
            raise ConfigError(
                f"--device {device} --backend {backend}: the dynamic-programming agents sweep small exact tables "
                "in numpy on the CPU; use --device cpu or auto (value_iteration(model, device=...) runs large "
                "models on CUDA)", "device", device,
            )  # fmt: skip
        return "cpu"
    return array_device(select_device(device, gpu_pays=copies >= GPU_MIN_COPIES), backend)


def make_env(cls: Any, env_id: str, env_kwargs: dict[str, Any] | None, runs: int, device: str) -> Any:
    """The agent's env; a bad id or bad kwargs is one line naming ``--env`` / ``--env_kwargs``."""
    import gymnasium as gym

    where = f"--env {env_id}" + (f" with --env_kwargs {json.dumps(env_kwargs)}" if env_kwargs else "")
    try:
        return cls.make_env(env_id, env_kwargs, runs=runs, device=device)
    except UsageError:
        raise
    except gym.error.Error as exc:
        raise UsageError(f"{where}: {exc}") from exc
    except (TypeError, ValueError, ImportError) as exc:  # the env's own argument checks
        raise UsageError(f"{where}: {' '.join(str(exc).split())}") from exc


# ----- train -----


def main(algo: str, parsed: Parsed) -> int:
    """``rlsuite train ALGO``: the config and run options the parser built, handed to :func:`train`."""
    train(algo, parsed.get(config_class(algo)), parsed.get(TabularOptions))
    return 0


def train(algo: str, config: Config, opts: TabularOptions) -> Path:
    """Train ``algo``; write and return the run folder. Every check that can fail runs before training."""
    from rlsuite.app import console
    from rlsuite.app.plots import history_curves, write_run_plots
    from rlsuite.common.io import OutputDir, run_name, unique_path, write_json
    from rlsuite.common.seeding import seed_everything

    cls = agent_class(algo)
    if opts.resume:
        raise ConfigError(
            "--resume: tabular runs take seconds and keep no checkpoints; start a new run "
            "(--overwrite replaces what --out holds)", "resume", True,
        )  # fmt: skip
    env_id = opts.env or cls.default_env
    budget = cls.check_budget(opts.budget)
    out = Path(opts.out) if opts.out else unique_path(Path("runs") / run_name(env_id, algo, opts.seed))
    folder = OutputDir(out, overwrite=opts.overwrite, can_resume=False)  # no --resume: advise --overwrite
    folder.check()
    runs = int(getattr(opts, "runs", 1))
    seed_everything(opts.seed)
    if cls.env_kind == "vector":  # the bandits' tables live beside their batched env
        device = run_device(cls, opts.device, opts.backend, runs)
        env = make_env(cls, env_id, opts.env_kwargs, runs, device)
        agent = cls(env, config)
    else:
        env = make_env(cls, env_id, opts.env_kwargs, 1, "cpu")
        device = run_device(cls, opts.device, opts.backend, cls.env_copies(config, env))
        agent = cls(env, config, device=device) if cls.uses_device else cls(env, config)
    with folder:
        console.log_to(folder.path)
        log.info("training %s on %s (seed %d, %d %s, device %s)", algo, env_id, opts.seed, budget, cls.budget_unit,
                 device)  # fmt: skip
        history = agent.learn(budget, seed=opts.seed)
        write_json(folder.path / "config.json", {
            "family": "tabular", "algo": algo, "env_id": env_id, "env_kwargs": opts.env_kwargs or {},
            "seed": opts.seed, "budget": budget, "budget_unit": cls.budget_unit,
            "runs": runs if cls.env_kind == "vector" else None, "device": device,
            "config": dataclasses.asdict(config),
        })  # fmt: skip
        agent.save(folder.path / "agent")
        history.to_csv(folder.path / "metrics.csv")
        x_name, curves = history_curves(history)
        grid = getattr(agent, "state_values", None) if cls.env_kind == "single" else None
        write_run_plots(folder.path, x_name, curves, f"{algo} on {env_id}", env=env, values=grid,
                        policy=agent.policy if grid is not None else None)  # fmt: skip
        folder.finish({"algo": algo, "final": history.last()})
    console.result(result_line(algo, env_id, opts.seed, history, budget, cls.budget_unit, runs, folder.path))
    return folder.path


def result_line(algo: str, env_id: str, seed: int, history: Any, budget: int, unit: str, runs: int, out: Path) -> str:
    """The work actually done (sweeps, episodes or steps run, which can stop short of the budget:
    converged, or whole batches), the last history row, and the run folder."""
    done = int(history[history.columns[0]][-1])
    work = f"{done} {unit}" + (f" (budget {budget})" if done != budget else "")
    where = f"{env_id} ({runs} runs)" if runs > 1 else env_id
    return f"{algo} on {where}, seed {seed}: {work}; {summary(history.last())}; run folder {out}"


def summary(row: dict[str, float]) -> str:
    """The last history row as one line, rounded to what means something."""
    names = {"value_error": "max |v - v*|", "optimal_fraction": "greedy optimal in",
             "mean_return": "mean discounted return of the last batch",
             "average_reward": "reward at the last step (mean over runs)",
             "optimal_action": "optimal arm at the last step in", "rmse": "RMSE of v",
             "gap_to_optimum": "gap to v* (max_s v* - v_pi)"}  # fmt: skip
    fractions = {"optimal_fraction": "{:.0%} of states", "optimal_action": "{:.0%} of runs"}
    parts = [f"{label} {fractions.get(key, '{:.3g}').format(row[key])}" for key, label in names.items() if key in row]
    return ", ".join(parts) or "done"


# ----- eval -----


def evaluate(run_dir: Path, meta: dict[str, Any], opts: EvalOptions) -> dict[str, Any]:
    """Replay a saved run and write ``eval.json`` (only a complete, finite report replaces the old one).

    Grid-world agents: play ``opts.episodes`` episodes greedily and report the mean return and,
    with an exact model, the gap of the greedy policy to the optimum (max over states of
    ``v*(s) - v_pi(s)``, exactly). Agents of a batched env (bandits): the saved tables belong to
    bandit problems that are gone, so the algorithm is replayed with the saved config on fresh ones.
    """
    from rlsuite.common.io import OutputDir, write_json

    config_file = run_dir / "config.json"
    algo = meta.get("algo")
    if algo not in ALGOS:
        raise ModelFolderError(f"{config_file}: unknown tabular algorithm {algo!r}")
    folder = OutputDir(run_dir, resume=True)
    folder.check()
    if not folder.finished:
        raise ModelFolderError(f"{run_dir}: an unfinished run (no finished.json); train it again")
    cls = agent_class(algo)
    runs = int(meta.get("runs") or 1)  # the bandits replay on fresh problems; the others only play
    device = run_device(cls, opts.device, "auto", runs) if cls.env_kind == "vector" else "cpu"
    agent = cls.load(run_dir / "agent", device=device, trust_env_module=opts.trust_env_module)
    report: dict[str, Any] = {"run_dir": str(run_dir), "algo": algo, "env_id": meta.get("env_id")}
    if cls.env_kind == "vector":
        budget = int(meta.get("budget") or cls.default_budget)
        history = agent.learn(budget, seed=opts.seed)
        report |= {
            "runs": int(agent.env.num_envs),
            "steps": budget,
            "average_reward": float(history["average_reward"].mean()),
            "average_reward_last_100": float(history["average_reward"][-100:].mean()),
            "optimal_action_last_100": float(history["optimal_action"][-100:].mean()),
        }
    else:
        report |= _play(agent, opts.episodes, opts.seed)
    bad = [k for k, v in report.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise ModelFolderError(f"{run_dir}: evaluation gave non-finite {', '.join(bad)}; eval.json left as it was")
    with folder:
        write_json(run_dir / "eval.json", report)
    return report


def _play(agent: Any, episodes: int, seed: int) -> dict[str, Any]:
    """Greedy episodes of a grid-world agent in :mod:`rlsuite.app.evalreport`'s keys."""
    from rlsuite.agents.tabular.solvers import policy_evaluation
    from rlsuite.app.evalreport import GAP_TOLERANCE, clamp_gap, return_stats
    from rlsuite.envs.model import start_distribution

    env = agent.env
    returns, discounted, lengths = [], [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        total, disc, k, done = 0.0, 0.0, 0, False
        while not done and k < MAX_EPISODE_STEPS:
            action, _ = agent.predict(obs)
            obs, r, term, trunc, _ = env.step(int(action))
            total += float(r)
            disc += agent.gamma**k * float(r)
            k += 1
            done = term or trunc
        returns.append(total)
        discounted.append(disc)
        lengths.append(k)
    report: dict[str, Any] = return_stats(returns) | {
        "discounted_return_mean": float(np.mean(discounted)),
        "length_mean": float(np.mean(lengths)),
    }
    if agent.model is not None and agent.v_star is not None and agent.gamma < 1.0:
        greedy = np.eye(agent.n_actions)[agent.policy.argmax(axis=1)]
        v_pi = policy_evaluation(agent.model, greedy, agent.gamma)
        gaps = agent.v_star - v_pi
        report["gamma"] = float(agent.gamma)
        report["gap_to_optimum_max"] = clamp_gap(float(np.max(gaps)))
        report["gap_to_optimum_mean"] = clamp_gap(float(np.mean(np.maximum(gaps, 0.0))))
        starts = start_distribution(env)
        if starts is not None:
            report["v_star_start"], report["v_pi_start"] = float(starts @ agent.v_star), float(starts @ v_pi)
            report["gap_to_optimum_start"] = clamp_gap(report["v_star_start"] - report["v_pi_start"])
        report["gap_tolerance"] = GAP_TOLERANCE
        truth = agent.truth_metrics()
        if "optimal_fraction" in truth:
            report["optimal_action_fraction"] = truth["optimal_fraction"]
    return report


# ----- the tour's section -----


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
    from rlsuite.app.plots import plot_learning_curve
    from rlsuite.envs.plotting import plot_grid

    env = gym.make("rlsuite/GridWorld-v0")
    scale = 4 if quick else 1
    runs = {
        "policy iteration": (ALGORITHMS["policy_iteration"](env), None),
        "MC exploring starts": (ALGORITHMS["mc_exploring_starts"](env), 20_000 // scale),
        "Sarsa": (ALGORITHMS["sarsa"](env), 3_000_000 // scale),
        "Q-learning (on-policy)": (ALGORITHMS["q_learning"](env), 3_000_000 // scale),
        "Q-learning (off-policy)": (  # uniform behaviour
            ALGORITHMS["q_learning"](env, QLearningConfig(behavior="uniform")),
            1_000_000 // scale,
        ),
    }
    curves: dict[str, dict[str, np.ndarray]] = {}
    numbers: dict[str, Any] = {}
    for label, (agent, budget) in runs.items():
        history = agent.learn(budget, seed=0)
        x_name = history.columns[0]
        done = int(history[x_name][-1])
        curves[f"{label}: {done:,} {agent.budget_unit}"] = {
            "x": history[x_name] / max(history[x_name].max(), 1),
            "value_error": np.maximum(history["value_error"], EXACT_FLOOR),  # round-off drawn at the floor
            "optimal_fraction": history["optimal_fraction"],
        }
        last = history.last()
        numbers[label] = {
            "budget": f"{int(history[x_name][-1])} {agent.budget_unit}",
            "max |v - v*|": float(f"{last['value_error']:.3g}"),
            "states with an optimal greedy action": f"{last['optimal_fraction']:.0%}",
        }
    plot_learning_curve(curves, "fraction", out / "tabular_gap_to_optimum.png",
                        f"tabular agents vs the exact optimum (Zhao's grid world, gamma 0.9, seed 0)\n"
                        f"x: each agent's own budget (unit in the legend); |v - v*| < {EXACT_FLOOR:g} "
                        f"(round-off) drawn at {EXACT_FLOOR:g}")  # fmt: skip
    q_agent = runs["Q-learning (on-policy)"][0]
    plot_grid(
        env,
        values=q_agent.state_values,
        policy=q_agent.policy,
        path=out / "tabular_q_learning_policy.png",
        title=f"Q-learning (on-policy, {runs['Q-learning (on-policy)'][1]} steps, seed 0): learned values\n"
              "and greedy policy on Zhao's grid world, gamma 0.9",
    )
    numbers["figures"] = ["tabular_gap_to_optimum.png", "tabular_q_learning_policy.png"]
    return numbers


__all__ = [
    "ALGOS", "BanditOptions", "TabularOptions", "config_class", "config_defaults", "evaluate", "help_defaults", "main",
    "options_class", "tour_section", "train",
]  # fmt: skip
