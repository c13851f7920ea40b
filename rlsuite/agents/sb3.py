"""stable-baselines3 agents on rlsuite's envs (and any gymnasium id): typed configs in, results out.

The configs (:mod:`rlsuite.agents.sb3_config`) hold every setting; this module builds the envs and
the SB3 algorithm from them and runs training into a folder it is given::

    config = PPOConfig(n_envs=8, n_steps=128, gamma=0.9)
    venv = make_train_env("rlsuite/GridWorld-v0", None, config, seed=0)
    model = build_model(config, venv, seed=0, device="cpu")
    steps = learn(model, config, "rlsuite/GridWorld-v0", None, folder, budget=20_000, seed=0)
    report = evaluate_run(model, "rlsuite/GridWorld-v0", None, config, episodes=20, seed=0)

``learn`` writes into ``folder``: ``progress.csv`` and TensorBoard events in ``tb/`` (SB3's
logger; appended to on resume), ``eval/evaluations.npz`` (EvalCallback's format) and
``metrics.csv`` (each evaluation's return and, on envs with an exact model, the greedy policy's
exact gap to the optimum), ``eval/best_model/``, ``checkpoints/step_<steps>/`` and ``model/``:
saved without pickle (:mod:`rlsuite.agents.sb3_io`), every one written atomically.

Updates, evaluations and checkpoints are planned from the number of envs (:func:`plan_run`): the
rollout length per env shrinks as envs are added (PPO, when not given), evaluations and
checkpoints fall on whole updates, and a budget that allows fewer than a handful of updates is
logged as a warning. Nothing here prints; progress goes to :mod:`rlsuite.common.progress`.
"""

from __future__ import annotations

import csv
import functools
import importlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.agents import sb3_io
from rlsuite.agents.sb3_config import (
    ALGOS,
    CONFIGS,
    WRAPPER_NAMESPACES,
    ARSConfig,
    DQNConfig,
    MaskablePPOConfig,
    PPOBaseConfig,
    SB3RunConfig,
    wrapper_specs,
)
from rlsuite.common import progress
from rlsuite.common.config import config_error
from rlsuite.common.errors import ConfigError, UsageError
from rlsuite.common.io import atomic_path

__all__ = ["ALGOS", "CONFIGS", "build_model", "evaluate_run", "learn", "make_env", "make_train_env", "plan_run"]

log = logging.getLogger(__name__)

VIDEO_HINT = "video needs moviepy: pip install moviepy (or pip install 'gymnasium[other]')"
FEW_UPDATES = 5
EVAL_SEED_OFFSET = 10_000
EVAL_MAX_EPISODE_STEPS = 10_000  # greedy evaluation on an env without a time limit ends an episode here


# ----- envs -----
def _wrapper_class(name: str, trusted: bool) -> type:
    import gymnasium as gym

    module, _, attr = name.rpartition(".")
    if not trusted and not name.startswith(WRAPPER_NAMESPACES):
        raise ConfigError(
            f"env_wrapper: {name!r} is outside rlsuite and gymnasium (see --trust_env_wrapper)", "env_wrapper", name
        )
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        raise ConfigError(f"env_wrapper: cannot import {name!r}", "env_wrapper", name) from None
    if not (isinstance(obj, type) and issubclass(obj, gym.Wrapper)):
        raise ConfigError(f"env_wrapper: {name!r} is not a gymnasium Wrapper class", "env_wrapper", name)
    if not trusted and not obj.__module__.startswith(WRAPPER_NAMESPACES):
        raise ConfigError(f"env_wrapper: {name!r} is defined in {obj.__module__}, outside rlsuite and gymnasium",
                          "env_wrapper", name)  # fmt: skip
    return obj


