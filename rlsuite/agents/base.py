"""The shared interface of rlsuite's tabular agents: learn, predict, values, save/load, history.

Every algorithm is a class built from an env and a typed config dataclass. ``learn(budget,
seed)`` returns a :class:`History`; afterwards ``q_values`` [S, A], ``state_values`` [S] and
``policy`` [S, A] (action probabilities) are numpy arrays and ``predict(obs)`` acts like
stable-baselines3's. When the env has an exact model, the history records the error of the
current estimate against the exact optimum and whether the greedy policy is optimal.
Agents save to ``PATH.npz`` (arrays) + ``PATH.json`` (name, config, env id and kwargs): no pickle.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from array_api_compat import array_namespace
from array_api_compat import device as array_device

from rlsuite.common.backend import ArrayBackend
from rlsuite.common.device import to_numpy
from rlsuite.common.errors import UsageError
from rlsuite.common.io import atomic_path, write_json


class History:
    """A learning history: one row per iteration / batch, named numeric columns."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def log(self, **row: float) -> None:
        self.rows.append({k: float(v) for k, v in row.items()})

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, name: str) -> np.ndarray:
        return np.array([r[name] for r in self.rows if name in r])

    @property
    def columns(self) -> list[str]:
        names: dict[str, None] = {}
        for r in self.rows:
            names.update(dict.fromkeys(r))
        return list(names)

    def last(self) -> dict[str, float]:
        return dict(self.rows[-1]) if self.rows else {}

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the rows as CSV, atomically."""
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns)
            writer.writeheader()
            writer.writerows(self.rows)
        return Path(path)


def agent_meta(agent: Any, env: Any, drop_env_kwargs: tuple[str, ...] = ()) -> dict[str, Any]:
    """What ``PATH.json`` of a saved agent holds: algorithm, class, config and the env's id and kwargs."""
    env_id, env_kwargs = env_spec_of(env)
    for key in drop_env_kwargs:
        env_kwargs.pop(key, None)
    return {
        "algo": agent.name,
        "class": type(agent).__name__,
        "config": dataclasses.asdict(agent.config),
        "env_id": env_id,
        "env_kwargs": env_kwargs,
    }


def env_spec_of(env: Any) -> tuple[str | None, dict[str, Any]]:
    """The registered id and kwargs of an env or vector env (``None`` when it was built by hand)."""
    spec = getattr(env, "spec", None)
    if spec is None:
        return None, {}
    return spec.id, dict(spec.kwargs or {})


def write_agent_files(
    path: str | os.PathLike[str], arrays: dict[str, np.ndarray], meta: dict[str, Any]
) -> tuple[Path, Path]:
    """Write an agent as ``PATH.npz`` (its arrays) and ``PATH.json`` (``meta``), atomically; no pickle."""
    base = Path(path)
    npz = base.with_name(base.name + ".npz")
    with atomic_path(npz) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return npz, write_json(base.with_name(base.name + ".json"), meta)


