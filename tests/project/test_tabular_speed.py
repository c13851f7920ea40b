"""benchmarks/tabular_speed.py runs in its --quick mode and its figures say what they should."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_tabular_speed_quick_mode(tmp_path) -> None:
    out = tmp_path / "speed.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "tabular_speed.py"), "--quick", "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    fig = report["fig_2_2"]
    assert fig["figure"] == "Sutton & Barto fig 2.2, 3 curves x 2000 runs x 1000 steps"
    assert fig["baseline"] == "per-run loop, ShangtongZhang style" and fig["baseline_measured_on_runs"] == 5
    # CPU times of this process: the batched agent is far ahead of the per-run loop even on a busy machine
    assert fig["ratio"] > 20, fig
    assert fig["goal_met"] == (fig["rlsuite_s"] < 1.0)
    # rlsuite's curves are the book's (2000 runs: late % optimal of eps = 0.1 near 80%, greedy near 1/3)
    late = fig["late_optimal_action"]
    assert abs(late["0.1"]["rlsuite"] - 0.80) < 0.04 and abs(late["0.0"]["rlsuite"] - 0.36) < 0.05, late
    assert report["value_iteration"]["ratio_vs_P_loop"] > 20
    assert all(r["ratio"] > 3 for r in report["sample_based"].values()), report["sample_based"]
    lines = proc.stdout.splitlines()
    assert any(line.startswith("Sutton & Barto fig 2.2, 3 curves x 2000 runs x 1000 steps: ") for line in lines)
