"""The batched-env adapter keeps SB3's VecEnv contract, and SB3 trains on it; the observation wrappers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecMonitor

import rlsuite.envs  # noqa: F401
from rlsuite.agents.sb3_vecenv import BatchedVecEnv, make_batched_vec_env
from rlsuite.agents.tabular.dp import policy_evaluation, value_iteration
from rlsuite.envs.model import tabular_model
from rlsuite.envs.wrappers import (
    CoordinateObservation,
    OneHotObservation,
    PixelObservation,
    ScaledCoordinateObservation,
    observation_table,
)

FIXED_START = {"start": (2, 2)}  # deterministic resets: the adapter must match DummyVecEnv exactly


def _dummy(env_id: str, n: int, kwargs: dict, wrapper=None) -> DummyVecEnv:
    def make():
        env = gym.make(env_id, **kwargs)
        return wrapper(env) if wrapper else env

    return DummyVecEnv([make for _ in range(n)])


@pytest.mark.parametrize("env_id", ["rlsuite/GridWorld-v0", "rlsuite/GridWorldEpisodic-v0"])
@pytest.mark.parametrize("wrapper", [None, OneHotObservation])
def test_adapter_matches_dummy_vec_env_step_for_step(env_id, wrapper):
    n = 6
    kwargs = FIXED_START if "Episodic" in env_id else {}
    batched = make_batched_vec_env(env_id, n, seed=0, env_kwargs=kwargs, wrapper=wrapper)
    dummy = _dummy(env_id, n, kwargs, wrapper)
    assert batched.observation_space == dummy.observation_space
    assert batched.action_space == dummy.action_space
    np.testing.assert_array_equal(batched.reset(), dummy.reset())
    rng = np.random.default_rng(0)
    n_terminal = n_truncated = 0
    for _ in range(250):  # crosses the 100-step time limit twice
        actions = rng.integers(5, size=n)
        obs_b, rew_b, done_b, infos_b = batched.step(actions)
        obs_d, rew_d, done_d, infos_d = dummy.step(actions)
        np.testing.assert_array_equal(obs_b, obs_d)
        np.testing.assert_array_equal(rew_b, rew_d)
        np.testing.assert_array_equal(done_b, done_d)
        assert rew_b.dtype == np.float32 and done_b.dtype == bool and len(infos_b) == n
        for i in range(n):
            assert ("terminal_observation" in infos_b[i]) == bool(done_d[i])
            if done_d[i]:
                np.testing.assert_array_equal(
                    infos_b[i]["terminal_observation"], infos_d[i]["terminal_observation"]
                )
                assert infos_b[i]["TimeLimit.truncated"] == infos_d[i]["TimeLimit.truncated"]
                n_truncated += infos_b[i]["TimeLimit.truncated"]
                n_terminal += not infos_b[i]["TimeLimit.truncated"]
    assert n_truncated > 0
    if "Episodic" in env_id:
        assert n_terminal > 0


def test_adapter_seeding_is_reproducible():
    def first_obs(seed):
        venv = make_batched_vec_env("rlsuite/GridWorldEpisodic-v0", 32)
        venv.seed(seed)
        return venv.reset()

    np.testing.assert_array_equal(first_obs(1), first_obs(1))
    assert not np.array_equal(first_obs(1), first_obs(2))


def test_adapter_passes_reset_options():
    venv = make_batched_vec_env("rlsuite/GridWorld-v0", 4)
    venv.set_options({"start": 7})
    np.testing.assert_array_equal(venv.reset(), [7, 7, 7, 7])


def test_adapter_needs_same_step_autoreset():
    venv = gym.make_vec("rlsuite/GridWorld-v0", num_envs=2, vectorization_mode="vector_entry_point")
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP  # the default is unchanged
    with pytest.raises(ValueError, match="same-step autoreset"):
        BatchedVecEnv(venv)


def test_ppo_trains_on_the_batched_adapter_to_the_optimal_policy():
    """PPO from 16 batched copies learns the book's grid world: exact v_pi(s1) = v*(s1) (gamma 0.9)."""
    torch.set_num_threads(1)
    venv = VecMonitor(make_batched_vec_env("rlsuite/GridWorld-v0", 16, seed=0))
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=64,
        batch_size=256,
        n_epochs=4,
        gamma=0.9,
        learning_rate=1e-3,
        ent_coef=0.01,
        seed=0,
    )
    model.learn(24_576)
    env = gym.make("rlsuite/GridWorld-v0")
    tm = tabular_model(env)
    actions, _ = model.predict(np.arange(tm.n_states), deterministic=True)
    v_star, _, _ = value_iteration(tm, 0.9)
    v_pi = policy_evaluation(tm, actions, 0.9)
    assert v_pi[0] == pytest.approx(v_star[0], abs=1e-6)  # the book's v*(s1) = 5.83
    assert v_star[0] == pytest.approx(5.832, abs=1e-3)


