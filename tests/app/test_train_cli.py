"""`rlsuite train / eval / algos / plot` for the tabular family: flags from the configs, run folders, errors."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from rlsuite.agents.tabular.td import QLearningConfig
from rlsuite.app.cli import main
from rlsuite.app.options import TrainOptions
from rlsuite.common.io import OutputDir

FIG_3_4_R10_ROW1 = [3.5, 3.9, 4.3, 4.8, 5.3]  # Zhao fig. 3.4, r_forbidden = -10


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1] if err else ""


def test_train_builds_the_algorithms_config_once_from_flags_yaml_and_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rlsuite train q_learning ...`` validates one QLearningConfig, the library's own class, with every
    layer applied (the YAML file < flags < --set), and the agent learns with that object."""
    from rlsuite.agents.tabular.td import QLearning

    built: list[QLearningConfig] = []
    learned_with: list[object] = []
    validate, learn = QLearningConfig.__post_init__, QLearning.learn

    def counting_post_init(self: QLearningConfig) -> None:
        built.append(self)
        validate(self)

    def recording_learn(self: QLearning, *args: object, **kwargs: object) -> object:
        learned_with.append(self.config)
        return learn(self, *args, **kwargs)

    monkeypatch.setattr(QLearningConfig, "__post_init__", counting_post_init)
    monkeypatch.setattr(QLearning, "learn", recording_learn)
    settings = tmp_path / "q.yaml"
    settings.write_text("gamma: 0.7\nepsilon: 0.3\nalpha: 0.05\n")
    argv = ["train", "q_learning", "--config", str(settings), "--gamma", "0.5", "--alpha", "0.3", "--set", "alpha=0.2",
            "--budget", "2560", "--out", str(tmp_path / "q")]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    assert len(built) == 1 and type(built[0]) is QLearningConfig
    assert learned_with == [built[0]] and learned_with[0] is built[0]
    assert (built[0].gamma, built[0].epsilon, built[0].alpha) == (0.5, 0.3, 0.2)
    saved = json.loads((tmp_path / "q" / "config.json").read_text())["config"]
    assert (saved["gamma"], saved["epsilon"], saved["alpha"]) == (0.5, 0.3, 0.2)


