"""Bad constructor arguments of the S&B chapter 6-8 envs: one line naming the argument."""

from __future__ import annotations

import gymnasium as gym
import pytest

import rlsuite.envs  # noqa: F401


@pytest.mark.parametrize(
    ("env_id", "kwargs", "error", "message"),
    [
        ("rlsuite/WindyGridWorld-v0", {"wind": [0, 1, 2]}, ValueError, "wind has 3 entries, the grid is n_cols = 10"),
        ("rlsuite/WindyGridWorld-v0", {"wind": [0] * 9 + [-1]}, ValueError, "wind[9] must be an integer >= 0"),
        ("rlsuite/WindyGridWorld-v0", {"wind": "0001112210"}, TypeError, "wind must be a list of integers"),
        ("rlsuite/WindyGridWorld-v0", {"goal": (7, 0)}, ValueError, "goal (7, 0) lies outside the 7x10 grid"),
        ("rlsuite/WindyGridWorld-v0", {"goal": (3, 0)}, ValueError, "goal (3, 0) is the start cell"),
        ("rlsuite/RandomWalk-v0", {"n_states": 0}, ValueError, "n_states must be an integer >= 1"),
        ("rlsuite/RandomWalk-v0", {"n_states": 5.0}, TypeError, "n_states must be an integer"),
        ("rlsuite/RandomWalk-v0", {"left_reward": float("nan")}, ValueError, "left_reward must be a finite number"),
        ("rlsuite/MaximizationBias-v0", {"n_b_actions": 0}, ValueError, "n_b_actions must be an integer >= 1"),
        ("rlsuite/MaximizationBias-v0", {"std": -1.0}, ValueError, "std must be >= 0"),
        ("rlsuite/DynaMaze-v0", {"layout": ["S#G"]}, ValueError, "layout: no path from the start S to the goal G"),
        ("rlsuite/DynaMaze-v0", {"layout": ["S..", ".#"]}, ValueError, "layout row 2 has 2 cells, row 1 has 3"),
        ("rlsuite/DynaMaze-v0", {"layout": ["S.x.G"]}, ValueError, "layout row 1: unknown cell 'x'"),
        ("rlsuite/DynaMaze-v0", {"layout": ["...G"]}, ValueError, "layout needs exactly one start 'S', it has 0"),
        ("rlsuite/DynaMaze-v0", {"layout": ["S..."]}, ValueError, "layout has no goal 'G'"),
        ("rlsuite/DynaMaze-v0", {"scale": 0}, ValueError, "scale must be an integer >= 1"),
        ("rlsuite/DynaMaze-v0", {"change_at": 10}, ValueError, "change_at and layout_after go together"),
        ("rlsuite/BlockingMaze-v0", {"change_at": -1}, ValueError, "change_at must be an integer >= 0"),
        ("rlsuite/BlockingMaze-v0", {"layout_after": ["S.G"]}, ValueError, "layout_after is (1, 3), layout is (6, 9)"),
        ("rlsuite/BlockingMaze-v0", {"layout_after": ["........G"] * 3 + ["#########"] + [".........", "...S....."]},
         ValueError, "layout_after: no path from the start S to the goal G"),
        ("rlsuite/DynaMaze-v0", {"render_mode": "human"}, ValueError, "render_mode must be one of ['ansi']"),
    ],
)
def test_bad_argument_is_one_line_naming_it(env_id: str, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        gym.make(env_id, **kwargs)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_bad_action_is_refused() -> None:
    env = gym.make("rlsuite/RandomWalk-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be in \[0, 2\), got 2"):
        env.step(2)
