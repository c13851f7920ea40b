"""Observation wrappers for deep RL on tabular envs, and the one implementation of each encoding.

One name, one meaning, one implementation (used by the wrappers, by the grid world's own
``observation=`` argument and by the batched grid world):

- ``index``: the state ``s = row * n_cols + col`` (an int64), what the envs emit by default.
- ``onehot``: :func:`one_hot`, a float32 vector of length ``n_states`` with a 1 at ``s``
  (:class:`OneHotObservation`). Only these allocate anything of size ``n_states`` per observation.
- ``coords``: :func:`grid_coords`, the 0-indexed integer (row, col) (:class:`CoordinateObservation`).
- scaled coordinates: :func:`scaled_coords`, (row, col) scaled to [0, 1] as float32, for MLPs
  (:class:`ScaledCoordinateObservation`).
- pixels: the rendered grid, uint8 [H, W, 3] (:class:`PixelObservation`).

Chosen by config, not by hand edits: RL Zoo's ``env_wrapper`` key names them, e.g.::

    rlsuite/GridWorld-v0:
      policy: CnnPolicy
      env_wrapper:
        - rlsuite.envs.wrappers.PixelObservation: {cell_px: 8}

They work on rlsuite's grid worlds and on gymnasium's toy-text envs (FrozenLake, CliffWalking).
``observation_of_state`` / ``observation_table`` give the wrapped observation of any state, which
the optimality gap (greedy action in every state) and the batched SB3 adapter (one lookup per
step) both use.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.common.backend import ArrayBackend

ENCODINGS = ("index", "coords", "onehot")  # what GridWorldEnv(observation=...) takes


def one_hot(states: Any, n: int, backend: ArrayBackend | None = None) -> Any:
    """float32 one-hot rows [..., n] of the state indices ``states`` (a scalar gives [n])."""
    backend = ArrayBackend.of(states) if backend is None else backend
    shape = tuple(states.shape)
    out = backend.zeros((*shape, n), dtype="float32")
    flat = out.reshape(-1, n)
    flat[backend.arange(flat.shape[0]), states.reshape(-1)] = 1.0
    return out


def grid_coords(states: Any, n_cols: int, backend: ArrayBackend | None = None) -> Any:
    """The 0-indexed integer (row, col) of the state indices ``states``: int64 [..., 2]."""
    backend = ArrayBackend.of(states) if backend is None else backend
    out = backend.zeros((*tuple(states.shape), 2), dtype="int64")
    out[..., 0] = states // n_cols
    out[..., 1] = states % n_cols
    return out


def scaled_coords(states: Any, n_rows: int, n_cols: int) -> np.ndarray:
    """(row, col) of ``states`` scaled to [0, 1]: float32 [..., 2] (a 1-row or 1-column grid gives 0)."""
    cells = grid_coords(np.asarray(states, dtype=np.int64), n_cols).astype(np.float32)
    return cells / np.array([max(n_rows - 1, 1), max(n_cols - 1, 1)], dtype=np.float32)


def encode_states(states: Any, env: Any, backend: ArrayBackend | None = None) -> Any:
    """``states`` as the grid world ``env`` encodes its observations (``env.observation``)."""
    if env.observation == "index":
        return states
    if env.observation == "coords":
        return grid_coords(states, env.n_cols, backend)
    return one_hot(states, env.n_states, backend)


def _grid_shape(env: gym.Env[Any, Any]) -> tuple[int, int]:
    base = env.unwrapped
    for rows, cols in (("n_rows", "n_cols"), ("nrow", "ncol")):  # rlsuite, FrozenLake
        if hasattr(base, rows) and hasattr(base, cols):
            return int(getattr(base, rows)), int(getattr(base, cols))
    shape = getattr(base, "shape", None)  # CliffWalking
    if isinstance(shape, tuple) and len(shape) == 2:
        return int(shape[0]), int(shape[1])
    raise ValueError(f"{type(base).__name__}: not a grid env (no n_rows/n_cols, nrow/ncol or shape)")


def _require_discrete(env: gym.Env[Any, Any], wrapper: str) -> int:
    if not isinstance(env.observation_space, spaces.Discrete):
        raise ValueError(
            f"{wrapper} needs a Discrete (state index) observation, got {env.observation_space}; "
            "leave the env's `observation` at 'index'"
        )
    return int(env.observation_space.n)


class OneHotObservation(gym.ObservationWrapper[np.ndarray, Any, Any]):
    """A state index ``s`` as a float32 one-hot vector of length ``n`` (:func:`one_hot`)."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self.n = _require_discrete(env, "OneHotObservation")
        self.observation_space = spaces.Box(0.0, 1.0, shape=(self.n,), dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        return one_hot(np.asarray(observation, dtype=np.int64), self.n)


class CoordinateObservation(gym.ObservationWrapper[np.ndarray, Any, Any]):
    """A grid state index as its 0-indexed integer (row, col) (:func:`grid_coords`), as the grid world's
    ``observation="coords"`` gives."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        _require_discrete(env, "CoordinateObservation")
        self.n_rows, self.n_cols = _grid_shape(env)
        self.observation_space = spaces.MultiDiscrete([self.n_rows, self.n_cols])

    def observation(self, observation: Any) -> np.ndarray:
        return grid_coords(np.asarray(observation, dtype=np.int64), self.n_cols)


class ScaledCoordinateObservation(gym.ObservationWrapper[np.ndarray, Any, Any]):
    """A grid state index as its (row, col) scaled to [0, 1] (float32, :func:`scaled_coords`): MLPs
    generalise across cells."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        _require_discrete(env, "ScaledCoordinateObservation")
        self.n_rows, self.n_cols = _grid_shape(env)
        self.observation_space = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)

    def observation(self, observation: Any) -> np.ndarray:
        return scaled_coords(observation, self.n_rows, self.n_cols)


