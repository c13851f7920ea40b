"""sb3-contrib's discrete-action algorithms in ``rlsuite train``: typed configs, run folders without pickle,
eval, resume, the grid world's action mask, and the shipped hyperparameters on the book's grid world."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import re

import numpy as np
import pytest
from sb3_helpers import cli, evaluate, parse_train, train

from rlsuite.agents import sb3, sb3_io
from rlsuite.agents.sb3_config import CONFIGS, ARSConfig, MaskablePPOConfig

CONTRIB = ("qrdqn", "trpo", "maskable_ppo", "recurrent_ppo", "ars")
ENV = "rlsuite/GridWorld-v0"
V_STAR_START = 5.832  # v*(s1) of the book's 5x5 grid world, gamma 0.9
# Tiny runs: small rollouts, an evaluation and a checkpoint on the way.
TINY = {
    "qrdqn": ["learning_starts=100", "buffer_size=1000"],
    "trpo": ["n_envs=2", "n_steps=64", "batch_size=64", "n_critic_updates=2"],
    "maskable_ppo": ["n_envs=2", "n_steps=64", "n_epochs=1"],
    "recurrent_ppo": ["n_envs=2", "n_steps=64", "n_epochs=1", "batch_size=64"],
    "ars": ["n_delta=2", "n_top=2"],
}


@pytest.mark.parametrize("algo", CONTRIB)
def test_every_field_is_a_constructor_argument_or_a_run_setting(algo):
    cls = CONFIGS[algo]
    assert cls.sb3_module == "sb3_contrib"
    signature = inspect.signature(getattr(importlib.import_module("sb3_contrib"), cls.sb3_class).__init__)
    kwargs = cls().sb3_kwargs(n_steps=8)
    assert set(kwargs) <= set(signature.parameters)
    renamed = getattr(cls, "RENAMED", {})
    fields = {f.name for f in dataclasses.fields(cls)}
    not_passed = set(cls.RUN_FIELDS) | set(getattr(cls, "NOT_PASSED", ()))
    unit = {"train_freq_unit"} if algo == "qrdqn" else set()
    assert {renamed.get(name, name) for name in fields - not_passed - unit} == set(kwargs) - {"verbose"}
    # the defaults are sb3-contrib's own
    by_theirs = {renamed.get(name, name): name for name in fields - set(cls.RUN_FIELDS)}
    for name, param in signature.parameters.items():
        if name in by_theirs and name not in ("n_steps", "policy", "train_freq"):
            assert getattr(cls(), by_theirs[name]) == param.default, name


def test_maskable_ppo_help_lists_no_gsde_flags(capsys):
    """MaskablePPO takes Discrete actions only: PPO's gSDE settings would do nothing, so it has none."""
    with pytest.raises(SystemExit):
        parse_train(["maskable_ppo", "--help"])
    text = capsys.readouterr().out
    assert "--action_mask" in text and "--clip_range" in text and "--stats_window_size" in text
    assert "sde" not in text
    with pytest.raises(SystemExit):
        parse_train(["ppo", "--help"])
    assert "--use_sde" in capsys.readouterr().out  # PPO keeps them (Box actions)


@pytest.mark.parametrize(
    "algo", [pytest.param(a, marks=pytest.mark.slow) if a in ("qrdqn", "recurrent_ppo") else a for a in CONTRIB]
)
def test_trains_saves_without_pickle_reloads_evaluates_and_resumes(tmp_path, algo):
    run = train(tmp_path / "run", algo, ENV, "eval_freq=256", "checkpoint_freq=256", "n_eval_episodes=1",
                *TINY[algo], extra=["--budget", "300"])  # fmt: skip
    assert not list(run.rglob("*.zip")) and not list(run.rglob("*.pkl"))
    for name in ("model/policy.safetensors", "model/policy.json", "metrics.csv", "finished.json"):
        assert (run / name).is_file(), name
    meta = json.loads((run / "model" / "policy.json").read_text())
    assert meta["algo"] == algo and meta["gamma"] == pytest.approx(0.9)
    # the reloaded policy acts as the trained one, state by state
    saved = sb3_io.load_policy(run / "model")
    with np.load(run / "policy_values.npz") as data:
        trained_actions = data["actions"]
    config = MaskablePPOConfig(action_mask="boundary") if algo == "maskable_ppo" else CONFIGS[algo]()
    exact = sb3.greedy_table(saved, ENV, None, config)
    exact["env"].close()
    np.testing.assert_array_equal(exact["actions"], trained_actions)
    report = evaluate(run, episodes=2)
    assert report["v_star_start"] == pytest.approx(V_STAR_START, abs=1e-3)
    assert report["timesteps"] == saved.num_timesteps
    # resume from the last checkpoint to a larger budget
    steps = saved.num_timesteps
    assert cli(["train", algo, "--resume", "--out", str(run), "--budget", str(steps + 300), "--device", "cpu"]) == 0
    assert sb3_io.load_policy(run / "model").num_timesteps >= steps + 300