@pytest.mark.parametrize("device", ["auto", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_adapter_on_the_torch_backend_returns_numpy(device):
    """``device="auto"`` runs the batched env on torch (CPU here, CUDA where there is one)."""
    venv = make_batched_vec_env("rlsuite/GridWorldEpisodic-v0", 256, seed=0, device=device)
    assert venv.venv.backend.is_torch
    obs = venv.reset()
    assert isinstance(obs, np.ndarray) and obs.shape == (256,)
    target = venv.venv.single_env.target_state
    n_done = 0
    for _ in range(30):
        obs, rew, done, infos = venv.step(np.random.randint(5, size=256))
        assert isinstance(rew, np.ndarray) and rew.dtype == np.float32 and done.dtype == bool
        for i in np.flatnonzero(done):
            assert infos[i]["terminal_observation"] == target and obs[i] != target  # reset in the same step
            n_done += 1
    assert n_done > 0


def test_adapter_on_the_bandit_redraws_problems_in_the_same_step():
    venv = make_batched_vec_env("rlsuite/KArmedBandit-v0", 8, seed=0, env_kwargs={"max_episode_steps": 5})
    venv.reset()
    q_before = venv.venv.q_star.copy()
    for t in range(5):
        _, _, done, infos = venv.step(np.zeros(8, dtype=int))
        assert done.all() == (t == 4)
    assert all(info["TimeLimit.truncated"] and info["terminal_observation"] == 0 for info in infos)
    assert not np.allclose(venv.venv.q_star, q_before)  # fresh problems already in place
    venv.step(np.zeros(8, dtype=int))
    assert (venv.venv.steps == 1).all()


@pytest.mark.parametrize(
    ("wrapper", "shape"),
    [
        (OneHotObservation, (25,)),
        (CoordinateObservation, (2,)),
        (ScaledCoordinateObservation, (2,)),
        (lambda e: PixelObservation(e, 8), (40, 40, 3)),
    ],
)
def test_wrappers_pass_sb3_check_env(wrapper, shape):
    env = wrapper(gym.make("rlsuite/GridWorldEpisodic-v0"))
    assert env.observation_space.shape == shape
    check_env(env, warn=True)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_observation_table_matches_the_wrapped_env():
    env = OneHotObservation(gym.make("FrozenLake-v1"))
    table = observation_table(env, 16)
    np.testing.assert_array_equal(table, np.eye(16, dtype=np.float32))
    coords = observation_table(CoordinateObservation(gym.make("rlsuite/GridWorld-v0")), 25)
    assert coords.dtype == np.int64 and coords[7].tolist() == [1, 2]  # state 7 = row 1, col 2 on the 5x5 grid
    scaled = observation_table(ScaledCoordinateObservation(gym.make("rlsuite/GridWorld-v0")), 25)
    assert scaled.dtype == np.float32 and scaled[7].tolist() == [0.25, 0.5]
    pixels = observation_table(PixelObservation(gym.make("rlsuite/GridWorld-v0"), cell_px=4), 25)
    assert pixels.shape == (25, 20, 20, 3) and len({p.tobytes() for p in pixels}) == 25


def test_wrappers_reject_non_index_observations():
    with pytest.raises(ValueError, match="Discrete"):
        OneHotObservation(gym.make("rlsuite/GridWorld-v0", observation="onehot"))
    with pytest.raises(ValueError, match="cell_px"):
        PixelObservation(gym.make("rlsuite/GridWorld-v0"), cell_px=2)
