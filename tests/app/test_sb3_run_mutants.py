"""What an SB3 run folder's ``config.json`` must hold (rlsuite.app.train_sb3.read_run), and table digits
in rlsuite.app.reports (mutation testing)."""

from __future__ import annotations

import json
from pathlib import Path

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
