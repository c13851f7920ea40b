"""rlsuite.app.train_tabular and rlsuite.app.options, exactly and in seconds (written to kill mutmut's mutants).

Checked: the family's lookups (agent, config and options class, ``--help``'s defaults, the ``--config`` layer) and
their one-line errors; the options' defaults, bounds (at the bound and one past) and device check; ``run_device``
for the exact and the sample-based agents, on the CPU and on simulated CUDA at ``GPU_MIN_COPIES`` and one below;
``make_env`` and its errors; ``rlsuite train`` in-process for a grid-world agent (numpy and torch arrays, another env),
MC Basic (its env copies counted from the env), the bandits (``--runs`` 1 and 2) and a dynamic-programming agent, on
the CPU and on simulated CUDA: every file of the run folder (names, config.json,
agent.json and agent.npz, metrics.csv, finished.json, log.txt, the PNGs byte for byte against figures drawn from an
agent trained here), the result line, the default folder under ``runs/``, and the folder rules (finished,
unfinished, ``--overwrite``, ``--resume``); ``summary`` and ``result_line`` on given histories; ``evaluate`` of a
grid-world run (greedy play replayed here, the exact gaps recomputed), of a run without a model, at gamma 1, of a
bandit run (replayed here), its errors, and the 100,000-step cap of an episode; the tour's tabular section, its
numbers recomputed here and its two figures byte for byte, and the full (not quick) section's budgets; and
``--backend torch`` on an env without a batched version refused before the run folder is made.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401  (registers the env ids)
from rlsuite.agents.tabular import ALGORITHMS
from rlsuite.agents.tabular.bandit import UCB, UCBConfig
from rlsuite.agents.tabular.dp import ValueIteration, ValueIterationConfig
from rlsuite.agents.tabular.td import QLearning, QLearningConfig
from rlsuite.app import train_tabular as tt
from rlsuite.app.options import MAX_BUDGET, MAX_SEED, EvalOptions, RunOptions, TrainOptions
from rlsuite.app.plots import history_curves, plot_learning_curve, write_run_plots
from rlsuite.common.device import GPU_MIN_COPIES
from rlsuite.common.errors import ConfigError, ModelFolderError, UsageError

GRID = "rlsuite/GridWorld-v0"
BANDIT = "rlsuite/KArmedBandit-v0"
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO rlsuite\.app\.train_tabular: (.*)")
GRID_FILES = {".lock", "agent.json", "agent.npz", "config.json", "finished.json", "learning_curve.png", "log.txt",
              "metrics.csv", "policy.png", "values_heatmap.png"}  # fmt: skip
PLAIN_FILES = GRID_FILES - {"policy.png", "values_heatmap.png"}


def _one_line(text: str) -> str:
    """A result line as printed (wrapped at 80 columns), back on one line."""
    return " ".join(text.split())


def _finished(run: Path) -> dict[str, Any]:
    """finished.json without its time stamp (checked for its form here)."""
    info = json.loads((run / "finished.json").read_text())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", info.pop("finished_at"))
    return info


def _log_lines(run: Path) -> list[str]:
    """log.txt's messages, each line checked for its time stamp, level and logger."""
    lines = (run / "log.txt").read_text().splitlines()
    matches = [LOG_LINE.fullmatch(line) for line in lines]
    assert all(matches), lines
    return [m.group(1) for m in matches if m]


def _same_files(run: Path, ref: Path, names: list[str]) -> None:
    """The files ``names`` of ``run`` hold the same bytes as those of ``ref``."""
    for name in names:
        assert (run / name).read_bytes() == (ref / name).read_bytes(), name


def _csv(history: Any, path: Path) -> str:
    """``history`` as the CSV text a run folder's metrics.csv holds."""
    return history.to_csv(path).read_text()


# ----- the family's lookups -----


def test_agent_config_and_options_class_and_the_help_defaults() -> None:
    assert tt.agent_class("q_learning") is QLearning and tt.agent_class("ucb") is UCB
    assert tt.config_class("q_learning") is QLearningConfig and tt.config_class("ucb") is UCBConfig
    assert tt.options_class("ucb") is tt.BanditOptions and tt.options_class("thompson_sampling") is tt.BanditOptions
    assert tt.options_class("q_learning") is tt.TabularOptions
    assert tt.options_class("value_iteration") is tt.TabularOptions
    assert tt.help_defaults("q_learning") == {"budget": "3,000,000 steps", "env": GRID}
    assert tt.help_defaults("ucb") == {"budget": "1,000 steps", "env": BANDIT}
    assert tt.help_defaults("mc_prediction") == {"budget": "10,000 episodes", "env": "Blackjack-v1"}
    known = "value_iteration, policy_iteration, truncated_policy_iteration, mc_basic, mc_exploring_starts, "
    for lookup in (tt.agent_class, tt.config_class, tt.options_class, tt.help_defaults):
        with pytest.raises(UsageError) as info:
            lookup("nope")
        assert str(info.value) == f"unknown tabular algorithm 'nope' (known: {', '.join(tt.ALGOS)})"
        assert str(info.value).startswith(f"unknown tabular algorithm 'nope' (known: {known}")
        assert str(info.value).endswith(", off_policy_ac, deterministic_ac)")


def test_config_defaults_is_the_yaml_file_named_by_config(tmp_path: Path) -> None:
    settings = tmp_path / "q.yaml"
    settings.write_text("alpha: 0.3\nepsilon: 0.2\n")
    assert tt.config_defaults("q_learning", types.SimpleNamespace(config=settings)) == [
        ({"alpha": 0.3, "epsilon": 0.2}, str(settings))
    ]
    assert tt.config_defaults("q_learning", types.SimpleNamespace(config=str(settings))) == [
        ({"alpha": 0.3, "epsilon": 0.2}, str(settings))
    ]
    assert tt.config_defaults("q_learning", types.SimpleNamespace(config=None)) == []
    assert tt.config_defaults("q_learning", types.SimpleNamespace()) == []  # a namespace without --config


# ----- the options -----


