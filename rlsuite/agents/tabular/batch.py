"""Many episodes at once: batched envs for the sample-based agents (MC, TD) and their rollouts.

Episodes run in lockstep: every copy starts together (from states the algorithm chooses) and
runs ``length`` steps; a copy whose episode terminates early is masked out until the next
lockstep reset. The vector env is made without truncation, so its autoreset never fires on a
continuing task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np

from rlsuite.agents.base import env_spec_of
from rlsuite.common.backend import TORCH_PREFIX, ArrayBackend
from rlsuite.common.device import device_problem, to_numpy
from rlsuite.common.errors import UsageError

log = logging.getLogger(__name__)


def check_array_device(device: str) -> str:
    """``device`` if it is cpu (numpy), auto, cuda or cuda:N, or one of them after ``torch:`` (torch
    explicitly: ``torch:cpu``; see ``rlsuite.common.backend``); else a one-line ``UsageError`` naming it."""
    if not isinstance(device, str) or device_problem(device.removeprefix(TORCH_PREFIX)) is not None:
        raise UsageError(f"device: {device!r} is not one of cpu, auto, cuda, cuda:N, torch:cpu")
    return device


def check_batchable(env: gym.Env[Any, Any], device: str) -> None:
    """The one-line ``UsageError`` of :func:`make_batched` for a ``device`` other than ``"cpu"`` on a registered env
    without a batched version, raised where an agent is built, before any work (a run folder, a training)."""
    env_id, _ = env_spec_of(env)
    if env_id is not None and device != "cpu" and gym.spec(env_id).vector_entry_point is None:
        raise UsageError(f"device {device!r}: {env_id} has no batched version; only rlsuite's batched envs run there")


def make_batched(env: gym.Env[Any, Any], num_envs: int, device: str = "cpu") -> Any:
    """``num_envs`` copies of ``env`` as one vector env: its batched version when registered, else sync.

    ``device`` other than ``"cpu"`` puts the batched version's arrays on that torch device (rlsuite's
    batched envs only: a sync vector env of single envs is numpy on the CPU).
    """
    env_id, kwargs = env_spec_of(env)
    if env_id is None:
        raise UsageError("sample-based tabular agents need a registered env (made with gym.make(ID, ...))")
    spec = gym.spec(env_id)
    if spec.vector_entry_point is not None:
        return gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="vector_entry_point",
            max_episode_steps=None,
            device=device,
            **kwargs,
        )
    check_batchable(env, device)
    kwargs.pop("max_episode_steps", None)
    unlimited = replace(spec, max_episode_steps=None)  # gym.make(ID, max_episode_steps=None): the spec's
    return gym.vector.SyncVectorEnv([lambda: gym.make(unlimited, **kwargs)] * num_envs)


def backend_of(venv: Any, seed: int) -> ArrayBackend:
    """The agent's random numbers beside the vector env's arrays (numpy, or torch on its device)."""
    own = getattr(venv, "backend", None)
    backend = own.spawn() if isinstance(own, ArrayBackend) else ArrayBackend("cpu")
    backend.seed(np.random.default_rng(seed))
    return backend


def start_states(env: gym.Env[Any, Any], n_states: int) -> np.ndarray:
    """States an episode may start from (exploring starts): the env's list, else all states."""
    allowed = getattr(env.unwrapped, "random_start_states", None)
    return np.arange(n_states) if allowed is None else np.asarray(allowed, dtype=np.int64)


def reset_to(venv: Any, states: Any, seed: int | None = None) -> Any:
    """Reset every copy to the given start states; returns the observations (state indices)."""
    if isinstance(venv, gym.vector.SyncVectorEnv):  # it would hand every copy all the starts: each is placed
        obs, _ = venv.reset(seed=seed)
        return as_states(venv, _start_single_envs(venv, np.asarray(states, dtype=np.int64), np.asarray(obs)))
    obs, _ = venv.reset(seed=seed, options={"start": states})
    return as_states(venv, obs)


def _placeable(base: Any) -> bool:
    """Whether ``place_at`` can set this (unwrapped) env's state: a toy-text env (FrozenLake, CliffWalking,
    Taxi) keeps it in ``s``, which its step reads (with the exact model ``P`` beside it)."""
    return isinstance(getattr(base, "s", None), int | np.integer) and hasattr(base, "P")


def place_at(base: Any, s: int) -> bool:
    """Put an (unwrapped) env whose reset ignored ``options["start"]`` at state ``s`` if it can be
    (``_placeable``); returns whether it was. The one way both the tabular and the approx agents start
    such an env at a chosen state."""
    if not _placeable(base):
        return False
    base.s = type(base.s)(s)
    return True


