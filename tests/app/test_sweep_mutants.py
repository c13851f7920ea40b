"""rlsuite.app.sweep's parts, exactly and mostly without training: the options' bounds, seeds and grid parsing at
their edges, cell names and folders, each cell's command line, the sweep's identity, one cell trained in this
process (its exit code and last line, argparse's exits and a bug), the final metrics read back, the aggregation
over hand-written finished cells (both directions of better), and the folder rules checked before anything runs."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from recording import Spy

from rlsuite.app import sweep as S
from rlsuite.app.sweep import (
    CURVE_METRICS,
    METRICS,
    SWEEP_FILE,
    Cell,
    SweepOptions,
    aggregate,
    final_metrics,
    parse_grid,
    parse_seeds,
    plan,
    run_sweep,
    setting_name,
    split_values,
    train_cell,
)
from rlsuite.common import stats
from rlsuite.common.errors import ConfigError, OutputDirError, UsageError


def test_names_and_metrics() -> None:
    assert SWEEP_FILE == "sweep.json"
    assert METRICS == {"optimal_fraction": (True, 1.0), "value_error": (False, None), "optimal_action": (True, 1.0),
                       "average_reward": (True, None), "return_mean": (True, None),
                       "gap_to_optimum_max": (False, None)}  # fmt: skip
    assert CURVE_METRICS == ("optimal_fraction", "value_error", "average_reward", "eval_return", "episode_return")


def test_options_defaults_and_bounds() -> None:
    o = SweepOptions()
    assert (o.seeds, o.budget, o.env, o.env_kwargs, o.out, o.workers, o.ray, o.ray_address, o.resamples,
            o.overwrite) == ("0-4", None, None, None, "runs/sweep", 1, False, None, 2000, False)  # fmt: skip
    for ok in ({"budget": 1}, {"workers": 1}, {"workers": 256}, {"resamples": 100}, {"resamples": 100_000}):
        SweepOptions(**ok)
    for bad in ({"budget": 0}, {"workers": 0}, {"workers": 257}, {"resamples": 99}, {"resamples": 100_001}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            SweepOptions(**bad)


def test_seeds_at_their_limits() -> None:
    assert parse_seeds(" 2 , 0-1 ,2") == [2, 0, 1]
    assert parse_seeds("7-7") == [7]
    assert len(parse_seeds("0-9999")) == 10_000
    with pytest.raises(ConfigError, match=r"^--seeds 0-10000: 10001 seeds; at most 10000 in one sweep$") as info:
        parse_seeds("0-10000")
    assert (info.value.field, info.value.value) == ("seeds", "0-10000")
    with pytest.raises(ConfigError, match=r"^--seeds 0,5-2: the range 5-2 is empty$") as info:
        parse_seeds("0,5-2")
    assert (info.value.field, info.value.value) == ("seeds", "0,5-2")
    with pytest.raises(ConfigError, match=r"^--seeds 1,x: 'x' is not a seed or a range a-b of seeds$") as info:
        parse_seeds("1,x")
    assert (info.value.field, info.value.value) == ("seeds", "1,x")


def test_values_split_outside_brackets_and_braces() -> None:
    assert split_values("{a: 1, b: 2},[1,[2,3]], x ") == ["{a: 1, b: 2}", "[1,[2,3]]", "x"]
    assert split_values("") == [""] and split_values(",") == ["", ""]
    assert split_values("[1,2]],3") == ["[1,2]],3"]  # a stray closing bracket: below depth 0, no comma splits


def test_grid_from_yaml_and_set(tmp_path: Path) -> None:
    (tmp_path / "g.yaml").write_text("alpha: [0.1, 0.2]\nnet: [[64, 64], [32]]\nname: [a, b]\nflag: true\nn: 3\n")
    grid = parse_grid(["n=4,5", " eps =0.1"], str(tmp_path / "g.yaml"))
    assert grid == {"alpha": ["0.1", "0.2"], "net": ["[64, 64]", "[32]"], "name": ["a", "b"], "flag": ["true"],
                    "n": ["4", "5"], "eps": ["0.1"]}  # fmt: skip
    assert parse_grid([], None) == {} and parse_grid([], "") == {}
    for item, key in (("=1", "set"), ("a", "a"), ("a= ", "a"), (" =1", " ")):
        with pytest.raises(ConfigError, match=f"^--set {item}: expected KEY=VALUE or KEY=V1,V2,...$") as info:
            parse_grid([item], None)
        assert info.value.field == key and info.value.value == item
    with pytest.raises(ConfigError, match=r"^--set a=1, : an empty value in the list$") as info:
        parse_grid(["a=1, "], None)
    assert info.value.field == "a" and info.value.value == "a=1, "


def test_setting_and_folder_names() -> None:
    assert setting_name({"a": "1", "b": "x y"}) == "a=1,b=x y" and setting_name({"a": "1", "b": "2"}, " ") == "a=1 b=2"
    assert S._folder_name({}) == "default"
    assert S._folder_name({"net": "[64, 64]", "e": "1e-3+x/y"}) == "net=_64,_64_,e=1e-3+x_y"
    assert S._folder_name({"k": "v" * 200}) == ("k=" + "v" * 200)[:120]
    assert Cell("q", {}, 0, Path("p")).group == "q"
    assert Cell("q", {"a": "1", "b": "2"}, 0, Path("p")).group == "q (a=1, b=2)"
    assert Cell("q", {}, 0, Path("p")).argv == []


def test_plan_checks_every_cell_and_names_its_folder(tmp_path: Path) -> None:
    opts = SweepOptions(out=str(tmp_path / "s"), budget=512, env="rlsuite/GridWorld-v0",
                        env_kwargs={"r_forbidden": -10})  # fmt: skip
    cells = plan(["q_learning", "sarsa", "q_learning"], {"alpha": ["0.1", "0.3"]}, [3, 1], opts)
    assert [(c.algo, c.setting, c.seed) for c in cells] == [
        ("q_learning", {"alpha": "0.1"}, 3), ("q_learning", {"alpha": "0.1"}, 1),
        ("q_learning", {"alpha": "0.3"}, 3), ("q_learning", {"alpha": "0.3"}, 1),
        ("sarsa", {"alpha": "0.1"}, 3), ("sarsa", {"alpha": "0.1"}, 1),
        ("sarsa", {"alpha": "0.3"}, 3), ("sarsa", {"alpha": "0.3"}, 1)]  # fmt: skip
    first = cells[0]
    assert first.path == tmp_path / "s" / "q_learning" / "alpha=0.1" / "seed3"
    assert first.argv == [
        "train",
        "q_learning",
        "--budget",
        "512",
        "--env",
        "rlsuite/GridWorld-v0",
        "--env_kwargs",
        '{"r_forbidden": -10}',
        "--set",
        "alpha=0.1",
        "--seed",
        "3",
        "--out",
        str(first.path),
    ]
    bare = plan(["q_learning"], {}, [0], SweepOptions(out="o"))
    assert [(c.path, c.argv) for c in bare] == [
        (
            Path("o/q_learning/default/seed0"),
            ["train", "q_learning", "--seed", "0", "--out", "o/q_learning/default/seed0"],
        )
    ]
    with pytest.raises(
        UsageError, match=r"^rlsuite sweep: name at least one algorithm \(`rlsuite algos` lists them\)$"
    ):
        plan([], {}, [0], opts)
    with pytest.raises(ConfigError, match=r"^sweep cell q_learning with alpha=7 beta=1: ") as info:
        plan(["q_learning"], {"alpha": ["7"], "beta": ["1"]}, [0], SweepOptions(out="o"))
    assert "\n" not in str(info.value) and "  " not in str(info.value)


def test_describe_finished_and_argv(tmp_path: Path) -> None:
    opts = SweepOptions(out="o", budget=9, env="e", env_kwargs={"k": 1})
    assert S._describe(["b", "a", "b"], {"x": ["1"]}, opts) == {"algos": ["b", "a"], "grid": {"x": ["1"]}, "budget": 9,
                                                                "env": "e", "env_kwargs": {"k": 1}}  # fmt: skip
    cell = Cell("q", {}, 0, tmp_path / "c", ["train", "q"])
    assert not S._finished(cell) and S._argv(cell) == ["train", "q"]  # nothing there yet
    cell.path.mkdir()
    assert S._argv(cell) == ["train", "q", "--overwrite"]  # an unfinished run left behind: started again
    (cell.path / "finished.json").write_text("{}")
    assert S._finished(cell) and S._argv(cell) == ["train", "q"]


def test_init_worker_sets_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    threads = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    monkeypatch.setenv("MKL_NUM_THREADS", "4")
    try:
        S._init_worker()
        assert (os.environ["OMP_NUM_THREADS"], os.environ["MKL_NUM_THREADS"], torch.get_num_threads()) == ("1", "1", 1)
    finally:
        torch.set_num_threads(threads)


def test_train_cell_returns_the_exit_code_and_last_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path / "cache"))
    log = tmp_path / "a.txt"
    code, last = train_cell(["train", "q_learning", "--budget", "2560", "--out", str(tmp_path / "run")], str(log))
    assert code == 0 and last == log.read_text().strip().splitlines()[-1] and last
    assert (tmp_path / "run" / "finished.json").is_file()
    code, last = train_cell(["train", "q_learning", "--out", str(tmp_path / "run")], str(tmp_path / "b.txt"))
    assert code != 0 and last.startswith("rlsuite: error: ") and "holds finished results; pass --overwrite" in last
    code, last = train_cell(["--no-such-flag"], str(tmp_path / "c.txt"))  # the parser's own exit
    assert (code, last) == (2, "rlsuite: error: rlsuite: --no-such-flag: unknown setting 'no_such_flag'")
    code, last = train_cell(["--help"], str(tmp_path / "d.txt"))  # the parser's exit 0 (SystemExit(0))
    assert code == 0 and last == (tmp_path / "d.txt").read_text().strip().splitlines()[-1]


def test_a_bug_in_a_cell_is_reported_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in one cell ends that cell with its traceback in the cell's log, not the sweep."""
    import rlsuite.app.cli as cli

    def broken(argv: list[str]) -> int:
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "main", broken)
    code, last = train_cell(["train", "q_learning"], str(tmp_path / "e.txt"))
    assert (code, last) == (1, "rlsuite: bug: KeyError: 'a bug'")
    assert "Traceback (most recent call last)" in (tmp_path / "e.txt").read_text()
    monkeypatch.setattr(cli, "main", lambda argv: 3)
    assert train_cell([], str(tmp_path / "f.txt")) == (3, "")  # nothing printed: an empty last line


