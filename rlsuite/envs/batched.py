"""Batched envs: thousands of copies stepped in one array operation, numpy on CPU or torch on a device.

Created through gymnasium's vector entry points::

    envs = gym.make_vec("rlsuite/GridWorld-v0", num_envs=4096, vectorization_mode="vector_entry_point")
    envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=2000, device="cuda")
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium.vector.vector_env import AutoresetMode

from rlsuite.common.backend import ArrayBackend
from rlsuite.envs.bandit import BanditSpec
from rlsuite.envs.gridworld import GridWorldEnv


def autoreset_metadata(mode: AutoresetMode = AutoresetMode.NEXT_STEP) -> dict[str, Any]:
    """Metadata of rlsuite's vector envs: gymnasium's default next-step autoreset unless asked otherwise."""
    return {"autoreset_mode": mode, "render_modes": []}


def _autoreset_mode(value: AutoresetMode | str) -> AutoresetMode:
    """NEXT_STEP (gymnasium's default) or SAME_STEP (what SB3's VecEnv expects), from the enum or value."""
    try:
        mode = AutoresetMode(value)
    except ValueError:
        mode = AutoresetMode.DISABLED
    if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        raise ValueError(f"autoreset_mode must be NextStep or SameStep, got {value!r}")
    return mode


class KArmedBanditVectorEnv(VectorEnv):
    """``num_envs`` independent bandit problems stepped in one array operation.

    Same arguments as :class:`KArmedBanditEnv`, plus ``num_envs``, ``max_episode_steps`` and
    ``device`` (``"cpu"`` for numpy, ``"cuda"``/``"auto"`` for torch tensors on that device).
    Autoreset follows gymnasium's default next-step mode (``autoreset_mode="SameStep"`` for
    same-step, as for :class:`GridWorldVectorEnv`). Created by
    ``gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=2000)``. ``info`` holds arrays:
    ``optimal_arm`` [N] and, after a step, ``regret`` [N] and ``optimal`` [N] (was the pulled
    arm optimal).
    """

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 1000,
        device: str = "cpu",
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        mode = _autoreset_mode(autoreset_mode)
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        self.spec_args = BanditSpec(**kwargs)
        self.k = self.spec_args.k
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.xp = ArrayBackend(device)
        self.metadata = autoreset_metadata(mode)
        self.single_action_space = spaces.Discrete(self.k)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.single_observation_space = spaces.Discrete(1)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.q_star = self.xp.zeros((num_envs, self.k))
        self.steps = self.xp.zeros(num_envs, dtype="int64")
        self.prev_done = self.xp.zeros(num_envs, dtype="bool")
        self._obs = self.xp.zeros(num_envs, dtype="int64")

    def _draw_q(self, n: int) -> Any:
        spec = self.spec_args
        if self.xp.is_torch and spec.means is None and not spec.nonstationary:  # draw on the device
            if spec.arms == "bernoulli":
                return self.xp.uniform((n, self.k))
            return spec.q_mean + spec.q_std * self.xp.normal((n, self.k))
        return self.xp.asarray(spec.sample_q(self.np_random, n))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self.xp.seed(self.np_random)
        self.q_star = self._draw_q(self.num_envs)
        self.steps = self.xp.zeros(self.num_envs, dtype="int64")
        self.prev_done = self.xp.zeros(self.num_envs, dtype="bool")
        return self._obs, {"optimal_arm": self.q_star.argmax(1)}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        xp = self.xp
        a = xp.as_index(actions)
        if tuple(a.shape) != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {tuple(a.shape)}")
        if bool((a < 0).any()) or bool((a >= self.k).any()):
            raise ValueError(f"actions must be arms in [0, {self.k})")
        if bool(self.prev_done.any()):  # next-step autoreset: fresh problems where an episode ended
            idx = xp.nonzero(self.prev_done)
            self.q_star[idx] = self._draw_q(int(idx.shape[0]))
        rows = xp.arange(self.num_envs)
        q_a = self.q_star[rows, a]
        best = self.q_star.amax(1) if xp.is_torch else self.q_star.max(1)  # torch's max(dim) is slow on CPU
        if self.spec_args.arms == "bernoulli":
            reward = xp.cast_float(xp.uniform((self.num_envs,)) < q_a)
        else:
            reward = q_a + self.spec_args.reward_std * xp.normal((self.num_envs,))
        info = {"optimal_arm": self.q_star.argmax(1), "regret": best - q_a, "optimal": q_a >= best}
        if self.spec_args.nonstationary:
            noise = self.spec_args.walk_std * xp.normal(tuple(self.q_star.shape))
            self.q_star = self.q_star + noise
            if self.spec_args.arms == "bernoulli":
                self.q_star = self.q_star.clip(0.0, 1.0)
        self.steps = self.steps + 1
        terminated = xp.zeros(self.num_envs, dtype="bool")
        truncated = (
            self.steps >= self.max_episode_steps
            if self.max_episode_steps is not None
            else xp.zeros(self.num_envs, dtype="bool")
        )
        if self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP:
            done = terminated | truncated
            if not bool(done.any()):
                return self._obs, reward, terminated, truncated, info
            idx = xp.nonzero(done)
            self.q_star[idx] = self._draw_q(int(idx.shape[0]))  # fresh problems, in this step
            self.steps[idx] = 0
            info |= {"final_obs": self._obs, "_final_obs": done}
            return self._obs, reward, terminated, truncated, info
        self.steps[self.prev_done] = 0
        reward[self.prev_done] = 0.0
        truncated[self.prev_done] = False
        self.prev_done = terminated | truncated
        return self._obs, reward, terminated, truncated, info


class GridWorldVectorEnv(VectorEnv):
    """``num_envs`` copies of :class:`~rlsuite.envs.gridworld.GridWorldEnv` stepped in one array operation.

    Takes every ``GridWorldEnv`` argument (one layout shared by all copies), plus ``num_envs``,
    ``max_episode_steps`` (truncation, like the single env's TimeLimit) and ``device``
    (``"cpu"``: numpy arrays; ``"cuda"``/``"auto"``: torch tensors on that device, actions
    accepted as tensors). Autoreset follows gymnasium's default next-step mode: the step after
    an episode ends returns the reset observation with reward 0. ``autoreset_mode="SameStep"``
    (gymnasium's ``AutoresetMode.SAME_STEP``, what SB3's ``VecEnv`` expects) resets in the step that
    ends an episode instead: it returns the reset observation and puts the last one in
    ``info["final_obs"]`` (the whole batch; rows valid where the mask ``info["_final_obs"]`` is set).
    ``reset(options={"start": s})``
    takes a state index or an array of ``num_envs`` state indices (exploring starts).
    ``self.single_env`` holds the exact model (``P``, ``transition_probs``, ...).
    """

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = 100,
        device: str = "cpu",
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        mode = _autoreset_mode(autoreset_mode)
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if max_episode_steps is not None and (not isinstance(max_episode_steps, int) or max_episode_steps < 1):
            raise ValueError(f"max_episode_steps must be a positive integer or None, got {max_episode_steps!r}")
        self.single_env = env = GridWorldEnv(**kwargs)
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.metadata = autoreset_metadata(mode)
        xp = self.xp = ArrayBackend(device)
        self.next_state_table = xp.asarray(env.next_state_table, dtype="int64")
        self.reward_table = xp.asarray(env.reward_table)
        self.random_start_states = xp.asarray(env.random_start_states, dtype="int64")
        self.cells = xp.asarray([env.to_cell(s) for s in range(env.n_states)], dtype="int64")
        self.eye = xp.asarray(np.eye(env.n_states, dtype=np.float32), dtype="float32")
        self.single_action_space = env.action_space
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.single_observation_space = env.observation_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.states = xp.zeros(num_envs, dtype="int64")
        self.steps = xp.zeros(num_envs, dtype="int64")
        self.prev_done = xp.zeros(num_envs, dtype="bool")

    def _start_states(self, n: int) -> Any:
        env = self.single_env
        if env.start_state is not None:
            return self.xp.asarray(np.full(n, env.start_state), dtype="int64")
        return self.xp.choice(self.random_start_states, (n,))

    def _parse_start(self, start: Any) -> Any:
        """``options["start"]`` (an int, a list, a numpy array or a tensor on any device) as [N] states on
        this backend; a tensor on the device stays there (no trip through numpy)."""
        n_states = self.single_env.n_states
        states = self.xp.as_index(start)
        shape = tuple(states.shape)
        if shape not in ((), (1,), (self.num_envs,)):
            raise ValueError(f"options['start'] must be one state or {self.num_envs} states, got shape {shape}")
        if bool(((states < 0) | (states >= n_states)).any()):
            raise ValueError(f"options['start'] states must lie in [0, {n_states})")
        if self.xp.is_torch:
            return states.expand(self.num_envs).clone()
        return np.array(np.broadcast_to(states, (self.num_envs,)))

    def _obs(self) -> Any:
        kind = self.single_env.observation
        if kind == "index":
            return self.states
        if kind == "coords":
            return self.cells[self.states]
        return self.eye[self.states]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self.xp.seed(self.np_random)
        if options and options.get("start") is not None:
            self.states = self._parse_start(options["start"])
        else:
            self.states = self._start_states(self.num_envs)
        self.steps = self.xp.zeros(self.num_envs, dtype="int64")
        self.prev_done = self.xp.zeros(self.num_envs, dtype="bool")
        return self._obs(), {}

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        xp, env = self.xp, self.single_env
        a = xp.as_index(actions)
        if tuple(a.shape) != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {tuple(a.shape)}")
        if env.slip_prob > 0.0:  # with prob slip_prob, one of the other four actions
            slip = xp.uniform((self.num_envs,)) < env.slip_prob
            other = xp.integers(env.n_actions - 1, (self.num_envs,))
            other = other + (other >= a)
            a = xp.where(slip, other, a)
        next_states = self.next_state_table[self.states, a]
        reward = self.reward_table[self.states, a]
        if env.terminate_at_target:
            terminated = next_states == env.target_state
        else:
            terminated = xp.zeros(self.num_envs, dtype="bool")
        self.steps = self.steps + 1
        if self.max_episode_steps is None:
            truncated = xp.zeros(self.num_envs, dtype="bool")
        else:
            truncated = self.steps >= self.max_episode_steps
        if self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP:
            self.states = next_states
            done = terminated | truncated
            info: dict[str, Any] = {}
            if bool(done.any()):
                final = self._obs()
                info = {"final_obs": final.clone() if xp.is_torch else final.copy(), "_final_obs": done}
                idx = xp.nonzero(done)
                self.states[idx] = self._start_states(int(idx.shape[0]))
                self.steps[idx] = 0
            return self._obs(), reward, terminated, truncated, info
        done = self.prev_done
        if bool(done.any()):  # next-step autoreset
            idx = xp.nonzero(done)
            next_states[idx] = self._start_states(int(idx.shape[0]))
            reward[idx] = 0.0
            terminated[idx] = False
            truncated[idx] = False
            self.steps[idx] = 0
        self.states = next_states
        self.prev_done = terminated | truncated
        return self._obs(), reward, terminated, truncated, {}
