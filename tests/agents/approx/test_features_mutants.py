"""State features (rlsuite/agents/approx/features.py) where mutation testing found them unchecked: a grid
two cells wide, and the refusals naming the agent that asked."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.approx import DeepQLearning, TDLinear
from rlsuite.agents.approx.dqn import DQNConfig
from rlsuite.agents.approx.features import state_features
from rlsuite.agents.approx.policy_gradient import PolicyGradientConfig, Reinforce
from rlsuite.common.errors import UsageError


def test_polynomial_features_of_a_two_row_grid_span_minus_one_to_one() -> None:
    env = gym.make("rlsuite/GridWorld-v0", grid_map=["S.", ".T"])  # 2 x 2: coordinates -1 and 1
    np.testing.assert_array_equal(
        state_features(env, "polynomial", 1, "test"), [[1, -1, -1], [1, 1, -1], [1, -1, 1], [1, 1, 1]]
    )
    fourier = state_features(env, "fourier", 1, "test")  # [1, cos(pi y), cos(pi x), cos(pi (x + y))], x, y in {0, 1}
    np.testing.assert_allclose(fourier[:, 1:], [[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], atol=1e-15)


def test_a_single_row_grid_has_the_one_row_at_minus_one() -> None:
    env = gym.make("rlsuite/GridWorld-v0", grid_map=["S.T"])
    np.testing.assert_array_equal(state_features(env, "polynomial", 1, "test"), [[1, -1, -1], [1, 0, -1], [1, 1, -1]])


def test_features_of_an_env_without_index_states_are_refused_naming_the_caller() -> None:
    env = gym.make("rlsuite/GridWorld-v0", observation="onehot")
    with pytest.raises(UsageError, match=r"^caller cannot learn on rlsuite/GridWorld-v0: .*\(got Box observations"):
        state_features(env, "onehot", 0, "caller")


@pytest.mark.parametrize(
    ("make", "name"),
    [(lambda env: TDLinear(env), "TDLinear"),
     (lambda env: Reinforce(env, PolicyGradientConfig(features="fourier")), "Reinforce"),
     (lambda env: DeepQLearning(env, DQNConfig(inputs="coords")), "DeepQLearning")],
)  # fmt: skip
def test_grid_features_on_an_env_without_cells_name_the_agent(make, name: str) -> None:
    with pytest.raises(UsageError) as info:
        make(gym.make("FrozenLake-v1"))
    assert str(info.value).startswith(f"{name} cannot build polynomial/Fourier features on FrozenLake-v1:")
