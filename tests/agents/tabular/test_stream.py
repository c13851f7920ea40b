"""The single-stream learners of Zhao's examples (rlsuite/agents/tabular/stream.py), against exact answers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.base import greedy_optimal_fraction
from rlsuite.agents.tabular.agent import exact_optimum
from rlsuite.agents.tabular.stream import (
    StreamTDConfig,
    every_visit_q,
    q_learning_along,
    sample_trajectory,
    td_control_episodes,
)
from rlsuite.common.errors import ConfigError


def grid_model(**kwargs):
    return gym.make("rlsuite/GridWorld-v0", **kwargs).unwrapped.tabular_model


def test_sample_trajectory_follows_the_model_and_the_policy() -> None:
    model = grid_model()
    states, actions, rewards = sample_trajectory(model, np.full((25, 5), 0.2), 0, 20_000, np.random.default_rng(0))
    assert states[0] == 0 and len(states) == 20_001 and len(actions) == len(rewards) == 20_000
    assert (states[1:] == model.next_states[0][actions, states[:-1]]).all()
    assert (rewards == model.expected_rewards[states[:-1], actions]).all()
    assert np.allclose(np.bincount(actions, minlength=5) / 20_000, 0.2, atol=0.015)
    right = np.eye(5)[np.full(25, 1)]  # deterministic: always right
    states, actions, _ = sample_trajectory(model, right, 0, 6, np.random.default_rng(0))
    assert states.tolist() == [0, 1, 2, 3, 4, 4, 4] and set(actions) == {1}


def test_every_visit_q_averages_the_discounted_returns_of_every_visit() -> None:
    states, actions, rewards = np.array([0, 1, 0, 1]), np.array([1, 0, 1]), np.array([1.0, 0.0, 2.0])
    q, visits = every_visit_q(states, actions, rewards, 0.5, 2, 2)
    # returns: g2 = 2, g1 = 0 + 0.5 * 2 = 1, g0 = 1 + 0.5 * 1 = 1.5; (0, 1) visited at t = 0 and t = 2
    assert q.tolist() == [[0.0, (1.5 + 2.0) / 2], [1.0, 0.0]] and visits.tolist() == [[0, 2], [1, 0]]


def test_q_learning_along_a_uniform_episode_reaches_the_optimum() -> None:
    model = grid_model()
    v_star, q_star = exact_optimum(model, 0.9)
    states, actions, rewards = sample_trajectory(model, np.full((25, 5), 0.2), 0, 100_000, np.random.default_rng(1))
    q, steps, rmse = q_learning_along(states, actions, rewards, np.zeros((25, 5)), 0.1, 0.9, v_star, log_every=1000)
    assert steps.tolist() == list(range(0, 100_001, 1000))
    assert rmse[0] == pytest.approx(np.sqrt(np.mean(v_star**2)))
    assert np.abs(q - q_star).max() < 0.05 and greedy_optimal_fraction(q, q_star) == 1.0


def test_sarsa_and_q_learning_episodes_end_at_the_target() -> None:
    env = gym.make("rlsuite/GridWorld-v0", r_target=0.0, r_forbidden=-10.0, r_boundary=-10.0, r_other=-1.0,
                   terminate_at_target=True).unwrapped  # fmt: skip
    cfg = StreamTDConfig(episodes=200)
    for method in ("sarsa", "q_learning"):
        res = td_control_episodes(env.tabular_model, 0, env.target_state, cfg, method, np.random.default_rng(0))
        assert len(res.lengths) == 200 and (res.lengths >= 5).all()  # 5 moves at least from (1, 1) to (4, 3)
        assert (res.total_rewards <= 1 - res.lengths).all()  # -1 per step at best (0 into the target)
        assert (res.q[env.target_state] == 0.0).all()  # the terminal state is never updated


def test_bad_stream_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"StreamTDConfig\.alpha"):
        StreamTDConfig(alpha=0.0)
    with pytest.raises(ConfigError, match=r"StreamTDConfig\.episodes"):
        StreamTDConfig(episodes=0)
    with pytest.raises(ValueError, match="deterministic model"):
        sample_trajectory(grid_model(slip_prob=0.1), np.full((25, 5), 0.2), 0, 10, np.random.default_rng(0))
