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
