"""The dynamic-programming agents (Zhao ch. 4): value iteration, policy iteration, truncated policy iteration.

They need the env's exact model and run the solvers of ``solvers.py`` one iteration at a time
(the solver functions are re-exported here: ``from rlsuite.agents.tabular.dp import value_iteration``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsuite.agents.base import History
from rlsuite.agents.tabular.agent import TabularAgent
from rlsuite.agents.tabular.solvers import (
    _shift_plans,
    _stable_argmax_q,
    _value_iteration_torch,
    greedy_policy,
    iterative_policy_evaluation,
    policy_evaluation,
    policy_iteration,
    value_iteration,
)
from rlsuite.common import progress
from rlsuite.common.config import Config, option
from rlsuite.common.errors import UsageError

__all__ = [
    "DPConfig",
    "PolicyIteration",
    "PolicyIterationConfig",
    "TruncatedPolicyIteration",
    "TruncatedPolicyIterationConfig",
    "ValueIteration",
    "ValueIterationConfig",
    "_shift_plans",
    "_value_iteration_torch",
    "greedy_policy",
    "iterative_policy_evaluation",
    "policy_evaluation",
    "policy_iteration",
    "value_iteration",
]

@dataclass
class DPConfig(Config):
    """What the dynamic-programming agents share."""

    gamma: float = option(0.9, help="discount factor (1 only on episodic tasks)", ge=0.0, le=1.0)


@dataclass
class PolicyIterationConfig(DPConfig):
    """Policy iteration (Zhao ch. 4.2): exact policy evaluation, greedy improvement."""


@dataclass
class ValueIterationConfig(DPConfig):
    """Value iteration (Zhao ch. 4.1)."""

    tol: float = option(1e-6, help="stop when max |v_{k+1} - v_k| < tol (0: run the whole budget)", ge=0.0)


@dataclass
class TruncatedPolicyIterationConfig(ValueIterationConfig):
    """Truncated policy iteration (Zhao ch. 4.3): a few evaluation sweeps per improvement (1: value iteration)."""

    eval_sweeps: int = option(5, help="Bellman-expectation sweeps per iteration (j_truncate)", ge=1)


class _DPAgent(TabularAgent):
    """Model-based agents: need the env's exact model; the budget counts iterations."""

    budget_unit = "iterations"
    default_budget = 1000

    def __init__(self, env: Any, config: Any = None) -> None:
        super().__init__(env, config)
        if self.model is None:
            raise UsageError(
                f"{type(self).__name__} needs an env with an exact model (P or transition_probs)"
            )
        self.v = np.zeros(self.n_states)
        self.pi = greedy_policy(self.model.expected_rewards)

    def value_estimate(self) -> np.ndarray:
        return self.v

    def _q_of(self, v: np.ndarray) -> np.ndarray:
        return self.model.q_values(v, self.gamma)

    def step(self) -> float:
        """One iteration; returns max |v_new - v_old|."""
        raise NotImplementedError

    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        """Iterate until converged or ``budget`` iterations; ``seed`` is unused (DP is deterministic)."""
        budget = self.check_budget(budget)
        history = History()
        with progress.task(self.name, total=budget, unit="iteration") as bar:
            for it in range(1, budget + 1):
                delta = self.step()
                history.log(iteration=it, delta=delta, **self.truth_metrics())
                bar.advance()
                if self.converged(delta):
                    break
        return history

    def converged(self, delta: float) -> bool:
        return delta < getattr(self.config, "tol", 0.0)


class ValueIteration(_DPAgent):
    """Value iteration: ``v_{k+1}(s) = max_a [r(s,a) + gamma sum_s' p(s'|s,a) v_k(s')]``."""

    config_cls = ValueIterationConfig
    name = "value_iteration"

    def step(self) -> float:
        self.q = self._q_of(self.v)
        v_new = self.q.max(axis=1)
        self.pi = greedy_policy(self.q)
        delta = float(np.max(np.abs(v_new - self.v)))
        self.v = v_new
        return delta


class PolicyIteration(_DPAgent):
    """Policy iteration: evaluate the policy exactly, then act greedily on its action values."""

    config_cls = PolicyIterationConfig
    name = "policy_iteration"
    default_budget = 100

    def __init__(self, env: Any, config: Any = None) -> None:
        super().__init__(env, config)
        self._stable = False

    def step(self) -> float:
        v_new = policy_evaluation(self.model, self.pi, self.gamma)
        self.q = self._q_of(v_new)
        new_pi = greedy_policy(_stable_argmax_q(self.q, self.pi))
        self._stable = bool(np.array_equal(new_pi, self.pi))
        self.pi = new_pi
        delta = float(np.max(np.abs(v_new - self.v)))
        self.v = v_new
        return delta

    def converged(self, delta: float) -> bool:
        return self._stable


class TruncatedPolicyIteration(_DPAgent):
    """Truncated policy iteration: ``eval_sweeps`` evaluation sweeps from the last ``v``, then improve."""

    config_cls = TruncatedPolicyIterationConfig
    name = "truncated_policy_iteration"

    def step(self) -> float:
        v_new = iterative_policy_evaluation(self.model, self.pi, self.v, self.gamma, self.config.eval_sweeps)
        self.q = self._q_of(v_new)
        self.pi = greedy_policy(_stable_argmax_q(self.q, self.pi))
        delta = float(np.max(np.abs(v_new - self.v)))
        self.v = v_new
        return delta
