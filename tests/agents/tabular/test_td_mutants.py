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


def test_a_budget_below_one_batch_runs_one_and_alpha_ends_at_its_final_value() -> None:
    from rlsuite.agents.tabular.td import QLearningConfig

    config = QLearningConfig(num_envs=8, alpha=0.5, alpha_final=0.1)
    short = QLearning(gym.make("rlsuite/GridWorld-v0"), config)
    assert short.learn(4).last()["steps"] == 8 and short.alpha == 0.5  # one batch: alpha as it starts
    two = QLearning(gym.make("rlsuite/GridWorld-v0"), config)
    assert two.learn(16).last()["steps"] == 16 and two.alpha == pytest.approx(0.1)  # the last batch: alpha_final


def test_exploring_starts_refuse_an_env_without_an_id_naming_its_class() -> None:
    from gymnasium.envs.toy_text.blackjack import BlackjackEnv

    from rlsuite.agents.tabular.mc import MCExploringStarts
    from rlsuite.common.errors import UsageError

    with pytest.raises(UsageError, match=r"^mc_exploring_starts: BlackjackEnv cannot be reset to a chosen "):
        MCExploringStarts(BlackjackEnv())
