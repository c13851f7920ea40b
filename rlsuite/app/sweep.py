"""``rlsuite sweep``: a grid of settings x seeds for any ``rlsuite train`` algorithm, with the statistics
research reports (IQM, optimality gap, stratified bootstrap intervals, probability of improvement,
performance profiles; :mod:`rlsuite.common.stats`).

    rlsuite sweep q_learning sarsa --set alpha=0.05,0.1,0.2 --seeds 0-9 --out runs/sweep
    rlsuite sweep ppo --env rlsuite/GridWorld-v0 --set learning_rate=3e-4,1e-3 --seeds 0-4 --workers 2

Each cell (algorithm x setting x seed) is a normal run folder, ``OUT/<algo>/<setting>/seed<N>``, trained
by ``rlsuite train``'s own entry point in a worker process (one torch thread), its console lines in
``OUT/logs/<cell>.txt`` and its own logs in its folder. The settings take ``train``'s syntax: ``--set
KEY=V1,V2`` (a list in brackets is one value: ``--set net_arch=[64,64]``) and ``--config FILE.yaml``,
a mapping whose list values are grid axes. Every cell's command line is parsed by ``train``'s own
parser before any cell starts, so an unknown key, a value out of range or a setting one of the
algorithms does not have is refused by one line. A re-run of the same sweep trains only the missing or
unfinished cells; a sweep folder that holds another sweep is refused unless ``--overwrite``. A cell
that fails is reported with its folder and the sweep goes on. ``--workers N`` trains N cells at once in
local processes, ``--ray`` as Ray tasks (``--ray_address`` for a cluster): each cell's seed fixes its
result, so the numbers do not depend on either.

The sweep writes ``results.json``, ``report.md`` and three figures: each metric's aggregates with their
95% intervals, sample-efficiency curves (IQM over training with its interval) and performance profiles.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.common.config import Config, load_yaml, option
from rlsuite.common.errors import ConfigError, OutputDirError, UsageError
from rlsuite.common.processes import ray_session, reap_on_death

log = logging.getLogger(__name__)

SWEEP_FILE = "sweep.json"
# The final metrics a sweep aggregates: name -> (higher is better, target for the optimality gap or None).
METRICS: dict[str, tuple[bool, float | None]] = {
    "optimal_fraction": (True, 1.0),  # tabular: states whose greedy action is optimal
    "value_error": (False, None),  # tabular: max |v - v*|
    "optimal_action": (True, 1.0),  # bandits: runs pulling the best arm at the last step
    "average_reward": (True, None),  # bandits
    "return_mean": (True, None),  # SB3: greedy evaluation return
    "gap_to_optimum_max": (False, None),  # SB3 with an exact model: max_s v* - v_pi (eval's keys, docs/eval.md)
}
CURVE_METRICS = ("optimal_fraction", "value_error", "average_reward", "eval_return", "episode_return")


@dataclass
class SweepOptions(Config):
    """What ``rlsuite sweep`` runs besides the grid: seeds, env, budget, where, how many at once."""

    seeds: str = option("0-4", help="seeds: a range (0-9), a list (0,3,7) or both (0-4,9)")
    budget: int | None = option(
        None, help="each cell's budget, in its algorithm's unit (default: the algorithm's own)", ge=1
    )
    env: str | None = option(None, help="gymnasium env id of every cell (default: each algorithm's own)")
    env_kwargs: dict | None = option(None, help="keyword arguments of gym.make, e.g. '{r_forbidden: -10}'")
    out: str = option("runs/sweep", help="the sweep's folder", aliases=["--output_dir"])
    workers: int = option(1, help="cells trained at once, each in its own process", ge=1, le=256)
    ray: bool = option(False, help="run the cells as Ray tasks (pip install 'rlsuite[ray]')")
    ray_address: str | None = option(None, help="a Ray cluster's address (with --ray); default: a local Ray")
    resamples: int = option(2000, help="bootstrap resamples of every interval", ge=100, le=100_000)
    overwrite: bool = option(False, help="replace a sweep folder that holds another sweep (or finished cells)")


@dataclass
class Cell:
    """One training run of the sweep."""

    algo: str
    setting: dict[str, str]
    seed: int
    path: Path
    argv: list[str] = field(default_factory=list)

    @property
    def group(self) -> str:
        """The algorithm and its setting, the unit the statistics compare."""
        return self.algo + (f" ({setting_name(self.setting, ', ')})" if self.setting else "")


def parse_seeds(spec: str) -> list[int]:
    """``"0-4,9"`` -> [0, 1, 2, 3, 4, 9]; an empty or malformed spec is a one-line error."""
    seeds: list[int] = []
    for part in str(spec).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise ConfigError(f"--seeds {spec}: {part!r} is not a seed or a range a-b of seeds", "seeds", spec)
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
        if high < low:
            raise ConfigError(f"--seeds {spec}: the range {part} is empty", "seeds", spec)
        seeds += [s for s in range(low, high + 1) if s not in seeds]
    if len(seeds) > 10_000:
        raise ConfigError(f"--seeds {spec}: {len(seeds)} seeds; at most 10000 in one sweep", "seeds", spec)
    return seeds


def split_values(text: str) -> list[str]:
    """``"0.1,0.2"`` -> ["0.1", "0.2"]; commas inside brackets or braces belong to one value."""
    values, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            values.append(current)
            current = ""
        else:
            current += ch
    values.append(current)
    return [v.strip() for v in values]


def parse_grid(items: Sequence[str], config_file: str | None) -> dict[str, list[str]]:
    """The grid's axes, key -> values (as ``train --set`` would read them), from ``--config`` then ``--set``."""
    grid: dict[str, list[str]] = {}
    if config_file:
        mapping = load_yaml(config_file)
        for key, value in mapping.items():
            values = value if isinstance(value, list) else [value]
            grid[str(key)] = [json.dumps(v) if not isinstance(v, str) else v for v in values]
    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not key.strip() or not text.strip():
            raise ConfigError(f"--set {item}: expected KEY=VALUE or KEY=V1,V2,...", key or "set", item)
        values = split_values(text)
        if any(v == "" for v in values):
            raise ConfigError(f"--set {item}: an empty value in the list", key, item)
        grid[key.strip()] = values
    return grid


