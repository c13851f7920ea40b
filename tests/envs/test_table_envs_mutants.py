"""Exact behaviour of the small table envs (windy grid world, random walk, maximization bias) that the
broader tests leave open: renders, error messages, edge sizes, and the model tables themselves."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rlsuite.envs.max_bias import MaximizationBiasEnv
from rlsuite.envs.random_walk import RandomWalkEnv
from rlsuite.envs.windy import WindyGridWorldEnv


def exactly(message: str) -> str:
    """A ``match=`` pattern for exactly this one-line message."""
    return f"^{re.escape(message)}$"


# ----- windy grid world -----


def test_windy_render_is_the_book_grid_with_the_wind_below() -> None:
    env = WindyGridWorldEnv(render_mode="ansi")
    env.reset(seed=0)
    rows = [".........."] * 7
    rows[3] = "A......G.."
    assert env.render() == "\n".join(rows) + "\n0001112210\n"
    env.step(1)  # right, from a column without wind
    rows[3] = "SA.....G.."
    assert env.render() == "\n".join(rows) + "\n0001112210\n"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_rows": 0}, ValueError, "n_rows must be an integer >= 1, got 0"),
        ({"n_rows": 1.0}, TypeError, "n_rows must be an integer, got 1.0 (float)"),
        ({"n_cols": 0, "wind": []}, ValueError, "n_cols must be an integer >= 1, got 0"),
        ({"n_cols": 1.0}, TypeError, "n_cols must be an integer, got 1.0 (float)"),
        ({"start": (7, 0)}, ValueError, "start (7, 0) lies outside the 7x10 grid"),
        ({"start": (3, 0.0)}, TypeError, "start must be an integer, got 0.0 (float)"),
        ({"king_moves": 1}, TypeError, "king_moves must be True or False, got 1 (int)"),
    ],
)
def test_windy_bad_arguments_exact_messages(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=exactly(message)):
        WindyGridWorldEnv(**kwargs)


def test_windy_one_row_and_one_column_grids() -> None:
    row = WindyGridWorldEnv(wind=[0, 0], n_cols=2, n_rows=1, start=(0, 0), goal=(0, 1))
    np.testing.assert_array_equal(row.next_state, [[0, 1, 0, 0], [1, 1, 1, 0]])
    column = WindyGridWorldEnv(wind=[0], n_cols=1, n_rows=2, start=(0, 0), goal=(1, 0))
    np.testing.assert_array_equal(column.next_state, [[0, 0, 1, 0], [0, 1, 1, 1]])
    assert column.P[0][2] == [(1.0, 1, -1.0, True)]


def test_windy_action_names() -> None:
    assert WindyGridWorldEnv().action_names == ("up", "right", "down", "left")
    assert WindyGridWorldEnv(king_moves=True).action_names == (
        "up", "right", "down", "left", "up-right", "down-right", "down-left", "up-left")  # fmt: skip


# ----- random walk -----


def test_random_walk_tables_are_exact() -> None:
    env = RandomWalkEnv(n_states=3, left_reward=-1.0, right_reward=2.0)
    np.testing.assert_array_equal(env.next_state, [[0, 1], [0, 2], [1, 3], [2, 4], [3, 4]])
    np.testing.assert_array_equal(env.reward, [[0, 0], [-1, 0], [0, 0], [0, 2], [0, 0]])
    np.testing.assert_array_equal(env.terminal, [True, False, False, False, True])
    assert env.terminal.dtype == bool


def test_random_walk_starts_in_the_middle_rounding_down() -> None:
    assert RandomWalkEnv(n_states=4).reset(seed=0)[0] == 2
    assert RandomWalkEnv(n_states=5).reset(seed=0)[0] == 3
    assert RandomWalkEnv(n_states=1).reset(seed=0)[0] == 1


def test_random_walk_true_values_of_the_19_state_walk() -> None:
    """Chapter 7's walk: -1 on the left, +1 on the right, so v(k) = -1 + 2k/20 = (k - 10) / 10."""
    v = RandomWalkEnv(n_states=19, left_reward=-1.0, right_reward=1.0).true_values()
    np.testing.assert_allclose(v, [0.0, *((np.arange(1, 20) - 10) / 10), 0.0], rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("n", "moves", "text"),
    [
        (5, [], "[L] A B * D E [R]\n"),
        (5, [0, 0, 0], "* A B C D E [R]\n"),
        (5, [1, 1, 1], "[L] A B C D E *\n"),
        (26, [], "[L] A B C D E F G H I J K L * N O P Q R S T U V W X Y Z [R]\n"),
        (27, [], "[L] " + ". " * 13 + "* " + ". " * 13 + "[R]\n"),
    ],
)
def test_random_walk_render(n: int, moves: list[int], text: str) -> None:
    env = RandomWalkEnv(n_states=n, render_mode="ansi")
    env.reset(seed=0)
    for a in moves:
        env.step(a)
    assert env.render() == text


def test_random_walk_bad_rewards_exact_messages() -> None:
    with pytest.raises(TypeError, match=exactly("right_reward must be a number, got 'x' (str)")):
        RandomWalkEnv(right_reward="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=exactly("left_reward must be a number, got None (NoneType)")):
        RandomWalkEnv(left_reward=None)  # type: ignore[arg-type]


# ----- maximization bias -----


@pytest.mark.parametrize("n_b", [1, 2, 3])
def test_max_bias_tables_and_allowed_actions(n_b: int) -> None:
    env = MaximizationBiasEnv(n_b_actions=n_b, mean=-0.5, std=2.0)
    n = max(2, n_b)
    assert env.action_space.n == n
    next_state = np.full((3, n), 2)
    next_state[0, 1] = 1
    np.testing.assert_array_equal(env.next_state, next_state)
    np.testing.assert_array_equal(env.reward, [[0.0] * n, [-0.5] * n, [0.0] * n])
    np.testing.assert_array_equal(env.reward_std, [[0.0] * n, [2.0] * n, [0.0] * n])
    allowed = np.ones((3, n), dtype=bool)
    allowed[0, 2:] = False
    allowed[1, n_b:] = False
    assert env.allowed_actions.dtype == bool
    np.testing.assert_array_equal(env.allowed_actions, allowed)


def test_max_bias_render_and_messages() -> None:
    env = MaximizationBiasEnv(render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "A\n"
    env.step(1)
    assert env.render() == "B\n"
    env.step(0)
    assert env.render() == "T\n"
    with pytest.raises(TypeError, match=exactly("mean must be a number, got 'x' (str)")):
        MaximizationBiasEnv(mean="x")  # type: ignore[arg-type]