def wrapper_fn(config: SB3RunConfig) -> Callable[[Any], Any] | None:
    """The config's ``env_wrapper`` as one callable ``env -> wrapped env`` (None when there is none).

    Classes are looked up only in rlsuite's and gymnasium's namespaces unless the config says
    ``trust_env_wrapper``; each must be a ``gymnasium.Wrapper``.
    """
    specs = wrapper_specs(config.env_wrapper)
    wrappers = [(_wrapper_class(name, config.trust_env_wrapper), kwargs) for name, kwargs in specs]
    if isinstance(config, MaskablePPOConfig):  # the mask is added last: it reads the base env's state
        from rlsuite.envs.wrappers import ValidActionMask

        wrappers.append((ValidActionMask, {"mask": config.action_mask}))
    if not wrappers:
        return None

    def wrap(env: Any) -> Any:
        for cls, kwargs in wrappers:
            env = cls(env, **kwargs)
        return env

    return wrap


def make_env(
    env_id: str, env_kwargs: dict[str, Any] | None, config: SB3RunConfig, render_mode: str | None = None,
    evaluation: bool = False,
) -> Any:
    """One env as the agent sees it: ``gym.make(env_id, **env_kwargs)``, then the config's wrappers. With
    ``evaluation``, an env without a time limit (CliffWalking-v1) ends its episodes at
    ``EVAL_MAX_EPISODE_STEPS``: a greedy policy that never reaches an end would hang the evaluation."""
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401  (registers the ids)

    kwargs = dict(env_kwargs or {})
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    env = gym.make(env_id, **kwargs)
    wrap = wrapper_fn(config)
    env = wrap(env) if wrap else env
    if evaluation and getattr(env.spec, "max_episode_steps", None) is None:
        _say_episodes_are_cut(env_id)
        env = gym.wrappers.TimeLimit(env, EVAL_MAX_EPISODE_STEPS)
    return env


@functools.cache
def _say_episodes_are_cut(env_id: str) -> None:
    log.warning("%s has no time limit: evaluation episodes end after %d steps", env_id, EVAL_MAX_EPISODE_STEPS)


def make_train_env(env_id: str, env_kwargs: dict[str, Any] | None, config: SB3RunConfig, seed: int) -> Any:
    """The training ``VecEnv``: a DummyVecEnv of Monitor-wrapped envs, or the batched adapter + VecMonitor."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecMonitor

    if config.vec_env == "batched":
        import gymnasium as gym

        import rlsuite.envs  # noqa: F401  (registers the ids)
        from rlsuite.agents.sb3_vecenv import make_batched_vec_env

        if isinstance(config, MaskablePPOConfig):
            raise config_error(config, "vec_env", "batched: MaskablePPO's action masks need the dummy vec env")
        if gym.spec(env_id).vector_entry_point is None:
            raise config_error(config, "vec_env", f"batched: {env_id} has no vector entry point (use dummy)")
        venv = make_batched_vec_env(
            env_id, config.n_envs, seed, env_kwargs, wrapper_fn(config), device=config.env_device
        )
        return VecMonitor(venv)
    return make_vec_env(lambda: make_env(env_id, env_kwargs, config), n_envs=config.n_envs, seed=seed)


# ----- the algorithm -----
def algo_class(config: SB3RunConfig) -> Any:
    """The SB3 (or sb3-contrib) class of the config's algorithm."""
    return getattr(importlib.import_module(config.sb3_module), config.sb3_class)


