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
from rlsuite.common.device import to_numpy
from rlsuite.common.memory import check_fits
from rlsuite.envs import checks
from rlsuite.envs.bandit import BanditSpec
from rlsuite.envs.gridworld import GridWorldEnv
from rlsuite.envs.wrappers import encode_states

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
        self.backend = ArrayBackend(device)
        self._clock(None)
        self._needs_reset = True

    def _clock(self, done: Any) -> None:
        """Start the step clock (``done=None``: every copy) or restart it in the copies of the mask ``done``.

        Each copy's episode began at step ``start``; its step count is ``t - start``. Only when ``t``
        reaches the earliest deadline is the truncation compared copy by copy. On torch the earliest
        start is not read back: the old deadline stays (a lower bound), and truncation is compared every
        step after it.
        """
        if done is None:
            self.t = 0
            self.start = self.backend.zeros(self.num_envs, dtype="int64")
            self._done: Any = None  # mask of the copies whose episode ended last step (next-step autoreset)
        else:
            self.start = self.backend.where(done, self.t, self.start)
        limit = self.max_episode_steps
        if limit is None:
            self._deadline = None
        elif done is None:
            self._deadline = self.t + limit
        else:
            earliest = self.backend.earliest(self.start)
            self._deadline = self._deadline if earliest is None else earliest + limit

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
        self._action_shapes = ((self.num_envs,),)
        self._action_shape_error = f"actions must have shape ({self.num_envs},), got {{}}"

    # ----- what each env implements -----
    def _reset_all(self, options: dict[str, Any] | None) -> None:
        raise NotImplementedError

    def _reset_rows(self, done: Any) -> None:
        """Fresh episodes in the copies of the mask ``done`` (``ArrayBackend.fill_where``)."""
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
        self.backend.seed(self.np_random)
        self._reset_all(options)
        self._clock(None)
        self._needs_reset = False
        return self._obs(), self._reset_info()

    def actions(self, actions: Any) -> Any:
        """``actions`` checked, as int64 on the backend: integers, shape ``(num_envs,)``, in ``[0, n)``.

        Actions on the host (numpy, lists, CPU tensors) are checked there before they move. Actions
        already on a GPU are checked on the GPU without waiting for it (``torch._assert_async``): a bad one
        stops the run with a device-side assert at the next sync instead of a ``ValueError`` here.

        Raises:
            ResetNeeded: before the first ``reset``.
            TypeError: floats, booleans or strings (never truncated to integers).
            ValueError: a wrong shape, or an action on the host outside ``[0, n)`` (-1 is not "stay").
        """
        if self._needs_reset:
            raise ResetNeeded(f"{type(self).__name__}: call reset() before step()")
        return _checked_index(self.backend, actions, self._action_shapes, self._action_shape_error, self.n_actions,
                              "actions")

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """One step of every copy, with no host-device sync on torch (masks, never index lists)."""
        backend, n = self.backend, self.num_envs
        reward, terminated, info = self._transition(self.actions(actions))  # terminated None: never
        self.t += 1
        timed = self._deadline is not None and self.t >= self._deadline  # some copies may reach the limit
        truncated = self.start <= self.t - self.max_episode_steps if timed else backend.zeros(n, dtype="bool")
        ends = timed or terminated is not None  # whether any episode can have ended in this step
        if terminated is None:
            terminated = backend.zeros(n, dtype="bool")
        if self.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP:
            done = terminated | truncated if ends else None
            if done is not None and backend.maybe_any(done):  # fresh episodes now; the last observations in info
                info |= {"final_obs": backend.copy(self._obs()), "_final_obs": done}
                self._reset_rows(done)
                self._clock(done)
            return self._obs(), reward, terminated, truncated, info
        if self._done is not None:  # next-step autoreset: the step after an episode's end starts a new one
            done = self._done
            self._reset_rows(done)
            reward = backend.where(done, 0.0, reward)
            terminated = terminated & ~done
            truncated = truncated & ~done
            self._clock(done)
        done = terminated | truncated if ends else None
        self._done = done if done is not None and backend.maybe_any(done) else None
        return self._obs(), reward, terminated, truncated, info

    @property
    def prev_done(self) -> Any:
        """The copies whose episode ended in the last step (reset by the next one)."""
        return self.backend.zeros(self.num_envs, dtype="bool") if self._done is None else self._done


def _on_device(x: Any) -> bool:
    """Whether ``x`` is a tensor on an accelerator (numpy's ``device`` is the string "cpu")."""
    return getattr(getattr(x, "device", None), "type", "cpu") != "cpu"


def _checked_index(
    backend: ArrayBackend, given: Any, shapes: tuple[tuple[int, ...], ...], shape_error: str, n: int, name: str
) -> Any:
    """``given`` as int64 indices on ``backend``, of one of ``shapes``, each in ``[0, n)``.

    Floats, booleans and strings are refused (``TypeError``: never truncated to integers). Host values are checked
    on the host (``ValueError``; ``shape_error`` formatted with the shape given); values on a GPU are checked
    there, asynchronously (no sync).
    """
    if not _is_integer_array(given):
        raise TypeError(f"{name} must be integers in [0, {n}), got {_dtype_name(given)}")
    if type(given) is np.ndarray:  # the common case first: no conversion
        host = given if given.dtype == np.int64 else given.astype(np.int64)
    elif _on_device(given):
        index = backend.as_index(given)
        _check_shape(index, shapes, shape_error)
        backend.torch._assert_async(((index >= 0) & (index < n)).all(), f"{name} must lie in [0, {n})")
        return index
    else:  # a list, a number or a CPU tensor (no copy where it can)
        host = to_numpy(given).astype(np.int64, copy=False)
    _check_shape(host, shapes, shape_error)
    bad = bool(host.size) and int(host.view(np.uint64).max()) >= n  # one pass: negatives read as uint64 are huge
    if bad:
        wrong = sorted({int(x) for x in host.reshape(-1).tolist() if not 0 <= x < n})[:5]
        raise ValueError(f"{name} must lie in [0, {n}), got {wrong}")
    return backend.as_index(host)


