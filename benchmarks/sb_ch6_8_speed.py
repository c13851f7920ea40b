"""Speed of rlsuite's Sutton & Barto chapter 6-8 experiments against the reference implementation's scripts,
at the same number of runs, measured in the same process (CPU seconds, ``time.process_time``).

The reference is not shipped. Fetch it first (any checkout of the repository works):

    git clone https://github.com/ShangtongZhang/reinforcement-learning-an-introduction /tmp/sb-reference
    PYTHONPATH=. python benchmarks/sb_ch6_8_speed.py --reference /tmp/sb-reference [--runs 20] [--only ex-6.2]

Each experiment runs the reference's own functions (imported from its ``chapterNN`` scripts, loops trimmed to
the figure's computation, no plotting) and rlsuite's figure function for the same quantity (its plot drawn but
not written: no PNG on either side), at the figure's own number of runs (``RUNS`` of the figure module) or, where
the reference would take much longer than 5 minutes here, at the smaller count of ``EXPERIMENTS`` on both sides:
every figure of chapters 6-8 (example 6.2, figures 6.2, 6.3, 6.4, 6.6, 6.7, 7.2, 8.2, 8.4, 8.5, example 8.4,
figures 8.7, 8.8).

Prints each time and the ratio reference / rlsuite (the issue's goal: at least 5x). rlsuite's numpy loops are
compiled by numba (:mod:`rlsuite.agents.tabular.compiled`); what a process pays once for that (importing numba
and loading the kernels' machine code, or compiling it on the first run after an install) is timed first, on its
own line, as matplotlib's import is left out of both sides.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np


def _load(reference: Path, script: str) -> ModuleType:
    import matplotlib

    matplotlib.use("Agg")
    path = reference / script
    spec = importlib.util.spec_from_file_location(path.stem + "_ref", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "tqdm"):
        module.tqdm = iter  # no progress bars
    return module


# ----- the reference, trimmed to each figure's computation -----
def ref_ex_6_2(ref: Path, runs: int) -> None:
    rw = _load(ref, "chapter06/random_walk.py")
    for method, alphas in (("TD", [0.15, 0.1, 0.05]), ("MC", [0.01, 0.02, 0.03, 0.04])):
        for a in alphas:
            for _ in range(runs):
                v = np.copy(rw.VALUES)
                for _ in range(101):
                    (rw.temporal_difference if method == "TD" else rw.monte_carlo)(v, alpha=a)


def ref_fig_6_7(ref: Path, runs: int) -> None:
    mb = _load(ref, "chapter06/maximization_bias.py")
    for _ in range(runs):
        q = [np.copy(x) for x in mb.INITIAL_Q]
        q1 = [np.copy(x) for x in mb.INITIAL_Q]
        q2 = [np.copy(x) for x in mb.INITIAL_Q]
        for _ in range(300):
            mb.q_learning(q)
            mb.q_learning(q1, q2)


def ref_fig_7_2(ref: Path, runs: int) -> None:
    rw7 = _load(ref, "chapter07/random_walk.py")
    for _ in range(runs):
        for n in np.power(2, np.arange(0, 10)):
            for a in np.arange(0, 1.1, 0.1):
                v = np.zeros(rw7.N_STATES + 2)
                for _ in range(10):
                    rw7.temporal_difference(v, n, a)


def ref_fig_8_2(ref: Path, runs: int) -> None:
    mz = _load(ref, "chapter08/maze.py")
    maze, params = mz.Maze(), mz.DynaParams()
    for _ in range(runs):
        for n in (0, 5, 50):
            params.planning_steps = n
            q = np.zeros(maze.q_size)
            model = mz.TrivialModel()
            for _ in range(50):
                mz.dyna_q(q, model, maze, params)


def ref_fig_6_2(ref: Path, runs: int) -> None:
    rw = _load(ref, "chapter06/random_walk.py")
    if runs != 100:
        raise SystemExit("fig-6.2: the reference's batch_updating fixes 100 runs; run it with --runs 100")
    for method in ("TD", "MC"):
        rw.batch_updating(method, 101)


def ref_fig_6_3(ref: Path, runs: int) -> None:
    w = _load(ref, "chapter06/windy_grid_world.py")
    for _ in range(runs):
        q = np.zeros((w.WORLD_HEIGHT, w.WORLD_WIDTH, 4))
        for _ in range(170):
            w.episode(q)


def ref_fig_6_4(ref: Path, runs: int) -> None:
    c = _load(ref, "chapter06/cliff_walking.py")
    for _ in range(runs):
        q_sarsa = np.zeros((c.WORLD_HEIGHT, c.WORLD_WIDTH, 4))
        q_q = np.copy(q_sarsa)
        for _ in range(500):
            c.sarsa(q_sarsa)
            c.q_learning(q_q)


def ref_fig_6_6(ref: Path, runs: int) -> None:
    c = _load(ref, "chapter06/cliff_walking.py")
    for _ in range(runs):
        for alpha in np.arange(0.1, 1.1, 0.1):
            q_sarsa = np.zeros((c.WORLD_HEIGHT, c.WORLD_WIDTH, 4))
            q_expected, q_q = np.copy(q_sarsa), np.copy(q_sarsa)
            for _ in range(1000):
                c.sarsa(q_sarsa, expected=False, step_size=alpha)
                c.sarsa(q_expected, expected=True, step_size=alpha)
                c.q_learning(q_q, step_size=alpha)


def _ref_changing_maze(ref: Path, runs: int, blocking: bool) -> None:
    """figure_8_4's / figure_8_5's set-up, then the script's own changing_maze."""
    mz = _load(ref, "chapter08/maze.py")
    maze, params = mz.Maze(), mz.DynaParams()
    maze.START_STATE, maze.GOAL_STATES = [5, 3], [[0, 8]]
    old, new = ((0, 8), (1, 9)) if blocking else ((1, 9), (1, 8))
    maze.old_obstacles = [[3, i] for i in range(*old)]
    maze.new_obstacles = [[3, i] for i in range(*new)]
    maze.max_steps, maze.obstacle_switch_time = (3000, 1000) if blocking else (6000, 3000)
    params.alpha, params.runs = 1.0, runs
    params.planning_steps, params.time_weight = (10, 1e-4) if blocking else (50, 1e-3)
    mz.changing_maze(maze, params)


