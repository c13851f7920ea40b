"""SB3 runs without pickle: data-only saves that rebuild the policy, refused pickles and imports,
crash-safe checkpoints, one writer per run folder, no silent overwrite."""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from sb3_helpers import QUIET, a2c_run, cli, error_line, evaluate, tree

from rlsuite.agents import sb3, sb3_io
from rlsuite.agents.sb3_config import A2CConfig, DQNConfig, PPOConfig
from rlsuite.app.cli import main
from rlsuite.common.errors import UnsafeLoadError

GRID = "rlsuite/GridWorld-v0"


def _model(config, seed=0, steps=64):
    venv = sb3.make_train_env(GRID, None, config, seed)
    model = sb3.build_model(config, venv, seed, "cpu")
    model.learn(steps)
    return model


@pytest.mark.parametrize(
    "config",
    [
        PPOConfig(n_envs=2, n_steps=16, batch_size=16, n_epochs=1,
                  policy_kwargs={"net_arch": [16], "activation_fn": "ReLU"}),
        A2CConfig(n_envs=2),
        DQNConfig(learning_starts=8, buffer_size=200, policy_kwargs={"net_arch": [32, 32]}),
    ],
    ids=["ppo", "a2c", "dqn"],
)
def test_saved_policy_is_data_only_and_acts_like_the_model(tmp_path, config):
    model = _model(config)
    sb3.save_policy(model, config, tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["policy.json", "policy.safetensors"]
    meta = json.loads((tmp_path / "model" / "policy.json").read_text())
    assert (meta["algo"], meta["policy"], meta["num_timesteps"]) == (config.algo, "MlpPolicy", model.num_timesteps)
    assert meta["observation_space"] == {"type": "Discrete", "n": 25, "start": 0}
    assert meta["policy_kwargs"] == config.policy_kwargs  # names, not classes
    loaded = sb3_io.load_policy(tmp_path / "model")
    obs = np.arange(25)
    np.testing.assert_array_equal(loaded.predict(obs)[0], model.predict(obs, deterministic=True)[0])
    for name, tensor in model.policy.state_dict().items():
        torch.testing.assert_close(loaded.policy.state_dict()[name], tensor, rtol=0, atol=0)
    assert loaded.gamma == config.gamma and loaded.num_timesteps == model.num_timesteps


def test_checkpoint_restores_optimiser_counters_and_replay_buffer(tmp_path):
    config = DQNConfig(learning_starts=8, buffer_size=300, target_update_interval=50)
    model = _model(config, steps=120)
    sb3.save_checkpoint(model, config, tmp_path)
    folder = tmp_path / "checkpoints" / "step_120"
    assert sb3_io.is_valid(folder)
    fresh = sb3.build_model(config, sb3.make_train_env(GRID, None, config, 1), 1, "cpu")
    sb3_io.restore(fresh, folder)
    assert (fresh.num_timesteps, fresh._n_updates, fresh._n_calls) == (120, model._n_updates, model._n_calls)
    assert fresh._n_updates == 28  # at steps 12, 16, ..., 120: every 4th step past learning_starts
    old, new = model.policy.optimizer.state_dict(), fresh.policy.optimizer.state_dict()
    for pid in old["state"]:
        for key in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(new["state"][pid][key], old["state"][pid][key], rtol=0, atol=0)
    assert (fresh.replay_buffer.pos, fresh.replay_buffer.full) == (120, False)
    np.testing.assert_array_equal(fresh.replay_buffer.actions[:120], model.replay_buffer.actions[:120])


def test_checkpoint_restored_on_cuda_keeps_adam_step_counters_on_the_cpu(tmp_path):
    """Real torch keeps Adam's ``step`` on the CPU (a GPU one is read back every optimiser step);
    a restore onto "cuda" must leave it there and put the moments on the GPU."""
    from cuda_sim import simulate_cuda

    config = PPOConfig(n_envs=2, n_steps=16, batch_size=16, n_epochs=1, policy_kwargs={"net_arch": [16]})
    with simulate_cuda():
        model = sb3.build_model(config, sb3.make_train_env(GRID, None, config, 0), 0, "cuda")
        model.learn(32)
        steps = [s["step"] for s in model.policy.optimizer.state_dict()["state"].values()]
        assert steps and not any(t.is_cuda for t in steps)  # where torch itself keeps them
        sb3.save_checkpoint(model, config, tmp_path)
        fresh = sb3.build_model(config, sb3.make_train_env(GRID, None, config, 1), 1, "cuda")
        sb3_io.restore(fresh, tmp_path / "checkpoints" / "step_32")
        state = fresh.policy.optimizer.state_dict()["state"]
        assert [float(s["step"]) for s in state.values()] == [float(t) for t in steps]
        assert not any(s["step"].is_cuda for s in state.values())
        assert all(s["exp_avg"].is_cuda and s["exp_avg_sq"].is_cuda for s in state.values())


def test_ctrl_c_leaves_a_checkpoint_to_resume_from(tmp_path, monkeypatch):
    config = A2CConfig(n_envs=2, eval_freq=0, progress_bar=False)
    model = sb3.build_model(config, sb3.make_train_env(GRID, None, config, 0), 0, "cpu")
    learn = model.learn

    def interrupted(total_timesteps, **kwargs):
        learn(30, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "learn", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sb3.learn(model, config, GRID, None, tmp_path, budget=1000, seed=0)
    assert [s for s, _ in sb3_io.checkpoints(tmp_path)] == [30]
    assert sb3_io.is_valid(tmp_path / "checkpoints" / "step_30") and not (tmp_path / "model").exists()


def test_only_the_two_newest_checkpoints_keep_a_replay_buffer(tmp_path):
    config = DQNConfig(learning_starts=8, buffer_size=300)
    model = _model(config, steps=20)
    for _ in range(3):
        sb3.save_checkpoint(model, config, tmp_path)
        model.learn(20, reset_num_timesteps=False)
    kept = {s: (f / "replay_buffer.npz").is_file() for s, f in sb3_io.checkpoints(tmp_path)}
    assert kept == {20: False, 40: True, 60: True}


def _crafted_run(folder: Path, marker: Path) -> None:
    """A run folder as someone could send it: a real SB3 .zip whose data entry carries a pickled payload."""
    import stable_baselines3

    folder.mkdir()
    config = A2CConfig()
    meta = {"family": "sb3", "format": 2, "algo": "a2c", "env_id": GRID, "env_kwargs": None, "seed": 0,
            "config": config.to_dict()}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(meta))
    model = stable_baselines3.A2C("MlpPolicy", GRID, n_steps=4, seed=0, device="cpu")
    model.save(folder / "honest.zip")

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    with zipfile.ZipFile(folder / "honest.zip") as src, zipfile.ZipFile(folder / "model.zip", "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "data":
                entry = json.loads(data)
                payload = base64.b64encode(pickle.dumps(Payload())).decode()
                entry["note"] = {":type:": "<class 'str'>", ":serialized:": payload}
                data = json.dumps(entry).encode()
            dst.writestr(item, data)
    (folder / "honest.zip").unlink()


def test_a_crafted_sb3_zip_is_not_executed_by_eval(tmp_path, capsys):
    run, marker = tmp_path / "run", tmp_path / "payload-ran"
    _crafted_run(run, marker)
    before = tree(run)
    err = error_line(capsys, ["eval", str(run)])
    assert err == (f"rlsuite: error: {run / 'model.zip'}: an SB3 .zip unpickles objects when loaded, which can run "
                   "code; rlsuite's own runs save model/policy.safetensors instead. Pass --trust_pickle only for a "
                   "file you trust")  # fmt: skip
    assert main(["eval", str(run), "--device", "cpu"]) == 2  # the old command line too
    with pytest.raises(UnsafeLoadError):  # and the library's loader itself
        sb3_io.load_pickled_zip(run / "model.zip", "a2c", "cpu", trust_pickle=False)
    assert not marker.exists() and tree(run) == before
    # the payload is real: with the flag, SB3's loader unpickles it
    assert cli(["eval", str(run), "--trust_pickle", "--episodes", "1", "--device", "cpu"]) == 0
    assert marker.is_dir()
    assert json.loads((run / "eval.json").read_text())["model"] == "model.zip"


def test_env_wrapper_outside_rlsuite_and_gymnasium_is_not_imported(tmp_path, capsys, monkeypatch):
    marker = tmp_path / "module-ran"
    (tmp_path / "thirdparty_wrappers.py").write_text(textwrap.dedent(f"""
        import os, gymnasium as gym
        os.mkdir({str(marker)!r})
        class Same(gym.ObservationWrapper):
            def observation(self, obs):
                return obs
    """))  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    # imported afresh (a second run of the test in one process, as mutmut's, would find the first one's module)
    monkeypatch.delitem(sys.modules, "thirdparty_wrappers", raising=False)
    out = tmp_path / "run"
    argv = ["train", "a2c", "--env", GRID, "--out", str(out), "--budget", "64", "--device", "cpu",
            "--set", "env_wrapper=thirdparty_wrappers.Same", "eval_freq=0", *QUIET]  # fmt: skip
    err = error_line(capsys, argv)
    assert "A2CConfig.env_wrapper: 'thirdparty_wrappers.Same' is outside rlsuite and gymnasium" in err
    assert "--trust_env_wrapper" in err and not marker.exists() and not out.exists()
    # a file may not grant the trust
    zoo = tmp_path / "a2c.yml"
    zoo.write_text(f"{GRID}:\n  env_wrapper: thirdparty_wrappers.Same\n  trust_env_wrapper: true\n")
    err = error_line(capsys, ["train", "a2c", "--env", GRID, "--config", str(zoo), "--out", str(out)])
    assert f"{zoo} [{GRID}]: trust_env_wrapper can only be given on the command line" in err
    # the user's own flag does
    assert cli([*argv, "--trust_env_wrapper"]) == 0 and marker.is_dir()
    # and a run folder's config.json cannot grant it to `rlsuite eval`
    meta = json.loads((out / "config.json").read_text())
    assert meta["config"]["trust_env_wrapper"] is True
    err = error_line(capsys, ["eval", str(out)])
    assert "env_wrapper: 'thirdparty_wrappers.Same' is outside rlsuite and gymnasium" in err


def _a2c_run(out: Path, budget: int, *settings: str) -> Path:
    return a2c_run(out, budget, "eval_freq=128", *settings)


def test_truncated_newest_checkpoint_resumes_from_the_previous_one(tmp_path, caplog):
    run = _a2c_run(tmp_path / "run", 256)
    assert [s for s, _ in sb3_io.checkpoints(run)] == [128, 256]
    weights = run / "checkpoints" / "step_256" / "policy.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a crash during the save
    leftover = run / "checkpoints" / ".step_512.tmp" / "step_512"  # a save killed before its rename
    leftover.mkdir(parents=True)
    (leftover / "policy.json").write_text("{")
    (run / "finished.json").unlink()  # as after a crash: unfinished, so --resume alone continues to its budget
    caplog.set_level(logging.INFO, logger="rlsuite")
    assert cli(["train", "a2c", "--out", str(run), "--resume", "--set", *QUIET]) == 0
    assert f"skipping {run / 'checkpoints' / 'step_256'}: incomplete or corrupt" in caplog.text
    assert f"resuming {run} from step_128 (step 128) to step 256 (skipped, incomplete: step_256)" in caplog.text
    assert [s for s, _ in sb3_io.checkpoints(run)] == [128, 256]
    assert all(sb3_io.is_valid(f) for _, f in sb3_io.checkpoints(run))  # step_256 written again, whole
    with np.load(run / "eval" / "evaluations.npz") as data:  # the crashed part's evaluation at 256 was redone
        assert list(data["timesteps"]) == [128, 256]
    assert json.loads((run / "finished.json").read_text())["steps"] == 256


def test_a_second_writer_is_refused_naming_the_holder(tmp_path, capsys):
    run = _a2c_run(tmp_path / "run", 128)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from rlsuite.common.io import OutputDir; "
         f"d = OutputDir({str(run)!r}, resume=True).open(); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = tree(run)
        err = error_line(capsys, ["train", "a2c", "--out", str(run), "--resume", "--budget", "256"])
        assert f"{run}: in use by process {holder.pid}" in err
        err = error_line(capsys, ["eval", str(run)])
        assert f"in use by process {holder.pid}" in err
        assert tree(run) == before
    finally:
        holder.kill()
        holder.wait()


def test_no_silent_overwrite_of_a_finished_run(tmp_path, capsys):
    run = _a2c_run(tmp_path / "run", 128)
    before = tree(run)
    argv = ["train", "a2c", "--env", GRID, "--out", str(run), "--budget", "128", "--device", "cpu",
            "--set", *QUIET]  # fmt: skip
    err = error_line(capsys, argv)
    assert err == (f"rlsuite: error: {run}: holds finished results; pass --overwrite to replace them "
                   "(or use another folder)")  # fmt: skip
    assert tree(run) == before
    assert cli([*argv, "eval_freq=0", "--overwrite"]) == 0
    assert not (run / "eval").exists()  # replaced, not mixed with the old run's files
    assert json.loads((run / "finished.json").read_text())["steps"] == 128


def test_resume_with_a_budget_below_the_current_step_changes_nothing(tmp_path, capsys):
    run = _a2c_run(tmp_path / "run", 256)
    before = tree(run)
    for budget in ("128", "256"):
        err = error_line(capsys, ["train", "a2c", "--out", str(run), "--resume", "--budget", budget])
        assert err == (f"rlsuite: error: --budget {budget}: the run in {run} is already at step 256; give a larger "
                       "--budget to continue it")  # fmt: skip
    err = error_line(capsys, ["train", "a2c", "--out", str(run), "--resume"])  # its own budget: done already
    assert "--budget 256: the run in" in err
    assert tree(run) == before
    # a larger budget continues a finished run; the marker is rewritten at the end
    assert cli(["train", "a2c", "--out", str(run), "--resume", "--budget", "384", "--set", *QUIET]) == 0
    assert json.loads((run / "finished.json").read_text())["steps"] == 384
    assert evaluate(run, episodes=1)["timesteps"] == 384