def _cell(root: Path, algo: str, setting: dict[str, str], seed: int, final: dict[str, Any] | None) -> Cell:
    path = root / algo / S._folder_name(setting) / f"seed{seed}"
    path.mkdir(parents=True)
    if final is not None:
        (path / "finished.json").write_text(json.dumps({"final": final}))
    return Cell(algo, setting, seed, path)


def test_final_metrics_keeps_the_known_numbers(tmp_path: Path) -> None:
    cell = _cell(tmp_path, "q", {}, 0, {"optimal_fraction": 1, "value_error": 0.5, "other": 3.0,
                                        "average_reward": "n/a", "return_mean": None})  # fmt: skip
    assert final_metrics(cell) == {"optimal_fraction": 1.0, "value_error": 0.5}
    assert type(final_metrics(cell)["optimal_fraction"]) is float
    (cell.path / "finished.json").write_text(json.dumps({"cells": 1}))
    assert final_metrics(cell) == {}
    (cell.path / "finished.json").write_text(json.dumps({"final": None}))
    assert final_metrics(cell) == {}


def test_aggregate_over_finished_cells(tmp_path: Path) -> None:
    a = [_cell(tmp_path, "q", {"alpha": "0.1"}, s, {"optimal_fraction": f, "value_error": e})
         for s, (f, e) in enumerate([(0.5, 2.0), (0.75, 1.0), (1.0, 0.5)])]  # fmt: skip
    b = [_cell(tmp_path, "q", {"alpha": "0.3"}, s, {"optimal_fraction": f, "value_error": e})
         for s, (f, e) in enumerate([(0.25, 3.0), (1.0, 2.5)])]  # fmt: skip
    unfinished = _cell(tmp_path, "q", {"alpha": "0.9"}, 0, None)
    only_one = _cell(tmp_path, "sarsa", {}, 0, {"optimal_fraction": 0.5})  # no value_error: not in that metric
    metrics = aggregate([*a, *b, unfinished, only_one], resamples=200, seed=3)
    assert list(metrics) == ["optimal_fraction", "value_error"]
    fraction = metrics["optimal_fraction"]
    assert (fraction["higher_is_better"], fraction["target"]) == (True, 1.0)
    assert list(fraction["groups"]) == ["q (alpha=0.1)", "q (alpha=0.3)", "sarsa"]
    scores = {"q (alpha=0.1)": np.array([0.5, 0.75, 1.0]), "q (alpha=0.3)": np.array([0.25, 1.0]),
              "sarsa": np.array([0.5])}  # fmt: skip
    summary = stats.summarize(scores, 1.0, n_resamples=200, seed=3)
    for group, values in scores.items():
        row = fraction["groups"][group]
        assert row["runs"] == len(values) and row["scores"] == values.tolist()
        assert {k: v for k, v in row.items() if k not in ("runs", "scores")} == {
            k: v.as_dict() for k, v in summary[group].items()}  # fmt: skip
    assert list(fraction["probability_of_improvement"]) == ["q (alpha=0.1) > q (alpha=0.3)", "q (alpha=0.1) > sarsa",
                                                            "q (alpha=0.3) > sarsa"]  # fmt: skip
    value, low, high = stats.probability_of_improvement_ci(scores["q (alpha=0.1)"], scores["q (alpha=0.3)"],
                                                           n_resamples=200, seed=3)  # fmt: skip
    assert fraction["probability_of_improvement"]["q (alpha=0.1) > q (alpha=0.3)"] == {"value": value, "low": low,
                                                                                       "high": high}  # fmt: skip
    errors = metrics["value_error"]
    assert (errors["higher_is_better"], errors["target"]) == (False, None)
    assert list(errors["groups"]) == ["q (alpha=0.1)", "q (alpha=0.3)"]
    lower = stats.probability_of_improvement_ci(-np.array([2.0, 1.0, 0.5]), -np.array([3.0, 2.5]),
                                                n_resamples=200, seed=3)  # fmt: skip
    assert lower[0] == 1.0  # every error of alpha=0.1 is below every one of alpha=0.3: it improves on it
    assert errors["probability_of_improvement"] == {"q (alpha=0.1) > q (alpha=0.3)": dict(
        zip(("value", "low", "high"), lower, strict=True))}  # fmt: skip
    assert aggregate([unfinished], resamples=200) == {}