class PixelObservation(gym.ObservationWrapper[np.ndarray, Any, Any]):
    """The rendered grid as a uint8 image [H, W, 3] (SB3's ``CnnPolicy`` transposes it to channels first).

    rlsuite's grid worlds are drawn with ``render_rgb(cell_px=cell_px)``, whatever their
    ``render_mode``; other envs must be made with ``render_mode="rgb_array"`` and are drawn
    with ``env.render()``. SB3's default NatureCNN needs at least 36x36 pixels: on the 5x5
    grid, ``cell_px >= 8``.

    Args:
        env: the env to wrap.
        cell_px: pixels per grid cell (rlsuite grid worlds only).
    """

    def __init__(self, env: gym.Env[Any, Any], cell_px: int = 8) -> None:
        super().__init__(env)
        if isinstance(cell_px, bool) or not isinstance(cell_px, int) or cell_px < 4:
            raise ValueError(f"PixelObservation: cell_px must be an integer >= 4, got {cell_px!r}")
        self.cell_px = cell_px
        self._draw_grid = hasattr(env.unwrapped, "render_rgb")
        if not self._draw_grid and env.render_mode != "rgb_array":
            raise ValueError(
                f"PixelObservation: {type(env.unwrapped).__name__} must be made with render_mode='rgb_array'"
            )
        shape = self._render().shape
        self.observation_space = spaces.Box(0, 255, shape=shape, dtype=np.uint8)

    def _render(self) -> np.ndarray:
        if self._draw_grid:
            return self.env.unwrapped.render_rgb(cell_px=self.cell_px)  # type: ignore[attr-defined]
        return np.asarray(self.env.render(), dtype=np.uint8)

    def observation(self, observation: Any) -> np.ndarray:
        return self._render()


def observation_of_state(env: gym.Env[Any, Any], state: int) -> Any:
    """The observation ``env`` (with its observation wrappers) would give in tabular state ``state``.

    Puts the base env in ``state`` (its ``s`` attribute, as rlsuite's grid worlds and gymnasium's
    toy-text envs keep it) and passes its observation through every ``ObservationWrapper``, inner
    first. The env's state is changed: call ``reset`` before stepping it again.
    """
    chain = []
    layer: Any = env
    while isinstance(layer, gym.Wrapper):
        chain.append(layer)
        layer = layer.env
    base = layer
    if not (hasattr(base, "_obs") or isinstance(base.observation_space, spaces.Discrete)):
        raise ValueError(f"{type(base).__name__}: not a tabular env (no state index observation)")
    base.s = int(state)
    obs = base._obs() if hasattr(base, "_obs") else np.int64(state)  # rlsuite grid world / toy text
    for wrapper in reversed(chain):
        if isinstance(wrapper, gym.ObservationWrapper):
            obs = wrapper.observation(obs)
    return obs


