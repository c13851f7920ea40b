"""Bandit agents (Sutton & Barto ch. 2), each running many independent runs at once.

An agent is built from a batched bandit env, ``gym.make_vec("rlsuite/KArmedBandit-v0",
num_envs=2000)``: row ``i`` of every table is run ``i``. ``learn(steps, seed)`` plays all runs
for ``steps`` pulls and returns a :class:`~rlsuite.agents.base.History` with one row per step:
the average reward over runs and the fraction of runs that pulled an optimal arm, the two
curves of the book's figures.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from array_api_compat import array_namespace
from tqdm.auto import tqdm

from rlsuite.agents.base import History, agent_meta, read_agent_files, write_agent_files
from rlsuite.common.backend import ArrayBackend
from rlsuite.common.config import Config, option
from rlsuite.common.device import to_numpy
from rlsuite.common.errors import UsageError


@dataclass
class EpsilonGreedyBanditConfig(Config):
    """Epsilon-greedy action values: sample averages (step_size None) or a constant step size."""

    epsilon: float = option(0.1, help="probability of pulling a uniformly random arm", ge=0.0, le=1.0)
    step_size: float | None = option(
        None, help="constant step size alpha; None (null) for sample averages 1/n", gt=0.0, le=1.0
    )
    initial_value: float = option(0.0, help="Q_1 of every arm (5.0 = optimistic, S&B fig 2.3)")


@dataclass
class UCBConfig(Config):
    """Upper-confidence-bound action selection: ``argmax Q + c sqrt(ln t / N)`` (fig 2.4)."""

    c: float = option(2.0, help="degree of exploration c in Q + c sqrt(ln t / N)", gt=0.0)
    step_size: float | None = option(
        None, help="constant step size alpha; None (null) for sample averages 1/n", gt=0.0, le=1.0
    )


@dataclass
class GradientBanditConfig(Config):
    """Gradient bandit: soft-max preferences updated by stochastic gradient ascent (fig 2.5)."""

    alpha: float = option(0.1, help="step size of the preferences H", gt=0.0)
    baseline: bool = option(True, help="subtract the average reward so far (R_t included) from R_t")


@dataclass
class ThompsonSamplingConfig(Config):
    """Thompson sampling: pull the arm whose posterior sample is largest."""

    model: Literal["gaussian", "bernoulli"] = option(
        "gaussian", help="gaussian (normal prior, known noise) or bernoulli (Beta(1, 1) prior)"
    )
    prior_mean: float = option(0.0, help="gaussian: prior mean of each arm's value")
    prior_std: float = option(1.0, help="gaussian: prior standard deviation of each arm's value", gt=0.0)
    noise_std: float = option(1.0, help="gaussian: the rewards' known noise standard deviation", gt=0.0)


def random_argmax(x: Any, backend: ArrayBackend) -> Any:
    """Row-wise argmax with ties broken uniformly at random (numpy or torch ``x``)."""
    xp = array_namespace(x)
    ties = x == xp.max(x, axis=1, keepdims=True)
    return xp.argmax(ties * (backend.uniform(tuple(x.shape)) + 1.0), axis=1)


class BanditAgent:
    """Base of the bandit agents: ``num_runs`` runs in lockstep, tables [num_runs, k].

    The tables live where the batched env's arrays live: numpy on CPU (``device="cpu"``, the
    default) or torch tensors on the env's device (``gym.make_vec(..., device="cuda")``), so a
    GPU run never copies to the host inside the loop; ``xp`` is the matching array namespace
    (``array_api_compat``) and ``backend`` draws the agent's random numbers there.

    Args:
        envs: a batched bandit env (``KArmedBanditVectorEnv``); one run per copy.
        config: the algorithm's config dataclass (defaults: the book's settings).
    """

    config_cls: ClassVar[type]
    name: ClassVar[str] = "bandit"
    budget_unit: ClassVar[str] = "steps"
    default_budget: ClassVar[int] = 1000

    def __init__(self, envs: Any, config: Any = None) -> None:
        if config is None:
            config = self.config_cls()
        if not isinstance(config, self.config_cls):
            raise UsageError(f"{type(self).__name__}: config must be a {self.config_cls.__name__}")
        if not hasattr(envs, "num_envs") or not hasattr(envs, "k") or not hasattr(envs, "xp"):
            raise UsageError(
                f"{type(self).__name__} needs a batched bandit env: "
                "gym.make_vec('rlsuite/KArmedBandit-v0', num_envs=N, vectorization_mode='vector_entry_point')"
            )
        self.envs = envs
        self.config = config
        self.num_runs = int(envs.num_envs)
        self.k = int(envs.k)
        self.backend: ArrayBackend = envs.xp.spawn()
        self.backend.seed(np.random.default_rng(0))
        self.xp = array_namespace(self.backend.zeros(1))
        self.rows = self.backend.arange(self.num_runs)
        self.reset_tables()

    @property
    def device(self) -> str:
        """Where the tables live: ``"cpu"`` (numpy) or the torch device's name."""
        return str(self.backend.device)

    def reset_tables(self) -> None:
        self.q = self.backend.zeros((self.num_runs, self.k))
        self.n = self.backend.zeros((self.num_runs, self.k))
        self.t = 0

    # ----- the algorithm -----
    def probabilities(self) -> Any:
        """Action probabilities [runs, k] of the current policy (greedy ties shared equally)."""
        return self._uniform_over_best(self.q)

    def _uniform_over_best(self, scores: Any) -> Any:
        xp = self.xp
        best = xp.astype(scores == xp.max(scores, axis=1, keepdims=True), scores.dtype)
        return best / xp.sum(best, axis=1, keepdims=True)

    def select(self) -> Any:
        raise NotImplementedError

    def update(self, a: Any, r: Any) -> None:
        raise NotImplementedError

    def _average(self, a: Any, r: Any, step_size: float | None) -> None:
        rows = self.rows
        self.n[rows, a] += 1
        alpha = 1.0 / self.n[rows, a] if step_size is None else step_size
        self.q[rows, a] += alpha * (r - self.q[rows, a])

    # ----- the interface shared with the tabular agents (host numpy arrays) -----
    @property
    def q_values(self) -> np.ndarray:
        """Action-value estimates [num_runs, k] (the bandit has one state per run)."""
        return to_numpy(self.q).astype(np.float64)

    @property
    def policy(self) -> np.ndarray:
        return to_numpy(self.probabilities()).astype(np.float64)

    @property
    def state_values(self) -> np.ndarray:
        return (self.policy * self.q_values).sum(axis=1)

    def predict(
        self, obs: Any = None, state: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, None]:
        """One arm per run: the most probable one, or a sample from ``policy``."""
        pi = self.policy
        if deterministic:
            return pi.argmax(axis=1), None
        u = np.random.default_rng().random((self.num_runs, 1))
        return np.minimum((u >= pi.cumsum(axis=1)).sum(axis=1), self.k - 1), None

    def learn(self, budget: int | None = None, seed: int = 0, progress: bool = False) -> History:
        """Play ``budget`` pulls in every run from fresh tables; one history row per pull.

        The per-step curves are kept on the device and copied to the host once at the end.
        """
        steps = self.default_budget if budget is None else budget
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise UsageError(
                f"{type(self).__name__}: budget must be a positive number of steps, got {steps!r}"
            )
        limit = getattr(self.envs, "max_episode_steps", None)
        if limit is not None and steps > limit:
            raise UsageError(
                f"budget {steps} is longer than the env's episode ({limit} steps); "
                "make the env with a larger max_episode_steps"
            )
        xp = self.xp
        self.backend.seed(np.random.default_rng(seed))
        self.envs.reset(seed=seed)
        self.reset_tables()
        average_reward, optimal_action = self.backend.zeros(steps), self.backend.zeros(steps)
        for t in tqdm(range(1, steps + 1), desc=self.name, disable=not progress, unit="step"):
            a = self.select()
            _, r, _, _, info = self.envs.step(a)
            r = xp.astype(r, self.q.dtype)
            self.t = t
            self.update(a, r)
            average_reward[t - 1] = xp.mean(r)
            optimal_action[t - 1] = xp.mean(xp.astype(info["optimal"], self.q.dtype))
        history = History()
        curves = zip(to_numpy(average_reward), to_numpy(optimal_action), strict=True)
        for t, (reward, optimal) in enumerate(curves, start=1):
            history.log(step=t, average_reward=reward, optimal_action=optimal)
        return history

    # ----- save / load -----
    def arrays(self) -> dict[str, Any]:
        """The tables to save (on the backend; :meth:`save` copies them to the host)."""
        return {"q": self.q, "n": self.n}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.q, self.n = self.backend.asarray(arrays["q"]), self.backend.asarray(arrays["n"])
        self.t = int(arrays["t"])

    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``PATH.npz`` (tables) and ``PATH.json`` (algorithm, config, env); no pickle."""
        vector_keys = ("max_episode_steps", "num_envs", "vectorization_mode", "vector_kwargs", "wrappers", "device")
        meta = {**agent_meta(self, self.envs, drop_env_kwargs=vector_keys), "num_runs": self.num_runs}
        tables = {name: to_numpy(x).astype(np.float64) for name, x in self.arrays().items()}
        return write_agent_files(path, {**tables, "t": np.array(self.t)}, meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str], envs: Any = None, device: str = "cpu") -> BanditAgent:
        """Rebuild an agent saved by :meth:`save`; the batched env is re-made on ``device`` unless given."""
        import gymnasium as gym

        from rlsuite.agents.tabular import ALGORITHMS

        meta, meta_file, arrays = read_agent_files(path)
        klass = ALGORITHMS.get(meta.get("algo"))
        if klass is None or not issubclass(klass, BanditAgent):
            raise UsageError(f"{meta_file}: not a saved bandit agent")
        if envs is None:
            import rlsuite.envs  # noqa: F401

            envs = gym.make_vec(
                meta["env_id"],
                num_envs=meta["num_runs"],
                vectorization_mode="vector_entry_point",
                device=device,
                **meta["env_kwargs"],
            )
        agent = klass(envs, klass.config_cls(**meta["config"]))
        agent.set_arrays(arrays)
        return agent


class EpsilonGreedyBandit(BanditAgent):
    """Epsilon-greedy: a random arm with probability epsilon, else a greedy one (ties at random)."""

    config_cls = EpsilonGreedyBanditConfig
    name = "epsilon_greedy"

    def reset_tables(self) -> None:
        super().reset_tables()
        self.q[:] = self.config.initial_value

    def probabilities(self) -> Any:
        return self.config.epsilon / self.k + (1.0 - self.config.epsilon) * super().probabilities()

    def select(self) -> Any:
        explore = self.backend.uniform((self.num_runs,)) < self.config.epsilon
        random_arm = self.backend.integers(self.k, (self.num_runs,))
        return self.xp.where(explore, random_arm, random_argmax(self.q, self.backend))

    def update(self, a: Any, r: Any) -> None:
        self._average(a, r, self.config.step_size)


class UCB(BanditAgent):
    """UCB: untried arms first, then ``argmax Q + c sqrt(ln t / N)``."""

    config_cls = UCBConfig
    name = "ucb"

    def scores(self) -> Any:
        xp = self.xp
        bonus = self.config.c * xp.sqrt(math.log(max(self.t, 1)) / xp.clip(self.n, min=1.0))
        return xp.where(self.n == 0, math.inf, self.q + bonus)

    def probabilities(self) -> Any:
        return self._uniform_over_best(self.scores())

    def select(self) -> Any:
        self.t += 1  # ln t counts the current pull
        return random_argmax(self.scores(), self.backend)

    def update(self, a: Any, r: Any) -> None:
        self._average(a, r, self.config.step_size)


class GradientBandit(BanditAgent):
    """Gradient bandit: ``H(a) += alpha (R - baseline) (1[a = A] - pi(a))``, ``pi = softmax(H)``.

    ``q_values`` holds the preferences H; the baseline is the running average reward (with R_t).
    """

    config_cls = GradientBanditConfig
    name = "gradient_bandit"

    def reset_tables(self) -> None:
        super().reset_tables()
        self.baseline = self.backend.zeros(self.num_runs)

    def probabilities(self) -> Any:
        xp = self.xp
        z = xp.exp(self.q - xp.max(self.q, axis=1, keepdims=True))
        return z / xp.sum(z, axis=1, keepdims=True)

    def select(self) -> Any:
        xp = self.xp
        self._pi = self.probabilities()
        cdf = xp.cumulative_sum(self._pi, axis=1)
        u = self.backend.uniform((self.num_runs, 1))
        return xp.clip(xp.sum(xp.astype(u >= cdf, xp.int64), axis=1), max=self.k - 1)

    def update(self, a: Any, r: Any) -> None:
        pi = self._pi
        self.n[self.rows, a] += 1
        if self.config.baseline:
            self.baseline += (r - self.baseline) / self.t
        one_hot = self.xp.zeros_like(pi)
        one_hot[self.rows, a] = 1.0
        self.q += self.config.alpha * (r - self.baseline)[:, None] * (one_hot - pi)

    def arrays(self) -> dict[str, Any]:
        return {**super().arrays(), "baseline": self.baseline}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super().set_arrays(arrays)
        self.baseline = self.backend.asarray(arrays["baseline"])


class ThompsonSampling(BanditAgent):
    """Thompson sampling with a conjugate posterior per arm.

    Gaussian: normal prior ``N(prior_mean, prior_std^2)`` and known noise, so the posterior of
    each arm is normal. Bernoulli: ``Beta(1, 1)`` prior, posterior ``Beta(1 + wins, 1 + losses)``.
    ``q_values`` holds the posterior means.
    """

    config_cls = ThompsonSamplingConfig
    name = "thompson_sampling"

    def reset_tables(self) -> None:
        super().reset_tables()
        self.reward_sum = self.backend.zeros((self.num_runs, self.k))
        self._refresh()

    def _refresh(self) -> None:
        cfg = self.config
        if cfg.model == "bernoulli":
            self.q = (1.0 + self.reward_sum) / (2.0 + self.n)
        else:
            precision = 1.0 / cfg.prior_std**2 + self.n / cfg.noise_std**2
            self.q = (cfg.prior_mean / cfg.prior_std**2 + self.reward_sum / cfg.noise_std**2) / precision
            self.posterior_std = 1.0 / self.xp.sqrt(precision)

    def select(self) -> Any:
        if self.config.model == "bernoulli":
            sample = self.backend.beta(1.0 + self.reward_sum, 1.0 + self.n - self.reward_sum)
        else:
            sample = self.q + self.posterior_std * self.backend.normal(tuple(self.q.shape))
        return self.xp.argmax(sample, axis=1)

    def update(self, a: Any, r: Any) -> None:
        self.n[self.rows, a] += 1
        self.reward_sum[self.rows, a] += r
        self._refresh()

    def arrays(self) -> dict[str, Any]:
        return {**super().arrays(), "reward_sum": self.reward_sum}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super().set_arrays(arrays)
        self.reward_sum = self.backend.asarray(arrays["reward_sum"])
        self._refresh()