def read_agent_files(path: str | os.PathLike[str]) -> tuple[dict[str, Any], Path, dict[str, np.ndarray]]:
    """Read what :func:`write_agent_files` wrote: ``(meta, meta_file, arrays)``."""
    base = Path(path)
    meta_file, npz = base.with_name(base.name + ".json"), base.with_name(base.name + ".npz")
    if not meta_file.is_file() or not npz.is_file():
        raise UsageError(f"{base}: no saved agent ({meta_file.name} and {npz.name} expected)")
    with np.load(npz, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return json.loads(meta_file.read_text()), meta_file, arrays


def exact_optimum(model: Any, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """``(v*, q*)`` of a tabular model by value iteration."""
    from rlsuite.agents.tabular.dp import value_iteration

    v, q, _ = value_iteration(model, gamma=gamma)
    return v, q


def greedy_optimal_fraction(q: np.ndarray, q_star: np.ndarray, tol: float = 1e-6) -> float:
    """Fraction of states whose greedy action under ``q`` is an optimal action under ``q_star``."""
    greedy = q.argmax(axis=1)
    rows = np.arange(q.shape[0])
    return float(np.mean(q_star[rows, greedy] >= q_star.max(axis=1) - tol))


def unique_optimal_actions(q_star: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Per state, the optimal action where it is unique, else -1."""
    best = q_star >= q_star.max(axis=1, keepdims=True) - tol
    return np.where(best.sum(axis=1) == 1, best.argmax(axis=1), -1)


def epsilon_greedy(q: Any, epsilon: float) -> Any:
    """The epsilon-greedy policy [S, A] of ``q`` (ties broken toward the first action, as argmax).

    ``q`` may be a numpy array or a torch tensor on any device; the policy comes back as the same.
    """
    xp = array_namespace(q)
    n_states, n_actions = q.shape
    pi = xp.full(q.shape, epsilon / n_actions, dtype=q.dtype, device=array_device(q))
    pi[xp.arange(n_states, device=array_device(q)), xp.argmax(q, axis=1)] += 1.0 - epsilon
    return pi


def sample_actions(pi: Any, states: Any, rng: ArrayBackend) -> Any:
    """One action per state from the policy rows ``pi[states]`` (inverse-CDF sampling, batched).

    ``pi`` and ``states`` live on ``rng``'s backend (numpy, or torch on a device).
    """
    xp = array_namespace(pi)
    cdf = xp.cumulative_sum(pi[states, ...], axis=1)
    u = rng.uniform((int(states.shape[0]),))[:, None] * cdf[:, -1:]
    return xp.clip(xp.sum(xp.astype(u >= cdf, xp.int64), axis=1), max=pi.shape[1] - 1)


def numpy_backend(seed: int | None = None) -> ArrayBackend:
    """A numpy :class:`ArrayBackend` drawing from ``np.random.default_rng(seed)``."""
    backend = ArrayBackend("cpu")
    backend.seed(np.random.default_rng(seed))
    return backend


class TabularAgent:
    """Base class of the tabular agents (DP, MC, TD): tables, exact-optimum tracking, save/load.

    Subclasses set ``config_cls``, ``budget_unit`` and ``default_budget`` and implement
    ``learn``. They keep their estimate in ``self.q`` [S, A] (and ``self.v`` [S] when they
    estimate state values directly) and their learned policy in ``self.pi`` [S, A].

    Args:
        env: a gymnasium env with ``Discrete`` observation and action spaces.
        config: the algorithm's config dataclass; its defaults reproduce the book's example.
    """

    config_cls: ClassVar[type]
    name: ClassVar[str] = "tabular"
    budget_unit: ClassVar[str] = "episodes"
    default_budget: ClassVar[int] = 100

    def __init__(self, env: gym.Env[Any, Any], config: Any = None) -> None:
        if config is None:
            config = self.config_cls()
        if not isinstance(config, self.config_cls):
            raise UsageError(f"{type(self).__name__}: config must be a {self.config_cls.__name__}")
        obs_space, act_space = env.observation_space, env.action_space
        if not isinstance(obs_space, gym.spaces.Discrete) or not isinstance(act_space, gym.spaces.Discrete):
            raise UsageError(
                f"{type(self).__name__} needs Discrete observations and actions "
                f"(got {type(obs_space).__name__} / {type(act_space).__name__}); use observation='index'"
            )
        self.env = env
        self.config = config
        self.n_states = int(obs_space.n)
        self.n_actions = int(act_space.n)
        self.q = np.zeros((self.n_states, self.n_actions))
        self.v: np.ndarray | None = None
        self.pi = np.full((self.n_states, self.n_actions), 1.0 / self.n_actions)
        self.model = self._model_or_none()
        self.v_star: np.ndarray | None = None
        self.q_star: np.ndarray | None = None
        if self.model is not None:
            self.v_star, self.q_star = exact_optimum(self.model, self.gamma)

    # ----- the estimates -----
    @property
    def gamma(self) -> float:
        return float(getattr(self.config, "gamma", 0.9))

    @property
    def q_values(self) -> np.ndarray:
        """Action values [S, A]."""
        return self.q.copy()

    @property
    def state_values(self) -> np.ndarray:
        """State values [S]: the direct estimate, else ``sum_a pi(a|s) q(s, a)``."""
        if self.v is not None:
            return self.v.copy()
        return (self.pi * self.q).sum(axis=1)

    @property
    def policy(self) -> np.ndarray:
        """The learned policy, action probabilities [S, A]."""
        return self.pi.copy()

    def predict(self, obs: Any, state: Any = None, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """Actions for one observation or a batch (SB3's signature): greedy, or sampled from ``policy``."""
        s = np.asarray(obs, dtype=np.int64)
        flat = s.reshape(-1)
        actions = self.pi[flat].argmax(axis=1) if deterministic else sample_actions(self.pi, flat, numpy_backend())
        return actions.reshape(s.shape), None

    # ----- against the truth -----
    def _model_or_none(self) -> Any:
        from rlsuite.envs.model import tabular_model

        try:
            return tabular_model(self.env)
        except UsageError:
            return None

    def value_estimate(self) -> np.ndarray:
        """The estimate compared with ``v*``: ``max_a q`` for control algorithms (on the host)."""
        return to_numpy(self.q).max(axis=1)

    def truth_metrics(self) -> dict[str, float]:
        """With an exact model: ``value_error`` (max |v - v*|), ``greedy_optimal``, ``optimal_fraction``."""
        if self.v_star is None or self.q_star is None:
            return {}
        frac = greedy_optimal_fraction(to_numpy(self.q), self.q_star)
        return {
            "value_error": float(np.max(np.abs(self.value_estimate() - self.v_star))),
            "optimal_fraction": frac,
            "greedy_optimal": float(frac == 1.0),
        }

    # ----- learning -----
    def learn(self, budget: int | None = None, seed: int = 0, progress: bool = False) -> History:
        """Learn for ``budget`` (in ``budget_unit``; ``default_budget`` when None); return the history."""
        raise NotImplementedError

    @classmethod
    def check_budget(cls, budget: int | None) -> int:
        budget = cls.default_budget if budget is None else budget
        if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 1:
            raise UsageError(
                f"{cls.__name__}: budget must be a positive integer ({cls.budget_unit}), got {budget!r}"
            )
        return int(budget)

    # ----- save / load -----
    def arrays(self) -> dict[str, np.ndarray]:
        out = {"q": self.q, "pi": self.pi}
        if self.v is not None:
            out["v"] = self.v
        return out

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.q = arrays["q"].copy()
        self.pi = arrays["pi"].copy()
        self.v = arrays["v"].copy() if "v" in arrays else None

    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``PATH.npz`` (the tables) and ``PATH.json`` (algorithm, config, env); no pickle."""
        return write_agent_files(path, self.arrays(), agent_meta(self, self.env))

    @classmethod
    def load(cls, path: str | os.PathLike[str], env: gym.Env[Any, Any] | None = None) -> TabularAgent:
        """Rebuild an agent saved by :meth:`save`; the env is re-made from its id unless given."""
        meta, meta_file, arrays = read_agent_files(path)
        from rlsuite.agents.tabular import ALGORITHMS

        if meta.get("algo") not in ALGORITHMS:
            raise UsageError(f"{meta_file}: unknown algorithm {meta.get('algo')!r}")
        klass = ALGORITHMS[meta["algo"]]
        if cls is not TabularAgent and not issubclass(klass, cls):
            raise UsageError(f"{meta_file}: holds a {klass.__name__}, not a {cls.__name__}")
        if env is None:
            if meta.get("env_id") is None:
                raise UsageError(f"{meta_file}: the env was built by hand; pass env= to load()")
            import rlsuite.envs  # noqa: F401  (registers the ids)

            env = gym.make(meta["env_id"], **meta["env_kwargs"])
        config = klass.config_cls(**meta["config"])
        agent = klass(env, config)
        agent.set_arrays(arrays)
        return agent
