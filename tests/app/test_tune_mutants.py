"""rlsuite.app.tune exactly and fast: TuneOptions' defaults and bounds, the family and config class of an algorithm,
the search space (declared, given, every malformed entry refused with its exact message), integer or float
suggestions (the real trial's distributions), ``--set`` items, the default metric of every family and env, the final
value and the learning curve of real run folders, ``train``'s argv of a trial, ``prepare``'s checks (exact messages),
the study in its SQLite storage (created, joined, refused when another search; its lock file; the sampler's seed),
the best config, best.yaml / report.md / results.json written byte for byte, the objective of tabular and SB3
trials (the mean over seeds, the learning curve or the staged budgets reported, pruning, a failing run), run_tune's
trials and timeout, and ``rlsuite tune`` through the CLI (its help, result line, exit codes and one-line errors)."""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from recording import close_new_log_handlers
from sqlalchemy import event
from sqlalchemy.engine import Engine

from rlsuite.agents.sb3_config import A2CConfig
from rlsuite.agents.tabular import ALGORITHMS
from rlsuite.agents.tabular.td import QLearningConfig, TDConfig
from rlsuite.app import train_sb3, train_tabular
from rlsuite.app.cli import build_parser, main
from rlsuite.app.tune import (
    METRICS,
    Study,
    TuneOptions,
    _create_or_join,
    _is_int,
    _schema_lock,
    _shown,
    as_set,
    best_config,
    config_type,
    curve,
    default_metric,
    family_module,
    final_value,
    load_space,
    open_study,
    prepare,
    run_tune,
    search_space,
    suggest,
    write_outputs,
)
from rlsuite.common import progress
from rlsuite.common.errors import ConfigError, OutputDirError, UsageError

BUDGET = 2560  # q_learning env steps: 10 batched steps of 256 envs, well under a second a run
A2C_SET = ["n_envs=1", "n_steps=8", "eval_freq=8", "n_eval_episodes=1"]  # an update and an evaluation per 8 steps
LR_SPACE = "learning_rate: {low: 0.0001, high: 0.003, log: true}\n"
Q_SPACE = TDConfig.SEARCH_SPACE
LISTS = "`rlsuite algos` lists them"
NO_DB_MODULE = r"^Failed to import DB access module for the specified storage URL\. Please install appropriate one\.$"
MALFORMED = "expected {low: a, high: b[, log: true]} with a < b or {choices: [...]}, got"


def _drop_handlers(before: list[logging.Handler]) -> None:
    """Undo what in-process ``rlsuite`` runs leave behind: their root log handlers and progress reporter."""
    close_new_log_handlers(before)
    progress.set_reporter(None)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Each test in its own folder (a default ``--out runs/tune`` lands there) with the log handlers undone."""
    monkeypatch.chdir(tmp_path)
    before = list(logging.getLogger().handlers)
    yield
    _drop_handlers(before)


def _train(*argv: str) -> None:
    before = list(logging.getLogger().handlers)
    try:
        assert main(list(argv)) == 0
    finally:
        _drop_handlers(before)


@pytest.fixture(scope="module")
def q_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Two real q_learning run folders (seeds 0 and 1) whose metrics.csv has a row per batched step."""
    root = tmp_path_factory.mktemp("q_runs")
    runs = {seed: root / f"seed{seed}" for seed in (0, 1)}
    for seed, run in runs.items():
        _train("train", "q_learning", "--seed", str(seed), "--out", str(run), "--budget", str(BUDGET),
               "--set", "log_every=1")  # fmt: skip
    return runs


def _final(run: Path) -> dict[str, Any]:
    final: dict[str, Any] = json.loads((run / "finished.json").read_text())["final"]
    return final


def _csv_column(path: Path, step_key: str, name: str) -> list[tuple[int, float]]:
    """The column read with plain string splitting (not csv.DictReader, as the module does)."""
    header, *rows = path.read_text().splitlines()
    keys = header.split(",")
    return [(int(float(r.split(",")[keys.index(step_key)])), float(r.split(",")[keys.index(name)])) for r in rows]


def _q_study(out: Path, **kwargs: Any) -> Study:
    opts = TuneOptions(out=str(out), **kwargs)
    return Study("q_learning", "tabular", QLearningConfig, dict(Q_SPACE), [], opts, [0], "value_error", BUDGET)


def _described(study: Study) -> dict[str, Any]:
    return {"algo": study.algo, "metric": study.metric, "env": study.opts.env, "budget": study.budget,
            "space": study.space, "fixed": study.fixed, "seeds": study.seeds}  # fmt: skip


# ----- options -----
def test_tune_options_defaults() -> None:
    assert dataclasses.asdict(TuneOptions()) == {
        "n_trials": 20, "budget": None, "env": None, "env_kwargs": None, "seeds": "0", "metric": "auto",
        "out": "runs/tune", "storage": None, "study_name": None, "stages": 4, "n_startup_trials": 5,
        "sampler_seed": None, "timeout": None, "space": None}  # fmt: skip
    assert list(METRICS) == ["gap_to_optimum_start", "max_value_gap", "return_mean", "value_error",
                             "optimal_fraction", "average_reward", "optimal_action"]  # fmt: skip
    assert [k for k, higher in METRICS.items() if higher] == ["return_mean", "optimal_fraction", "average_reward",
                                                              "optimal_action"]  # fmt: skip
    # every bound at its edge is allowed
    TuneOptions(n_trials=1, budget=1, stages=1, n_startup_trials=0, sampler_seed=0, timeout=1e-9)


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [("n_trials", 0, ">= 1"), ("budget", 0, ">= 1"), ("stages", 0, ">= 1"), ("n_startup_trials", -1, ">= 0"),
     ("sampler_seed", -1, ">= 0"), ("timeout", 0.0, "> 0")],
)  # fmt: skip
def test_tune_options_bounds(field: str, value: Any, allowed: str) -> None:
    with pytest.raises(ConfigError) as err:
        TuneOptions(**{field: value})
    assert str(err.value) == f"TuneOptions.{field}: {value!r} is out of range (allowed: {allowed})"


