"""What an SB3 run folder's ``config.json`` must hold (rlsuite.app.train_sb3.read_run), and table digits
in rlsuite.app.reports (mutation testing)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rlsuite.app.reports import table
from rlsuite.app.train_sb3 import read_run
from rlsuite.common.errors import ModelFolderError

META = {"family": "sb3", "algo": "ppo", "env_id": "E-v0", "seed": 0}


def _folder(tmp_path: Path, meta: object) -> Path:
    (tmp_path / "config.json").write_text(json.dumps(meta))
    return tmp_path


def _refused(tmp_path: Path, meta: object) -> str:
    with pytest.raises(ModelFolderError) as caught:
        read_run(_folder(tmp_path, meta))
    return str(caught.value).removeprefix(f"{tmp_path / 'config.json'}: ")


def test_seed_zero_is_a_seed(tmp_path: Path) -> None:
    assert read_run(_folder(tmp_path, META)) == META
    assert _refused(tmp_path, {**META, "seed": -1}) == "'seed' is negative (-1)"


def test_another_family_or_no_mapping_is_not_an_sb3_run(tmp_path: Path) -> None:
    assert _refused(tmp_path, {**META, "family": "tabular"}) == "not a stable-baselines3 run (family 'tabular')"
    assert _refused(tmp_path, [META]) == "not a stable-baselines3 run (family None)"


def test_run_must_be_a_mapping(tmp_path: Path) -> None:
    said = "'run' is int 5, not what a run records (the file was edited or damaged)"
    assert _refused(tmp_path, {**META, "run": 5}) == said
    assert read_run(_folder(tmp_path, {**META, "run": {"budget": 5}}))["run"] == {"budget": 5}


def test_an_unknown_algorithm_is_named_with_the_known_ones(tmp_path: Path) -> None:
    from rlsuite.agents.sb3_config import CONFIGS

    assert _refused(tmp_path, {**META, "algo": "xyz"}) == f"unknown algorithm 'xyz' (known: {', '.join(CONFIGS)})"


def test_a_format_1_run_takes_its_env_kwargs_from_its_hyperparams(tmp_path: Path) -> None:
    meta = {**META, "hyperparams": {"env_kwargs": {"n_rows": 4}}, "run": {}}
    assert read_run(_folder(tmp_path, meta))["env_kwargs"] == {"n_rows": 4}
    bad = {**meta, "hyperparams": {"env_kwargs": [4]}}
    assert _refused(tmp_path, bad) == "'hyperparams.env_kwargs' is not a mapping"


def test_table_rounds_every_cell_to_its_digits() -> None:
    rows = {"a": {"x": 0.123456, "y": 2}, "b": {"x": 1.5}}
    assert table(rows, "run", digits=5).splitlines() == [
        "| run | x | y |", "|---|---:|---:|", "| a | 0.12346 | 2 |", "| b | 1.5 | - |",
    ]  # fmt: skip
    assert table(rows).splitlines()[2] == "| a | 0.123 | 2 |"


def test_help_defaults_show_the_class_default_beside_the_shipped_file(tmp_path: Path, monkeypatch) -> None:
    import rlsuite.app.train_sb3 as train_sb3

    monkeypatch.setattr(train_sb3, "CONFIG_DIR", tmp_path)
    (tmp_path / "ppo.yml").write_text(
        "rlsuite/GridWorld-v0:\n  gamma: 0.9\n  n_steps: 128\n  learning_rate: 0.0003\n  n_timesteps: 5000\n"
        "  not_a_field: 3\nCartPole-v1:\n  gamma: 0.5\n"
    )
    where = "on rlsuite/GridWorld-v0 from ppo.yml"
    assert train_sb3.help_defaults("ppo") == {
        "gamma": f"0.99; 0.9 {where}",  # the class's, then the file's
        "n_steps": f"128 {where}",  # the class has none (None: the rollout size is chosen)
        "n_timesteps": f"100000; 5000 {where}",  # learning_rate: the same as the class's, not shown
        "budget": f"5,000 env steps (n_timesteps) {where}",
        "env": "rlsuite/GridWorld-v0",
    }
    (tmp_path / "ppo.yml").write_text("CartPole-v1:\n  gamma: 0.5\n")  # nothing for the default env
    assert train_sb3.help_defaults("ppo") == {"budget": "100,000 env steps (n_timesteps)",
                                              "env": "rlsuite/GridWorld-v0"}  # fmt: skip


def test_resume_without_out_says_so_exactly(tmp_path: Path, monkeypatch) -> None:
    from rlsuite.app.cli import main
    from rlsuite.common.errors import UsageError

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as caught:
        main(["--debug", "train", "ppo", "--env", "rlsuite/GridWorld-v0", "--resume"])
    assert str(caught.value) == "--resume: name the run folder to continue with --out RUN"
    assert list(tmp_path.iterdir()) == []


SMALL = {"n_rows": 4, "n_cols": 4, "forbidden": [[2, 2]], "target": [4, 4]}


def test_resume_keeps_the_runs_own_settings_and_checks_its_env(tmp_path: Path, capsys) -> None:
    from sb3_helpers import cli, error_line, train

    tiny = ["n_envs=2", "n_steps=32", "batch_size=32", "n_epochs=1", "eval_freq=0"]
    run = train(tmp_path / "run", "ppo", "rlsuite/GridWorld-v0", *tiny, seed=3,
                extra=["--budget", "64", "--env_kwargs", json.dumps(SMALL)])  # fmt: skip
    before = json.loads((run / "config.json").read_text())
    line = error_line(capsys, ["train", "ppo", "--resume", "--out", str(run), "--budget", "128", "--env",
                               "FrozenLake-v1"])  # fmt: skip
    assert line == f"rlsuite: error: --resume {run}: the run's env is 'rlsuite/GridWorld-v0', not 'FrozenLake-v1'"
    assert cli(["train", "ppo", "--resume", "--out", str(run), "--budget", "128", "--device", "cpu"]) == 0
    after = json.loads((run / "config.json").read_text())
    assert after == {**before, "budget": 128, "config": {**before["config"], "n_timesteps": 128}}
    assert (after["env_kwargs"], after["seed"], after["device"]) == (SMALL, 3, "cpu")  # 16 states: the same env
    # an env id in the file that would import a module: refused, naming the file
    (run / "config.json").write_text(json.dumps({**after, "env_id": "evil:rlsuite/GridWorld-v0"}))
    line = error_line(capsys, ["train", "ppo", "--resume", "--out", str(run), "--budget", "192"])
    assert line.startswith(f"rlsuite: error: {run / 'config.json'}: env id 'evil:rlsuite/GridWorld-v0' would import")


def _a2c(out: Path, budget: int, *settings: str) -> Path:
    """sb3_helpers.a2c_run on the 4 x 4 grid SMALL."""
    from sb3_helpers import a2c_run

    return a2c_run(out, budget, *settings, extra=["--env_kwargs", json.dumps(SMALL)])


def _resumed(
    run: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture, *flags: str
) -> tuple[str, str]:
    """``train a2c --resume --out RUN FLAGS``: its resuming log line and its result (wrapped to the terminal)."""
    import logging

    from sb3_helpers import QUIET, cli

    capsys.readouterr()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rlsuite.app.train_sb3"):
        assert cli(["train", "a2c", "--resume", "--out", str(run), *flags, "--set", *QUIET]) == 0
    [line] = [m for m in caplog.messages if "resuming " in m]
    return line, " ".join(capsys.readouterr().out.split())


def test_resume_logs_and_prints_its_lines_exactly(tmp_path: Path, caplog, capsys) -> None:
    """No checkpoint skipped: no note; two skipped (newest first): both named; the result line names the algorithm,
    the env, the steps and the run folder."""
    run = _a2c(tmp_path / "run", 128, "eval_freq=0")
    line, result = _resumed(run, caplog, capsys, "--budget", "384")
    assert line == f"resuming {run} from step_128 (step 128) to step 384"
    assert result.startswith("a2c on rlsuite/GridWorld-v0, 384 env steps: greedy return ")
    assert result.endswith(f"; run folder {run}")
    for step in (256, 384):  # both newer checkpoints cut short by a crash
        weights = run / "checkpoints" / f"step_{step}" / "policy.safetensors"
        weights.write_bytes(weights.read_bytes()[:10])
    (run / "finished.json").unlink()
    line, _ = _resumed(run, caplog, capsys)
    assert line == f"resuming {run} from step_128 (step 128) to step 384 (skipped, incomplete: step_384, step_256)"


def test_a_run_killed_after_its_last_save_is_finished_at_its_own_budget(tmp_path: Path, caplog, capsys) -> None:
    run = _a2c(tmp_path / "run", 128, "eval_freq=0")
    final = json.loads((run / "finished.json").read_text())
    (run / "finished.json").unlink()  # killed between the final save and the marker
    _, result = _resumed(run, caplog, capsys)
    assert f"{run}: the run reached step 128 but did not finish; finishing it" in caplog.messages
    finished = json.loads((run / "finished.json").read_text())  # evaluated again (from the resumed seed)
    assert finished["steps"] == final["steps"] == 128 and set(finished["final"]) == set(final["final"])
    assert result.startswith("a2c on rlsuite/GridWorld-v0, 128 env steps: ")


def test_a_resumed_run_evaluates_on_its_own_env(tmp_path: Path, caplog, capsys) -> None:
    """Evaluations while resuming use the run's env kwargs (a 4 x 4 grid, not the default 5 x 5)."""
    run = _a2c(tmp_path / "run", 128, "eval_freq=128", "n_eval_episodes=1")
    _resumed(run, caplog, capsys, "--budget", "256")
    with np.load(run / "eval" / "evaluations.npz") as data:
        assert list(data["timesteps"]) == [128, 256]


