"""Zhao ch. 8-10 agents (rlsuite/agents/approx): each update rule against a hand computation, learning
against the exact answer (v_pi, the TD fixed point, v*, q*), save/load, and simulated CUDA."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from cuda_sim import simulate_cuda

import rlsuite.envs  # noqa: F401
from rlsuite.agents.approx import (
    A2C,
    QAC,
    ApproxAgent,
    DeepQLearning,
    DeterministicAC,
    LinearQLearning,
    LinearSarsa,
    OffPolicyAC,
    Reinforce,
    TDLinear,
)
from rlsuite.agents.approx.dqn import DQNConfig
from rlsuite.agents.approx.features import fourier_features, polynomial_features, state_features
from rlsuite.agents.approx.linear import (
    LinearControlConfig,
    LinearQLearningConfig,
    TDLinearConfig,
    stationary_distribution,
    td_fixed_point,
)
from rlsuite.agents.approx.policy_gradient import ActorCriticConfig, PolicyGradientConfig
from rlsuite.agents.tabular import ALGORITHMS, TabularAgent

APPROX = [cls for cls in ALGORITHMS.values() if issubclass(cls, ApproxAgent)]
BOOK_V_PI_ROWS = {1: [-3.8, -3.8, -3.8, -3.1, -2.9], 4: [-4.5, -4.2, -3.4, -3.4, -3.5]}  # fig 8.6(b), rows 2, 5


@pytest.fixture(scope="module")
def env() -> gym.Env:
    return gym.make("rlsuite/GridWorld-v0")


# ----- features (8.15-8.18) -----


def test_polynomial_features_are_the_books_vectors() -> None:
    x, y = np.array([0.5]), np.array([-1.0])
    np.testing.assert_allclose(polynomial_features(x, y, 1), [[1, 0.5, -1]])  # (8.15)
    np.testing.assert_allclose(polynomial_features(x, y, 2), [[1, 0.5, -1, 0.25, 1, -0.5]])  # (8.16)
    np.testing.assert_allclose(polynomial_features(x, y, 3)[0, 6:], [0.125, -1, -0.25, 0.5])  # (8.17)
    assert polynomial_features(x, y, 0).shape == (1, 1)


def test_fourier_features_are_the_books_vectors(env: gym.Env) -> None:
    x, y = np.array([0.25]), np.array([0.5])  # q = 1: [1, cos(pi y), cos(pi x), cos(pi (x + y))]
    book = [[1, np.cos(np.pi / 2), np.cos(np.pi / 4), np.cos(0.75 * np.pi)]]
    np.testing.assert_allclose(fourier_features(x, y, 1), book)
    for q in (1, 2, 3):
        assert state_features(env, "fourier", q, "test").shape == (25, (q + 1) ** 2)
    phi = state_features(env, "polynomial", 1, "test")  # state 0: top-left, x = y = -1; state 4: top-right
    np.testing.assert_allclose(phi[[0, 4, 24]], [[1, -1, -1], [1, 1, -1], [1, 1, 1]])


# ----- chapter 8: TD-Linear, the stationary distribution, the TD fixed point -----


def test_td_linear_evaluates_the_book_policy_of_figure_8_6(env: gym.Env) -> None:
    agent = TDLinear(env)
    np.testing.assert_allclose(agent.pi, 0.2)
    for row, printed in BOOK_V_PI_ROWS.items():
        np.testing.assert_allclose(np.round(agent.v_pi.reshape(5, 5)[row], 1), printed)


def test_td_linear_single_update_by_hand(env: gym.Env) -> None:
    agent = TDLinear(env, TDLinearConfig(alpha=0.5))
    agent.w = np.array([1.0, 2.0, 3.0])  # phi(0) = [1, -1, -1], phi(1) = [1, -0.5, -1]: v(0) = -4, v(1) = -3
    agent.update(0, -1.0, 1, False)  # delta = -1 + 0.9 (-3) - (-4) = 0.3
    np.testing.assert_allclose(agent.w, [1.0 + 0.15, 2.0 - 0.15, 3.0 - 0.15])
    agent.w = np.array([1.0, 2.0, 3.0])
    agent.update(0, -1.0, 1, True)  # terminal: no bootstrap, delta = -1 + 4 = 3
    np.testing.assert_allclose(agent.w, [2.5, 0.5, 1.5])


def test_stationary_distribution_solves_the_books_example_of_figure_8_5() -> None:
    # P_pi^T printed in section 8.2 (2x2 grid, epsilon-greedy, epsilon = 0.5) and its unit eigenvector
    P_T = np.array([[0.3, 0.1, 0.1, 0], [0.1, 0.3, 0, 0.1], [0.6, 0, 0.3, 0.1], [0, 0.6, 0.6, 0.8]])
    d = stationary_distribution(P_T.T)
    v = np.array([0.0463, 0.1455, 0.1785, 0.9720])
    np.testing.assert_allclose(d, v / v.sum(), atol=2e-4)


def test_td_fixed_point_error_falls_with_the_feature_order(env: gym.Env) -> None:
    """The book's claim of figs 8.7-8.8, made exact: the RMSE of the TD fixed point w* (8.21) to v_pi."""
    agent = TDLinear(env)

    def rmse(kind: str, order: int) -> float:
        phi = state_features(env, kind, order, "test")
        return float(np.sqrt(np.mean((phi @ td_fixed_point(agent.model, agent.pi, phi, 0.9) - agent.v_pi) ** 2)))

    poly = [rmse("polynomial", n) for n in (1, 2, 3)]
    fourier = [rmse("fourier", q) for q in (1, 2, 3)]
    assert poly == sorted(poly, reverse=True) and fourier == sorted(fourier, reverse=True)
    assert rmse("onehot", 0) < 1e-9  # the tabular case: TD's fixed point is v_pi


