"""Third-party messages stay off the console (README): a Ray sweep's console is rlsuite's own two lines,
Ray's start-up lines (the local-instance banner, the token warning) are in log.txt; torch's C++ DDP
warnings under `accelerate launch` are off. Run as a user runs them (subprocesses: Ray's handler and
torch's C++ logging write to the real stderr)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_ray_sweeps_console_has_no_ray_lines(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = tmp_path / "sweep"
    argv = [sys.executable, "-m", "rlsuite", "sweep", "q_learning", "--set", "alpha=0.1", "--seeds", "0-1",
            "--workers", "2", "--ray", "--budget", "2000", "--out", str(out)]  # fmt: skip
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    console = (done.stderr + done.stdout).splitlines()
    assert console == ["sweep: 2 cells, 2 to train (0 finished), 2 at once on Ray",
                       f"sweep: 2 of 2 cells finished; report {out / 'report.md'}"]  # fmt: skip
    assert "Started a local Ray instance" in (out / "log.txt").read_text()


@pytest.mark.slow
def test_accelerate_launch_prints_no_torch_cpp_warnings(tmp_path: Path, free_port: int) -> None:
    """Two CPU processes under `accelerate launch` (DDP over gloo): torch's C++ warning about
    find_unused_parameters (one per rank) stays off the console; rlsuite's result line is printed once."""
    pytest.importorskip("trl")
    import json

    from rlsuite.testing import alignment as T

    sft = T.tiny_sft()
    rng = __import__("numpy").random.default_rng(0)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": p, "chosen": " good " + T.TASK.sample_completion(rng),
                                         "rejected": " bad " + T.TASK.sample_completion(rng)}) + "\n"
                             for p in T.TASK.all_prompts() * 4))  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    env.pop("TORCH_CPP_LOG_LEVEL", None)
    line = (f'accelerate launch --config_file "$(rlsuite config-path accelerate/multi_cpu)" --main_process_port '
            f"{free_port} -m rlsuite align dpo "
            f"--model {sft} --data {pairs} --out {tmp_path / 'dpo'} --use_cpu true --set num_train_epochs=1 "
            "save_strategy=no")  # fmt: skip
    env["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    # a rank's own words (faulthandler's stack on SIGABRT) come first; the launcher's summary last
    assert done.returncode == 0, done.stderr[:3000] + "\n[...]\n" + done.stderr[-1000:]
    assert "reducer.cpp" not in done.stderr and "find_unused_parameters" not in done.stderr, done.stderr[-2000:]
    assert done.stdout.count("dpo: ") == 1 and "implicit reward margin" in done.stdout
