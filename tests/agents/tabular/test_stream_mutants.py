"""The single-stream learners replayed by hand from the same draws: Sarsa and Q-learning episodes, Q-learning
along a trajectory with its error rows, trajectories under an unnormalized policy (the survivors of the mutation
run)."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.stream import StreamTDConfig, q_learning_along, sample_trajectory, td_control_episodes

SMALL = {"n_rows": 2, "n_cols": 3, "forbidden": [(1, 2)], "target": (2, 3), "terminate_at_target": True}


def tables(env):
    model = env.tabular_model
    return model, model.next_states[0].T, model.expected_rewards


def td_by_hand(env, cfg: StreamTDConfig, method: str, seed: int):
    """Algorithms 7.1 / 7.2 one step at a time; an epsilon-greedy action draws u, then (u < epsilon) an action."""
    model, nxt, rew = tables(env)
    rng, q, target = np.random.default_rng(seed), np.zeros((model.n_states, model.n_actions)), env.target_state

    def act(s: int) -> int:
        return int(rng.integers(model.n_actions)) if rng.random() < cfg.epsilon else int(np.argmax(q[s]))

    totals, lengths = [], []
    for _ in range(cfg.episodes):
        s, total, t = 0, 0.0, 0
        a = act(s)
        while s != target and t < cfg.max_episode_steps:
            s2, r = int(nxt[s, a]), float(rew[s, a])
            a2 = act(s2)
            value_next = 0.0 if s2 == target else (q[s2, a2] if method == "sarsa" else q[s2].max())
            q[s, a] = q[s, a] + cfg.alpha * (r + cfg.gamma * value_next - q[s, a])
            total, t, s, a = total + r, t + 1, s2, a2
        totals.append(total)
        lengths.append(t)
    return q, totals, lengths


@pytest.mark.parametrize("method", ["sarsa", "q_learning"])
def test_td_control_episodes_replayed(method: str) -> None:
    env = gym.make("rlsuite/GridWorld-v0", **SMALL).unwrapped
    cfg = StreamTDConfig(episodes=12, max_episode_steps=6, alpha=0.5, epsilon=0.3, gamma=0.9)
    res = td_control_episodes(env.tabular_model, 0, env.target_state, cfg, method, np.random.default_rng(3))
    q, totals, lengths = td_by_hand(env, cfg, method, 3)
    np.testing.assert_array_equal(res.q, q)
    assert res.total_rewards.tolist() == totals and res.lengths.tolist() == lengths
    assert 6 in lengths and min(lengths) < 6  # some episodes cut, some reach the target
    assert (q[env.target_state] == 0).all() and q.max() > 0 and q.min() < 0


def test_sarsa_and_q_learning_differ_on_the_same_draws() -> None:
    env = gym.make("rlsuite/GridWorld-v0", **SMALL).unwrapped
    cfg = StreamTDConfig(episodes=12, max_episode_steps=6, alpha=0.5, epsilon=0.3, gamma=0.9)
    runs = [td_control_episodes(env.tabular_model, 0, env.target_state, cfg, m, np.random.default_rng(3)).q
            for m in ("sarsa", "q_learning")]  # fmt: skip
    assert not np.array_equal(*runs)


def test_q_learning_along_by_hand() -> None:
    env = gym.make("rlsuite/GridWorld-v0", **SMALL).unwrapped
    model = env.tabular_model
    v_star = np.linspace(-1.0, 2.0, model.n_states)
    states, actions, rewards = sample_trajectory(model, np.full((6, 5), 0.2), 0, 250, np.random.default_rng(2))
    q0 = np.arange(30).reshape(6, 5) // 5  # integer start values (row s: s): the learned ones are still floats
    q, steps, rmse = q_learning_along(states, actions, rewards, q0, 0.5, 0.9, v_star)  # a row every 100 steps
    expect = q0.astype(float)
    rows = [float(np.sqrt(np.mean((expect.max(axis=1) - v_star) ** 2)))]
    for t in range(250):
        s, a, s2 = states[t], actions[t], states[t + 1]
        expect[s, a] += 0.5 * (rewards[t] + 0.9 * expect[s2].max() - expect[s, a])
        if (t + 1) % 100 == 0:
            rows.append(float(np.sqrt(np.mean((expect.max(axis=1) - v_star) ** 2))))
    np.testing.assert_array_equal(q, expect)
    assert steps.tolist() == [0, 100, 200] and rmse.tolist() == rows and q.dtype == np.float64


def test_sample_trajectory_normalizes_the_policy_rows() -> None:
    env = gym.make("rlsuite/GridWorld-v0", **SMALL).unwrapped
    model = env.tabular_model
    weights = np.tile([1, 1, 2, 0, 0], (6, 1))  # integer weights: up 1/4, right 1/4, down 1/2
    _, actions, _ = sample_trajectory(model, weights, 0, 40, np.random.default_rng(5))
    u = np.random.default_rng(5).random(40)
    np.testing.assert_array_equal(actions, np.where(u < 0.25, 0, np.where(u < 0.5, 1, 2)))
    assert set(actions.tolist()) == {0, 1, 2}


def test_stream_learners_refuse_a_slippery_model_in_one_line() -> None:
    model = gym.make("rlsuite/GridWorld-v0", slip_prob=0.1).unwrapped.tabular_model
    message = "model: the stream learners need a deterministic model (a grid world without slip)"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        sample_trajectory(model, np.full((25, 5), 0.2), 0, 10, np.random.default_rng(0))
