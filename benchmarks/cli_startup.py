"""How fast the CLI answers: each command's wall time against a bare interpreter's start-up.

    python benchmarks/cli_startup.py [--quick] [--repeats N] [--checkout DIR] [--json F]

Each command runs in a fresh Python process (``python -m rlsuite ...``, output discarded, in the
checkout's folder and with it on ``PYTHONPATH``), ``--repeats`` times (5; ``--quick``: 2) in turn with the others;
a line shows the best wall time (the least disturbed by other processes on a shared machine), the
median, the best CPU time (user + system of the process) and the ratio of the best wall time to
the baseline, ``python -c pass``. Goals (issue 19): ``rlsuite --help``, ``envs``, ``algos`` under
0.5 s; ``train q_learning --help`` under 1 s; ``align dpo --help`` under 3 s. ``align`` and ``vision``
keep their ``--help`` text in the rlsuite cache (``$RLSUITE_CACHE``): the warm-up run makes it, the
timed runs read it; ``--checkout DIR`` times another copy of the code (e.g. before a change).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "python -c pass"
# label -> (arguments of python, goal in seconds or None)
COMMANDS: dict[str, tuple[list[str], float | None]] = {
    BASELINE: (["-c", "pass"], None),
    "python -c 'import rlsuite'": (["-c", "import rlsuite"], None),
    "rlsuite --help": (["-m", "rlsuite", "--help"], 0.5),
    "rlsuite envs": (["-m", "rlsuite", "envs"], 0.5),
    "rlsuite algos": (["-m", "rlsuite", "algos"], 0.5),
    "rlsuite train q_learning --help": (["-m", "rlsuite", "train", "q_learning", "--help"], 1.0),
    "rlsuite train ppo --help": (["-m", "rlsuite", "train", "ppo", "--help"], 1.0),
    "rlsuite align dpo --help": (["-m", "rlsuite", "align", "dpo", "--help"], 3.0),
}


def run_once(args: list[str], root: Path = ROOT) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one fresh ``python ARGS`` with ``root``'s code."""
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, *args], env=env, cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(repeats: int, root: Path = ROOT) -> dict[str, dict[str, float]]:
    walls: dict[str, list[float]] = {label: [] for label in COMMANDS}
    cpus: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for args, _goal in COMMANDS.values():  # warm the file cache (and make the kept help texts)
        run_once(args, root)
    for _ in range(repeats):
        for label, (args, _goal) in COMMANDS.items():
            wall, cpu = run_once(args, root)
            walls[label].append(wall)
            cpus[label].append(cpu)
    return {
        label: {"best_s": min(walls[label]), "median_s": statistics.median(walls[label]), "cpu_s": min(cpus[label])}
        for label in COMMANDS
    }


def report(results: dict[str, dict[str, float]]) -> list[str]:
    base = results[BASELINE]["best_s"]
    lines = []
    for label, r in results.items():
        goal = COMMANDS[label][1]
        ratio = "baseline" if label == BASELINE else f"x{r['best_s'] / base:.1f}"
        verdict = "" if goal is None else f"  goal < {goal:g} s: {'met' if r['best_s'] < goal else 'NOT met'}"
        lines.append(f"{label:<34} {r['best_s']:6.2f} s (median {r['median_s']:5.2f})  cpu {r['cpu_s']:5.2f} s"
                     f"  {ratio:>9}{verdict}")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats instead of 5")
    parser.add_argument("--repeats", type=int, default=None, help="runs of each command (default 5; --quick 2)")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the rlsuite code to time (default: this one)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CLI start-up of {args.checkout}, best of {repeats} fresh processes (Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load:.1f})")  # fmt: skip
    results = measure(repeats, args.checkout.resolve())
    for line in report(results):
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"repeats": repeats, "load_average": load, "results": results}, indent=2))


if __name__ == "__main__":
    main()
