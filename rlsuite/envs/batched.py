"""Batched envs: thousands of copies stepped in one array operation, numpy on CPU or torch on a device.

Created through gymnasium's vector entry points::

    envs = gym.make_vec("rlsuite/GridWorld-v0", num_envs=4096, vectorization_mode="vector_entry_point")
    envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=2000, device="cuda")

Both share :class:`BatchedEnv`'s step: the actions are checked (integers of the right shape in
``[0, n)``, after a ``reset``), the env's own transition runs for every copy at once, then the
step count, the truncation and gymnasium's autoreset (next-step by default, same-step on
request) are applied the same way for both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium.vector.vector_env import AutoresetMode

from rlsuite.common.backend import ArrayBackend
from rlsuite.common.memory import check_fits
from rlsuite.envs import checks
from rlsuite.envs.bandit import BanditSpec
from rlsuite.envs.gridworld import GridWorldEnv

BYTES_PER_COPY = 1_000  # the per-copy state, reward and bandit arrays of one step (an over-estimate)


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


def _is_integer_array(actions: Any) -> bool:
    """Whether ``actions`` holds integers (numpy, torch or a list), without copying it."""
    dtype = getattr(actions, "dtype", None)
    if dtype is None:
        dtype = np.asarray(actions).dtype
    if isinstance(dtype, np.dtype):
        return dtype.kind in "iu"
    return not (dtype.is_floating_point or dtype.is_complex) and str(dtype) != "torch.bool"  # a torch dtype


def _dtype_name(actions: Any) -> str:
    dtype = getattr(actions, "dtype", None)
    return f"dtype {dtype}" if dtype is not None else repr(actions)


class BatchedEnv(VectorEnv):
    """What the batched envs share: arguments, action checks, step counting, truncation and autoreset.

    Subclasses set the spaces (``_batch_spaces``) and implement ``_reset_all(options)``,
    ``_reset_rows(idx)`` (fresh episodes in the copies ``idx``), ``_transition(actions) ->
    (reward, terminated, info)`` (every copy moves; the state is updated) and ``_obs()``.
    """

    def __init__(self, num_envs: int, max_episode_steps: int | None, device: str, render_mode: str | None,
                 autoreset_mode: AutoresetMode | str) -> None:  # fmt: skip
        mode = _autoreset_mode(autoreset_mode)
        checks.integer("num_envs", num_envs, 1)
        check_fits(num_envs * BYTES_PER_COPY, f"num_envs {num_envs}")
        if max_episode_steps is not None:
            checks.integer("max_episode_steps", max_episode_steps, 1)
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.metadata = autoreset_metadata(mode)
        self.xp = ArrayBackend(device)
        self._clock(None)
        self._needs_reset = True

    def _clock(self, done: Any) -> None:
        """Start the step clock (``done=None``: every copy) or restart it in the copies ``done``.

        Each copy's episode began at step ``start``; its step count is ``t - start``. Only when ``t``
        reaches the earliest deadline is the truncation compared copy by copy.
        """
        if done is None:
            self.t = 0
            self.start = self.xp.zeros(self.num_envs, dtype="int64")
            self._done: Any = None  # the copies whose episode ended last step (next-step autoreset)
        else:
            self.start[done] = self.t
        limit = self.max_episode_steps
        self._deadline = None if limit is None else (self.t + limit if done is None else int(self.start.min()) + limit)

    @property
    def steps(self) -> Any:
        """Steps taken in each copy's current episode [num_envs]."""
        return self.t - self.start

    def _batch_spaces(self, action: spaces.Discrete, observation: spaces.Space[Any]) -> None:
        self.single_action_space = action
        self.action_space = batch_space(action, self.num_envs)
        self.single_observation_space = observation
        self.observation_space = batch_space(observation, self.num_envs)
        self.n_actions = int(action.n)

    # ----- what each env implements -----
    def _reset_all(self, options: dict[str, Any] | None) -> None:
        raise NotImplementedError

    def _reset_rows(self, idx: Any) -> None:
        raise NotImplementedError

    def _transition(self, a: Any) -> tuple[Any, Any, dict[str, Any]]:
        """Move every copy by its action: ``(reward, terminated or None if it never terminates, info)``."""
        raise NotImplementedError

    def _obs(self) -> Any:
        raise NotImplementedError

    def _reset_info(self) -> dict[str, Any]:
        return {}

    # ----- shared -----
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self.xp.seed(self.np_random)
        self._reset_all(options)
        self._clock(None)
        self._needs_reset = False
        return self._obs(), self._reset_info()

    def actions(self, actions: Any) -> Any:
        """``actions`` checked, as int64 on the backend: integers, shape ``(num_envs,)``, in ``[0, n)``.

        Raises:
            ResetNeeded: before the first ``reset``.
            TypeError: floats, booleans or strings (never truncated to integers).
            ValueError: a wrong shape, or an action outside ``[0, n)`` (-1 is not "stay").
        """
        if self._needs_reset:
            raise ResetNeeded(f"{type(self).__name__}: call reset() before step()")
        if not _is_integer_array(actions):
            raise TypeError(f"actions must be integers in [0, {self.n_actions}), got {_dtype_name(actions)}")
        xp = self.xp
        a = xp.as_index(actions)
        if tuple(a.shape) != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {tuple(a.shape)}")
        if xp.is_torch:
            bad = bool(((a < 0) | (a >= self.n_actions)).any())
        else:  # one pass: negative int64 read as uint64 are huge
            bad = bool(a.size) and int(a.view(np.uint64).max()) >= self.n_actions
        if bad:
            wrong = sorted({int(x) for x in a.tolist() if not 0 <= x < self.n_actions})[:5]
            raise ValueError(f"actions must lie in [0, {self.n_actions}), got {wrong}")
        return a

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        xp, n = self.xp, self.num_envs
        reward, terminated, info = self._transition(self.actions(actions))  # terminated None: never
        self.t += 1
        timed = self._deadline is not None and self.t >= self._deadline  # some copies may reach the limit
        truncated = self.start <= self.t - self.max_episode_steps if timed else xp.zeros(n, dtype="bool")
        ends = timed or terminated is not None  # whether any episode can have ended in this step
        if terminated is None:
            terminated = xp.zeros(n, dtype="bool")
        if self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP:
            done = terminated | truncated if ends else None
            if done is not None and bool(done.any()):  # fresh episodes now; the last observations go in info
                final = self._obs()
                info |= {"final_obs": final.clone() if xp.is_torch else final.copy(), "_final_obs": done}
                idx = xp.nonzero(done)
                self._reset_rows(idx)
                self._clock(idx)
            return self._obs(), reward, terminated, truncated, info
        if self._done is not None:  # next-step autoreset: the step after an episode's end starts a new one
            idx = self._done
            self._reset_rows(idx)
            reward[idx] = 0.0
            terminated[idx] = False
            truncated[idx] = False
            self._clock(idx)
        done = terminated | truncated if ends else None
        self._done = xp.nonzero(done) if done is not None and bool(done.any()) else None
        return self._obs(), reward, terminated, truncated, info

    @property
    def prev_done(self) -> Any:
        """The copies whose episode ended in the last step (reset by the next one)."""
        mask = self.xp.zeros(self.num_envs, dtype="bool")
        if self._done is not None:
            mask[self._done] = True
        return mask


