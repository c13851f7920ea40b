"""Double Q-learning's agent against the runs it is made of, and the expected value of an epsilon-greedy policy
by hand (the survivors of the mutation run)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from recording import RecordingReporter

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.episodic import (
    DoubleQLearning,
    DoubleQLearningConfig,
    _expected_value,
    allowed_actions,
    episodic_control,
)
from rlsuite.agents.tabular.sim import BatchSim
from rlsuite.common.backend import ArrayBackend


def test_double_q_agent_is_its_runs(reporter: RecordingReporter) -> None:
    env = gym.make("rlsuite/MaximizationBias-v0", n_b_actions=1)  # B offers action 0 of its 2
    agent = DoubleQLearning(env, DoubleQLearningConfig(runs=4))
    history = agent.learn(40)  # seed 0 by default
    assert reporter.started == [("double_q_learning", 40, "episode")]
    cfg = agent.config
    runs = episodic_control(BatchSim.of(env), "double_q", 4, 40, cfg.alpha, cfg.epsilon, 1.0,
                            np.random.default_rng(0), allowed_actions(env), cfg.max_episode_steps)  # fmt: skip
    np.testing.assert_array_equal(agent.q_values, runs.q.mean(axis=0))
    assert history["episodes"].tolist() == list(range(1, 41))
    assert history["mean_return"].tolist() == runs.returns.mean(axis=1).tolist()
    assert history["mean_length"].tolist() == runs.lengths.mean(axis=1).tolist()
    assert history["first_action_1"].tolist() == (runs.first_actions == 1).mean(axis=1).tolist()
    assert history["first_action_1"].max() > 0 and len(set(history["mean_length"].tolist())) > 1
    # the greedy policy keeps to the allowed actions
    ok = allowed_actions(env)
    greedy = np.where(ok, agent.q_values, -np.inf).argmax(axis=1)
    np.testing.assert_array_equal(agent.policy, np.eye(2)[greedy])
    assert agent.q_values[1].argmax() != greedy[1]  # B's never-updated action 1 (q 0) tops its allowed one


def test_double_q_agent_cuts_episodes_at_max_episode_steps() -> None:
    agent = DoubleQLearning(gym.make("rlsuite/MaximizationBias-v0"), DoubleQLearningConfig(runs=3, max_episode_steps=1))
    history = agent.learn(10, seed=1)
    assert history["mean_length"].tolist() == [1.0] * 10


def test_expected_value_by_hand() -> None:
    backend = ArrayBackend("cpu")
    q = np.array([[1.0, 3.0, 3.0, 5.0], [2.0, -1.0, 0.0, 4.0]])
    # all actions: epsilon spread over 4, the rest on the maximum
    np.testing.assert_allclose(_expected_value(q, 0.2, None, backend), [0.05 * 12 + 0.8 * 5, 0.05 * 5 + 0.8 * 4])
    # only the first three (row 0: ties at 3 share the greedy mass) and the last two (row 1) allowed
    allowed = np.array([[True, True, True, False], [False, False, True, True]])
    np.testing.assert_allclose(_expected_value(q, 0.2, allowed, backend),
                               [0.2 / 3 * 7 + 0.4 * 3 + 0.4 * 3, 0.1 * 4 + 0.8 * 4])  # fmt: skip


def test_double_q_agent_is_greedy_in_its_values_on_an_env_without_action_limits() -> None:
    agent = DoubleQLearning(gym.make("rlsuite/RandomWalk-v0"), DoubleQLearningConfig(runs=3, alpha=0.5))
    agent.learn(30, seed=0)
    greedy = agent.q_values.argmax(axis=1)
    np.testing.assert_array_equal(agent.policy, np.eye(2)[greedy])
    assert set(greedy[1:6].tolist()) == {0, 1}  # both directions greedy somewhere among the inner states


@pytest.mark.parametrize("method", ["sarsa", "expected_sarsa", "q_learning", "double_q"])
def test_array_code_is_the_compiled_loop_with_limited_actions(method: str) -> None:
    """B offers 1 of its 2 actions: the bootstraps must keep to the allowed ones (B's other action keeps q 0,
    above the learned negative values), in the array code as in the compiled loop, bit for bit."""
    env = gym.make("rlsuite/MaximizationBias-v0", n_b_actions=1)
    sim, allowed = BatchSim.of(env), allowed_actions(env)
    np.testing.assert_array_equal(allowed, env.unwrapped.allowed_actions)
    runs = [episodic_control(sim, method, 3, 30, 0.2, 0.1, 1.0, np.random.default_rng(2), allowed,
                             compiled=compiled) for compiled in (True, False)]  # fmt: skip
    for name in ("returns", "lengths", "first_actions", "q"):
        np.testing.assert_array_equal(getattr(runs[1], name), getattr(runs[0], name))
    assert runs[1].lengths.dtype == np.int64 and runs[1].first_actions.dtype == np.int64
    assert runs[1].q[:, 1, 0].min() < 0  # B's allowed action learned a negative value


def test_allowed_actions_of_an_object_without_an_unwrapped_env() -> None:
    assert allowed_actions(BatchSim.of(gym.make("rlsuite/MaximizationBias-v0"))) is None
