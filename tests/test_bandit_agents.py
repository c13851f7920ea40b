"""Bandit agents against Sutton & Barto's figures 2.2-2.5 (fewer runs than the book; orderings, levels)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.bandit import (
    UCB,
    BanditAgent,
    EpsilonGreedyBandit,
    EpsilonGreedyBanditConfig,
    GradientBandit,
    GradientBanditConfig,
    ThompsonSampling,
    ThompsonSamplingConfig,
    UCBConfig,
)
from rlsuite.common.device import to_numpy

RUNS = 500


def run(cls: type, config, env_id: str = "rlsuite/KArmedBandit-v0", seed: int = 0, **kwargs):
    envs = gym.make_vec(env_id, num_envs=RUNS, vectorization_mode="vector_entry_point", **kwargs)
    history = cls(envs, config).learn(1000, seed=seed)
    return history["average_reward"], history["optimal_action"]


def test_figure_2_2_epsilon_greedy_levels() -> None:
    greedy_r, greedy_o = run(EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.0))
    eps_r, eps_o = run(EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.1))
    small_r, _ = run(EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.01))
    # the book: greedy levels off near 1.0 and ~1/3 optimal; epsilon=0.1 near 1.35-1.4 and ~80% optimal
    assert 0.9 < greedy_r[-200:].mean() < 1.15 and greedy_o[-200:].mean() < 0.45
    assert 1.28 < eps_r[-200:].mean() < 1.5 and 0.72 < eps_o[-100:].mean() < 0.88
    assert greedy_r[-200:].mean() < small_r[-200:].mean() < eps_r[-200:].mean()


def test_figure_2_3_optimistic_initial_values_beat_realistic() -> None:
    _, opt_o = run(
        EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.0, initial_value=5.0, step_size=0.1)
    )
    _, real_o = run(
        EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.1, initial_value=0.0, step_size=0.1)
    )
    assert opt_o[-300:].mean() > real_o[-300:].mean() + 0.03
    assert opt_o[:5].mean() < real_o[:5].mean() + 0.05  # optimism explores first: it starts worse or equal


def test_figure_2_4_ucb_beats_epsilon_greedy() -> None:
    ucb_r, _ = run(UCB, UCBConfig(c=2.0))
    eps_r, _ = run(EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.1))
    assert ucb_r[100:].mean() > eps_r[100:].mean() + 0.03
    assert ucb_r[10] > ucb_r[9] + 0.3  # the spike at step 11 once every arm has been tried


def test_figure_2_5_gradient_bandit_baseline_matters() -> None:
    with_o = run(GradientBandit, GradientBanditConfig(alpha=0.1, baseline=True), q_mean=4.0)[1]
    without_o = run(GradientBandit, GradientBanditConfig(alpha=0.1, baseline=False), q_mean=4.0)[1]
    assert with_o[-100:].mean() > 0.75
    assert without_o[-100:].mean() < with_o[-100:].mean() - 0.2


@pytest.mark.parametrize(
    ("model", "env_id"),
    [("gaussian", "rlsuite/KArmedBandit-v0"), ("bernoulli", "rlsuite/BernoulliBandit-v0")],
)
def test_thompson_sampling_learns(model: str, env_id: str) -> None:
    _, ts_o = run(ThompsonSampling, ThompsonSamplingConfig(model=model), env_id=env_id)
    _, eps_o = run(EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.1), env_id=env_id)
    assert ts_o[-100:].mean() > 0.7 and ts_o[-100:].mean() > eps_o[-100:].mean()


def test_same_seed_same_curve_and_save_load(tmp_path) -> None:
    envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=50, vectorization_mode="vector_entry_point")
    a = GradientBandit(envs)
    h1 = a.learn(200, seed=7)
    a.save(tmp_path / "agent")
    b = BanditAgent.load(tmp_path / "agent")
    assert type(b) is GradientBandit and b.num_runs == 50
    for key, value in a.arrays().items():
        np.testing.assert_array_equal(b.arrays()[key], value)
    np.testing.assert_array_equal(b.policy, a.policy)
    h2 = b.learn(200, seed=7)
    np.testing.assert_array_equal(h1["average_reward"], h2["average_reward"])


# The torch path: tables beside a torch-backed env ("auto": on CUDA where there is one, else the CPU).
TORCH_CASES = [
    (EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.1), "rlsuite/KArmedBandit-v0"),
    (UCB, UCBConfig(c=2.0), "rlsuite/KArmedBandit-v0"),
    (GradientBandit, GradientBanditConfig(alpha=0.1), "rlsuite/KArmedBandit-v0"),
    (ThompsonSampling, ThompsonSamplingConfig(model="gaussian"), "rlsuite/KArmedBandit-v0"),
    (ThompsonSampling, ThompsonSamplingConfig(model="bernoulli"), "rlsuite/BernoulliBandit-v0"),
]


@pytest.mark.parametrize(("cls", "config", "env_id"), TORCH_CASES, ids=lambda x: getattr(x, "__name__", None))
def test_torch_backend_keeps_tables_on_the_device_and_matches_numpy(cls, config, env_id) -> None:
    torch = pytest.importorskip("torch")
    torch_envs = gym.make_vec(env_id, num_envs=300, vectorization_mode="vector_entry_point", device="auto")
    agent = cls(torch_envs, config)
    torch_h = agent.learn(600, seed=1)
    assert isinstance(agent.q, torch.Tensor) and agent.q.device == torch_envs.xp.device
    assert isinstance(agent.q_values, np.ndarray) and agent.policy.shape == (300, 10)
    np.testing.assert_allclose(agent.policy.sum(axis=1), 1.0, atol=1e-5)
    numpy_envs = gym.make_vec(env_id, num_envs=300, vectorization_mode="vector_entry_point")
    numpy_h = cls(numpy_envs, config).learn(600, seed=1)
    # same algorithm, other random numbers: the late optimal-action fractions agree within noise
    # (300 runs: standard error about 0.02) and both have learned (well above 1/k)
    late_torch, late_numpy = torch_h["optimal_action"][-200:].mean(), numpy_h["optimal_action"][-200:].mean()
    assert abs(late_torch - late_numpy) < 0.08 and min(late_torch, late_numpy) > 0.6


def test_torch_agent_saves_and_loads_on_numpy(tmp_path) -> None:
    pytest.importorskip("torch")
    envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=20, vectorization_mode="vector_entry_point", device="auto")
    agent = ThompsonSampling(envs)
    agent.learn(100, seed=3)
    agent.save(tmp_path / "agent")
    loaded = BanditAgent.load(tmp_path / "agent")
    assert isinstance(loaded.q, np.ndarray)
    np.testing.assert_allclose(loaded.q_values, agent.q_values, rtol=1e-6)
    np.testing.assert_array_equal(loaded.n, to_numpy(agent.n))


@pytest.mark.parametrize(("a", "b"), [(2.0, 5.0), (0.5, 0.5), (30.0, 3.0)])
def test_torch_beta_sampler_has_the_beta_moments(a: float, b: float) -> None:
    torch = pytest.importorskip("torch")
    from rlsuite.common.backend import ArrayBackend

    backend = ArrayBackend("auto")
    backend.seed(np.random.default_rng(0))
    x = backend.beta(torch.full((200_000,), a), torch.full((200_000,), b)).double().cpu().numpy()
    mean, var = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    assert np.all((x >= 0) & (x <= 1))
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / x.size) + 1e-4
    assert abs(x.var() - var) < 0.03 * var


def test_bandit_agent_refuses_a_single_env() -> None:
    with pytest.raises(ValueError, match="batched bandit env"):
        EpsilonGreedyBandit(gym.make("rlsuite/KArmedBandit-v0"))


@pytest.mark.gpu
def test_bandit_agents_value_iteration_and_q_learning_on_cuda() -> None:
    from rlsuite.agents.tabular.dp import value_iteration
    from rlsuite.envs.gridworld import GridWorldEnv
    from rlsuite.envs.model import tabular_model

    envs = gym.make_vec(
        "rlsuite/KArmedBandit-v0", num_envs=2000, vectorization_mode="vector_entry_point", device="cuda"
    )
    agent = UCB(envs)
    history = agent.learn(1000, seed=0)
    assert agent.q.is_cuda and agent.rows.is_cuda
    assert 1.4 < history["average_reward"][-500:].mean() < 1.6  # the book's UCB level (fig 2.4)
    model = tabular_model(GridWorldEnv(n_rows=200, n_cols=200, random_layout=True, layout_seed=0))
    v_cpu, _, iters_cpu = value_iteration(model, 0.9, tol=1e-9)
    v_gpu, _, iters_gpu = value_iteration(model, 0.9, tol=1e-9, device="cuda")
    np.testing.assert_allclose(v_gpu, v_cpu, atol=1e-8)
    assert abs(iters_gpu - iters_cpu) <= 1
    import dataclasses

    from rlsuite.agents.base import unique_optimal_actions
    from rlsuite.agents.tabular.td import QLearning, QLearningConfig

    q_agent = QLearning(gym.make("rlsuite/GridWorld-v0"), dataclasses.replace(QLearningConfig(), device="cuda"))
    q_agent.learn(seed=0)  # the batched env, the rollouts and the q table on the GPU
    unique = unique_optimal_actions(q_agent.q_star)
    assert np.all((unique < 0) | (q_agent.q_values.argmax(axis=1) == unique))


# ----- configs: typed, documented, bounded -----
@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (
            EpsilonGreedyBanditConfig,
            {"epsilon": 1.5},
            r"EpsilonGreedyBanditConfig.epsilon: 1.5 is out of range \(allowed: \[0, 1\]\)",
        ),
        (EpsilonGreedyBanditConfig, {"epsilon": -0.1}, r"epsilon: -0.1 is out of range"),
        (EpsilonGreedyBanditConfig, {"step_size": 0.0}, r"step_size: 0.0 is out of range \(allowed: \(0, 1\]\)"),
        (EpsilonGreedyBanditConfig, {"step_size": 1.5}, r"step_size: 1.5 is out of range"),
        (EpsilonGreedyBanditConfig, {"initial_value": "high"}, r"initial_value: expected a number"),
        (UCBConfig, {"c": 0.0}, r"UCBConfig.c: 0.0 is out of range \(allowed: > 0\)"),
        (UCBConfig, {"step_size": -0.1}, r"UCBConfig.step_size"),
        (GradientBanditConfig, {"alpha": 0.0}, r"GradientBanditConfig.alpha: 0.0 is out of range"),
        (GradientBanditConfig, {"baseline": "yes"}, r"baseline: expected true or false"),
        (ThompsonSamplingConfig, {"model": "poisson"}, r"model: expected one of 'gaussian', 'bernoulli'"),
        (ThompsonSamplingConfig, {"prior_std": 0.0}, r"prior_std: 0.0 is out of range"),
        (ThompsonSamplingConfig, {"noise_std": -1.0}, r"noise_std: -1.0 is out of range"),
        (ThompsonSamplingConfig, {"prior_mean": float("nan")}, r"prior_mean: nan is not a number"),
    ],
)
def test_bandit_configs_refuse_bad_values_naming_the_field(cls, kwargs, message) -> None:
    from rlsuite.common.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        cls(**kwargs)


def test_bandit_configs_keep_the_books_defaults_and_document_every_field() -> None:
    import dataclasses

    from rlsuite.common.config import Config

    assert dataclasses.asdict(EpsilonGreedyBanditConfig()) == {"epsilon": 0.1, "step_size": None, "initial_value": 0.0}
    assert dataclasses.asdict(UCBConfig()) == {"c": 2.0, "step_size": None}
    assert dataclasses.asdict(GradientBanditConfig()) == {"alpha": 0.1, "baseline": True}
    assert dataclasses.asdict(ThompsonSamplingConfig()) == {
        "model": "gaussian", "prior_mean": 0.0, "prior_std": 1.0, "noise_std": 1.0
    }
    for cls in (EpsilonGreedyBanditConfig, UCBConfig, GradientBanditConfig, ThompsonSamplingConfig):
        assert issubclass(cls, Config)
        assert all(f.metadata.get("help") for f in dataclasses.fields(cls)), cls
    # the edges of the ranges are allowed: greedy, always random, alpha = 1
    EpsilonGreedyBanditConfig(epsilon=0.0, step_size=1.0)
    EpsilonGreedyBanditConfig(epsilon=1.0)
