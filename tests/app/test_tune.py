"""``rlsuite tune``: Optuna over the search spaces declared beside the configs, a study shared through its
storage, best.yaml that ``rlsuite train --config`` takes, report.md with the importances."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml

from rlsuite.agents.sb3_config import CONFIGS
from rlsuite.agents.tabular import ALGORITHMS
from rlsuite.app.cli import main
from rlsuite.app.tune import search_space
from rlsuite.common.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BUDGET = "20000"  # q_learning steps: a trial takes well under a second
TUNE = ["tune", "q_learning", "--budget", BUDGET, "--sampler_seed", "0"]


def study_of(out: Path) -> optuna.Study:
    return optuna.load_study(study_name="q_learning", storage=f"sqlite:///{out / 'study.db'}")


def test_declared_search_spaces_are_fields_within_their_bounds():
    classes = [*CONFIGS.values(), *(cls.config_cls for cls in ALGORITHMS.values())]
    declared = [cls for cls in classes if cls.SEARCH_SPACE]
    assert {"ppo", "a2c", "dqn", "qrdqn", "trpo", "maskable_ppo", "recurrent_ppo", "ars"} <= {
        cls.algo for cls in declared if hasattr(cls, "sb3_class")}  # fmt: skip
    for cls in declared:
        space = search_space(cls)
        for name, entry in space.items():
            points = entry.get("choices") or [entry["low"], entry["high"]]
            for value in points:  # every end of the space builds a valid config
                cls(**{name: value})
        assert set(space) <= {f.name for f in dataclasses.fields(cls)}


@pytest.mark.slow
def test_a_study_writes_best_yaml_that_train_reproduces(tmp_path, capsys):
    out = tmp_path / "tune"
    assert main([*TUNE, "--n_trials", "4", "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("tune q_learning: 4 of 4 trials complete; best value_error ")
    study = study_of(out)
    assert len(study.trials) == 4 and study.direction == optuna.study.StudyDirection.MINIMIZE
    # every trial is a normal run folder, scored by its finished.json
    for t in study.trials:
        final = json.loads((out / "trials" / f"{t.number:04d}" / "seed0" / "finished.json").read_text())["final"]
        assert t.value == final["value_error"]
        assert t.intermediate_values  # the learning curve (metrics.csv), as the pruner sees it
    best = yaml.safe_load((out / "best.yaml").read_text())
    assert set(best) == {"alpha", "epsilon", "episode_length"} and best["alpha"] == study.best_params["alpha"]
    # the best config, trained again with the same seed and budget, gives the same score
    run = tmp_path / "again"
    assert main(["train", "q_learning", "--config", str(out / "best.yaml"), "--budget", BUDGET, "--out", str(run)]) == 0
    final = json.loads((run / "finished.json").read_text())["final"]
    assert final["value_error"] == study.best_value
    report = (out / "report.md").read_text()
    importances = optuna.importance.get_param_importances(study)
    assert "## Importance of each setting" in report
    for name, value in importances.items():
        assert f"| {name} | {value:.3f} |" in report


@pytest.mark.slow
def test_two_processes_share_one_study(tmp_path):
    out = tmp_path / "tune"
    storage = f"sqlite:///{out / 'study.db'}"
    out.mkdir()
    cmd = [sys.executable, "-m", "rlsuite", *TUNE, "--n_trials", "2", "--out", str(out), "--storage", storage]
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"}
    procs = [subprocess.Popen([*cmd, "--sampler_seed", str(i)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    study = study_of(out)
    assert len(study.trials) == 4 and sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert sorted(p.name for p in (out / "trials").iterdir() if p.is_dir()) == ["0000", "0001", "0002", "0003"]


def test_bad_search_spaces_are_one_line_errors():
    from rlsuite.agents.tabular.td import QLearningConfig

    with pytest.raises(ConfigError, match="'alpah' is not a setting of QLearningConfig"):
        search_space(QLearningConfig, {"alpah": {"low": 0.1, "high": 0.2}})
    with pytest.raises(ConfigError, match="alpha: expected"):
        search_space(QLearningConfig, {"alpha": {"low": 0.2, "high": 0.1}})
    with pytest.raises(ConfigError, match="declares no SEARCH_SPACE"):
        search_space(ALGORITHMS["value_iteration"].config_cls)


def test_a_study_of_another_search_is_refused(tmp_path, capsys):
    out = tmp_path / "tune"
    assert main([*TUNE, "--n_trials", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main([*TUNE, "--n_trials", "1", "--out", str(out), "--set", "gamma=0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlsuite: error: study 'q_learning'") and "another search" in err and "\n" not in err


@pytest.mark.slow
def test_sb3_trials_train_in_stages_reported_to_the_pruner(tmp_path):
    """An SB3 trial resumes its run to a growing budget and reports the exact gap after each part."""
    out = tmp_path / "tune"
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {low: 0.0001, high: 0.01, log: true}\n")
    argv = ["tune", "trpo", "--n_trials", "2", "--budget", "512", "--stages", "2", "--space", str(space),
            "--out", str(out), "--set", "n_envs=2", "n_steps=64", "n_critic_updates=1", "eval_freq=0"]  # fmt: skip
    assert main(argv) == 0
    study = optuna.load_study(study_name="trpo", storage=f"sqlite:///{out / 'study.db'}")
    for t in study.trials:
        assert sorted(t.intermediate_values) == [256, 512]
        run = out / "trials" / f"{t.number:04d}" / "seed0"
        final = json.loads((run / "finished.json").read_text())["final"]["gap_to_optimum_start"]
        assert t.value == t.intermediate_values[512] == final
    assert yaml.safe_load((out / "best.yaml").read_text())["n_timesteps"] == 512
