"""Inverse-CDF sampling at its edge: a uniform draw of exactly 0.0 never picks a start, an outcome or an action
without probability mass (the cumulative sums <= u are counted, as numpy's ``Generator.choice`` and
``searchsorted(side="right")`` do), in the array code on numpy and torch and in the compiled loops.

A draw of exactly 0 comes once in 2^24 float32 draws on torch: a long run would start an episode in a terminal
state or take an action its greedy policy gives no mass."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rlsuite.agents.tabular.prediction import sample_episodes
from rlsuite.agents.tabular.sim import BatchSim
from rlsuite.common.backend import ArrayBackend

pytest.importorskip("torch")


def _zero_draws() -> np.random.Generator:
    """A numpy Generator whose every uniform draw is exactly 0.0: an all-zero MT19937 state stays zero (numba's
    compiled loops draw from it too)."""
    bits = np.random.MT19937(0)
    state = bits.state
    state["state"]["key"][:] = 0
    state["state"]["pos"] = 0
    bits.state = state
    return np.random.Generator(bits)


class _TorchDrawsZero(ArrayBackend):
    """A torch backend whose uniform draws are all exactly 0.0."""

    def uniform(self, shape: tuple[int, ...]) -> Any:
        return self.zeros(shape)


def _sim(start: list[float]) -> BatchSim:
    """Three states, two actions, two outcomes each: from state 0 the first outcome has no mass (-5, to state 1),
    the second all of it (to state 2: reward -1 for action 0, +1 for action 1); states 1 and 2 end the episode."""
    next_states = np.array([[[1, 2], [1, 2]], [[1, 1], [1, 1]], [[2, 2], [2, 2]]])
    rewards = np.zeros((3, 2, 2))
    rewards[0, :, 0] = -5.0
    rewards[0, :, 1] = [-1.0, 1.0]
    dones = np.ones((3, 2, 2), dtype=bool)
    cum = np.ones((3, 2, 2))
    cum[0, :, 0] = 0.0
    return BatchSim(next_states, rewards, dones, cum, np.zeros((3, 2)), np.array(start))


@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
def test_a_zero_draw_never_starts_or_steps_where_there_is_no_mass(device: str) -> None:
    sim = _sim([0.0, 0.5, 0.5])
    if device == "cpu":
        rng = _zero_draws()
    else:
        rng = _TorchDrawsZero(device)
        sim = sim.to(rng)
    np.testing.assert_array_equal(np.asarray(sim.reset(4, rng)), [1, 1, 1, 1])  # not state 0: no start mass
    at_zero = np.zeros(4, dtype=np.int64) if device == "cpu" else rng.zeros(4, "int64")
    s2, r, _ = sim.step(at_zero, at_zero + 1, rng)
    np.testing.assert_array_equal(np.asarray(s2), [2, 2, 2, 2])  # the outcome with the mass
    np.testing.assert_array_equal(np.asarray(r), [1.0] * 4)


@pytest.mark.parametrize("how", ["compiled", "numpy", "torch"])
def test_a_zero_draw_never_takes_an_action_the_policy_gives_no_mass(how: str) -> None:
    sim, policy = _sim([1.0, 0.0, 0.0]), np.array([[0.0, 1.0]] * 3)  # always action 1
    if how == "torch":
        backend = _TorchDrawsZero("torch:cpu")
        episodes = sample_episodes(sim.to(backend), backend.asarray(policy), 3, backend, 10)
    else:
        episodes = sample_episodes(sim, policy, 3, _zero_draws(), 10, compiled=how == "compiled")
    np.testing.assert_array_equal(np.asarray(episodes.rewards).ravel(), [1.0, 1.0, 1.0])  # action 1, to state 2
    np.testing.assert_array_equal(np.asarray(episodes.lengths), [1, 1, 1])


def test_torch_starts_are_states_even_where_the_sums_fall_short_of_one() -> None:
    """Float32 sums of a start law may end below 1: a draw above the last is the last state (clamped), and the
    last state keeps its own share."""
    import torch

    backend = ArrayBackend("torch:cpu")
    backend.seed(np.random.default_rng(0))
    base = _sim([0.2, 0.3, 0.5])
    short = BatchSim(base.next_states, base.rewards, base.dones, base.cum_probs, base.reward_std, base.start_probs,
                     torch.tensor([0.2, 0.5, 0.9]))  # fmt: skip
    starts = np.asarray(short.reset(4000, backend))
    assert starts.min() == 0 and starts.max() == 2
    np.testing.assert_allclose(np.bincount(starts) / 4000, [0.2, 0.3, 0.5], atol=0.03)  # 0.9 and up: state 2


class _DrawsNearOne(ArrayBackend):
    """A backend whose uniform draws are all just below 1 (float32's largest below 1)."""

    def uniform(self, shape: tuple[int, ...]) -> Any:
        return self.zeros(shape) + 0.99999994


@pytest.mark.parametrize("how", ["numpy", "torch"])
def test_a_draw_above_a_policys_short_sum_takes_its_last_action(how: str) -> None:
    """Sums of a policy's row may end below 1 (float32 rounding; here 0.9): a draw above the last sum takes the
    last action (clamped), never an action index past the table."""
    sim, policy = _sim([1.0, 0.0, 0.0]), np.array([[0.5, 0.4]] * 3)  # sums 0.5, 0.9
    backend = _DrawsNearOne("torch:cpu" if how == "torch" else "cpu")
    episodes = sample_episodes(sim.to(backend), backend.asarray(policy), 3, backend, 10, compiled=False)
    np.testing.assert_array_equal(np.asarray(episodes.rewards).ravel(), [1.0, 1.0, 1.0])  # action 1, to state 2
