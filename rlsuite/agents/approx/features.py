"""Feature vectors of a grid world's states (Zhao section 8.2.4): polynomial, Fourier, one-hot.

A state is a cell (row y, column x). ``polynomial`` of order ``n`` holds every monomial
``x^i y^j`` with ``i + j <= n`` of the coordinates normalised to [-1, 1], ordered by degree as the
book orders them: order 1 is ``[1, x, y]`` (8.15), order 2 adds ``x^2, y^2, xy`` (8.16), order 3
adds ``x^3, y^3, x^2 y, x y^2`` (8.17). ``fourier`` of order ``q`` is ``cos(pi (c1 x + c2 y))`` for
``c1, c2`` in ``{0..q}`` with ``x, y`` normalised to [0, 1] (8.18): ``(q + 1)^2`` features.
``onehot`` is the tabular representation (one feature per state; order unused).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlsuite.common.errors import UsageError

FEATURE_KINDS = ("polynomial", "fourier", "onehot")


def env_name(env: Any) -> str:
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(env.unwrapped).__name__


def check_discrete_env(env: Any, agent: str) -> None:
    """Refuse, in one line naming the env, one whose observations or actions are not Discrete."""
    obs, act = env.observation_space, env.action_space
    if not isinstance(obs, gym.spaces.Discrete) or not isinstance(act, gym.spaces.Discrete):
        raise UsageError(
            f"{agent} cannot learn on {env_name(env)}: it needs Discrete state indices and Discrete actions "
            f"(got {type(obs).__name__} observations / {type(act).__name__} actions); for the grid world use "
            "observation='index'"
        )


def grid_coordinates(env: Any, agent: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``(rows, cols, n_rows, n_cols)`` of every state of a grid env; other envs refused in one line."""
    base = env.unwrapped
    if not all(hasattr(base, name) for name in ("n_rows", "n_cols", "to_cell")):
        raise UsageError(
            f"{agent} cannot build polynomial/Fourier features on {env_name(env)}: they need a grid env with "
            "(row, column) cells (rlsuite/GridWorld-v0); use features='onehot'"
        )
    rows, cols = np.divmod(np.arange(int(env.observation_space.n)), int(base.n_cols))
    return rows, cols, int(base.n_rows), int(base.n_cols)


def _unit(index: np.ndarray, n: int) -> np.ndarray:
    """Indices 0..n-1 mapped to [0, 1] (a single cell: 0)."""
    return index / max(n - 1, 1)


def polynomial_features(x: np.ndarray, y: np.ndarray, order: int) -> np.ndarray:
    """Every monomial ``x^i y^j`` with ``i + j <= order``, by degree, x-powers first ([N, (n+1)(n+2)/2])."""
    columns = [np.ones_like(x)]
    for degree in range(1, order + 1):
        columns += [x**degree, y**degree]
        columns += [x ** (degree - j) * y**j for j in range(1, degree)]
    return np.stack(columns, axis=1)


def fourier_features(x: np.ndarray, y: np.ndarray, order: int) -> np.ndarray:
    """``cos(pi (c1 x + c2 y))`` for ``c1, c2 = 0..order`` (8.18), ``[N, (order + 1)^2]``."""
    c1, c2 = np.meshgrid(np.arange(order + 1), np.arange(order + 1), indexing="ij")
    return np.cos(np.pi * (np.outer(x, c1.ravel()) + np.outer(y, c2.ravel())))


def state_features(env: Any, kind: str, order: int, agent: str) -> np.ndarray:
    """The feature matrix ``Phi`` [S, d] of ``env``'s states (row s is ``phi(s)``)."""
    check_discrete_env(env, agent)
    n_states = int(env.observation_space.n)
    if kind == "onehot":
        return np.eye(n_states)
    rows, cols, n_rows, n_cols = grid_coordinates(env, agent)
    if kind == "polynomial":
        return polynomial_features(2 * _unit(cols, n_cols) - 1, 2 * _unit(rows, n_rows) - 1, order)
    if kind == "fourier":
        return fourier_features(_unit(cols, n_cols), _unit(rows, n_rows), order)
    raise ValueError(f"unknown feature kind {kind!r} (known: {', '.join(FEATURE_KINDS)})")
