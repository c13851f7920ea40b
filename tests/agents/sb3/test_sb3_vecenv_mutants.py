"""Exact checks of rlsuite.agents.sb3_vecenv that mutation testing found unchecked: the first reset's seed and
options, the attributes SB3 asks for, and a time limit that falls on the step reaching the target."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

import rlsuite.envs  # noqa: F401
from rlsuite.agents.sb3_vecenv import make_batched_vec_env

EPISODIC = "rlsuite/GridWorldEpisodic-v0"


@pytest.mark.parametrize("n", [1, 8])
def test_the_first_reset_uses_the_seed_given(n):
    raw = gym.make_vec(EPISODIC, num_envs=n, vectorization_mode="vector_entry_point",
                       autoreset_mode=AutoresetMode.SAME_STEP)  # fmt: skip
    expected, _ = raw.reset(seed=5)
    venv = make_batched_vec_env(EPISODIC, n, seed=5)
    np.testing.assert_array_equal(venv.reset(), expected)
    assert venv.reset_infos == [{}] * n


def test_reset_options_reach_a_single_copy():
    venv = make_batched_vec_env(EPISODIC, 1)
    venv.set_options({"start": 7})
    np.testing.assert_array_equal(venv.reset(), [7])


def test_attributes_come_from_the_vector_env_or_its_single_env():
    venv = make_batched_vec_env("rlsuite/GridWorld-v0", 3)
    target = gym.make("rlsuite/GridWorld-v0").unwrapped.target_state
    assert venv.get_attr("target_state") == [target] * 3  # the single env's
    assert venv.get_attr("max_episode_steps", indices=[0, 2]) == [100, 100]  # the vector env's
    assert venv.env_is_wrapped(Monitor) == [False] * 3  # no Monitor inside: episode stats come from VecMonitor
    assert venv.env_is_wrapped(Monitor, indices=[1]) == [False]


def test_reaching_the_target_on_the_time_limit_is_a_termination():
    """Two cells, the target on the left, a one-step limit: "left" terminates and truncates at once, which SB3
    counts as a termination (TimeLimit.truncated False, as DummyVecEnv says); "right" only truncates."""
    kwargs = {"grid_map": ["T."], "max_episode_steps": 1}
    batched = make_batched_vec_env(EPISODIC, 2, seed=0, env_kwargs=kwargs)
    dummy = DummyVecEnv([lambda: gym.make(EPISODIC, **kwargs)] * 2)
    batched.reset(), dummy.reset()
    actions = np.array([3, 1])
    (_, _, done_b, infos_b), (_, _, done_d, infos_d) = batched.step(actions), dummy.step(actions)
    assert done_b.tolist() == done_d.tolist() == [True, True]
    assert [i["TimeLimit.truncated"] for i in infos_b] == [i["TimeLimit.truncated"] for i in infos_d] == [False, True]