def check_spaces(config: SB3RunConfig, observation_space: Any, action_space: Any) -> None:
    """The config's algorithm and policy against the env's spaces, as ``ConfigError`` lines (before
    SB3 would fail inside its constructor)."""
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import is_image_space

    name = config.sb3_class
    if isinstance(config, DQNConfig | MaskablePPOConfig):
        allowed: tuple[type, ...] = (spaces.Discrete,)
    elif isinstance(config, ARSConfig):
        allowed = (spaces.Discrete, spaces.Box)
    else:
        allowed = (spaces.Discrete, spaces.Box, spaces.MultiDiscrete, spaces.MultiBinary)
    if not isinstance(action_space, allowed):
        raise ConfigError(f"{name} does not take {type(action_space).__name__} actions ({action_space}); the env "
                          f"needs {' or '.join(a.__name__ for a in allowed)} actions", "algo")  # fmt: skip
    if getattr(config, "use_sde", False) and not isinstance(action_space, spaces.Box):
        raise config_error(config, "use_sde", f"gSDE needs Box actions, the env has {action_space}")
    is_dict = isinstance(observation_space, spaces.Dict)
    if config.policy == "MultiInputPolicy" and not is_dict:
        raise config_error(config, "policy", f"MultiInputPolicy needs dict observations, got {observation_space}")
    if config.policy != "MultiInputPolicy" and is_dict:
        raise config_error(config, "policy", "dict observations need MultiInputPolicy")
    if config.policy == "CnnPolicy":
        if not is_image_space(observation_space, check_channels=False):
            raise config_error(
                config, "policy", f"CnnPolicy needs image observations (uint8 HxWxC), got {observation_space} "
                "(add a pixel env_wrapper, e.g. rlsuite.envs.wrappers.PixelObservation)",
            )  # fmt: skip
        extractor = (config.policy_kwargs or {}).get("features_extractor_class", "NatureCNN")
        side = min(observation_space.shape[:2]) if observation_space.shape[-1] in (1, 3, 4) else min(
            observation_space.shape[1:])  # fmt: skip
        if extractor == "NatureCNN" and side < 36:
            raise config_error(config, "policy", f"CnnPolicy's NatureCNN needs images of at least 36x36 pixels, "
                               f"got {observation_space.shape}")  # fmt: skip


def _check_policy_kwargs(config: SB3RunConfig) -> None:
    import inspect

    policy_cls = algo_class(config).policy_aliases[config.sb3_policy(config.policy)]
    accepted = set(inspect.signature(policy_cls.__init__).parameters) - {"self", "observation_space",
                                                                         "action_space", "lr_schedule"}  # fmt: skip
    for key in config.policy_kwargs or {}:
        if key not in accepted:
            raise config_error(config, "policy_kwargs", f"unknown key {key!r} for {policy_cls.__name__} "
                               f"(known: {', '.join(sorted(accepted))})")  # fmt: skip


def build_model(config: SB3RunConfig, venv: Any, seed: int, device: Any) -> Any:
    """The SB3 algorithm of ``config`` on ``venv``, built from the config's typed fields."""
    check_spaces(config, venv.observation_space, venv.action_space)
    _check_policy_kwargs(config)
    plan = plan_run(config, config.n_timesteps, quiet=True)
    model = algo_class(config)(env=venv, seed=seed, device=device, **config.sb3_kwargs(n_steps=plan.n_steps))
    if isinstance(config, ARSConfig):  # ARS has no discount; the exact evaluation and policy.json take the config's
        model.gamma = config.gamma
    return model


@dataclass
class RunPlan:
    """How a budget turns into updates, evaluations and checkpoints for ``n_envs`` copies.

    Attributes:
        n_steps: rollout length per env (on-policy), after rlsuite's default when not given.
        rollout: env steps per update (on-policy; None for DQN and ARS).
        updates: updates the budget allows (on-policy: rollouts; DQN: gradient updates; ARS: 0, as
            its updates last whole candidate episodes, of lengths not known in advance).
        eval_every: SB3 callback calls (vector steps) between evaluations (0: none).
        checkpoint_every: calls between checkpoints (0: only the final one).
        warnings: what was logged about the budget.
    """

    n_steps: int | None
    rollout: int | None
    updates: int
    eval_every: int
    checkpoint_every: int
    warnings: list[str] = field(default_factory=list)


