"""Policy gradient and actor-critic (rlsuite/agents/approx/policy_gradient.py) where mutation testing found
them unchecked: a softmax of large preferences, episode returns, terminal steps, random starts, gamma."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.approx import QAC, DeterministicAC, Reinforce
from rlsuite.agents.approx.policy_gradient import ActorCriticConfig, PolicyGradientConfig, softmax


@pytest.fixture(scope="module")
def env() -> gym.Env:
    return gym.make("rlsuite/GridWorld-v0")


def test_softmax_of_large_preferences_does_not_overflow(env: gym.Env) -> None:
    np.testing.assert_array_equal(softmax(np.array([800.0, 0.0])), [1.0, 0.0])
    agent = Reinforce(env)
    theta = np.zeros((25, 5))
    theta[0, 0] = 1000.0  # row 0 far above row 1: each row's own max keeps row 1 from underflowing
    agent.theta = theta
    agent.refresh_tables()
    np.testing.assert_array_equal(agent.pi[0], [1.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(agent.pi[1:], np.full((24, 5), 0.2))


def test_deterministic_ac_moves_only_the_visited_states_preferences(env: gym.Env) -> None:
    agent = DeterministicAC(env, DeterministicAC.config_cls(alpha_theta=0.5, alpha_w=0.25))
    agent.theta = np.random.default_rng(0).normal(size=(25, 5))
    agent.W = np.random.default_rng(2).normal(size=(25, 5))
    theta = agent.theta.copy()
    agent.update(6, 2, -1.0, 11)
    np.testing.assert_array_equal(np.delete(agent.theta, 6, axis=0), np.delete(theta, 6, axis=0))


def test_the_policy_features_use_the_configured_order(env: gym.Env) -> None:
    agent = Reinforce(env, PolicyGradientConfig(features="polynomial", order=2))
    assert agent.phi.shape == (25, 6) and agent.theta.shape == (6, 5)


def test_reinforce_q_is_q_pi_at_the_configured_gamma(env: gym.Env) -> None:
    agent = Reinforce(env, PolicyGradientConfig(gamma=0.5))
    T, r = agent.model.policy_matrices(np.full((25, 5), 0.2))
    v = np.linalg.solve(np.eye(25) - 0.5 * T, r)
    np.testing.assert_allclose(agent.q, agent.model.q_values(v, 0.5), atol=1e-12)


def _rewards(env: gym.Env, actions: list[int]) -> list[float]:
    base, s, out = env.unwrapped, 0, []
    for a in actions:
        out.append(float(base.reward_table[s, a]))
        s = int(base.next_state_table[s, a])
    return out


def test_episode_returns_are_the_sum_of_the_rewards(env: gym.Env) -> None:
    """From the top-left: uniform behaviour (off-policy) draws integers, the on-policy QAC draws from pi = 0.2."""
    cfg = {"start": "env", "log_every": 1}
    draws = np.random.default_rng(3)
    rewards = _rewards(env, [int(draws.integers(5)) for _ in range(3)])
    assert rewards == [0.0, -1.0, -1.0]
    history = DeterministicAC(env, DeterministicAC.config_cls(**cfg, episode_length=3)).learn(1, seed=3)
    assert history["return"].tolist() == [-2.0]
    draws = np.random.default_rng(0)
    rewards = _rewards(env, [int(draws.choice(5, p=np.full(5, 0.2))) for _ in range(2)])
    assert rewards == [-1.0, 0.0]
    history = QAC(env, ActorCriticConfig(**cfg, episode_length=2)).learn(1, seed=0)
    assert history["return"].tolist() == [-1.0]


def test_qac_critic_does_not_bootstrap_from_a_terminal_state() -> None:
    """FrozenLake S G: seed 0's first uniform draw is right, into the goal (reward 1, terminal)."""
    env = gym.make("FrozenLake-v1", desc=["SG"], is_slippery=False)
    agent = QAC(env, ActorCriticConfig(features="onehot", start="env", alpha_w=0.5, episode_length=3))
    W = np.zeros((2, 4))
    W[1] = 1.0  # q(G, .) = 1: ignored at the terminal step
    agent.W = W.copy()
    assert int(np.random.default_rng(0).choice(4, p=np.full(4, 0.25))) == 2
    assert agent.learn(1, seed=0)["return"].tolist() == [1.0]
    W[0, 2] += 0.5 * 1.0
    np.testing.assert_array_equal(agent.W, W)


@pytest.mark.parametrize("cls", [QAC, Reinforce])
def test_on_policy_episodes_start_at_the_random_draw(cls: type) -> None:
    """S . T, episodic, every reward nonzero: one step changes the parameters only in the start's row."""
    env = gym.make("rlsuite/GridWorld-v0", grid_map=["S.T"], terminate_at_target=True, r_other=-1.0)
    agent = cls(env, cls.config_cls(features="onehot", start="random", episode_length=1))
    start = int(np.random.default_rng(0).choice(agent.starts))
    assert start == 1  # the premise: not the env's start (0)
    agent.learn(1, seed=0)
    changed = agent.W if cls is QAC else agent.theta
    assert np.flatnonzero(np.abs(changed).sum(axis=1)).tolist() == [start]