def test_run_options_defaults_bounds_and_device_check() -> None:
    shared = {"seed": 0, "budget": None, "out": None, "resume": False, "overwrite": False, "trust_env_module": False,
              "device": "auto"}  # fmt: skip
    assert dataclasses.asdict(RunOptions()) == shared
    assert dataclasses.asdict(TrainOptions()) == {**shared, "env": None, "env_kwargs": None}
    assert dataclasses.asdict(tt.TabularOptions()) == {**shared, "env": None, "env_kwargs": None, "backend": "auto"}
    assert dataclasses.asdict(tt.BanditOptions()) == {**shared, "env": None, "env_kwargs": None, "backend": "auto",
                                                       "runs": 2000}  # fmt: skip
    assert dataclasses.asdict(EvalOptions()) == {"episodes": 20, "seed": 0, "device": "auto", "video": False,
                                                 "trust_env_module": False, "trust_pickle": False}  # fmt: skip
    assert (MAX_SEED, MAX_BUDGET) == (4_294_967_295, 10_000_000_000)
    assert RunOptions(seed=MAX_SEED, budget=MAX_BUDGET).seed == MAX_SEED
    assert RunOptions(budget=1).budget == 1 and EvalOptions(episodes=1, seed=MAX_SEED).episodes == 1
    assert tt.BanditOptions(runs=1).runs == 1
    for device in ("auto", "cpu", "cuda", "cuda:1"):
        assert tt.TabularOptions(device=device).device == device and EvalOptions(device=device).device == device
    bad: list[tuple[Any, str, str, Any]] = [
        (lambda: RunOptions(seed=MAX_SEED + 1),
         "RunOptions.seed: 4294967296 is out of range (allowed: [0, 4294967295])", "seed", MAX_SEED + 1),
        (lambda: RunOptions(seed=-1), "RunOptions.seed: -1 is out of range (allowed: [0, 4294967295])", "seed", -1),
        (lambda: RunOptions(budget=MAX_BUDGET + 1),
         "RunOptions.budget: 10000000001 is out of range (allowed: [1, 10000000000])", "budget", MAX_BUDGET + 1),
        (lambda: RunOptions(budget=0), "RunOptions.budget: 0 is out of range (allowed: [1, 10000000000])", "budget", 0),
        (lambda: tt.BanditOptions(runs=0), "BanditOptions.runs: 0 is out of range (allowed: >= 1)", "runs", 0),
        (lambda: EvalOptions(seed=MAX_SEED + 1),
         "EvalOptions.seed: 4294967296 is out of range (allowed: [0, 4294967295])", "seed", MAX_SEED + 1),
        (lambda: RunOptions(device="tpu"), "RunOptions.device: 'tpu' is not one of auto, cpu, cuda, cuda:N", "device",
         "tpu"),
        (lambda: tt.TabularOptions(device="gpu"), "TabularOptions.device: 'gpu' is not one of auto, cpu, cuda, cuda:N",
         "device", "gpu"),
        (lambda: EvalOptions(device="torch:cpu"), "EvalOptions.device: 'torch:cpu' is not one of auto, cpu, cuda, "
         "cuda:N (torch on the CPU: --device cpu --backend torch)", "device", "torch:cpu"),
    ]  # fmt: skip
    for make, message, field, value in bad:
        with pytest.raises(ConfigError) as info:
            make()
        assert (str(info.value), info.value.field, info.value.value) == (message, field, value)


def test_bad_run_and_eval_devices_from_the_command_line(cli: Any, tmp_path: Path) -> None:
    """``--device`` is checked by the options' own ``__post_init__``: one line, exit 2, nothing written."""
    code, out, err = cli("train", "value_iteration", "--device", "tpu", "--out", str(tmp_path / "run"))
    assert (code, out) == (2, "")
    assert err == "rlsuite: error: --device: TabularOptions.device: 'tpu' is not one of auto, cpu, cuda, cuda:N\n"
    code, out, err = cli("eval", str(tmp_path / "run"), "--device", "gpu")
    assert (code, out) == (2, "")
    assert err == "rlsuite: error: --device: EvalOptions.device: 'gpu' is not one of auto, cpu, cuda, cuda:N\n"
    assert not any(tmp_path.iterdir())


# ----- where it runs, what it learns on -----


def test_run_device_on_the_cpu() -> None:
    for device, backend in (("auto", "auto"), ("cpu", "auto"), ("auto", "numpy"), ("cpu", "numpy")):
        assert tt.run_device(ValueIteration, device, backend, 10**6) == "cpu"
        assert tt.run_device(QLearning, device, backend, 1) == "cpu"
    assert tt.run_device(QLearning, "auto", "torch", 1) == "torch:cpu"
    assert tt.run_device(QLearning, "cpu", "torch", GPU_MIN_COPIES) == "torch:cpu"
    for device, backend in (("cuda", "auto"), ("cuda:1", "numpy"), ("cpu", "torch"), ("auto", "torch")):
        with pytest.raises(ConfigError) as info:
            tt.run_device(ValueIteration, device, backend, 1)
        assert str(info.value) == (
            f"--device {device} --backend {backend}: the dynamic-programming agents sweep small exact tables in numpy "
            "on the CPU; use --device cpu or auto (value_iteration(model, device=...) runs large models on CUDA)"
        )
        assert (info.value.field, info.value.value) == ("device", device)


def test_run_device_on_simulated_cuda_from_gpu_min_copies_on() -> None:
    from cuda_sim import simulate_cuda

    with simulate_cuda():
        assert tt.run_device(QLearning, "auto", "auto", GPU_MIN_COPIES) == "cuda"
        assert tt.run_device(QLearning, "auto", "auto", GPU_MIN_COPIES - 1) == "cpu"
        assert tt.run_device(QLearning, "auto", "torch", GPU_MIN_COPIES - 1) == "torch:cpu"
        assert tt.run_device(QLearning, "cpu", "auto", GPU_MIN_COPIES) == "cpu"  # asked for: the CPU, however many
        assert tt.run_device(QLearning, "cuda", "auto", 1) == "cuda"
        assert tt.run_device(ValueIteration, "auto", "auto", GPU_MIN_COPIES) == "cpu"
        with pytest.raises(UsageError) as info:
            tt.run_device(QLearning, "cuda", "numpy", 1)
        message = "--backend numpy runs on the CPU only, not on cuda; use --device cpu or --backend torch"
        assert str(info.value) == message


