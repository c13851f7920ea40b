"""stable-baselines3 agents behind ``rlsuite train`` / ``rlsuite eval`` (the "sb3" family).

Hyperparameters come from ``configs/<algo>.yml``, keyed by env id in RL Zoo's format, so the same
files drive ``python -m rl_zoo3.train --algo ppo --env rlsuite/GridWorld-v0 --gym-packages rlsuite
-conf configs/ppo.yml``. Understood keys: the algorithm's own arguments (``learning_rate``,
``n_steps``, ...), and RL Zoo's ``n_timesteps``, ``policy``, ``n_envs``, ``env_wrapper``,
``env_kwargs``, ``policy_kwargs`` (a mapping) and ``lin_<x>`` schedules. ``--set key=value``
overrides any of them, and the run settings of :class:`SB3RunConfig` (evaluation, checkpoints,
the batched vector env, video).

A run folder (``runs/<env>__<algo>__<seed>__<time>/``) holds ``config.json`` (resolved),
``model.zip``, ``progress.csv`` and TensorBoard events under ``tb/``, ``eval/`` (EvalCallback's
``evaluations.npz`` and ``best_model.zip``), ``checkpoints/`` (``model_<steps>_steps.zip``, plus
the replay buffer for off-policy algorithms) and, after ``rlsuite eval``, ``eval.json``.
``--resume RUN_DIR`` reloads the last checkpoint and continues the step count and the logs.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rlsuite.common.config import build_config, load_yaml, parse_overrides
from rlsuite.common.errors import UsageError
from rlsuite.common.io import make_run_dir, write_json

ALGOS: dict[str, str] = {
    "ppo": "stable-baselines3 PPO (clipped policy gradient, on-policy; any Discrete/Box action space)",
    "a2c": "stable-baselines3 A2C (synchronous advantage actor-critic, on-policy)",
    "dqn": "stable-baselines3 DQN (deep Q-learning with replay and target net; Discrete actions)",
}
ALGO_CLASSES: dict[str, str] = {"ppo": "PPO", "a2c": "A2C", "dqn": "DQN"}
OFF_POLICY = {"dqn"}

# RL Zoo keys that are not arguments of the algorithm's constructor.
ZOO_KEYS = {"n_timesteps", "policy", "n_envs", "env_wrapper", "env_kwargs"}
ZOO_UNSUPPORTED = {"normalize", "frame_stack", "callback", "vec_env_wrapper", "monitor_kwargs"}
SCHEDULE_KEYS = ("learning_rate", "clip_range", "clip_range_vf")
VIDEO_HINT = "video needs moviepy: pip install moviepy (or pip install 'gymnasium[other]')"
CONFIG_DIR = Path(__file__).resolve().parents[1] / "app" / "configs"  # moves to the app layer


@dataclass
class SB3RunConfig:
    """How a stable-baselines3 run is driven (the hyperparameters themselves follow RL Zoo's format)."""

    vec_env: Literal["dummy", "batched"] = field(
        default="dummy",
        metadata={
            "help": "dummy: DummyVecEnv of gym.make envs; batched: rlsuite's array env (BatchedVecEnv)"
        },
    )
    env_device: str = field(
        default="cpu", metadata={"help": "batched env arrays: cpu (numpy), cuda or auto (torch)"}
    )
    eval_freq: int = field(default=10_000, metadata={"help": "evaluate every this many env steps (0: never)"})
    n_eval_episodes: int = field(default=10, metadata={"help": "episodes per evaluation"})
    checkpoint_freq: int = field(default=10_000, metadata={"help": "checkpoint every this many env steps"})
    progress_bar: bool = field(default=True, metadata={"help": "show SB3's tqdm/rich progress bar"})
    verbose: int = field(default=0, metadata={"help": "SB3 verbosity (1: print the log tables)"})
    torch_threads: int = field(default=0, metadata={"help": "torch CPU threads (0: torch's default)"})
    video: bool = field(default=False, metadata={"help": "record eval episodes to videos/ (needs moviepy)"})
    video_episodes: int = field(default=2, metadata={"help": "episodes to record when video is on"})

    def __post_init__(self) -> None:
        for name in ("eval_freq", "n_eval_episodes", "checkpoint_freq", "video_episodes", "torch_threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


RUN_KEYS = {f.name for f in dataclasses.fields(SB3RunConfig)}


# ----- configuration -----
def _config_file(algo: str, given: str | None) -> Path:
    if given:
        return Path(given)
    local = Path("configs") / f"{algo}.yml"
    return local if local.is_file() else CONFIG_DIR / f"{algo}.yml"


def _zoo_hyperparams(path: Path, env_id: str) -> dict[str, Any]:
    table = load_yaml(path)
    if env_id in table:
        entry = table[env_id]
    elif "default" in table:
        entry = table["default"]
    else:
        raise UsageError(f"{path}: no hyperparameters for {env_id!r} (has: {', '.join(map(str, table))})")
    if not isinstance(entry, dict):
        raise UsageError(f"{path}: entry {env_id!r} must be a mapping of hyperparameters")
    return dict(entry)


def _algo_class(algo: str) -> Any:
    import stable_baselines3

    return getattr(stable_baselines3, ALGO_CLASSES[algo])


def check_hyperparams(algo: str, hyperparams: dict[str, Any], where: str) -> None:
    """Reject keys the algorithm does not take, and RL Zoo features rlsuite does not run, in one line."""
    cls = _algo_class(algo)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "env"}
    for key, value in hyperparams.items():
        if key in ZOO_UNSUPPORTED:
            raise UsageError(f"{where}: {key!r} is not supported by rlsuite train (use rl_zoo3 for it)")
        if key not in accepted | ZOO_KEYS:
            known = ", ".join(sorted(accepted | ZOO_KEYS))
            raise UsageError(f"{where}: unknown key {key!r} for {cls.__name__} (known: {known})")
        if key == "policy_kwargs" and not isinstance(value, dict):
            raise UsageError(f"{where}: policy_kwargs must be a mapping, e.g. {{net_arch: [64, 64]}}")
        if key == "env_kwargs" and not isinstance(value, dict):
            raise UsageError(f"{where}: env_kwargs must be a mapping")
    n = hyperparams.get("n_timesteps")
    if n is None or isinstance(n, bool) or not isinstance(n, int | float) or n < 1:
        raise UsageError(f"{where}: n_timesteps must be a positive number, got {n!r}")
    n_envs = hyperparams.get("n_envs", 1)
    if isinstance(n_envs, bool) or not isinstance(n_envs, int) or n_envs < 1:
        raise UsageError(f"{where}: n_envs must be a positive integer, got {n_envs!r}")


def _schedule(value: Any, key: str) -> Any:
    """RL Zoo's ``lin_<x>``: linear decay from x to 0 over training."""
    from stable_baselines3.common.utils import LinearSchedule

    if isinstance(value, str):
        match = re.fullmatch(r"lin_([0-9.eE+-]+)", value)
        if not match:
            raise UsageError(f"{key}: expected a number or 'lin_<number>', got {value!r}")
        return LinearSchedule(float(match.group(1)), 0.0, 1.0)
    return value


def _import_object(path: str, where: str) -> Any:
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UsageError(f"{where}: cannot import {path!r}") from exc


def wrapper_fn(spec: Any) -> Any:
    """RL Zoo's ``env_wrapper`` (dotted name, {name: kwargs}, or a list of them) as one callable."""
    if spec is None:
        return None
    items = spec if isinstance(spec, list) else [spec]
    wrappers = []
    for item in items:
        if isinstance(item, str):
            wrappers.append((_import_object(item, "env_wrapper"), {}))
        elif isinstance(item, dict) and len(item) == 1:
            ((name, kwargs),) = item.items()
            wrappers.append((_import_object(name, "env_wrapper"), dict(kwargs or {})))
        else:
            raise UsageError(f"env_wrapper: expected a class name or {{name: kwargs}}, got {item!r}")

    def wrap(env: Any) -> Any:
        for cls, kwargs in wrappers:
            env = cls(env, **kwargs)
        return env

    return wrap


@dataclass
class ResolvedRun:
    """Everything a run needs, as saved in ``config.json``."""

    algo: str
    env_id: str
    seed: int
    device: str
    config_file: str
    hyperparams: dict[str, Any]
    run: dict[str, Any]
    family: str = "sb3"


def resolve(args: argparse.Namespace) -> ResolvedRun:
    """Read ``configs/<algo>.yml`` for the env, apply ``--set`` and ``--budget``, check it all."""
    algo = args.algo
    if not args.env:
        raise UsageError(f"train {algo}: --env is required (e.g. --env rlsuite/GridWorld-v0)")
    path = _config_file(algo, args.config)
    hyperparams = _zoo_hyperparams(path, args.env)
    overrides = parse_overrides(args.set)
    run_values = {k: overrides.pop(k) for k in list(overrides) if k in RUN_KEYS}
    hyperparams.update(overrides)
    if args.budget is not None:
        hyperparams["n_timesteps"] = args.budget
    where = f"{path} [{args.env}]" if not overrides else f"{path} [{args.env}] with --set"
    check_hyperparams(algo, hyperparams, where)
    hyperparams["n_timesteps"] = int(hyperparams["n_timesteps"])
    run = build_config(SB3RunConfig, run_values, "--set")
    return ResolvedRun(
        algo, args.env, args.seed, args.device, str(path), hyperparams, dataclasses.asdict(run)
    )


# ----- envs -----
def make_env(env_id: str, hyperparams: dict[str, Any], render_mode: str | None = None) -> Any:
    """One env as the agent sees it: ``gym.make`` with ``env_kwargs``, then ``env_wrapper``."""
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401  (registers the ids)

    kwargs = dict(hyperparams.get("env_kwargs") or {})
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gym.make(env_id, **kwargs)
    except (gym.error.Error, TypeError, ValueError) as exc:
        given = f" with env_kwargs {kwargs}" if kwargs else ""
        raise UsageError(f"--env {env_id}{given}: {exc}") from exc
    wrap = wrapper_fn(hyperparams.get("env_wrapper"))
    try:
        return wrap(env) if wrap else env
    except (TypeError, ValueError) as exc:
        raise UsageError(f"env_wrapper: {exc}") from exc


def make_train_env(resolved: ResolvedRun, seed: int) -> Any:
    """The training ``VecEnv``: a DummyVecEnv of Monitor-wrapped envs, or the batched adapter + VecMonitor."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecMonitor

    hp = resolved.hyperparams
    n_envs = int(hp.get("n_envs", 1))
    if resolved.run["vec_env"] == "batched":
        from rlsuite.agents.sb3_vecenv import make_batched_vec_env

        try:
            venv = make_batched_vec_env(
                resolved.env_id,
                n_envs,
                seed,
                hp.get("env_kwargs"),
                wrapper_fn(hp.get("env_wrapper")),
                device=resolved.run["env_device"],
            )
        except ValueError as exc:
            raise UsageError(f"vec_env=batched: {exc}") from exc
        return VecMonitor(venv)
    make_env(resolved.env_id, hp).close()  # fail early, in one line, on a bad id or kwargs
    return make_vec_env(lambda: make_env(resolved.env_id, hp), n_envs=n_envs, seed=seed)


def _model_kwargs(hyperparams: dict[str, Any]) -> dict[str, Any]:
    kwargs = {k: v for k, v in hyperparams.items() if k not in ZOO_KEYS}
    kwargs["policy"] = hyperparams.get("policy", "MlpPolicy")
    for key in SCHEDULE_KEYS:
        if key in kwargs:
            kwargs[key] = _schedule(kwargs[key], key)
    if isinstance(kwargs.get("train_freq"), list):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    return kwargs


# ----- logging -----
def _logger(run_dir: Path, verbose: int) -> Any:
    """progress.csv (appended to on resume) + TensorBoard under tb/ (+ stdout when verbose)."""
    from stable_baselines3.common.logger import HumanOutputFormat, Logger, TensorBoardOutputFormat

    formats: list[Any] = [_resumable_csv(run_dir / "progress.csv")]
    formats.append(TensorBoardOutputFormat(str(run_dir / "tb")))
    if verbose:
        formats.append(HumanOutputFormat(sys.stdout))
    return Logger(str(run_dir), formats)


def _resumable_csv(path: Path) -> Any:
    """SB3's CSV writer, continuing an existing file (same header) instead of truncating it.

    The class is defined here because importing SB3 imports torch, which ``rlsuite`` avoids at startup.
    """
    from stable_baselines3.common.logger import CSVOutputFormat

    class ResumableCSV(CSVOutputFormat):
        def __init__(self, path: Path) -> None:
            if path.is_file() and path.stat().st_size > 0:
                self.file = open(path, "r+")  # noqa: SIM115  (closed by Logger.close)
                header = self.file.readline().rstrip("\n")
                self.keys = header.split(",") if header else []
                self.file.seek(0, 2)
            else:
                self.file = open(path, "w+")  # noqa: SIM115
                self.keys = []
            self.separator = ","
            self.quotechar = '"'

    return ResumableCSV(path)


# ----- callbacks -----
def _callbacks(resolved: ResolvedRun, run_dir: Path, n_envs: int, seed: int) -> list[Any]:
    from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback

    run = resolved.run
    out: list[Any] = []
    if run["checkpoint_freq"] > 0:
        out.append(
            CheckpointCallback(
                save_freq=max(run["checkpoint_freq"] // n_envs, 1),
                save_path=str(run_dir / "checkpoints"),
                name_prefix="model",
                save_replay_buffer=resolved.algo in OFF_POLICY,
            )
        )
    if run["eval_freq"] > 0:
        eval_env = _eval_vec_env(resolved, seed + 10_000)
        callback = EvalCallback(
            eval_env,
            n_eval_episodes=run["n_eval_episodes"],
            eval_freq=max(run["eval_freq"] // n_envs, 1),
            log_path=str(run_dir / "eval"),
            best_model_save_path=str(run_dir / "eval"),
            deterministic=True,
            verbose=run["verbose"],
        )
        _restore_evaluations(callback, run_dir / "eval" / "evaluations.npz")
        out.append(callback)
    return out


def _eval_vec_env(resolved: ResolvedRun, seed: int) -> Any:
    """One env for EvalCallback, wrapped like the training env so SB3 sees the same VecEnv type."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.preprocessing import is_image_space
    from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor, VecTransposeImage

    def make() -> Any:
        return make_env(resolved.env_id, resolved.hyperparams)

    if resolved.run["vec_env"] == "batched":
        venv: Any = VecMonitor(DummyVecEnv([make]))
        venv.seed(seed)
    else:
        venv = make_vec_env(make, n_envs=1, seed=seed)
    if is_image_space(venv.observation_space):
        venv = VecTransposeImage(venv)
    return venv


def _restore_evaluations(callback: Any, path: Path) -> None:
    """On resume, keep the earlier evaluations so evaluations.npz continues instead of restarting."""
    if not path.is_file():
        return
    with np.load(path) as data:
        callback.evaluations_timesteps = [int(t) for t in data["timesteps"]]
        callback.evaluations_results = [list(r) for r in data["results"]]
        callback.evaluations_length = [list(n) for n in data["ep_lengths"]]
    if callback.evaluations_results:
        callback.best_mean_reward = float(max(np.mean(r) for r in callback.evaluations_results))


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """``(steps, path)`` of the run's checkpoints, oldest first."""
    found = []
    for path in (run_dir / "checkpoints").glob("model_*_steps.zip"):
        match = re.fullmatch(r"model_(\d+)_steps\.zip", path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def _check_video() -> None:
    try:
        import moviepy  # noqa: F401
    except ImportError as exc:
        raise UsageError(VIDEO_HINT) from exc


# ----- train -----
def train(args: argparse.Namespace) -> Path:
    """``rlsuite train ppo|a2c|dqn --env ID``, or ``--resume RUN_DIR`` from its last checkpoint."""
    if args.resume:
        return _resume(args)
    resolved = resolve(args)
    if resolved.run["video"]:
        _check_video()
    import torch

    from rlsuite.common.device import select_device
    from rlsuite.common.seeding import seed_everything

    device = select_device(args.device)
    if resolved.run["torch_threads"]:
        torch.set_num_threads(resolved.run["torch_threads"])
    seed_everything(args.seed)
    venv = make_train_env(resolved, args.seed)
    cls = _algo_class(resolved.algo)
    try:
        model = cls(
            env=venv,
            seed=args.seed,
            device=device,
            verbose=resolved.run["verbose"],
            **_model_kwargs(resolved.hyperparams),
        )
    except (TypeError, ValueError, AssertionError) as exc:
        venv.close()
        raise UsageError(f"{resolved.config_file} [{resolved.env_id}]: {cls.__name__}: {exc}") from exc
    run_dir = make_run_dir(args.runs_dir, resolved.env_id, resolved.algo, args.seed)
    write_json(run_dir / "config.json", dataclasses.asdict(resolved) | {"device": str(device)})
    _learn(model, resolved, run_dir, resolved.hyperparams["n_timesteps"], resume=False, seed=args.seed)
    return run_dir


def _resume(args: argparse.Namespace) -> Path:
    run_dir = Path(args.resume)
    config = _read_config(run_dir)
    if config["algo"] != args.algo:
        raise UsageError(f"--resume {run_dir}: the run trained {config['algo']!r}, not {args.algo!r}")
    if args.env and args.env != config["env_id"]:
        raise UsageError(f"--resume {run_dir}: the run's env is {config['env_id']!r}, not {args.env!r}")
    resolved = ResolvedRun(**{k: config[k] for k in (f.name for f in dataclasses.fields(ResolvedRun))})
    overrides = parse_overrides(args.set)
    if args.budget is not None:
        overrides["n_timesteps"] = args.budget
    for key, value in overrides.items():
        if key in RUN_KEYS:
            resolved.run[key] = value
        elif key == "n_timesteps":
            resolved.hyperparams[key] = value
        else:
            raise UsageError(f"--resume: only n_timesteps and run settings can change, not {key!r}")
    check_hyperparams(resolved.algo, resolved.hyperparams, f"{run_dir / 'config.json'}")
    resolved.hyperparams["n_timesteps"] = int(resolved.hyperparams["n_timesteps"])
    resolved.run = dataclasses.asdict(build_config(SB3RunConfig, resolved.run, "--set"))
    found = checkpoints(run_dir)
    if not found:
        raise UsageError(f"--resume {run_dir}: no checkpoints/model_<steps>_steps.zip to resume from")
    steps, path = found[-1]
    if resolved.run["video"]:
        _check_video()
    import torch

    from rlsuite.common.device import select_device
    from rlsuite.common.seeding import seed_everything

    device = select_device(args.device)
    if resolved.run["torch_threads"]:
        torch.set_num_threads(resolved.run["torch_threads"])
    seed = resolved.seed + steps  # fresh episodes, not a replay of the first ones
    seed_everything(seed)
    venv = make_train_env(resolved, seed)
    model = _algo_class(resolved.algo).load(path, env=venv, device=device)
    buffer = path.with_name(f"model_replay_buffer_{steps}_steps.pkl")
    if resolved.algo in OFF_POLICY and buffer.is_file():
        model.load_replay_buffer(buffer)
    write_json(run_dir / "config.json", dataclasses.asdict(resolved) | {"device": str(device)})
    print(f"resuming {run_dir} from {path.name} (step {model.num_timesteps})")
    _learn(model, resolved, run_dir, resolved.hyperparams["n_timesteps"], resume=True, seed=seed)
    return run_dir


def _learn(
    model: Any, resolved: ResolvedRun, run_dir: Path, n_timesteps: int, resume: bool, seed: int
) -> None:
    from stable_baselines3.common.callbacks import CallbackList

    model.set_logger(_logger(run_dir, resolved.run["verbose"]))
    callbacks = CallbackList(_callbacks(resolved, run_dir, model.n_envs, seed))
    remaining = n_timesteps - (model.num_timesteps if resume else 0)
    try:
        if remaining > 0:
            model.learn(
                total_timesteps=remaining,
                callback=callbacks,
                reset_num_timesteps=not resume,
                progress_bar=resolved.run["progress_bar"],
            )
    finally:  # a final checkpoint, also on Ctrl-C, so --resume continues from here
        final = run_dir / "checkpoints" / f"model_{model.num_timesteps}_steps.zip"
        final.parent.mkdir(exist_ok=True)
        model.save(final)
        if resolved.algo in OFF_POLICY:
            model.save_replay_buffer(final.with_name(f"model_replay_buffer_{model.num_timesteps}_steps.pkl"))
        model.logger.close()
        model.get_env().close()
    model.save(run_dir / "model.zip")
    if resolved.run["video"]:
        record_video(model, resolved, run_dir / "videos", resolved.run["video_episodes"], seed)


# ----- eval -----
def _read_config(run_dir: Path) -> dict[str, Any]:
    import json

    path = run_dir / "config.json"
    if not path.is_file():
        raise UsageError(f"{run_dir}: not a run folder (no config.json)")
    config = json.loads(path.read_text())
    if config.get("family") != "sb3":
        raise UsageError(f"{path}: not a stable-baselines3 run (family {config.get('family')!r})")
    return config


def load_model(run_dir: Path, device: str = "auto") -> tuple[Any, ResolvedRun]:
    """The run's ``model.zip`` (or, for an interrupted run, its last checkpoint) and its config."""
    from rlsuite.common.device import select_device

    config = _read_config(run_dir)
    resolved = ResolvedRun(**{k: config[k] for k in (f.name for f in dataclasses.fields(ResolvedRun))})
    path = run_dir / "model.zip"
    if not path.is_file():
        found = checkpoints(run_dir)
        if not found:
            raise UsageError(f"{run_dir}: no model.zip and no checkpoints")
        path = found[-1][1]
    model = _algo_class(resolved.algo).load(path, device=select_device(device))
    return model, resolved


def evaluate(run_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``rlsuite eval RUN_DIR``: mean return of the greedy policy; on tabular envs, its gap to the DP optimum.

    Writes ``eval.json`` beside the model and returns the same report.
    """
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    run_dir = Path(run_dir)
    model, resolved = load_model(run_dir, getattr(args, "device", "auto"))
    episodes = int(getattr(args, "episodes", 20))
    seed = int(getattr(args, "seed", 0))
    env = Monitor(make_env(resolved.env_id, resolved.hyperparams))
    env.reset(seed=seed)
    returns, lengths = evaluate_policy(
        model, env, n_eval_episodes=episodes, deterministic=True, return_episode_rewards=True
    )
    report: dict[str, Any] = {
        "run_dir": str(run_dir),
        "algo": resolved.algo,
        "env_id": resolved.env_id,
        "timesteps": int(model.num_timesteps),
        "episodes": episodes,
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "length_mean": float(np.mean(lengths)),
    }
    gap = optimality_gap(model, resolved, episodes, seed)
    if gap is not None:
        report["optimum"] = gap
    if getattr(args, "video", False):
        _check_video()
        report["videos"] = str(record_video(model, resolved, run_dir / "videos", 2, seed))
    write_json(run_dir / "eval.json", report)
    return report


def _start_distribution(base: Any, n_states: int) -> np.ndarray | None:
    if hasattr(base, "random_start_states"):  # rlsuite grid world
        probs = np.zeros(n_states)
        if base.start_state is not None:
            probs[base.start_state] = 1.0
        else:
            probs[base.random_start_states] = 1.0 / len(base.random_start_states)
        return probs
    if hasattr(base, "initial_state_distrib"):  # gymnasium toy text
        return np.asarray(base.initial_state_distrib, dtype=float)
    return None


def optimality_gap(model: Any, resolved: ResolvedRun, episodes: int, seed: int) -> dict[str, Any] | None:
    """On envs with an exact model: the learned greedy policy against the optimum from value iteration.

    Compares exact discounted values (``v*`` from value iteration, ``v_pi`` of the learned greedy
    policy by exact policy evaluation, both with the agent's ``gamma``) at the start distribution
    and over all states, and the episodic return of the optimal policy on the same seeds.
    Returns None for envs without a tabular model (the bandits, continuous envs).
    """
    from stable_baselines3.common.evaluation import evaluate_policy

    from rlsuite.agents.tabular.dp import policy_evaluation, value_iteration
    from rlsuite.envs.model import tabular_model
    from rlsuite.envs.wrappers import observation_table

    env = make_env(resolved.env_id, resolved.hyperparams)
    try:
        tm = tabular_model(env)
        table = observation_table(env, tm.n_states)
    except (UsageError, ValueError):
        return None
    gamma = float(model.gamma)
    actions, _ = model.predict(table, deterministic=True)
    actions = np.asarray(actions, dtype=int)
    v_star, q_star, _ = value_iteration(tm, gamma)
    v_pi = policy_evaluation(tm, actions, gamma)
    optimal_actions = q_star.argmax(axis=1)
    starts = _start_distribution(env.unwrapped, tm.n_states)
    out: dict[str, Any] = {
        "gamma": gamma,
        "max_value_gap": float(np.max(v_star - v_pi)),
        "optimal_action_fraction": float(np.mean(q_star[np.arange(tm.n_states), actions] >= v_star - 1e-6)),
    }
    if starts is not None:
        out["v_star_start"] = float(starts @ v_star)
        out["v_pi_start"] = float(starts @ v_pi)
        out["value_gap_start"] = out["v_star_start"] - out["v_pi_start"]

    class _Optimal:  # the DP-optimal greedy policy, in evaluate_policy's predict interface
        def predict(
            self, obs: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
        ) -> Any:
            states = [int(np.flatnonzero((table == o).reshape(len(table), -1).all(axis=1))[0]) for o in obs]
            return optimal_actions[states], None

    env.reset(seed=seed)
    returns, _ = evaluate_policy(
        _Optimal(), env, n_eval_episodes=episodes, return_episode_rewards=True, warn=False
    )
    out["optimal_return_mean"] = float(np.mean(returns))
    env.close()
    return out


def record_video(model: Any, resolved: ResolvedRun, folder: Path, episodes: int, seed: int) -> Path:
    """Record ``episodes`` greedy episodes with gymnasium's RecordVideo (needs moviepy)."""
    _check_video()
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(
        make_env(resolved.env_id, resolved.hyperparams, render_mode="rgb_array"),
        str(folder),
        episode_trigger=lambda _: True,
        disable_logger=True,
    )
    for episode in range(episodes):  # no reset after the last one: it would start an empty video
        obs, _ = env.reset(seed=seed if episode == 0 else None)
        done = False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
    env.close()
    return folder


# ----- tour -----
def tour_section(out: Path, quick: bool) -> dict[str, Any]:
    """PPO and DQN (stable-baselines3) on the book's grid world: the learned greedy policy against v*.

    Trains both through ``train`` (run folders under ``out/sb3_runs``), evaluates them with
    ``evaluate``, and draws each learned policy with its exact value (``sb3_<algo>_gridworld.png``)
    and both evaluation curves (``sb3_gridworld_eval.png``).
    """
    from rlsuite.agents.tabular.dp import policy_evaluation
    from rlsuite.common.plotting import plot_curves
    from rlsuite.envs.model import tabular_model
    from rlsuite.envs.plotting import plot_grid
    from rlsuite.envs.wrappers import observation_table

    env_id, budget = "rlsuite/GridWorld-v0", 20_000 if quick else 40_000
    settings = ["eval_freq=2000", "n_eval_episodes=5", "checkpoint_freq=1000000", "progress_bar=false"]
    numbers: dict[str, Any] = {"env": env_id, "budget": budget}
    curves: dict[str, np.ndarray] = {}
    steps: np.ndarray | None = None
    for algo in ("ppo", "dqn"):
        args = argparse.Namespace(
            algo=algo, env=env_id, config=None, set=[*settings, "torch_threads=1"], seed=0, device="cpu",
            budget=budget, runs_dir=str(out / "sb3_runs"), resume=None,
        )  # fmt: skip
        run_dir = train(args)
        report = evaluate(run_dir, argparse.Namespace(episodes=5, seed=0, device="cpu"))
        model, resolved = load_model(run_dir, "cpu")
        env = make_env(env_id, resolved.hyperparams)
        tm = tabular_model(env)
        greedy, _ = model.predict(observation_table(env, tm.n_states), deterministic=True)
        v_pi = policy_evaluation(tm, np.asarray(greedy), float(model.gamma))
        plot_grid(env, values=v_pi, policy=np.asarray(greedy), path=out / f"sb3_{algo}_gridworld.png",
                  title=f"SB3 {algo.upper()} after {budget} steps: greedy policy, exact v_pi")  # fmt: skip
        with np.load(run_dir / "eval" / "evaluations.npz") as data:
            steps, curves[algo.upper()] = data["timesteps"], data["results"].mean(axis=1)
        numbers[algo] = {"return_mean": report["return_mean"]} | {
            key: round(report["optimum"][key], 4)
            for key in ("v_star_start", "v_pi_start", "optimal_action_fraction", "optimal_return_mean")
        }
    plot_curves(curves, out / "sb3_gridworld_eval.png", xlabel="env steps", ylabel="eval return (100 steps)",
                title="SB3 on the book's grid world", x=steps)  # fmt: skip
    return numbers
