"""Bandit agents against Sutton & Barto's figures 2.2-2.5 (fewer runs than the book; orderings, levels)."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from agent_checks import wrong_greedy_states
from recording import RecordingReporter, reporting_to

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
    placed = torch.empty(0, device=torch_envs.backend.device).device  # what a tensor there reports: cuda -> cuda:0
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
    with pytest.raises(ValueError, match=r"^EpsilonGreedyBandit needs a batched bandit env"):
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
    from rlsuite.agents.tabular.td import QLearning

    q_agent = QLearning(gym.make("rlsuite/GridWorld-v0"), device="cuda")
    q_agent.learn(seed=0)  # the batched env, the rollouts and the q table on the GPU
    assert wrong_greedy_states(q_agent) == []


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


def recorded(
    cls: type, config, steps: int, runs: int = 4, seed: int = 3, env_id: str = "rlsuite/KArmedBandit-v0", **env_kwargs
):
    envs = Recorder(gym.make_vec(env_id, num_envs=runs, vectorization_mode="vector_entry_point", **env_kwargs))
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
    np.testing.assert_array_equal(to_numpy(agent.n), replay_averages(envs, k)[1])  # pulls counted, one each
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
    np.testing.assert_allclose(to_numpy(agent.posterior_std), 1 / np.sqrt(precision), rtol=1e-12)
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
    assert agent.t == 0 and not to_numpy(agent.n).any()  # no pull made yet
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
    with pytest.raises(ConfigError, match=r"^UCB: budget 51 is longer than the env's episode \(50 steps\)") as info:
        agent.learn(51)
    assert (info.value.field, info.value.value) == ("budget", 51)
    with pytest.raises(ConfigError, match="UCB: config must be a UCBConfig, got GradientBanditConfig"):
        UCB(env, GradientBanditConfig())


# ----- exact behaviour of each piece (issue 12: mutation testing of rlsuite/agents/tabular/bandit.py) -----
@pytest.mark.parametrize("missing", ["num_envs", "k", "backend"])
def test_bandit_agent_refuses_an_env_missing_any_batched_attribute(missing: str) -> None:
    from types import SimpleNamespace

    from rlsuite.common.errors import UsageError

    real = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=2, vectorization_mode="vector_entry_point")
    env = SimpleNamespace(**{name: getattr(real, name) for name in ("num_envs", "k", "backend") if name != missing})
    with pytest.raises(UsageError, match=r"^UCB needs a batched bandit env"):
        UCB(env)


def test_learn_without_a_seed_is_seed_0_and_a_fresh_agent_draws_like_it() -> None:
    """``learn()`` is ``learn(seed=0)``; a fresh agent's random choices are those of seed 0 too (reproducible)."""
    make = lambda: Recorder(  # noqa: E731
        gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=40, vectorization_mode="vector_entry_point")
    )
    config = EpsilonGreedyBanditConfig(epsilon=0.5)
    fresh = EpsilonGreedyBandit(make(), config).select()  # every arm tied: random greedy arms and explorations
    default_env, seeded_env = make(), make()
    h_default = EpsilonGreedyBandit(default_env, config).learn(20)
    h_seeded = EpsilonGreedyBandit(seeded_env, config).learn(20, seed=0)
    np.testing.assert_array_equal(np.array(default_env.actions), np.array(seeded_env.actions))
    np.testing.assert_array_equal(h_default["average_reward"], h_seeded["average_reward"])
    np.testing.assert_array_equal(fresh, default_env.actions[0])
    assert len(np.unique(fresh)) > 3  # the choices really are random ones


@pytest.mark.parametrize(
    ("steps", "advances"),
    [(7, [1] * 7), (250, [2] * 125), (301, [3] * 100 + [1])],
    ids=["every-step", "every-2", "every-3-and-the-rest"],
)
def test_learn_reports_progress_in_about_100_advances_summing_to_the_budget(steps: int, advances: list) -> None:
    with reporting_to(RecordingReporter()) as reporter:
        UCB(gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=2, vectorization_mode="vector_entry_point")).learn(steps)
    assert reporter.started == [("ucb", steps, "step")] and reporter.stopped == 1
    assert reporter.advances == advances and sum(advances) == steps


