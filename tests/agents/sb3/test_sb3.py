"""``rlsuite train/eval`` with SB3: typed configs, learning on small budgets, run folders, resume, RL Zoo."""

from __future__ import annotations

import csv
import dataclasses
import inspect
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import stable_baselines3
from recording import reporting_to
from sb3_helpers import QUIET, cli, evaluate, parse_train, train

from rlsuite.agents import sb3, sb3_io
from rlsuite.agents.sb3_config import CONFIGS, A2CConfig, DQNConfig, PPOConfig
from rlsuite.app import train_sb3
from rlsuite.app.args import FLAG_NAMES

ROOT = Path(__file__).resolve().parents[3]


def csv_steps(run_dir: Path) -> list[int]:
    with open(run_dir / "progress.csv") as f:
        return [int(float(row["time/total_timesteps"])) for row in csv.DictReader(f)]


def checkpoint_steps(run_dir: Path) -> list[int]:
    return [s for s, _ in sb3_io.checkpoints(run_dir)]


# ----- typed configs and the generated CLI -----
@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn"])
def test_every_field_is_a_constructor_argument_or_a_run_setting(algo):
    cls = CONFIGS[algo]
    sb3_params = set(inspect.signature(getattr(stable_baselines3, cls.sb3_class).__init__).parameters)
    kwargs = cls().sb3_kwargs(n_steps=8)
    assert set(kwargs) <= sb3_params
    fields = {f.name for f in dataclasses.fields(cls)}
    assert fields == set(kwargs) - {"verbose"} | set(cls.RUN_FIELDS) | ({"train_freq_unit"} if algo == "dqn" else set())
    assert "verbose" not in fields  # a global CLI switch; SB3's is sb3_verbose
    # the defaults are SB3's own
    for name, param in inspect.signature(getattr(stable_baselines3, cls.sb3_class).__init__).parameters.items():
        if name in fields and name not in ("n_steps", "policy", "train_freq"):
            assert getattr(cls(), name) == param.default, name


