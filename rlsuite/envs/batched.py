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

from rlsuite.common.device import to_numpy
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


class ArrayBackend:
    """numpy arrays on CPU (``device="cpu"``) or torch tensors on a device (``"cuda"``, ``"auto"``).

    All randomness comes from the env's ``np_random``: numpy draws from it directly, torch
    from a ``torch.Generator`` seeded from it at each ``reset(seed=...)``.
    """

    def __init__(self, device: str = "cpu") -> None:
        self.is_torch = device != "cpu"
        self.rng: Any = None
        if self.is_torch:
            import torch

            from rlsuite.common.device import select_device

            self.torch = torch
            self.device = select_device(device)
            self.float = torch.float32
            self.gen = torch.Generator(device=self.device)
        else:
            self.device = "cpu"
            self.float = np.float64

    def _dtype(self, dtype: str) -> Any:
        if dtype == "float":
            return self.float
        return getattr(self.torch, dtype) if self.is_torch else np.dtype(dtype)

    def seed(self, np_random: np.random.Generator) -> None:
        self.rng = np_random
        if self.is_torch:
            self.gen.manual_seed(int(np_random.integers(2**62)))

    def zeros(self, shape: Any, dtype: str = "float") -> Any:
        if self.is_torch:
            return self.torch.zeros(shape, dtype=self._dtype(dtype), device=self.device)
        return np.zeros(shape, dtype=self._dtype(dtype))

    def ones(self, shape: Any, dtype: str = "float") -> Any:
        if self.is_torch:
            return self.torch.ones(shape, dtype=self._dtype(dtype), device=self.device)
        return np.ones(shape, dtype=self._dtype(dtype))

    def asarray(self, x: Any, dtype: str = "float") -> Any:
        if self.is_torch:
            if isinstance(x, self.torch.Tensor):  # already a tensor (maybe on the device): no host trip
                return x.to(device=self.device, dtype=self._dtype(dtype))
            return self.torch.as_tensor(np.asarray(x), dtype=self._dtype(dtype), device=self.device)
        return to_numpy(x).astype(self._dtype(dtype), copy=False)

    def as_index(self, x: Any) -> Any:
        """Actions from numpy, torch or lists, as int64 on this backend (no copy when already so)."""
        if self.is_torch:
            if isinstance(x, self.torch.Tensor):
                return x.to(device=self.device, dtype=self.torch.int64)
            return self.torch.as_tensor(np.asarray(x), dtype=self.torch.int64, device=self.device)
        return to_numpy(x).astype(np.int64, copy=False)  # numpy, or a torch tensor given to the numpy backend

    def cast_float(self, x: Any) -> Any:
        return x.to(self.float) if self.is_torch else x.astype(self.float)

    def where(self, cond: Any, x: Any, y: Any) -> Any:
        return self.torch.where(cond, x, y) if self.is_torch else np.where(cond, x, y)

    def arange(self, n: int) -> Any:
        return self.torch.arange(n, device=self.device) if self.is_torch else np.arange(n)

    def nonzero(self, mask: Any) -> Any:
        return self.torch.nonzero(mask).flatten() if self.is_torch else np.flatnonzero(mask)

    def normal(self, shape: tuple[int, ...]) -> Any:
        if self.is_torch:
            return self.torch.randn(shape, generator=self.gen, device=self.device, dtype=self.float)
        return self.rng.standard_normal(shape)

    def uniform(self, shape: tuple[int, ...]) -> Any:
        if self.is_torch:
            return self.torch.rand(shape, generator=self.gen, device=self.device, dtype=self.float)
        return self.rng.random(shape)

    def integers(self, high: int, shape: tuple[int, ...]) -> Any:
        if self.is_torch:
            return self.torch.randint(high, shape, generator=self.gen, device=self.device)
        return self.rng.integers(high, size=shape)

    def choice(self, values: Any, shape: tuple[int, ...]) -> Any:
        """Uniform draws from the 1-D array ``values`` (on this backend)."""
        return values[self.integers(int(values.shape[0]), shape)]

    def gamma(self, shape_param: Any) -> Any:
        """Gamma(``shape_param``, 1) draws, one per entry (numpy's sampler; Marsaglia-Tsang on torch).

        Marsaglia and Tsang's squeeze-free rejection method, vectorised: every entry redraws until
        accepted (about 1.03 rounds on average for shape >= 1); shape < 1 uses the boost
        ``Gamma(a) = Gamma(a + 1) * U^(1/a)``.
        """
        if not self.is_torch:
            return self.rng.gamma(shape_param)
        torch = self.torch
        alpha = torch.as_tensor(shape_param, dtype=self.float, device=self.device)
        boost = alpha < 1.0
        a = torch.where(boost, alpha + 1.0, alpha)
        d = a - 1.0 / 3.0
        c = 1.0 / torch.sqrt(9.0 * d)
        out = torch.empty_like(a)
        todo = torch.ones_like(a, dtype=torch.bool)
        while bool(todo.any()):
            x = self.normal(tuple(a.shape))
            v = (1.0 + c * x) ** 3
            u = self.uniform(tuple(a.shape))
            ok = todo & (v > 0) & (torch.log(u) < 0.5 * x * x + d - d * v + d * torch.log(v.clamp_min(1e-30)))
            out = torch.where(ok, d * v, out)
            todo = todo & ~ok
        u = self.uniform(tuple(a.shape))
        return torch.where(boost, out * u ** (1.0 / alpha), out)

    def beta(self, a: Any, b: Any) -> Any:
        """Beta(``a``, ``b``) draws, one per entry: ``X / (X + Y)`` with X, Y gamma draws."""
        if not self.is_torch:
            return self.rng.beta(a, b)
        x, y = self.gamma(a), self.gamma(b)
        return x / (x + y)

    def spawn(self) -> ArrayBackend:
        """A backend of the same kind and device with its own generator (an agent beside an env)."""
        twin = ArrayBackend.__new__(ArrayBackend)
        twin.__dict__.update(self.__dict__)
        twin.rng = None
        if self.is_torch:
            twin.gen = self.torch.Generator(device=self.device)
        return twin


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
            start = np.array(np.broadcast_to(np.asarray(options["start"], dtype=np.int64), (self.num_envs,)))
            if ((start < 0) | (start >= self.single_env.n_states)).any():
                raise ValueError(f"options['start'] states must lie in [0, {self.single_env.n_states})")
            self.states = self.xp.asarray(start, dtype="int64")
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