class ForeignEnv(Recorder):
    """A batched bandit of another make: float32 rewards and no ``max_episode_steps`` attribute."""

    def __getattr__(self, name: str):
        if name == "max_episode_steps":
            raise AttributeError(name)
        return getattr(self._envs, name)

    def step(self, actions):
        obs, reward, terminated, truncated, info = self._envs.step(actions)
        reward = to_numpy(reward).astype(np.float32)
        self.actions.append(to_numpy(actions).copy())
        self.rewards.append(reward.astype(np.float64))
        self.optimal.append(to_numpy(info["optimal"]).copy())
        return obs, reward, terminated, truncated, info


def test_rewards_of_another_dtype_are_cast_to_the_tables_and_no_episode_limit_is_needed() -> None:
    envs = ForeignEnv(
        gym.make_vec(
            "rlsuite/KArmedBandit-v0", num_envs=30, vectorization_mode="vector_entry_point", max_episode_steps=None, k=3
        )
    )
    assert not hasattr(envs, "max_episode_steps")
    agent = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=0.3))
    history = agent.learn(12, seed=4)
    q, n = replay_averages(envs, 3)
    assert agent.q_values.dtype == np.float64
    np.testing.assert_allclose(agent.q_values, q, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(to_numpy(agent.n), n)
    # the average reward is summed in float64 (a float32 sum of 30 rewards is off by about 1e-7)
    np.testing.assert_allclose(history["average_reward"], [r.mean() for r in envs.rewards], rtol=0, atol=1e-13)


def test_fresh_policies_share_ties_equally() -> None:
    envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=3, vectorization_mode="vector_entry_point", k=4)
    np.testing.assert_allclose(UCB(envs).policy, np.full((3, 4), 0.25), rtol=0, atol=1e-15)  # untried: all tied
    agent = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=0.2))
    np.testing.assert_allclose(agent.policy, np.full((3, 4), 0.25), rtol=0, atol=1e-15)
    agent.q[...] = [1.0, 1.0, 0.0, -1.0]  # two greedy arms: 0.05 + 0.8 / 2 each, 0.05 for the others
    np.testing.assert_allclose(agent.policy, np.tile([0.45, 0.45, 0.05, 0.05], (3, 1)), rtol=0, atol=1e-15)
    agent.q[...] = [[3.0, 1.0, 3.0, 3.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.5, 0.0, 0.0]]
    expected = [[0.05 + 0.8 / 3, 0.05, 0.05 + 0.8 / 3, 0.05 + 0.8 / 3], [0.25] * 4, [0.05, 0.85, 0.05, 0.05]]
    np.testing.assert_allclose(agent.policy, expected, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(agent.predict()[0], [0, 0, 1])


def test_ucb_policy_is_the_bound_of_the_next_pull() -> None:
    """After t pulls, ``policy`` is the greedy arm of ``Q + c sqrt(ln(t + 1) / N)``; ``select`` at t + 1 pulls it."""
    c, steps, k, runs = 2.0, 9, 4, 200
    agent, _, envs = recorded(UCB, UCBConfig(c=c), steps, runs=runs, k=k)
    q, n = replay_averages(envs, k)
    assert n.min() >= 1
    nxt = (q + c * np.sqrt(np.log(steps + 1) / n)).argmax(axis=1)
    np.testing.assert_array_equal(agent.policy, np.eye(k)[nxt])
    # with ln t (this pull) or ln(t + 2), some runs would pull another arm
    assert (nxt != (q + c * np.sqrt(np.log(steps) / n)).argmax(axis=1)).any()
    assert (nxt != (q + c * np.sqrt(np.log(steps + 2) / n)).argmax(axis=1)).any()
    agent.t = steps + 1
    np.testing.assert_array_equal(agent.select(), nxt)


def test_gradient_bandit_softmax_is_stable_per_run() -> None:
    """Preferences far from zero, and runs at very different levels, give the same softmax as small ones."""
    envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=3, vectorization_mode="vector_entry_point", k=3)
    agent = GradientBandit(envs)
    agent.q[...] = [[0.0, -1.0, -2.0], [1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]]
    expected = np.exp([0.0, -1.0, -2.0]) / np.exp([0.0, -1.0, -2.0]).sum()
    np.testing.assert_allclose(agent.policy, np.tile(expected, (3, 1)), rtol=1e-12)


