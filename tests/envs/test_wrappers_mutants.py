"""rlsuite.envs.wrappers on real envs: exact spaces, encodings, FrozenLake's grid shape, offset
MultiDiscrete indices, the masks' defaults and the one-line messages."""

from __future__ import annotations

import re
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rlsuite.envs.gridworld import GridWorldEnv
from rlsuite.envs.wrappers import (
    CoordinateObservation,
    DiscreteIndexObservation,
    OneHotObservation,
    PixelObservation,
    ScaledCoordinateObservation,
    ValidActionMask,
    encode_states,
    grid_coords,
    observation_of_state,
    one_hot,
    scaled_coords,
    valid_action_table,
)


class OffsetPair(gym.Env[np.ndarray, np.int64]):
    """A real two-component env whose components start at 1 and 2 (``MultiDiscrete(start=)``)."""

    observation_space = spaces.MultiDiscrete([3, 4], start=[1, 2])
    action_space = spaces.Discrete(1)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.array([2, 4]), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        return np.array([3, 5]), 0.0, True, False, {}


def test_wrapped_spaces_are_exact() -> None:
    env = GridWorldEnv()
    assert OneHotObservation(env).observation_space == spaces.Box(0.0, 1.0, shape=(25,), dtype=np.float32)
    assert CoordinateObservation(env).observation_space == spaces.MultiDiscrete([5, 5])
    assert ScaledCoordinateObservation(env).observation_space == spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)


def test_frozen_lake_grid_shape_and_observations() -> None:
    coords = CoordinateObservation(gym.make("FrozenLake-v1", map_name="8x8"))
    assert (coords.n_rows, coords.n_cols) == (8, 8)
    np.testing.assert_array_equal(observation_of_state(coords, 13), [1, 5])
    np.testing.assert_array_equal(observation_of_state(OneHotObservation(gym.make("FrozenLake-v1")), 5), np.eye(16)[5])


def test_scaled_coords_of_a_two_row_grid() -> None:
    np.testing.assert_array_equal(scaled_coords(np.array([2, 3]), 2, 2), [[1.0, 0.0], [1.0, 1.0]])


def test_encode_states_keeps_indices() -> None:
    states = np.array([0, 7])
    assert encode_states(states, GridWorldEnv(observation="index")) is states
    np.testing.assert_array_equal(encode_states(states, GridWorldEnv(observation="coords")), [[0, 0], [1, 2]])


def test_offset_components_round_trip() -> None:
    wrapped = DiscreteIndexObservation(OffsetPair())
    assert wrapped.observation_space == spaces.Discrete(12)
    assert wrapped.reset(seed=0)[0] == 1 * 4 + 2
    assert wrapped.step(0)[0] == 2 * 4 + 3
    np.testing.assert_array_equal(wrapped.components(np.int64(6)), [2, 4])
    np.testing.assert_array_equal(wrapped.components(np.array([[0, 11]])), [[[1, 2], [3, 5]]])


def test_masks_default_to_boundary_and_forbidden() -> None:
    env = GridWorldEnv()
    both, boundary = valid_action_table(env), valid_action_table(env, forbidden=False)
    np.testing.assert_array_equal(both, env.valid_actions(forbidden=True))
    assert not np.array_equal(both, boundary)
    np.testing.assert_array_equal(ValidActionMask(env).table, both)
    np.testing.assert_array_equal(ValidActionMask(env, "boundary").table, boundary)
    off = ValidActionMask(env, "off").action_masks()
    assert off.dtype == bool and off.tolist() == [True] * 5


def test_messages() -> None:
    with pytest.raises(ValueError, match=re.escape("FrozenLakeEnv defines no valid_actions(): no action mask")):
        valid_action_table(gym.make("FrozenLake-v1"))
    coords = GridWorldEnv(observation="coords")
    for wrapper in (OneHotObservation, CoordinateObservation, ScaledCoordinateObservation):
        with pytest.raises(ValueError, match=f"^{wrapper.__name__} needs a Discrete \\(state index\\) observation"):
            wrapper(coords)
    message = "DiscreteIndexObservation needs a Tuple of Discrete or a 1-D MultiDiscrete space, got Box("
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        DiscreteIndexObservation(gym.make("CartPole-v1"))