def test_td_linear_with_tabular_features_converges_to_v_pi(env: gym.Env) -> None:
    agent = TDLinear(env, TDLinearConfig(features="onehot", alpha=0.1, episode_length=200))
    history = agent.learn(60, seed=0)
    assert history["rmse"][0] > 2.0 and history.last()["rmse"] < 0.3
    assert list(history.columns) == ["episode", "rmse", "value_error"]


# ----- chapter 8: Sarsa and Q-learning with linear features -----


def test_linear_sarsa_and_q_learning_single_updates_by_hand(env: gym.Env) -> None:
    cfg = LinearControlConfig(features="polynomial", order=1, alpha=0.5)
    sarsa = LinearSarsa(env, cfg)
    W = np.zeros((3, 5))
    W[:, 1] = [1.0, 2.0, 3.0]  # q(0, 1) = -4
    W[:, 2] = [0.0, 0.0, 2.0]  # q(1, 2) = -2; q(1, 4) = 0 is the max at s' = 1
    sarsa.W = W.copy()
    sarsa.update(0, 1, -1.0, 1, 2, False)  # delta = -1 + 0.9 (-2) + 4 = 1.2
    expected = W.copy()
    expected[:, 1] += 0.5 * 1.2 * np.array([1, -1, -1])
    np.testing.assert_allclose(sarsa.W, expected)
    q = LinearQLearning(env, LinearQLearningConfig(**dataclasses.asdict(cfg)))
    q.W = W.copy()
    q.update(0, 1, -1.0, 1, 2, False)  # delta = -1 + 0.9 max(...) + 4 = -1 + 0 + 4 = 3 (q(1, .) max is 0)
    expected = W.copy()
    expected[:, 1] += 0.5 * 3.0 * np.array([1, -1, -1])
    np.testing.assert_allclose(q.W, expected)


def test_linear_q_learning_off_policy_with_tabular_features_finds_the_optimum(env: gym.Env) -> None:
    cfg = LinearQLearningConfig(features="onehot", alpha=0.1, behavior="uniform", start="random",
                                stop_at_target=False, episode_length=100, log_every=50)  # fmt: skip
    agent = LinearQLearning(env, cfg)
    last = agent.learn(200, seed=0).last()
    assert last["gap_to_optimum"] < 1e-9 and last["optimal_fraction"] == 1.0