def plan_run(config: SB3RunConfig, budget: int, quiet: bool = False) -> RunPlan:
    """Updates, evaluations and checkpoints of ``budget`` env steps with the config's ``n_envs``.

    On-policy, an evaluation or checkpoint can only see a new policy after an update, so their
    frequencies (in env steps) are rounded to whole rollouts; off-policy they are divided by the
    number of envs (SB3 calls callbacks once per vector step). Logs a warning (unless ``quiet``)
    when the budget allows fewer than ``FEW_UPDATES`` updates.
    """
    n_envs = config.n_envs
    warnings: list[str] = []
    n_steps = config.rollout_n_steps() if isinstance(config, PPOBaseConfig) else getattr(config, "n_steps", None)
    rollout = config.rollout_steps()
    if rollout:
        calls = rollout // n_envs
        updates = math.ceil(budget / rollout)

        def every(freq: int) -> int:
            return 0 if freq == 0 else calls * max(1, round(freq / rollout))

        if updates < FEW_UPDATES:
            warnings.append(
                f"a budget of {budget} env steps allows only {updates} update(s) of {rollout} env steps "
                f"(n_steps {calls} x n_envs {n_envs}): raise --budget or lower n_steps / n_envs"
            )
    elif isinstance(config, ARSConfig):  # callbacks run at every env step of the candidates' episodes
        updates = 0

        def every(freq: int) -> int:
            return 0 if freq == 0 else max(1, freq // n_envs)

    else:
        assert isinstance(config, DQNConfig)
        per_update = config.train_freq * (n_envs if config.train_freq_unit == "step" else 1)
        updates = max(0, math.ceil((budget - config.learning_starts) / max(per_update, 1)))

        def every(freq: int) -> int:
            return 0 if freq == 0 else max(1, freq // n_envs)

        if budget <= config.learning_starts:
            warnings.append(f"a budget of {budget} env steps ends before learning_starts={config.learning_starts}: "
                            "DQN would never train")  # fmt: skip
        elif updates < FEW_UPDATES:
            warnings.append(f"a budget of {budget} env steps allows only {updates} DQN update(s)")
    if not quiet:
        for line in warnings:
            log.warning(line)
    return RunPlan(n_steps, rollout, updates, every(config.eval_freq), every(config.checkpoint_freq), warnings)


# ----- the logger: progress.csv, TensorBoard, SB3's tables into the log -----
class _LogStream:
    """A file-like object that sends SB3's human-readable tables to the log, line by line."""

    def write(self, text: str) -> None:
        for line in text.rstrip("\n").splitlines():
            log.info("%s", line)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _logger(folder: Path, sb3_verbose: int) -> Any:
    """progress.csv (appended to on resume) + TensorBoard under tb/ (+ SB3's tables in the log)."""
    from stable_baselines3.common.logger import HumanOutputFormat, Logger

    formats: list[Any] = [_resumable_csv(folder / "progress.csv")]
    try:
        from stable_baselines3.common.logger import TensorBoardOutputFormat

        formats.append(TensorBoardOutputFormat(str(folder / "tb")))
    except ImportError:  # tensorboard is an optional extra
        log.info("tensorboard is not installed: no tb/ events (pip install tensorboard)")
    except OSError as exc:  # a full disk: TensorBoard's writer does not say which file
        exc.filename = exc.filename or str(folder / "tb")
        raise
    if sb3_verbose:
        formats.append(HumanOutputFormat(_LogStream()))  # type: ignore[arg-type]
    return Logger(str(folder), formats)


def _resumable_csv(path: Path) -> Any:
    """SB3's CSV writer, continuing an existing file (same header) instead of truncating it."""
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
def _callbacks(
    config: SB3RunConfig, env_id: str, env_kwargs: dict[str, Any] | None, folder: Path, budget: int, seed: int,
    plan: RunPlan,
) -> list[Any]:  # fmt: skip
    from stable_baselines3.common.callbacks import BaseCallback

    algo = config.algo

    class Progress(BaseCallback):
        """Training steps to rlsuite's progress display."""

        def __init__(self) -> None:
            super().__init__()
            self.every = max(1, budget // 200)
            self.last = -self.every

        def _on_training_start(self) -> None:
            self.task_cm = progress.task(f"{algo} on {env_id}", total=budget, unit="step")
            self.task = self.task_cm.__enter__()

        def _on_step(self) -> bool:
            if self.num_timesteps - self.last >= self.every:
                self.task.update(completed=min(self.num_timesteps, budget))
                self.last = self.num_timesteps
            return True

        def _on_training_end(self) -> None:
            self.task_cm.__exit__(None, None, None)

    class Checkpoints(BaseCallback):
        """``checkpoints/step_<n>/`` every ``plan.checkpoint_every`` calls (policy, optimiser, buffer)."""

        def _on_step(self) -> bool:
            if plan.checkpoint_every and self.n_calls % plan.checkpoint_every == 0:
                save_checkpoint(self.model, config, folder)
            return True

    class Evaluate(BaseCallback):
        """Greedy evaluation episodes, the exact gap on tabular envs, best model: all written atomically."""

        def __init__(self) -> None:
            super().__init__()
            self.history = EvalHistory.read(folder)

        def _on_step(self) -> bool:
            if not (plan.eval_every and self.n_calls % plan.eval_every == 0):
                return True
            report = evaluate_run(self.model, env_id, env_kwargs, config, config.n_eval_episodes,
                                  seed + EVAL_SEED_OFFSET, episode_details=True)  # fmt: skip
            self.logger.record("eval/mean_reward", report["return_mean"])
            self.logger.record("eval/mean_ep_length", report["length_mean"])
            for key in ("value_gap_start", "max_value_gap", "optimal_action_fraction"):
                if key in report.get("optimum", {}):
                    self.logger.record(f"eval/{key}", report["optimum"][key])
            self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
            self.logger.dump(self.num_timesteps)
            if self.history.add(self.num_timesteps, report):
                save_policy(self.model, config, folder / "eval" / "best_model")
            self.history.write(folder)
            return True

    out: list[Any] = [Checkpoints()]
    if config.progress_bar:
        out.append(Progress())
    if plan.eval_every:
        out.append(Evaluate())
    return out


@dataclass
class EvalHistory:
    """The evaluations of a run: ``eval/evaluations.npz`` (SB3 EvalCallback's format) and
    ``metrics.csv`` (one row per evaluation: step, return and, with an exact model, the gap)."""

    timesteps: list[int] = field(default_factory=list)
    results: list[list[float]] = field(default_factory=list)
    lengths: list[list[int]] = field(default_factory=list)
    rows: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def read(cls, folder: Path) -> EvalHistory:
        """What an earlier (resumed) part of the run wrote; empty if nothing or unreadable."""
        out = cls()
        path = folder / "eval" / "evaluations.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as data:
                    out.timesteps = [int(t) for t in data["timesteps"]]
                    out.results = [list(map(float, r)) for r in data["results"]]
                    out.lengths = [list(map(int, n)) for n in data["ep_lengths"]]
            except (OSError, ValueError, KeyError, EOFError):
                log.warning("%s is unreadable: the evaluation history starts again", path)
                return cls()
        metrics = folder / "metrics.csv"
        if metrics.is_file():
            with open(metrics, newline="") as f:
                out.rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
        return out

    @property
    def best(self) -> float:
        return max((float(np.mean(r)) for r in self.results), default=-math.inf)

    def add(self, step: int, report: dict[str, Any]) -> bool:
        """Append one evaluation; True when its mean return is the best so far."""
        best = self.best
        self.timesteps.append(int(step))
        self.results.append([float(r) for r in report["returns"]])
        self.lengths.append([int(n) for n in report["lengths"]])
        row = {"step": float(step), "return_mean": report["return_mean"], "return_std": report["return_std"]}
        row |= {k: report["optimum"][k] for k in ("value_gap_start", "max_value_gap", "optimal_action_fraction")
                if k in report.get("optimum", {})}  # fmt: skip
        self.rows.append(row)
        return report["return_mean"] > best

    def write(self, folder: Path) -> None:
        with atomic_path(folder / "eval" / "evaluations.npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, timesteps=np.asarray(self.timesteps, dtype=np.int64),
                     results=np.asarray(self.results, dtype=np.float64),
                     ep_lengths=np.asarray(self.lengths, dtype=np.int64))  # fmt: skip
        columns = list(dict.fromkeys(k for row in self.rows for k in row))
        with atomic_path(folder / "metrics.csv") as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)


def trim_history(folder: Path, steps: int) -> None:
    """Drop what a crashed part of a run logged after ``steps`` (the checkpoint a resume starts from):
    rows of ``progress.csv``, evaluations in ``eval/evaluations.npz`` and ``metrics.csv``."""
    folder = Path(folder)
    history = EvalHistory.read(folder)
    if history.timesteps or history.rows:
        keep = [i for i, t in enumerate(history.timesteps) if t <= steps]
        history.timesteps = [history.timesteps[i] for i in keep]
        history.results = [history.results[i] for i in keep]
        history.lengths = [history.lengths[i] for i in keep]
        history.rows = [row for row in history.rows if row.get("step", 0.0) <= steps]
        history.write(folder)
    path = folder / "progress.csv"
    if path.is_file():
        with open(path, newline="") as f:
            reader = csv.reader(f)
            rows = list(reader)
        if rows and "time/total_timesteps" in rows[0]:
            col = rows[0].index("time/total_timesteps")
            kept = [r for r in rows[1:] if col < len(r) and r[col] != "" and float(r[col]) <= steps]
            if len(kept) < len(rows) - 1:
                with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
                    csv.writer(f, lineterminator="\n").writerows([rows[0], *kept])


# ----- saving -----
def save_policy(model: Any, config: SB3RunConfig, folder: Path, checkpoint: bool = False) -> Path:
    """The policy (and, for a checkpoint, the optimiser and replay buffer) without pickle."""
    meta = sb3_io.policy_meta(model, config.algo, config.policy, config.policy_kwargs)
    return sb3_io.save_policy(model, folder, meta, checkpoint=checkpoint)


def save_checkpoint(model: Any, config: SB3RunConfig, folder: Path) -> Path:
    """``folder/checkpoints/step_<n>/``, atomically; older checkpoints keep no replay buffer."""
    path = save_policy(model, config, folder / "checkpoints" / f"step_{model.num_timesteps}", checkpoint=True)
    sb3_io.prune_replay_buffers(folder)
    return path


# ----- training -----
def learn(
    model: Any,
    config: SB3RunConfig,
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    folder: str | Path,
    budget: int,
    seed: int,
    resume: bool = False,
) -> int:
    """Train ``model`` up to ``budget`` env steps in all, writing the run's files into ``folder``.

    A final checkpoint is written also when training stops early (Ctrl-C), so that a resumed run
    continues from there; ``model/`` (the final policy) only when training completes.

    Args:
        model: from :func:`build_model` (and, to resume, :func:`sb3_io.restore`).
        config: the run's config.
        env_id, env_kwargs: the env (for evaluation episodes and the exact gap).
        folder: the run folder.
        budget: total env steps, counting those of earlier parts of a resumed run.
        seed: the seed of this part (evaluation episodes use ``seed + 10000``).
        resume: continue the step count, the logs and the evaluations of an earlier part.

    Returns:
        The env steps done in all.
    """
    from stable_baselines3.common.callbacks import CallbackList

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plan = plan_run(config, budget)
    model.set_logger(_logger(folder, config.sb3_verbose))
    callbacks = CallbackList(_callbacks(config, env_id, env_kwargs, folder, budget, seed, plan))
    remaining = budget - model.num_timesteps
    try:
        if remaining > 0:
            model.learn(total_timesteps=remaining, callback=callbacks, reset_num_timesteps=not resume)
    finally:  # a last checkpoint, also on Ctrl-C, so a resumed run continues from here
        if not sb3_io.is_valid(folder / "checkpoints" / f"step_{model.num_timesteps}"):
            save_checkpoint(model, config, folder)
        model.logger.close()
        model.get_env().close()
    save_policy(model, config, folder / "model")
    return int(model.num_timesteps)


# ----- evaluation -----
def evaluate_run(
    policy: Any,
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    config: SB3RunConfig,
    episodes: int,
    seed: int,
    episode_details: bool = False,
) -> dict[str, Any]:
    """Greedy episodes of ``policy`` (an SB3 model or a :class:`~rlsuite.agents.sb3_io.SavedPolicy`).

    Returns ``return_mean``, ``return_std``, ``length_mean`` and, on envs with an exact model,
    ``optimum`` (see :func:`optimality_gap`); with ``episode_details`` also the per-episode
    ``returns`` and ``lengths``.
    """
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    policy = masked_policy(policy, env_id, env_kwargs, config)
    env = Monitor(make_env(env_id, env_kwargs, config, evaluation=True))
    env.reset(seed=seed)
    returns, lengths = evaluate_policy(
        policy, env, n_eval_episodes=episodes, deterministic=True, return_episode_rewards=True
    )
    env.close()
    report: dict[str, Any] = {
        "episodes": episodes,
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "length_mean": float(np.mean(lengths)),
    }
    gap = optimality_gap(policy, env_id, env_kwargs, config, episodes, seed)
    if gap is not None:
        report["optimum"] = gap
    if episode_details:
        report["returns"], report["lengths"] = list(map(float, returns)), list(map(int, lengths))
    return report


class MaskedPolicy:
    """A MaskablePPO model or saved policy whose ``predict`` applies the env's action mask.

    The mask of each observation comes from the env's exact model (the state the observation
    stands for, then :func:`rlsuite.envs.wrappers.valid_action_table`), so the greedy policy is
    the one training used: evaluation episodes, the exact gap and videos all see it.
    """

    def __init__(self, policy: Any, observations: np.ndarray, masks: np.ndarray) -> None:
        self.inner = policy
        self.gamma = policy.gamma
        self.num_timesteps = policy.num_timesteps
        self.flat = observations.reshape(len(observations), -1)
        self.masks = masks

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, Any]:
        batch = np.asarray(observation).reshape(-1, self.flat.shape[1])
        masks = self.masks[[int(np.flatnonzero((self.flat == row).all(axis=1))[0]) for row in batch]]
        return self.inner.policy.predict(observation, state, episode_start, deterministic, action_masks=masks)


def masked_policy(policy: Any, env_id: str, env_kwargs: dict[str, Any] | None, config: SB3RunConfig) -> Any:
    """``policy`` as :class:`MaskedPolicy` for MaskablePPO with a mask; else ``policy`` itself."""
    if not isinstance(config, MaskablePPOConfig) or config.action_mask == "off" or isinstance(policy, MaskedPolicy):
        return policy
    from rlsuite.envs.wrappers import observation_table

    env = make_env(env_id, env_kwargs, config)
    try:
        masks = env.get_wrapper_attr("table")
        table = observation_table(env, len(masks))
    finally:
        env.close()
    return MaskedPolicy(policy, table, masks)


def greedy_table(policy: Any, env_id: str, env_kwargs: dict[str, Any] | None, config: SB3RunConfig) -> dict[str, Any] | None:  # noqa: E501
    """On envs with an exact model: the greedy action in every state, its exact value ``v_pi``, and
    ``v*``/``q*`` by value iteration (all with the policy's gamma); None for other envs."""
    from rlsuite.agents.tabular.dp import policy_evaluation, value_iteration
    from rlsuite.envs.model import start_distribution, tabular_model
    from rlsuite.envs.wrappers import observation_table

    env = make_env(env_id, env_kwargs, config, evaluation=True)  # optimality_gap plays the optimum in it
    try:
        tm = tabular_model(env)
        table = observation_table(env, tm.n_states)
    except (UsageError, ValueError):  # no exact model, or observations that are not state indices
        env.close()
        return None
    gamma = float(policy.gamma)
    actions, _ = masked_policy(policy, env_id, env_kwargs, config).predict(table, deterministic=True)
    actions = np.asarray(actions, dtype=int).reshape(-1)
    v_star, q_star, _ = value_iteration(tm, gamma)
    starts = start_distribution(env)
    v_pi = policy_evaluation(tm, actions, gamma)
    return {"env": env, "table": table, "gamma": gamma, "actions": actions, "v_pi": v_pi, "v_star": v_star,
            "q_star": q_star, "starts": starts}  # fmt: skip


def optimality_gap(
    policy: Any, env_id: str, env_kwargs: dict[str, Any] | None, config: SB3RunConfig, episodes: int, seed: int
) -> dict[str, Any] | None:
    """On envs with an exact model: the learned greedy policy against the optimum from value iteration.

    Compares exact discounted values (``v*`` from value iteration, ``v_pi`` of the learned greedy
    policy by exact policy evaluation, both with the agent's gamma) at the start distribution and
    over all states, and the episodic return of the optimal policy on the same seeds.
    Returns None for envs without a tabular model (the bandits, continuous envs).
    """
    from stable_baselines3.common.evaluation import evaluate_policy

    exact = greedy_table(policy, env_id, env_kwargs, config)
    if exact is None:
        return None
    env, table, actions = exact["env"], exact["table"], exact["actions"]
    v_star, q_star, v_pi, starts = exact["v_star"], exact["q_star"], exact["v_pi"], exact["starts"]
    n_states = len(v_star)
    out: dict[str, Any] = {
        "gamma": exact["gamma"],
        "max_value_gap": float(np.max(v_star - v_pi)),
        "optimal_action_fraction": float(np.mean(q_star[np.arange(n_states), actions] >= v_star - 1e-6)),
    }
    if starts is not None:
        out["v_star_start"] = float(starts @ v_star)
        out["v_pi_start"] = float(starts @ v_pi)
        out["value_gap_start"] = out["v_star_start"] - out["v_pi_start"]
    optimal_actions = q_star.argmax(axis=1)
    flat = table.reshape(n_states, -1)

    class _Optimal:  # the DP-optimal greedy policy, in evaluate_policy's predict interface
        def predict(
            self, obs: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
        ) -> Any:
            states = [int(np.flatnonzero((flat == np.asarray(o).reshape(1, -1)).all(axis=1))[0]) for o in obs]
            return optimal_actions[states], None

    env.reset(seed=seed)
    returns, _ = evaluate_policy(_Optimal(), env, n_eval_episodes=episodes, return_episode_rewards=True, warn=False)
    out["optimal_return_mean"] = float(np.mean(returns))
    env.close()
    return out


def check_video() -> None:
    """Refuse video early, with the install hint, when moviepy is missing."""
    try:
        import moviepy  # noqa: F401
    except ImportError as exc:
        raise UsageError(VIDEO_HINT) from exc


def record_video(
    policy: Any, env_id: str, env_kwargs: dict[str, Any] | None, config: SB3RunConfig, folder: Path,
    episodes: int, seed: int,
) -> Path:  # fmt: skip
    """Record ``episodes`` greedy episodes with gymnasium's RecordVideo (needs moviepy)."""
    check_video()
    from gymnasium.wrappers import RecordVideo

    policy = masked_policy(policy, env_id, env_kwargs, config)
    env = RecordVideo(make_env(env_id, env_kwargs, config, render_mode="rgb_array", evaluation=True), str(folder),
                      episode_trigger=lambda _: True, disable_logger=True)  # fmt: skip
    for episode in range(episodes):  # no reset after the last one: it would start an empty video
        obs, _ = env.reset(seed=seed if episode == 0 else None)
        done = False
        while not done:
            action, _ = policy.predict(obs, deterministic=True)
            obs, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
    env.close()
    return folder