# ----- the algorithm -----
def test_family_module_and_config_type() -> None:
    assert family_module("q_learning") is train_tabular
    assert family_module("epsilon_greedy") is train_tabular
    assert family_module("a2c") is train_sb3
    assert config_type("q_learning") == ("tabular", QLearningConfig)
    assert config_type("value_iteration") == ("tabular", ALGORITHMS["value_iteration"].config_cls)
    assert config_type("a2c") == ("sb3", A2CConfig)
    for call in (family_module, config_type):
        with pytest.raises(UsageError) as err:
            call("q_learnin")
        assert str(err.value) == f"unknown algorithm 'q_learnin' (did you mean 'q_learning'?); {LISTS}"
    with pytest.raises(UsageError) as err:
        family_module("zzzz")
    assert str(err.value) == f"unknown algorithm 'zzzz'; {LISTS}"


# ----- the search space -----
def test_search_space_declared_or_given() -> None:
    declared = search_space(QLearningConfig)
    assert declared == {"alpha": {"low": 0.02, "high": 0.5, "log": True}, "epsilon": {"low": 0.05, "high": 0.5},
                        "episode_length": {"choices": [5, 10, 20, 50]}}  # fmt: skip
    assert declared is not QLearningConfig.SEARCH_SPACE  # a copy
    given = {
        "gamma": {"choices": [0.5]},
        "alpha": {"low": 0.1, "high": 0.2},
        "epsilon": {"low": 0.1, "high": 0.2, "log": True},
        "num_envs": {"low": 4, "high": 16, "step": 4},
        "log_every": {"low": 1, "high": 8, "log": True, "step": 1},
        "episode_length": {"choices": ["a", "b"]},
    }
    assert search_space(QLearningConfig, given) == given
    assert search_space(QLearningConfig, given) is not given


@pytest.mark.parametrize(
    "entry",
    [[0.1, 0.2], {"low": 0.2, "high": 0.1}, {"low": 0.3, "high": 0.3}, {"low": 0.1}, {"high": 0.2},
     {"low": 0.1, "high": 0.2, "lo": 1}, {"choices": []}, {"choices": (0.1, 0.2)}, {"choices": "ab"},
     {"choices": [0.1], "low": 0.0, "high": 1.0}, {}, "0.1-0.2"],
)  # fmt: skip
def test_malformed_search_space_entries(entry: Any) -> None:
    with pytest.raises(ConfigError) as err:
        search_space(QLearningConfig, {"gamma": {"choices": [0.9]}, "alpha": entry})
    assert str(err.value) == f"search space: alpha: {MALFORMED} {entry!r}"
    assert err.value.field == "alpha"


def test_search_space_of_unknown_fields_or_none() -> None:
    with pytest.raises(ConfigError) as err:
        search_space(QLearningConfig, {"gamma": {"choices": [0.9]}, "alpah": {"low": 0.1, "high": 0.2}})
    assert str(err.value) == "search space: 'alpah' is not a setting of QLearningConfig" and err.value.field == "alpah"
    vi = ALGORITHMS["value_iteration"].config_cls
    for cls, space in ((vi, None), (QLearningConfig, {})):
        with pytest.raises(ConfigError) as err:
            search_space(cls, space)
        assert str(err.value) == f"{cls.__name__} declares no SEARCH_SPACE: give one with --space FILE.yaml"
        assert err.value.field == "space" and err.value.value is None


def test_is_int() -> None:
    assert _is_int(QLearningConfig, "episode_length", {"low": 1, "high": 5}) is True
    assert _is_int(QLearningConfig, "episode_length", {"low": 1.0, "high": 5}) is False
    assert _is_int(QLearningConfig, "episode_length", {"low": 1, "high": 5.0}) is False
    assert _is_int(QLearningConfig, "alpha", {"low": 1, "high": 2}) is False  # a float setting
    assert _is_int(A2CConfig, "n_steps", {"low": 5, "high": 32}) is True


def test_suggest_draws_each_kind_from_a_real_trial() -> None:
    space = {
        "alpha": {"low": 0.02, "high": 0.5, "log": True},
        "epsilon": {"low": 0, "high": 1},  # int ends of a float setting: a float
        "episode_length": {"low": 4, "high": 20, "step": 4},
        "num_envs": {"low": 1, "high": 64, "log": True},
        "log_every": {"low": 1, "high": 9},
        "gamma": {"choices": [0.5, 0.9]},
    }
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    values = suggest(trial, QLearningConfig, space)
    assert trial.distributions == {
        "alpha": FloatDistribution(0.02, 0.5, log=True),
        "epsilon": FloatDistribution(0.0, 1.0),
        "episode_length": IntDistribution(4, 20, step=4),
        "num_envs": IntDistribution(1, 64, log=True),
        "log_every": IntDistribution(1, 9),
        "gamma": CategoricalDistribution([0.5, 0.9]),
    }
    assert values == trial.params and list(values) == list(space)
    assert [type(values[k]) for k in space] == [float, float, int, int, int, float]
    fixed = optuna.trial.FixedTrial({"alpha": 0.1, "epsilon": 0.5, "episode_length": 8, "num_envs": 3,
                                     "log_every": 2, "gamma": 0.9})  # fmt: skip
    assert suggest(fixed, QLearningConfig, space) == {"alpha": 0.1, "epsilon": 0.5, "episode_length": 8,
                                                      "num_envs": 3, "log_every": 2, "gamma": 0.9}  # fmt: skip


