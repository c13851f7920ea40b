"""Linear function approximation (Zhao ch. 8): TD-Linear (Algorithm 8.1), Sarsa and Q-learning with
linear features (Algorithms 8.2 and 8.3, linear).

``v_hat(s, w) = phi(s)^T w``; the action values keep one weight column per action,
``q_hat(s, a, W) = phi(s)^T W[:, a]`` (a feature vector ``phi(s, a)`` that is ``phi(s)`` in the
block of action ``a`` and zero elsewhere), so ``grad_W q_hat(s, a) = phi(s)`` in column ``a``.
The updates are the book's semi-gradient ones: the target is not differentiated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rlsuite.agents.approx.agent import ApproxAgent, FeatureConfig, FeatureKind, StartKind
from rlsuite.agents.base import epsilon_greedy, redefault
from rlsuite.agents.tabular.solvers import greedy_policy, policy_evaluation
from rlsuite.common.config import option
from rlsuite.common.device import to_numpy


@dataclass
class TDLinearConfig(FeatureConfig):
    """TD-Linear; the defaults are the book's example of figs 8.6-8.8 (500 episodes of 500 steps)."""

    features: FeatureKind = redefault(FeatureConfig, "features", "polynomial")  # noqa: RUF009 (a field)
    alpha: float = option(0.0005, help="constant step size (the book: 0.0005)", gt=0.0, le=1.0)
    init_std: float = option(1.0, help="w0 ~ N(0, init_std^2) per element (the book: 1)", ge=0.0)
    policy: Literal["uniform", "optimal"] = option(
        "uniform", help="the policy evaluated: uniform (fig 8.6: each action 0.2) or optimal (value iteration)"
    )


@dataclass
class LinearControlConfig(FeatureConfig):
    """Sarsa / Q-learning with linear features; the defaults are the book's figs 8.9-8.10 (Fourier, order 5)."""

    features: FeatureKind = redefault(FeatureConfig, "features", "fourier")  # noqa: RUF009 (a field)
    order: int = redefault(FeatureConfig, "order", 5)
    episode_length: int = redefault(FeatureConfig, "episode_length", 1000)
    start: StartKind = redefault(FeatureConfig, "start", "env")  # noqa: RUF009 (a field)
    alpha: float = option(0.001, help="constant step size (the book: 0.001)", gt=0.0, le=1.0)
    epsilon: float = option(0.1, help="exploration of the epsilon-greedy policy (the book: 0.1)", ge=0.0, le=1.0)
    stop_at_target: bool = option(True, help="end an episode on reaching the target (the book's path-finding task)")


@dataclass
class LinearQLearningConfig(LinearControlConfig):
    """Q-learning with linear features: on-policy (Algorithm 8.3, linear) or off-policy."""

    behavior: Literal["epsilon_greedy", "uniform"] = option(
        "epsilon_greedy", help="behaviour policy: epsilon-greedy in q (on-policy, the book's) or uniform (off-policy)"
    )


class TDLinear(ApproxAgent):
    """TD-Linear (Algorithm 8.1): the state values of a fixed policy, ``v_hat(s, w) = phi(s)^T w``.

    ``w <- w + alpha [r + gamma phi(s')^T w - phi(s)^T w] phi(s)``. Each episode starts at a uniformly
    random state (the book: a random state-action pair, the action drawn from the policy). History rows
    hold ``rmse`` (sqrt of the mean over states of ``(v_hat - v_pi)^2``, the books's state value
    error) and ``value_error`` (the max) against the exact ``v_pi``.
    """

    name = "td_linear"
    config_cls = TDLinearConfig
    default_budget = 500

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        super().__init__(env, config, device=device)
        cfg = self.config
        self.phi = self.features(cfg.features, cfg.order)
        self.w = self.place(np.zeros(self.phi.shape[1]))
        if cfg.policy == "optimal":
            assert self.q_star is not None
            self.pi = greedy_policy(self.q_star)
        assert self.model is not None
        self.v_pi = policy_evaluation(self.model, self.pi, self.gamma)
        self.refresh_tables()

    def update(self, s: int, r: float, s2: int, term: bool) -> None:
        """One TD-Linear step (8.13, linear case)."""
        phi, w = self.phi, self.w
        delta = r + self.gamma * (phi[s2] @ w) * (not term) - phi[s] @ w
        self.w += self.config.alpha * delta * phi[s]

    def begin(self) -> None:
        self.w = self.place(self.rng.normal(0.0, self.config.init_std, self.phi.shape[1]))  # w0 ~ N(0, 1)
        self.cdf = np.cumsum(self.pi, axis=1)

    def iterate(self) -> dict[str, float]:
        """One episode of the evaluated policy, a TD-Linear update per step."""
        cfg = self.config
        s = self.start(cfg.start)
        u = self.rng.random(cfg.episode_length)
        for t in range(cfg.episode_length):
            a = min(int(np.searchsorted(self.cdf[s], u[t], side="right")), self.n_actions - 1)
            s2, r, term = self.step(a)
            self.update(s, r, s2, term)
            if term:
                break
            s = s2
        return {}

    def refresh_tables(self) -> None:
        self.v = to_numpy(self.phi @ self.w).astype(np.float64)
        assert self.model is not None
        self.q = self.model.q_values(self.v, self.gamma)

    def truth_metrics(self) -> dict[str, float]:
        err = self.state_values - self.v_pi
        return {"rmse": float(np.sqrt(np.mean(err**2))), "value_error": float(np.max(np.abs(err)))}

    def parameters(self) -> dict[str, Any]:
        return {"w": self.w}


