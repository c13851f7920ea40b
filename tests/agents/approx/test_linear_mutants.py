"""Linear TD, Sarsa and Q-learning (rlsuite/agents/approx/linear.py) where mutation testing found them
unchecked: terminal updates, features other than +-1, the evaluated policy, gamma, the initial weights, starts."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.approx import LinearQLearning, LinearSarsa, TDLinear
from rlsuite.agents.approx.linear import LinearControlConfig, LinearQLearningConfig, TDLinearConfig
from rlsuite.agents.tabular.solvers import greedy_policy


@pytest.fixture(scope="module")
def env() -> gym.Env:
    return gym.make("rlsuite/GridWorld-v0")


def test_terminal_sarsa_and_q_learning_updates_by_hand(env: gym.Env) -> None:
    """From state 1, phi(1) = [1, -0.5, -1] (not +-1, so phi's role in the step shows), into a terminal state."""
    cfg = LinearControlConfig(features="polynomial", order=1, alpha=0.5)
    W = np.zeros((3, 5))
    W[:, 1] = [1.0, 2.0, 3.0]  # q(0, 1) = -4, q(0, .) max 0
    W[:, 2] = [0.0, 0.0, 2.0]  # q(1, 2) = -2
    expected = W.copy()
    expected[:, 2] += 0.5 * (-1.0 + 2.0) * np.array([1.0, -0.5, -1.0])  # delta = r - q(1, 2): no bootstrap
    for agent in (LinearSarsa(env, cfg), LinearQLearning(env, LinearQLearningConfig(**dataclasses.asdict(cfg)))):
        agent.W = W.copy()
        agent.update(1, 2, -1.0, 0, 1, True)
        np.testing.assert_allclose(agent.W, expected)
    sarsa = LinearSarsa(env, cfg)
    sarsa.W = W.copy()
    sarsa.update(1, 2, -1.0, 0, 1, False)  # delta = -1 + 0.9 q(0, 1) - q(1, 2) = -1 - 3.6 + 2 = -2.6
    expected = W.copy()
    expected[:, 2] += 0.5 * -2.6 * np.array([1.0, -0.5, -1.0])
    np.testing.assert_allclose(sarsa.W, expected)


def test_q_learning_behaviour_epsilon(env: gym.Env) -> None:
    assert LinearQLearning(env, LinearQLearningConfig(epsilon=0.25)).behaviour_epsilon() == 0.25
    assert LinearQLearning(env, LinearQLearningConfig(epsilon=0.25, behavior="uniform")).behaviour_epsilon() == 1.0


def test_td_linear_evaluates_the_optimal_policy_when_asked(env: gym.Env) -> None:
    agent = TDLinear(env, TDLinearConfig(policy="optimal"))
    np.testing.assert_array_equal(agent.pi, greedy_policy(agent.q_star))
    np.testing.assert_allclose(agent.v_pi, agent.v_star, atol=1e-8)  # v of the optimal policy is v*


def test_td_linear_v_pi_is_at_the_configured_gamma(env: gym.Env) -> None:
    agent = TDLinear(env, TDLinearConfig(gamma=0.5))
    T, r = agent.model.policy_matrices(np.full((25, 5), 0.2))
    np.testing.assert_allclose(agent.v_pi, np.linalg.solve(np.eye(25) - 0.5 * T, r), atol=1e-12)


def test_td_linear_starts_from_w0_drawn_around_zero(env: gym.Env) -> None:
    agent = TDLinear(env, TDLinearConfig(init_std=2.0))
    agent.seed(3)
    agent.begin()
    np.testing.assert_array_equal(agent.w, np.random.default_rng(3).normal(0.0, 2.0, 3))


def test_td_linear_rmse_and_value_error_against_v_pi(env: gym.Env) -> None:
    agent = TDLinear(env)
    agent.w = np.array([-3.0, 0.5, -0.25])
    agent.refresh_tables()
    err = agent.phi @ agent.w - agent.v_pi
    metrics = agent.truth_metrics()
    assert metrics == {"rmse": pytest.approx(float(np.sqrt(np.mean(err**2))), abs=1e-12),
                       "value_error": pytest.approx(float(np.max(np.abs(err))), abs=1e-12)}  # fmt: skip


def test_td_linear_does_not_bootstrap_from_a_terminal_state() -> None:
    """FrozenLake S G: the optimal policy steps right into the goal (reward 1, terminal) in one step."""
    env = gym.make("FrozenLake-v1", desc=["SG"], is_slippery=False)
    agent = TDLinear(env, TDLinearConfig(features="onehot", policy="optimal", start="env", alpha=0.5,
                                         episode_length=3))  # fmt: skip
    agent.learn(1, seed=5)
    w0 = np.random.default_rng(5).normal(0.0, 1.0, 2)
    np.testing.assert_allclose(agent.w, [w0[0] + 0.5 * (1.0 - w0[0]), w0[1]])


def test_td_linear_episodes_start_at_the_random_draw() -> None:
    """S . T, episodic, every reward nonzero: one step from the start changes w (zero) only at that state."""
    env = gym.make("rlsuite/GridWorld-v0", grid_map=["S.T"], terminate_at_target=True, r_other=-1.0)
    agent = TDLinear(env, TDLinearConfig(features="onehot", init_std=0.0, episode_length=1, alpha=0.5))
    draws = np.random.default_rng(1)
    draws.normal(0.0, 0.0, 3)  # w0
    start = int(draws.choice(agent.starts))
    assert start == 1  # the premise: not the env's start (0)
    agent.learn(1, seed=1)
    assert np.flatnonzero(agent.w).tolist() == [start]