# ----- deep Q-learning -----


def test_dqn_iteration_is_one_step_on_the_detached_target(env: gym.Env) -> None:
    """With target_update = 1 the target and main networks are equal: a target that is not detached would
    send gradient through y as well and give another step."""
    agent = DeepQLearning(env, DQNConfig(optimizer="sgd", lr=0.1, hidden=8))
    agent.target.load_state_dict(agent.net.state_dict())
    batch = {"s": torch.tensor([0, 3]), "a": torch.tensor([1, 4]), "r": torch.tensor([-1.0, 0.5]),
             "s2": torch.tensor([1, 8]), "term": torch.tensor([False, False])}  # fmt: skip
    params = [p.detach().clone().requires_grad_(True) for p in agent.net.parameters()]

    def q(x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ params[0].T + params[1]) @ params[2].T + params[3]

    inputs = agent.cells
    y = batch["r"] + 0.9 * q(inputs[batch["s2"]]).detach().amax(1)
    loss = ((y - q(inputs[batch["s"]]).gather(1, batch["a"][:, None])[:, 0]) ** 2).mean()
    grads = torch.autograd.grad(loss, params)
    agent.train_step(batch, agent.make_optimizer())
    for p, p0, g in zip(agent.net.parameters(), params, grads, strict=True):
        torch.testing.assert_close(p.detach(), p0.detach() - 0.1 * g)
    assert all(p.grad is None for p in agent.target.parameters())


def test_dqn_target_comes_from_the_target_network(env: gym.Env) -> None:
    """A main network that differs from the target one: the step follows y = r + gamma max q(s', ., w_T)."""
    agent = DeepQLearning(env, DQNConfig(optimizer="sgd", lr=0.1, hidden=8))
    agent.target = agent.make_net(1)
    batch = {"s": torch.tensor([0, 3]), "a": torch.tensor([1, 4]), "r": torch.tensor([-1.0, 0.5]),
             "s2": torch.tensor([1, 8]), "term": torch.tensor([False, True])}  # fmt: skip
    with torch.no_grad():
        y = batch["r"] + 0.9 * agent.target(agent.cells[batch["s2"]]).amax(1) * torch.tensor([1.0, 0.0])
    before = [p.detach().clone() for p in agent.net.parameters()]
    q_sa = agent.net(agent.cells[batch["s"]]).gather(1, batch["a"][:, None])[:, 0]
    grads = torch.autograd.grad(((y - q_sa) ** 2).mean(), list(agent.net.parameters()))
    agent.train_step(batch, agent.make_optimizer())
    for p, p0, g in zip(agent.net.parameters(), before, grads, strict=True):
        torch.testing.assert_close(p.detach(), p0 - 0.1 * g)


def test_dqn_from_one_1000_step_episode_finds_the_optimal_policy() -> None:
    """Fig 8.11's claim: one uniform behaviour episode of 1000 steps visits almost every (s, a), and deep
    Q-learning on it reaches the optimal greedy policy in the book's 1000 iterations."""
    env = gym.make("rlsuite/GridWorld-v0", r_boundary=-10.0, r_forbidden=-10.0)
    agent = DeepQLearning(env, DQNConfig(log_every=100))
    history = agent.learn(1000, seed=0)
    assert agent.visited_pairs() == 125
    assert history.last()["gap_to_optimum"] < 1e-9 and history.last()["optimal_fraction"] == 1.0
    assert history["loss"][-1] < 0.05 * history["loss"][0]


# ----- chapters 9-10: the policy-gradient updates -----


def _with_theta(agent: Any, seed: int = 0) -> np.ndarray:
    agent.theta = np.random.default_rng(seed).normal(size=agent.theta.shape)
    return agent.theta.copy()