class _LinearControl(ApproxAgent):
    """The episode loop of Sarsa and Q-learning with linear features; the budget counts episodes.

    Each episode starts where ``start`` says and runs until the target (``stop_at_target``), the
    env's termination, or ``episode_length`` steps. History rows: the episode's ``return`` (total
    reward) and ``length``, and the exact ``gap_to_optimum`` / ``optimal_fraction`` of the greedy policy.
    """

    default_budget = 500

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        super().__init__(env, config, device=device)
        cfg = self.config
        self.phi = self.features(cfg.features, cfg.order)
        self.W = self.place(np.zeros((self.phi.shape[1], self.n_actions)))
        self.refresh_tables()

    def q_row(self, s: int) -> Any:
        return self.phi[s] @ self.W

    def behaviour_epsilon(self) -> float:
        return float(self.config.epsilon)

    def update(self, s: int, a: int, r: float, s2: int, a2: int, term: bool) -> None:
        raise NotImplementedError

    def iterate(self) -> dict[str, float]:
        """One episode, an update per step; returns its total reward and length."""
        cfg = self.config
        eps = self.behaviour_epsilon()
        s = self.start(cfg.start)
        a = self.epsilon_greedy_action(self.q_row(s), eps)
        total, length = 0.0, 0
        while length < cfg.episode_length and not (cfg.stop_at_target and self.at_target(s)):
            s2, r, term = self.step(a)
            a2 = self.epsilon_greedy_action(self.q_row(s2), eps)
            self.update(s, a, r, s2, a2, term)
            total, length = total + r, length + 1
            s, a = s2, a2
            if term:
                break
        return {"return": total, "length": length}

    def refresh_tables(self) -> None:
        self.q = to_numpy(self.phi @ self.W).astype(np.float64)
        self.pi = epsilon_greedy(self.q, 0.0)

    def parameters(self) -> dict[str, Any]:
        return {"W": self.W}


class LinearSarsa(_LinearControl):
    """Sarsa with linear features (Algorithm 8.2):
    ``w <- w + alpha [r + gamma q_hat(s', a') - q_hat(s, a)] grad_w q_hat(s, a)`` (8.35), a' epsilon-greedy."""

    name = "sarsa_linear"
    config_cls = LinearControlConfig

    def update(self, s: int, a: int, r: float, s2: int, a2: int, term: bool) -> None:
        phi, W = self.phi, self.W
        delta = r + self.gamma * (phi[s2] @ W[:, a2]) * (not term) - phi[s] @ W[:, a]
        self.W[:, a] += self.config.alpha * delta * phi[s]


class LinearQLearning(_LinearControl):
    """Q-learning with linear features (Algorithm 8.3, linear):
    ``w <- w + alpha [r + gamma max_a q_hat(s', a) - q_hat(s, a)] grad_w q_hat(s, a)`` (8.36)."""

    name = "q_learning_linear"
    config_cls = LinearQLearningConfig

    def behaviour_epsilon(self) -> float:
        return 1.0 if self.config.behavior == "uniform" else float(self.config.epsilon)

    def update(self, s: int, a: int, r: float, s2: int, a2: int, term: bool) -> None:
        phi, W = self.phi, self.W
        delta = r + self.gamma * (phi[s2] @ W).max() * (not term) - phi[s] @ W[:, a]
        self.W[:, a] += self.config.alpha * delta * phi[s]


# ----- the exact answers the estimates are measured against -----


def stationary_distribution(T_pi: np.ndarray) -> np.ndarray:
    """``d_pi`` with ``d_pi^T P_pi = d_pi^T``, ``sum d_pi = 1`` (8.10): the eigenvector of ``P_pi^T`` for
    eigenvalue 1, by a least-squares solve of ``(P_pi^T - I) d = 0`` with the sum constraint."""
    n = T_pi.shape[0]
    a = np.vstack([T_pi.T - np.eye(n), np.ones((1, n))])
    b = np.concatenate([np.zeros(n), [1.0]])
    return np.linalg.lstsq(a, b, rcond=None)[0]


def td_fixed_point(model: Any, policy: np.ndarray, phi: np.ndarray, gamma: float) -> np.ndarray:
    """The weights TD-Linear converges to (section 8.2.5): ``w* = A^-1 b`` with
    ``A = Phi^T D (I - gamma P_pi) Phi``, ``b = Phi^T D r_pi``, ``D = diag(d_pi)`` (8.21)."""
    T_pi, r_pi = model.policy_matrices(policy)
    D = np.diag(stationary_distribution(T_pi))
    A = phi.T @ D @ (np.eye(len(r_pi)) - gamma * T_pi) @ phi
    return np.linalg.lstsq(A, phi.T @ D @ r_pi, rcond=None)[0]
