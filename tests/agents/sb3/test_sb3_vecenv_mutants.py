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
    bandit = make_batched_vec_env("rlsuite/KArmedBandit-v0", 2)  # no single env: the vector env answers alone
    assert bandit.get_attr("k") == [10, 10]
    with pytest.raises(AttributeError, match=r"^'KArmedBanditVectorEnv' object has no attribute 'nope'$"):
        bandit.get_attr("nope")


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


def test_the_adapter_s_refusals_are_exact():
    from rlsuite.agents.sb3_vecenv import BatchedVecEnv

    with pytest.raises(ValueError) as info:
        make_batched_vec_env("FrozenLake-v1", 2)
    assert str(info.value) == "FrozenLake-v1 has no vector entry point; use a DummyVecEnv instead"
    raw = gym.make_vec(EPISODIC, num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError) as info:
        BatchedVecEnv(raw)
    mode = AutoresetMode.NEXT_STEP
    assert str(info.value) == f"BatchedVecEnv needs a vector env with same-step autoreset, got {mode}"
    same = gym.make_vec(EPISODIC, num_envs=2, vectorization_mode="vector_entry_point",
                        autoreset_mode=AutoresetMode.SAME_STEP)  # fmt: skip
    with pytest.raises(ValueError) as info:
        BatchedVecEnv(same, obs_table=np.eye(25))
    assert str(info.value) == "give obs_table and observation_space together"


def test_the_adapter_as_sb3_sees_it():
    from rlsuite.envs.wrappers import OneHotObservation

    venv = make_batched_vec_env(EPISODIC, 3, seed=1, env_kwargs={"grid_map": ["....T"]}, wrapper=OneHotObservation)
    assert (venv.num_envs, venv.render_mode, venv.observation_space, venv.action_space) == (
        3, None, gym.spaces.Box(0.0, 1.0, (5,), np.float32), gym.spaces.Discrete(5))  # fmt: skip
    obs = venv.reset()
    assert obs.shape == (3, 5) and (obs.sum(axis=1) == 1).all() and obs[:, 4].sum() == 0  # never on the target
    assert venv.get_images() == [None, None, None]
    venv.set_attr("max_episode_steps", 7)
    assert venv.get_attr("max_episode_steps") == [7, 7, 7]
    first, second = venv.env_method("reset", seed=3, indices=[0, 2])  # one call on the vector env, its result twice
    assert first is second
    np.testing.assert_array_equal(first[0], venv.venv.reset(seed=3)[0])
    venv.close()


def test_env_method_passes_its_arguments_to_the_vector_env_once_for_every_index():
    raw = gym.make_vec(EPISODIC, num_envs=8, vectorization_mode="vector_entry_point",
                       autoreset_mode=AutoresetMode.SAME_STEP)  # fmt: skip
    expected, _ = raw.reset(seed=11)
    venv = make_batched_vec_env(EPISODIC, 8)
    results = venv.env_method("reset", seed=11, indices=[0, 3])  # a keyword argument: the seed
    assert len(results) == 2 and results[0] is results[1]
    np.testing.assert_array_equal(np.asarray(results[0][0]), expected)
    checked = venv.env_method("actions", [1, 2, 3, 0, 1, 2, 3, 0])  # a positional argument: the actions
    assert len(checked) == 8
    np.testing.assert_array_equal(np.asarray(checked[0]), [1, 2, 3, 0, 1, 2, 3, 0])