def _start_single_envs(venv: gym.vector.SyncVectorEnv, states: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Put the copies of a sync vector env, just reset, at ``states`` (``place_at``). A copy that cannot be
    placed starts where its reset put it, and a warning says so (once per vector env)."""
    if np.array_equal(obs, states):
        return obs
    bases = [env.unwrapped for env in venv.envs]
    if all(_placeable(b) for b in bases):
        for base, s in zip(bases, states, strict=True):
            place_at(base, int(s))
        return states.copy()
    if not getattr(venv, "_rlsuite_start_warned", False):
        spec = venv.envs[0].spec
        log.warning(
            "%s cannot be put at a chosen start state (no state index s beside P): episodes start where the env "
            "starts them, not at the random states these agents restart from (the states it never starts near may "
            "never be visited)",
            spec.id if spec is not None else type(bases[0]).__name__,
        )
        venv._rlsuite_start_warned = True
    return obs


def as_states(venv: Any, obs: Any) -> Any:
    """Observations as int64 state indices on the vector env's backend."""
    backend = getattr(venv, "backend", None)
    return backend.as_index(obs) if isinstance(backend, ArrayBackend) else np.asarray(obs, dtype=np.int64)


@dataclass
class Rollout:
    """Lockstep episodes, arrays [length, N] on the env's backend: ``alive`` marks the real transitions."""

    states: Any
    actions: Any
    rewards: Any
    alive: Any


def rollout(
    venv: Any,
    states: Any,
    length: int,
    choose: Callable[[Any], Any],
    backend: ArrayBackend,
    first_actions: Any = None,
) -> Rollout:
    """Run ``length`` steps in every copy from ``states`` (just reset), actions from ``choose(states)``.

    Args:
        venv: the vector env, reset to ``states``.
        states: the start states [N].
        length: steps per episode.
        choose: maps states [N] to actions [N] (the behaviour policy).
        backend: where the arrays live (the env's backend).
        first_actions: the first action of each episode (exploring starts), else ``choose``'s.
    """
    n = int(states.shape[0])
    S = backend.zeros((length, n), dtype="int64")
    A = backend.zeros((length, n), dtype="int64")
    R = backend.zeros((length, n))
    alive = backend.zeros((length, n), dtype="bool")
    live = backend.ones(n, dtype="bool")
    s = states
    for t in range(length):
        a = first_actions if (t == 0 and first_actions is not None) else choose(s)
        obs, r, term, _, _ = venv.step(a)
        S[t], A[t], R[t], alive[t] = s, a, backend.asarray(r), live
        live = live & ~backend.asarray(term, dtype="bool")
        s = as_states(venv, obs)
    R[~alive] = 0.0
    return Rollout(S, A, R, alive)


def discounted_returns(rewards: Any, gamma: float) -> Any:
    """``G_t = r_t + gamma G_{t+1}`` over the time axis of [T, N] rewards (zero after the end)."""
    G = ArrayBackend.of(rewards).copy(rewards)
    for t in range(rewards.shape[0] - 2, -1, -1):
        G[t] += gamma * G[t + 1]
    return G


def first_visit_mask(states: Any, actions: Any, n_actions: int, alive: Any, n_states: int | None = None) -> Any:
    """[T, N]: True where (s_t, a_t) is visited for the first time in its episode.

    ``n_states`` sizes the table of pairs seen (without it, the largest pair is read: a sync on a GPU).
    """
    backend = ArrayBackend.of(states)
    T, n = states.shape
    sa = states * n_actions + actions
    first = backend.zeros((T, n), dtype="bool")
    pairs = int(sa.max()) + 1 if n_states is None else n_states * n_actions
    seen = backend.zeros((n, pairs), dtype="bool")
    cols = backend.arange(n)
    for t in range(T):
        new = ~seen[cols, sa[t]] & alive[t]
        first[t] = new
        seen[cols, sa[t]] |= alive[t]
    return first


def pair_means(sa: Any, values: Any, size: int, mask: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Per index in ``range(size)``: the sum and count of ``values`` at ``sa`` where ``mask`` is set (arrays of
    one shape; no mask: all), on the host. Fixed shapes on the device: no boolean indexing."""
    backend = ArrayBackend.of(sa)
    sa, values, mask = sa.reshape(-1), values.reshape(-1), None if mask is None else mask.reshape(-1)
    sums, counts = backend.bincount(sa, values, size, mask), backend.bincount(sa, None, size, mask)
    return to_numpy(sums).astype(np.float64), to_numpy(counts).astype(np.float64)
