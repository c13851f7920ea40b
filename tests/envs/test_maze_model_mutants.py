"""Exact behaviour of the table helpers (rlsuite.envs.table), the mazes and the exact tabular model
that the broader tests leave open: messages, edge cells, dtypes, the change's timing, cached P."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control import CartPoleEnv
from gymnasium.utils import seeding

from rlsuite.common.errors import UsageError
from rlsuite.envs.max_bias import MaximizationBiasEnv
from rlsuite.envs.mazes import MazeEnv
from rlsuite.envs.model import TabularModel, tabular_model
from rlsuite.envs.table import TableEnv, cell, grid_moves, parse_map, reachable


def exactly(message: str) -> str:
    """A ``match=`` pattern for exactly this one-line message."""
    return f"^{re.escape(message)}$"


# ----- table helpers -----


def test_cell_edges_and_messages() -> None:
    assert cell((0, 0), 2, 3, "start") == (0, 0)
    assert cell((1, 2), 2, 3, "start") == (1, 2)
    with pytest.raises(ValueError, match=exactly("start (0, 3) lies outside the 2x3 grid")):
        cell((0, 3), 2, 3, "start")
    with pytest.raises(TypeError, match=exactly("start must be a (row, col) pair, got (1, 2, 3)")):
        cell((1, 2, 3), 2, 3, "start")


def test_grid_moves_default_is_the_four_moves() -> None:
    np.testing.assert_array_equal(grid_moves(np.zeros((1, 2), dtype=bool)), [[0, 1, 0, 0], [1, 1, 1, 0]])


def test_parse_map_messages() -> None:
    with pytest.raises(ValueError, match=exactly("m row 1: unknown cell 'x' (use . # S G)")):
        parse_map("S.x\n..G", "m")
    with pytest.raises(TypeError, match=exactly("m must be a string or a list of strings (rows of .#SG), got [1, 2]")):
        parse_map([1, 2], "m")  # type: ignore[list-item]
    with pytest.raises(ValueError, match=exactly("m needs exactly one start 'S', it has 2")):
        parse_map("S.S\n..G", "m")


def test_reachable_marks_the_start_and_is_boolean() -> None:
    seen = reachable(np.array([[1], [1]]), 0)
    assert seen.dtype == bool
    np.testing.assert_array_equal(seen, [True, True])


def test_table_env_converts_its_tables_and_renders_only_in_ansi() -> None:
    env = TableEnv(render_mode="ansi")
    env.set_table([[1.0, 0.0], [1.0, 1.0]], [[1, 0], [0, 0]], [0, 1], 0, reward_std=[[0, 0], [0, 0]])
    assert env.render() == "state 0 of 2"
    assert (env.next_state.dtype, env.reward.dtype, env.terminal.dtype, env.reward_std.dtype) == (
        np.int64, np.float64, bool, np.float64)  # fmt: skip
    assert env.P[0][0] == [(1.0, 1, 1.0, True)]
    quiet = TableEnv()
    quiet.set_table([[0]], [[0.0]], [False], 0)
    assert quiet.render() is None


def test_reward_noise_draws_only_where_its_std_is_positive() -> None:
    """From A (std 0) no draw; from B the first draw of the seeded generator: -0.1 + 1.0 * z."""
    env = MaximizationBiasEnv()
    env.reset(seed=7)
    assert env.step(1)[1] == 0.0
    z = seeding.np_random(7)[0].standard_normal()
    assert env.step(0)[1] == -0.1 + float(1.0 * z)


# ----- mazes -----

ROW = ["S.G"]


def test_maze_change_happens_exactly_at_change_at_steps() -> None:
    env = MazeEnv(["S..", "..G"], layout_after=["S#.", "..G"], change_at=3)
    p_before = env.P[0][1]
    assert p_before == [(1.0, 1, 0.0, False)]
    env.reset(seed=0)
    for step in (1, 2):
        env.step(0)
        assert (env.total_steps, env.changed) == (step, False)
    env.step(0)
    assert (env.total_steps, env.changed) == (3, True)
    assert env.P[0][1] == [(1.0, 0, 0.0, False)]  # the wall now blocks the move right
    assert [step for step, _ in env.phases()] == [0, 3]


def test_maze_changing_at_zero_starts_its_second_phase_at_zero() -> None:
    env = MazeEnv(["S..", "..G"], layout_after=["S#.", "..G"], change_at=0)
    assert [step for step, _ in env.phases()] == [0, 0]


def test_maze_messages() -> None:
    with pytest.raises(ValueError, match=exactly("layout_after row 1: unknown cell 'x' (use . # S G)")):
        MazeEnv(ROW, layout_after=["S.x"], change_at=1)
    with pytest.raises(ValueError, match=exactly("change_at and layout_after go together: give both or neither")):
        MazeEnv(ROW, layout_after=ROW)


def test_scaled_maze_keeps_one_start_in_the_top_left_of_its_block() -> None:
    env = MazeEnv(["#S", "G."], scale=2, render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "##A.\n##..\nGG..\nGG..\n"
    env.step(1)
    assert env.render() == "##SA\n##..\nGG..\nGG..\n"


@pytest.mark.parametrize(("layout", "steps"), [(["S.G"], 2), (["G.S"], 2), (["S", ".", "G"], 2), (["SG"], 1)])
def test_shortest_path_when_the_start_bumps_into_an_edge_first(layout: list[str], steps: int) -> None:
    assert MazeEnv(layout).shortest_path() == steps


# ----- exact tabular model -----


def test_tabular_model_names_the_env_without_a_model() -> None:
    with pytest.raises(UsageError, match=exactly("CartPole-v1: has no exact tabular model (P)")):
        tabular_model(gym.make("CartPole-v1"))
    with pytest.raises(UsageError, match=exactly("CartPoleEnv: has no exact tabular model (P)")):
        tabular_model(CartPoleEnv())


def test_tabular_model_sums_frozen_lakes_slips() -> None:
    """Slippery FrozenLake: each action goes its way or either side with 1/3 each; two slips into a wall
    stay put, so they add up; from 14, right reaches the goal (reward 1) one time in three."""
    model = tabular_model(gym.make("FrozenLake-v1"))
    np.testing.assert_allclose(model.transition_probs[0, 0], np.eye(16)[0] * 2 / 3 + np.eye(16)[4] / 3)
    assert model.expected_rewards[14, 2] == pytest.approx(1 / 3, abs=1e-15)
    assert model.expected_rewards[14, 1] == pytest.approx(1 / 3, abs=1e-15)  # down slips right once in 3


def test_tabular_model_converts_its_arrays() -> None:
    dense = TabularModel(np.array([[1, 0]]), transition_probs=[[[1], [1]]])
    assert (dense.expected_rewards.dtype, dense.transition_probs.dtype) == (np.float64, np.float64)
    assert dense.next_states is None and dense.next_probs is None
    compact = TabularModel(np.zeros((2, 1)), next_states=[[[1.0, 1.0]]], next_probs=[[[1, 1]]])
    assert (compact.next_states.dtype, compact.next_probs.dtype) == (np.int64, np.float64)
    np.testing.assert_array_equal(compact.q_values(np.array([0.0, 5.0]), 0.5), [[2.5], [2.5]])
    no_probs = TabularModel(np.zeros((2, 1)), next_states=[[[1, 1]]])
    with pytest.raises(AssertionError):
        no_probs.q_values(np.array([0.0, 5.0]), 0.5)