def test_as_set_and_shown() -> None:
    values = {"a": "x y", "b": True, "c": None, "d": {"k": [1, 2.5]}, "e": 3, "f": 0.1, "g": [1, "u"]}
    assert as_set(values) == ["a=x y", "b=true", "c=null", 'd={"k": [1, 2.5]}', "e=3", "f=0.1", 'g=[1, "u"]']
    assert as_set({}) == []
    assert [_shown(v) for v in (0.123456, 1234567.0, 2.0, 5, "x", True, None)] == [
        "0.1235", "1.235e+06", "2", "5", "x", "True", "None"]  # fmt: skip


def test_load_space_from_file_or_config(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text("alpha: {low: 0.1, high: 0.3}\nepisode_length: {choices: [5, 2]}\n")
    assert load_space(TuneOptions(space=str(path)), QLearningConfig) == {
        "alpha": {"low": 0.1, "high": 0.3}, "episode_length": {"choices": [5, 2]}}  # fmt: skip
    assert load_space(TuneOptions(), QLearningConfig) == Q_SPACE
    with pytest.raises(ConfigError) as err:
        load_space(TuneOptions(space=str(tmp_path / "none.yaml")), QLearningConfig)
    assert str(err.value) == f"{tmp_path / 'none.yaml'}: config file not found"


# ----- the objective's parts -----
@pytest.mark.parametrize(
    ("family", "algo", "env", "metric"),
    [("tabular", "q_learning", None, "value_error"), ("tabular", "q_learning", "CartPole-v1", "value_error"),
     ("tabular", "epsilon_greedy", None, "average_reward"), ("sb3", "a2c", None, "gap_to_optimum_start"),
     ("sb3", "a2c", "rlsuite/GridWorld-v0", "gap_to_optimum_start"), ("sb3", "a2c", "CartPole-v1", "return_mean")],
)  # fmt: skip
def test_default_metric(family: str, algo: str, env: str | None, metric: str) -> None:
    assert default_metric(family, algo, env) == metric


def test_final_value_of_real_runs(q_runs: dict[int, Path]) -> None:
    run = q_runs[0]
    final = _final(run)
    assert final_value(run, "value_error") == final["value_error"]
    assert final_value(run, "optimal_fraction") == final["optimal_fraction"]
    assert type(final_value(run, "steps")) is float and final_value(run, "steps") == BUDGET
    with pytest.raises(UsageError) as err:
        final_value(run, "return_mean")
    assert str(err.value) == (f"{run}/finished.json has no 'return_mean' (has: greedy_optimal, optimal_fraction, "
                              "steps, value_error); choose --metric")  # fmt: skip


def test_final_value_under_optimum_or_missing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "finished.json").write_text(json.dumps({"final": {"return_mean": 1.5, "note": "x", "optimum": {
        "gap_to_optimum_start": 0.25, "max_value_gap": 2}}}))  # fmt: skip
    assert final_value(run, "return_mean") == 1.5
    assert final_value(run, "gap_to_optimum_start") == 0.25
    assert final_value(run, "max_value_gap") == 2.0 and type(final_value(run, "max_value_gap")) is float
    with pytest.raises(UsageError) as err:
        final_value(run, "note")  # not a number
    assert str(err.value) == (f"{run}/finished.json has no 'note' (has: gap_to_optimum_start, max_value_gap, note, "
                              "optimum, return_mean); choose --metric")  # fmt: skip
    for text in ('{"final": null}', "{}", '{"final": {"optimum": null}}'):
        (run / "finished.json").write_text(text)
        with pytest.raises(UsageError) as err:
            final_value(run, "value_error")
        has = "optimum" if "optimum" in text else ""
        assert str(err.value) == f"{run}/finished.json has no 'value_error' (has: {has}); choose --metric"


def test_curve_of_a_real_run(q_runs: dict[int, Path]) -> None:
    run = q_runs[0]
    rows = curve(run, "value_error")
    assert [step for step, _ in rows] == [256 * k for k in range(1, 11)]
    assert rows == _csv_column(run / "metrics.csv", "steps", "value_error")
    assert rows[-1][1] == _final(run)["value_error"]
    assert curve(run, "optimal_fraction") == _csv_column(run / "metrics.csv", "steps", "optimal_fraction")
    assert curve(run, "return_mean") == []  # no such column
    assert curve(run.parent / "absent", "value_error") == []


def test_curve_skips_empty_cells_and_reads_a_step_column(tmp_path: Path) -> None:
    (tmp_path / "metrics.csv").write_text("step,a,b\n8.0,0.5,\n16,,0.25\n24,1.5\n32,2.5,3.5\n")
    assert curve(tmp_path, "a") == [(8, 0.5), (24, 1.5), (32, 2.5)]
    assert curve(tmp_path, "b") == [(16, 0.25), (32, 3.5)]
    (tmp_path / "metrics.csv").write_text("steps,a\n")
    assert curve(tmp_path, "a") == []


