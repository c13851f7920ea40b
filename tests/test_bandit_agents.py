"""Bandit agents against Sutton & Barto's figures 2.2-2.5 (fewer runs than the book; orderings, levels)."""

from __future__ import annotations

import json

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
    placed = torch.empty(0, device=torch_envs.xp.device).device  # what a tensor there reports: cuda -> cuda:0
    assert isinstance(agent.q, torch.Tensor) and agent.q.device == placed
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


# ----- per-step bookkeeping, pinned exactly (issue 12: a shift by one step must fail a test) -----
class Recorder:
    """A batched bandit env that records, per step, the arms it was given and what it returned."""

    def __init__(self, envs) -> None:
        self._envs = envs
        self.actions: list[np.ndarray] = []
        self.rewards: list[np.ndarray] = []
        self.optimal: list[np.ndarray] = []

    def __getattr__(self, name: str):
        return getattr(self._envs, name)

    def reset(self, **kwargs):
        self.actions, self.rewards, self.optimal = [], [], []
        return self._envs.reset(**kwargs)

    def step(self, actions):
        out = self._envs.step(actions)
        self.actions.append(to_numpy(actions).copy())
        self.rewards.append(to_numpy(out[1]).astype(np.float64))
        self.optimal.append(to_numpy(out[4]["optimal"]).copy())
        return out


def recorded(cls: type, config, steps: int, runs: int = 4, seed: int = 3, **env_kwargs):
    envs = Recorder(
        gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=runs, vectorization_mode="vector_entry_point", **env_kwargs)
    )
    agent = cls(envs, config)
    history = agent.learn(steps, seed=seed)
    return agent, history, envs


def replay_averages(envs: Recorder, k: int, initial: float = 0.0, step_size: float | None = None):
    """Per-run sample averages (or constant-step averages) of the recorded pulls, one run at a time."""
    runs = len(envs.actions[0])
    q, n = np.full((runs, k), initial), np.zeros((runs, k))
    for actions, rewards in zip(envs.actions, envs.rewards, strict=True):
        for run in range(runs):
            a, r = int(actions[run]), float(rewards[run])
            n[run, a] += 1
            q[run, a] += (r - q[run, a]) * (1.0 / n[run, a] if step_size is None else step_size)
    return q, n


