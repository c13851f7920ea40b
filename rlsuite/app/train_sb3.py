"""The stable-baselines3 family of ``rlsuite train`` / ``rlsuite eval`` (contract in ``rlsuite/app/options.py``).

``rlsuite train ppo|a2c|dqn --env ID`` takes every field of :class:`~rlsuite.agents.sb3_config.PPOConfig`
(``A2CConfig``, ``DQNConfig``) as a flag. Defaults come in layers: the config class (SB3's own
defaults), then RL Zoo's file keyed by env id (``rlsuite/app/configs/<algo>.yml``, or ``--config
FILE`` in the same format or as a flat mapping), then ``--set key=value`` and the flags. An env id
the file does not list trains on the class defaults (one log line says so).

A run folder (``--out``, default ``runs/<env>__<algo>__<seed>__<time>/``) is written through
:class:`~rlsuite.common.io.OutputDir` (lock, no silent overwrite, ``finished.json`` last) and
holds ``config.json`` (family ``sb3``, the typed config), ``log.txt``, ``progress.csv``, ``tb/``,
``metrics.csv`` and ``eval/evaluations.npz``, ``eval/best_model/``, ``checkpoints/step_<n>/``,
``model/`` (``policy.safetensors`` + ``policy.json``: no pickle anywhere), ``policy_values.npz``
on envs with an exact model, ``videos/`` when asked, and ``eval.json`` after ``rlsuite eval``.
``--resume --out RUN`` continues from the newest valid checkpoint (skipping, and naming, any a
crash left incomplete) up to ``--budget``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlsuite.agents.sb3_config import ALGOS, CONFIGS, PPOBaseConfig, SB3RunConfig
from rlsuite.app.evalreport import from_sb3
from rlsuite.app.options import EvalOptions, TrainOptions
from rlsuite.common.config import config_error, from_dict, load_yaml
from rlsuite.common.errors import ConfigError, ModelFolderError, UsageError
from rlsuite.common.io import OutputDir, run_name, unique_path, write_json

__all__ = [
    "ALGOS", "config_class", "config_defaults", "evaluate", "help_defaults", "main", "options_class", "result_line",
    "tour_section", "train",
]  # fmt: skip

if TYPE_CHECKING:
    from rlsuite.app.args import Parsed

log = logging.getLogger(__name__)

DEFAULT_ENV = "rlsuite/GridWorld-v0"
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
FORMAT = 2  # config.json: 1 was the untyped {"hyperparams", "run"} layout of rlsuite 0.x
# RL Zoo keys that rlsuite train does not run.
ZOO_UNSUPPORTED = ("normalize", "normalize_kwargs", "frame_stack", "callback", "vec_env_wrapper", "monitor_kwargs")
COMMAND_LINE_ONLY = ("trust_env_wrapper",)


# ----- the family contract -----
def config_class(algo: str) -> type[SB3RunConfig]:
    """The config dataclass of ``algo`` (its fields are the flags of ``rlsuite train ALGO``)."""
    if algo not in CONFIGS:
        raise UsageError(f"unknown stable-baselines3 algorithm {algo!r} (known: {', '.join(CONFIGS)})")
    return CONFIGS[algo]


def help_defaults(algo: str) -> dict[str, str]:
    """The defaults ``--help`` shows: the class's, and beside them the package file's for the default
    env where it differs (``0.99; 0.9 on rlsuite/GridWorld-v0 from ppo.yml``), which a plain run uses."""
    from rlsuite.app.args import shown

    cls = config_class(algo)
    entry = load_yaml(CONFIG_DIR / f"{algo}.yml").get(DEFAULT_ENV, {})
    where = f"on {DEFAULT_ENV} from {algo}.yml"
    own = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    texts = {
        key: f"{shown(own[key])}; {shown(value)} {where}" if own[key] is not None else f"{shown(value)} {where}"
        for key, value in entry.items()
        if key in own and value != own[key]
    }
    steps = entry.get("n_timesteps", own["n_timesteps"])
    texts["budget"] = f"{steps:,} env steps (n_timesteps)" + (f" {where}" if "n_timesteps" in entry else "")
    texts["env"] = DEFAULT_ENV
    return texts


def options_class(algo: str) -> type[TrainOptions]:
    """The run options of ``rlsuite train ALGO``: the shared ones (``--device`` places the model)."""
    return TrainOptions


def config_defaults(algo: str, ns: Any) -> list[tuple[Mapping[str, Any], str]]:
    """The default layer for ``rlsuite train ALGO``: RL Zoo's entry for ``ns.env``.

    From ``--config FILE`` when given (keyed by env id like RL Zoo's files, with a ``default``
    entry for other ids, or a flat mapping of settings), else from the package's
    ``configs/<algo>.yml``. An id the package file does not list gets no layer: the config
    class's defaults (SB3's) apply, and one log line says so. RL Zoo's ``train_freq: [n, unit]``
    becomes ``train_freq`` + ``train_freq_unit``; ``env_kwargs`` is the default of ``--env_kwargs``.
    When the command line changes ``n_envs`` but not ``n_steps`` (PPO), the entry's ``n_steps``
    is scaled to keep its env steps per update.
    """
    cls = config_class(algo)
    env_id = getattr(ns, "env", None) or DEFAULT_ENV
    given = getattr(ns, "config", None)
    path = Path(given) if given else CONFIG_DIR / f"{algo}.yml"
    shown = str(path) if given else f"rlsuite/app/configs/{algo}.yml"
    table = load_yaml(path)
    names = {f.name for f in dataclasses.fields(cls)} | {"env_kwargs"}
    if given and table and all(key in names or key in ZOO_UNSUPPORTED for key in table):
        entry, where = table, shown  # a flat mapping of settings
    elif env_id in table:
        entry, where = table[env_id], f"{shown} [{env_id}]"
    elif "default" in table:
        entry, where = table["default"], f"{shown} [default]"
    elif given:
        has = ", ".join(map(str, table))
        raise ConfigError(f"{shown}: no entry for {env_id!r} and no 'default' entry (has: {has})")
    else:
        log.info("%s has no entry for %s: training with %s's defaults (SB3's own)", shown, env_id, cls.__name__)
        return []
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping of hyperparameters, got {type(entry).__name__}")
    entry = dict(entry)
    for key in entry:
        if key in ZOO_UNSUPPORTED:
            raise ConfigError(f"{where}: {key!r} is an RL Zoo feature rlsuite train does not run (use rl_zoo3)", key)
        if key in COMMAND_LINE_ONLY:
            raise ConfigError(f"{where}: {key} can only be given on the command line, not in a file", key)
    if isinstance(entry.get("train_freq"), list):
        pair = entry.pop("train_freq")
        if len(pair) != 2:
            raise ConfigError(f"{where}: train_freq: expected n or [n, step|episode], got {pair!r}", "train_freq")
        entry["train_freq"], entry["train_freq_unit"] = pair
    _scale_n_steps(cls, entry, ns, where)
    return [(entry, where)]


def _scale_n_steps(cls: type[SB3RunConfig], entry: dict[str, Any], ns: Any, where: str) -> None:
    if not issubclass(cls, PPOBaseConfig) or "n_steps" not in entry or getattr(ns, "n_steps", None) is not None:
        return
    n_envs, file_envs = getattr(ns, "n_envs", 1), entry.get("n_envs", 1)
    if not isinstance(n_envs, int) or n_envs < 1 or n_envs in (1, file_envs):
        return  # n_envs not changed on the command line (1 is the default, so it cannot tell), or invalid
    if not isinstance(entry["n_steps"], int) or not isinstance(file_envs, int):
        return
    wanted = entry["n_steps"] * file_envs
    scaled = max(cls.MIN_N_STEPS, wanted // n_envs)
    floor = f" (at least {cls.MIN_N_STEPS} per env)" if scaled * n_envs > wanted else ""
    log.info("n_envs %d (%s has %d): n_steps %d -> %d%s, so %d env steps per update (%d x %d; the file's %d x %d = %d)",
             n_envs, where, file_envs, entry["n_steps"], scaled, floor, scaled * n_envs, n_envs, scaled, file_envs,
             entry["n_steps"], wanted)  # fmt: skip
    entry["n_steps"] = scaled


def main(algo: str, parsed: Parsed) -> int:
    """``rlsuite train ALGO``: the config and run options the parser built, handed to :func:`train`."""
    train(algo, parsed.get(config_class(algo)), parsed.get(TrainOptions))
    return 0


def train(algo: str, config: SB3RunConfig, opts: TrainOptions) -> Path:
    """Train, write the run folder, print the result line; return the folder.

    Every check a user can fail (config, env id and kwargs, wrappers, the output folder, the
    algorithm against the env's spaces, video) runs before anything is written.
    """
    from rlsuite.app.console import result

    out, line = _train(algo, config, opts)
    result(line)  # the line names the run folder
    return out


def _train(algo: str, config: SB3RunConfig, opts: TrainOptions) -> tuple[Path, str]:
    """:func:`train` without the printing: the run folder and its result line."""
    if opts.resume:
        return _resume(algo, config, opts)
    from rlsuite.agents import sb3

    env_id = opts.env or DEFAULT_ENV
    budget = opts.budget or config.n_timesteps
    config = config.replace(n_timesteps=budget)
    out = Path(opts.out) if opts.out else unique_path(Path("runs") / run_name(env_id, algo, opts.seed))
    outdir = OutputDir(out, overwrite=opts.overwrite)
    outdir.check()
    if config.video:
        sb3.check_video()
    device = _prepare(config, opts.device)
    _check_env(env_id, opts.env_kwargs, config)
    from rlsuite.common.seeding import seed_everything

    seed_everything(opts.seed)
    venv = sb3.make_train_env(env_id, opts.env_kwargs, config, opts.seed)
    try:
        model = sb3.build_model(config, venv, opts.seed, device)
    except BaseException:
        venv.close()
        raise
    meta = _meta(algo, env_id, opts.env_kwargs, opts.seed, device, budget, config)
    with outdir:
        _log_to(out)
        write_json(out / "config.json", meta)
        steps = sb3.learn(model, config, env_id, opts.env_kwargs, out, budget, opts.seed)
        report = _finish(outdir, model, env_id, opts.env_kwargs, config, opts.seed, steps)
    return out, result_line(algo, env_id, steps, report, out)


def _resume(algo: str, config: SB3RunConfig, opts: TrainOptions) -> tuple[Path, str]:
    """``--resume --out RUN``: the run's own config (from ``config.json``) up to ``--budget``."""
    from rlsuite.agents import sb3, sb3_io
    from rlsuite.envs.checks import env_id_from_file

    if not opts.out:
        raise UsageError("--resume: name the run folder to continue with --out RUN")
    run_dir = Path(opts.out)
    meta = read_run(run_dir)
    env_id_from_file(meta["env_id"], str(run_dir / "config.json"), opts.trust_env_module)  # before any import
    if meta["algo"] != algo:
        raise UsageError(f"--resume {run_dir}: the run trained {meta['algo']!r}, not {algo!r}")
    if opts.env and opts.env != meta["env_id"]:
        raise UsageError(f"--resume {run_dir}: the run's env is {meta['env_id']!r}, not {opts.env!r}")
    saved = run_config(run_dir, meta, trusted=config.trust_env_wrapper)
    outdir = OutputDir(run_dir, resume=True)
    outdir.check()
    point, skipped = sb3_io.newest_checkpoint(run_dir)
    if point is None:
        raise ModelFolderError(f"--resume {run_dir}: no valid checkpoint in {run_dir / 'checkpoints'} (stopped before "
                               "its first save?); start again with --overwrite")
    steps, folder = point
    budget = opts.budget or saved.n_timesteps
    if budget <= steps and not outdir.finished:  # killed after its last save: finish it (final policy, eval, marker)
        log.info("%s: the run reached step %d but did not finish; finishing it", run_dir, steps)
        budget = steps
    elif budget <= steps:
        raise UsageError(
            f"--budget {budget}: the run in {run_dir} is already at step {steps}; give a larger --budget to continue it"
        )
    saved = saved.replace(n_timesteps=budget)
    if saved.video:
        sb3.check_video()
    device = _prepare(saved, opts.device)
    env_id, env_kwargs = meta["env_id"], meta.get("env_kwargs")
    _check_env(env_id, env_kwargs, saved)
    seed = int(meta["seed"]) + steps  # fresh episodes, not a replay of the first ones
    from rlsuite.common.seeding import seed_everything

    seed_everything(seed)
    venv = sb3.make_train_env(env_id, env_kwargs, saved, seed)
    model = sb3.build_model(saved, venv, seed, device)
    with outdir:
        _log_to(run_dir)
        sb3_io.restore(model, folder)
        skipped_note = f" (skipped, incomplete: {', '.join(p.name for p in skipped)})" if skipped else ""
        log.info("resuming %s from %s (step %d) to step %d%s", run_dir, folder.name, steps, budget, skipped_note)
        sb3.trim_history(run_dir, steps)
        outdir.unfinish()
        write_json(run_dir / "config.json", _meta(algo, env_id, env_kwargs, int(meta["seed"]), device, budget, saved))
        done = sb3.learn(model, saved, env_id, env_kwargs, run_dir, budget, seed, resume=True)
        report = _finish(outdir, model, env_id, env_kwargs, saved, seed, done)
    return run_dir, result_line(algo, env_id, done, report, run_dir)


def evaluate(run_dir: str | Path, meta: Mapping[str, Any] | None, opts: EvalOptions) -> dict[str, Any]:
    """``rlsuite eval RUN``: the greedy policy's return and, on envs with an exact model, its gap.

    Loads ``model/`` (or, for an interrupted run, the newest valid checkpoint) by rebuilding the
    policy; a pickle-based SB3 ``model.zip`` only with ``opts.trust_pickle``. Everything is
    checked before anything is loaded or written; ``eval.json`` is written atomically at the end.
    """
    from rlsuite.agents import sb3, sb3_io

    run_dir = Path(run_dir)
    meta = dict(meta) if meta is not None else read_run(run_dir)
    config = run_config(run_dir, meta, trusted=opts.trust_pickle)
    if opts.video:
        sb3.check_video()
    source = _model_source(run_dir, opts.trust_pickle)
    outdir = OutputDir(run_dir, resume=True)
    outdir.check()
    device = _prepare(config, opts.device)
    env_id, env_kwargs = meta["env_id"], meta.get("env_kwargs")
    _check_env(env_id, env_kwargs, config)
    with outdir:
        if source.suffix == ".zip":
            policy = sb3_io.load_pickled_zip(source, meta["algo"], device, trust_pickle=opts.trust_pickle)
        else:
            policy = sb3_io.load_policy(source, device)
        report: dict[str, Any] = {"run_dir": str(run_dir), "algo": meta["algo"], "env_id": env_id,
                                  "model": str(source.relative_to(run_dir)),
                                  "timesteps": int(policy.num_timesteps)}  # fmt: skip
        report |= from_sb3(sb3.evaluate_run(policy, env_id, env_kwargs, config, opts.episodes, opts.seed))
        if opts.video:
            report["videos"] = str(sb3.record_video(policy, env_id, env_kwargs, config, run_dir / "videos",
                                                    config.video_episodes, opts.seed))  # fmt: skip
        write_json(run_dir / "eval.json", report)
    return report


def result_line(algo: str, env_id: str, steps: int, report: Mapping[str, Any], out: Path | None = None) -> str:
    """One line (in :mod:`rlsuite.app.evalreport`'s keys): the greedy return and, on envs with an exact
    model, the exact gap to the optimum; the run folder once, at the end."""
    se = report.get("return_se")
    line = (f"{algo} on {env_id}, {steps} env steps: greedy return {report['return_mean']:.3f}"
            + (f" +- {se:.3f} (SE, {report['episodes']} episodes)" if se is not None else " (1 episode)"))  # fmt: skip
    if "optimal_return_mean" in report:
        line += f", optimal policy {report['optimal_return_mean']:.3f}"
        if "v_star_start" in report:
            line += (f"; exact v_pi(start) {report['v_pi_start']:.3f} vs v* {report['v_star_start']:.3f}, "
                     f"gap {report['gap_to_optimum_start']:.3f}")  # fmt: skip
        line += f"; optimal actions in {report['optimal_action_fraction']:.0%} of states"
    return line + (f"; run folder {out}" if out is not None else "")


# ----- run folders -----
def _meta(
    algo: str, env_id: str, env_kwargs: dict[str, Any] | None, seed: int, device: Any, budget: int, config: SB3RunConfig
) -> dict[str, Any]:
    return {"family": "sb3", "format": FORMAT, "algo": algo, "env_id": env_id, "env_kwargs": env_kwargs,
            "seed": seed, "device": str(device), "budget": budget, "config_class": type(config).__name__,
            "config": config.to_dict()}  # fmt: skip


def read_run(run_dir: Path) -> dict[str, Any]:
    """A run folder's ``config.json``, checked to be an SB3 run's; ``UsageError`` naming the file."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ModelFolderError(f"{run_dir}: not a run folder (no config.json)")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFolderError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("family") != "sb3":
        family = meta.get("family") if isinstance(meta, dict) else None
        raise ModelFolderError(f"{path}: not a stable-baselines3 run (family {family!r})")
    for key in ("algo", "env_id", "seed"):
        if key not in meta:
            raise ModelFolderError(f"{path}: no {key!r}")
    kinds: dict[str, Any] = {"algo": str, "env_id": str, "seed": int, "hyperparams": dict, "run": dict,
                             "config": dict, "env_kwargs": dict | None}  # fmt: skip
    for key, kind in kinds.items():
        if key in meta and (isinstance(meta[key], bool) or not isinstance(meta[key], kind)):
            raise ModelFolderError(f"{path}: {key!r} is {type(meta[key]).__name__} {meta[key]!r:.60}, not what a "
                                   "run records (the file was edited or damaged)")  # fmt: skip
    if meta["seed"] < 0:
        raise ModelFolderError(f"{path}: 'seed' is negative ({meta['seed']})")
    if meta["algo"] not in CONFIGS:
        raise ModelFolderError(f"{path}: unknown algorithm {meta['algo']!r} (known: {', '.join(CONFIGS)})")
    if "hyperparams" in meta:  # format 1: RL Zoo keys and run settings as two untyped mappings
        meta["env_kwargs"] = meta["hyperparams"].get("env_kwargs")
        if not isinstance(meta["env_kwargs"], dict | None):
            raise ModelFolderError(f"{path}: 'hyperparams.env_kwargs' is not a mapping")
    return meta


def run_config(run_dir: Path, meta: Mapping[str, Any], trusted: bool) -> SB3RunConfig:
    """The typed config a run folder's ``config.json`` holds (format 1 converted).

    ``trusted`` (the reader's own flag, never the file's) decides whether the run's env_wrapper
    may import classes outside rlsuite and gymnasium.
    """
    cls = CONFIGS[meta["algo"]]
    where = str(Path(run_dir) / "config.json")
    if "hyperparams" in meta:
        values = {k: v for k, v in meta["hyperparams"].items() if k != "env_kwargs"}
        run = dict(meta.get("run") or {})
        run["sb3_verbose"] = run.pop("verbose", 0)
        values |= run
        if isinstance(values.get("train_freq"), list):
            values["train_freq"], values["train_freq_unit"] = values["train_freq"]
    else:
        values = dict(meta.get("config") or {})
    values["trust_env_wrapper"] = trusted
    if not isinstance(values.get("n_timesteps"), int):
        raise ModelFolderError(f"{where}: no n_timesteps")
    return from_dict(cls, values, where)


def _model_source(run_dir: Path, trust_pickle: bool) -> Path:
    """``model/`` when valid, else the newest valid checkpoint, else a pickle-based ``model.zip``
    (refused here, before anything is read, without ``trust_pickle``)."""
    from rlsuite.agents import sb3_io

    if sb3_io.is_valid(run_dir / "model"):
        return run_dir / "model"
    if (run_dir / "model").exists():
        log.warning("%s is incomplete or corrupt: trying the newest checkpoint", run_dir / "model")
    point, _ = sb3_io.newest_checkpoint(run_dir)
    if point is not None:
        return point[1]
    zips = [run_dir / "model.zip", *sorted((run_dir / "checkpoints").glob("model_*_steps.zip"))]
    found = next((p for p in zips if p.is_file()), None)
    if found is not None:
        if not trust_pickle:
            from rlsuite.common.errors import UnsafeLoadError

            raise UnsafeLoadError(f"{found}: {sb3_io.PICKLE_HINT}")
        return found
    raise ModelFolderError(f"{run_dir}: no model/ and no valid checkpoint to evaluate")


def _prepare(config: SB3RunConfig, device: str) -> Any:
    """The torch device, and torch's thread count chosen deliberately (1 per process by default).

    ``auto`` takes the GPU for a ``CnnPolicy`` only: SB3's MLP policies train faster on the CPU (SB3 warns
    so itself, DLR-RM/stable-baselines3#1245); docs/gpu.md has the rule.
    """
    from rlsuite.common.device import select_device, set_torch_threads

    dev = select_device(device, gpu_pays=config.policy == "CnnPolicy")
    threads = set_torch_threads(config.torch_threads)
    log.debug("torch threads: %d", threads)
    return dev


def _check_env(env_id: str, env_kwargs: dict[str, Any] | None, config: SB3RunConfig) -> None:
    """Build one env (and its wrappers) once, so a bad id, kwargs or wrapper is one line naming it."""
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401  (registers the ids)
    from rlsuite.agents import sb3

    given = f" with --env_kwargs {env_kwargs}" if env_kwargs else ""
    try:
        env = gym.make(env_id, **dict(env_kwargs or {}))
    except (gym.error.Error, TypeError, ValueError) as exc:
        raise UsageError(f"--env {env_id}{given}: {' '.join(str(exc).split())}") from exc
    from rlsuite.envs.wrappers import NoActionMask

    wrap = sb3.wrapper_fn(config)
    try:
        if wrap is not None:
            env = wrap(env)
    except NoActionMask as exc:  # MaskablePPO's mask, added after the env_wrapper classes
        raise config_error(config, "action_mask", str(exc)) from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"env_wrapper: {' '.join(str(exc).split())}", "env_wrapper") from exc
    finally:
        env.close()


def _log_to(folder: Path) -> None:
    from rlsuite.app import console

    console.log_to(folder)


def _finish(
    outdir: OutputDir, model: Any, env_id: str, env_kwargs: dict[str, Any] | None,
    config: SB3RunConfig, seed: int, steps: int,
) -> dict[str, Any]:  # fmt: skip
    """The final evaluation, the exact tables for the plots, video; then the finished marker."""
    import numpy as np

    from rlsuite.agents import sb3
    from rlsuite.common.io import atomic_path

    out = outdir.path
    report = from_sb3(sb3.evaluate_run(model, env_id, env_kwargs, config, config.n_eval_episodes,
                                       seed + sb3.EVAL_SEED_OFFSET))  # in rlsuite eval's keys
    exact = sb3.greedy_table(model, env_id, env_kwargs, config)
    if exact is not None:
        exact["env"].close()
        with atomic_path(out / "policy_values.npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, actions=exact["actions"], v_pi=exact["v_pi"], v_star=exact["v_star"])
    if config.video:
        sb3.record_video(model, env_id, env_kwargs, config, out / "videos", config.video_episodes, seed)
    outdir.finish({"steps": steps, "final": report})
    return report


# ----- the tour -----
def tour_section(out: Path, quick: bool) -> dict[str, Any]:
    """PPO and DQN (stable-baselines3) on the book's grid world: the learned greedy policy against v*.

    Trains both through :func:`train` (run folders under ``out/sb3_runs``), evaluates them with
    :func:`evaluate`, and draws each learned policy with its exact value (``sb3_<algo>_gridworld.png``)
    and both evaluation curves (``sb3_gridworld_eval.png``).
    """
    import numpy as np

    from rlsuite.agents.sb3 import make_env
    from rlsuite.common.plotting import plot_curves
    from rlsuite.envs.plotting import plot_grid

    env_id, budget = "rlsuite/GridWorld-v0", 20_000 if quick else 40_000
    numbers: dict[str, Any] = {"env": env_id, "budget": budget}
    curves: dict[str, Any] = {}
    steps: Any = None
    for algo in ("ppo", "dqn"):
        layers = config_defaults(algo, _Namespace(env=env_id))
        settings = {**layers[0][0], "eval_freq": 2000, "n_eval_episodes": 5, "checkpoint_freq": 0,
                    "progress_bar": False, "torch_threads": 1}  # fmt: skip
        config = from_dict(config_class(algo), settings, layers[0][1])
        run_dir = out / "sb3_runs" / algo
        _train(algo, config, TrainOptions(env=env_id, seed=0, device="cpu", budget=budget, out=str(run_dir),
                                          overwrite=True))  # fmt: skip
        report = evaluate(run_dir, None, EvalOptions(episodes=5, seed=0, device="cpu"))
        with np.load(run_dir / "policy_values.npz") as data:
            greedy, v_pi, v_star = data["actions"], data["v_pi"], data["v_star"]
        env = make_env(env_id, None, config)
        worse = np.flatnonzero(v_pi < v_star - 1e-6)
        plot_grid(env, values=v_pi, policy=greedy, path=out / f"sb3_{algo}_gridworld.png",
                  title=f"SB3 {algo.upper()}, {budget} env steps, seed 0, gamma 0.9:\ngreedy policy and its exact "
                        f"v_pi ({len(worse)} of {len(v_pi)} states below v*)",
                  marked=worse, marked_label="v_pi(s) < v*(s): not optimal from here")  # fmt: skip
        env.close()
        with np.load(run_dir / "eval" / "evaluations.npz") as data:
            steps, curves[algo.upper()] = data["timesteps"], data["results"].mean(axis=1)
        numbers[algo] = {"return_mean": report["return_mean"]} | {
            key: round(report[key], 4)
            for key in ("v_star_start", "v_pi_start", "optimal_action_fraction", "optimal_return_mean")
        }
    optimum = numbers["ppo"]["optimal_return_mean"]
    plot_curves(curves, out / "sb3_gridworld_eval.png", xlabel="env steps",
                ylabel="greedy return\n(reward, 100-step episodes)",
                title=f"SB3 PPO and DQN on Zhao's grid world (gamma 0.9, seed 0, {budget} steps)\n"
                      "greedy evaluation, mean of 5 episodes", x=steps,
                references={"optimal policy (exact DP)": optimum})  # fmt: skip
    numbers["figures"] = ["sb3_ppo_gridworld.png", "sb3_dqn_gridworld.png", "sb3_gridworld_eval.png"]
    return numbers


@dataclasses.dataclass
class _Namespace:
    env: str | None = None
    config: str | None = None
    n_envs: int = 1
    n_steps: int | None = None