def setting_name(setting: dict[str, str], sep: str = ",") -> str:
    return sep.join(f"{k}={v}" for k, v in setting.items())


def _folder_name(setting: dict[str, str]) -> str:
    name = setting_name(setting) or "default"
    return re.sub(r"[^A-Za-z0-9=,._+-]", "_", name)[:120]


def plan(algos: Sequence[str], grid: dict[str, list[str]], seeds: Sequence[int], opts: SweepOptions) -> list[Cell]:
    """Every cell, each checked by ``train``'s own parser (names the algorithm and setting on an error)."""
    from rlsuite.app.args import parse
    from rlsuite.app.cli import build_parser

    if not algos:
        raise UsageError("rlsuite sweep: name at least one algorithm (`rlsuite algos` lists them)")
    out = Path(opts.out)
    keys = list(grid)
    cells: list[Cell] = []
    parser = build_parser("train")
    for algo in dict.fromkeys(algos):
        for values in product(*(grid[k] for k in keys)):
            setting = dict(zip(keys, values, strict=True))
            base = ["train", algo]
            for flag, value in (("--budget", opts.budget), ("--env", opts.env)):
                if value is not None:
                    base += [flag, str(value)]
            if opts.env_kwargs:
                base += ["--env_kwargs", json.dumps(opts.env_kwargs)]
            if setting:
                base += ["--set", *(f"{k}={v}" for k, v in setting.items())]
            try:
                parse(parser, [*base, "--seed", str(seeds[0])])
            except UsageError as exc:
                where = f"{algo}" + (f" with {setting_name(setting, ' ')}" if setting else "")
                raise ConfigError(f"sweep cell {where}: {' '.join(str(exc).split())}") from exc
            for seed in seeds:
                path = out / algo / _folder_name(setting) / f"seed{seed}"
                cells.append(Cell(algo, setting, seed, path, [*base, "--seed", str(seed), "--out", str(path)]))
    return cells


def _describe(algos: Sequence[str], grid: dict[str, list[str]], opts: SweepOptions) -> dict[str, Any]:
    """What makes two sweeps the same sweep (seeds may grow; workers and Ray do not change results)."""
    return {"algos": list(dict.fromkeys(algos)), "grid": grid, "budget": opts.budget, "env": opts.env,
            "env_kwargs": opts.env_kwargs}  # fmt: skip


def _finished(cell: Cell) -> bool:
    return (cell.path / "finished.json").is_file()


def _argv(cell: Cell) -> list[str]:
    """The cell's ``rlsuite`` command line; an unfinished cell left by an earlier run starts again."""
    return [*cell.argv, *(["--overwrite"] if cell.path.exists() and not _finished(cell) else [])]


