"""BatchSim's tables read exactly from the env (start distribution, cumulative outcome probabilities, noise),
kept on the backend it is moved to, and the choice of the compiled loops. Written against the mutants
`make mutate` found surviving in rlsuite/agents/tabular/sim.py."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.agents.tabular.sim import BatchSim, numba_missing, use_compiled
from rlsuite.common.backend import ArrayBackend
from rlsuite.common.errors import UsageError


class _PlainTables:
    """An env-like object with FrozenLake-style tables and no ``unwrapped`` (not a gymnasium env)."""

    observation_space = spaces.Discrete(3)
    action_space = spaces.Discrete(1)
    P = {
        0: {0: [(0.5, 1, 0.0, False), (0.5, 2, 1.0, True)]},
        1: {0: [(1.0, 2, 0.0, True)]},
        2: {0: [(1.0, 2, 0.0, True)]},
    }
    initial_state_distrib = [0, 1, 0]  # integers: the sim keeps probabilities as floats

    def reset(self, seed: int | None = None) -> tuple[int, dict[str, Any]]:
        return 1, {}


def test_tables_of_an_object_without_unwrapped() -> None:
    sim = BatchSim.of(_PlainTables())
    assert sim.start_probs.dtype == np.float64
    np.testing.assert_array_equal(sim.start_probs, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(sim.cum_probs[0, 0], [0.5, 1.0])
    np.testing.assert_array_equal(sim.cum_probs[1, 0], [1.0, 1.0])  # one outcome, padded
    np.testing.assert_array_equal(sim.next_states[:, 0], [[1, 2], [2, 2], [2, 2]])
    np.testing.assert_array_equal(sim.start_cum, [0.0, 1.0, 1.0])


def test_the_start_distribution_is_the_envs_own_not_one_reset() -> None:
    env = gym.make("Taxi-v4")
    sim = BatchSim.of(env)
    start = env.unwrapped.initial_state_distrib
    assert np.count_nonzero(start) == 300  # uniform over the valid starts: one reset would give one state
    np.testing.assert_array_equal(sim.start_probs, start)
    np.testing.assert_array_equal(sim.start_cum, np.cumsum(start))


@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
def test_random_starts_of_rlsuites_finite_mdps_are_the_envs_law(device: str) -> None:
    """S&B's 4x4 grid starts in any of its 14 non-terminal cells: the sim reads that law (one reset
    would pin every run to one cell) and its resets, numpy or torch, draw from it."""
    env = gym.make("rlsuite/SBGridWorld4x4-v0")
    sim = BatchSim.of(env)
    np.testing.assert_array_equal(sim.start_probs, env.unwrapped.start_probs)
    assert np.count_nonzero(sim.start_probs) == 14
    backend = ArrayBackend(device)
    backend.seed(np.random.default_rng(0))
    starts = np.asarray(sim.to(backend).reset(2800, backend))
    np.testing.assert_allclose(np.bincount(starts, minlength=16) / 2800, sim.start_probs, atol=0.025)


def test_the_last_cumulative_probability_is_exactly_one() -> None:
    sim = BatchSim.of(gym.make("FrozenLake-v1", is_slippery=True))
    assert sim.cum_probs.shape == (16, 4, 3)
    np.testing.assert_array_equal(sim.cum_probs[..., -1], np.ones((16, 4)))  # not 1 - 1e-16 from the sums
    np.testing.assert_allclose(sim.cum_probs[0], [[1 / 3, 2 / 3, 1.0]] * 4)  # the start: three slips of 1/3


def test_an_env_without_tables_is_one_line_whose_examples_exist() -> None:
    with pytest.raises(UsageError, match=r"^CartPole-v1: has no tables to simulate \(P\); the S&B runs need") as info:
        BatchSim.of(gym.make("CartPole-v1"))
    named = str(info.value).rsplit("(", 1)[1].rstrip(")").split(", ")
    assert named == ["CliffWalking-v1", "FrozenLake-v1", "Taxi-v4"]
    for env_id in named:  # the advice works when followed
        assert BatchSim.of(gym.make(env_id)).n_states == gym.make(env_id).observation_space.n


class NoTables:
    """Neither a gymnasium env (no ``spec``, no ``unwrapped``) nor one with tables."""


def test_an_env_without_a_spec_is_named_by_its_class() -> None:
    from gymnasium.envs.classic_control import CartPoleEnv

    for env, name in ((CartPoleEnv(), "CartPoleEnv"), (NoTables(), "NoTables")):
        with pytest.raises(UsageError, match=rf"^{name}: has no tables to simulate \(P\)"):
            BatchSim.of(env)


def test_moved_to_torch_the_start_sums_and_the_noise_flag_come_along() -> None:
    sim = BatchSim.of(gym.make("rlsuite/MaximizationBias-v0"))
    assert sim.noisy
    moved = sim.to(ArrayBackend("torch:cpu"))
    assert isinstance(moved.start_cum, torch.Tensor)
    np.testing.assert_array_equal(moved.start_cum.numpy(), np.cumsum(sim.start_probs))
    assert moved.noisy and isinstance(moved.reward_std, torch.Tensor)
    assert moved.start_probs is sim.start_probs  # host numpy always
    given = np.array([0.25, 0.5, 1.0])
    kept = BatchSim(sim.next_states, sim.rewards, sim.dones, sim.cum_probs, sim.reward_std, sim.start_probs, given)
    assert kept.start_cum is given


def test_compiled_loops_run_where_asked_on_numpy_with_numba() -> None:
    assert numba_missing() is None  # numba is a dependency
    assert use_compiled(True, ArrayBackend("cpu"))
    assert not use_compiled(False, ArrayBackend("cpu"))
    assert not use_compiled(True, ArrayBackend("torch:cpu"))