def test_make_env_builds_the_agents_env_and_names_the_flags_in_its_errors() -> None:
    env = tt.make_env(QLearning, GRID, {"r_forbidden": -10, "slip_prob": 0.25}, 1, "cpu")
    assert env.spec.id == GRID and env.spec.kwargs["r_forbidden"] == -10 and env.unwrapped.slip_prob == 0.25
    assert tt.make_env(QLearning, GRID, None, 1, "cpu").unwrapped.slip_prob == 0.0
    venv = tt.make_env(UCB, BANDIT, {"k": 4}, 3, "torch:cpu")
    assert (venv.num_envs, venv.single_action_space.n, venv.backend.is_torch) == (3, 4, True)
    assert tt.make_env(UCB, BANDIT, None, 2, "cpu").backend.is_torch is False
    bad = [
        (QLearning, "rlsuite/NoSuch-v0", None,
         "--env rlsuite/NoSuch-v0: Environment `NoSuch` doesn't exist in namespace rlsuite."),
        (QLearning, "rlsuite/NoSuch-v0", {"k": 1},
         "--env rlsuite/NoSuch-v0 with --env_kwargs {\"k\": 1}: Environment `NoSuch` doesn't exist in namespace "
         "rlsuite."),
        (QLearning, GRID, {}, None),
        (QLearning, GRID, {"slip_prob": 2},
         "--env rlsuite/GridWorld-v0 with --env_kwargs {\"slip_prob\": 2}: slip_prob must be a probability in [0, 1], "
         "got 2"),
        (QLearning, GRID, {"r_forbiden": -10},
         "--env rlsuite/GridWorld-v0 with --env_kwargs {\"r_forbiden\": -10}: GridWorldEnv.__init__() got an "
         "unexpected keyword argument 'r_forbiden' was raised from the environment creator for rlsuite/GridWorld-v0 "
         "with kwargs ({'r_forbiden': -10})"),
        (UCB, BANDIT, {"k": 0},
         "--env rlsuite/KArmedBandit-v0 with --env_kwargs {\"k\": 0}: k must be an integer >= 1, got 0"),
    ]  # fmt: skip
    for cls, env_id, kwargs, message in bad:
        if message is None:  # empty kwargs: no "with --env_kwargs", and the env is made
            assert tt.make_env(cls, env_id, kwargs, 1, "cpu").spec.id == env_id
            continue
        with pytest.raises(UsageError) as info:
            tt.make_env(cls, env_id, kwargs, 2, "cpu")
        assert str(info.value) == message


# ----- train -----


def _q_reference(budget: int, seed: int, device: str = "cpu", env_id: str = GRID, **config: Any) -> Any:
    """The env, agent and history of Q-learning trained here as `rlsuite train` should train it."""
    env = gym.make(env_id)
    agent = QLearning(env, QLearningConfig(**config), device=device)
    return env, agent, agent.learn(budget, seed=seed)


