"""Bad arguments of Sutton & Barto's chapter 3-5 envs: one-line errors naming the argument."""

from __future__ import annotations

import gymnasium as gym
import pytest

import rlsuite.envs  # noqa: F401


@pytest.mark.parametrize(
    ("env_id", "kwargs", "message"),
    [
        ("rlsuite/SBGridWorld-v0", {"size": 4}, "size must be an integer >= 5, got 4"),
        ("rlsuite/SBGridWorld-v0", {"a_reward": "ten"}, "a_reward must be a number"),
        ("rlsuite/SBGridWorld4x4-v0", {"size": 1}, "size must be an integer >= 2, got 1"),
        ("rlsuite/SBGridWorld4x4-v0", {"size": 2.5}, "size must be an integer >= 2, got 2.5"),
        ("rlsuite/Gambler-v0", {"p_h": 1.5}, "p_h must be a probability in [0, 1], got 1.5"),
        ("rlsuite/Gambler-v0", {"p_h": -0.1}, "p_h must be a probability in [0, 1], got -0.1"),
        ("rlsuite/Gambler-v0", {"goal": 1}, "goal must be an integer >= 2, got 1"),
        ("rlsuite/Gambler-v0", {"start_capital": 100}, "start_capital must lie in [1, 99], got 100"),
        ("rlsuite/Gambler-v0", {"start_capital": 0}, "start_capital must lie in [1, 99], got 0"),
        ("rlsuite/InfiniteVariance-v0", {"p_back": 2}, "p_back must be a probability in [0, 1], got 2"),
        ("rlsuite/CarRental-v0", {"max_cars": 0}, "max_cars must be an integer >= 1, got 0"),
        ("rlsuite/CarRental-v0", {"max_move": 30}, "max_move must be at most max_cars (20), got 30"),
        ("rlsuite/CarRental-v0", {"rent_means": (3,)}, "rent_means must be a pair"),
        ("rlsuite/CarRental-v0", {"return_means": (3, -1)}, "return_means[1] must be >= 0, got -1"),
        ("rlsuite/CarRental-v0", {"poisson_tail": "cut"}, "poisson_tail must be 'lump' or 'drop', got 'cut'"),
        ("rlsuite/CarRental-v0", {"constant_returns": 1}, "constant_returns must be True or False"),
    ],
)
def test_bad_arguments_raise_one_line_naming_the_argument(env_id: str, kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        gym.make(env_id, **kwargs)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_start_option_and_action() -> None:
    env = gym.make("rlsuite/Gambler-v0")
    with pytest.raises(ValueError, match=r"options\['start'\] state 101 is outside \[0, 101\)"):
        env.reset(options={"start": 101})
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be in \[0, 51\), got 51"):
        env.step(51)
