"""Bad input to the chapter 8-10 agents: every config field checked at construction, unusable envs refused."""

from __future__ import annotations

import gymnasium as gym
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.approx import DeepQLearning, LinearSarsa, Reinforce, TDLinear
from rlsuite.agents.approx.dqn import DQNConfig
from rlsuite.agents.approx.linear import LinearControlConfig, LinearQLearningConfig, TDLinearConfig
from rlsuite.agents.approx.policy_gradient import ActorCriticConfig, PolicyGradientConfig
from rlsuite.common.errors import ConfigError, UsageError


@pytest.mark.parametrize(
    ("cls", "field", "value", "message"),
    [
        (TDLinearConfig, "order", -1, "TDLinearConfig.order: -1 is out of range"),
        (TDLinearConfig, "alpha", 0.0, "TDLinearConfig.alpha: 0.0 is out of range"),
        (TDLinearConfig, "features", "wavelet", "TDLinearConfig.features"),
        (TDLinearConfig, "policy", "greedy", "TDLinearConfig.policy"),
        (TDLinearConfig, "episode_length", 0, "TDLinearConfig.episode_length"),
        (TDLinearConfig, "init_std", -1.0, "TDLinearConfig.init_std"),
        (TDLinearConfig, "gamma", 1.0, "TDLinearConfig.gamma: 1.0 is out of range"),
        (LinearControlConfig, "epsilon", 1.5, "LinearControlConfig.epsilon"),
        (LinearControlConfig, "order", -2, "LinearControlConfig.order"),
        (LinearQLearningConfig, "behavior", "greedy", "LinearQLearningConfig.behavior"),
        (DQNConfig, "batch_size", 0, "DQNConfig.batch_size"),
        (DQNConfig, "hidden", 0, "DQNConfig.hidden"),
        (DQNConfig, "target_update", 0, "DQNConfig.target_update"),
        (DQNConfig, "lr", 0.0, "DQNConfig.lr"),
        (DQNConfig, "inputs", "pixels", "DQNConfig.inputs"),
        (DQNConfig, "replay_size", 50, "DQNConfig.replay_size: 50 must be at least batch_size (100)"),
        (PolicyGradientConfig, "alpha_theta", -0.1, "PolicyGradientConfig.alpha_theta"),
        (ActorCriticConfig, "alpha_w", 0.0, "ActorCriticConfig.alpha_w"),
        (ActorCriticConfig, "log_every", 0, "ActorCriticConfig.log_every"),
    ],
)
def test_bad_config_values_are_one_line_errors_naming_the_field(cls: type, field: str, value, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        cls(**{field: value})
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("cls", [TDLinear, LinearSarsa, DeepQLearning, Reinforce])
def test_a_continuous_observation_is_refused_naming_the_env(cls: type) -> None:
    with pytest.raises(UsageError) as info:
        cls(gym.make("rlsuite/GridWorld-v0", observation="onehot"))
    text = str(info.value)
    assert "rlsuite/GridWorld-v0" in text and "Discrete" in text and "Box" in text and "\n" not in text


def test_grid_features_on_an_env_without_cells_are_refused_naming_the_env() -> None:
    env = gym.make("FrozenLake-v1")
    with pytest.raises(UsageError, match=r"FrozenLake-v1: they need a grid env .* use features='onehot'"):
        TDLinear(env)
    with pytest.raises(UsageError, match="FrozenLake-v1"):
        DeepQLearning(env, DQNConfig(inputs="coords"))


def test_a_budget_that_is_not_a_positive_integer_is_refused() -> None:
    agent = TDLinear(gym.make("rlsuite/GridWorld-v0"))
    with pytest.raises(ConfigError, match="budget must be a positive integer"):
        agent.learn(0)