def test_two_resumes_of_one_run_give_the_same_weights(tmp_path: Path, capsys) -> None:
    """The envs, their action spaces and the model are seeded from the run's seed: DQN exploring at random (epsilon
    1) draws its actions from the action space's own generator."""
    import shutil

    from sb3_helpers import QUIET, cli, train

    explore = ["learning_starts=0", "exploration_initial_eps=1.0", "exploration_final_eps=1.0", "buffer_size=512",
               "checkpoint_freq=64", "eval_freq=0", "train_freq=4", "batch_size=8"]  # fmt: skip
    run = train(tmp_path / "run", "dqn", "rlsuite/GridWorld-v0", *explore, extra=["--budget", "64"])
    shutil.copytree(run, tmp_path / "copy")
    for folder in (run, tmp_path / "copy"):
        assert cli(["train", "dqn", "--resume", "--out", str(folder), "--budget", "128", "--set", *QUIET]) == 0
    weights = [(f / "model" / "policy.safetensors").read_bytes() for f in (run, tmp_path / "copy")]
    assert weights[0] == weights[1]


def test_a_run_folder_with_bad_env_kwargs_is_refused_before_training(tmp_path: Path, capsys) -> None:
    from sb3_helpers import error_line

    run = _a2c(tmp_path / "run", 128, "eval_freq=0")
    meta = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**meta, "env_kwargs": {**SMALL, "target": [9, 9]}}))
    line = error_line(capsys, ["train", "a2c", "--resume", "--out", str(run), "--budget", "256"])
    assert line.startswith("rlsuite: error: --env rlsuite/GridWorld-v0 with --env_kwargs {")


def test_a_module_prefix_in_a_run_folder_is_taken_with_trust_env_module(tmp_path: Path, caplog, capsys) -> None:
    run = _a2c(tmp_path / "run", 128, "eval_freq=0")
    meta = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**meta, "env_id": "rlsuite.envs:rlsuite/GridWorld-v0"}))
    _, result = _resumed(run, caplog, capsys, "--budget", "256", "--trust-env-module")
    assert result.startswith("a2c on rlsuite.envs:rlsuite/GridWorld-v0, 256 env steps: ")


def test_resume_runs_on_the_device_given(tmp_path: Path, caplog, capsys) -> None:
    """On simulated CUDA, where "auto" picks the CPU for an MLP policy: --device cuda is the one recorded."""
    from cuda_sim import simulate_cuda

    run = _a2c(tmp_path / "run", 128, "eval_freq=0")
    with simulate_cuda():
        _resumed(run, caplog, capsys, "--budget", "256", "--device", "cuda")
    assert json.loads((run / "config.json").read_text())["device"] == "cuda"
