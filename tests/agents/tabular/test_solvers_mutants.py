"""The exact solvers to the letter (mutation testing): each argument check at its bound (a bad argument is one line
naming it; the bound itself is accepted), and the torch sweeps' stopping rule and host syncs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from cuda_sim import count_syncs, simulate_cuda

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.agents.tabular import solvers
from rlsuite.envs.model import TabularModel, tabular_model


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
    "pe gamma < 0": (
        lambda m: solvers.policy_evaluation(m, _greedy(m), -0.5),
        ValueError,
        "gamma must lie in [0, 1], got -0.5",
    ),
    "pe policy": (
        lambda m: solvers.policy_evaluation(m, "up", 0.9),
        TypeError,
        "policy must be an array of actions or probabilities, got str",
    ),
    "vi gamma": (lambda m: solvers.value_iteration(m, gamma=2.0), ValueError, "gamma must lie in [0, 1], got 2.0"),
    "vi gamma < 0": (
        lambda m: solvers.value_iteration(m, gamma=-0.1),
        ValueError,
        "gamma must lie in [0, 1], got -0.1",
    ),
    "vi tol": (lambda m: solvers.value_iteration(m, tol=-1.0), ValueError, "tol must be >= 0, got -1.0"),
    "vi max_iters": (
        lambda m: solvers.value_iteration(m, max_iters=0),
        ValueError,
        "max_iters must be an integer >= 1, got 0",
    ),
    "vi max_iters type": (
        lambda m: solvers.value_iteration(m, max_iters=2.5),
        TypeError,
        "max_iters must be an integer, got 2.5 (float)",
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


def _one_state(reward: float = 1.0) -> TabularModel:
    """``v <- 1 + 0.5 v`` from 0: 1, 1.5, 1.75, 1.875: each sweep's change half the last (exact in floats)."""
    return TabularModel(np.array([[reward]]), transition_probs=np.ones((1, 1, 1)))


def test_value_iterations_bounds_and_defaults() -> None:
    """gamma 0 and 1, tol 0 and one sweep are accepted; by default gamma is 0.9 (v = 1 / (1 - 0.9)), tol 1e-10 and
    a model whose values never settle (v <- 1 + v) stops after 100,000 sweeps."""
    for gamma in (0.0, 1.0):
        v, _, iterations = solvers.value_iteration(_one_state(), gamma=gamma, tol=0.0, max_iters=1)
        assert iterations == 1 and v.tolist() == [1.0]
    v, _, iterations = solvers.value_iteration(_one_state())
    # sweep k changes v by 0.9**(k - 1), and 0.9**219 < 1e-10 < 0.9**218
    assert v[0] == pytest.approx(10.0, abs=1e-8) and iterations == 220
    assert solvers.value_iteration(_one_state(), gamma=1.0)[2] == 100_000


def test_shift_plans_slice_the_grids_moves_and_gather_the_rest() -> None:
    """Each move of the 5x5 grid is one offset but at the edge it bumps into (fixed up by a gather, 5 cells each);
    one offset on three quarters of the states or more is a slice, fewer gathers the whole row."""
    grid = tabular_model(gym.make("rlsuite/GridWorld-v0").unwrapped)
    shifts, fix_at, fix_from = solvers._shift_plans(grid.next_states[0])
    assert shifts == [(0, -5), (1, 1), (2, 5), (3, -1), (4, 0)]
    edges = {0: [0, 1, 2, 3, 4], 1: [4, 9, 14, 19, 24], 2: [20, 21, 22, 23, 24], 3: [0, 5, 10, 15, 20]}
    assert fix_at.tolist() == [a * 25 + s for a, cells in edges.items() for s in cells]
    assert fix_from.tolist() == [s for cells in edges.values() for s in cells]  # a bump stays put
    shifts, fix_at, fix_from = solvers._shift_plans(np.array([[1, 2, 3, 3], [3, 0, 2, 1]]))
    assert shifts == [(0, 1)]  # 3 of 4 states move right: a slice; a permutation: gathered whole
    assert fix_at.tolist() == [3, 4, 5, 6, 7] and fix_from.tolist() == [3, 3, 0, 2, 1]


@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
def test_the_sweeps_stop_at_the_first_change_below_tol(device: str) -> None:
    v, _, iterations = solvers.value_iteration(_one_state(), gamma=0.5, tol=0.5, max_iters=100, device=device)
    assert iterations == 3 and np.asarray(v).tolist() == [1.75]  # the change of 0.5 is not below 0.5


@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
@pytest.mark.parametrize("compact", [False, True])
def test_falling_values_stop_on_the_size_of_their_change(device: str, compact: bool) -> None:
    """``v <- -1 + 0.5 v`` from 0: -1, -1.5, -1.75; a change of -1 is not below tol: its size is (a compact
    deterministic model takes the sliced sweeps, a dense one the plain ones)."""
    one = np.ones((1, 1, 1))
    model = TabularModel(np.array([[-1.0]]), next_states=np.zeros((1, 1, 1), int), next_probs=one) if compact \
        else _one_state(-1.0)
    v, _, iterations = solvers.value_iteration(model, gamma=0.5, tol=0.5, max_iters=100, device=device)
    assert model.deterministic is compact and iterations == 3 and np.asarray(v).tolist() == [-1.75]


def test_the_torch_sweeps_read_one_scalar_per_sweep_and_none_with_tol_zero() -> None:
    import torch

    with simulate_cuda():
        tables = solvers.torch_tables(_one_state(), torch.device("cuda"))
        with count_syncs() as syncs:
            v, iterations = solvers.torch_sweeps(tables, 0.5, 0.0, 4)
        assert sum(syncs.values()) == 0 and iterations == 4 and v.is_cuda
        assert v.cpu().tolist() == [1.875]
        with count_syncs() as syncs:
            _, iterations = solvers.torch_sweeps(tables, 0.5, 0.5, 100)
        assert iterations == 3 and sum(syncs.values()) == 3


def test_value_iteration_runs_the_torch_sweeps_where_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The device "cpu" (and "auto" without a GPU) is numpy; "torch:cpu" is the torch sweeps on the CPU, a GPU or
    not; "cuda" (here a simulated one) and "auto" with a GPU are the torch sweeps there."""
    import torch

    torch_sweeps: list[Any] = []

    def spy(model: Any, gamma: float, tol: float, max_iters: int, dev: Any) -> tuple[Any, Any, int]:
        torch_sweeps.append((gamma, tol, max_iters, dev))
        return None, None, 0

    monkeypatch.setattr(solvers, "_value_iteration_torch", spy)
    gpu = torch.cuda.is_available()  # a real one, or the simulated one of --simulate-cuda
    for device in ("cpu", "auto"):
        v, _, _ = solvers.value_iteration(_one_state(), gamma=0.5, tol=0.5, max_iters=100, device=device)
        assert v is None if device == "auto" and gpu else v.tolist() == [1.75]
    assert [d.type for *_, d in torch_sweeps] == (["cuda"] if gpu else [])
    torch_sweeps.clear()
    solvers.value_iteration(_one_state(), gamma=0.5, tol=0.5, max_iters=100, device="torch:cpu")
    with simulate_cuda():
        for device in ("cuda", "auto", "torch:cpu"):
            solvers.value_iteration(_one_state(), gamma=0.5, tol=0.5, max_iters=100, device=device)
    kinds = ("cpu", "cuda", "cuda", "cpu")
    assert [(d.type, rest) for *rest, d in torch_sweeps] == [(kind, [0.5, 0.5, 100]) for kind in kinds]