def test_ars_resume_continues_from_the_saved_weights(tmp_path):
    """ARS searches around a flat copy of its parameters: a resume must start from the checkpoint's."""
    run = train(tmp_path / "run", "ars", ENV, *TINY["ars"], "eval_freq=0", extra=["--budget", "400"])
    point, _ = sb3_io.newest_checkpoint(run)
    config = ARSConfig(n_delta=2, n_top=2, policy_kwargs={"net_arch": []})
    venv = sb3.make_train_env(ENV, None, config, seed=1)
    model = sb3.build_model(config, venv, seed=1, device="cpu")
    assert float(model.weights.abs().sum()) == 0.0  # zero_policy
    sb3_io.restore(model, point[1])
    saved = sb3_io.load_policy(point[1])
    np.testing.assert_array_equal(model.weights.numpy(), np.concatenate(
        [p.detach().numpy().ravel() for p in saved.policy.parameters()]))  # fmt: skip
    venv.close()


def test_maskable_ppo_never_takes_a_masked_action(tmp_path):
    run = train(tmp_path / "run", "maskable_ppo", ENV, "action_mask=boundary_forbidden", *TINY["maskable_ppo"],
                "eval_freq=0", extra=["--budget", "128"])  # fmt: skip
    with np.load(run / "policy_values.npz") as data:
        actions = data["actions"]
    import gymnasium as gym

    valid = gym.make(ENV).unwrapped.valid_actions()
    assert valid[np.arange(25), actions].all()
    config = json.loads((run / "config.json").read_text())["config"]
    assert config["action_mask"] == "boundary_forbidden"


# ----- the shipped hyperparameters (rlsuite/app/configs/<algo>.yml) -----
# algo -> the exact gap at the start state (0 at seeds 0-2 on every machine measured) and a floor for the share of
# states whose greedy action is optimal (None: not checked). The share itself is not reproducible across machines:
# at seed 0 maskable_ppo gave 72% on one 2-core machine and 80% on CI's, recurrent_ppo 88% and 72% (torch's CPU
# kernels sum in a different order), and it spreads over seeds (docs/sb3.md: 48-92% for maskable_ppo). The floor,
# 40%, sits below every measured share and well above a uniformly random table's 25% (30% with the boundary mask).
SHIPPED = {"qrdqn": (0.0, None), "trpo": (0.0, None), "maskable_ppo": (0.0, 40), "recurrent_ppo": (0.0, 40),
           "ars": (0.0, 40)}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("algo", CONTRIB)
def test_shipped_yaml_reaches_the_optimum(tmp_path, capsys, algo):
    train(tmp_path / "run", algo, ENV, "eval_freq=0", "checkpoint_freq=0")  # as measured: only the final evaluation
    line = " ".join(capsys.readouterr().out.split())  # the result line, wrapped at 80 columns on the console
    match = re.search(r"exact v_pi\(start\) (-?[\d.]+) vs v\* 5\.832, gap ([\d.]+); optimal actions in (\d+)%", line)
    assert match, line
    gap, floor = SHIPPED[algo]
    assert float(match.group(2)) == pytest.approx(gap, abs=1e-3), line
    assert floor is None or int(match.group(3)) >= floor, line
