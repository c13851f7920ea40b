"""The TD agents' one-step updates and the tabular agents' predict, to the letter (mutation testing): a transition
that is not alive (its copy's episode already ended) changes nothing; predict samples unless asked to be greedy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.td import TD0, ExpectedSarsa, QLearning, Sarsa


@pytest.mark.parametrize("cls", [Sarsa, ExpectedSarsa, QLearning])
def test_an_update_changes_only_the_live_transitions(cls: type) -> None:
    agent = cls(gym.make("rlsuite/GridWorld-v0"))
    before = np.array(agent.q, copy=True)
    s, a = np.array([0, 1]), np.array([2, 2])
    agent.update(s, a, np.array([1.0, 1.0]), np.array([5, 6]), np.array([0, 0]), np.array([True, False]),
                 np.array([False, False]))  # fmt: skip
    changed = np.argwhere(agent.q != before).tolist()
    assert changed == [[0, 2]] and agent.q[0, 2] == pytest.approx(agent.alpha * 1.0)


def test_predict_samples_the_policy_unless_greedy() -> None:
    agent = TD0(gym.make("rlsuite/GridWorld-v0"))  # the uniform policy: every action equally likely
    obs = np.zeros((10, 20), dtype=np.int64)
    sampled, state = agent.predict(obs, deterministic=False)
    assert state is None and sampled.shape == (10, 20) and len(set(sampled.ravel().tolist())) == agent.n_actions
    greedy, _ = agent.predict(obs, deterministic=True)
    assert greedy.shape == (10, 20) and set(greedy.ravel().tolist()) == {int(agent.pi[0].argmax())}