def uniform_stub(values: np.ndarray):
    """``backend.uniform`` giving these values (one per run) and refusing any other draw."""

    def uniform(shape: tuple) -> np.ndarray:
        assert shape in ((len(values),), (len(values), 1)), shape
        return np.array(values, dtype=np.float64).reshape(shape)

    return uniform


def test_epsilon_greedy_maps_its_one_uniform_to_explore_or_greedy_at_the_edges() -> None:
    """u < epsilon explores arm floor(k u / epsilon), at most k - 1 (it rounds up to k just below epsilon);
    u >= epsilon pulls the greedy arm; runs without ties draw nothing else."""
    envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=5, vectorization_mode="vector_entry_point", k=10)
    agent = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=0.1))
    agent.q[:, 3] = 1.0  # arm 3 greedy in every run
    below = np.nextafter(0.1, 0.0)
    assert np.floor(below * (10 / 0.1)) == 10.0  # the case the clip is for
    agent.backend.uniform = uniform_stub([0.0, 0.05, below, 0.1, 0.5])
    np.testing.assert_array_equal(agent.select(), [0, 5, 9, 3, 3])


def test_gradient_bandit_samples_by_the_inverse_cdf_at_the_edges() -> None:
    """Arm a for u in [cdf(a - 1), cdf(a)); past the last cdf entry (ten 0.1s sum to 1 - 2^-53) arm k - 1."""
    envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=6, vectorization_mode="vector_entry_point", k=10)
    agent = GradientBandit(envs)  # fresh: pi = 0.1 each
    cdf = np.cumsum(np.full(10, 0.1))
    top = np.nextafter(1.0, 0.0)
    assert cdf[0] == 0.1 and cdf[-1] <= top < 1.0
    agent.backend.uniform = uniform_stub([0.0, np.nextafter(0.1, 0.0), 0.1, 0.15, 0.95, top])
    np.testing.assert_array_equal(agent.select(), [0, 0, 1, 1, 9, 9])


def test_gradient_bandit_pulls_each_arm_of_a_uniform_policy_equally_often() -> None:
    envs = Recorder(
        gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=2000, vectorization_mode="vector_entry_point", k=5)
    )
    GradientBandit(envs, GradientBanditConfig(alpha=1e-9)).learn(5, seed=2)  # the policy stays uniform
    counts = np.bincount(np.concatenate(envs.actions), minlength=5)
    assert np.all(np.abs(counts - 2000) < 4 * np.sqrt(10_000 * 0.16)), counts  # 4 sigma of Binomial(10000, 0.2)


@pytest.mark.parametrize("steps", [1, 3, 6])
def test_thompson_bernoulli_posterior_after_each_step(steps: int) -> None:
    agent, _, envs = recorded(
        ThompsonSampling, ThompsonSamplingConfig(model="bernoulli"), steps, k=3, env_id="rlsuite/BernoulliBandit-v0"
    )
    _, n = replay_averages(envs, 3)
    wins = np.zeros((4, 3))
    for actions, rewards in zip(envs.actions, envs.rewards, strict=True):
        np.add.at(wins, (np.arange(4), actions), rewards)
    np.testing.assert_array_equal(to_numpy(agent.n), n)
    np.testing.assert_array_equal(to_numpy(agent.reward_sum), wins)
    np.testing.assert_allclose(agent.q_values, (1 + wins) / (2 + n), rtol=0, atol=1e-15)  # Beta(1 + w, 1 + l) mean