def _check_shape(index: Any, shapes: tuple[tuple[int, ...], ...], shape_error: str) -> None:
    if tuple(index.shape) not in shapes:
        raise ValueError(shape_error.format(tuple(index.shape)))


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
        self.q_star = self.backend.zeros((num_envs, self.k))
        self._zeros = self.backend.zeros(num_envs, dtype="int64")

    def _draw_q(self, n: int) -> Any:
        spec, backend = self.spec_args, self.backend
        if backend.is_torch and spec.means is None and not spec.nonstationary:  # draw with the device's generator
            if spec.arms == "bernoulli":
                return backend.uniform((n, self.k))
            return spec.q_mean + spec.q_std * backend.normal((n, self.k))
        return backend.asarray(spec.sample_q(self.np_random, n))  # numpy's stream, as the single env draws

    def _reset_all(self, options: dict[str, Any] | None) -> None:
        self.q_star = self._draw_q(self.num_envs)
        self._refresh_best()

    def _refresh_best(self) -> None:
        """max q* and an optimal arm per copy, kept while q* does not change (a stationary bandit's
        q* changes only when a copy starts a new problem)."""
        self._best = self.backend.amax(self.q_star, 1)
        self._best_arm = self.q_star.argmax(1)

    def _reset_info(self) -> dict[str, Any]:
        return {"optimal_arm": self.backend.copy(self._best_arm)}

    def _reset_rows(self, done: Any) -> None:
        self.q_star = self.backend.fill_where(self.q_star, done, self._draw_q)  # fresh problems
        self._refresh_best()

    def _obs(self) -> Any:
        return self._zeros

    def _transition(self, a: Any) -> tuple[Any, Any, dict[str, Any]]:
        backend, spec = self.backend, self.spec_args
        q_a = self.q_star[backend.arange(self.num_envs), a]
        best = self._best
        if spec.arms == "bernoulli":
            reward = backend.cast_float(backend.uniform((self.num_envs,)) < q_a)
        else:
            reward = q_a + spec.reward_std * backend.normal((self.num_envs,))
        info = {**self._reset_info(), "regret": best - q_a, "optimal": q_a >= best}
        if spec.nonstationary:
            self.q_star = self.q_star + spec.walk_std * backend.normal(tuple(self.q_star.shape))
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
        backend = self.backend
        # flat [S * A] tables: one gather per step
        self.next_state_flat = backend.asarray(env.next_state_table.reshape(-1), dtype="int64")
        self.reward_flat = backend.asarray(env.reward_table.reshape(-1))
        self.random_start_states = backend.asarray(env.random_start_states, dtype="int64")
        self._batch_spaces(env.action_space, env.observation_space)
        self.states = backend.zeros(num_envs, dtype="int64")

    def _start_states(self, n: int) -> Any:
        env = self.single_env
        if env.start_state is not None:
            return self.backend.asarray(np.full(n, env.start_state), dtype="int64")
        return self.backend.choice(self.random_start_states, (n,))

    def _parse_start(self, start: Any) -> Any:
        """``options["start"]`` (an int, a list, a numpy array or a tensor on any device) as [N] states on
        this backend; a tensor on the device stays there (no trip through numpy, no sync)."""
        shapes = ((), (1,), (self.num_envs,))
        shape = f"options['start'] must be one state or {self.num_envs} states, got shape {{}}"
        n_states = self.single_env.n_states
        states = _checked_index(self.backend, start, shapes, shape, n_states, "options['start'] states")
        return self.backend.broadcast(states, self.num_envs)

    def _obs(self) -> Any:
        """The copies' observations, encoded as the single env encodes its own (``rlsuite.envs.wrappers``)."""
        if self.single_env.observation == "index":  # the default, every step: no call
            return self.states
        return encode_states(self.states, self.single_env, self.backend)

    def _reset_all(self, options: dict[str, Any] | None) -> None:
        if options and options.get("start") is not None:
            self.states = self._parse_start(options["start"])
        else:
            self.states = self._start_states(self.num_envs)

    def _reset_rows(self, done: Any) -> None:
        self.states = self.backend.fill_where(self.states, done, self._start_states)

    def _transition(self, a: Any) -> tuple[Any, Any, dict[str, Any]]:
        backend, env = self.backend, self.single_env
        if env.slip_prob > 0.0:  # with prob slip_prob, one of the other four actions
            slip = backend.uniform((self.num_envs,)) < env.slip_prob
            other = backend.integers(env.n_actions - 1, (self.num_envs,))
            other = other + (other >= a)
            a = backend.where(slip, other, a)
        flat = self.states * env.n_actions + a
        next_states, reward = backend.take(self.next_state_flat, flat), backend.take(self.reward_flat, flat)
        self.states = next_states
        return reward, (next_states == env.target_state) if env.terminate_at_target else None, {}
