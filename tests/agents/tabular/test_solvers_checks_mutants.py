"""The exact solvers' argument checks, each at its bound, to the letter (mutation testing): a bad argument is one
line naming it; the bound itself is accepted."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.agents.tabular import solvers
from rlsuite.envs.model import tabular_model


@pytest.fixture(scope="module")
def model() -> Any:
    return tabular_model(gym.make("rlsuite/GridWorld-v0").unwrapped)


def _greedy(model: Any) -> np.ndarray:
    return np.zeros(model.n_states, dtype=int)


BAD: dict[str, tuple[Callable[[Any], Any], type[Exception], str]] = {
    "ipe gamma": (
        lambda m: solvers.iterative_policy_evaluation(m, _greedy(m), np.zeros(m.n_states), 1.5, 1),
        ValueError,
        "gamma must lie in [0, 1], got 1.5",
    ),
    "ipe gamma < 0": (
        lambda m: solvers.iterative_policy_evaluation(m, _greedy(m), np.zeros(m.n_states), -0.1, 1),
        ValueError,
        "gamma must lie in [0, 1], got -0.1",
    ),
    "ipe sweeps": (
        lambda m: solvers.iterative_policy_evaluation(m, _greedy(m), np.zeros(m.n_states), 0.9, -1),
        ValueError,
        "sweeps must be an integer >= 0, got -1",
    ),
    "ipe sweeps type": (
        lambda m: solvers.iterative_policy_evaluation(m, _greedy(m), np.zeros(m.n_states), 0.9, 1.0),
        TypeError,
        "sweeps must be an integer, got 1.0 (float)",
    ),
    "ipe policy": (
        lambda m: solvers.iterative_policy_evaluation(m, _greedy(m)[:3], np.zeros(m.n_states), 0.9, 1),
        ValueError,
        "policy must have shape (25,) or (25, 5), got (3,)",
    ),
    "pi max_iters": (
        lambda m: solvers.policy_iteration(m, 0.9, 0),
        ValueError,
        "max_iters must be an integer >= 1, got 0",
    ),
    "pi max_iters type": (
        lambda m: solvers.policy_iteration(m, 0.9, 2.0),
        TypeError,
        "max_iters must be an integer, got 2.0 (float)",
    ),
    "pe gamma": (
        lambda m: solvers.policy_evaluation(m, _greedy(m), 1.01),
        ValueError,
        "gamma must lie in [0, 1], got 1.01",
    ),
    "pe policy": (
        lambda m: solvers.policy_evaluation(m, "up", 0.9),
        TypeError,
        "policy must be an array of actions or probabilities, got str",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_argument_is_one_line_naming_it(model: Any, case: str) -> None:
    call, kind, message = BAD[case]
    with pytest.raises(kind, match=f"^{re.escape(message)}$"):
        call(model)


def test_the_bounds_themselves_are_accepted(model: Any) -> None:
    v0 = np.arange(model.n_states, dtype=float)
    np.testing.assert_array_equal(solvers.iterative_policy_evaluation(model, _greedy(model), v0, 0.9, 0), v0)
    T, R = model.policy_matrices(np.eye(model.n_actions)[_greedy(model)])
    np.testing.assert_allclose(solvers.iterative_policy_evaluation(model, _greedy(model), v0, 0.0, 1), R)
    np.testing.assert_allclose(solvers.iterative_policy_evaluation(model, _greedy(model), v0, 1.0, 1), R + T @ v0)
    v, pi, iterations = solvers.policy_iteration(model, 0.9, 1)  # one improvement at most
    assert iterations == 1 and pi.shape == (model.n_states, model.n_actions)
    np.testing.assert_allclose(solvers.policy_evaluation(model, pi, 0.9), v)
