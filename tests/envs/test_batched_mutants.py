"""The batched envs to the letter (mutation testing): actions already on the env's GPU are checked there (no host
read); a bandit's q* exists from construction; a start of the wrong shape is named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cuda_sim import count_syncs, simulate_cuda

from rlsuite.envs.batched import GridWorldVectorEnv, KArmedBanditVectorEnv


def test_actions_on_the_gpu_are_checked_there_without_a_host_read() -> None:
    with simulate_cuda():
        env = GridWorldVectorEnv(num_envs=4, device="cuda")
        env.reset(seed=0)
        actions = torch.tensor([0, 1, 2, 3], device="cuda")
        with count_syncs() as syncs:
            obs, reward, *_ = env.step(actions)
        assert sum(syncs.values()) == 0 and obs.is_cuda and reward.is_cuda
        bandit = KArmedBanditVectorEnv(num_envs=3, device="cuda")
        bandit.reset(seed=0)
        with count_syncs() as syncs:
            bandit.step(torch.tensor([0, 5, 9], device="cuda"))
        assert sum(syncs.values()) == 0


def test_a_bandits_true_values_are_zeros_until_the_first_reset() -> None:
    env = KArmedBanditVectorEnv(num_envs=3, k=4)
    np.testing.assert_array_equal(env.q_star, np.zeros((3, 4)))
    env.reset(seed=0)
    assert env.q_star.shape == (3, 4) and np.all(env.q_star != 0)


def test_a_start_of_the_wrong_shape_says_what_it_takes() -> None:
    env = GridWorldVectorEnv(num_envs=4)
    with pytest.raises(ValueError, match=r"^options\['start'\] must be one state or 4 states, got shape \(2,\)$"):
        env.reset(options={"start": [1, 2]})
    for start, got in ((3.0, "3.0"), (np.array([1.0, 2.0, 3.0, 4.0]), "dtype float64"), (True, "True")):
        with pytest.raises(TypeError, match=rf"^options\['start'\] states must be integers in \[0, 25\), got {got}$"):
            env.reset(options={"start": start})


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.int64])
def test_integer_actions_of_any_width_step_the_same(dtype: type) -> None:
    env = GridWorldVectorEnv(num_envs=4)
    env.reset(seed=0, options={"start": [0, 6, 12, 17]})
    obs, reward, *_ = env.step(np.array([1, 2, 3, 4], dtype=dtype))  # right, down, left, stay
    assert obs.tolist() == [1, 11, 11, 17] and reward.tolist() == [0.0, 0.0, 0.0, 1.0]  # 17: the target
    with pytest.raises(ValueError, match=r"^actions must lie in \[0, 5\), got \[5\]$"):
        env.step(np.array([0, 5, 0, 0], dtype=dtype))


def test_copies_that_do_not_fit_in_memory_are_refused_with_the_estimate() -> None:
    with pytest.raises(ValueError, match=r"^num_envs 1000000000000 needs about .* of memory; this machine has "):
        GridWorldVectorEnv(num_envs=10**12)


def test_actions_on_the_gpu_out_of_range_or_shape_stop_the_run() -> None:
    with simulate_cuda():
        env = GridWorldVectorEnv(num_envs=4, device="cuda")
        env.reset(seed=0)
        for bad in ([0, 1, 2, 5], [0, -1, 2, 3]):  # checked on the device: raised at once on a CPU-only torch
            with pytest.raises(RuntimeError, match=r"actions must lie in \[0, 5\)"):
                env.step(torch.tensor(bad, device="cuda"))
        with pytest.raises(ValueError, match=r"^actions must have shape \(4,\), got \(3,\)$"):
            env.step(torch.tensor([0, 1, 2], device="cuda"))


@pytest.mark.parametrize("mode", ["Disabled", "bogus", 3])
def test_an_autoreset_mode_that_is_not_next_or_same_step_is_named(mode: object) -> None:
    """Gymnasium's third mode, and values that are no mode at all, are refused with the value given."""
    for cls in (GridWorldVectorEnv, KArmedBanditVectorEnv):
        with pytest.raises(ValueError, match=rf"^autoreset_mode must be NextStep or SameStep, got {mode!r}$"):
            cls(num_envs=2, autoreset_mode=mode)