def _rich_cells(root: Path) -> tuple[list[Cell], dict[str, np.ndarray]]:
    """Two groups of 12 runs with distinct scores: their intervals depend on the seed and the resample count (with
    2 or 3 runs the percentile interval is the extremes whatever they are)."""
    rng = np.random.default_rng(5)
    scores = {"q (a=1)": rng.random(12), "q (a=2)": rng.random(12) * 0.9}
    cells = [_cell(root, "q", {"a": group[-2]}, s, {"average_reward": float(v)})
             for group, values in scores.items() for s, v in enumerate(values)]  # fmt: skip
    return cells, scores


def test_probability_of_improvement_uses_at_most_1000_resamples(tmp_path: Path) -> None:
    cells, scores = _rich_cells(tmp_path)
    got = aggregate(cells, resamples=1500)["average_reward"]["probability_of_improvement"]["q (a=1) > q (a=2)"]
    ci = {n: stats.probability_of_improvement_ci(scores["q (a=1)"], scores["q (a=2)"], n_resamples=n, seed=0)
          for n in (1000, 1001)}  # fmt: skip
    assert ci[1000] != ci[1001]  # the count shows in the interval
    assert got == dict(zip(("value", "low", "high"), ci[1000], strict=True))


def test_aggregate_passes_its_resamples_and_seed_to_every_interval(tmp_path: Path) -> None:
    cells, scores = _rich_cells(tmp_path)
    got = aggregate(cells, resamples=300, seed=4)
    assert list(got) == ["average_reward"]  # the metrics before it have no scores: skipped, not the end
    summary = stats.summarize(scores, None, n_resamples=300, seed=4)
    assert summary != stats.summarize(scores, None, n_resamples=300, seed=0)
    assert summary != stats.summarize(scores, None, n_resamples=2000, seed=4)
    for group in scores:
        row = got["average_reward"]["groups"][group]
        assert {k: v for k, v in row.items() if k not in ("runs", "scores")} == {
            k: v.as_dict() for k, v in summary[group].items()}  # fmt: skip
    ci = stats.probability_of_improvement_ci(scores["q (a=1)"], scores["q (a=2)"], n_resamples=300, seed=4)
    assert ci != stats.probability_of_improvement_ci(scores["q (a=1)"], scores["q (a=2)"], n_resamples=300, seed=0)
    assert got["average_reward"]["probability_of_improvement"] == {
        "q (a=1) > q (a=2)": dict(zip(("value", "low", "high"), ci, strict=True))}  # fmt: skip
    assert aggregate(cells, resamples=300) == aggregate(cells, resamples=300, seed=0) != got  # seed 0 by default