def _init_worker() -> None:
    """A worker process: one torch thread (the cells run side by side on shared cores)."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass


def train_cell(argv: list[str], log_file: str) -> tuple[int, str]:
    """Train one cell with ``rlsuite``'s own entry point, in this (worker) process; its console lines go to
    ``log_file``. Returns the exit status and the last line (the result, or the one-line error)."""
    import contextlib

    from rlsuite.app.cli import main

    with open(log_file, "w") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own exits
            code = int(exc.code or 0)
        except Exception as exc:  # a bug in one cell: reported with the cell, the sweep goes on
            import traceback

            traceback.print_exc()
            print(f"rlsuite: bug: {type(exc).__name__}: {exc}")
            code = 1
    lines = Path(log_file).read_text(errors="replace").strip().splitlines()
    return code, lines[-1] if lines else ""


def run_cells(cells: Sequence[Cell], out: Path, opts: SweepOptions) -> dict[str, str]:
    """Train the unfinished cells (``opts.workers`` at once, in worker processes or Ray tasks); return the
    failures, cell folder -> its last console line."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from rlsuite.common import progress

    todo = [c for c in cells if not _finished(c)]
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    jobs = {str(c.path): (_argv(c), str(logs / f"{c.algo}__{_folder_name(c.setting)}__seed{c.seed}.txt"))
            for c in todo}  # fmt: skip
    log.info("sweep: %d cells, %d to train (%d finished), %d at once%s", len(cells), len(todo), len(cells) - len(todo),
             opts.workers, " on Ray" if opts.ray else "")  # fmt: skip
    results: dict[str, tuple[int, str]] = {}
    with progress.task("sweep cells", total=len(todo), unit="cell") as bar:
        if opts.ray:
            results = _run_on_ray(jobs, opts, bar)
        elif todo:
            context = multiprocessing.get_context("spawn")
            # the driver's death (kill -9, SIGTERM) takes the workers along: an orphaned worker waits on
            # its task queue for ever (the other workers hold the queue's pipe open), model and all
            with (
                reap_on_death(),
                ProcessPoolExecutor(opts.workers, mp_context=context, initializer=_init_worker) as pool,
            ):
                futures = {pool.submit(train_cell, *job): path for path, job in jobs.items()}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.advance()
    failures = {path: last for path, (code, last) in results.items() if code != 0}
    for path, last in failures.items():
        log.warning("sweep: cell %s failed: %s", path, last)
    return failures