@pytest.mark.parametrize("model", ["gaussian", "bernoulli"])
def test_thompson_pulls_the_argmax_of_one_posterior_sample_per_arm(model: str) -> None:
    """Against numpy's sampler seeded alike: Beta(1 + wins, 1 + losses), or mean + std * N(0, 1)."""
    env_id = "rlsuite/BernoulliBandit-v0" if model == "bernoulli" else "rlsuite/KArmedBandit-v0"
    agent, _, _ = recorded(ThompsonSampling, ThompsonSamplingConfig(model=model), 8, runs=60, k=3, env_id=env_id)
    n, wins = to_numpy(agent.n), to_numpy(agent.reward_sum)
    agent.backend.seed(np.random.default_rng(11))
    reference = np.random.default_rng(11)
    if model == "bernoulli":
        sample = reference.beta(1 + wins, 1 + n - wins)
    else:
        sample = agent.q_values + to_numpy(agent.posterior_std) * reference.standard_normal((60, 3))
    np.testing.assert_array_equal(agent.select(), sample.argmax(axis=1))


def test_random_argmax_picks_the_tied_arm_of_the_largest_key_and_draws_only_for_ties() -> None:
    from rlsuite.agents.tabular.bandit import random_argmax
    from rlsuite.common.backend import ArrayBackend

    for device in ("cpu", "torch:cpu"):
        if device != "cpu":
            pytest.importorskip("torch")
        backend, twin = ArrayBackend(device), ArrayBackend(device)
        backend.seed(np.random.default_rng(5))
        twin.seed(np.random.default_rng(5))
        x = backend.zeros((50, 4))  # every row a four-way tie: the arm of the largest uniform key
        np.testing.assert_array_equal(to_numpy(random_argmax(x, backend)), to_numpy(twin.uniform((50, 4))).argmax(1))
    backend = ArrayBackend("cpu")
    backend.seed(np.random.default_rng(5))
    np.testing.assert_array_equal(random_argmax(np.array([[0.0, 1.0, 0.5], [2.0, 0.0, 1.0]]), backend), [1, 0])
    np.testing.assert_array_equal(backend.uniform((3,)), np.random.default_rng(5).random(3))  # nothing drawn


@pytest.mark.parametrize("case", ["ucb", "optimistic-greedy"])
def test_torch_on_cpu_gives_the_numpy_results_on_deterministic_bandits(case: str) -> None:
    """The torch path (``device="torch:cpu"``): same pulls after the first random ties, same tables."""
    pytest.importorskip("torch")
    results = {}
    for device in ("cpu", "torch:cpu"):
        envs = gym.make_vec(
            "rlsuite/KArmedBandit-v0",
            num_envs=20,
            vectorization_mode="vector_entry_point",
            means=[1.0, 1.5, 0.5],
            reward_std=0.0,
            device=device,
        )
        if case == "ucb":
            agent = UCB(envs, UCBConfig(c=1.0))
        else:
            agent = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=0.0, initial_value=5.0, step_size=0.5))
        history = agent.learn(12, seed=0)
        assert agent.backend.is_torch == (device != "cpu")
        results[device] = (history, agent.q_values, to_numpy(agent.n), agent.policy)
    (h_np, q_np, n_np, pi_np), (h_t, q_t, n_t, pi_t) = results["cpu"], results["torch:cpu"]
    # the first three pulls try every arm in a random order (ties): same totals; then the same pulls
    assert h_np["average_reward"][:3].sum() == pytest.approx(3.0) == h_t["average_reward"][:3].sum()
    np.testing.assert_allclose(h_t["average_reward"][3:], h_np["average_reward"][3:], rtol=1e-6)
    np.testing.assert_array_equal(h_t["optimal_action"][3:], h_np["optimal_action"][3:])
    np.testing.assert_allclose(q_t, q_np, rtol=1e-6)
    np.testing.assert_array_equal(n_t, n_np)
    np.testing.assert_allclose(pi_t, pi_np, rtol=1e-6)
    assert n_np.sum(axis=1).tolist() == [12.0] * 20
