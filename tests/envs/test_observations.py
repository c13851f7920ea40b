"""Observation encodings: one meaning per name, one implementation, used alike by the grid world's
``observation=`` argument, the wrappers and the batched grid world; nothing of size S x S unless one-hot
observations are asked for (issues 19 and 22)."""

from __future__ import annotations

import tracemalloc

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.envs.batched import GridWorldVectorEnv
from rlsuite.envs.wrappers import (
    CoordinateObservation,
    OneHotObservation,
    ScaledCoordinateObservation,
    grid_coords,
    observation_table,
    one_hot,
    scaled_coords,
)

WRAPPERS = {"onehot": OneHotObservation, "coords": CoordinateObservation}


def test_each_encoding_on_the_book_grid() -> None:
    states = np.array([0, 7, 24])
    np.testing.assert_array_equal(one_hot(states, 25), np.eye(25, dtype=np.float32)[states])
    assert one_hot(np.int64(3), 5).tolist() == [0.0, 0.0, 0.0, 1.0, 0.0] and one_hot(states, 25).dtype == np.float32
    assert grid_coords(states, 5).tolist() == [[0, 0], [1, 2], [4, 4]] and grid_coords(states, 5).dtype == np.int64
    assert scaled_coords(states, 5, 5).tolist() == [[0.0, 0.0], [0.25, 0.5], [1.0, 1.0]]
    assert scaled_coords(np.array([1]), 1, 2).tolist() == [[0.0, 1.0]]  # a one-row grid: rows scale to 0


@pytest.mark.parametrize("observation", ["coords", "onehot"])
def test_env_argument_wrapper_and_batched_env_give_the_same_observations(observation: str) -> None:
    direct = observation_table(gym.make("rlsuite/GridWorld-v0", observation=observation), 25)
    wrapped = observation_table(WRAPPERS[observation](gym.make("rlsuite/GridWorld-v0")), 25)
    np.testing.assert_array_equal(direct, wrapped)
    assert direct.dtype == wrapped.dtype
    envs = GridWorldVectorEnv(num_envs=25, observation=observation)
    obs, _ = envs.reset(seed=0, options={"start": np.arange(25)})
    np.testing.assert_array_equal(obs, direct)
    assert envs.single_observation_space == gym.make("rlsuite/GridWorld-v0", observation=observation).observation_space


def test_scaled_coordinates_have_their_own_name() -> None:
    env = ScaledCoordinateObservation(gym.make("rlsuite/GridWorld-v0"))
    table = observation_table(env, 25)
    assert table.dtype == np.float32 and table[7].tolist() == [0.25, 0.5] and env.observation_space.shape == (2,)


@pytest.mark.parametrize("observation", ["index", "coords"])
def test_a_100x100_batched_grid_allocates_nothing_of_size_s_squared(observation: str) -> None:
    """An S x S float32 identity at 100 x 100 is 381 MiB; the env's own tables are S x A."""
    tracemalloc.start()
    try:
        envs = GridWorldVectorEnv(num_envs=64, n_rows=100, n_cols=100, forbidden=[], target=(50, 50),
                                  observation=observation)
        envs.reset(seed=0)
        envs.step(np.zeros(64, dtype=np.int64))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, peak  # the single env's model: a few S x A tables (10,000 x 5)
