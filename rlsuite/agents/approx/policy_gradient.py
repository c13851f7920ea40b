"""Policy gradient and actor-critic methods (Zhao ch. 9-10): REINFORCE (Algorithm 9.1), QAC (10.1),
A2C (10.2), off-policy actor-critic with importance sampling (10.3), deterministic actor-critic (10.4).

The policy is a softmax over actions of linear preferences, ``pi(a|s, theta) = softmax_a(phi(s)^T
theta[:, a])``; with one-hot features (the default) it is the tabular softmax policy. Its score is
``grad_theta ln pi(a|s) = phi(s) (e_a - pi(.|s))^T``. The critics are linear in the same features:
``v(s, w) = phi(s)^T w`` and ``q(s, a, W) = phi(s)^T W[:, a]``. The updates are written out as the
book writes them, one sample at a time, with the algorithm's number beside each.

Deterministic actor-critic on a grid world: the book's deterministic policy ``a = mu(s, theta)`` needs
an action that varies continuously with theta. Here the action is relaxed to the probability simplex:
``mu(s, theta) = softmax(phi(s)^T theta)`` IS the action (a point of the simplex, not a distribution
to sample from), and the critic is bilinear, ``q(s, a, W) = phi(s)^T W a``, which for a vertex
``a = e_k`` is the ordinary ``q(s, k)``. Then ``grad_a q(s, a) = W^T phi(s)`` and ``grad_theta mu(s)``
is the softmax Jacobian ``diag(mu) - mu mu^T``, so the actor's step is Algorithm 10.4's
``theta += alpha_theta grad_theta mu(s) grad_a q(s, a)|a=mu(s)``. The env is played off-policy by a
uniform behaviour policy (vertices only); the critic's TD target uses ``q(s', mu(s'))``. The policy
acted on afterwards is ``argmax mu(s)``, the vertex nearest the relaxed action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rlsuite.agents.approx.agent import ApproxAgent, FeatureConfig
from rlsuite.agents.base import redefault
from rlsuite.common.backend import ArrayBackend
from rlsuite.common.config import option
from rlsuite.common.device import to_numpy


@dataclass
class PolicyGradientConfig(FeatureConfig):
    """What the policy-gradient agents share (tabular softmax policies on the book's grid world)."""

    episode_length: int = redefault(FeatureConfig, "episode_length", 50)
    alpha_theta: float = option(0.1, help="actor step size", gt=0.0, le=10.0)


@dataclass
class ActorCriticConfig(PolicyGradientConfig):
    """Actor-critic: an actor step size and a critic step size."""

    alpha_w: float = option(0.1, help="critic step size", gt=0.0, le=1.0)


def softmax(z: Any) -> Any:
    """The softmax of a 1-D array of preferences (numpy or torch: array operators only)."""
    e = ArrayBackend.of(z).exp(z - z.max())
    return e / e.sum()


class _PolicyAgent(ApproxAgent):
    """The softmax actor and the episode loop; subclasses write ``update`` (one step) or ``learn``."""

    default_budget = 2000
    off_policy = False

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        super().__init__(env, config, device=device)
        cfg = self.config
        self.phi = self.features(cfg.features, cfg.order)
        self.theta = self.place(np.zeros((self.phi.shape[1], self.n_actions)))
        self.eye = self.place(np.eye(self.n_actions))
        self.init_critic()
        self.refresh_tables()

    def init_critic(self) -> None:
        """Make the critic's parameters (none for REINFORCE)."""

    def pi_s(self, s: int) -> Any:
        """``pi(.|s, theta)`` [A]."""
        return softmax(self.phi[s] @ self.theta)

    def score(self, s: int, a: int) -> Any:
        """``grad_theta ln pi(a|s, theta) = phi(s) (e_a - pi(.|s))^T`` [d, A]."""
        return self.phi[s][:, None] * (self.eye[a] - self.pi_s(s))[None, :]

    def act(self, s: int) -> int:
        """An action of the behaviour policy: ``pi`` itself (on-policy), uniform (off-policy)."""
        if self.off_policy:
            return int(self.rng.integers(self.n_actions))
        p = to_numpy(self.pi_s(s)).astype(np.float64)
        return int(self.rng.choice(self.n_actions, p=p / p.sum()))

    def update(self, s: int, a: int, r: float, s2: int) -> None:
        raise NotImplementedError

    def iterate(self) -> dict[str, float]:
        return {"return": self.episode(self.config)}

    def episode(self, cfg: Any) -> float:
        """One episode of ``episode_length`` steps, updating after each; returns its total reward."""
        s, total = self.start(cfg.start), 0.0
        for _ in range(cfg.episode_length):
            a = self.act(s)
            s2, r, term = self.step(a)
            self.update(s, a, r, s2)
            total += r
            if term:
                break
            s = s2
        return total

    def refresh_tables(self) -> None:
        """``pi`` [S, A] from theta; ``q`` the exact ``q_pi`` of the learned policy (the critic's target)."""
        z = to_numpy(self.phi @ self.theta).astype(np.float64)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.pi = e / e.sum(axis=1, keepdims=True)
        self.q = self.critic_q()

    def critic_q(self) -> np.ndarray:
        """The critic's action values [S, A] (REINFORCE has none: the exact ``q_pi``)."""
        from rlsuite.agents.tabular.solvers import policy_evaluation

        assert self.model is not None
        return self.model.q_values(policy_evaluation(self.model, self.pi, self.gamma), self.gamma)

    def parameters(self) -> dict[str, Any]:
        return {"theta": self.theta}


class Reinforce(_PolicyAgent):
    """REINFORCE (Algorithm 9.1): play an episode with ``pi(theta)``, then for t = 0..T-1
    ``q_t = sum_{k>t} gamma^{k-t-1} r_k`` and ``theta += alpha grad ln pi(a_t|s_t, theta) q_t``."""

    name = "reinforce"
    config_cls = PolicyGradientConfig
    default_budget = 3000

    def episode(self, cfg: Any) -> float:
        s = self.start(cfg.start)
        steps: list[tuple[int, int, float]] = []
        for _ in range(cfg.episode_length):
            a = self.act(s)
            s2, r, term = self.step(a)
            steps.append((s, a, r))
            if term:
                break
            s = s2
        returns, g = [0.0] * len(steps), 0.0
        for t in range(len(steps) - 1, -1, -1):  # q_t(s_t, a_t) = r_{t+1} + gamma q_{t+1}
            g = steps[t][2] + self.gamma * g
            returns[t] = g
        for (s_t, a_t, _), q_t in zip(steps, returns, strict=True):
            self.theta += self.config.alpha_theta * self.score(s_t, a_t) * q_t  # policy update (9.32)
        return float(sum(r for _, _, r in steps))


class QAC(_PolicyAgent):
    """QAC, the simplest actor-critic (Algorithm 10.1): the actor follows ``q(s, a, W)``, the critic is Sarsa."""

    name = "qac"
    config_cls = ActorCriticConfig

    def init_critic(self) -> None:
        self.W = self.place(np.zeros((self.phi.shape[1], self.n_actions)))

    def episode(self, cfg: Any) -> float:
        s, total = self.start(cfg.start), 0.0
        a = self.act(s)
        for _ in range(cfg.episode_length):
            s2, r, term = self.step(a)
            a2 = self.act(s2)
            phi, W = self.phi, self.W
            q_sa = phi[s] @ W[:, a]
            self.theta += cfg.alpha_theta * self.score(s, a) * q_sa  # actor: theta += a grad ln pi q(s, a, w)
            delta = r + self.gamma * (phi[s2] @ W[:, a2]) * (not term) - q_sa
            self.W[:, a] += cfg.alpha_w * delta * phi[s]  # critic: Sarsa with linear q
            total += r
            if term:
                break
            s, a = s2, a2
        return total

    def critic_q(self) -> np.ndarray:
        return to_numpy(self.phi @ self.W).astype(np.float64)

    def parameters(self) -> dict[str, Any]:
        return {"theta": self.theta, "W": self.W}


class A2C(_PolicyAgent):
    """Advantage (TD) actor-critic (Algorithm 10.2): ``delta = r + gamma v(s') - v(s)``,
    ``theta += alpha_theta delta grad ln pi(a|s)``, ``w += alpha_w delta grad v(s)``."""

    name = "a2c_book"
    config_cls = ActorCriticConfig

    def init_critic(self) -> None:
        self.w = self.place(np.zeros(self.phi.shape[1]))

    def weight(self, s: int, a: int) -> Any:
        """The importance weight of the sample (1: on-policy)."""
        return 1.0

    def update(self, s: int, a: int, r: float, s2: int) -> None:
        cfg, phi = self.config, self.phi
        rho = self.weight(s, a)
        delta = r + self.gamma * (phi[s2] @ self.w) - phi[s] @ self.w  # advantage (TD error)
        self.theta += cfg.alpha_theta * rho * delta * self.score(s, a)  # actor
        self.w += cfg.alpha_w * rho * delta * phi[s]  # critic

    def parameters(self) -> dict[str, Any]:
        return {"theta": self.theta, "w": self.w}


@dataclass
class OffPolicyACConfig(ActorCriticConfig):
    """Off-policy actor-critic: the behaviour policy beta is uniform."""

    behavior: Literal["uniform"] = option("uniform", help="the behaviour policy beta (uniform: 1/A each)")


class OffPolicyAC(A2C):
    """Off-policy actor-critic (Algorithm 10.3): A2C's updates weighted by ``pi(a|s, theta) / beta(a|s)``,
    the actions drawn from the uniform behaviour policy ``beta``."""

    name = "off_policy_ac"
    config_cls = OffPolicyACConfig
    off_policy = True

    def weight(self, s: int, a: int) -> Any:
        return self.pi_s(s)[a] * self.n_actions  # pi(a|s, theta) / beta(a|s), beta = 1/A


@dataclass
class DeterministicACConfig(ActorCriticConfig):
    """Deterministic actor-critic on the simplex-relaxed action (see the module docstring)."""

    behavior: Literal["uniform"] = option("uniform", help="the behaviour policy beta (uniform: 1/A each)")


class DeterministicAC(_PolicyAgent):
    """Deterministic actor-critic (Algorithm 10.4) with the action relaxed to the simplex (module docstring):
    ``delta = r + gamma q(s', mu(s')) - q(s, a)``, ``theta += alpha_theta grad mu(s) grad_a q(s, a)|a=mu(s)``,
    ``W += alpha_w delta grad_W q(s, a)``."""

    name = "deterministic_ac"
    config_cls = DeterministicACConfig
    off_policy = True

    def init_critic(self) -> None:
        self.W = self.place(np.zeros((self.phi.shape[1], self.n_actions)))

    def update(self, s: int, a: int, r: float, s2: int) -> None:
        cfg, phi, W = self.config, self.phi, self.W
        mu_s, mu_s2 = self.pi_s(s), self.pi_s(s2)  # the relaxed actions mu(s, theta), mu(s', theta)
        delta = r + self.gamma * (phi[s2] @ W @ mu_s2) - phi[s] @ W[:, a]  # TD error, a = e_a
        grad_a_q = phi[s] @ W  # grad_a q(s, a, W) = W^T phi(s), the same at every a
        jac = mu_s[:, None] * self.eye - mu_s[:, None] * mu_s[None, :]  # d mu / d logits
        self.theta += cfg.alpha_theta * phi[s][:, None] * (jac @ grad_a_q)[None, :]  # actor
        self.W[:, a] += cfg.alpha_w * delta * phi[s]  # critic: grad_W q(s, e_a) = phi(s) e_a^T

    def critic_q(self) -> np.ndarray:
        return to_numpy(self.phi @ self.W).astype(np.float64)

    def parameters(self) -> dict[str, Any]:
        return {"theta": self.theta, "W": self.W}
