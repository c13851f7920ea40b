"""Wall time of ``rlsuite sweep`` at the scale issue 24 names, against its targets.

1. Tabular: 3 algorithms (Q-learning, Sarsa, Expected Sarsa) x 3 step sizes x 10 seeds on the book's grid
   world, ``--workers 2``. Target: under 3 minutes (180 s) on the 2-core machine.
2. SB3: one PPO sweep of ``--seeds`` cells with ``--workers 1`` (the baseline) and again with
   ``--workers 2`` (fresh folders). Target: the 2-worker wall time at most 0.6x the 1-worker one.

The machine's load average is printed beside each figure: on shared cores the figures move with it.

    PYTHONPATH=. python benchmarks/sweep_scale.py [--tabular-budget 1000000] [--sb3-budget 8192] [--sb3-seeds 0-3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TABULAR = ["q_learning", "sarsa", "expected_sarsa"]
TABULAR_TARGET_S = 180.0
WORKERS_TARGET = 0.6


def sweep(args: list[str], out: Path) -> float:
    """``rlsuite sweep ARGS --out OUT`` in a fresh process; its wall time in seconds."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "rlsuite", "sweep", *args, "--out", str(out)], env=env,
                          capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"sweep failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return wall


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tabular-budget", type=int, default=1_000_000, help="steps of each tabular cell")
    parser.add_argument("--sb3-budget", type=int, default=8192, help="env steps of each PPO cell")
    parser.add_argument("--sb3-seeds", default="0-3", help="seeds of the PPO sweep (its cells)")
    parser.add_argument("--skip-tabular", action="store_true")
    parser.add_argument("--skip-sb3", action="store_true")
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sweep_scale_") as tmp:
        root = Path(tmp)
        if not ns.skip_tabular:
            before = load()
            wall = sweep([*TABULAR, "--set", "alpha=0.05,0.1,0.2", "--seeds", "0-9", "--budget",
                          str(ns.tabular_budget), "--workers", "2"], root / "tabular")  # fmt: skip
            verdict = "met" if wall < TABULAR_TARGET_S else "NOT met"
            print(f"tabular sweep, 3 algorithms x 3 alpha x 10 seeds = 90 cells of {ns.tabular_budget:,} steps, "
                  f"--workers 2: {wall:.1f} s vs target {TABULAR_TARGET_S:.0f} s: {verdict} "
                  f"({before} before, {load()} after)")  # fmt: skip
        if not ns.skip_sb3:
            common = ["ppo", "--seeds", ns.sb3_seeds, "--budget", str(ns.sb3_budget),
                      "--set", "eval_freq=0", "checkpoint_freq=0", "progress_bar=false"]  # fmt: skip
            before = load()
            one = sweep([*common, "--workers", "1"], root / "sb3_w1")
            two = sweep([*common, "--workers", "2"], root / "sb3_w2")
            ratio = two / one
            verdict = "met" if ratio <= WORKERS_TARGET else "NOT met"
            print(f"SB3 PPO sweep, seeds {ns.sb3_seeds} x {ns.sb3_budget:,} env steps: --workers 1 (baseline) "
                  f"{one:.1f} s, --workers 2 {two:.1f} s -> {ratio:.2f}x vs target {WORKERS_TARGET}x: {verdict} "
                  f"({before} before, {load()} after)")  # fmt: skip


if __name__ == "__main__":
    main()