def test_the_given_backend_decides_the_kind_of_array() -> None:
    """torch states encoded with the numpy backend come back as numpy arrays (the backend wins)."""
    import torch

    from rlsuite.common.backend import ArrayBackend

    states, numpy_backend = torch.tensor([0, 7]), ArrayBackend("cpu")
    coords = grid_coords(states, 5, numpy_backend)
    assert isinstance(coords, np.ndarray) and coords.tolist() == [[0, 0], [1, 2]]
    hot = one_hot(states, 25, numpy_backend)
    assert isinstance(hot, np.ndarray) and hot.tolist() == np.eye(25)[[0, 7]].tolist()
    for kind, want in (("coords", [[0, 0], [1, 2]]), ("onehot", np.eye(25)[[0, 7]].tolist())):
        encoded = encode_states(states, GridWorldEnv(observation=kind), numpy_backend)
        assert isinstance(encoded, np.ndarray) and encoded.tolist() == want


class HalfNamedGrid(gym.Env[np.int64, np.int64]):
    """A 2 x 3 grid that names its rows (``n_rows``) but not its columns: the shape comes from ``shape``."""

    observation_space = spaces.Discrete(6)
    action_space = spaces.Discrete(1)
    n_rows, nrow, shape = 2, 2, (2, 3)


def test_a_half_named_grid_takes_its_shape_from_shape() -> None:
    for wrapper in (CoordinateObservation, ScaledCoordinateObservation):
        wrapped = wrapper(HalfNamedGrid())
        assert (wrapped.n_rows, wrapped.n_cols) == (2, 3)
    np.testing.assert_array_equal(observation_of_state(CoordinateObservation(HalfNamedGrid()), 5), [1, 2])


def test_pixel_observations_default_to_8_pixels_a_cell() -> None:
    """8 pixels a cell: the 5x5 grid as 40x40, SB3's NatureCNN's least (36x36) and a little more."""
    wrapped = PixelObservation(GridWorldEnv())
    assert wrapped.cell_px == 8
    assert wrapped.observation_space == spaces.Box(0, 255, shape=(40, 40, 3), dtype=np.uint8)
    assert wrapped.reset(seed=0)[0].shape == (40, 40, 3)


class _Frames(gym.Env[int, int]):
    """A one-state env that draws itself (6x7 RGB frames) only when made with render_mode='rgb_array', and has no
    grid: no n_rows/n_cols, nrow/ncol, or a two-number ``shape``."""

    metadata = {"render_modes": ["rgb_array"]}
    observation_space = spaces.Discrete(1)
    action_space = spaces.Discrete(1)

    def __init__(self, render_mode: str | None = None, shape: Any = None) -> None:
        self.render_mode = render_mode
        if shape is not None:
            self.shape = shape

    def render(self) -> np.ndarray:
        return np.full((6, 7, 3), 9, dtype=np.uint8)


def test_pixels_of_an_env_that_is_not_a_grid_world_are_its_own_frames() -> None:
    assert PixelObservation(_Frames("rgb_array")).observation_space == spaces.Box(0, 255, (6, 7, 3), np.uint8)
    with pytest.raises(ValueError, match=r"^PixelObservation: _Frames must be made with render_mode='rgb_array'$"):
        PixelObservation(_Frames())


@pytest.mark.parametrize("cell_px", [3, 4.5, True, "8"])
def test_cells_of_fewer_than_four_pixels_or_not_whole_are_refused(cell_px: Any) -> None:
    with pytest.raises(ValueError, match=re.escape(f"cell_px must be an integer >= 4, got {cell_px!r}")):
        PixelObservation(GridWorldEnv(), cell_px=cell_px)


def test_four_pixels_a_cell_is_the_least() -> None:
    assert PixelObservation(GridWorldEnv(), cell_px=4).observation_space.shape == (20, 20, 3)


@pytest.mark.parametrize("shape", [None, (3, 4, 5), [3, 4]])
def test_an_env_without_a_grid_of_rows_and_columns_is_not_a_grid(shape: Any) -> None:
    with pytest.raises(ValueError, match=r"^_Frames: not a grid env \(no n_rows/n_cols, nrow/ncol or shape\)$"):
        CoordinateObservation(_Frames(shape=shape))
