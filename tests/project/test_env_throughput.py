"""benchmarks/env_throughput.py runs in its --quick mode and reports ratios against its baselines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_env_throughput_quick_reports_ratios_against_the_baselines(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = ROOT / "benchmarks" / "env_throughput.py"
    proc = subprocess.run([sys.executable, str(script), "--quick", "--json", str(out)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = {row["case"]: row for row in json.loads(out.read_text())}
    assert list(rows)[:3] == ["GridWorld-v0 (gym.make)", "batched GridWorld-v0 N=1 (numpy)",
                              "batched GridWorld-v0 N=4096 (numpy)"]  # fmt: skip
    single = rows["GridWorld-v0 (gym.make)"]
    assert single["baseline"] == "FrozenLake-v1 (gym.make)" and single["goal"] == 5.0
    batched = rows["batched GridWorld-v0 N=4096 (numpy)"]
    assert batched["baseline"] == "SyncVectorEnv FrozenLake N=4096" and batched["goal"] == 1000.0
    for row in rows.values():
        assert row["ratio"] == pytest.approx(row["steps_per_s"] / row["baseline_steps_per_s"])
        assert f"x{row['ratio']:,.1f}" in proc.stdout