def test_base_argv(tmp_path: Path) -> None:
    tabular = _q_study(tmp_path)
    tabular.fixed = ["gamma=0.5"]
    assert tabular.base_argv(3, Path("o/r"), {"alpha": 0.25, "episode_length": 5}) == [
        "train", "q_learning", "--seed", "3", "--out", "o/r", "--overwrite", "--set", "gamma=0.5", "alpha=0.25",
        "episode_length=5"]  # fmt: skip
    opts = TuneOptions(env="CartPole-v1", env_kwargs={"max_episode_steps": 50})
    sb3 = Study("a2c", "sb3", A2CConfig, {}, ["n_envs=1"], opts, [0], "return_mean", 64)
    assert sb3.base_argv(0, Path("p"), {"learning_rate": 0.001}) == [
        "train", "a2c", "--seed", "0", "--out", "p", "--overwrite", "--env", "CartPole-v1", "--env_kwargs",
        '{"max_episode_steps": 50}', "--set", "progress_bar=false", "torch_threads=1", "n_envs=1",
        "learning_rate=0.001"]  # fmt: skip
    assert sb3.config_class() is A2CConfig and tabular.config_class() is QLearningConfig


# ----- prepare -----
def test_prepare_a_tabular_study(tmp_path: Path) -> None:
    bandit_space = tmp_path / "space.yaml"
    bandit_space.write_text("epsilon: {low: 0.01, high: 0.2}\n")
    opts = TuneOptions(out=str(tmp_path / "o"), budget=BUDGET, seeds="2-3,0")
    study = prepare("q_learning", ("gamma=0.5", "backend=numpy"), opts)
    assert study == Study("q_learning", "tabular", QLearningConfig, dict(Q_SPACE), ["gamma=0.5", "backend=numpy"],
                          opts, [2, 3, 0], "value_error", BUDGET)  # fmt: skip
    assert type(study.fixed) is list and study.opts is opts
    assert not (tmp_path / "o").exists()  # nothing written yet
    chosen = prepare("q_learning", [], TuneOptions(metric="optimal_fraction"))
    assert chosen.metric == "optimal_fraction" and chosen.budget is None and chosen.seeds == [0]
    assert prepare("epsilon_greedy", [], TuneOptions(space=str(bandit_space))).metric == "average_reward"