def test_train_a_grid_world_agent_writes_every_file_exactly(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "q"
    code, out, err = cli("train", "q_learning", "--budget", "2560", "--seed", "3", "--alpha", "0.3", "--out", str(run))
    assert code == 0
    env, agent, history = _q_reference(2560, 3, alpha=0.3)
    last = history.last()
    assert list(last) == ["steps", "value_error", "optimal_fraction", "greedy_optimal"] and last["steps"] == 2560
    assert _one_line(out) == (f"q_learning on rlsuite/GridWorld-v0, seed 3: 2560 steps; max |v - v*| "
                              f"{last['value_error']:.3g}, greedy optimal in {last['optimal_fraction']:.0%} of states; "
                              f"run folder {run}")  # fmt: skip
    assert err == "training q_learning on rlsuite/GridWorld-v0 (seed 3, 2560 steps, device cpu)\n"
    assert {p.name for p in run.iterdir()} == GRID_FILES
    settings = dataclasses.asdict(QLearningConfig(alpha=0.3))
    assert json.loads((run / "config.json").read_text()) == {
        "family": "tabular", "algo": "q_learning", "env_id": GRID, "env_kwargs": {}, "seed": 3, "budget": 2560,
        "budget_unit": "steps", "runs": None, "device": "cpu", "config": settings,
    }  # fmt: skip
    agent_meta = {"algo": "q_learning", "class": "QLearning", "config": settings, "env_id": GRID, "env_kwargs": {}}
    assert json.loads((run / "agent.json").read_text()) == agent_meta
    with np.load(run / "agent.npz") as saved:
        assert sorted(saved) == ["pi", "q"]
        np.testing.assert_array_equal(saved["q"], agent.q_values)
        np.testing.assert_array_equal(saved["pi"], agent.policy)
    ref = tmp_path / "ref"
    ref.mkdir()
    assert (run / "metrics.csv").read_text() == _csv(history, ref / "metrics.csv")
    assert _finished(run) == {"algo": "q_learning", "final": last}
    assert _log_lines(run) == ["training q_learning on rlsuite/GridWorld-v0 (seed 3, 2560 steps, device cpu)"]
    x_name, curves = history_curves(history)
    write_run_plots(ref, x_name, curves, "q_learning on rlsuite/GridWorld-v0", env=env, values=agent.state_values,
                    policy=agent.policy)  # fmt: skip
    _same_files(run, ref, ["learning_curve.png", "values_heatmap.png", "policy.png"])


def test_train_on_torch_arrays_and_a_budget_that_is_not_whole_batches(cli: Any, tmp_path: Path) -> None:
    """The device goes to the agent (torch draws other numbers than numpy); the line says the steps run and the
    budget."""
    run = tmp_path / "q"
    code, out, err = cli("train", "q_learning", "--backend", "torch", "--budget", "300", "--num_envs", "16", "--seed",
                         "5", "--env_kwargs", "{r_forbidden: -2}", "--out", str(run))  # fmt: skip
    assert code == 0
    env = gym.make(GRID, r_forbidden=-2)
    agent = QLearning(env, QLearningConfig(num_envs=16), device="torch:cpu")
    history = agent.learn(300, seed=5)
    last = history.last()
    assert last["steps"] == 288.0  # 18 whole batches of 16 copies
    assert _one_line(out) == (f"q_learning on rlsuite/GridWorld-v0, seed 5: 288 steps (budget 300); max |v - v*| "
                              f"{last['value_error']:.3g}, greedy optimal in {last['optimal_fraction']:.0%} of states; "
                              f"run folder {run}")  # fmt: skip
    assert err == "training q_learning on rlsuite/GridWorld-v0 (seed 5, 300 steps, device torch:cpu)\n"
    assert {p.name for p in run.iterdir()} == GRID_FILES
    assert json.loads((run / "config.json").read_text()) == {
        "family": "tabular", "algo": "q_learning", "env_id": GRID, "env_kwargs": {"r_forbidden": -2}, "seed": 5,
        "budget": 300, "budget_unit": "steps", "runs": None, "device": "torch:cpu",
        "config": dataclasses.asdict(QLearningConfig(num_envs=16)),
    }  # fmt: skip
    assert json.loads((run / "agent.json").read_text())["env_kwargs"]["r_forbidden"] == -2
    ref = tmp_path / "ref"
    ref.mkdir()
    assert (run / "metrics.csv").read_text() == _csv(history, ref / "metrics.csv")
    numpy_agent = QLearning(env, QLearningConfig(num_envs=16))
    numpy_agent.learn(300, seed=5)
    with np.load(run / "agent.npz") as saved:
        np.testing.assert_array_equal(saved["q"], agent.q_values)
        assert not np.array_equal(saved["q"], numpy_agent.q_values)  # torch draws other numbers than numpy


def test_train_on_another_env_than_the_default(cli: Any, tmp_path: Path) -> None:
    """``--env`` beats the algorithm's default; an env without a grid gets only the learning curve."""
    run = tmp_path / "fl"
    code, out, err = cli("train", "q_learning", "--env", "FrozenLake-v1", "--env_kwargs", "{is_slippery: false}",
                         "--budget", "64", "--num_envs", "16", "--seed", "5", "--out", str(run))  # fmt: skip
    assert code == 0
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = QLearning(env, QLearningConfig(num_envs=16))
    history = agent.learn(64, seed=5)
    last = history.last()
    assert _one_line(out) == (f"q_learning on FrozenLake-v1, seed 5: 64 steps; max |v - v*| "
                              f"{last['value_error']:.3g}, greedy optimal in {last['optimal_fraction']:.0%} of states; "
                              f"run folder {run}")  # fmt: skip
    assert err == "training q_learning on FrozenLake-v1 (seed 5, 64 steps, device cpu)\n"
    assert {p.name for p in run.iterdir()} == PLAIN_FILES
    config = json.loads((run / "config.json").read_text())
    got = (config["env_id"], config["env_kwargs"], config["budget"], config["device"])
    assert got == ("FrozenLake-v1", {"is_slippery": False}, 64, "cpu")
    ref = tmp_path / "ref"
    ref.mkdir()
    assert (run / "metrics.csv").read_text() == _csv(history, ref / "metrics.csv")
    x_name, curves = history_curves(history)
    write_run_plots(ref, x_name, curves, "q_learning on FrozenLake-v1", env=env, values=agent.state_values,
                    policy=agent.policy)  # fmt: skip
    _same_files(run, ref, ["learning_curve.png"])


def test_train_an_agent_that_counts_its_env_copies_from_the_env(cli: Any, tmp_path: Path) -> None:
    """MC Basic steps one episode per (s, a) pair and repetition: its copies come from the env's spaces."""
    from rlsuite.agents.tabular.mc import MCBasic, MCBasicConfig

    run = tmp_path / "mb"
    code, out, err = cli("train", "mc_basic", "--budget", "1", "--seed", "1", "--out", str(run))
    assert code == 0
    env = gym.make(GRID)
    assert MCBasic.env_copies(MCBasicConfig(), env) == 125
    history = MCBasic(env).learn(1, seed=1)
    last = history.last()
    assert _one_line(out) == (f"mc_basic on rlsuite/GridWorld-v0, seed 1: 1 iterations; max |v - v*| "
                              f"{last['value_error']:.3g}, greedy optimal in {last['optimal_fraction']:.0%} of states; "
                              f"run folder {run}")  # fmt: skip
    assert err == "training mc_basic on rlsuite/GridWorld-v0 (seed 1, 1 iterations, device cpu)\n"
    ref = tmp_path / "ref"
    ref.mkdir()
    assert (run / "metrics.csv").read_text() == _csv(history, ref / "metrics.csv")


def test_a_torch_backend_on_an_env_without_a_batched_version_writes_nothing(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "fl"
    code, out, err = cli("train", "q_learning", "--env", "FrozenLake-v1", "--backend", "torch", "--out", str(run))
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == ("rlsuite: error: device 'torch:cpu': FrozenLake-v1 has no batched version; only "
                                    "rlsuite's batched envs run there")  # fmt: skip
    assert not run.exists()


def test_train_a_dynamic_programming_agent_by_calling_train(cli: Any, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """``train`` returns the folder; a budget the agent stops short of is named; several history rows: the last."""
    run = tmp_path / "vi"
    opts = tt.TabularOptions(budget=5, seed=2, out=str(run), env_kwargs={"r_forbidden": -10})
    assert tt.train("value_iteration", ValueIterationConfig(gamma=0.8), opts) == run
    env = gym.make(GRID, r_forbidden=-10)
    agent = ValueIteration(env, ValueIterationConfig(gamma=0.8))
    history = agent.learn(5, seed=2)
    last = history.last()
    assert len(history) == 5 and last["iteration"] == 5.0
    line = (f"value_iteration on rlsuite/GridWorld-v0, seed 2: 5 iterations; max |v - v*| {last['value_error']:.3g}, "
            f"greedy optimal in {last['optimal_fraction']:.0%} of states; run folder {run}")  # fmt: skip
    assert _one_line(capsys.readouterr().out) == line
    assert json.loads((run / "config.json").read_text()) == {
        "family": "tabular", "algo": "value_iteration", "env_id": GRID, "env_kwargs": {"r_forbidden": -10}, "seed": 2,
        "budget": 5, "budget_unit": "iterations", "runs": None, "device": "cpu", "config": {"gamma": 0.8, "tol": 1e-6},
    }  # fmt: skip
    assert _finished(run) == {"algo": "value_iteration", "final": last}
    ref = tmp_path / "ref"
    ref.mkdir()
    assert (run / "metrics.csv").read_text() == _csv(history, ref / "metrics.csv")
    assert _log_lines(run) == ["training value_iteration on rlsuite/GridWorld-v0 (seed 2, 5 iterations, device cpu)"]
    x_name, curves = history_curves(history)
    write_run_plots(ref, x_name, curves, "value_iteration on rlsuite/GridWorld-v0", env=env,
                    values=agent.state_values, policy=agent.policy)  # fmt: skip
    _same_files(run, ref, ["learning_curve.png", "values_heatmap.png", "policy.png"])
    # the algorithm's default budget and env: it converges before 1,000 sweeps
    code, out, _ = cli("train", "value_iteration", "--out", str(tmp_path / "vi2"))
    assert code == 0
    assert _one_line(out).startswith("value_iteration on rlsuite/GridWorld-v0, seed 0: 133 iterations (budget 1000); ")
    assert json.loads((tmp_path / "vi2" / "config.json").read_text())["budget"] == 1000


def test_train_a_bandit_with_runs_torch_arrays_and_env_kwargs(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "ucb"
    code, out, err = cli("train", "ucb", "--runs", "2", "--budget", "150", "--seed", "4", "--c", "1.5", "--device",
                         "cpu", "--backend", "torch", "--env_kwargs", "{k: 4}", "--out", str(run))  # fmt: skip
    assert code == 0
    config = UCBConfig(c=1.5)
    agent = UCB(gym.make_vec(BANDIT, num_envs=2, vectorization_mode="vector_entry_point", device="torch:cpu", k=4),
                config)  # fmt: skip
    history = agent.learn(150, seed=4)
    last = history.last()
    assert list(last) == ["step", "average_reward", "optimal_action"] and len(history) == 150
    assert _one_line(out) == (f"ucb on rlsuite/KArmedBandit-v0 (2 runs), seed 4: 150 steps; reward at the last step "
                              f"(mean over runs) {last['average_reward']:.3g}, optimal arm at the last step in "
                              f"{last['optimal_action']:.0%} of runs; run folder {run}")  # fmt: skip
    assert err == "training ucb on rlsuite/KArmedBandit-v0 (seed 4, 150 steps, device torch:cpu)\n"
    assert {p.name for p in run.iterdir()} == PLAIN_FILES
    assert json.loads((run / "config.json").read_text()) == {
        "family": "tabular", "algo": "ucb", "env_id": BANDIT, "env_kwargs": {"k": 4}, "seed": 4, "budget": 150,
        "budget_unit": "steps", "runs": 2, "device": "torch:cpu", "config": {"c": 1.5, "step_size": None},
    }  # fmt: skip
    meta = json.loads((run / "agent.json").read_text())
    assert (meta["config"], meta["runs"], meta["env_kwargs"]["k"]) == ({"c": 1.5, "step_size": None}, 2, 4)
    ref = tmp_path / "ref"
    ref.mkdir()
    assert (run / "metrics.csv").read_text() == _csv(history, ref / "metrics.csv")
    assert _finished(run) == {"algo": "ucb", "final": last}
    assert _log_lines(run) == ["training ucb on rlsuite/KArmedBandit-v0 (seed 4, 150 steps, device torch:cpu)"]
    x_name, curves = history_curves(history)
    write_run_plots(ref, x_name, curves, "ucb on rlsuite/KArmedBandit-v0")
    _same_files(run, ref, ["learning_curve.png"])
    # one run: the line names no runs
    code, out, _ = cli("train", "ucb", "--runs", "1", "--budget", "3", "--device", "cpu", "--out", str(tmp_path / "u1"))
    assert code == 0 and _one_line(out).startswith("ucb on rlsuite/KArmedBandit-v0, seed 0: 3 steps; reward at ")
    assert json.loads((tmp_path / "u1" / "config.json").read_text())["runs"] == 1


def test_train_on_simulated_cuda_picks_the_gpu_by_env_copies(cli: Any, tmp_path: Path) -> None:
    """``--device auto`` sends the work to the GPU from GPU_MIN_COPIES copies on: the agent's own copies (its config's
    ``num_envs``), or a bandit's runs; ``--device cpu`` keeps it on the CPU whatever the copies."""
    from cuda_sim import simulate_cuda

    copies = str(GPU_MIN_COPIES)
    cases = {
        "q_auto": (["q_learning", "--num_envs", copies, "--budget", copies], "cuda"),
        "q_cpu": (["q_learning", "--num_envs", copies, "--budget", copies, "--device", "cpu"], "cpu"),
        "q_few": (["q_learning", "--num_envs", str(GPU_MIN_COPIES - 1), "--budget", copies], "cpu"),
        "u_auto": (["ucb", "--runs", copies, "--budget", "1"], "cuda"),
        "u_cpu": (["ucb", "--runs", copies, "--budget", "1", "--device", "cpu"], "cpu"),
    }
    with simulate_cuda():
        for name, (argv, device) in cases.items():
            code, _, err = cli("train", *argv, "--out", str(tmp_path / name))
            assert code == 0, err
            assert json.loads((tmp_path / name / "config.json").read_text())["device"] == device, name


# ----- run folders -----


def test_the_default_folder_is_under_runs_named_by_env_algo_seed_and_time(cli: Any, tmp_path: Path) -> None:
    code, out, _ = cli("train", "value_iteration", "--budget", "2", "--seed", "7")
    assert code == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert re.fullmatch(r"rlsuite-GridWorld-v0__value_iteration__7__\d{8}-\d{6}", run.name)
    assert _one_line(out).endswith(f"; run folder runs/{run.name}")
    assert {p.name for p in run.iterdir()} == GRID_FILES


def test_folder_rules_finished_unfinished_overwrite_and_resume(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train", "value_iteration", "--budget", "2", "--out", str(run)]
    assert cli(*args)[0] == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.name != "log.txt"}
    code, out, err = cli(*args)
    assert (code, out) == (2, "")
    assert err == (f"rlsuite: error: {run}: holds finished results; pass --overwrite to replace them (or use another "
                   "folder)\n")  # fmt: skip
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != "log.txt"} == before
    code, out, err = cli(*args, "--resume")
    assert (code, out) == (2, "")
    assert err == ("rlsuite: error: --resume: tabular runs take seconds and keep no checkpoints; start a new run "
                   "(--overwrite replaces what --out holds)\n")  # fmt: skip
    assert cli(*args[:-2], "--budget", "3", "--out", str(run), "--overwrite")[0] == 0
    assert json.loads((run / "config.json").read_text())["budget"] == 3
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "metrics.csv").write_text("iteration\n1\n")
    code, out, err = cli("train", "value_iteration", "--budget", "2", "--out", str(unfinished))
    assert (code, out) == (2, "")
    assert err == f"rlsuite: error: {unfinished}: holds an unfinished job; pass --overwrite to start again\n"
    assert sorted(p.name for p in unfinished.iterdir()) == ["metrics.csv"]
    code, _, _ = cli("train", "value_iteration", "--budget", "2", "--out", str(unfinished), "--overwrite")
    assert code == 0 and (unfinished / "metrics.csv").read_text().startswith("iteration,delta,value_error,")


def test_resume_is_refused_before_anything_is_made(cli: Any, tmp_path: Path) -> None:
    opts = tt.TabularOptions(resume=True, out=str(tmp_path / "run"), budget=2)
    with pytest.raises(ConfigError) as info:
        tt.train("value_iteration", ValueIterationConfig(), opts)
    assert str(info.value) == ("--resume: tabular runs take seconds and keep no checkpoints; start a new run "
                               "(--overwrite replaces what --out holds)")  # fmt: skip
    assert (info.value.field, info.value.value) == ("resume", True)
    assert not (tmp_path / "run").exists()


# ----- the result line -----


def _history(*rows: dict[str, float]) -> Any:
    from rlsuite.agents.base import History

    history = History()
    for row in rows:
        history.log(**row)
    return history


def test_summary_names_each_known_metric_rounded() -> None:
    row = {"steps": 9.0, "value_error": 0.123456, "optimal_fraction": 0.25, "mean_return": -1.23456,
           "average_reward": 1234.5, "optimal_action": 0.5, "rmse": 0.000123456, "gap_to_optimum": 2.0,
           "other": 7.0}  # fmt: skip
    assert tt.summary(row) == (
        "max |v - v*| 0.123, greedy optimal in 25% of states, mean discounted return of the last batch -1.23, "
        "reward at the last step (mean over runs) 1.23e+03, optimal arm at the last step in 50% of runs, "
        "RMSE of v 0.000123, gap to v* (max_s v* - v_pi) 2"
    )
    assert tt.summary({"rmse": 1.0}) == "RMSE of v 1"
    assert tt.summary({"steps": 3.0}) == "done" and tt.summary({}) == "done"


def test_result_line_says_the_work_done_the_runs_and_the_folder() -> None:
    history = _history({"steps": 100.0, "value_error": 0.5}, {"steps": 200.0, "value_error": 0.25},
                       {"steps": 300.0, "value_error": 0.125})  # fmt: skip
    out = Path("runs/x")
    line = tt.result_line("q", "E", 4, history, 300, "steps", 1, out)
    assert line == "q on E, seed 4: 300 steps; max |v - v*| 0.125; run folder runs/x"
    line = tt.result_line("q", "E", 4, history, 301, "steps", 2, out)
    assert line == "q on E (2 runs), seed 4: 300 steps (budget 301); max |v - v*| 0.125; run folder runs/x"
    line = tt.result_line("b", "B", 0, _history({"step": 1.0, "x": 5.0}, {"step": 2.0}), 2, "pulls", 3, out)
    assert line == "b on B (3 runs), seed 0: 2 pulls; done; run folder runs/x"


# ----- eval -----


def _greedy_play(agent: Any, episodes: int, seed: int) -> tuple[list[float], list[float], list[int]]:
    """The greedy episodes ``evaluate`` should play: undiscounted and discounted returns, lengths."""
    returns, discounted, lengths = [], [], []
    for ep in range(episodes):
        obs, _ = agent.env.reset(seed=seed + ep)
        total = disc = 0.0
        k, done = 0, False
        while not done:
            obs, r, term, trunc, _ = agent.env.step(int(agent.pi[int(obs)].argmax()))
            total, disc, k, done = total + r, disc + agent.gamma**k * r, k + 1, term or trunc
        returns.append(total)
        discounted.append(disc)
        lengths.append(k)
    return returns, discounted, lengths


def test_evaluate_a_grid_world_run_replays_greedy_episodes_and_the_exact_gaps(cli: Any, tmp_path: Path) -> None:
    from rlsuite.agents.tabular.solvers import policy_evaluation
    from rlsuite.envs.model import start_distribution

    run = tmp_path / "q"
    argv = ["train", "q_learning", "--budget", "2560", "--seed", "2", "--gamma", "0.85", "--env_kwargs",
            "{start: random}", "--out", str(run)]  # fmt: skip
    assert cli(*argv)[0] == 0
    meta = json.loads((run / "config.json").read_text())
    report = tt.evaluate(run, meta, EvalOptions(episodes=3, seed=5))
    agent = QLearning.load(run / "agent")
    returns, discounted, lengths = _greedy_play(agent, 3, 5)
    assert len(set(returns)) > 1  # the random starts: episodes differ
    mean = sum(returns) / 3
    std = float(np.sqrt(sum((r - mean) ** 2 for r in returns) / 3))
    v_star = agent.v_star
    assert agent.gamma == 0.85  # not policy_evaluation's default (0.9)
    v_pi = policy_evaluation(agent.model, agent.pi.argmax(axis=1), 0.85)
    gaps = v_star - v_pi
    starts = start_distribution(agent.env)
    assert starts is not None and starts.max() < 1.0  # a start distribution, not one state
    optimal = agent.truth_metrics()["optimal_fraction"]
    assert gaps.max() > 1.0 and gaps.min() < 1e-6 and 0.0 < optimal < 1.0  # not optimal: the gaps mean something
    expected = {
        "run_dir": str(run), "algo": "q_learning", "env_id": GRID, "episodes": 3, "return_mean": mean,
        "return_std": std, "return_se": float(np.sqrt(sum((r - mean) ** 2 for r in returns) / 2 / 3)),
        "discounted_return_mean": float(np.mean(discounted)), "length_mean": float(np.mean(lengths)), "gamma": 0.85,
        "gap_to_optimum_max": float(gaps.max()), "gap_to_optimum_mean": float(np.maximum(gaps, 0.0).mean()),
        "v_star_start": float(starts @ v_star), "v_pi_start": float(starts @ v_pi),
        "gap_to_optimum_start": float(starts @ v_star - starts @ v_pi), "gap_tolerance": 1e-6,
        "optimal_action_fraction": optimal,
    }  # fmt: skip
    assert report.keys() == expected.keys()
    for key, value in expected.items():
        assert report[key] == (pytest.approx(value, rel=1e-12, abs=1e-12) if isinstance(value, float) else value), key
    assert json.loads((run / "eval.json").read_text()) == report
    assert report["return_se"] != report["return_std"] and report["length_mean"] == 100.0


def test_evaluate_without_a_gap_at_gamma_one_or_without_a_model(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "q1"
    argv = ["train", "q_learning", "--budget", "2560", "--gamma", "1", "--env_kwargs", "{terminate_at_target: true}",
            "--out", str(run)]  # fmt: skip
    assert cli(*argv)[0] == 0
    report = tt.evaluate(run, json.loads((run / "config.json").read_text()), EvalOptions(episodes=2, seed=1))
    agent = QLearning.load(run / "agent")
    assert agent.model is not None and agent.v_star is not None and agent.gamma == 1.0  # a model, but gamma 1
    returns, discounted, lengths = _greedy_play(agent, 2, 1)
    assert report == {"run_dir": str(run), "algo": "q_learning", "env_id": GRID, "episodes": 2,
                      "return_mean": float(np.mean(returns)), "return_std": float(np.std(returns)), "return_se": 0.0,
                      "discounted_return_mean": float(np.mean(discounted)),
                      "length_mean": float(np.mean(lengths))}  # fmt: skip
    bj = tmp_path / "bj"
    assert cli("train", "mc_es_blackjack", "--budget", "10", "--seed", "1", "--out", str(bj))[0] == 0
    report = tt.evaluate(bj, json.loads((bj / "config.json").read_text()), EvalOptions(episodes=4, seed=3))
    agent = ALGORITHMS["mc_es_blackjack"].load(bj / "agent")
    assert agent.model is None
    returns, discounted, lengths = _greedy_play(agent, 4, 3)
    assert set(report) == {"run_dir", "algo", "env_id", "episodes", "return_mean", "return_std", "return_se",
                           "discounted_return_mean", "length_mean"}  # fmt: skip
    assert (report["algo"], report["env_id"], report["episodes"]) == ("mc_es_blackjack", "Blackjack-v1", 4)
    got = (report["return_mean"], report["discounted_return_mean"], report["length_mean"])
    assert got == (float(np.mean(returns)), float(np.mean(discounted)), float(np.mean(lengths)))


def test_evaluate_stops_an_endless_episode_at_100000_steps(cli: Any, tmp_path: Path) -> None:
    """The optimal policy stays on the target for ever once the time limit is lifted: 5 steps there, then reward 1
    for each of the 99,995 steps left."""
    run = tmp_path / "vi"
    assert cli("train", "value_iteration", "--out", str(run))[0] == 0
    meta = json.loads((run / "agent.json").read_text())
    (run / "agent.json").write_text(json.dumps({**meta, "env_kwargs": {"max_episode_steps": 200_000}}))
    report = tt.evaluate(run, json.loads((run / "config.json").read_text()), EvalOptions(episodes=1))
    got = (report["episodes"], report["length_mean"], report["return_mean"], report["return_se"])
    assert got == (1, 100_000.0, 99_995.0, None)
    assert report["discounted_return_mean"] == pytest.approx(5.832, abs=1e-9)


def test_evaluate_a_bandit_run_replays_it_on_fresh_problems(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "ucb"
    assert cli("train", "ucb", "--runs", "3", "--budget", "150", "--device", "cpu", "--out", str(run))[0] == 0
    meta = json.loads((run / "config.json").read_text())
    report = tt.evaluate(run, meta, EvalOptions(seed=7, device="cpu"))
    history = UCB.load(run / "agent").learn(150, seed=7)
    reward, optimal = history["average_reward"], history["optimal_action"]
    assert len(reward) == 150
    assert report == {"run_dir": str(run), "algo": "ucb", "env_id": BANDIT, "runs": 3, "steps": 150,
                      "average_reward": float(reward.mean()), "average_reward_last_100": float(reward[50:].mean()),
                      "optimal_action_last_100": float(optimal[50:].mean())}  # fmt: skip
    assert json.loads((run / "eval.json").read_text()) == report
    # a config.json that names no budget nor runs: the algorithm's default budget, the saved agent's runs
    report = tt.evaluate(run, {"algo": "ucb", "env_id": BANDIT}, EvalOptions(seed=7, device="cpu"))
    history = UCB.load(run / "agent").learn(1000, seed=7)
    assert (report["runs"], report["steps"], report["env_id"]) == (3, 1000, BANDIT)
    assert report["average_reward_last_100"] == float(history["average_reward"][900:].mean())


def test_evaluate_a_bandit_run_of_many_runs_on_simulated_cuda(cli: Any, tmp_path: Path) -> None:
    """``--device auto`` replays a run of GPU_MIN_COPIES runs on the GPU (torch draws: other numbers than numpy)."""
    from cuda_sim import simulate_cuda

    run = tmp_path / "ucb"
    argv = ["train", "ucb", "--runs", str(GPU_MIN_COPIES), "--budget", "2", "--device", "cpu", "--out", str(run)]
    assert cli(*argv)[0] == 0
    meta = json.loads((run / "config.json").read_text())
    with simulate_cuda():
        report = tt.evaluate(run, meta, EvalOptions(seed=3))
        on_gpu = UCB.load(run / "agent", device="cuda").learn(2, seed=3)["average_reward"]
        kept_on_cpu = tt.evaluate(run, meta, EvalOptions(seed=3, device="cpu"))
    on_cpu = UCB.load(run / "agent").learn(2, seed=3)["average_reward"]
    assert report["average_reward"] == float(on_gpu.mean()) != float(on_cpu.mean())
    assert kept_on_cpu["average_reward"] == float(on_cpu.mean())
    assert report["runs"] == kept_on_cpu["runs"] == GPU_MIN_COPIES


def test_evaluate_refuses_unknown_unfinished_and_non_finite(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "vi"
    assert cli("train", "value_iteration", "--out", str(run))[0] == 0  # converged: greedy play reaches the target
    meta = json.loads((run / "config.json").read_text())
    for algo in ("nope", None):
        with pytest.raises(ModelFolderError) as info:
            tt.evaluate(run, {**meta, "algo": algo}, EvalOptions())
        assert str(info.value) == f"{run / 'config.json'}: unknown tabular algorithm {algo!r}"
    good = tt.evaluate(run, meta, EvalOptions(episodes=1))
    saved = (run / "eval.json").read_bytes()
    assert json.loads(saved) == good
    # a grid-world agent only plays: --device is not its business (the exact agents refuse CUDA when they train)
    assert tt.evaluate(run, meta, EvalOptions(episodes=1, device="cuda")) == good
    agent_meta = json.loads((run / "agent.json").read_text())
    (run / "agent.json").write_text(json.dumps({**agent_meta, "env_kwargs": {"r_target": 1e307}}))
    with pytest.raises(ModelFolderError) as info:  # 95 steps on the target: a return past the largest float
        tt.evaluate(run, meta, EvalOptions(episodes=2))
    assert str(info.value) == (f"{run}: evaluation gave non-finite return_mean, return_std, return_se; eval.json left "
                               "as it was")  # fmt: skip
    assert (run / "eval.json").read_bytes() == saved
    (run / "finished.json").unlink()
    with pytest.raises(ModelFolderError) as info:
        tt.evaluate(run, meta, EvalOptions())
    assert str(info.value) == f"{run}: an unfinished run (no finished.json); train it again"


def test_evaluate_imports_an_env_module_only_when_trusted(cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "vi"
    assert cli("train", "value_iteration", "--budget", "3", "--out", str(run))[0] == 0
    meta = json.loads((run / "agent.json").read_text())
    (run / "agent.json").write_text(json.dumps({**meta, "env_id": "os:rlsuite/GridWorld-v0"}))
    config = json.loads((run / "config.json").read_text())
    with pytest.raises(ModelFolderError) as info:
        tt.evaluate(run, config, EvalOptions(episodes=1))
    assert str(info.value).startswith(f"{run / 'agent.json'}: env id 'os:rlsuite/GridWorld-v0' would import")
    report = tt.evaluate(run, config, EvalOptions(episodes=1, trust_env_module=True))
    assert (report["env_id"], report["episodes"], report["length_mean"]) == (GRID, 1, 100.0)


# ----- the tour's section -----


def _tour_reference(out: Path, scale: int) -> dict[str, Any]:
    """The tour section recomputed here (each agent on an env of its own), and its two figures drawn into ``out``."""
    from rlsuite.envs.plotting import plot_grid

    def make(name: str, config: Any = None) -> Any:
        return ALGORITHMS[name](gym.make(GRID), config)

    runs = {
        "policy iteration": (make("policy_iteration"), None),
        "MC exploring starts": (make("mc_exploring_starts"), 20_000 // scale),
        "Sarsa": (make("sarsa"), 3_000_000 // scale),
        "Q-learning (on-policy)": (make("q_learning"), 3_000_000 // scale),
        "Q-learning (off-policy)": (make("q_learning", QLearningConfig(behavior="uniform")), 1_000_000 // scale),
    }
    numbers: dict[str, Any] = {}
    curves = {}
    for label, (agent, budget) in runs.items():
        history = agent.learn(budget, seed=0)
        x = history[history.columns[0]]
        last = history.last()
        numbers[label] = {"budget": f"{int(x[-1])} {agent.budget_unit}",
                          "max |v - v*|": float(f"{last['value_error']:.3g}"),
                          "states with an optimal greedy action": f"{last['optimal_fraction']:.0%}"}  # fmt: skip
        curves[f"{label}: {int(x[-1]):,} {agent.budget_unit}"] = {
            "x": x / x[-1], "value_error": np.maximum(history["value_error"], 1e-6),
            "optimal_fraction": history["optimal_fraction"],
        }  # fmt: skip
    plot_learning_curve(curves, "fraction", out / "tabular_gap_to_optimum.png",
                        "tabular agents vs the exact optimum (Zhao's grid world, gamma 0.9, seed 0)\nx: each agent's "
                        "own budget (unit in the legend); |v - v*| < 1e-06 (round-off) drawn at 1e-06")  # fmt: skip
    q_agent, steps = runs["Q-learning (on-policy)"]
    plot_grid(q_agent.env, values=q_agent.state_values, policy=q_agent.policy,
              path=out / "tabular_q_learning_policy.png",
              title=f"Q-learning (on-policy, {steps} steps, seed 0): learned values\nand greedy policy on Zhao's grid "
                    "world, gamma 0.9")  # fmt: skip
    return numbers | {"figures": ["tabular_gap_to_optimum.png", "tabular_q_learning_policy.png"]}


def test_tour_section_quick_numbers_and_figures(tmp_path: Path) -> None:
    out, ref = tmp_path / "tour", tmp_path / "ref"
    out.mkdir()
    ref.mkdir()
    numbers = tt.tour_section(out, quick=True)
    assert sorted(p.name for p in out.iterdir()) == ["tabular_gap_to_optimum.png", "tabular_q_learning_policy.png"]
    assert numbers == _tour_reference(ref, 4)
    assert list(numbers) == ["policy iteration", "MC exploring starts", "Sarsa", "Q-learning (on-policy)",
                             "Q-learning (off-policy)", "figures"]  # fmt: skip
    assert [numbers[k]["budget"] for k in list(numbers)[:5]] == ["5 iterations", "5000 episodes", "749824 steps",
                                                                 "749824 steps", "249856 steps"]  # fmt: skip
    _same_files(out, ref, ["tabular_gap_to_optimum.png", "tabular_q_learning_policy.png"])


def test_tour_section_full_budgets(tmp_path: Path) -> None:
    numbers = tt.tour_section(tmp_path, quick=False)
    assert {k: v["budget"] for k, v in numbers.items() if k != "figures"} == {
        "policy iteration": "5 iterations", "MC exploring starts": "20000 episodes", "Sarsa": "2999808 steps",
        "Q-learning (on-policy)": "2999808 steps", "Q-learning (off-policy)": "999936 steps",
    }  # fmt: skip
    assert numbers["figures"] == ["tabular_gap_to_optimum.png", "tabular_q_learning_policy.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == numbers["figures"]


def test_every_single_env_agent_has_state_values_and_a_policy() -> None:
    """train() draws a single-env agent's values and policy (tools/equivalent_mutants.json relies on it)."""
    from rlsuite.app.train_tabular import ALGOS, agent_class

    kinds = {name: agent_class(name).env_kind for name in ALGOS}
    assert set(kinds.values()) == {"single", "vector"}
    for name in (n for n, kind in kinds.items() if kind == "single"):
        assert hasattr(agent_class(name), "state_values") and hasattr(agent_class(name), "policy"), name