def test_a_sweep_folder_is_checked_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputDirError, match=r"holds something that is not a sweep; pass --overwrite or use another"):
        run_sweep(["q_learning"], {}, SweepOptions(out=str(out), seeds="0"))
    (out / "notes.txt").unlink()
    (out / SWEEP_FILE).write_text("{not json")
    with pytest.raises(OutputDirError, match=rf"^{out / SWEEP_FILE}: unreadable \(.*\); pass --overwrite to start"):
        run_sweep(["q_learning"], {}, SweepOptions(out=str(out), seeds="0"))
    (out / SWEEP_FILE).write_text(json.dumps({"algos": ["sarsa"], "grid": {}, "budget": None, "env": None,
                                              "env_kwargs": None}))  # fmt: skip
    with pytest.raises(OutputDirError, match=rf"^{out}: holds another sweep \({out / SWEEP_FILE}\); pass --overwrite"):
        run_sweep(["q_learning"], {}, SweepOptions(out=str(out), seeds="0"))
    assert sorted(p.name for p in out.iterdir()) == [SWEEP_FILE]  # nothing written


def test_values_split_only_at_brackets_and_braces() -> None:
    assert split_values("X,Y") == ["X", "Y"] and split_values("a(1,2)") == ["a(1", "2)"]  # only [ { ] } nest


