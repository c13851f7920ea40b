"""``rlsuite train/eval`` with SB3: learning on small budgets, run folders, resume, config errors."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rlsuite.agents import sb3
from rlsuite.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
QUIET = ["torch_threads=1", "progress_bar=false"]


def train(tmp_path: Path, algo: str, env_id: str, *overrides: str, seed: int = 0) -> Path:
    argv = [
        "train",
        algo,
        "--env",
        env_id,
        "--seed",
        str(seed),
        "--runs-dir",
        str(tmp_path / "runs"),
        "--device",
        "cpu",
    ]
    assert main([*argv, "--set", *QUIET, *overrides]) == 0
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if f"__{algo}__" in p.name]
    return run_dir


def evaluate(run_dir: Path, episodes: int = 5) -> dict:
    assert main(["eval", str(run_dir), "--episodes", str(episodes), "--device", "cpu"]) == 0
    return json.loads((run_dir / "eval.json").read_text())


def error_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlsuite: error: ") and "\n" not in err and "Traceback" not in err
    return err


def csv_steps(run_dir: Path) -> list[int]:
    with open(run_dir / "progress.csv") as f:
        return [int(float(row["time/total_timesteps"])) for row in csv.DictReader(f)]


@pytest.mark.parametrize(("algo", "budget"), [("ppo", 20_000), ("dqn", 15_000)])
def test_learns_the_book_grid_world_optimum(tmp_path, algo, budget):
    """On Zhao's 5x5 grid world the greedy policy's exact value at s1 equals v*(s1) = 5.83 (gamma 0.9)."""
    run_dir = train(tmp_path, algo, "rlsuite/GridWorld-v0", f"n_timesteps={budget}", "eval_freq=5000")
    report = evaluate(run_dir)
    optimum = report["optimum"]
    assert optimum["gamma"] == 0.9
    assert optimum["v_star_start"] == pytest.approx(5.832, abs=1e-3)
    assert optimum["value_gap_start"] == pytest.approx(0.0, abs=1e-6)
    assert report["return_mean"] == pytest.approx(optimum["optimal_return_mean"])
    for name in ("config.json", "model.zip", "progress.csv", "eval/evaluations.npz", "eval/best_model.zip"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    config = json.loads((run_dir / "config.json").read_text())
    assert config["family"] == "sb3" and config["hyperparams"]["n_timesteps"] == budget
    assert config["hyperparams"]["gamma"] == 0.9  # from configs/<algo>.yml


def test_resume_continues_steps_checkpoints_and_logs(tmp_path):
    settings = [
        "n_timesteps=2048",
        "n_envs=2",
        "n_steps=256",
        "checkpoint_freq=1024",
        "eval_freq=1024",
        "learning_rate=lin_0.002",
    ]
    run_dir = train(tmp_path, "a2c", "rlsuite/GridWorldEpisodic-v0", *settings)
    assert [s for s, _ in sb3.checkpoints(run_dir)] == [1024, 2048]
    first_rows = csv_steps(run_dir)
    assert main(["train", "a2c", "--resume", str(run_dir), "--set", "n_timesteps=4096", *QUIET]) == 0
    steps = [s for s, _ in sb3.checkpoints(run_dir)]
    assert steps[:2] == [1024, 2048] and steps[-1] == 4096
    rows = csv_steps(run_dir)
    assert rows[: len(first_rows)] == first_rows and rows[-1] == 4096 and rows == sorted(rows)
    assert len(list((run_dir / "tb").glob("events.out.tfevents.*"))) == 2
    with np.load(run_dir / "eval" / "evaluations.npz") as data:
        assert list(data["timesteps"]) == [1024, 2048, 3072, 4096]
    assert evaluate(run_dir, episodes=2)["timesteps"] == 4096


def test_dqn_resume_restores_the_replay_buffer(tmp_path, capsys):
    run_dir = train(tmp_path, "dqn", "rlsuite/GridWorld-v0", "n_timesteps=600", "learning_starts=100")
    assert (run_dir / "checkpoints" / "model_replay_buffer_600_steps.pkl").is_file()
    assert main(["train", "dqn", "--resume", str(run_dir), "--budget", "900", "--set", *QUIET]) == 0
    assert "from model_600_steps.zip (step 600)" in capsys.readouterr().out
    assert sb3.checkpoints(run_dir)[-1][0] == 900
    (run_dir / "model.zip").unlink()  # as after Ctrl-C: eval falls back to the last checkpoint
    assert evaluate(run_dir, episodes=1)["timesteps"] == 900


def test_pixels_with_cnn_policy_chosen_by_config(tmp_path):
    wrapper = "env_wrapper=[{rlsuite.envs.wrappers.PixelObservation: {cell_px: 8}}]"
    run_dir = train(
        tmp_path,
        "ppo",
        "rlsuite/GridWorld-v0",
        "policy=CnnPolicy",
        wrapper,
        "n_timesteps=256",
        "n_envs=2",
        "n_steps=64",
        "batch_size=64",
        "eval_freq=0",
    )
    report = evaluate(run_dir, episodes=1)
    assert 0.0 <= report["optimum"]["optimal_action_fraction"] <= 1.0  # greedy actions read from 25 images


def test_batched_vec_env_and_bandit_and_frozenlake(tmp_path):
    run_dir = train(
        tmp_path,
        "ppo",
        "rlsuite/GridWorldEpisodic-v0",
        "vec_env=batched",
        "n_envs=64",
        "n_steps=8",
        "batch_size=256",
        "n_timesteps=1024",
        "eval_freq=512",
    )
    assert json.loads((run_dir / "config.json").read_text())["run"]["vec_env"] == "batched"
    assert csv_steps(run_dir)[-1] == 1024
    bandit = train(
        tmp_path / "b",
        "dqn",
        "rlsuite/KArmedBandit-v0",
        "n_timesteps=300",
        "learning_starts=100",
        "eval_freq=0",
    )
    assert "optimum" not in evaluate(bandit, episodes=1)  # no exact model: no DP gap
    lake = train(tmp_path / "f", "a2c", "FrozenLake-v1", "n_timesteps=200", "eval_freq=0")
    assert evaluate(lake, episodes=2)["optimum"]["v_star_start"] > 0.5  # FrozenLake 4x4, gamma 0.99


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--set", "lerning_rate=0.1"], "unknown key 'lerning_rate' for PPO"),
        (["--set", "n_timesteps=-5"], "n_timesteps must be a positive number"),
        (["--set", "eval_freq=often"], "eval_freq: expected an integer"),
        (["--set", "env_wrapper=nowhere.Wrapper"], "env_wrapper: cannot import 'nowhere.Wrapper'"),
        (["--set", "normalize=true"], "'normalize' is not supported by rlsuite train"),
        (["--set", "n_steps=0"], "PPO"),
        (["--config", "missing.yml"], "missing.yml: config file not found"),
        (["--set", "learning_rate=fast"], "learning_rate: expected a number or 'lin_<number>'"),
        (
            ["--set", "vec_env=batched", "--env", "FrozenLake-v1"],
            "vec_env=batched: FrozenLake-v1 has no vector entry point",
        ),
        (["--set", "policy=CnnPolicy"], "PPO"),
        (["--set", "env_kwargs={n_rows: 1}"], "--env rlsuite/GridWorld-v0 with env_kwargs {'n_rows': 1}:"),
        (
            ["--set", "env_wrapper=[{rlsuite.envs.wrappers.PixelObservation: {cell_px: 2}}]"],
            "env_wrapper: PixelObservation: cell_px",
        ),
    ],
)
def test_config_errors_are_one_line(tmp_path, capsys, extra, needle):
    argv = ["train", "ppo", "--env", "rlsuite/GridWorld-v0", "--runs-dir", str(tmp_path / "runs"), *extra]
    assert needle in error_line(capsys, argv)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing half-written


def test_env_and_resume_errors_are_one_line(tmp_path, capsys):
    config = tmp_path / "ppo.yml"
    config.write_text("rlsuite/GridWorld-v0:\n  n_timesteps: 100\n")
    err = error_line(capsys, ["train", "ppo", "--env", "FrozenLake-v1", "--config", str(config)])
    assert "no hyperparameters for 'FrozenLake-v1' (has: rlsuite/GridWorld-v0)" in err
    config.write_text("rlsuite/Nope-v0:\n  n_timesteps: 100\n")
    err = error_line(capsys, ["train", "ppo", "--env", "rlsuite/Nope-v0", "--config", str(config)])
    assert err.startswith("rlsuite: error: --env rlsuite/Nope-v0:")
    assert "not a run folder" in error_line(capsys, ["train", "ppo", "--resume", str(tmp_path)])


def test_video_without_moviepy_gives_the_install_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "moviepy", None)  # `import moviepy` now raises ImportError
    argv = [
        "train",
        "ppo",
        "--env",
        "rlsuite/GridWorld-v0",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--set",
        "video=true",
    ]
    assert error_line(capsys, argv) == f"rlsuite: error: {sb3.VIDEO_HINT}"
    assert not (tmp_path / "runs").exists()


def test_video_of_evaluation_episodes(tmp_path):
    pytest.importorskip("moviepy")
    run_dir = train(
        tmp_path,
        "ppo",
        "rlsuite/GridWorldEpisodic-v0",
        "n_timesteps=64",
        "n_envs=1",
        "n_steps=64",
        "batch_size=64",
        "eval_freq=0",
        "video=true",
        "video_episodes=1",
    )
    assert len(list((run_dir / "videos").glob("*.mp4"))) == 1


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_rl_zoo3_trains_with_the_same_config_files(tmp_path, algo):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [
        sys.executable,
        "-m",
        "rl_zoo3.train",
        "--algo",
        algo,
        "--env",
        "rlsuite/GridWorld-v0",
        "--gym-packages",
        "rlsuite",
        "-conf",
        str(ROOT / "rlsuite" / "app" / "configs" / f"{algo}.yml"),
        "-n",
        "1024",
        "-f",
        str(tmp_path),
        "--eval-freq",
        "-1",
        "--seed",
        "0",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    saved = tmp_path / algo / "rlsuite-GridWorld-v0_1" / "rlsuite-GridWorld-v0.zip"
    assert saved.is_file()
    assert f"Loading hyperparameters from: {ROOT / 'rlsuite' / 'app' / 'configs' / f'{algo}.yml'}" in done.stdout
    assert re.search(r"'gamma', 0\.9\)", done.stdout)  # the grid world's entry, not RL Zoo's defaults


def test_ppo_on_batched_copies_solves_the_episodic_grid_world(tmp_path):
    """64 batched copies, random starts, termination at the target: near-exact values from every start."""
    settings = [
        "vec_env=batched",
        "n_envs=64",
        "n_steps=32",
        "batch_size=512",
        "eval_freq=0",
        "n_timesteps=100000",
    ]
    run_dir = train(tmp_path, "ppo", "rlsuite/GridWorldEpisodic-v0", *settings)
    report = evaluate(run_dir, episodes=20)
    assert report["optimum"]["value_gap_start"] < 0.02  # mean over the 24 start cells
    assert report["return_mean"] >= report["optimum"]["optimal_return_mean"] - 0.1


@pytest.mark.slow
def test_tour_section(tmp_path):
    numbers = sb3.tour_section(tmp_path, quick=False)
    for algo in ("ppo", "dqn"):
        assert numbers[algo]["v_pi_start"] == pytest.approx(numbers[algo]["v_star_start"], abs=1e-4)
        assert (tmp_path / f"sb3_{algo}_gridworld.png").is_file()
    assert (tmp_path / "sb3_gridworld_eval.png").is_file()
