"""Issue 11's bad-input catalogue, SB3's share: each bad input raises rlsuite's own error type, before
any work, with a message that names the culprit, and writes or changes nothing."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from sb3_helpers import cli, parse_train, train, tree

from rlsuite.agents import sb3
from rlsuite.app import train_sb3
from rlsuite.app.args import parse
from rlsuite.app.options import EvalOptions
from rlsuite.common.errors import ConfigError, ModelFolderError, OutputDirError, UsageError

GRID = "rlsuite/GridWorld-v0"


def _train(argv: list[str]) -> None:
    algo, config, opts = parse_train(argv)
    train_sb3.train(algo, config, opts)


# (case id, argv after `rlsuite train`, error type, the text that names the culprit)
TRAIN_CASES = [
    ("learning rate 0", ["ppo", "--learning_rate", "0"], ConfigError,
     "--learning_rate: PPOConfig.learning_rate: 0.0 is out of range (allowed: > 0)"),
    ("gamma above 1", ["ppo", "--gamma", "1.5"], ConfigError, "PPOConfig.gamma: 1.5 is out of range (allowed: [0, 1])"),
    ("negative clip range", ["ppo", "--set", "clip_range=-0.1"], ConfigError,
     "--set clip_range=-0.1: PPOConfig.clip_range: -0.1 is out of range (allowed: > 0)"),
    ("n_steps 0", ["ppo", "--set", "n_steps=0"], ConfigError, "PPOConfig.n_steps: 0 is out of range (allowed: >= 1)"),
    ("learning rate word", ["ppo", "--set", "learning_rate=fast"], ConfigError,
     "PPOConfig.learning_rate: expected a number > 0 or 'lin_<number > 0>', got 'fast'"),
    ("negative schedule", ["a2c", "--set", "learning_rate=lin_-1"], ConfigError,
     "A2CConfig.learning_rate: expected a number > 0 or 'lin_<number > 0>', got 'lin_-1'"),
    ("n_envs 0", ["ppo", "--set", "n_envs=0"], ConfigError, "PPOConfig.n_envs: 0 is out of range (allowed: >= 1)"),
    ("unknown policy", ["ppo", "--set", "policy=TransformerPolicy"], ConfigError,
     "argument --policy: invalid choice: 'TransformerPolicy'"),
    ("policy_kwargs a list", ["ppo", "--policy_kwargs", "[1, 2]"], ConfigError,
     "argument --policy_kwargs/--policy-kwargs: expected a mapping like '{key: value}', got '[1, 2]'"),
    ("activation not allowed", ["ppo", "--set", "policy_kwargs={activation_fn: os.system}"], ConfigError,
     "PPOConfig.policy_kwargs: activation_fn: expected one of ReLU, Tanh"),
    ("policy_kwargs unknown key", ["ppo", "--set", "policy_kwargs={net_arch: [8], dropout: 0.5}"], ConfigError,
     "PPOConfig.policy_kwargs: unknown key 'dropout' for ActorCriticPolicy"),
    ("wrapper outside namespaces", ["ppo", "--set", "env_wrapper=os.system"], ConfigError,
     "PPOConfig.env_wrapper: 'os.system' is outside rlsuite and gymnasium"),
    ("wrapper missing", ["ppo", "--set", "env_wrapper=rlsuite.envs.wrappers.Nope"], ConfigError,
     "env_wrapper: cannot import 'rlsuite.envs.wrappers.Nope'"),
    ("wrapper not a wrapper", ["ppo", "--set", "env_wrapper=rlsuite.common.io.write_json"], ConfigError,
     "env_wrapper: 'rlsuite.common.io.write_json' is not a gymnasium Wrapper class"),
    ("wrapper bad argument", ["ppo", "--set", "env_wrapper=[{rlsuite.envs.wrappers.PixelObservation: {cell_px: 2}}]"],
     ConfigError, "env_wrapper: PixelObservation: cell_px must be an integer >= 4, got 2"),
    ("misspelt key", ["ppo", "--set", "lerning_rate=0.1"], ConfigError,
     "--set lerning_rate=0.1: unknown setting 'lerning_rate' (did you mean --learning_rate?)"),
    ("missing config file", ["ppo", "--config", "missing.yml"], ConfigError,
     "missing.yml: no such file here, nor a config shipped"),
    ("unknown env", ["ppo", "--env", "rlsuite/Nope-v0"], UsageError, "--env rlsuite/Nope-v0:"),
    ("bad env kwargs", ["ppo", "--env_kwargs", "{n_rows: 0}"], UsageError,
     "--env rlsuite/GridWorld-v0 with --env_kwargs {'n_rows': 0}:"),
    ("batched without vector entry point", ["ppo", "--env", "FrozenLake-v1", "--set", "vec_env=batched"], ConfigError,
     "PPOConfig.vec_env: batched: FrozenLake-v1 has no vector entry point"),
    ("budget 0", ["ppo", "--budget", "0"], ConfigError, "--budget: TrainOptions.budget: 0 is out of range"),
    ("dqn on continuous actions", ["dqn", "--env", "Pendulum-v1"], ConfigError, "DQN does not take Box actions"),
    ("cnn on indices", ["ppo", "--set", "policy=CnnPolicy"], ConfigError,
     "PPOConfig.policy: CnnPolicy needs image observations"),
    ("cnn on small images", ["ppo", "--set", "policy=CnnPolicy",
                             "env_wrapper=[{rlsuite.envs.wrappers.PixelObservation: {cell_px: 4}}]"], ConfigError,
     "PPOConfig.policy: CnnPolicy's NatureCNN needs images of at least 36x36 pixels, got (20, 20, 3)"),
    ("gSDE on discrete actions", ["a2c", "--set", "use_sde=true"], ConfigError,
     "A2CConfig.use_sde: gSDE needs Box actions"),
    ("dqn gradient steps 0", ["dqn", "--set", "gradient_steps=0"], ConfigError,
     "DQNConfig.gradient_steps: 0 would never train"),
    ("train_freq unit", ["dqn", "--set", "train_freq_unit=fortnight"], ConfigError,
     "argument --train_freq_unit/--train-freq-unit: invalid choice: 'fortnight'"),
    ("sb3_verbose 3", ["ppo", "--set", "sb3_verbose=3"], ConfigError, "PPOConfig.sb3_verbose: 3 is out of range"),
    ("env device", ["ppo", "--set", "env_device=tpu"], ConfigError,
     "PPOConfig.env_device: expected cpu, auto, cuda or cuda:N, got 'tpu'"),
    ("resume without out", ["ppo", "--resume"], UsageError, "--resume: name the run folder to continue with --out RUN"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "kind", "needle"), [c[1:] for c in TRAIN_CASES], ids=[c[0] for c in TRAIN_CASES])
def test_bad_train_input(tmp_path, monkeypatch, argv, kind, needle):
    monkeypatch.chdir(tmp_path)  # relative paths (missing.yml, runs/) land here
    out = tmp_path / "run"
    argv = [*argv[:1], *(["--env", GRID] if "--env" not in argv else []), *argv[1:]]
    if "--resume" not in argv:
        argv += ["--out", str(out)]
    with pytest.raises(kind) as info:
        _train(argv)
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no run folder, no runs/, nothing


ZOO_FILE_CASES = [
    *[(f"RL Zoo {key}", f"{key}: true\n", f"'{key}' is an RL Zoo feature rlsuite train does not run")
      for key in ("normalize", "frame_stack", "callback", "vec_env_wrapper", "monitor_kwargs")],
    ("trust from a file", "trust_env_wrapper: true\n", "trust_env_wrapper can only be given on the command line"),
    ("bad value in file", "gamma: 2\n", "PPOConfig.gamma: 2 is out of range (allowed: [0, 1])"),
    ("string policy_kwargs", "policy_kwargs: dict(net_arch=[64])\n",
     "policy_kwargs: invalid value 'dict(net_arch=[64])'"),
    ("train_freq triple", "train_freq: [1, step, 2]\n", "train_freq: expected n or [n, step|episode]"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "needle"), [c[1:] for c in ZOO_FILE_CASES], ids=[c[0] for c in ZOO_FILE_CASES])
def test_bad_config_file_names_the_file_and_entry(tmp_path, text, needle):
    zoo = tmp_path / "zoo.yml"
    zoo.write_text(f"{GRID}:\n" + "".join(f"  {line}\n" for line in text.splitlines()))
    algo = "dqn" if "train_freq" in text else "ppo"
    with pytest.raises(ConfigError) as info:
        _train([algo, "--env", GRID, "--config", str(zoo), "--out", str(tmp_path / "run")])
    assert f"{zoo} [{GRID}]" in str(info.value) and needle in str(info.value)
    assert not (tmp_path / "run").exists()


def test_config_file_without_the_env_names_what_it_has(tmp_path):
    zoo = tmp_path / "zoo.yml"
    zoo.write_text(f"{GRID}:\n  gamma: 0.9\n")
    with pytest.raises(ConfigError, match=r"no entry for 'FrozenLake-v1' and no 'default' entry \(has: rlsuite/Grid"):
        _train(["ppo", "--env", "FrozenLake-v1", "--config", str(zoo), "--out", str(tmp_path / "run")])
    assert not (tmp_path / "run").exists()


def test_output_path_that_is_a_file(tmp_path):
    out = tmp_path / "run"
    out.write_text("not a folder")
    with pytest.raises(OutputDirError, match=f"{out}: exists and is not a folder"):
        _train(["ppo", "--env", GRID, "--out", str(out)])
    assert out.read_text() == "not a folder"


def test_video_without_moviepy_gives_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "moviepy", None)  # `import moviepy` now raises ImportError
    with pytest.raises(UsageError) as info:
        _train(["ppo", "--env", GRID, "--out", str(tmp_path / "run"), "--set", "video=true"])
    assert str(info.value) == sb3.VIDEO_HINT
    assert not (tmp_path / "run").exists()


def test_resume_of_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "run").mkdir()
    with pytest.raises(ModelFolderError, match=f"{tmp_path / 'run'}: not a run folder \\(no config.json\\)"):
        _train(["ppo", "--out", str(tmp_path / "run"), "--resume"])
    assert list((tmp_path / "run").iterdir()) == []


# ----- eval -----
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sb3") / "run"
    train(out, "a2c", GRID, "eval_freq=0", "checkpoint_freq=64", extra=["--budget", "128"])
    return out


def _eval(argv: list[str]) -> None:
    from rlsuite.app.cli import build_parser

    parsed = parse(build_parser("eval"), ["eval", *argv])
    train_sb3.evaluate(Path(parsed.args.run_dir), None, parsed.get(EvalOptions))


def _break_json(run: Path) -> None:
    (run / "config.json").write_text("{not json")


def _other_family(run: Path) -> None:
    (run / "config.json").write_text(json.dumps({"family": "tabular", "algo": "q_learning"}))


def _unknown_algo(run: Path) -> None:
    meta = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**meta, "algo": "sac"}))


def _bad_config_value(run: Path) -> None:
    meta = json.loads((run / "config.json").read_text())
    meta["config"]["gamma"] = 7
    (run / "config.json").write_text(json.dumps(meta))


def _no_model(run: Path) -> None:
    shutil.rmtree(run / "model")
    shutil.rmtree(run / "checkpoints")


def _corrupt_model(run: Path) -> None:
    (run / "model" / "policy.json").write_text("{")
    for step in (run / "checkpoints").iterdir():
        (step / "policy.safetensors").write_bytes(b"\0" * 10)


def _tampered_policy_kwargs(run: Path) -> None:
    _no_checkpoints(run)
    meta = json.loads((run / "model" / "policy.json").read_text())
    (run / "model" / "policy.json").write_text(json.dumps({**meta, "policy_kwargs": {"net_arch": [3]}}))


def _no_checkpoints(run: Path) -> None:
    shutil.rmtree(run / "checkpoints")


EVAL_CASES = [
    ("episodes 0", None, ["--episodes", "0"], ConfigError, "--episodes: EvalOptions.episodes: 0 is out of range"),
    ("seed negative", None, ["--seed", "-1"], ConfigError, "EvalOptions.seed: -1 is out of range"),
    ("config not json", _break_json, [], ModelFolderError, "config.json: not valid JSON"),
    ("another family", _other_family, [], ModelFolderError,
     "config.json: not a stable-baselines3 run (family 'tabular')"),
    ("unknown algorithm", _unknown_algo, [], ModelFolderError, "config.json: unknown algorithm 'sac'"),
    ("bad config value", _bad_config_value, [], ConfigError, "config.json: A2CConfig.gamma: 7 is out of range"),
    ("no model", _no_model, [], ModelFolderError, ": no model/ and no valid checkpoint to evaluate"),
    ("corrupt model and checkpoints", _corrupt_model, [], ModelFolderError,
     ": no model/ and no valid checkpoint to evaluate"),
    ("weights that do not fit", _tampered_policy_kwargs, [], ModelFolderError,
     "model/policy.safetensors: does not match"),
    ("cuda where there is none", None, ["--device", "cuda:7"], UsageError, "device: 'cuda:7' asked for"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spoil", "argv", "kind", "needle"), [c[1:] for c in EVAL_CASES], ids=[c[0] for c in EVAL_CASES]
)
def test_bad_eval_input(tmp_path, finished_run, spoil, argv, kind, needle):
    import torch

    if "--device" in argv and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    (run / "eval.json").write_text('{"return_mean": 1.0}')  # a good earlier result that must survive
    if spoil is not None:
        spoil(run)
    before = tree(run)
    with pytest.raises(kind) as info:
        _eval([str(run), *argv])
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert tree(run) == before


def test_eval_of_a_folder_without_config(tmp_path, capsys):
    assert cli(["eval", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"rlsuite: error: {tmp_path}: not a run folder (no config.json)"
    assert list(tmp_path.iterdir()) == []