def ref_fig_8_4(ref: Path, runs: int) -> None:
    _ref_changing_maze(ref, runs, blocking=True)


def ref_fig_8_5(ref: Path, runs: int) -> None:
    _ref_changing_maze(ref, runs, blocking=False)


def ref_ex_8_4(ref: Path, runs: int) -> None:
    """example_8_4's loop (its parameters), without the plot."""
    mz = _load(ref, "chapter08/maze.py")
    dyna, prioritized = mz.DynaParams(), mz.DynaParams()
    for p in (dyna, prioritized):
        p.planning_steps, p.alpha, p.gamma = 5, 0.5, 0.95
    prioritized.theta = 0.0001
    mazes = [mz.Maze().extend_maze(k) for k in range(1, 6)]
    for _ in range(runs):
        for method, model, params in ((mz.prioritized_sweeping, mz.PriorityModel, prioritized),
                                      (mz.dyna_q, mz.TrivialModel, dyna)):  # fmt: skip
            for maze in mazes:
                q, m = np.zeros(maze.q_size), model()
                while True:
                    method(q, m, maze, params)
                    if mz.check_path(q, maze):
                        break


def ref_fig_8_7(ref: Path, runs: int) -> None:
    ev = _load(ref, "chapter08/expectation_vs_sample.py")
    for b in (2, 10, 100, 1000):  # the script's branchings (rlsuite also draws b = 10,000)
        for _ in range(runs):
            ev.b_steps(b)


def ref_fig_8_8(ref: Path, runs: int) -> None:
    """figure_8_8's loop for the book's four panels' curves (1000 states: b = 1, 3, 10; 10,000 states: b = 1),
    ``runs`` tasks each, evaluated at 20 points as rlsuite's figure (the script: 100 points, 1000 sampled
    episodes each)."""
    ts = _load(ref, "chapter08/trajectory_sampling.py")
    ts.tqdm = iter
    for n, branches in ((1000, (1, 3, 10)), (10_000, (1,))):
        for b in branches:
            tasks = [ts.Task(n, b) for _ in range(runs)]
            for method in (ts.on_policy, ts.uniform):
                for task in tasks:
                    method(task, ts.MAX_STEPS / 20)


