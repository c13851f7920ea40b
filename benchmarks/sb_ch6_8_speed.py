"""Speed of rlsuite's Sutton & Barto chapter 6-8 experiments against the reference implementation's scripts,
at the same number of runs, measured in the same process (CPU seconds, ``time.process_time``).

The reference is not shipped. Fetch it first (any checkout of the repository works):

    git clone https://github.com/ShangtongZhang/reinforcement-learning-an-introduction /tmp/sb-reference
    PYTHONPATH=. python benchmarks/sb_ch6_8_speed.py --reference /tmp/sb-reference [--runs 20] [--only ex-6.2]

Each experiment below runs the reference's own functions (imported from its ``chapterNN`` scripts, loops
trimmed to the figure's computation, no plotting) and rlsuite's figure code for the same quantity:

- ``ex-6.2``: example 6.2's RMS error curves, TD (3 alphas) and MC (4 alphas), 100 walks, ``--runs`` runs;
- ``fig-6.7``: figure 6.7's % left, Q-learning and Double Q-learning, 300 episodes, ``--runs`` runs;
- ``fig-7.2``: figure 7.2, n = 1..512 x 11 alphas x 10 episodes, ``--runs`` runs;
- ``fig-8.2``: figure 8.2, Dyna-Q with n = 0, 5, 50 on the Dyna maze, 50 episodes, ``--runs`` runs.

Prints each time and the ratio reference / rlsuite (the issue's goal: at least 5x).
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


# ----- rlsuite, the same quantities through the figure module's code -----
def ours(name: str, runs: int) -> None:
    import tempfile

    from rlsuite.app.reproduce import sutton_barto_ch6_8 as figs
    from rlsuite.app.reproduce._common import ReproduceOptions

    with tempfile.TemporaryDirectory() as out:
        getattr(figs, name)(Path(out), ReproduceOptions(runs=runs))


EXPERIMENTS: dict[str, tuple[Callable[[Path, int], None], str]] = {
    "ex-6.2": (ref_ex_6_2, "sb_ex_6_2"),
    "fig-6.7": (ref_fig_6_7, "sb_fig_6_7"),
    "fig-7.2": (ref_fig_7_2, "sb_fig_7_2"),
    "fig-8.2": (ref_fig_8_2, "sb_fig_8_2"),
}


def _cpu(fn: Callable[[], Any]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, required=True, help="a checkout of the reference repository")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs of every experiment, both sides (default: each figure's own, as `reproduce` "
                             "runs it; the reference then takes minutes: figure 7.2 about 15)")  # fmt: skip
    parser.add_argument("--only", choices=list(EXPERIMENTS), action="append", help="run only these")
    args = parser.parse_args(argv)
    if not (args.reference / "chapter06" / "random_walk.py").exists():
        print(f"{args.reference}: not a checkout of the reference (no chapter06/random_walk.py)", file=sys.stderr)
        return 2
    print(f"{'experiment':<10} {'runs':>5} {'reference s':>12} {'rlsuite s':>10} {'ratio':>7}")
    from rlsuite.app.reproduce.sutton_barto_ch6_8 import RUNS

    for name in args.only or EXPERIMENTS:
        ref_fn, fig = EXPERIMENTS[name]
        runs = args.runs or RUNS["sb-" + name][0]
        np.random.seed(0)
        t_ref = _cpu(lambda ref_fn=ref_fn, runs=runs: ref_fn(args.reference, runs))
        t_ours = _cpu(lambda fig=fig, runs=runs: ours(fig, runs))  # includes drawing and saving the PNG
        print(f"{name:<10} {runs:>5} {t_ref:>12.2f} {t_ours:>10.2f} {t_ref / t_ours:>6.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