def test_train_cell_exit_codes_and_undecodable_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import rlsuite.app.cli as cli

    def exits(argv: list[str]) -> int:
        raise SystemExit(3)

    monkeypatch.setattr(cli, "main", exits)
    assert train_cell([], str(tmp_path / "a.txt")) == (3, "")

    def writes_bytes(argv: list[str]) -> int:
        sys.stdout.flush()
        sys.stdout.buffer.write(b"first\nbad \xff byte\n")  # type: ignore[attr-defined]
        return 0

    monkeypatch.setattr(cli, "main", writes_bytes)
    assert train_cell([], str(tmp_path / "b.txt")) == (0, "bad \ufffd byte")


class _Recorder:
    """A progress reporter (the library's plug-in point) that records what it is asked to show."""

    def __init__(self) -> None:
        self.started: list[tuple[str, Any, str]] = []
        self.advanced = 0

    def start(self, description: str, total: Any, unit: str) -> Any:
        self.started.append((description, total, unit))
        recorder = self

        class _Task:
            def advance(self, n: float = 1) -> None:
                recorder.advanced += n

            def update(self, completed: Any = None, total: Any = None, **info: Any) -> None:
                pass

        return _Task()

    def stop(self, task: Any) -> None:
        pass


def test_run_cells_in_fresh_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    """Cells run in spawned workers (fresh interpreters: a change made in the driver's modules does not reach them),
    each logging to logs/ALGO__SETTING__seedN.txt; the display counts cells; one log line says what runs."""
    import concurrent.futures
    import logging

    import rlsuite.app.cli as cli
    from rlsuite.common import progress

    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "new" / "sweep"  # not there yet: made with its parents
    opts = SweepOptions(out=str(out), budget=2560, seeds="0-1")
    cells = plan(["q_learning"], {"alpha": ["0.2"]}, [0, 1], opts)
    cells[0].path.mkdir(parents=True)
    (cells[0].path / "finished.json").write_text("{}")
    monkeypatch.setattr(cli, "main", lambda argv: 7)  # in this process only: a forked worker would inherit it
    recorder = _Recorder()
    monkeypatch.setattr(progress, "_reporter", recorder)
    made: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    class Pool(concurrent.futures.ProcessPoolExecutor):  # the real pool, its arguments kept
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append((args, kwargs))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Pool)
    with caplog.at_level(logging.INFO, logger="rlsuite.app.sweep"):
        failures = S.run_cells(cells, out, opts)
    assert failures == {}
    ((args, kwargs),) = made  # opts.workers processes, each with one torch thread (_init_worker)
    assert args == (opts.workers,) and kwargs["initializer"] is S._init_worker
    assert kwargs["mp_context"].get_start_method() == "spawn"
    assert [r.getMessage() for r in caplog.records] == ["sweep: 2 cells, 1 to train (1 finished), 1 at once"]
    assert recorder.started == [("sweep cells", 1, "cell")] and recorder.advanced == 1
    assert sorted(p.name for p in (out / "logs").iterdir()) == ["q_learning__alpha=0.2__seed1.txt"]
    assert (cells[1].path / "finished.json").is_file()