def test_prepare_checks_one_corner_of_the_space(tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("episode_length: {choices: [5, 2]}\n")  # n_step_sarsa's n (3) must be below it: 5 is fine
    study = prepare("n_step_sarsa", [], TuneOptions(space=str(space)))
    assert study.space == {"episode_length": {"choices": [5, 2]}}
    space.write_text("episode_length: {choices: [2, 5]}\n")
    with pytest.raises(ConfigError) as err:
        prepare("n_step_sarsa", [], TuneOptions(space=str(space)))
    assert str(err.value) == "rlsuite tune n_step_sarsa: NStepSarsaConfig.n: 3 must be below episode_length (2)"
    space.write_text("episode_length: {low: 2, high: 8}\nalpha: {low: 0.1, high: 0.2}\n")
    with pytest.raises(ConfigError) as err:
        prepare("n_step_sarsa", [], TuneOptions(space=str(space)))
    assert str(err.value) == "rlsuite tune n_step_sarsa: NStepSarsaConfig.n: 3 must be below episode_length (2)"
    space.write_text("episode_length: {low: 4, high: 8}\n")
    assert prepare("n_step_sarsa", [], TuneOptions(space=str(space))).space == {"episode_length": {"low": 4, "high": 8}}


def test_prepare_an_sb3_study(tmp_path: Path) -> None:
    study = prepare("a2c", ["n_envs=1"], TuneOptions())
    assert (study.family, study.cls, study.metric, study.budget) == ("sb3", A2CConfig, "gap_to_optimum_start", 50000)
    assert prepare("a2c", [], TuneOptions(budget=512)).budget == 512
    cartpole = prepare("a2c", [], TuneOptions(env="CartPole-v1"))
    assert (cartpole.metric, cartpole.budget) == ("return_mean", 100000)


@pytest.mark.parametrize(
    ("fixed", "opts", "message", "field"),
    [([], {"metric": "bogus"}, "--metric bogus: expected auto or one of gap_to_optimum_start, max_value_gap, "
      "return_mean, value_error, optimal_fraction, average_reward, optimal_action", "metric"),
     (["gamma=0.5", "alpha=0.3"], {}, "--set alpha: alpha is searched; leave it out of --set or of the space", "alpha"),
     (["alpha=0.3=x"], {}, "--set alpha: alpha is searched; leave it out of --set or of the space", "alpha"),
     (["episode_length=5"], {}, "--set episode_length: episode_length is searched; leave it out of --set or of the "
      "space", "episode_length"),
     (["gamma=2"], {}, "rlsuite tune q_learning: --set gamma=2: QLearningConfig.gamma: 2.0 is out of range "
      "(allowed: [0, 1])", None),
     ([], {"seeds": "x"}, "--seeds x: 'x' is not a seed or a range a-b of seeds", "seeds")],
)  # fmt: skip
def test_prepare_refusals(fixed: list[str], opts: dict[str, Any], message: str, field: str | None) -> None:
    with pytest.raises(ConfigError) as err:
        prepare("q_learning", fixed, TuneOptions(**opts))
    assert str(err.value) == message and err.value.field == field
    if field == "metric":
        assert err.value.value == "bogus"


# ----- the storage -----
@pytest.fixture
def connects() -> Iterator[list[dict[str, Any]]]:
    """The keyword arguments of every SQLite connection SQLAlchemy opens meanwhile."""
    seen: list[dict[str, Any]] = []

    def record(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        seen.append(dict(cparams))

    event.listen(Engine, "do_connect", record)
    yield seen
    event.remove(Engine, "do_connect", record)


def test_open_study_creates_then_joins(tmp_path: Path, connects: list[dict[str, Any]]) -> None:
    out = tmp_path / "a" / "b"
    study = _q_study(out, n_startup_trials=3, sampler_seed=7)
    optuna.logging.set_verbosity(optuna.logging.INFO)
    opened = open_study(study)
    assert optuna.logging.get_verbosity() == optuna.logging.WARNING
    assert sorted(os.listdir(out)) == ["study.db", "study.db.lock"]
    assert connects and all(c.get("timeout") == 120 for c in connects)
    storage = f"sqlite:///{out / 'study.db'}"
    assert optuna.get_all_study_names(storage) == ["q_learning"] and opened.study_name == "q_learning"
    assert opened.direction == optuna.study.StudyDirection.MINIMIZE
    assert isinstance(opened.pruner, optuna.pruners.MedianPruner) and opened.pruner._n_startup_trials == 3
    assert opened.user_attrs == {"described": json.loads(json.dumps(_described(study)))}
    x = {"x": FloatDistribution(0.0, 1.0)}
    first = opened.ask(x).params["x"]
    assert first == optuna.create_study(sampler=optuna.samplers.TPESampler(seed=7)).ask(x).params["x"]
    opened.add_trial(create_trial(params={"x": 0.5}, distributions=x, value=1.0))
    # a second process joins: the same study, and its sampler starts at seed + trials so far
    joined = open_study(_q_study(out, n_startup_trials=3, sampler_seed=7))
    assert [t.number for t in joined.trials] == [0, 1] and joined.user_attrs == opened.user_attrs
    assert joined.ask(x).params["x"] == optuna.create_study(sampler=optuna.samplers.TPESampler(seed=9)).ask(x).params[
        "x"]  # fmt: skip
    # another search in the same storage and name is refused
    other = _q_study(out)
    other.fixed = ["gamma=0.5"]
    with pytest.raises(OutputDirError) as err:
        open_study(other)
    before = json.loads(json.dumps(_described(study)))
    assert str(err.value) == (f"study 'q_learning' in sqlite:///{out.resolve() / 'study.db'} is another search "
                              f"({before}); give another --study_name or --out")  # fmt: skip
    assert len(optuna.load_study(study_name="q_learning", storage=storage).trials) == 3


def test_open_study_in_a_given_storage_and_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    study = _q_study(tmp_path / "out", storage=url, study_name="mine")
    study.metric = "optimal_fraction"
    opened = open_study(study)
    assert sorted(os.listdir(tmp_path)) == ["out", "shared.db", "shared.db.lock"]
    assert os.listdir(tmp_path / "out") == []
    assert optuna.get_all_study_names(url) == ["mine"] and opened.study_name == "mine"
    assert opened.direction == optuna.study.StudyDirection.MAXIMIZE
    assert isinstance(opened.pruner, optuna.pruners.MedianPruner) and opened.pruner._n_startup_trials == 5
    assert opened.user_attrs["described"]["metric"] == "optimal_fraction"


def test_a_storage_that_is_not_sqlite_is_passed_to_optuna_as_a_url(tmp_path: Path) -> None:
    with pytest.raises(ImportError, match=NO_DB_MODULE):
        _create_or_join(_q_study(tmp_path), "mysql://user@127.0.0.1:1/db", "x")
    with pytest.raises(ImportError, match=NO_DB_MODULE):
        open_study(_q_study(tmp_path / "o", storage="mysql://user@127.0.0.1:1/db"))
    assert os.listdir(tmp_path / "o") == []  # no lock file beside a database that is not a local file


def test_schema_lock_holds_a_lock_file_beside_the_database(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = tmp_path / "s.db"
        with _schema_lock(f"sqlite:///{db}"):
            lock = tmp_path / "s.db.lock"
            assert os.listdir(tmp_path) == ["s.db.lock"] and lock.stat().st_mode & 0o777 == 0o644
            fd = os.open(lock, os.O_RDWR)
            try:
                with pytest.raises(BlockingIOError):
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another holder: refused
            finally:
                os.close(fd)
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released at the end
        finally:
            os.close(fd)
        with _schema_lock(f"sqlite:///{db}"):  # the lock file exists already
            assert os.listdir(tmp_path) == ["s.db.lock"]
        with _schema_lock("mysql://user@localhost/db"), _schema_lock("sqlite://"):
            pass
        assert os.listdir(tmp_path) == ["s.db.lock"]
    finally:
        os.umask(old)


# ----- the outputs -----
def _study_with(trials: list[optuna.trial.FrozenTrial], direction: str) -> optuna.Study:
    opened = optuna.create_study(direction=direction)
    for t in trials:
        opened.add_trial(t)
    return opened


def test_best_config_of_an_sb3_study(tmp_path: Path) -> None:
    space = {"learning_rate": {"low": 1e-4, "high": 3e-3, "log": True}, "n_steps": {"choices": [5, 8, 16, 32]}}
    fixed = ["n_envs=2", "policy_kwargs={net_arch: [8], features_extractor_kwargs: {note: a=b}}", "eval_freq=0",
             "progress_bar=true"]  # fmt: skip
    study = Study("a2c", "sb3", A2CConfig, space, fixed, TuneOptions(out=str(tmp_path)), [0], "return_mean", 512)
    dists = {"learning_rate": FloatDistribution(1e-4, 3e-3, log=True),
             "n_steps": CategoricalDistribution([5, 8, 16, 32])}  # fmt: skip
    opened = _study_with([create_trial(params={"learning_rate": 0.001, "n_steps": 16}, distributions=dists, value=2.0),
                          create_trial(params={"learning_rate": 0.002, "n_steps": 8}, distributions=dists, value=1.0)],
                         "maximize")  # fmt: skip
    best = best_config(study, opened)
    assert best == {
        "n_envs": 2,
        "policy_kwargs": {"net_arch": [8], "features_extractor_kwargs": {"note": "a=b"}},
        "eval_freq": 0,
        "progress_bar": True,
        "learning_rate": 0.001,
        "n_steps": 16,
        "n_timesteps": 512,
    }
    assert list(best) == ["n_envs", "policy_kwargs", "eval_freq", "progress_bar", "learning_rate", "n_steps",
                          "n_timesteps"]  # fmt: skip
    study.fixed = ["n_timesteps=300"]
    assert best_config(study, opened) == {"n_timesteps": 300, "learning_rate": 0.001, "n_steps": 16}
    study.budget = None
    study.fixed = []
    assert best_config(study, opened) == {"learning_rate": 0.001, "n_steps": 16}


def test_write_outputs_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "out"
    space = {"alpha": {"low": 0.01, "high": 0.5}}
    study = Study("q_learning", "tabular", QLearningConfig, space, ["gamma=0.5", "backend=numpy"],
                  TuneOptions(out=str(out)), [0, 1], "optimal_fraction", BUDGET)  # fmt: skip
    d = {"alpha": FloatDistribution(0.01, 0.5)}
    opened = _study_with([
        create_trial(params={"alpha": 0.25}, distributions=d, value=0.5),
        create_trial(params={"alpha": 0.123456}, distributions=d, value=0.7512345678),
        create_trial(params={"alpha": 0.0625}, distributions=d, value=float("-inf")),
        create_trial(params={"alpha": 0.3}, distributions=d, state=TrialState.PRUNED, intermediate_values={1: 0.1}),
        create_trial(state=TrialState.FAIL),
    ], "maximize")  # fmt: skip
    summary = write_outputs(study, opened)
    expected = {"trials": 5, "complete": 3, "metric": "optimal_fraction", "best_value": 0.7512345678, "best_trial": 1,
                "best": {"gamma": 0.5, "alpha": 0.123456}, "importances": {"alpha": 1.0}}  # fmt: skip
    assert summary == expected and list(summary) == list(expected)
    assert sorted(os.listdir(out)) == ["best.yaml", "report.md", "results.json"]
    assert (out / "results.json").read_text() == json.dumps(expected, indent=2) + "\n"
    assert (out / "best.yaml").read_text() == (
        "# best of 3 trials of `rlsuite tune q_learning`: optimal_fraction 0.751235\n"
        f"# rlsuite train q_learning --config {out}/best.yaml\n"
        "gamma: 0.5\nalpha: 0.123456\n"
    )
    assert (out / "report.md").read_text() == (
        "# rlsuite tune q_learning\n\n"
        "5 trials (3 complete, 1 pruned); objective: maximise the final optimal_fraction, mean over seeds 0, 1; "
        "TPE sampler, median pruner.\n\n"
        f"Best: trial 1, optimal_fraction 0.751235: `rlsuite train q_learning --config {out}/best.yaml`\n\n"
        "## Importance of each setting\n\n"
        "Method: optuna.importance.get_param_importances (Optuna's default evaluator).\n\n"
        "| setting | importance |\n|---|---|\n| alpha | 1.000 |\n\n"
        "## Trials\n\n"
        "| trial | state | value | alpha |\n|---|---|---|---|\n"
        "| 0 | complete | 0.5 | 0.25 |\n"
        "| 1 | complete | 0.751235 | 0.1235 |\n"
        "| 2 | complete |  | 0.0625 |\n"
        "| 3 | pruned |  | 0.3 |\n"
        "| 4 | fail |  |  |\n"
    )


@pytest.mark.filterwarnings("ignore:The number of trials is too small:UserWarning")
def test_write_outputs_of_a_minimised_study_with_two_settings(tmp_path: Path) -> None:
    out = tmp_path / "out"
    space = {"alpha": {"low": 0.01, "high": 0.5}, "episode_length": {"choices": [5, 10]}}
    study = Study("q_learning", "tabular", QLearningConfig, space, [], TuneOptions(out=str(out)), [3],
                  "value_error", BUDGET)  # fmt: skip
    d = {"alpha": FloatDistribution(0.01, 0.5), "episode_length": CategoricalDistribution([5, 10])}
    opened = _study_with([create_trial(params={"alpha": 0.5, "episode_length": 10}, distributions=d, value=2.5)],
                         "minimize")  # fmt: skip
    opened.ask()  # a running trial
    summary = write_outputs(study, opened)
    assert summary == {
        "trials": 2,
        "complete": 1,
        "metric": "value_error",
        "best_value": 2.5,
        "best_trial": 0,
        "best": {"alpha": 0.5, "episode_length": 10},
        "importances": {"alpha": 0.5, "episode_length": 0.5},
    }
    rows = "".join(f"| {k} | 0.500 |\n" for k in summary["importances"])
    assert (out / "report.md").read_text() == (
        "# rlsuite tune q_learning\n\n"
        "2 trials (1 complete, 0 pruned); objective: minimise the final value_error, mean over seeds 3; "
        "TPE sampler, median pruner.\n\n"
        f"Best: trial 0, value_error 2.5: `rlsuite train q_learning --config {out}/best.yaml`\n\n"
        "## Importance of each setting\n\n"
        "Method: optuna.importance.get_param_importances (Optuna's default evaluator).\n\n"
        f"| setting | importance |\n|---|---|\n{rows}\n"
        "## Trials\n\n"
        "| trial | state | value | alpha | episode_length |\n|---|---|---|---|---|\n"
        "| 0 | complete | 2.5 | 0.5 | 10 |\n"
        "| 1 | running |  |  |  |\n"
    )
    header = (out / "best.yaml").read_text().splitlines()[0]
    assert header == "# best of 1 trials of `rlsuite tune q_learning`: value_error 2.5"


def test_write_outputs_of_no_complete_trial_writes_nothing(tmp_path: Path) -> None:
    study = _q_study(tmp_path / "out")
    opened = _study_with([create_trial(state=TrialState.FAIL), create_trial(state=TrialState.PRUNED)], "minimize")
    assert write_outputs(study, opened) == {"trials": 2, "complete": 0, "metric": "value_error"}
    assert not (tmp_path / "out").exists()


# ----- the objective -----
def test_tabular_objective_is_the_mean_over_seeds_with_the_first_curve(tmp_path: Path) -> None:
    out = tmp_path / "out"
    study = prepare("q_learning", ["log_every=1"], TuneOptions(out=str(out), budget=BUDGET, seeds="0,1"))
    opened = open_study(study)
    (out / "trials" / "0000").mkdir(parents=True)  # a folder left by an earlier try is reused
    trial = opened.ask()
    value = study.objective(trial)
    opened.tell(trial, value)
    folder = out / "trials" / "0000"
    assert sorted(os.listdir(folder)) == ["seed0", "seed0.log", "seed1", "seed1.log"]
    finals = [_final(folder / f"seed{s}")["value_error"] for s in (0, 1)]
    assert value == (finals[0] + finals[1]) / 2
    done = opened.trials[0]
    assert done.intermediate_values == dict(curve(folder / "seed0", "value_error"))
    # (not compared with seed 1's curve: the sampled settings can give both seeds the same plateau)
    assert sorted(done.intermediate_values) == [256 * k for k in range(1, 11)]
    assert done.user_attrs == {"settings": done.params} and list(done.params) == list(Q_SPACE)
    for seed in (0, 1):  # each run: its seed, the budget, the fixed setting and the trial's values
        config = json.loads((folder / f"seed{seed}" / "config.json").read_text())
        assert (config["seed"], config["budget"], config["config"]["log_every"]) == (seed, BUDGET, 1)
        assert {k: config["config"][k] for k in Q_SPACE} == done.params
    assert " ".join((folder / "seed0.log").read_text().split()).endswith(f"run folder {folder / 'seed0'}")


def test_a_failing_run_fails_its_trial_with_its_last_line(tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("episode_length: {choices: [5, 2]}\n")
    study = prepare("n_step_sarsa", [], TuneOptions(out="o", space=str(space)))  # the algorithm's own budget
    with pytest.raises(RuntimeError) as err:
        study.objective(optuna.trial.FixedTrial({"episode_length": 2}))
    assert str(err.value) == ("trial 0: train n_step_sarsa --seed 0 --out o/trials/0000/seed0 --overwrite --set "
                              "episode_length=2 failed: rlsuite: error: NStepSarsaConfig.n: 3 must be "
                              "below episode_length (2)")  # fmt: skip
    assert os.listdir("o/trials/0000") == ["seed0.log"]


def _a2c_study(tmp_path: Path, **kwargs: Any) -> tuple[Study, optuna.Study]:
    space = tmp_path / "space.yaml"
    space.write_text(LR_SPACE)
    opts = TuneOptions(out=str(tmp_path / "out"), budget=32, metric="return_mean", space=str(space), **kwargs)
    study = prepare("a2c", A2C_SET, opts)
    return study, open_study(study)


def test_sb3_trials_train_in_stages_reported_to_the_pruner(tmp_path: Path) -> None:
    study, opened = _a2c_study(tmp_path, stages=2)
    assert study.budget == 32 and study.metric == "return_mean"
    trial = opened.ask()
    value = study.objective(trial)
    opened.tell(trial, value)
    run = tmp_path / "out" / "trials" / "0000" / "seed0"
    done = opened.trials[0]
    assert sorted(done.intermediate_values) == [16, 32]
    assert done.intermediate_values[32] == value == _final(run)["return_mean"]
    assert json.loads((run / "finished.json").read_text())["steps"] == 32
    log = (run.parent / "seed0.log").read_text()
    assert log.splitlines()[0] == f"resuming {run} from step_16 (step 16) to step 32"


def test_sb3_trials_of_one_stage_report_their_curve(tmp_path: Path) -> None:
    study, opened = _a2c_study(tmp_path, stages=1)
    trial = opened.ask()
    value = study.objective(trial)
    opened.tell(trial, value)
    run = tmp_path / "out" / "trials" / "0000" / "seed0"
    rows = curve(run, "return_mean")
    assert [step for step, _ in rows] == [8, 16, 24, 32]
    assert opened.trials[0].intermediate_values == dict(rows) and value == _final(run)["return_mean"]


def test_an_sb3_trial_worse_than_the_median_is_pruned_after_its_first_stage(tmp_path: Path) -> None:
    study, opened = _a2c_study(tmp_path, stages=2, n_startup_trials=0)
    lr = {"learning_rate": FloatDistribution(1e-4, 3e-3, log=True)}
    opened.add_trial(create_trial(params={"learning_rate": 1e-3}, distributions=lr, value=1000.0,
                                  intermediate_values={16: 1000.0}))  # fmt: skip
    trial = opened.ask()
    with pytest.raises(optuna.TrialPruned) as err:
        study.objective(trial)
    assert str(err.value) == "pruned after 16 steps"
    run = tmp_path / "out" / "trials" / "0001" / "seed0"
    assert json.loads((run / "finished.json").read_text())["steps"] == 16
    opened.tell(trial, state=TrialState.PRUNED)
    assert opened.trials[1].intermediate_values == {16: _final(run)["return_mean"]}


# ----- run_tune and the command -----
@pytest.mark.filterwarnings("ignore:The number of trials is too small:UserWarning")
def test_run_tune_stops_starting_trials_after_its_timeout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    opts = TuneOptions(n_trials=3, timeout=0.2, budget=BUDGET, out=str(out), sampler_seed=0)
    summary = run_tune("q_learning", ["gamma=0.5"], opts)
    opened = optuna.load_study(study_name="q_learning", storage=f"sqlite:///{out / 'study.db'}")
    assert len(opened.trials) == 1 and opened.trials[0].state == TrialState.COMPLETE
    params = opened.trials[0].params
    assert summary == {"trials": 1, "complete": 1, "metric": "value_error", "best_value": opened.best_value,
                       "best_trial": 0, "best": {"gamma": 0.5, **params},
                       "importances": {"alpha": 1 / 3, "epsilon": 1 / 3, "episode_length": 1 / 3}}  # fmt: skip
    assert opened.best_value == _final(out / "trials" / "0000" / "seed0")["value_error"]
    assert sorted(os.listdir(out)) == ["best.yaml", "report.md", "results.json", "study.db", "study.db.lock",
                                       "trials"]  # fmt: skip


def test_the_command_runs_a_study_and_says_where_its_best(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tune"
    argv = ["tune", "q_learning", "--budget", str(BUDGET), "--n_trials", "2", "--sampler_seed", "0", "--out", str(out),
            "--set", "gamma=0.8", "--set", "log_every=5"]  # two --set flags add up  # fmt: skip
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"tune q_learning: 2 of 2 trials complete; best value_error {results['best_value']:.6g} (trial "
        f"{results['best_trial']}); {out}/best.yaml, {out}/report.md")  # fmt: skip
    opened = optuna.load_study(study_name="q_learning", storage=f"sqlite:///{out / 'study.db'}")
    assert [t.state for t in opened.trials] == [TrialState.COMPLETE, TrialState.COMPLETE]
    assert sorted(os.listdir(out / "trials")) == ["0000", "0001"]
    for t in opened.trials:
        run = out / "trials" / f"{t.number:04d}" / "seed0"
        assert t.value == _final(run)["value_error"]
        assert sorted(t.intermediate_values) == [1280, 2560]  # a row every 5 batched steps
    best = yaml.safe_load((out / "best.yaml").read_text())
    assert best == {"gamma": 0.8, "log_every": 5, **opened.best_params}
    assert opened.user_attrs["described"]["fixed"] == ["gamma=0.8", "log_every=5"]


def test_the_command_says_when_no_trial_completes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("episode_length: {choices: [5, 2]}\n")
    out = tmp_path / "tune"
    argv = ["tune", "n_step_sarsa", "--budget", str(BUDGET), "--n_trials", "1", "--space", str(space), "--out",
            str(out)]  # fmt: skip
    opts = TuneOptions(budget=BUDGET, space=str(space), out=str(out))
    open_study(prepare("n_step_sarsa", [], opts)).enqueue_trial({"episode_length": 2})  # a run that fails
    assert main(argv) == 1
    assert capsys.readouterr().out.splitlines()[-1] == f"tune n_step_sarsa: 1 trials, none complete; see {out}/trials"
    opened = optuna.load_study(study_name="n_step_sarsa", storage=f"sqlite:///{out / 'study.db'}")
    assert [t.state for t in opened.trials] == [TrialState.FAIL]
    assert sorted(os.listdir(out)) == ["study.db", "study.db.lock", "trials"]


@pytest.mark.parametrize(
    ("argv", "error"),
    [(["q_learnin"], "unknown algorithm 'q_learnin' (did you mean 'q_learning'?); `rlsuite algos` lists them"),
     (["q_learning", "--n_trials", "0"], "TuneOptions.n_trials: 0 is out of range (allowed: >= 1)"),
     (["q_learning", "--metric", "bogus"], "--metric bogus: expected auto or one of gap_to_optimum_start, "
      "max_value_gap, return_mean, value_error, optimal_fraction, average_reward, optimal_action"),
     (["q_learning", "--set", "alpha=0.1"], "--set alpha: alpha is searched; leave it out of --set or of the space"),
     (["value_iteration"], "ValueIterationConfig declares no SEARCH_SPACE: give one with --space FILE.yaml")],
)  # fmt: skip
def test_the_command_refuses_in_one_line(argv: list[str], error: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tune", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().endswith(error) and captured.err.count("\n") == 1
    assert captured.err.startswith("rlsuite: error: ")
    assert not Path("runs").exists()


def test_the_command_help(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    with pytest.raises(SystemExit) as exc:
        main(["tune", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert "[--space SPACE] [--set KEY=VALUE [KEY=VALUE ...]]" in lines[3] and lines[4].strip() == "ALGO"
    assert lines[6] == ("``rlsuite tune ALGO``: hyperparameter search with Optuna (TPE sampler, median pruner on the "
                        "learning curve).")  # fmt: skip
    assert lines[7] == "" and "rlsuite tune q_learning --n_trials 20" not in text
    assert "  ALGO                  an algorithm of `rlsuite train` (`rlsuite algos`)" in lines
    assert lines[-2:] == [
        "  --set KEY=VALUE [KEY=VALUE ...]",
        "                        a setting fixed for every trial (train's names) (default: [])",
    ]
    sub = next(a for a in build_parser("tune")._actions if isinstance(a, argparse._SubParsersAction))
    assert [a.help for a in sub._choices_actions if a.dest == "tune"] == [
        "hyperparameter search with Optuna (TPE, median pruning); best.yaml and report.md"]  # fmt: skip