def _pi(theta: np.ndarray, s: int) -> np.ndarray:
    e = np.exp(theta[s] - theta[s].max())
    return e / e.sum()


def test_score_is_the_softmax_log_gradient(env: gym.Env) -> None:
    agent = A2C(env)
    theta = _with_theta(agent)
    eps = 1e-6
    bumped = theta.copy()
    bumped[3, 2] += eps
    numeric = (np.log(_pi(bumped, 3)[4]) - np.log(_pi(theta, 3)[4])) / eps
    assert agent.score(3, 4)[3, 2] == pytest.approx(numeric, abs=1e-5)
    assert np.abs(agent.score(3, 4)[np.arange(25) != 3]).max() == 0.0  # tabular: only row s


def test_reinforce_update_by_hand(env: gym.Env) -> None:
    agent = Reinforce(env, PolicyGradientConfig(episode_length=2, alpha_theta=0.5, start="env"))
    theta = _with_theta(agent)
    agent.rng = np.random.default_rng(6)  # seed 6: r1 = 0, r2 = -1, so the discount shows in q_0
    first = np.random.default_rng(6)
    a0 = int(first.choice(5, p=_pi(theta, 0)))
    s1, r1, _ = _step_from(env, 0, a0)
    a1 = int(first.choice(5, p=_pi(theta, s1)))
    _, r2, _ = _step_from(env, s1, a1)
    total = agent.episode(agent.config)
    assert total == r1 + r2 and r2 != 0.0
    expected = theta.copy()  # q_0 = r1 + 0.9 r2, q_1 = r2; the second step uses the updated theta
    expected[0] += 0.5 * (np.eye(5)[a0] - _pi(theta, 0)) * (r1 + 0.9 * r2)
    expected[s1] += 0.5 * (np.eye(5)[a1] - _pi(expected, s1)) * r2
    np.testing.assert_allclose(agent.theta, expected)


def _step_from(env: gym.Env, s: int, a: int) -> tuple[int, float, bool]:
    base = env.unwrapped
    return int(base.next_state_table[s, a]), float(base.reward_table[s, a]), False


def test_a2c_and_off_policy_ac_updates_by_hand(env: gym.Env) -> None:
    cfg = ActorCriticConfig(alpha_theta=0.5, alpha_w=0.25)
    for cls in (A2C, OffPolicyAC):
        agent = cls(env, cls.config_cls(**dataclasses.asdict(cfg)))
        theta = _with_theta(agent)
        agent.w = np.linspace(-1.0, 1.0, 25)
        w = agent.w.copy()
        agent.update(6, 2, -1.0, 11)
        delta = -1.0 + 0.9 * w[11] - w[6]
        rho = 5 * _pi(theta, 6)[2] if cls is OffPolicyAC else 1.0  # pi / beta, beta = 1/5
        expected_theta = theta.copy()
        expected_theta[6] += 0.5 * rho * delta * (np.eye(5)[2] - _pi(theta, 6))
        np.testing.assert_allclose(agent.theta, expected_theta)
        expected_w = w.copy()
        expected_w[6] += 0.25 * rho * delta
        np.testing.assert_allclose(agent.w, expected_w)


def test_qac_step_by_hand(env: gym.Env) -> None:
    agent = QAC(env, ActorCriticConfig(alpha_theta=0.5, alpha_w=0.25, episode_length=1, start="env"))
    theta = _with_theta(agent)
    agent.W = np.random.default_rng(2).normal(size=(25, 5))
    W = agent.W.copy()
    agent.rng = np.random.default_rng(3)
    draws = np.random.default_rng(3)
    a = int(draws.choice(5, p=_pi(theta, 0)))
    s2, r, _ = _step_from(env, 0, a)
    agent.episode(agent.config)
    a2 = int(draws.choice(5, p=_pi(theta, s2)))
    expected_theta = theta.copy()
    expected_theta[0] += 0.5 * (np.eye(5)[a] - _pi(theta, 0)) * W[0, a]
    np.testing.assert_allclose(agent.theta, expected_theta)
    expected_W = W.copy()
    expected_W[0, a] += 0.25 * (r + 0.9 * W[s2, a2] - W[0, a])
    np.testing.assert_allclose(agent.W, expected_W)


