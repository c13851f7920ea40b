"""Sutton & Barto's chapter 6-8 envs: exact values from their models, the book's layouts and numbers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.solvers import policy_evaluation, value_iteration
from rlsuite.envs.model import tabular_model


def _uniform_values(env_id: str, **kwargs: object) -> np.ndarray:
    env = gym.make(env_id, **kwargs)
    model = tabular_model(env)
    pi = np.full((model.n_states, model.n_actions), 1.0 / model.n_actions)
    return policy_evaluation(model, pi, gamma=1.0)


def test_random_walk_true_values_are_one_sixth_to_five_sixths() -> None:
    v = _uniform_values("rlsuite/RandomWalk-v0")
    np.testing.assert_allclose(v[1:6], np.arange(1, 6) / 6, atol=1e-12)
    np.testing.assert_allclose(gym.make("rlsuite/RandomWalk-v0").unwrapped.true_values(), v, atol=1e-12)


def test_random_walk_19_true_values_run_from_minus_to_plus_one() -> None:
    v = _uniform_values("rlsuite/RandomWalk19-v0")
    np.testing.assert_allclose(v[1:20], np.arange(-18, 19, 2) / 20, atol=1e-12)
    env = gym.make("rlsuite/RandomWalk19-v0")
    assert env.reset(seed=0)[0] == 10


def test_random_walk_episode_ends_with_the_book_rewards() -> None:
    env = gym.make("rlsuite/RandomWalk-v0")
    s, _ = env.reset(seed=0)
    assert s == 3  # C
    rewards = [env.step(1)[1] for _ in range(2)]
    obs, r, term, trunc, _ = env.step(1)
    assert (rewards, obs, r, term, trunc) == ([0.0, 0.0], 6, 1.0, True, False)


def test_windy_grid_world_optimal_path_is_15_steps_and_7_with_king_moves() -> None:
    for kwargs, steps in (({}, 15), ({"king_moves": True}, 7)):
        env = gym.make("rlsuite/WindyGridWorld-v0", **kwargs)
        v, _, _ = value_iteration(tabular_model(env), gamma=1.0, tol=1e-10, max_iters=1000)
        assert v[env.unwrapped.start_state] == -steps, kwargs


def test_windy_wind_pushes_up_from_the_column_left() -> None:
    env = gym.make("rlsuite/WindyGridWorld-v0").unwrapped
    s = env.to_state((3, 6))  # wind 2 in column 6
    assert env.to_cell(env.P[s][1][0][1]) == (1, 7)  # right: to column 7, two rows up
    assert env.to_cell(env.P[env.to_state((0, 6))][0][0][1]) == (0, 6)  # the top edge stops the push


def test_dyna_maze_shortest_path_is_14_steps() -> None:
    env = gym.make("rlsuite/DynaMaze-v0")
    assert env.unwrapped.shortest_path() == 14
    v, _, _ = value_iteration(tabular_model(env), gamma=0.95)
    assert v[env.unwrapped.start_state] == pytest.approx(0.95**13, abs=1e-6)  # reward 1 on the 14th step


def test_blocking_maze_changes_after_change_at_steps() -> None:
    env = gym.make("rlsuite/BlockingMaze-v0", change_at=3)
    base = env.unwrapped
    assert base.shortest_path() == 10  # through the gap on the right
    env.reset(seed=0)
    for _ in range(3):
        env.step(0)
    assert base.changed and base.shortest_path() == 16  # around the left end
    assert env.reset(seed=0)[0] == base.start_state and base.changed  # a reset keeps the new maze


def test_shortcut_maze_opens_a_shorter_path() -> None:
    env = gym.make("rlsuite/ShortcutMaze-v0").unwrapped
    assert [m.shortest_path() for _, m in env.phases()] == [16, 10]
    assert [start for start, _ in env.phases()] == [0, 3000]


def test_scaled_maze_scales_the_shortest_path() -> None:
    env = gym.make("rlsuite/DynaMaze-v0", scale=2).unwrapped
    assert (env.n_rows, env.n_cols) == (12, 18)
    assert int((env.current == "G").sum()) == 4
    assert env.shortest_path() == 2 * 14 - 1  # the goal block's nearest cell


def test_maximization_bias_model_and_allowed_actions() -> None:
    env = gym.make("rlsuite/MaximizationBias-v0")
    base = env.unwrapped
    assert base.P[0][0] == [(1.0, 2, 0.0, True)] and base.P[0][1] == [(1.0, 1, 0.0, False)]
    assert all(base.P[1][a] == [(1.0, 2, -0.1, True)] for a in range(10))
    assert base.allowed_actions[0].tolist() == [True, True] + [False] * 8
    _, q, _ = value_iteration(tabular_model(env), gamma=1.0, tol=1e-12, max_iters=100)
    assert q[0].tolist()[:2] == pytest.approx([0.0, -0.1])


def test_maximization_bias_rewards_are_normal_minus_point_one() -> None:
    env = gym.make("rlsuite/MaximizationBias-v0")
    env.reset(seed=0)
    draws = []
    for _ in range(4000):
        env.reset()
        env.step(1)
        draws.append(env.step(0)[1])
    # 4000 draws of N(-0.1, 1): the mean within 4 standard errors (0.063), the std within 5%
    assert abs(np.mean(draws) + 0.1) < 4 / np.sqrt(4000)
    assert np.std(draws) == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("env_id", ["rlsuite/RandomWalk-v0", "rlsuite/WindyGridWorld-v0", "rlsuite/DynaMaze-v0",
                                    "rlsuite/MaximizationBias-v0"])  # fmt: skip
def test_same_seed_same_episode(env_id: str) -> None:
    def play(seed: int) -> list[tuple[int, float]]:
        env = gym.make(env_id)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        out = []
        for _ in range(50):
            s, r, term, trunc, _ = env.step(env.action_space.sample())
            out.append((int(s), float(r)))
            if term or trunc:
                env.reset()
        return out

    assert play(3) == play(3)