# ----- rlsuite, the same quantities through the figure module's code -----
def ours(name: str, runs: int) -> None:
    import tempfile

    from rlsuite.app.reproduce import sutton_barto_ch6_8 as figs
    from rlsuite.app.reproduce._common import ReproduceOptions, _plt

    def close(fig: Any, path: Path) -> None:  # draw, do not write: the reference's loops write no PNG either
        _plt().close(fig)

    saved, figs._save = figs._save, close
    try:
        with tempfile.TemporaryDirectory() as out:
            getattr(figs, name)(Path(out), ReproduceOptions(runs=runs))
    finally:
        figs._save = saved


# experiment -> (the reference, rlsuite's figure function, runs when the figure's own count would keep the
# reference busy for more than about 5 minutes here: then both sides run this count)
EXPERIMENTS: dict[str, tuple[Callable[[Path, int], None], str, int | None]] = {
    "ex-6.2": (ref_ex_6_2, "sb_ex_6_2", None),
    "fig-6.2": (ref_fig_6_2, "sb_fig_6_2", None),
    "fig-6.3": (ref_fig_6_3, "sb_fig_6_3", None),
    "fig-6.4": (ref_fig_6_4, "sb_fig_6_4", None),
    "fig-6.6": (ref_fig_6_6, "sb_fig_6_6", None),
    "fig-6.7": (ref_fig_6_7, "sb_fig_6_7", 1000),
    "fig-7.2": (ref_fig_7_2, "sb_fig_7_2", 20),
    "fig-8.2": (ref_fig_8_2, "sb_fig_8_2", None),
    "fig-8.4": (ref_fig_8_4, "sb_fig_8_4", None),
    "fig-8.5": (ref_fig_8_5, "sb_fig_8_5", 5),
    "ex-8.4": (ref_ex_8_4, "sb_ex_8_4", 1),
    "fig-8.7": (ref_fig_8_7, "sb_fig_8_7", None),
    "fig-8.8": (ref_fig_8_8, "sb_fig_8_8", 1),
}


def _cpu(fn: Callable[[], Any]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, help="a checkout of the reference repository (without it: rlsuite's "
                                                       "times only)")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs of every experiment, both sides (default: each figure's own, as `reproduce` "
                             "runs it, or the smaller count of EXPERIMENTS where the reference would take more "
                             "than about 5 minutes)")  # fmt: skip
    parser.add_argument("--only", choices=list(EXPERIMENTS), action="append", help="run only these")
    args = parser.parse_args(argv)
    if args.reference is not None and not (args.reference / "chapter06" / "random_walk.py").exists():
        print(f"{args.reference}: not a checkout of the reference (no chapter06/random_walk.py)", file=sys.stderr)
        return 2
    print(f"{'experiment':<10} {'runs':>5} {'reference s':>12} {'rlsuite s':>10} {'ratio':>7}")
    from rlsuite.app.reproduce._common import _plt
    from rlsuite.app.reproduce.sutton_barto_ch6_8 import RUNS

    _plt()  # matplotlib imported before any timing (the reference's scripts import it too)
    from rlsuite.agents.tabular import compiled  # numba's import and the kernels' loading: once per process

    once = _cpu(compiled.warm_up)
    print(f"{'(once)':<10} {'':>5} {'':>12} {once:>10.2f}  numba imported, compiled loops loaded (or compiled: the "
          "first run after an install)", flush=True)

    for name in args.only or EXPERIMENTS:
        ref_fn, fig, capped = EXPERIMENTS[name]
        runs = args.runs or capped or RUNS["sb-" + name][0]
        t_ours = _cpu(lambda fig=fig, runs=runs: ours(fig, runs))
        if args.reference is None:
            print(f"{name:<10} {runs:>5} {'-':>12} {t_ours:>10.2f}", flush=True)
            continue
        np.random.seed(0)
        t_ref = _cpu(lambda ref_fn=ref_fn, runs=runs: ref_fn(args.reference, runs))
        print(f"{name:<10} {runs:>5} {t_ref:>12.2f} {t_ours:>10.2f} {t_ref / t_ours:>6.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
