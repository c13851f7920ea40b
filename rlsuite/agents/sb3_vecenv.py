"""rlsuite's batched envs as a stable-baselines3 ``VecEnv``: thousands of copies in one array step.

SB3's ``VecEnv`` contract differs from gymnasium's vector API: it resets finished copies in the
same step, returns the last observation of an episode in ``infos[i]["terminal_observation"]``,
flags time-limit ends with ``infos[i]["TimeLimit.truncated"]``, returns ``dones`` (terminated or
truncated) and numpy arrays, and seeds through ``seed()`` before ``reset()``. The batched env is
asked for gymnasium's same-step autoreset (``AutoresetMode.SAME_STEP``), so the conversion is
a relabelling, with no extra env step::

    from rlsuite.agents.sb3_vecenv import make_batched_vec_env
    venv = make_batched_vec_env("rlsuite/GridWorld-v0", n_envs=1024)
    PPO("MlpPolicy", VecMonitor(venv)).learn(100_000)

Observation wrappers (one-hot, coordinates, pixels) are applied as a lookup table built once from
a single wrapped env: the batched env keeps returning state indices and the adapter returns
``table[states]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvObs, VecEnvStepReturn

from rlsuite.common.device import to_numpy
from rlsuite.envs.wrappers import observation_table


class BatchedVecEnv(VecEnv):
    """An SB3 ``VecEnv`` over a gymnasium ``VectorEnv`` that autoresets in the same step.

    Args:
        venv: the vector env, e.g. ``gym.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point",
            autoreset_mode=AutoresetMode.SAME_STEP)``: ``metadata["autoreset_mode"]`` must be SAME_STEP.
        obs_table: optional [n_states, *obs_shape] array; observations become ``obs_table[obs]``
            (``venv`` must then return state indices).
        observation_space: the single-copy observation space that goes with ``obs_table``.
    """

    def __init__(
        self,
        venv: VectorEnv,
        obs_table: np.ndarray | None = None,
        observation_space: gym.spaces.Space[Any] | None = None,
    ) -> None:
        mode = venv.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(f"BatchedVecEnv needs a vector env with same-step autoreset, got {mode}")
        if (obs_table is None) != (observation_space is None):
            raise ValueError("give obs_table and observation_space together")
        self.venv = venv
        self.obs_table = obs_table
        space = observation_space if observation_space is not None else venv.single_observation_space
        super().__init__(venv.num_envs, space, venv.single_action_space)
        self.render_mode = None
        self._actions: np.ndarray | None = None

    def _convert(self, obs: Any) -> np.ndarray:
        obs = to_numpy(obs)
        return self.obs_table[obs] if self.obs_table is not None else obs

    def reset(self) -> VecEnvObs:
        seed = self._seeds[0]  # one generator drives every copy: SB3's seed(s) gives s, s+1, ...
        options = self._options[0] or None
        obs, _ = self.venv.reset(seed=seed, options=options)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return self._convert(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        obs, reward, terminated, truncated, info = self.venv.step(self._actions)
        terminated, truncated = to_numpy(terminated), to_numpy(truncated)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            final_obs = self._convert(info["final_obs"])
            for i in np.flatnonzero(dones):
                infos[i]["terminal_observation"] = final_obs[i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return self._convert(obs), to_numpy(reward).astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        holder = self.venv if hasattr(self.venv, attr_name) else getattr(self.venv, "single_env", self.venv)
        value = getattr(holder, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]


def make_batched_vec_env(
    env_id: str,
    n_envs: int,
    seed: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
    wrapper: Callable[[gym.Env[Any, Any]], gym.Env[Any, Any]] | None = None,
    device: str = "cpu",
) -> BatchedVecEnv:
    """A ``BatchedVecEnv`` of ``n_envs`` copies of ``env_id`` through its vector entry point.

    Args:
        env_id: a registered id with a vector entry point (rlsuite's grid worlds and bandits).
        n_envs: number of copies.
        seed: seeds the copies (through ``seed()``, used at the first ``reset``).
        env_kwargs: env arguments, as for ``gym.make``.
        wrapper: observation wrapper(s) for a single env (e.g. ``OneHotObservation``); applied as a
            lookup table over the state indices the batched env returns.
        device: the batched env's array backend: ``"cpu"`` (numpy) or a torch device.
    """
    import rlsuite.envs  # noqa: F401  (registers the ids)

    kwargs = dict(env_kwargs or {})
    spec = gym.spec(env_id)
    if spec.vector_entry_point is None:
        raise ValueError(f"{env_id} has no vector entry point; use a DummyVecEnv instead")
    venv = gym.make_vec(
        env_id,
        num_envs=n_envs,
        vectorization_mode="vector_entry_point",
        autoreset_mode=AutoresetMode.SAME_STEP,
        device=device,
        **kwargs,
    )
    table = space = None
    if wrapper is not None:
        single = wrapper(gym.make(env_id, **kwargs))
        table = observation_table(single, int(venv.single_observation_space.n))
        space = single.observation_space
        single.close()
    out = BatchedVecEnv(venv, table, space)
    if seed is not None:
        out.seed(seed)
    return out
