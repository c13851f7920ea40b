"""The base of the tabular agents (DP, MC, TD): tables [S, A], the exact optimum to measure against.

Every tabular agent meets :class:`rlsuite.agents.base.Agent`. After ``learn``, ``q_values``
[S, A], ``state_values`` [S] and ``policy`` [S, A] (action probabilities) are numpy arrays and
``predict(obs)`` acts like stable-baselines3's. When the env has an exact model, the agent
solves it once by value iteration and every history row records the error of the current
estimate against that optimum and whether the greedy policy is optimal.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlsuite.agents.base import Agent, greedy_optimal_fraction, numpy_backend, sample_actions
from rlsuite.agents.tabular.batch import check_array_device, check_batchable
from rlsuite.agents.tabular.solvers import value_iteration
from rlsuite.common.config import config_error
from rlsuite.common.device import to_numpy
from rlsuite.common.errors import UsageError
from rlsuite.envs.model import TabularModel, tabular_model
from rlsuite.envs.wrappers import DiscreteIndexObservation, indexable

# gamma = 1 is solved only where value iteration converges (an episodic task) within this many sweeps.
UNDISCOUNTED_SWEEPS = 10_000


def exact_optimum(model: TabularModel, gamma: float, config: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """``(v*, q*)`` of a tabular model by value iteration.

    Raises:
        ConfigError: ``gamma = 1`` on a model where value iteration does not converge (a continuing
            task: its undiscounted values are infinite), naming ``config``'s ``gamma``.
    """
    if gamma < 1.0:
        v, q, _ = value_iteration(model, gamma=gamma)
        return v, q
    v, q, sweeps = value_iteration(model, gamma=gamma, tol=1e-8, max_iters=UNDISCOUNTED_SWEEPS)
    if sweeps >= UNDISCOUNTED_SWEEPS or not np.isfinite(v).all():
        message = "1.0 leaves the values of this continuing task infinite (no convergence); use gamma < 1"
        if config is not None:
            raise config_error(config, "gamma", message)
        raise UsageError(f"gamma: {message}")
    return v, q


class TabularAgent(Agent):
    """Base of the tabular agents: tables, exact-optimum tracking, save/load of the tables.

    Subclasses set ``name``, ``config_cls``, ``budget_unit`` and ``default_budget`` and implement
    ``learn``. They keep their estimate in ``self.q`` [S, A] (and ``self.v`` [S] when they
    estimate state values directly) and their learned policy in ``self.pi`` [S, A].

    Args:
        env: a gymnasium env with ``Discrete`` actions and ``Discrete`` observations; agents that step this
            env (not a batched copy) also take a ``Tuple`` of ``Discrete`` or a ``MultiDiscrete`` one, flattened
            to one index (:class:`~rlsuite.envs.wrappers.DiscreteIndexObservation`; ``self.env`` is then wrapped).
        config: the algorithm's config; its defaults reproduce the book's example.
        device: where the sample-based agents (MC, TD; ``uses_device``) run their env copies and
            rollouts (TD: its tables too): ``"cpu"`` (numpy, the default), ``"torch:cpu"``, ``"cuda"``,
            ``"cuda:N"`` or ``"auto"`` (see :mod:`rlsuite.common.backend`); learned tables come back
            as numpy. The exact (DP) agents ignore it.
    """

    batches_env = False  # steps copies of its env made by batch.make_batched (MC control, TD)

    def __init__(self, env: gym.Env[Any, Any], config: Any = None, *, device: str = "cpu") -> None:
        config = self.check_config(config)
        self.device = check_array_device(device)
        if self.batches_env:  # its env copies are made by make_batched on that device: refused now, not in learn
            check_batchable(env, self.device)
        # Tuple(Discrete, ...) or MultiDiscrete (Blackjack): one index. Not for the batched agents (MC
        # control, TD), which build their own vector env from the id, where the wrapper does not reach.
        if indexable(env.observation_space) and not self.uses_device:
            env = DiscreteIndexObservation(env)
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
            self.v_star, self.q_star = exact_optimum(self.model, self.gamma, config)

    # ----- the estimates -----
    @property
    def gamma(self) -> float:
        return float(self.config.gamma)

    @property
    def q_values(self) -> np.ndarray:
        """Action values [S, A]."""
        return np.array(to_numpy(self.q), dtype=np.float64)

    @property
    def state_values(self) -> np.ndarray:
        """State values [S]: the direct estimate, else ``sum_a pi(a|s) q(s, a)``."""
        if self.v is not None:
            return np.array(to_numpy(self.v), dtype=np.float64)
        return (self.pi * self.q).sum(axis=1)

    @property
    def policy(self) -> np.ndarray:
        """The learned policy, action probabilities [S, A]."""
        return self.pi.copy()

    def predict(self, obs: Any = None, state: Any = None, deterministic: bool = True) -> tuple[np.ndarray, None]:
        """Actions for one state index or a batch (SB3's signature): greedy, or sampled from ``policy``.

        Raises:
            ValueError: ``obs`` holds something other than integer state indices in ``[0, S)``.
        """
        s = np.asarray(obs)
        if s.dtype.kind not in "iu" or s.size == 0 or (s < 0).any() or (s >= self.n_states).any():
            raise ValueError(f"obs must be state indices in [0, {self.n_states}), got {obs!r}")
        flat = s.astype(np.int64).reshape(-1)
        actions = self.pi[flat].argmax(axis=1) if deterministic else sample_actions(self.pi, flat, numpy_backend())
        return actions.reshape(s.shape), None

    # ----- against the truth -----
    def _model_or_none(self) -> TabularModel | None:
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

    # ----- save / load -----
    def arrays(self) -> dict[str, Any]:
        out = {"q": self.q, "pi": self.pi}
        if self.v is not None:
            out["v"] = self.v
        return out

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        shape = (self.n_states, self.n_actions)
        for name, want in (("q", shape), ("pi", shape), ("v", (self.n_states,))):
            if name in arrays and arrays[name].shape != want:
                raise ValueError(f"{name} has shape {arrays[name].shape}, the env needs {want}")
        self.q = arrays["q"].astype(np.float64)
        self.pi = arrays["pi"].astype(np.float64)
        self.v = arrays["v"].astype(np.float64) if "v" in arrays else None
