"""The grid world's valid actions (MaskablePPO's mask) from its exact model, and what masking costs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.envs.model import tabular_model
from rlsuite.envs.wrappers import ValidActionMask

UP, RIGHT, DOWN, LEFT, STAY = range(5)


def masked_optimum(env: gym.Env, valid: np.ndarray, gamma: float = 0.9) -> np.ndarray:
    """Value iteration over the valid actions only."""
    model, v = tabular_model(env), np.zeros(valid.shape[0])
    for _ in range(1000):
        q = model.q_values(v, gamma)
        v = np.where(valid, q, -np.inf).max(axis=1)
    return v


def test_valid_actions_of_the_book_grid_world():
    env = gym.make("rlsuite/GridWorld-v0").unwrapped  # forbidden (2,2) (2,3) (3,3) (4,2) (4,4) (5,2), target (4,3)
    both, boundary = env.valid_actions(), env.valid_actions(forbidden=False)
    assert both.shape == (25, 5) and both[:, STAY].all() and boundary[:, STAY].all()
    # s1 (1,1): up and left leave the grid; s2 (1,2): down enters the forbidden (2,2)
    assert both[0].tolist() == [False, True, True, False, True]
    assert both[1].tolist() == [False, True, False, True, True] and boundary[1].tolist() == [
        False,
        True,
        True,
        True,
        True,
    ]
    # leaving the grid: exactly the border moves
    assert (~boundary).sum() == 4 * 5
    # the target (4,3) = s18, surrounded by forbidden cells on three sides: only down and stay
    assert both[17].tolist() == [False, False, True, False, True]


def test_masking_forbidden_cells_loses_the_optimum_and_the_boundary_mask_does_not():
    env = gym.make("rlsuite/GridWorld-v0")
    base = env.unwrapped
    v_star = masked_optimum(env, np.ones((25, 5), dtype=bool))
    assert v_star[0] == pytest.approx(5.832, abs=1e-3)
    np.testing.assert_allclose(masked_optimum(env, base.valid_actions(forbidden=False)), v_star, atol=1e-9)
    # around the forbidden cells: 10 moves, then the target's +1 for ever
    assert masked_optimum(env, base.valid_actions())[0] == pytest.approx(0.9**10 / 0.1, abs=1e-9)


def test_the_wrapper_follows_the_agent():
    env = ValidActionMask(gym.make("rlsuite/GridWorld-v0"), mask="boundary_forbidden")
    table = env.unwrapped.valid_actions()
    obs, _ = env.reset(seed=0)
    for action in (RIGHT, RIGHT, DOWN, STAY):
        assert env.action_masks().tolist() == table[int(obs)].tolist()
        obs, *_ = env.step(action)
    assert ValidActionMask(gym.make("rlsuite/GridWorld-v0"), mask="off").action_masks().all()
    with pytest.raises(ValueError, match="mask must be one of off, boundary, boundary_forbidden"):
        ValidActionMask(gym.make("rlsuite/GridWorld-v0"), mask="walls")
