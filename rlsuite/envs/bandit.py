"""k-armed bandits: Sutton & Barto's 10-armed testbed and its kin, single and batched."""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.envs import checks

ArmKind = Literal["gaussian", "bernoulli"]


class BanditSpec:
    """The arguments shared by the single and the batched bandit, checked once."""

    def __init__(
        self,
        k: int | None = None,
        arms: ArmKind = "gaussian",
        q_mean: float = 0.0,
        q_std: float = 1.0,
        reward_std: float = 1.0,
        means: Any = None,
        nonstationary: bool = False,
        walk_std: float = 0.01,
    ) -> None:
        if means is not None:
            if isinstance(means, str) or not isinstance(means, list | tuple | np.ndarray):
                raise TypeError(f"means must be a list of numbers, one per arm, got {means!r}")
            for i, m in enumerate(np.ravel(np.asarray(means, dtype=object))):
                checks.number(f"means[{i}]", m)
        if k is None:  # 10 arms, or as many as the given means
            k = 10 if means is None else len(np.atleast_1d(means))
        k = checks.integer("k", k, 1)
        if arms not in ("gaussian", "bernoulli"):
            raise ValueError(f"arms must be 'gaussian' or 'bernoulli', got {arms!r}")
        for name, value in (("q_std", q_std), ("reward_std", reward_std), ("walk_std", walk_std)):
            checks.number(name, value, low=0.0)
        checks.number("q_mean", q_mean)
        nonstationary = checks.flag("nonstationary", nonstationary)
        fixed = None
        if means is not None:
            fixed = np.asarray(means, dtype=np.float64)
            if fixed.shape != (k,):
                raise ValueError(f"means must have one value per arm (k={k}), got shape {fixed.shape}")
            if arms == "bernoulli" and ((fixed < 0) | (fixed > 1)).any():
                raise ValueError("means of Bernoulli arms are probabilities and must lie in [0, 1]")
        self.k = int(k)
        self.arms: ArmKind = arms
        self.q_mean = float(q_mean)
        self.q_std = float(q_std)
        self.reward_std = float(reward_std)
        self.means = fixed
        self.nonstationary = bool(nonstationary)
        self.walk_std = float(walk_std)

    def sample_q(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` bandit problems: true action values, shape [n, k]."""
        if self.means is not None:
            return np.tile(self.means, (n, 1))
        if self.nonstationary:  # Sutton & Barto exercise 2.5: all q* start equal
            return np.full((n, self.k), self.q_mean)
        if self.arms == "bernoulli":
            return rng.uniform(0.0, 1.0, size=(n, self.k))
        return rng.normal(self.q_mean, self.q_std, size=(n, self.k))

    def sample_rewards(self, rng: np.random.Generator, q_chosen: np.ndarray) -> np.ndarray:
        if self.arms == "bernoulli":
            return (rng.random(q_chosen.shape) < q_chosen).astype(np.float64)
        return rng.normal(q_chosen, self.reward_std)

    def walk(self, rng: np.random.Generator, q: np.ndarray) -> np.ndarray:
        q = q + rng.normal(0.0, self.walk_std, size=q.shape)
        return np.clip(q, 0.0, 1.0) if self.arms == "bernoulli" else q


class KArmedBanditEnv(gym.Env[np.int64, np.int64]):
    """A k-armed bandit: one state, k actions, a noisy reward per pull.

    ## Description
    Sutton & Barto (2018), chapter 2. Each reset draws a new bandit problem: the true action
    values ``q*(a)`` are sampled (the 10-armed testbed: ``q*(a) ~ N(q_mean, q_std**2)``), and
    each pull of arm ``a`` pays a reward around ``q*(a)``. Variants, all from kwargs:
    Gaussian arms (``reward ~ N(q*(a), reward_std**2)``), Bernoulli arms (``q*(a) ~ U(0, 1)``,
    reward 1 with probability ``q*(a)``), fixed arm means, and a non-stationary bandit whose
    ``q*`` take independent random walks (exercise 2.5).

    ## Action Space
    ``Discrete(k)``: the arm to pull.

    ## Observation Space
    ``Discrete(1)``: a bandit has a single state; the observation is always 0.

    ## Starting State
    Always 0; ``q*`` is drawn from ``self.np_random`` at each reset (a new testbed run).

    ## Rewards
    Gaussian: ``N(q*(a), reward_std**2)``. Bernoulli: 1 with probability ``q*(a)``, else 0.

    ## Episode End
    Never terminates; registered ids truncate after 1000 pulls (the testbed's run length).

    ## Information
    ``info["optimal_arm"]`` (an arm with the largest ``q*`` now), ``info["q_star"]`` (a copy of
    ``q*``) and, after a step, ``info["regret"] = max q* - q*(a)`` so agents can measure
    % optimal action and regret.

    ## Arguments
    ```python
    import gymnasium as gym
    import rlsuite
    env = gym.make("rlsuite/KArmedBandit-v0", k=10, q_mean=0.0)      # the 10-armed testbed
    env = gym.make("rlsuite/KArmedBandit-v0", q_mean=4.0)            # figure 2.5's +4 offset
    env = gym.make("rlsuite/BernoulliBandit-v0", k=5)
    env = gym.make("rlsuite/NonstationaryBandit-v0", walk_std=0.01)
    ```
    ``k`` (default 10, or the length of ``means``), ``arms`` ("gaussian" or "bernoulli"), ``q_mean``,
    ``q_std``, ``reward_std``, ``means`` (fix ``q*`` instead of sampling it), ``nonstationary``, ``walk_std``.

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None, **bandit: Any) -> None:
        self.render_mode = checks.render_mode(render_mode, self.metadata["render_modes"])
        self.spec_args = BanditSpec(**bandit)  # k, arms, q_mean, q_std, reward_std, means, nonstationary, walk_std
        self.k = self.spec_args.k
        self.action_space = spaces.Discrete(self.k)
        self.observation_space = spaces.Discrete(1)
        self.q_star = np.zeros(self.k)
        self._last: tuple[int, float] | None = None

    def _info(self) -> dict[str, Any]:
        return {"optimal_arm": int(np.argmax(self.q_star)), "q_star": self.q_star.copy()}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.int64, dict[str, Any]]:
        super().reset(seed=seed)
        self.q_star = self.spec_args.sample_q(self.np_random, 1)[0]
        self._last = None
        return np.int64(0), self._info()

    def step(self, action: int) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
        a = checks.action(action, self.k)  # an arm
        regret = float(self.q_star.max() - self.q_star[a])
        reward = float(self.spec_args.sample_rewards(self.np_random, self.q_star[a : a + 1])[0])
        info = {**self._info(), "regret": regret}  # optimal arm of the step just taken
        if self.spec_args.nonstationary:
            self.q_star = self.spec_args.walk(self.np_random, self.q_star)
        self._last = (a, reward)
        return np.int64(0), reward, False, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        qs = " ".join(f"{q:+.2f}" for q in self.q_star)
        last = "" if self._last is None else f" | pulled arm {self._last[0]}: reward {self._last[1]:+.3f}"
        return f"q* = [{qs}] (best arm {int(np.argmax(self.q_star))}){last}\n"
