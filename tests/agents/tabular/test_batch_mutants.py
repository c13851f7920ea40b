"""rlsuite.agents.tabular.batch to the letter (mutation testing): which vector env ``make_batched`` builds and with
which settings, the refusals' exact lines, the start states' and observations' dtype, the seed of a reset."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.agents.tabular.batch import as_states, make_batched, reset_to, start_states
from rlsuite.common.errors import UsageError
from rlsuite.envs.batched import GridWorldVectorEnv
from rlsuite.envs.gridworld import GridWorldEnv


def test_an_env_built_by_hand_is_refused_in_one_line() -> None:
    with pytest.raises(UsageError) as caught:
        make_batched(GridWorldEnv(), 2)
    assert str(caught.value) == "sample-based tabular agents need a registered env (made with gym.make(ID, ...))"


def test_a_batched_env_is_its_vector_version_without_a_time_limit() -> None:
    venv = make_batched(gym.make("rlsuite/GridWorld-v0"), 3)
    assert type(venv) is GridWorldVectorEnv and venv.num_envs == 3
    assert gym.spec("rlsuite/GridWorld-v0").max_episode_steps == 100 and venv.max_episode_steps is None


def test_an_env_without_a_batched_version_is_refused_off_the_cpu() -> None:
    with pytest.raises(UsageError) as caught:
        make_batched(gym.make("FrozenLake-v1"), 2, device="cuda")
    message = "device 'cuda': FrozenLake-v1 has no batched version; only rlsuite's batched envs run there"
    assert str(caught.value) == message


def test_copies_of_an_env_whose_kwargs_name_max_episode_steps_are_made_once_each() -> None:
    spec = dataclasses.replace(gym.spec("FrozenLake-v1"), kwargs={"map_name": "4x4", "max_episode_steps": 7})
    venv = make_batched(SimpleNamespace(spec=spec), 2)  # type: ignore[arg-type]
    assert type(venv) is gym.vector.SyncVectorEnv and venv.num_envs == 2
    assert venv.envs[0].unwrapped.desc.shape == (4, 4)
    assert not any(isinstance(copy, gym.wrappers.TimeLimit) for copy in venv.envs)  # 7 is not passed on either


def test_copies_of_a_gymnasium_env_run_past_its_specs_time_limit() -> None:
    """FrozenLake's spec cuts an episode at 100 steps; the copies have no limit (gym.make(ID,
    max_episode_steps=None) keeps the spec's), so the vector env never truncates nor autoresets a long episode."""
    assert gym.spec("FrozenLake-v1").max_episode_steps == 100
    venv = make_batched(gym.make("FrozenLake-v1", is_slippery=False), 2)
    assert not any(isinstance(copy, gym.wrappers.TimeLimit) for copy in venv.envs)
    venv.reset(seed=0)
    for _ in range(150):  # LEFT in the top-left corner: stays in state 0
        obs, _, terminated, truncated, _ = venv.step(np.zeros(2, dtype=np.int64))
        assert obs.tolist() == [0, 0] and not terminated.any() and not truncated.any()


def test_start_states_are_int64_indices() -> None:
    assert start_states(gym.make("FrozenLake-v1"), 4).tolist() == [0, 1, 2, 3]  # no list of its own: all states
    env = gym.make("rlsuite/GridWorld-v0")
    env.unwrapped.random_start_states = np.array([2, 5], dtype=np.int32)  # type: ignore[attr-defined]
    got = start_states(env, 25)
    assert got.tolist() == [2, 5] and got.dtype == np.int64


class _Recording:
    """A vector env's stand-in (no backend) that records its reset."""

    def __init__(self) -> None:
        self.resets: list[dict[str, Any]] = []

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        self.resets.append(kwargs)
        return np.asarray(kwargs["options"]["start"], dtype=np.int32), {}


def test_a_reset_to_start_states_passes_its_seed_and_answers_int64_states() -> None:
    venv = _Recording()
    got = reset_to(venv, [3, 1], seed=5)
    assert venv.resets == [{"seed": 5, "options": {"start": [3, 1]}}]
    assert got.tolist() == [3, 1] and got.dtype == np.int64
    reset_to(venv, [0])
    assert venv.resets[1] == {"seed": None, "options": {"start": [0]}}
    assert as_states(venv, np.array([4, 2], dtype=np.int16)).dtype == np.int64
