"""Many episodes at once: batched envs for the sample-based agents (MC, TD) and their rollouts.

Episodes run in lockstep: every copy starts together (from states the algorithm chooses) and
runs ``length`` steps; a copy whose episode terminates early is masked out until the next
lockstep reset. The vector env is made without truncation, so its autoreset never fires on a
continuing task.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlsuite.agents.base import env_spec_of
from rlsuite.common.errors import UsageError


def make_batched(env: gym.Env[Any, Any], num_envs: int) -> Any:
    """``num_envs`` copies of ``env`` as one vector env: its batched version when registered, else sync."""
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
            **kwargs,
        )
    kwargs.pop("max_episode_steps", None)
    return gym.vector.SyncVectorEnv([lambda: gym.make(env_id, max_episode_steps=None, **kwargs)] * num_envs)


def start_states(env: gym.Env[Any, Any], n_states: int) -> np.ndarray:
    """States an episode may start from (exploring starts): the env's list, else all states."""
    allowed = getattr(env.unwrapped, "random_start_states", None)
    return np.arange(n_states) if allowed is None else np.asarray(allowed, dtype=np.int64)


def reset_to(venv: Any, states: np.ndarray, seed: int | None = None) -> np.ndarray:
    """Reset every copy to the given start states; returns the observations (state indices)."""
    obs, _ = venv.reset(seed=seed, options={"start": states})
    return np.asarray(obs, dtype=np.int64)


@dataclass
class Rollout:
    """Lockstep episodes, arrays [length, N]: ``alive`` marks the real transitions."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    alive: np.ndarray


def rollout(
    venv: Any,
    states: np.ndarray,
    length: int,
    choose: Callable[[np.ndarray], np.ndarray],
    first_actions: np.ndarray | None = None,
) -> Rollout:
    """Run ``length`` steps in every copy from ``states`` (just reset), actions from ``choose(states)``.

    Args:
        venv: the vector env, reset to ``states``.
        states: the start states [N].
        length: steps per episode.
        choose: maps states [N] to actions [N] (the behaviour policy).
        first_actions: the first action of each episode (exploring starts), else ``choose``'s.
    """
    n = len(states)
    S = np.zeros((length, n), dtype=np.int64)
    A = np.zeros((length, n), dtype=np.int64)
    R = np.zeros((length, n))
    alive = np.ones((length, n), dtype=bool)
    live = np.ones(n, dtype=bool)
    s = states
    for t in range(length):
        a = first_actions if (t == 0 and first_actions is not None) else choose(s)
        obs, r, term, _, _ = venv.step(a)
        S[t], A[t], R[t], alive[t] = s, a, r, live
        live = live & ~np.asarray(term, dtype=bool)
        s = np.asarray(obs, dtype=np.int64)
    R[~alive] = 0.0
    return Rollout(S, A, R, alive)


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``G_t = r_t + gamma G_{t+1}`` over the time axis of [T, N] rewards (zero after the end)."""
    G = np.zeros_like(rewards)
    acc = np.zeros(rewards.shape[1:])
    for t in range(rewards.shape[0] - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        G[t] = acc
    return G


def first_visit_mask(
    states: np.ndarray, actions: np.ndarray, n_actions: int, alive: np.ndarray
) -> np.ndarray:
    """[T, N]: True where (s_t, a_t) is visited for the first time in its episode."""
    T, n = states.shape
    sa = states * n_actions + actions
    first = np.zeros((T, n), dtype=bool)
    seen = np.zeros((n, int(sa.max()) + 1), dtype=bool)
    cols = np.arange(n)
    for t in range(T):
        new = ~seen[cols, sa[t]] & alive[t]
        first[t] = new
        seen[cols, sa[t]] |= alive[t]
    return first


def pair_means(sa: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per index in ``range(size)``: the sum and count of ``values`` at ``sa`` (flat arrays)."""
    return np.bincount(sa, weights=values, minlength=size), np.bincount(sa, minlength=size).astype(float)
