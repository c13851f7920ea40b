"""`rlsuite train / eval / algos` for the tabular family: run folders, plots, one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from rlsuite.app.cli import main


def test_train_and_eval_a_grid_world_agent(tmp_path, capsys) -> None:
    assert (
        main(["train", "q_learning", "--runs-dir", str(tmp_path), "--budget", "1000000", "--seed", "1"]) == 0
    )
    (run_dir,) = tmp_path.iterdir()
    assert run_dir.name.startswith("rlsuite-GridWorld-v0__q_learning__1__")
    for name in (
        "config.json",
        "agent.npz",
        "agent.json",
        "metrics.csv",
        "learning_curve.png",
        "values_heatmap.png",
        "policy.png",
    ):
        assert (run_dir / name).is_file(), name
    config = json.loads((run_dir / "config.json").read_text())
    assert config["family"] == "tabular" and config["config"]["gamma"] == 0.9
    assert "value_error" in (run_dir / "metrics.csv").read_text().splitlines()[0]
    capsys.readouterr()
    assert main(["eval", str(run_dir), "--episodes", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["gap_to_optimum_max"] < 1e-6 and report["greedy_optimal"] == 1.0


def test_train_with_yaml_config_and_bandit(tmp_path, capsys) -> None:
    cfg = tmp_path / "ucb.yaml"
    cfg.write_text("c: 1.0\nruns: 40\n")
    assert (
        main(["train", "ucb", "--config", str(cfg), "--runs-dir", str(tmp_path / "runs"), "--budget", "300"])
        == 0
    )
    (run_dir,) = (tmp_path / "runs").iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["c"] == 1.0 and config["runs"] == 40
    capsys.readouterr()
    assert main(["eval", str(run_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == 40


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "nope"], "unknown algorithm 'nope'"),
        (["train", "sarsa", "--set", "alpha=fast"], "alpha: expected a number"),
        (["train", "sarsa", "--set", "beta=1"], "unknown key 'beta'"),
        (["train", "sarsa", "--env", "rlsuite/NoSuch-v0"], "--env rlsuite/NoSuch-v0"),
        (["train", "sarsa", "--budget", "0"], "budget must be a positive integer"),
        (["train", "value_iteration", "--device", "cuda"], "dynamic-programming agents sweep small exact tables"),
        *(
            []
            if torch.cuda.is_available()
            else [
                (["train", "ucb", "--device", "cuda"], "CUDA is not available here"),
                (["train", "q_learning", "--device", "cuda"], "CUDA is not available here"),
            ]
        ),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, argv, message) -> None:
    assert main([*argv, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_algos_lists_the_tabular_family(capsys) -> None:
    assert main(["algos"]) == 0
    out = capsys.readouterr().out
    for name in ("value_iteration", "mc_basic", "sarsa", "q_learning", "ucb", "thompson_sampling"):
        assert name in out