def test_run_cells_reports_each_failed_cell(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    out = tmp_path / "s"
    opts = SweepOptions(out=str(out))
    cells = [Cell("q_learning", {}, 0, out / "c0", ["train", "q_learning", "--budget", "2560", "--env_kwargs",
                                                    '{"no_such_argument": 1}', "--out", str(out / "c0")])]  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="rlsuite.app.sweep"):
        failures = S.run_cells(cells, out, opts)
    (last,) = failures.values()
    assert list(failures) == [str(out / "c0")] and last.startswith("rlsuite: error: ")
    assert [r.getMessage() for r in caplog.records] == [f"sweep: cell {out / 'c0'} failed: {last}"]


def test_run_cells_on_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path / "cache"))
    sessions, remotes = _spy_ray(monkeypatch, ray)
    out = tmp_path / "s"
    opts = SweepOptions(out=str(out), budget=2560, ray=True, workers=1)
    cells = plan(["q_learning"], {}, [0], opts)
    with caplog.at_level(logging.INFO, logger="rlsuite.app.sweep"):
        assert S.run_cells(cells, out, opts) == {}
    assert [r.getMessage() for r in caplog.records if r.name == "rlsuite.app.sweep"] == [
        "sweep: 1 cells, 1 to train (0 finished), 1 at once on Ray"
    ]
    assert (cells[0].path / "finished.json").is_file()
    # a local Ray of --workers CPUs, no dashboard, the workers' output kept off the console, one thread each
    assert sessions.calls == [((ray,), {"address": None, "num_cpus": 1, "include_dashboard": False,
                                        "log_to_driver": False, "runtime_env": {"env_vars": {
                                            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}}})]  # fmt: skip
    assert remotes == [{"num_cpus": 1}]  # a cell takes one CPU


class _Stop(Exception):
    """Raised by the Ray session's stand-in once it has recorded its arguments."""


def _stop(*args: Any, **kwargs: Any) -> None:
    raise _Stop


