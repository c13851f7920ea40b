"""``rlsuite tune ALGO``: hyperparameter search with Optuna (TPE sampler, median pruner on the learning curve).

    rlsuite tune q_learning --n_trials 20 --budget 200000 --out runs/tune_q
    rlsuite tune ppo --env rlsuite/GridWorld-v0 --n_trials 30 --budget 20000 --stages 4 --out runs/tune_ppo
    rlsuite train q_learning --config runs/tune_q/best.yaml

The search space is declared beside each config's fields (``SEARCH_SPACE`` on the config class, e.g.
:class:`rlsuite.agents.tabular.td.TDConfig`, :class:`rlsuite.agents.sb3_config.PPOConfig`), or given
with ``--space FILE.yaml`` in the same format (``name: {low: a, high: b, log: true}`` or ``name:
{choices: [...]}``). ``--set KEY=VALUE`` fixes settings for every trial. Each trial is one or more
normal run folders, ``OUT/trials/<number>/seed<N>``, trained by ``rlsuite train``'s own entry point;
its objective is the mean over ``--seeds`` of the final ``--metric`` (by default the exact gap to the
optimum where the env has a model: ``value_error`` for tabular agents, ``gap_to_optimum_start`` for SB3).

Pruning: the median pruner compares each trial's learning curve with the others' at the same step.
SB3 trials train in ``--stages`` parts (``--resume`` to a growing budget) and stop after a part
whose score is worse than the median of earlier trials at that step; tabular runs take seconds and
are not cut short (their ``metrics.csv`` curve is recorded as the trial's intermediate values).

The study lives in ``--storage`` (default ``sqlite:///OUT/study.db``): processes or machines given the
same storage URL and ``--study_name`` share one study, each taking the next trials. At the end the
best trial is written as ``OUT/best.yaml`` (a flat mapping that ``rlsuite train ALGO --config`` takes)
and ``OUT/report.md`` lists the trials and the importance of each setting
(``optuna.importance.get_param_importances``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlsuite.common.config import Config, load_yaml, option
from rlsuite.common.errors import ConfigError, OutputDirError, UsageError

log = logging.getLogger(__name__)

# Final metrics a trial can optimise: name -> higher is better.
METRICS: dict[str, bool] = {
    "gap_to_optimum_start": False,  # SB3 on an env with an exact model: v*(start) - v_pi(start)
    "max_value_gap": False,  # SB3: max over states of v* - v_pi
    "return_mean": True,  # SB3: greedy evaluation return
    "value_error": False,  # tabular: max |v - v*|
    "optimal_fraction": True,  # tabular: states whose greedy action is optimal
    "average_reward": True,  # bandits
    "optimal_action": True,  # bandits
}


@dataclass
class TuneOptions(Config):
    """What ``rlsuite tune`` runs besides the algorithm: trials, budget, seeds, storage, pruning."""

    n_trials: int = option(20, help="trials this process runs (several processes may share one study)", ge=1)
    budget: int | None = option(None, help="each run's budget, in the algorithm's unit (default: its own)", ge=1)
    env: str | None = option(None, help="gymnasium env id (default: the algorithm's own)")
    env_kwargs: dict | None = option(None, help="keyword arguments of gym.make, e.g. '{r_forbidden: -10}'")
    seeds: str = option("0", help="seeds of every trial (0-2: three runs, the objective is their mean)")
    metric: str = option("auto", help=f"the final metric to optimise: auto or one of {', '.join(METRICS)}")
    out: str = option("runs/tune", help="the study's folder (trials, best.yaml, report.md)")
    storage: str | None = option(
        None, help="Optuna storage URL shared by all workers (default: sqlite:///OUT/study.db)"
    )
    study_name: str | None = option(None, help="the study's name in the storage (default: the algorithm)")
    stages: int = option(4, help="SB3: parts of each run, a pruning decision after each (1: no pruning)", ge=1)
    n_startup_trials: int = option(5, help="trials the median pruner lets finish before it prunes", ge=0)
    sampler_seed: int | None = option(None, help="seed of the TPE sampler (give one for a repeatable search)", ge=0)
    timeout: float | None = option(None, help="stop starting trials after this many seconds", gt=0)
    space: str | None = option(None, help="YAML file of the search space (default: the config's SEARCH_SPACE)")


# ----- the search space -----
def family_module(algo: str) -> Any:
    """The ``rlsuite train`` family module that trains ``algo``; an unknown one is a one-line error."""
    from rlsuite.app.train import _suggest, families

    for module in families().values():
        if algo in module.ALGOS:
            return module
    raise UsageError(f"unknown algorithm {algo!r}{_suggest(algo)}; `rlsuite algos` lists them")


def config_type(algo: str) -> tuple[str, type]:
    """The family (``sb3`` or ``tabular``) and the real config class of ``algo``."""
    module = family_module(algo)
    if module.__name__.endswith("train_sb3"):
        return "sb3", module.config_class(algo)
    if module.__name__.endswith("train_tabular"):
        return "tabular", module.agent_class(algo).config_cls
    raise UsageError(f"rlsuite tune: {algo!r} is neither a tabular nor an SB3 algorithm")


def search_space(cls: type, space: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """``space`` (or the class's ``SEARCH_SPACE``) checked against the class's fields: one line naming
    the key for an unknown field or a malformed entry."""
    space = dict(cls.SEARCH_SPACE if space is None else space)  # type: ignore[attr-defined]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if not space:
        raise ConfigError(f"{cls.__name__} declares no SEARCH_SPACE: give one with --space FILE.yaml", "space")
    for name, entry in space.items():
        if name not in fields:
            raise ConfigError(f"search space: {name!r} is not a setting of {cls.__name__}", name)
        ok = isinstance(entry, dict) and (
            (set(entry) == {"choices"} and isinstance(entry["choices"], list) and entry["choices"])
            or ({"low", "high"} <= set(entry) <= {"low", "high", "log", "step"} and entry["low"] < entry["high"])
        )
        if not ok:
            raise ConfigError(f"search space: {name}: expected {{low: a, high: b[, log: true]}} with a < b or "
                              f"{{choices: [...]}}, got {entry!r}", name)  # fmt: skip
    return space


def _is_int(cls: type, name: str, entry: Mapping[str, Any]) -> bool:
    hints = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    return hints[name].startswith("int") and all(isinstance(entry[k], int) for k in ("low", "high"))


def suggest(trial: Any, cls: type, space: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """One value per setting of the space, from the trial (TPE)."""
    values: dict[str, Any] = {}
    for name, entry in space.items():
        if "choices" in entry:
            values[name] = trial.suggest_categorical(name, entry["choices"])
        elif _is_int(cls, name, entry):
            values[name] = trial.suggest_int(name, entry["low"], entry["high"], step=entry.get("step", 1),
                                             log=bool(entry.get("log", False)))  # fmt: skip
        else:
            values[name] = trial.suggest_float(name, float(entry["low"]), float(entry["high"]),
                                               log=bool(entry.get("log", False)))  # fmt: skip
    return values


def as_set(values: Mapping[str, Any]) -> list[str]:
    """Settings as ``train --set`` items (lists and mappings in YAML's flow syntax)."""
    return [f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in values.items()]


# ----- the objective -----
def default_metric(family: str, algo: str, env: str | None) -> str:
    """The exact gap where the env has a model (SB3: ``gap_to_optimum_start``; tabular: ``value_error``),
    else the return (SB3) or the average reward (bandits)."""
    if family == "tabular":
        from rlsuite.app.train_tabular import agent_class

        return "average_reward" if agent_class(algo).env_kind == "vector" else "value_error"
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401  (registers the ids)
    from rlsuite.envs.model import tabular_model

    env_id = env or "rlsuite/GridWorld-v0"
    made = gym.make(env_id)
    try:
        tabular_model(made)
        return "gap_to_optimum_start"
    except (UsageError, ValueError):
        return "return_mean"
    finally:
        made.close()


def final_value(run: Path, metric: str) -> float:
    """The metric in a finished run's ``finished.json`` (SB3's exact gap sits under ``optimum``)."""
    final = json.loads((run / "finished.json").read_text()).get("final") or {}
    flat = {**final, **(final.get("optimum") or {})}
    if not isinstance(flat.get(metric), int | float):
        raise UsageError(f"{run}/finished.json has no {metric!r} (has: {', '.join(sorted(flat))}); choose --metric")
    return float(flat[metric])


def curve(run: Path, metric: str) -> list[tuple[int, float]]:
    """``(step, value)`` rows of the run's ``metrics.csv`` that hold the metric."""
    import csv

    path = run / "metrics.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    step_key = "step" if rows and "step" in rows[0] else "steps"
    return [(int(float(r[step_key])), float(r[metric])) for r in rows if r.get(metric) not in (None, "")]


@dataclass
class Study:
    """How every trial of one study trains and is scored."""

    algo: str
    family: str
    cls: type
    space: dict[str, dict[str, Any]]
    fixed: list[str]
    opts: TuneOptions
    seeds: list[int]
    metric: str
    budget: int | None

    def base_argv(self, seed: int, path: Path, values: Mapping[str, Any]) -> list[str]:
        argv = ["train", self.algo, "--seed", str(seed), "--out", str(path), "--overwrite"]
        if self.opts.env:
            argv += ["--env", self.opts.env]
        if self.opts.env_kwargs:
            argv += ["--env_kwargs", json.dumps(self.opts.env_kwargs)]
        quiet = ["progress_bar=false", "torch_threads=1"] if self.family == "sb3" else []
        return [*argv, "--set", *quiet, *self.fixed, *as_set(values)]

    def objective(self, trial: Any) -> float:
        import optuna

        from rlsuite.app.sweep import train_cell

        values = suggest(trial, self.cls, self.space)
        folder = Path(self.opts.out) / "trials" / f"{trial.number:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        scores = []
        for i, seed in enumerate(self.seeds):
            run = folder / f"seed{seed}"
            argv = self.base_argv(seed, run, values)
            staged = self.family == "sb3" and self.opts.stages > 1 and i == 0 and self.budget is not None
            budgets = ([self.budget * k // self.opts.stages for k in range(1, self.opts.stages + 1)] if staged
                       else [self.budget])  # fmt: skip
            for k, budget in enumerate(budgets):
                step_argv = argv if k == 0 else ["train", self.algo, "--resume", "--out", str(run)]
                if budget is not None:
                    step_argv = [*step_argv, "--budget", str(budget)]
                code, last = train_cell(step_argv, str(folder / f"seed{seed}.log"))
                if code != 0:
                    raise RuntimeError(f"trial {trial.number}: {' '.join(step_argv)} failed: {last}")
                if staged:
                    trial.report(final_value(run, self.metric), budget)
                    if trial.should_prune():
                        raise optuna.TrialPruned(f"pruned after {budget} steps")
            if i == 0 and not staged:
                for step, value in curve(run, self.metric):
                    trial.report(value, step)
            scores.append(final_value(run, self.metric))
        trial.set_user_attr("settings", dict(values))
        return float(sum(scores) / len(scores))

    def config_class(self) -> type:
        """The class ``train``'s parser builds for the algorithm's settings."""
        return family_module(self.algo).config_class(self.algo)


def load_space(opts: TuneOptions, cls: type) -> dict[str, dict[str, Any]]:
    return search_space(cls, load_yaml(opts.space) if opts.space else None)


def prepare(algo: str, fixed: Sequence[str], opts: TuneOptions) -> Study:
    """Everything checked before the first trial: the algorithm, its space, the fixed settings (by
    ``train``'s own parser), the seeds and the metric."""
    from rlsuite.app.args import parse
    from rlsuite.app.cli import build_parser
    from rlsuite.app.sweep import parse_seeds

    family, cls = config_type(algo)
    space = load_space(opts, cls)
    seeds = parse_seeds(opts.seeds)
    metric = default_metric(family, algo, opts.env) if opts.metric == "auto" else opts.metric
    if metric not in METRICS:
        raise ConfigError(f"--metric {metric}: expected auto or one of {', '.join(METRICS)}", "metric", metric)
    for key in (item.partition("=")[0] for item in fixed):
        if key in space:
            raise ConfigError(f"--set {key}: {key} is searched; leave it out of --set or of the space", key)
    study = Study(algo, family, cls, space, list(fixed), opts, seeds, metric, opts.budget)
    # train's parser checks the fixed settings and one point of the space (the first choice / low end)
    corner = {k: e["choices"][0] if "choices" in e else e["low"] for k, e in space.items()}
    try:
        parsed = parse(build_parser("train"), study.base_argv(seeds[0], Path(opts.out) / "check", corner))
    except UsageError as exc:
        raise ConfigError(f"rlsuite tune {algo}: {' '.join(str(exc).split())}") from exc
    if family == "sb3" and study.budget is None:
        from rlsuite.agents.sb3_config import SB3RunConfig

        study.budget = parsed.get(SB3RunConfig).n_timesteps
    return study


def open_study(study: Study) -> Any:
    """The Optuna study in the storage (created, or joined when another process made it)."""
    out = Path(study.opts.out)
    out.mkdir(parents=True, exist_ok=True)
    url = study.opts.storage or f"sqlite:///{(out / 'study.db').resolve()}"
    name = study.opts.study_name or study.algo
    with _schema_lock(url):  # two processes creating one new SQLite file race on its tables: one at a time
        opened = _create_or_join(study, url, name)
    return opened


@contextlib.contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """An exclusive lock beside a local SQLite study file while a process creates or joins the study (Optuna
    creates the tables of a new file without one: two processes starting together fail with "table ...
    already exists"). Other storages need none."""
    import fcntl

    if not url.startswith("sqlite:///"):
        yield
        return
    lock = Path(url.removeprefix("sqlite:///") + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _create_or_join(study: Study, url: str, name: str) -> Any:
    import optuna

    if url.startswith("sqlite"):  # several processes on one file: wait for its lock rather than fail
        storage: Any = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 120}})
    else:
        storage = url
    direction = "maximize" if METRICS[study.metric] else "minimize"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=study.opts.n_startup_trials)
    opened = optuna.create_study(study_name=name, storage=storage, pruner=pruner, direction=direction,
                                 load_if_exists=True)  # fmt: skip
    seed = study.opts.sampler_seed
    # a process joining a study draws other random start points than the one that began it
    opened.sampler = optuna.samplers.TPESampler(seed=None if seed is None else seed + len(opened.trials))
    described = {"algo": study.algo, "metric": study.metric, "env": study.opts.env, "budget": study.budget,
                 "space": study.space, "fixed": study.fixed, "seeds": study.seeds}  # fmt: skip
    before = opened.user_attrs.get("described")
    if before is None:
        opened.set_user_attr("described", described)
    elif before != json.loads(json.dumps(described)):
        raise OutputDirError(
            f"study {name!r} in {url} is another search ({before}); give another --study_name or --out"
        )
    return opened