def test_deterministic_ac_update_by_hand(env: gym.Env) -> None:
    agent = DeterministicAC(env, DeterministicAC.config_cls(alpha_theta=0.5, alpha_w=0.25))
    theta = _with_theta(agent)
    agent.W = np.random.default_rng(2).normal(size=(25, 5))
    W = agent.W.copy()
    agent.update(6, 2, -1.0, 11)
    mu6, mu11 = _pi(theta, 6), _pi(theta, 11)
    delta = -1.0 + 0.9 * W[11] @ mu11 - W[6, 2]
    # grad_theta mu(s) grad_a q: numerically, d/d theta[6, k] of q(6, mu(6)) with W fixed
    eps = 1e-6
    grad = np.array([(W[6] @ _pi(theta + eps * np.eye(25 * 5)[6 * 5 + k].reshape(25, 5), 6) - W[6] @ mu6) / eps
                     for k in range(5)])  # fmt: skip
    np.testing.assert_allclose(agent.theta[6], theta[6] + 0.5 * grad, atol=1e-5)
    expected_W = W.copy()
    expected_W[6, 2] += 0.25 * delta
    np.testing.assert_allclose(agent.W, expected_W)


def test_off_policy_actor_critic_learns_an_optimal_policy(env: gym.Env) -> None:
    agent = OffPolicyAC(env, OffPolicyAC.config_cls(log_every=100))
    last = agent.learn(300, seed=0).last()
    assert last["gap_to_optimum"] < 1e-9 and last["optimal_fraction"] == 1.0


# ----- the contract: registry, save/load, devices -----


@pytest.mark.parametrize("cls", APPROX, ids=lambda c: c.name)
def test_save_load_round_trips_and_predict_is_greedy(env: gym.Env, cls: type, tmp_path) -> None:
    agent = cls(env)
    agent.learn(2, seed=3)
    agent.save(tmp_path / "agent")
    loaded = TabularAgent.load(tmp_path / "agent")
    assert type(loaded) is cls and loaded.config == agent.config
    for key, value in agent.arrays().items():
        np.testing.assert_allclose(loaded.arrays()[key], value, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(loaded.predict(np.arange(25))[0], agent.policy.argmax(axis=1))
    assert agent.q_values.shape == (25, 5) and agent.state_values.shape == (25,)


SMALL = {"episode_length": 20}


@pytest.mark.parametrize("cls", APPROX, ids=lambda c: c.name)
def test_on_simulated_cuda_learns_what_torch_on_the_cpu_learns(env: gym.Env, cls: type) -> None:
    small = {} if cls is DeepQLearning else SMALL
    budget = 20 if cls is DeepQLearning else 3

    def run(device: str) -> Any:
        agent = cls(env, cls.config_cls(**small), device=device)
        agent.learn(budget, seed=0)
        return agent

    cpu = run("torch:cpu")
    with simulate_cuda():
        cuda = run("cuda")
        params = cuda.parameters()
        assert all(p.device.type == "cuda" for p in params.values())
    assert isinstance(cuda.q_values, np.ndarray)
    np.testing.assert_allclose(cuda.q_values, cpu.q_values, rtol=1e-6)
    np.testing.assert_array_equal(cuda.policy, cpu.policy)


@pytest.mark.slow
def test_deterministic_actor_critic_learns_an_optimal_policy() -> None:
    """The simplex-relaxed deterministic policy, learned off-policy from uniform behaviour (r_forbidden = -10)."""
    env = gym.make("rlsuite/GridWorld-v0", r_forbidden=-10.0)
    agent = DeterministicAC(env, DeterministicAC.config_cls(log_every=100))
    last = agent.learn(1000, seed=0).last()
    assert last["gap_to_optimum"] < 1e-9 and last["optimal_fraction"] == 1.0