def _run_on_ray(jobs: dict[str, tuple[list[str], str]], opts: SweepOptions, bar: Any) -> dict[str, tuple[int, str]]:
    try:
        import ray
    except ImportError as exc:
        raise UsageError("--ray: Ray is not installed; pip install 'rlsuite[ray]'") from exc
    init = {"address": opts.ray_address, "num_cpus": None if opts.ray_address else opts.workers,
            "include_dashboard": False, "log_to_driver": False,
            "runtime_env": {"env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}}}  # fmt: skip
    with ray_session(ray, **init):  # shut down on SIGINT, SIGTERM and the driver's death
        remote = ray.remote(num_cpus=1)(train_cell)
        pending = {remote.remote(*job): path for path, job in jobs.items()}
        results: dict[str, tuple[int, str]] = {}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                results[pending.pop(ref)] = ray.get(ref)
                bar.advance()
        return results


# ----- reading the cells back and aggregating -----


def final_metrics(cell: Cell) -> dict[str, float]:
    """The metrics of :data:`METRICS` in a finished cell's ``finished.json``."""
    data = json.loads((cell.path / "finished.json").read_text())
    final = data.get("final") or {}
    return {k: float(final[k]) for k in METRICS if isinstance(final.get(k), int | float)}


def aggregate(cells: Sequence[Cell], resamples: int, seed: int = 0) -> dict[str, Any]:
    """Per metric and group: every aggregate with its interval, and the probability of improvement
    between groups on each metric (higher-is-better turned around for lower-is-better metrics)."""
    from rlsuite.common import stats

    groups: dict[str, list[Cell]] = {}
    for c in cells:
        if _finished(c):
            groups.setdefault(c.group, []).append(c)
    finals = {g: [final_metrics(c) for c in members] for g, members in groups.items()}
    metrics: dict[str, Any] = {}
    for name, (higher, target) in METRICS.items():
        scores = {g: np.array([f[name] for f in rows])
                  for g, rows in finals.items() if rows and all(name in f for f in rows)}  # fmt: skip
        if not scores:
            continue
        summary = stats.summarize(scores, target, n_resamples=resamples, seed=seed)
        entry: dict[str, Any] = {
            "higher_is_better": higher,
            "target": target,
            "groups": {g: {"runs": len(scores[g]), "scores": scores[g].tolist(),
                           **{k: v.as_dict() for k, v in summary[g].items()}} for g in scores},
        }  # fmt: skip
        names = list(scores)
        sign = 1.0 if higher else -1.0
        entry["probability_of_improvement"] = {
            f"{a} > {b}": dict(zip(("value", "low", "high"), stats.probability_of_improvement_ci(
                sign * scores[a], sign * scores[b], n_resamples=min(resamples, 1000), seed=seed), strict=True))
            for i, a in enumerate(names) for b in names[i + 1:]
        }  # fmt: skip
        metrics[name] = entry
    return metrics


def run_sweep(algos: Sequence[str], grid: dict[str, list[str]], opts: SweepOptions) -> dict[str, Any]:
    """Plan, check, train what is missing, aggregate and report; returns ``results.json``'s content."""
    from rlsuite.common.io import OutputDir, write_json

    seeds = parse_seeds(opts.seeds)
    cells = plan(algos, grid, seeds, opts)
    out = Path(opts.out)
    described = _describe(algos, grid, opts)
    sweep_file = out / SWEEP_FILE
    if sweep_file.is_file() and not opts.overwrite:
        try:
            before = json.loads(sweep_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise OutputDirError(f"{sweep_file}: unreadable ({exc}); pass --overwrite to start again") from exc
        if {k: before.get(k) for k in described} != described:
            raise OutputDirError(f"{out}: holds another sweep ({sweep_file}); pass --overwrite to replace it, "
                                 "or use another --out")  # fmt: skip
    elif out.is_dir() and any(out.iterdir()) and not opts.overwrite:
        raise OutputDirError(f"{out}: holds something that is not a sweep; pass --overwrite or use another --out")
    folder = OutputDir(out, overwrite=opts.overwrite, resume=True)
    folder.check()
    t0 = time.perf_counter()
    with folder:
        write_json(sweep_file, {**described, "seeds": seeds, "cells": len(cells)})
        from rlsuite.app import console

        console.log_to(out)  # third-party messages (Ray's start-up lines) go to the sweep's log.txt
        if not all(_finished(c) for c in cells):  # the sweep grew (more seeds): no longer finished until they are
            (out / "finished.json").unlink(missing_ok=True)
        failures = run_cells(cells, out, opts)
        metrics = aggregate(cells, opts.resamples)
        results = {
            "sweep": {**described, "seeds": seeds},
            "cells": [{"algo": c.algo, "setting": c.setting, "seed": c.seed, "folder": str(c.path),
                       "status": "finished" if _finished(c) else "failed",
                       **({"error": failures[str(c.path)]} if str(c.path) in failures else {})} for c in cells],
            "metrics": metrics,
            "interval": "95% stratified bootstrap (percentile), rlsuite.common.stats (numpy; agrees with scipy's)",
            "resamples": opts.resamples,
            "wall_seconds": round(time.perf_counter() - t0, 1),
        }  # fmt: skip
        write_json(out / "results.json", results)
        from rlsuite.app.sweep_report import write_figures, write_report

        figures = write_figures(out, cells, metrics)
        write_report(out / "report.md", results, figures)
        if not failures:
            folder.finish({"cells": len(cells)})
    return results


# ----- the command -----


def add_subcommands(subparsers: Any) -> None:
    from rlsuite.app.args import ConfigParser

    parser: ConfigParser = subparsers.add_parser(
        "sweep", help="a grid of settings x seeds for train algorithms, with IQM and bootstrap intervals",
        description="Train a grid of settings x seeds for algorithms of `rlsuite train`, each cell a run folder "
        "under --out, and report IQM, median, mean and optimality gap with 95% stratified bootstrap intervals, "
        "probabilities of improvement and performance profiles (results.json, report.md, figures). A re-run "
        "trains only the missing cells.", dataclass_types=[SweepOptions],
    )  # fmt: skip
    parser.add_argument("algos", nargs="+", metavar="ALGO", help="algorithms of `rlsuite train` (`rlsuite algos`)")
    parser.add_argument("--set", metavar="KEY=V1,V2", nargs="+", action="extend", default=[],
                        help="a grid axis: the values of one setting, comma-separated (train's names)")  # fmt: skip
    parser.add_argument("--config", metavar="FILE.yaml", help="YAML mapping of settings; a list value is a grid axis")
    parser.set_defaults(func=_run)


def _run(ns: argparse.Namespace) -> int:
    names = [f.name for f in SweepOptions.__dataclass_fields__.values()]
    opts = SweepOptions(**{k: getattr(ns, k) for k in names if hasattr(ns, k)})
    grid = parse_grid(ns.set or [], ns.config)
    results = run_sweep(ns.algos, grid, opts)
    failed = [c for c in results["cells"] if c["status"] != "finished"]
    done = len(results["cells"]) - len(failed)
    print(f"sweep: {done} of {len(results['cells'])} cells finished"
          + (f", {len(failed)} failed (see report.md)" if failed else "")
          + f"; report {Path(opts.out) / 'report.md'}")  # fmt: skip
    return 1 if failed else 0


__all__ = ["SweepOptions", "aggregate", "parse_grid", "parse_seeds", "plan", "run_sweep"]
