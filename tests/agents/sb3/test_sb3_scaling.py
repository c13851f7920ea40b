"""Issue 14 for SB3: updates, evaluations and checkpoints scale with the number of envs; torch threads
are chosen deliberately; the benchmark scripts run in a quick mode."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sb3_helpers import parse_train, train

from rlsuite.agents import sb3_io
from rlsuite.agents.sb3 import plan_run
from rlsuite.agents.sb3_config import A2CConfig, DQNConfig, PPOConfig
from rlsuite.app import train_sb3

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("config", "budget", "expected"),
    [
        # PPO without n_steps: SB3's 2048 env steps per update, split over the envs (at least 8 per env)
        (PPOConfig(), 50_000, (2048, 2048, 25, 5 * 2048, 5 * 2048)),
        (PPOConfig(n_envs=8), 50_000, (256, 2048, 25, 5 * 256, 5 * 256)),
        (PPOConfig(n_envs=1024), 50_000, (8, 8192, 7, 8, 8)),
        # given n_steps: evaluations and checkpoints every round(freq / rollout) updates, at least one
        (PPOConfig(n_envs=8, n_steps=128, eval_freq=5000, checkpoint_freq=0), 20_480, (128, 1024, 20, 5 * 128, 0)),
        (A2CConfig(n_envs=16), 10_000, (5, 80, 125, 125 * 5, 125 * 5)),
        # off-policy: callbacks run once per vector step
        (DQNConfig(n_envs=4, eval_freq=1000), 10_000, (1, None, 619, 250, 2500)),
    ],
    ids=["ppo-1", "ppo-8", "ppo-1024", "ppo-given", "a2c-16", "dqn-4"],
)
def test_plan_scales_with_the_number_of_envs(config, budget, expected):
    plan = plan_run(config, budget, quiet=True)
    assert (plan.n_steps, plan.rollout, plan.updates, plan.eval_every, plan.checkpoint_every) == expected
    assert plan.warnings == []


def test_a_budget_of_few_updates_is_logged(caplog):
    caplog.set_level(logging.WARNING, logger="rlsuite")
    plan_run(PPOConfig(n_envs=1024), 16_384)
    plan_run(DQNConfig(learning_starts=1000), 800)
    assert caplog.messages == [
        "a budget of 16384 env steps allows only 2 update(s) of 8192 env steps (n_steps 8 x n_envs 1024): "
        "raise --budget or lower n_steps / n_envs",
        "a budget of 800 env steps ends before learning_starts=1000: DQN would never train",
    ]


def test_the_readme_batched_example_updates_before_it_evaluates(tmp_path, caplog):
    """``--set vec_env=batched n_envs=1024``: the yml's 128 steps per env (tuned for 8 envs) shrink to 8,
    and evaluations and checkpoints happen once per update, not every few vector steps."""
    caplog.set_level(logging.INFO, logger="rlsuite")
    argv = ["ppo", "--env", "rlsuite/GridWorldEpisodic-v0", "--set", "vec_env=batched", "n_envs=1024"]
    _, config, _ = parse_train(argv)
    assert (config.n_steps, config.batch_size, config.eval_freq, config.checkpoint_freq) == (8, 256, 10_000, 10_000)
    assert ("n_envs 1024 (rlsuite/app/configs/ppo.yml [rlsuite/GridWorldEpisodic-v0] has 8): n_steps 128 -> 8 ("
            "at least 8 per env), so 8192 env steps per update "
            "(1024 x 8; the file's 8 x 128 = 1024)") in caplog.messages  # fmt: skip
    _, config, _ = parse_train([*argv, "--set", "n_steps=16"])
    assert config.n_steps == 16  # given on the command line: kept
    run = train(tmp_path / "run", "ppo", "rlsuite/GridWorldEpisodic-v0", "vec_env=batched", "n_envs=1024",
                extra=["--budget", "16384"])  # fmt: skip
    with np.load(run / "eval" / "evaluations.npz") as data:
        assert list(data["timesteps"]) == [8192, 16384]
    assert [s for s, _ in sb3_io.checkpoints(run)] == [8192, 16384]
    assert "allows only 2 update(s) of 8192 env steps" in caplog.text


def test_torch_threads_are_chosen_not_left_to_torch(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        train_sb3._prepare(PPOConfig(), "cpu")
        assert torch.get_num_threads() == 1  # tiny policies: 1 thread per process
        train_sb3._prepare(PPOConfig(torch_threads=2), "cpu")
        assert torch.get_num_threads() == 2  # unless the config says otherwise
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_threads_benchmark_quick(tmp_path):
    out = tmp_path / "threads.json"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "threads.py"), "--quick", "--json", str(out)],
                   env=env, check=True, timeout=900)  # fmt: skip
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"ppo_quiet", "ppo_busy"}
    for result in results.values():
        assert result["rlsuite"]["threads"] == 1
        assert result["ratio"] == pytest.approx(result["default"]["seconds"] / result["rlsuite"]["seconds"])


@pytest.mark.slow
def test_sb3_throughput_benchmark_quick(tmp_path):
    out = tmp_path / "sb3.json"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "sb3_throughput.py"), "--quick", "--json", str(out)],
                   env=env, check=True, timeout=900)  # fmt: skip
    figures = json.loads(out.read_text())
    assert {"ppo_gridworld_fps", "ppo_frozenlake_fps", "ppo_batched_64_fps", "step_batched_64_fps"} <= set(figures)
    assert all(v > 0 for k, v in figures.items() if k.endswith("_fps"))