def test_train_and_eval_a_grid_world_agent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "q"
    assert main(["train", "q_learning", "--out", str(run), "--budget", "1000000", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    steps_run = int(float((run / "metrics.csv").read_text().splitlines()[-1].split(",")[0]))
    assert steps_run == 999_936  # whole batches of the env copies: the line says what ran, and the budget
    assert all(len(line) < 80 or " " not in line.strip() for line in out.splitlines())  # 80 columns
    text = " ".join(out.split())
    assert text.startswith(f"q_learning on rlsuite/GridWorld-v0, seed 1: {steps_run} steps (budget 1000000); "
                           "max |v - v*|")  # fmt: skip
    assert text.endswith(f"greedy optimal in 100% of states; run folder {run}")
    assert text.count("run folder") == 1
    names = {p.name for p in run.iterdir()}
    assert names >= {"config.json", "agent.npz", "agent.json", "metrics.csv", "learning_curve.png",
                     "values_heatmap.png", "policy.png", "log.txt", "finished.json"}  # fmt: skip
    # finished.json is written last
    assert max(run.iterdir(), key=lambda p: p.stat().st_mtime_ns).name == "finished.json"
    config = json.loads((run / "config.json").read_text())
    assert (config["family"], config["algo"], config["seed"]) == ("tabular", "q_learning", 1)
    assert config["budget"] == 1_000_000
    # the defaults; --device auto keeps 256 env copies on the CPU (numpy), GPU or not (docs/gpu.md)
    assert config["config"] == dataclasses.asdict(QLearningConfig()) and config["device"] == "cpu"
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header == ["steps", "value_error", "optimal_fraction", "greedy_optimal"]
    assert main(["eval", str(run), "--episodes", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    report = json.loads((run / "eval.json").read_text())
    # an optimal policy: the exact gap is clamped at 0 (round-off of policy evaluation is below the tolerance)
    assert report["gap_to_optimum_max"] == 0.0 and report["gap_to_optimum_start"] == 0.0
    assert report["optimal_action_fraction"] == 1.0 and report["episodes"] == 2
    # v*(start) of Zhao's grid world (fig. 3.4's (1, 1)): 5.832; the greedy episode: 5 steps to the target, then
    # 95 more on it (reward 1 each, 100-step limit)
    assert report["v_star_start"] == pytest.approx(5.832, abs=1e-6) and report["return_mean"] == 95.0
    assert report["return_se"] == 0.0 and report["gap_tolerance"] == 1e-6
    assert len(lines) < 10 and all(len(line) < 80 or " " not in line.strip() for line in lines)
    text = " ".join(" ".join(lines).split())
    assert "greedy return 95.000 +- 0.000 (SE) over 2 episodes; discounted 5.832" in text
    assert "max over states 0, mean 0, at the start 0 (0 means below 1e-06)" in text
    assert text.endswith(f"full report: {run / 'eval.json'}")


def test_flags_yaml_and_set_reach_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "q.yaml"
    cfg.write_text("alpha: 0.3\nepsilon: 0.2\nseed: 4\n")
    argv = ["train", "--set", "alpha_final=0.05", "q_learning", "--config", str(cfg), "--epsilon", "0.25",
            "--budget", "2560", "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    # the flag beats the file; --set before the algorithm's name works; the file's seed is used
    settings = config["config"]
    assert (settings["alpha"], settings["epsilon"], settings["alpha_final"]) == (0.3, 0.25, 0.05)
    assert config["seed"] == 4


def test_bandit_runs_take_runs_from_a_flag_or_the_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "ucb.yaml"
    cfg.write_text("c: 1.0\nruns: 40\n")
    run = tmp_path / "ucb"
    assert main(["train", "ucb", "--config", str(cfg), "--out", str(run), "--budget", "300", "--device", "cpu"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["config"]["c"] == 1.0 and config["runs"] == 40
    assert json.loads((run / "agent.json").read_text())["runs"] == 40
    capsys.readouterr()
    assert main(["eval", str(run), "--device", "cpu"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    report = json.loads((run / "eval.json").read_text())
    assert (report["runs"], report["steps"]) == (40, 300)
    assert f"reward per step {report['average_reward']:.3f} (mean over all steps and runs)" in out
    assert main(["train", "ucb", "--runs", "7", "--out", str(tmp_path / "u7"), "--budget", "5", "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "u7" / "config.json").read_text())["runs"] == 7


def test_env_kwargs_reach_the_env_and_the_saved_agent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "vi"
    assert main(["train", "value_iteration", "--env_kwargs", "{r_forbidden: -10}", "--out", str(run)]) == 0
    assert json.loads((run / "agent.json").read_text())["env_kwargs"] == {"r_forbidden": -10}
    with np.load(run / "agent.npz") as arrays:
        np.testing.assert_allclose(np.round(arrays["v"][:5], 1), FIG_3_4_R10_ROW1)
    capsys.readouterr()
    assert main(["eval", str(run), "--episodes", "1"]) == 0  # the env is re-made with the kwargs
    assert json.loads((run / "eval.json").read_text())["gap_to_optimum_max"] == 0.0
    grid = tmp_path / "grid"
    assert main(["train", "policy_iteration", "--out", str(grid),
                 "--set", 'env_kwargs={grid_map: ["S..", ".#.", "..T"]}']) == 0  # fmt: skip
    with np.load(grid / "agent.npz") as arrays:
        assert arrays["q"].shape == (9, 5)


def test_help_lists_every_setting_with_help_default_and_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "q_learning", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in dataclasses.fields(QLearningConfig):
        if f.name != "device":  # the shared --device
            assert f"--{f.name}" in text, f.name
            assert " ".join(f.metadata["help"].split()) in text, f.name
    for f in dataclasses.fields(TrainOptions):
        assert f"--{f.name}" in text, f.name
    assert "step size at the start (range (0, 1]) (default: 0.1)" in text
    assert "--config FILE.yaml" in text and "--set KEY=VALUE" in text
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    listing = capsys.readouterr().out
    from rlsuite.app.train_tabular import ALGOS

    for algo in ALGOS:
        assert algo in listing


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "nope"], "unknown algorithm 'nope'"),
        (["train", "q_learnin"], "(did you mean 'q_learning'?)"),
        (["train", "sarsa", "--alpha", "fast"], "argument --alpha: invalid float value: 'fast'"),
        (["train", "sarsa", "--alpha", "2"], "--alpha: SarsaConfig.alpha: 2.0 is out of range (allowed: (0, 1])"),
        (["train", "sarsa", "--set", "gamma=2.0"],
         "--set gamma=2.0: SarsaConfig.gamma: 2.0 is out of range (allowed: [0, 1])"),
        (["train", "--set", "epsilon=-1", "sarsa"], "--set epsilon=-1: SarsaConfig.epsilon: -1.0 is out of range"),
        (["train", "sarsa", "--set", "beta=1"], "unknown setting 'beta'"),
        (["train", "sarsa", "--set", "alpha=[1, 2"], "--set alpha=[1, 2: not valid YAML"),
        (["train", "n_step_sarsa", "--n", "10"], "--n: NStepSarsaConfig.n: 10 must be below episode_length (10)"),
        (["train", "mc_exploring_starts", "--tail", "100"],
         "MCExploringStartsConfig.tail: 100 must be below episode_length"),
        (["train", "mc_basic", "--episodes_per_pair", "0"],
         "MCBasicConfig.episodes_per_pair: 0 is out of range (allowed: >= 1)"),
        (["train", "ucb", "--runs", "0"], "BanditOptions.runs: 0 is out of range (allowed: >= 1)"),
        (["train", "value_iteration", "--gamma", "1"],
         "ValueIterationConfig.gamma: 1.0 leaves the values of this continuing task infinite"),
        (["train", "sarsa", "--env", "rlsuite/NoSuch-v0"],
         "--env rlsuite/NoSuch-v0: Environment `NoSuch` doesn't exist"),
        (["train", "sarsa", "--env_kwargs", "{r_forbiden: -10}"],
         "--env rlsuite/GridWorld-v0 with --env_kwargs {\"r_forbiden\": -10}: "),
        (["train", "sarsa", "--env_kwargs", "{slip_prob: 2}"], "slip_prob must be a probability in [0, 1], got 2"),
        (["train", "sarsa", "--env_kwargs", "[1, 2]"], "expected a mapping like '{key: value}'"),
        (["train", "sarsa", "--env", "CartPole-v1"], "Sarsa needs Discrete observations and actions"),
        (["train", "sarsa", "--budget", "0"],
         "--budget: TabularOptions.budget: 0 is out of range (allowed: [1, 10000000000])"),
        (["train", "sarsa", "--resume"], "--resume: tabular runs take seconds and keep no checkpoints"),
        (["train", "value_iteration", "--device", "cuda"], "dynamic-programming agents sweep small exact tables"),
        *(
            []
            if torch.cuda.is_available()
            else [(["train", "q_learning", "--device", "cuda"], "CUDA is not available")]
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                                  message: str) -> None:  # fmt: skip
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(argv) == 2
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())  # no run folder, not even an empty one


def test_output_folder_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    args = ["train", "value_iteration", "--out", str(run)]
    assert main(args) == 0
    before = (run / "agent.npz").read_bytes()
    assert main(args) == 2
    assert "holds finished results; pass --overwrite" in _err(capsys)
    assert (run / "agent.npz").read_bytes() == before
    assert main([*args, "--overwrite", "--gamma", "0.5"]) == 0
    assert json.loads((run / "config.json").read_text())["config"]["gamma"] == 0.5
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert main(["train", "value_iteration", "--out", str(a_file)]) == 2
    assert f"{a_file}: exists and is not a folder" in _err(capsys)
    other = tmp_path / "busy"
    with OutputDir(other):  # another writer holds the folder
        assert main(["train", "value_iteration", "--out", str(other)]) == 2
        assert f"in use by process {os.getpid()}" in _err(capsys)
    assert not (other / "config.json").exists()
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        assert main(["train", "value_iteration", "--out", str(locked / "run")]) == 2
        assert "not writable" in _err(capsys)
        locked.chmod(0o700)


def test_eval_validates_before_touching_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    assert main(["train", "policy_iteration", "--out", str(run)]) == 0
    assert main(["eval", str(run)]) == 0
    good = (run / "eval.json").read_bytes()
    capsys.readouterr()
    assert main(["eval", str(run), "--episodes", "0"]) == 2
    assert "--episodes: EvalOptions.episodes: 0 is out of range (allowed: >= 1)" in _err(capsys)
    npz = run / "agent.npz"
    npz.write_bytes(npz.read_bytes()[:100])  # truncated
    assert main(["eval", str(run)]) == 2
    assert f"{npz}: not a readable npz archive" in _err(capsys)
    assert (run / "eval.json").read_bytes() == good  # a good eval.json is never replaced by a failed eval
    (run / "agent.json").write_text('{"algo": "policy_iteration", ')
    assert main(["eval", str(run)]) == 2
    assert f"{run / 'agent.json'}: not valid JSON" in _err(capsys)
    (run / "config.json").write_text("{")
    assert main(["eval", str(run)]) == 2
    assert f"{run / 'config.json'}: not valid JSON" in _err(capsys)
    assert main(["eval", str(tmp_path / "nothing")]) == 2
    assert "not a run folder" in _err(capsys)
    (run / "finished.json").unlink()
    (run / "config.json").write_text(json.dumps({"family": "tabular", "algo": "policy_iteration",
                                                 "env_id": "rlsuite/GridWorld-v0"}))
    assert main(["eval", str(run)]) == 2
    assert "an unfinished run (no finished.json)" in _err(capsys)
    assert (run / "eval.json").read_bytes() == good


def test_algos_lists_the_tabular_family(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["algos"]) == 0
    out = capsys.readouterr().out
    for name in ("value_iteration", "mc_basic", "sarsa", "q_learning", "ucb", "thompson_sampling"):
        assert f"{name} " in out and "[tabular]" in out


def test_a_second_writer_is_told_the_first_ones_process_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """README: "a second writer is told the first's process id", also when the folder holds an unfinished job."""
    import subprocess
    import sys

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text("step\n")  # the first writer's unfinished job
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from rlsuite.common.io import OutputDir; "
         f"d = OutputDir({str(run)!r}, allow_existing=True).open(); print('locked', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(["train", "value_iteration", "--out", str(run)]) == 2
        assert _err(capsys) == (f"rlsuite: error: {run}: in use by process {holder.pid} (lock file {run / '.lock'}); "
                                "wait for it or use another folder")  # fmt: skip
    finally:
        holder.communicate("")
    assert main(["train", "value_iteration", "--out", str(run)]) == 2  # released: the unfinished job is named
    assert "holds an unfinished job" in _err(capsys)