def test_help_lists_every_ppo_field(capsys):
    with pytest.raises(SystemExit):
        parse_train(["ppo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in dataclasses.fields(PPOConfig):
        assert f"--{FLAG_NAMES.get(f.name, f.name)} " in text, f.name  # torch_threads is --threads everywhere
    # SB3's default, and the value the shipped YAML gives the default env
    assert "discount factor (range [0, 1]) (default: 0.99; 0.9 on rlsuite/GridWorld-v0 from ppo.yml)" in text
    assert "(default: 50,000 env steps (n_timesteps) on rlsuite/GridWorld-v0 from ppo.yml)" in text
    for flag in ("--budget", "--out", "--resume", "--overwrite", "--env_kwargs", "--config", "--set"):
        assert flag in text


def test_flags_set_and_yaml_reach_the_typed_config(tmp_path):
    _, config, opts = parse_train(
        ["ppo", "--env", "rlsuite/GridWorld-v0", "--learning_rate", "3e-4", "--set", "n_steps=64", "clip_range=lin_0.3"]
    )
    assert (config.learning_rate, config.n_steps, config.clip_range) == (3e-4, 64, "lin_0.3")
    assert (config.gamma, config.n_envs, config.batch_size) == (0.9, 8, 256)  # the yml entry of the grid world
    assert opts.env == "rlsuite/GridWorld-v0" and opts.budget is None
    kwargs = config.sb3_kwargs()
    assert kwargs["clip_range"](1.0) == pytest.approx(0.3) and kwargs["clip_range"](0.0) == 0.0
    _, config, _ = parse_train(["dqn", "--env", "rlsuite/GridWorld-v0"])
    assert config.policy_kwargs == {"net_arch": [64, 64]} and config.sb3_kwargs()["train_freq"] == (4, "step")
    # a user's file: RL Zoo's keyed layout, or a flat mapping; train_freq as RL Zoo's pair
    keyed = tmp_path / "dqn.yml"
    keyed.write_text("CartPole-v1:\n  train_freq: [2, episode]\n  policy_kwargs: {activation_fn: Tanh}\n")
    _, config, _ = parse_train(["dqn", "--env", "CartPole-v1", "--config", str(keyed)])
    assert config.sb3_kwargs()["train_freq"] == (2, "episode")
    import torch

    assert config.sb3_kwargs()["policy_kwargs"] == {"activation_fn": torch.nn.Tanh}
    keyed.write_text("default:\n  gamma: 0.5\nCartPole-v1:\n  gamma: 0.8\n")  # RL Zoo's fallback entry
    assert parse_train(["dqn", "--env", "Acrobot-v1", "--config", str(keyed)])[1].gamma == 0.5
    assert parse_train(["dqn", "--env", "CartPole-v1", "--config", str(keyed)])[1].gamma == 0.8
    flat = tmp_path / "flat.yml"
    flat.write_text("learning_rate: lin_0.002\nn_envs: 2\n")
    _, config, _ = parse_train(["a2c", "--config", str(flat), "--set", "n_envs=3"])
    assert (config.learning_rate, config.n_envs) == ("lin_0.002", 3)
    assert isinstance(config, A2CConfig)


def test_any_gymnasium_id_trains_on_the_class_defaults(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="rlsuite")
    _, config, _ = parse_train(["ppo", "--env", "CartPole-v1"])
    assert config == PPOConfig()
    assert "rlsuite/app/configs/ppo.yml has no entry for CartPole-v1: training with PPOConfig's defaults" in caplog.text
    run = train(tmp_path / "cp", "ppo", "CartPole-v1", "n_steps=64", "batch_size=64", "n_epochs=1", "eval_freq=0",
                extra=["--budget", "128"])  # fmt: skip
    meta = json.loads((run / "config.json").read_text())
    assert meta["config"]["gamma"] == 0.99 and meta["budget"] == 128
    assert "optimum" not in evaluate(run, episodes=1)  # no exact model for CartPole


def test_env_kwargs_from_the_yml_and_from_the_flag_reach_the_env(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="rlsuite")  # as the CLI's console.setup does
    zoo = tmp_path / "a2c.yml"
    zoo.write_text("rlsuite/GridWorld-v0:\n  gamma: 0.9\n  env_kwargs: {r_target: 2.0}\n")
    argv = ["a2c", "--env", "rlsuite/GridWorld-v0", "--config", str(zoo)]
    _, _, opts = parse_train(argv)
    assert opts.env_kwargs == {"r_target": 2.0}
    _, _, opts = parse_train([*argv, "--env_kwargs", "{r_target: 3.0}"])
    assert opts.env_kwargs == {"r_target": 3.0}
    run = train(tmp_path / "r", "a2c", "rlsuite/GridWorld-v0", "eval_freq=0", "sb3_verbose=1",
                extra=["--config", str(zoo), "--budget", "500"])  # fmt: skip
    assert json.loads((run / "config.json").read_text())["env_kwargs"] == {"r_target": 2.0}
    # SB3's tables go to the log (A2C writes one every 100 updates of 5 steps)
    assert "| time/                 |" in (run / "log.txt").read_text()
    # v*(s1) is the book's 5.832 with r_target 1; the report's is that of the env with r_target 2
    import gymnasium as gym

    from rlsuite.agents.tabular.dp import value_iteration
    from rlsuite.envs.model import tabular_model

    v_star, _, _ = value_iteration(tabular_model(gym.make("rlsuite/GridWorld-v0", r_target=2.0)), 0.9)
    assert v_star[0] == pytest.approx(12.393, abs=1e-3)
    assert evaluate(run, episodes=1)["v_star_start"] == pytest.approx(v_star[0], abs=1e-9)


# ----- learning -----
@pytest.mark.parametrize(
    ("algo", "budget", "evaluated_at"),
    [("ppo", 20_480, [5120, 10240, 15360, 20480]), ("dqn", 15_000, [5000, 10000, 15000])],
)
def test_learns_the_book_grid_world_optimum(tmp_path, capsys, algo, budget, evaluated_at):
    """On Zhao's 5x5 grid world the greedy policy's exact value at s1 equals v*(s1) = 5.83 (gamma 0.9).

    PPO's rollouts are 8 envs x 128 steps: eval_freq=5000 becomes every 5 rollouts (5120 steps)."""
    run_dir = train(tmp_path / "run", algo, "rlsuite/GridWorld-v0", "eval_freq=5000", extra=["--budget", str(budget)])
    out = capsys.readouterr().out
    line = " ".join(out.split())  # wrapped at word boundaries to 80 columns
    assert all(len(x) < 80 or " " not in x.strip() for x in out.splitlines())
    assert re.search(r"exact v_pi\(start\) 5\.832 vs v\* 5\.832, gap 0\.000; optimal actions in \d+% of states", line)
    assert line.startswith(f"{algo} on rlsuite/GridWorld-v0, {budget} env steps: greedy return ")
    assert line.endswith(f"; run folder {run_dir}") and line.count("run folder") == 1
    report = evaluate(run_dir)
    assert report["gamma"] == 0.9
    assert report["v_star_start"] == pytest.approx(5.832, abs=1e-3)
    assert report["gap_to_optimum_start"] == 0.0  # clamped: round-off below the tolerance
    assert report["return_mean"] == pytest.approx(report["optimal_return_mean"])
    for name in ("config.json", "model/policy.safetensors", "model/policy.json", "progress.csv", "metrics.csv",
                 "eval/evaluations.npz", "eval/best_model/policy.safetensors", "policy_values.npz", "finished.json"):
        assert (run_dir / name).is_file(), name  # fmt: skip
    assert not list(run_dir.rglob("*.zip")) and not list(run_dir.rglob("*.pkl"))  # no pickle anywhere
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    config = json.loads((run_dir / "config.json").read_text())
    assert config["family"] == "sb3" and config["budget"] == budget and config["config"]["n_timesteps"] == budget
    assert config["config"]["gamma"] == 0.9  # from configs/<algo>.yml
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(float(r["step"])) for r in rows] == evaluated_at
    assert float(rows[-1]["value_gap_start"]) == pytest.approx(0.0, abs=1e-6)
    with np.load(run_dir / "policy_values.npz") as data:
        assert data["v_pi"][0] == pytest.approx(5.832, abs=1e-3) and data["actions"].shape == (25,)
    finished = json.loads((run_dir / "finished.json").read_text())
    assert finished["steps"] == budget and finished["final"]["gap_to_optimum_start"] == 0.0


def test_resume_continues_steps_checkpoints_and_logs(tmp_path, caplog):
    settings = ["n_envs=2", "n_steps=256", "checkpoint_freq=1024", "eval_freq=1024", "learning_rate=lin_0.002"]
    run_dir = train(tmp_path / "run", "a2c", "rlsuite/GridWorldEpisodic-v0", *settings, extra=["--budget", "2048"])
    assert checkpoint_steps(run_dir) == [1024, 2048]
    first_rows = csv_steps(run_dir)
    config_before = json.loads((run_dir / "config.json").read_text())
    caplog.set_level(logging.INFO, logger="rlsuite")
    argv = ["train", "a2c", "--out", str(run_dir), "--resume", "--budget", "4096", "--set", *QUIET]
    assert cli(argv) == 0
    assert f"resuming {run_dir} from step_2048 (step 2048) to step 4096" in caplog.text
    assert checkpoint_steps(run_dir) == [1024, 2048, 3072, 4096]
    rows = csv_steps(run_dir)
    assert rows[: len(first_rows)] == first_rows and rows[-1] == 4096 and rows == sorted(rows)
    assert len(list((run_dir / "tb").glob("events.out.tfevents.*"))) == 2
    with np.load(run_dir / "eval" / "evaluations.npz") as data:
        assert list(data["timesteps"]) == [1024, 2048, 3072, 4096]
    config_after = json.loads((run_dir / "config.json").read_text())
    assert config_after["config"] == {**config_before["config"], "n_timesteps": 4096}
    assert evaluate(run_dir, episodes=2)["timesteps"] == 4096
    # the learning-rate schedule continued: after 4096 of 4096 steps it is at its end (0)
    meta = json.loads((run_dir / "checkpoints" / "step_4096" / "optimizer.json").read_text())
    assert meta["param_groups"][0]["lr"] == pytest.approx(0.002 * (1 - 3584 / 4096), rel=1e-6)


def test_dqn_resume_restores_the_replay_buffer(tmp_path, caplog):
    run_dir = train(tmp_path / "run", "dqn", "rlsuite/GridWorld-v0", "learning_starts=100", "eval_freq=0",
                    extra=["--budget", "600"])  # fmt: skip
    with np.load(run_dir / "checkpoints" / "step_600" / "replay_buffer.npz", allow_pickle=False) as data:
        assert (int(data["pos"]), len(data["observations"])) == (600, 601)
        saved_obs = data["observations"][:600].copy()
    caplog.set_level(logging.INFO, logger="rlsuite")
    assert cli(["train", "dqn", "--out", str(run_dir), "--resume", "--budget", "900", "--set", *QUIET]) == 0
    assert "from step_600 (step 600)" in caplog.text
    assert checkpoint_steps(run_dir)[-1] == 900
    with np.load(run_dir / "checkpoints" / "step_900" / "replay_buffer.npz", allow_pickle=False) as data:
        assert int(data["pos"]) == 900
        np.testing.assert_array_equal(data["observations"][:600], saved_obs)  # the first 600 came back
    assert (run_dir / "checkpoints" / "step_600" / "replay_buffer.npz").is_file()  # the newest two keep theirs
    import shutil

    shutil.rmtree(run_dir / "model")  # as after Ctrl-C: eval falls back to the newest checkpoint
    assert evaluate(run_dir, episodes=1)["timesteps"] == 900


def test_pixels_with_cnn_policy_chosen_by_config(tmp_path):
    wrapper = "env_wrapper=[{rlsuite.envs.wrappers.PixelObservation: {cell_px: 8}}]"
    run_dir = train(tmp_path / "run", "ppo", "rlsuite/GridWorld-v0", "policy=CnnPolicy", wrapper, "n_envs=2",
                    "n_steps=64", "batch_size=64", "eval_freq=0", extra=["--budget", "256"])  # fmt: skip
    report = evaluate(run_dir, episodes=1)
    # the greedy action in each of the 25 states, read from its rendered image, against q*
    policy = sb3_io.load_policy(run_dir / "model")
    assert policy.meta["observation_space"]["shape"] == [3, 40, 40]  # SB3 transposed the 40x40x3 images
    config = train_sb3.run_config(run_dir, json.loads((run_dir / "config.json").read_text()), trusted=False)
    exact = sb3.greedy_table(policy, "rlsuite/GridWorld-v0", None, config)
    assert exact["table"].shape == (25, 40, 40, 3)
    q, v = exact["q_star"], exact["v_star"]
    expected = float(np.mean(q[np.arange(25), exact["actions"]] >= v - 1e-6))
    assert report["optimal_action_fraction"] == expected


def test_batched_vec_env_and_bandit_and_frozenlake(tmp_path):
    run_dir = train(tmp_path / "g", "ppo", "rlsuite/GridWorldEpisodic-v0", "vec_env=batched", "n_envs=64",
                    "n_steps=8", "batch_size=256", "eval_freq=512", extra=["--budget", "1024"])  # fmt: skip
    assert json.loads((run_dir / "config.json").read_text())["config"]["vec_env"] == "batched"
    assert csv_steps(run_dir)[-1] == 1024
    bandit = train(tmp_path / "b", "dqn", "rlsuite/KArmedBandit-v0", "learning_starts=100", "eval_freq=0",
                   extra=["--budget", "300"])  # fmt: skip
    assert "gap_to_optimum_max" not in evaluate(bandit, episodes=1)  # no exact model: no DP gap
    lake = train(tmp_path / "f", "a2c", "FrozenLake-v1", "eval_freq=0", extra=["--budget", "200"])
    # FrozenLake 4x4, slippery, gamma 0.99
    assert evaluate(lake, episodes=2)["v_star_start"] == pytest.approx(0.5420, abs=1e-4)


def test_video_of_evaluation_episodes(tmp_path):
    pytest.importorskip("moviepy")
    run_dir = train(tmp_path / "run", "ppo", "rlsuite/GridWorldEpisodic-v0", "n_envs=1", "n_steps=64",
                    "batch_size=64", "eval_freq=0", "video=true", "video_episodes=1",
                    extra=["--budget", "64"])  # fmt: skip
    assert len(list((run_dir / "videos").glob("*.mp4"))) == 1


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_rl_zoo3_trains_with_the_same_config_files(tmp_path, algo):
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    conf = ROOT / "rlsuite" / "app" / "configs" / f"{algo}.yml"
    cmd = [sys.executable, "-m", "rl_zoo3.train", "--algo", algo, "--env", "rlsuite/GridWorld-v0", "--gym-packages",
           "rlsuite", "-conf", str(conf), "-n", "1024", "-f", str(tmp_path), "--eval-freq", "-1",
           "--seed", "0"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / algo / "rlsuite-GridWorld-v0_1" / "rlsuite-GridWorld-v0.zip").is_file()
    assert f"Loading hyperparameters from: {conf}" in done.stdout
    assert re.search(r"'gamma', 0\.9\)", done.stdout)  # the grid world's entry, not RL Zoo's defaults


def test_ppo_on_batched_copies_solves_the_episodic_grid_world(tmp_path):
    """64 batched copies, random starts, termination at the target: near-exact values from every start."""
    settings = ["vec_env=batched", "n_envs=64", "n_steps=32", "batch_size=512", "eval_freq=0"]
    run_dir = train(tmp_path / "run", "ppo", "rlsuite/GridWorldEpisodic-v0", *settings, extra=["--budget", "100000"])
    report = evaluate(run_dir, episodes=20)
    assert report["gap_to_optimum_start"] < 0.02  # mean over the 24 start cells
    assert report["return_mean"] >= report["optimal_return_mean"] - 0.1


@pytest.mark.slow
def test_readme_batched_example_solves_the_episodic_grid_world(tmp_path, capsys):
    """README: ``rlsuite train ppo --env rlsuite/GridWorldEpisodic-v0 --set vec_env=batched n_envs=1024
    --budget 200000`` reaches the optimum exactly (n_steps scaled 128 -> 8: 25 updates of 8192 steps)."""
    train(tmp_path / "run", "ppo", "rlsuite/GridWorldEpisodic-v0", "vec_env=batched", "n_envs=1024",
          extra=["--budget", "200000"])  # fmt: skip
    line = " ".join(capsys.readouterr().out.split())
    assert "204800 env steps: greedy return 1.000 +- 0.000 (SE, " in line and ", optimal policy 1.000;" in line
    assert "exact v_pi(start) 0.585 vs v* 0.585, gap 0.000" in line


@pytest.mark.slow
def test_tour_section(tmp_path):
    numbers = train_sb3.tour_section(tmp_path, quick=False)
    for algo in ("ppo", "dqn"):
        assert numbers[algo]["v_pi_start"] == pytest.approx(numbers[algo]["v_star_start"], abs=1e-4)
        assert (tmp_path / f"sb3_{algo}_gridworld.png").is_file()
    assert (tmp_path / "sb3_gridworld_eval.png").is_file()


def test_progress_reaches_rlsuite_display(tmp_path):

    seen: list[tuple[str, float | None, float | None]] = []

    class Recorder:
        def start(self, description, total, unit):
            class Task:
                def advance(self, n=1):
                    pass

                def update(self, completed=None, total=None, **info):
                    seen.append((description, total, completed))

            seen.append((description, total, None))
            return Task()

        def stop(self, task):
            pass

    with reporting_to(Recorder()):
        argv = ["train", "a2c", "--env", "rlsuite/GridWorld-v0", "--out", str(tmp_path / "r"), "--budget", "64",
                "--device", "cpu", "--set", "eval_freq=0", "torch_threads=1"]  # fmt: skip
        assert cli(argv) == 0
    assert seen[0] == ("a2c on rlsuite/GridWorld-v0", 64, None)
    assert seen[-1][2] == 64 and [c for _, _, c in seen[1:]] == sorted(c for _, _, c in seen[1:])


def test_the_docs_python_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "sb3.md").read_text()
    code = text.split("## From Python", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code.replace("budget=20_480", "budget=1_024"), "docs/sb3.md", "exec"), scope)
    assert scope["steps"] == 1024 and scope["report"]["optimum"]["gamma"] == 0.9
    assert scope["policy"].num_timesteps == 1024 and (tmp_path / "runs" / "ppo" / "model" / "policy.json").is_file()


def test_dqn_config_keeps_sb3_train_freq_pair():
    assert DQNConfig(train_freq=3, train_freq_unit="episode").sb3_kwargs()["train_freq"] == (3, "episode")