def observation_table(env: gym.Env[Any, Any], n_states: int) -> np.ndarray:
    """``observation_of_state`` for states ``0..n_states-1``, stacked: [n_states, *obs_shape]."""
    return np.stack([np.asarray(observation_of_state(env, s)) for s in range(n_states)])


class DiscreteIndexObservation(gym.ObservationWrapper[np.int64, Any, Any]):
    """A ``Tuple`` of ``Discrete`` spaces or a ``MultiDiscrete`` observation as one ``Discrete`` index.

    Row-major over the components (each counted from its ``start``): gymnasium's Blackjack-v1
    ``(player_sum, dealer_card, usable_ace)`` in ``Tuple(Discrete(32), Discrete(11), Discrete(2))``
    becomes ``player_sum * 22 + dealer_card * 2 + usable_ace`` in ``Discrete(704)``, so the tabular
    agents run on it unchanged. :meth:`components` maps an index back.
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self.nvec, self.starts = index_shape(env.observation_space)
        self.observation_space = spaces.Discrete(int(np.prod(self.nvec)))

    def observation(self, observation: Any) -> np.int64:
        parts = np.asarray(observation, dtype=np.int64).reshape(-1) - self.starts
        return np.int64(np.ravel_multi_index(tuple(parts), tuple(self.nvec)))

    def components(self, index: Any) -> np.ndarray:
        """The observation components [..., n] of flat indices."""
        return np.stack(np.unravel_index(np.asarray(index), tuple(self.nvec)), axis=-1) + self.starts


def index_shape(space: spaces.Space[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(sizes, starts)`` of a ``Tuple`` of ``Discrete`` or a ``MultiDiscrete`` (flat) space.

    Raises:
        ValueError: any other space (named).
    """
    if isinstance(space, spaces.MultiDiscrete) and space.nvec.ndim == 1:
        return space.nvec.astype(np.int64), space.start.astype(np.int64)
    if isinstance(space, spaces.Tuple) and space.spaces and all(isinstance(s, spaces.Discrete) for s in space.spaces):
        return (np.array([int(s.n) for s in space.spaces], dtype=np.int64),  # type: ignore[attr-defined]
                np.array([int(s.start) for s in space.spaces], dtype=np.int64))  # type: ignore[attr-defined]  # fmt: skip
    raise ValueError(f"DiscreteIndexObservation needs a Tuple of Discrete or a 1-D MultiDiscrete space, got {space}")


def indexable(space: spaces.Space[Any]) -> bool:
    """Whether :class:`DiscreteIndexObservation` can flatten ``space``."""
    try:
        index_shape(space)
    except ValueError:
        return False
    return True


class NoActionMask(ValueError):
    """An action mask asked of an env that defines no ``valid_actions()``."""


class ValidActionMask(gym.Wrapper[Any, Any, Any, Any]):
    """Adds ``action_masks()`` (sb3-contrib MaskablePPO's interface): the valid actions of the current state.

    The mask comes from the env's exact model, ``env.unwrapped.valid_actions()``: ``mask``
    ``boundary_forbidden`` masks the grid world's moves that would leave the grid or enter a
    forbidden cell, ``boundary`` only those that would leave the grid, ``off`` none (MaskablePPO then
    trains as plain PPO).
    """

    MASKS = ("off", "boundary", "boundary_forbidden")

    def __init__(self, env: gym.Env[Any, Any], mask: str = "boundary_forbidden") -> None:
        super().__init__(env)
        if mask not in self.MASKS:
            raise ValueError(f"mask must be one of {', '.join(self.MASKS)}, got {mask!r}")
        self.table = None if mask == "off" else valid_action_table(env, forbidden=mask == "boundary_forbidden")
        self.n_actions = int(env.action_space.n)  # type: ignore[attr-defined]

    def action_masks(self) -> np.ndarray:
        if self.table is None:
            return np.ones(self.n_actions, dtype=bool)
        return self.table[int(self.env.unwrapped.s)]  # type: ignore[attr-defined]


def valid_action_table(env: gym.Env[Any, Any], forbidden: bool = True) -> np.ndarray:
    """``[S, A]`` bools: the actions valid in each state, from the env's model (``ValueError`` for
    envs that define none: :class:`NoActionMask`)."""
    base = env.unwrapped
    if not callable(getattr(base, "valid_actions", None)):
        raise NoActionMask(f"{type(base).__name__} defines no valid_actions(): no action mask (set action_mask off)")
    return np.asarray(base.valid_actions(forbidden=forbidden), dtype=bool)