class KArmedBanditVectorEnv(BatchedEnv):
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
        super().__init__(num_envs, max_episode_steps, device, render_mode, autoreset_mode)
        self.spec_args = BanditSpec(**kwargs)
        self.k = self.spec_args.k
        self._batch_spaces(spaces.Discrete(self.k), spaces.Discrete(1))
        self.q_star = self.xp.zeros((num_envs, self.k))
        self._zeros = self.xp.zeros(num_envs, dtype="int64")

    def _draw_q(self, n: int) -> Any:
        spec = self.spec_args
        if self.xp.is_torch and spec.means is None and not spec.nonstationary:  # draw on the device
            if spec.arms == "bernoulli":
                return self.xp.uniform((n, self.k))
            return spec.q_mean + spec.q_std * self.xp.normal((n, self.k))
        return self.xp.asarray(spec.sample_q(self.np_random, n))

    def _reset_all(self, options: dict[str, Any] | None) -> None:
        self.q_star = self._draw_q(self.num_envs)
        self._refresh_best()

    def _refresh_best(self) -> None:
        """max q* and an optimal arm per copy, kept while q* does not change (a stationary bandit's
        q* changes only when a copy starts a new problem)."""
        xp = self.xp
        self._best = self.q_star.amax(1) if xp.is_torch else self.q_star.max(1)  # torch's max(dim) is slow on CPU
        self._best_arm = self.q_star.argmax(1)

    def _reset_info(self) -> dict[str, Any]:
        return {"optimal_arm": self._best_arm.clone() if self.xp.is_torch else self._best_arm.copy()}

    def _reset_rows(self, idx: Any) -> None:
        self.q_star[idx] = self._draw_q(int(idx.shape[0]))  # fresh problems
        self._refresh_best()

    def _obs(self) -> Any:
        return self._zeros

    def _transition(self, a: Any) -> tuple[Any, Any, dict[str, Any]]:
        xp, spec = self.xp, self.spec_args
        q_a = self.q_star[xp.arange(self.num_envs), a]
        best = self._best
        if spec.arms == "bernoulli":
            reward = xp.cast_float(xp.uniform((self.num_envs,)) < q_a)
        else:
            reward = q_a + spec.reward_std * xp.normal((self.num_envs,))
        info = {**self._reset_info(), "regret": best - q_a, "optimal": q_a >= best}
        if spec.nonstationary:
            self.q_star = self.q_star + spec.walk_std * xp.normal(tuple(self.q_star.shape))
            if spec.arms == "bernoulli":
                self.q_star = self.q_star.clip(0.0, 1.0)
            self._refresh_best()
        return reward, None, info  # a bandit never terminates