@pytest.mark.parametrize(
    ("cls", "config", "initial", "step_size"),
    [
        (EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.3), 0.0, None),
        (EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.3, initial_value=2.0, step_size=0.25), 2.0, 0.25),
        (UCB, UCBConfig(c=1.0), 0.0, None),
        (UCB, UCBConfig(c=1.0, step_size=0.5), 0.0, 0.5),
    ],
    ids=["eps-averages", "eps-optimistic-constant", "ucb-averages", "ucb-constant"],
)
@pytest.mark.parametrize("steps", [1, 2, 3, 7])
def test_estimates_counts_and_curves_after_each_step(cls, config, initial, step_size, steps) -> None:
    agent, history, envs = recorded(cls, config, steps, k=3)
    q, n = replay_averages(envs, 3, initial, step_size)
    np.testing.assert_allclose(agent.q_values, q, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(to_numpy(agent.n), n)
    assert agent.t == steps and n.sum() == 4 * steps
    # row t of the history is pull t: its reward and whether its arm was optimal
    np.testing.assert_array_equal(history["step"], np.arange(1, steps + 1))
    np.testing.assert_allclose(history["average_reward"], [r.mean() for r in envs.rewards], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(history["optimal_action"], [o.mean() for o in envs.optimal])


def test_curves_follow_the_pulls_step_by_step() -> None:
    """On a noisy testbed every step's average differs, so a curve shifted by one step cannot match."""
    _, history, envs = recorded(EpsilonGreedyBandit, EpsilonGreedyBanditConfig(epsilon=0.1), 50, runs=30)
    rewards = np.array([r.mean() for r in envs.rewards])
    assert len(np.unique(rewards)) == 50
    np.testing.assert_allclose(history["average_reward"], rewards, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(history["optimal_action"], [o.mean() for o in envs.optimal])
    assert not np.allclose(history["average_reward"][1:], rewards[:-1])


def test_ucb_pulls_the_arm_of_largest_bound_with_ln_t_of_the_current_pull() -> None:
    """Every UCB pull once all arms were tried is argmax Q + c sqrt(ln t / N), t counting this pull."""
    c, steps, k = 0.5, 60, 3
    _, _, envs = recorded(UCB, UCBConfig(c=c), steps, runs=16, k=k)
    runs = 16
    q, n = np.zeros((runs, k)), np.zeros((runs, k))
    checked = 0
    for t, (actions, rewards) in enumerate(zip(envs.actions, envs.rewards, strict=True), start=1):
        for run in range(runs):
            a = int(actions[run])
            if (n[run] == 0).any():
                assert n[run, a] == 0  # untried arms first
            else:
                bound = q[run] + c * np.sqrt(np.log(t) / n[run])
                assert a == int(bound.argmax()), (t, run)
                checked += 1
            n[run, a] += 1
            q[run, a] += (rewards[run] - q[run, a]) / n[run, a]
    assert checked == runs * (steps - k)


def test_ucb_on_a_deterministic_bandit_by_hand() -> None:
    """Arms paying exactly 1.0 and 1.5, c = 1. After one pull of each (in either order):
    pull 3: 1 + sqrt(ln 3) = 2.048 < 1.5 + sqrt(ln 3) -> arm 1;
    pull 4: 1 + sqrt(ln 4) = 2.177 < 1.5 + sqrt(ln 4 / 2) = 2.333 -> arm 1;
    pull 5: 1 + sqrt(ln 5) = 2.269 > 1.5 + sqrt(ln 5 / 3) = 2.232 -> arm 0 (with ln 4: 2.177 < 2.180 -> arm 1);
    pulls 6-10: arm 1 (e.g. pull 6: 1 + sqrt(ln 6 / 2) = 1.946 < 1.5 + sqrt(ln 6 / 3) = 2.273).
    """
    envs = gym.make_vec(
        "rlsuite/KArmedBandit-v0",
        num_envs=20,
        vectorization_mode="vector_entry_point",
        means=[1.0, 1.5],
        reward_std=0.0,
    )
    agent = UCB(envs, UCBConfig(c=1.0))
    history = agent.learn(10, seed=0)
    reward, optimal = history["average_reward"], history["optimal_action"]
    assert reward[0] + reward[1] == pytest.approx(2.5) and optimal[0] + optimal[1] == pytest.approx(1.0)
    np.testing.assert_allclose(reward[2:], [1.5, 1.5, 1.0, 1.5, 1.5, 1.5, 1.5, 1.5])
    np.testing.assert_array_equal(optimal[2:], [1, 1, 0, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(to_numpy(agent.n), np.tile([2.0, 8.0], (20, 1)))
    np.testing.assert_allclose(agent.q_values, np.tile([1.0, 1.5], (20, 1)))
    agent.learn(4, seed=0)
    np.testing.assert_array_equal(to_numpy(agent.n), np.tile([1.0, 3.0], (20, 1)))


def test_optimistic_greedy_on_a_deterministic_bandit_by_hand() -> None:
    """Arms paying exactly 1 and 2, Q1 = 5, alpha = 0.5, greedy. Pulls 1-2: both arms (ties at random),
    Q = [5 + 0.5 (1 - 5), 5 + 0.5 (2 - 5)] = [3, 3.5]; pull 3: arm 1, Q1 = 2.75; pull 4: arm 0, Q0 = 2;
    pull 5: arm 1, Q1 = 2.375; pull 6: arm 1, Q1 = 2.1875."""
    envs = gym.make_vec(
        "rlsuite/KArmedBandit-v0",
        num_envs=10,
        vectorization_mode="vector_entry_point",
        means=[1.0, 2.0],
        reward_std=0.0,
    )
    agent = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=0.0, initial_value=5.0, step_size=0.5))
    expected_q = {1: None, 2: [3.0, 3.5], 3: [3.0, 2.75], 4: [2.0, 2.75], 5: [2.0, 2.375], 6: [2.0, 2.1875]}
    expected_n = {2: [1, 1], 3: [1, 2], 4: [2, 2], 5: [2, 3], 6: [2, 4]}
    for steps, q in expected_q.items():
        history = agent.learn(steps, seed=1)
        if q is None:  # one arm pulled: 3 or 3.5 there, 5 on the other
            assert sorted(agent.q_values[0]) in ([3.0, 5.0], [3.5, 5.0])
            continue
        np.testing.assert_allclose(agent.q_values, np.tile(q, (10, 1)))
        np.testing.assert_array_equal(to_numpy(agent.n), np.tile(expected_n[steps], (10, 1)))
    np.testing.assert_allclose(history["average_reward"][2:], [2.0, 1.0, 2.0, 2.0])
    np.testing.assert_array_equal(history["optimal_action"][2:], [1.0, 0.0, 1.0, 1.0])
    assert history["average_reward"][0] + history["average_reward"][1] == pytest.approx(3.0)


@pytest.mark.parametrize("baseline", [True, False])
@pytest.mark.parametrize("steps", [1, 2, 3, 8])
def test_gradient_bandit_preferences_after_each_step(baseline: bool, steps: int) -> None:
    alpha, k = 0.4, 3
    agent, history, envs = recorded(GradientBandit, GradientBanditConfig(alpha=alpha, baseline=baseline), steps, k=k)
    runs = 4
    h, avg = np.zeros((runs, k)), np.zeros(runs)
    for t, (actions, rewards) in enumerate(zip(envs.actions, envs.rewards, strict=True), start=1):
        for run in range(runs):
            a, r = int(actions[run]), float(rewards[run])
            pi = np.exp(h[run]) / np.exp(h[run]).sum()
            avg[run] += (r - avg[run]) / t  # the average reward R_1..R_t, this pull's included (S&B eq. 2.12)
            b = avg[run] if baseline else 0.0
            h[run] += alpha * (r - b) * (np.eye(k)[a] - pi)
    np.testing.assert_allclose(agent.q_values, h, rtol=0, atol=1e-12)
    if baseline:
        np.testing.assert_allclose(to_numpy(agent.baseline), avg, rtol=0, atol=1e-12)
    np.testing.assert_allclose(history["average_reward"], [r.mean() for r in envs.rewards], rtol=0, atol=1e-12)


@pytest.mark.parametrize("steps", [1, 2, 5])
def test_thompson_gaussian_posterior_after_each_step(steps: int) -> None:
    cfg = ThompsonSamplingConfig(prior_mean=0.5, prior_std=2.0, noise_std=1.5)
    agent, _, envs = recorded(ThompsonSampling, cfg, steps, k=3)
    _, n = replay_averages(envs, 3)
    sums = np.zeros((4, 3))
    for actions, rewards in zip(envs.actions, envs.rewards, strict=True):
        np.add.at(sums, (np.arange(4), actions), rewards)
    precision = 1 / 2.0**2 + n / 1.5**2
    np.testing.assert_allclose(agent.q_values, (0.5 / 2.0**2 + sums / 1.5**2) / precision, rtol=1e-12)
    np.testing.assert_array_equal(to_numpy(agent.n), n)


# ----- the random choices -----
def test_random_argmax_breaks_ties_uniformly_and_only_among_the_maxima() -> None:
    from rlsuite.agents.tabular.bandit import random_argmax
    from rlsuite.common.backend import ArrayBackend

    backend = ArrayBackend("cpu")
    backend.seed(np.random.default_rng(0))
    x = np.zeros((3, 5))
    x[0] = [0.0, 2.0, 1.0, 2.0, 2.0]  # three-way tie: arms 1, 3, 4
    x[1] = [5.0, 5.0, 5.0, 5.0, 5.0]  # five-way tie
    x[2] = [0.1, -1.0, 0.3, 0.2, 0.0]  # unique: arm 2
    for table in (x, np.asfortranarray(x)):
        draws = np.array([random_argmax(table, backend) for _ in range(6000)])
        np.testing.assert_array_equal(draws[:, 2], 2)
        counts0 = np.bincount(draws[:, 0], minlength=5)
        counts1 = np.bincount(draws[:, 1], minlength=5)
        assert counts0[[0, 2]].sum() == 0
        # binomial standard deviations: sqrt(6000 p (1 - p)) = 36.5 (p = 1/3) and 31 (p = 1/5); 4 sigma
        assert np.all(np.abs(counts0[[1, 3, 4]] - 2000) < 146), counts0
        assert np.all(np.abs(counts1 - 1200) < 124), counts1


def test_epsilon_greedy_explores_uniformly_with_probability_epsilon() -> None:
    envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=2000, vectorization_mode="vector_entry_point")
    agent = Recorder(envs)
    bandit = EpsilonGreedyBandit(agent, EpsilonGreedyBanditConfig(epsilon=1.0))
    bandit.learn(20, seed=0)
    counts = np.bincount(np.concatenate(agent.actions), minlength=10)
    assert np.all(np.abs(counts - 4000) < 4 * np.sqrt(40000 * 0.09)), counts  # 4 sigma of Binomial(40000, 0.1)
    # epsilon = 0.25 once arm 9 (paying exactly 9, the others 0..8) is greedy in every run (Q1 = 10 has
    # every arm tried first): a pull leaves it with probability 0.25 * 9/10
    envs = gym.make_vec(
        "rlsuite/KArmedBandit-v0",
        num_envs=2000,
        vectorization_mode="vector_entry_point",
        means=np.arange(10.0),
        reward_std=0.0,
    )
    agent = Recorder(envs)
    bandit = EpsilonGreedyBandit(agent, EpsilonGreedyBanditConfig(epsilon=0.25, initial_value=10.0))
    bandit.learn(200, seed=1)
    assert np.all(bandit.q_values.argmax(axis=1) == 9)
    off = (np.array(agent.actions[-50:]) != 9).mean()
    assert abs(off - 0.225) < 4 * np.sqrt(0.225 * 0.775 / 100_000), off


# ----- the one agent contract (rlsuite.agents.base.Agent) -----
BANDITS = [EpsilonGreedyBandit, UCB, GradientBandit, ThompsonSampling]


@pytest.mark.parametrize("cls", BANDITS, ids=lambda c: c.__name__)
def test_bandit_agents_meet_the_agent_contract(cls, tmp_path) -> None:
    from rlsuite.agents.base import AGENTS, Agent

    assert issubclass(cls, Agent) and AGENTS[cls.name] is cls
    assert (cls.env_kind, cls.default_env, cls.uses_device) == ("vector", "rlsuite/KArmedBandit-v0", True)
    assert (cls.budget_unit, cls.default_budget) == ("steps", 1000)
    env = cls.make_env(cls.default_env, {"k": 4}, runs=7, device="cpu")
    assert env.num_envs == 7 and env.k == 4
    agent = cls(env)
    assert agent.config == cls.config_cls() and agent.env is env
    history = agent.learn(30, seed=2)
    assert len(history) == 30 and agent.t == 30
    actions, state = agent.predict()
    assert state is None
    np.testing.assert_array_equal(actions, agent.policy.argmax(axis=1))
    agent.save(tmp_path / "agent")
    meta = json.loads((tmp_path / "agent.json").read_text())
    assert (meta["algo"], meta["runs"], meta["env_kwargs"]) == (cls.name, 7, {"k": 4})
    loaded = Agent.load(tmp_path / "agent")
    assert type(loaded) is cls and loaded.num_runs == 7 and loaded.k == 4 and loaded.t == 30
    np.testing.assert_array_equal(loaded.q_values, agent.q_values)
    np.testing.assert_array_equal(loaded.policy, agent.policy)
    for name, table in agent.arrays().items():
        np.testing.assert_array_equal(to_numpy(loaded.arrays()[name]), to_numpy(table))


def test_bandit_budget_and_config_errors_name_the_field() -> None:
    from rlsuite.common.errors import ConfigError

    env = gym.make_vec(
        "rlsuite/KArmedBandit-v0", num_envs=3, vectorization_mode="vector_entry_point", max_episode_steps=50
    )
    agent = UCB(env)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ConfigError, match="UCB: budget must be a positive integer") as info:
            agent.learn(bad)
        assert info.value.field == "budget"
    with pytest.raises(ConfigError, match=r"budget 51 is longer than the env's episode \(50 steps\)"):
        agent.learn(51)
    with pytest.raises(ConfigError, match="UCB: config must be a UCBConfig, got GradientBanditConfig"):
        UCB(env, GradientBanditConfig())
