"""``start_distribution``: the law of an env's start state, read from the env (never from one reset)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.envs.model import start_distribution

CORNERS = [0, 15]  # S&B's 4x4 grid: the terminal corners


def _uniform(n: int, left_out: list[int]) -> np.ndarray:
    probs = np.full(n, 1.0 / (n - len(left_out)))
    probs[left_out] = 0.0
    return probs


@pytest.mark.parametrize(
    ("env_id", "expected"),
    [("rlsuite/GridWorld-v0", np.eye(25)[0]),  # one start cell
     ("rlsuite/GridWorldEpisodic-v0", _uniform(25, [17])),  # no start: every cell but the target (17)
     ("rlsuite/RandomWalk-v0", np.eye(7)[3]),  # a table env: the centre
     ("rlsuite/SBGridWorld4x4-v0", _uniform(16, CORNERS)),  # S&B's finite MDPs: random starts
     ("rlsuite/Gambler-v0", _uniform(101, [0, 100])),
     ("rlsuite/SBGridWorld-v0", _uniform(25, [])),
     ("rlsuite/InfiniteVariance-v0", np.eye(2)[0]),
     ("rlsuite/PixelGridWorld-v0", np.eye(25)[0]),  # a pixel grid world: its world's
     ("FrozenLake-v1", np.eye(16)[0]),  # gymnasium's toy text
     ("rlsuite/KArmedBandit-v0", None)],  # one state and no law to read: None
)  # fmt: skip
def test_the_start_law_of_each_kind_of_env(env_id: str, expected: np.ndarray | None) -> None:
    probs = start_distribution(gym.make(env_id))
    if expected is None:
        assert probs is None
    else:
        assert probs.dtype == np.float64
        np.testing.assert_allclose(probs, expected, rtol=1e-12, atol=0)


def test_the_law_is_the_one_resets_draw_from() -> None:
    """Every state a reset can give has mass, and a state with mass comes up about as often as it says."""
    env = gym.make("rlsuite/SBGridWorld4x4-v0")
    probs = start_distribution(env)
    counts = np.bincount([int(env.reset(seed=seed)[0]) for seed in range(2800)], minlength=16)
    assert np.all((counts > 0) == (probs > 0))
    np.testing.assert_allclose(counts / 2800, probs, atol=0.025)  # 200 each expected: sd 0.005


def test_toy_text_integers_become_floats_and_the_env_keeps_its_own() -> None:
    class _IntegerStarts:
        initial_state_distrib = [0, 1, 0]

    class _IntegerStartProbs:
        start_probs = [0, 1]

    class _CountedStatesOnly:  # a number of states but no start state: the law is its toy-text list
        n_states = 3
        initial_state_distrib = [0.0, 0.0, 1.0]

    probs = start_distribution(_IntegerStarts())
    assert probs.dtype == np.float64
    np.testing.assert_array_equal(probs, [0.0, 1.0, 0.0])
    probs = start_distribution(_IntegerStartProbs())
    assert probs.dtype == np.float64
    np.testing.assert_array_equal(probs, [0.0, 1.0])
    np.testing.assert_array_equal(start_distribution(_CountedStatesOnly()), [0.0, 0.0, 1.0])
    for env_id in ("rlsuite/SBGridWorld4x4-v0", "Taxi-v4"):  # a copy: changing it leaves the env's law alone
        env = gym.make(env_id)
        probs = start_distribution(env)
        probs[:] = -1.0
        assert start_distribution(env).min() == 0.0


def test_taxi_starts_uniformly_over_its_valid_states() -> None:
    env = gym.make("Taxi-v4")
    probs = start_distribution(env)
    np.testing.assert_array_equal(probs, env.unwrapped.initial_state_distrib)
    assert np.count_nonzero(probs) == 300


def test_a_pixel_grid_world_with_a_layout_per_episode_starts_by_its_current_layout() -> None:
    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    targets = set()
    for seed in (3, 4):
        env.reset(seed=seed)
        world = env.unwrapped.world
        expected = np.zeros(25)
        expected[world.random_start_states] = 1.0 / len(world.random_start_states)
        assert expected[world.target_state] == 0.0
        np.testing.assert_array_equal(start_distribution(env), expected)
        targets.add(world.target_state)
    assert len(targets) == 2  # two layouts: the law followed the second