class GridWorldVectorEnv(BatchedEnv):
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
        super().__init__(num_envs, max_episode_steps, device, render_mode, autoreset_mode)
        self.single_env = env = GridWorldEnv(**kwargs)
        xp = self.xp
        # flat [S * A] tables: one gather per step
        self.next_state_flat = xp.asarray(env.next_state_table.reshape(-1), dtype="int64")
        self.reward_flat = xp.asarray(env.reward_table.reshape(-1))
        self.random_start_states = xp.asarray(env.random_start_states, dtype="int64")
        self.cells = xp.asarray([env.to_cell(s) for s in range(env.n_states)], dtype="int64")
        self.eye = xp.asarray(np.eye(env.n_states, dtype=np.float32), dtype="float32")
        self._batch_spaces(env.action_space, env.observation_space)
        self.states = xp.zeros(num_envs, dtype="int64")

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

    def _reset_all(self, options: dict[str, Any] | None) -> None:
        if options and options.get("start") is not None:
            self.states = self._parse_start(options["start"])
        else:
            self.states = self._start_states(self.num_envs)

    def _reset_rows(self, idx: Any) -> None:
        self.states[idx] = self._start_states(int(idx.shape[0]))

    def _transition(self, a: Any) -> tuple[Any, Any, dict[str, Any]]:
        xp, env = self.xp, self.single_env
        if env.slip_prob > 0.0:  # with prob slip_prob, one of the other four actions
            slip = xp.uniform((self.num_envs,)) < env.slip_prob
            other = xp.integers(env.n_actions - 1, (self.num_envs,))
            other = other + (other >= a)
            a = xp.where(slip, other, a)
        flat = self.states * env.n_actions + a
        if xp.is_torch:
            next_states, reward = self.next_state_flat[flat], self.reward_flat[flat]
        else:
            next_states, reward = self.next_state_flat.take(flat), self.reward_flat.take(flat)
        self.states = next_states
        return reward, (next_states == env.target_state) if env.terminate_at_target else None, {}