def best_config(study: Study, opened: Any) -> dict[str, Any]:
    """The best trial's settings with the fixed ones: a flat mapping for ``rlsuite train --config``."""
    from rlsuite.app.args import parse
    from rlsuite.app.cli import build_parser

    parsed = parse(build_parser("train"), study.base_argv(study.seeds[0], Path(study.opts.out), opened.best_params))
    config = parsed.get(study.config_class())
    names = {f.name for f in dataclasses.fields(config)}
    keys = [item.partition("=")[0] for item in study.fixed] + list(opened.best_params)
    values = {k: getattr(config, k) for k in dict.fromkeys(keys) if k in names}
    if study.family == "sb3" and study.budget is not None:
        values.setdefault("n_timesteps", study.budget)
    return values


def write_outputs(study: Study, opened: Any) -> dict[str, Any]:
    """``best.yaml`` and ``report.md`` (trials, best, importances); returns what they say."""
    import optuna
    import yaml

    from rlsuite.common.io import atomic_path

    out = Path(study.opts.out)
    complete = opened.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    summary: dict[str, Any] = {"trials": len(opened.trials), "complete": len(complete), "metric": study.metric}
    if not complete:
        return summary
    best = best_config(study, opened)
    header = (f"# best of {len(complete)} trials of `rlsuite tune {study.algo}`: {study.metric} "
              f"{opened.best_value:.6g}\n# rlsuite train {study.algo} --config {out / 'best.yaml'}\n")  # fmt: skip
    with atomic_path(out / "best.yaml") as tmp:
        tmp.write_text(header + yaml.safe_dump(best, sort_keys=False))
    try:
        importances = {k: float(v) for k, v in optuna.importance.get_param_importances(opened).items()}
        note = "optuna.importance.get_param_importances (Optuna's default evaluator)"
    except (RuntimeError, ValueError) as exc:  # too few trials, or no spread in the values
        importances, note = {}, f"not available ({exc})"
    summary |= {"best_value": float(opened.best_value), "best_trial": opened.best_trial.number, "best": best,
                "importances": importances}  # fmt: skip
    lines = [f"# rlsuite tune {study.algo}", "",
             f"{len(opened.trials)} trials ({len(complete)} complete, "
             f"{sum(t.state == optuna.trial.TrialState.PRUNED for t in opened.trials)} pruned); objective: "
             f"{'maximise' if METRICS[study.metric] else 'minimise'} the final {study.metric}, mean over seeds "
             f"{', '.join(map(str, study.seeds))}; TPE sampler, median pruner.", "",
             f"Best: trial {opened.best_trial.number}, {study.metric} {opened.best_value:.6g}: "
             f"`rlsuite train {study.algo} --config {out / 'best.yaml'}`", "",
             "## Importance of each setting", "", f"Method: {note}.", "", "| setting | importance |", "|---|---|",
             *[f"| {k} | {v:.3f} |" for k, v in importances.items()], "",
             "## Trials", "", "| trial | state | value | " + " | ".join(study.space) + " |",
             "|---|---|---|" + "---|" * len(study.space)]  # fmt: skip
    for t in opened.trials:
        value = "" if t.value is None or not math.isfinite(t.value) else f"{t.value:.6g}"
        cells = [_shown(t.params.get(k, "")) for k in study.space]
        lines.append(f"| {t.number} | {t.state.name.lower()} | {value} | " + " | ".join(cells) + " |")
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    with atomic_path(out / "results.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _shown(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def run_tune(algo: str, fixed: Sequence[str], opts: TuneOptions) -> dict[str, Any]:
    """Check, open (or join) the study, run this process's trials, write best.yaml and report.md."""
    study = prepare(algo, fixed, opts)
    opened = open_study(study)
    opened.optimize(study.objective, n_trials=opts.n_trials, timeout=opts.timeout, catch=(RuntimeError,))
    return write_outputs(study, opened)


# ----- the command -----
def add_subcommands(subparsers: Any) -> None:
    from rlsuite.app.args import ConfigParser

    parser: ConfigParser = subparsers.add_parser(
        "tune", help="hyperparameter search with Optuna (TPE, median pruning); best.yaml and report.md",
        description=__doc__.split("\n\n")[0], dataclass_types=[TuneOptions],
    )  # fmt: skip
    parser.add_argument("algo", metavar="ALGO", help="an algorithm of `rlsuite train` (`rlsuite algos`)")
    parser.add_argument("--set", metavar="KEY=VALUE", nargs="+", action="extend", default=[],
                        help="a setting fixed for every trial (train's names)")  # fmt: skip
    parser.set_defaults(func=_run)


def _run(ns: argparse.Namespace) -> int:
    names = [f.name for f in dataclasses.fields(TuneOptions)]
    opts = TuneOptions(**{k: getattr(ns, k) for k in names if hasattr(ns, k)})
    summary = run_tune(ns.algo, ns.set or [], opts)
    out = Path(opts.out)
    if "best_value" not in summary:
        print(f"tune {ns.algo}: {summary['trials']} trials, none complete; see {out / 'trials'}")
        return 1
    print(
        f"tune {ns.algo}: {summary['complete']} of {summary['trials']} trials complete; best {summary['metric']} "
        f"{summary['best_value']:.6g} (trial {summary['best_trial']}); {out / 'best.yaml'}, {out / 'report.md'}"
    )
    return 0


__all__ = ["METRICS", "TuneOptions", "run_tune", "search_space", "suggest"]