def _spy_ray(monkeypatch: pytest.MonkeyPatch, ray: Any, stop: bool = False) -> tuple[Spy, list[dict]]:
    """Record the arguments of the sweep's Ray session and of its ``ray.remote`` (which then run as usual; ``stop``:
    raise :class:`_Stop` instead of starting the session)."""
    sessions = Spy(_stop if stop else S.ray_session)
    remotes: list[dict] = []
    real_remote = ray.remote

    def remote(*args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_globals.get("__name__") == S.__name__:  # the sweep's calls, not Ray's own
            remotes.append(kwargs)
        return real_remote(*args, **kwargs)

    monkeypatch.setattr(S, "ray_session", sessions)
    monkeypatch.setattr(ray, "remote", remote)
    return sessions, remotes


def test_a_ray_cluster_address_leaves_the_cpus_to_the_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray")
    sessions, _ = _spy_ray(monkeypatch, ray, stop=True)
    opts = SweepOptions(out=str(tmp_path / "s"), budget=2560, ray=True, workers=3, ray_address="10.0.0.9:6379")
    with pytest.raises(_Stop):
        S.run_cells(plan(["q_learning"], {}, [0], opts), tmp_path / "s", opts)
    assert [(kw["address"], kw["num_cpus"]) for _, kw in sessions.calls] == [("10.0.0.9:6379", None)]


def test_the_sweep_command_line(cli: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("COLUMNS", "400")  # help lines unwrapped
    with pytest.raises(SystemExit):
        cli("sweep", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert text.startswith("usage: rlsuite sweep [-h] [--seeds SEEDS]")
    for part in ("[--set KEY=V1,V2 [KEY=V1,V2 ...]] [--config FILE.yaml] ALGO [ALGO ...]",
                 "Train a grid of settings x seeds for algorithms of `rlsuite train`, each cell a run folder under "
                 "--out, and report IQM, median, mean and optimality gap with 95% stratified bootstrap intervals, "
                 "probabilities of improvement and performance profiles (results.json, report.md, figures). A re-run "
                 "trains only the missing cells.",
                 "ALGO algorithms of `rlsuite train` (`rlsuite algos`)",
                 "--set KEY=V1,V2 [KEY=V1,V2 ...] a grid axis: the values of one setting, comma-separated (train's "
                 "names) (default: [])",
                 "--config FILE.yaml YAML mapping of settings; a list value is a grid axis"):  # fmt: skip
        assert part in text, part
    code, out, _ = cli("sweep", "q_learning", "--set", "alpha=0.1", "--set", "epsilon=0.05,0.2", "--seeds", "0",
                       "--budget", "2560", "--out", "s", "--resamples", "100")  # fmt: skip
    assert code == 0 and out.startswith("sweep: 2 of 2 cells finished; report s/report.md")
    assert sorted(p.name for p in (tmp_path / "s" / "q_learning").iterdir()) == [
        "alpha=0.1,epsilon=0.05", "alpha=0.1,epsilon=0.2"]  # both --set flags make axes  # fmt: skip


def test_a_sweep_with_a_failed_cell_from_a_config_file(cli: Any, tmp_path: Path) -> None:
    """The grid from --config; a cell that fails (its folder holds a symbolic link, which train refuses) makes the
    command say so and exit 1."""
    (tmp_path / "grid.yaml").write_text("alpha: [0.2]\n")
    base = ["sweep", "q_learning", "--config", "grid.yaml", "--budget", "2560", "--out", "s", "--resamples", "100"]
    code, out, _ = cli(*base, "--seeds", "0")
    assert (code, out) == (0, "sweep: 1 of 1 cells finished; report s/report.md\n")
    bad = tmp_path / "s" / "q_learning" / "alpha=0.2" / "seed1"
    bad.mkdir(parents=True)
    os.symlink(tmp_path, bad / "link")
    started = time.perf_counter()
    code, out, _ = cli(*base, "--seeds", "0-1")
    took = time.perf_counter() - started
    assert (code, out) == (1, "sweep: 1 of 2 cells finished, 1 failed (see report.md); report s/report.md\n")
    sweep = tmp_path / "s"
    results = json.loads((sweep / "results.json").read_text())
    assert results["interval"] == (
        "95% stratified bootstrap (percentile), rlsuite.common.stats (numpy; agrees with scipy's)"
    )
    wall = results["wall_seconds"]  # the run's own seconds, to a tenth
    assert isinstance(wall, float) and 0 <= wall <= took and wall == round(wall, 1)
    assert not (sweep / "finished.json").exists()  # it grew by a seed, and that cell failed: no longer finished
    assert json.loads((sweep / "sweep.json").read_text()) == {
        "algos": ["q_learning"], "grid": {"alpha": ["0.2"]}, "budget": 2560, "env": None, "env_kwargs": None,
        "seeds": [0, 1], "cells": 2}  # fmt: skip
    cells = results["cells"]
    assert cells[0] == {"algo": "q_learning", "setting": {"alpha": "0.2"}, "seed": 0, "status": "finished",
                        "folder": "s/q_learning/alpha=0.2/seed0"}  # as --out names it  # fmt: skip
    assert cells[1].pop("error").startswith("rlsuite: error: ") and cells[1] == {
        "algo": "q_learning", "setting": {"alpha": "0.2"}, "seed": 1, "status": "failed",
        "folder": "s/q_learning/alpha=0.2/seed1"}  # fmt: skip
    # another grid in the same folder: refused, then replaced with --overwrite
    other = ["sweep", "q_learning", "--set", "alpha=0.3", "--budget", "2560", "--out", "s", "--resamples", "100",
             "--seeds", "0"]  # fmt: skip
    code, _, err = cli(*other)
    assert code == 2 and "holds another sweep" in err
    code, out, _ = cli(*other, "--overwrite")
    assert (code, out) == (0, "sweep: 1 of 1 cells finished; report s/report.md\n")
    assert json.loads((sweep / "sweep.json").read_text())["grid"] == {"alpha": ["0.3"]}
    assert json.loads((sweep / "finished.json").read_text())["cells"] == 1
    assert not (sweep / "q_learning" / "alpha=0.2").exists()
