"""Bandit agents (Sutton & Barto ch. 2), each running many independent runs at once.

An agent is built from a batched bandit env, ``gym.make_vec("rlsuite/KArmedBandit-v0",
num_envs=2000)``: row ``i`` of every table is run ``i``. ``learn(steps, seed)`` plays all runs
for ``steps`` pulls and returns a :class:`~rlsuite.agents.base.History` with one row per step:
the average reward over runs and the fraction of runs that pulled an optimal arm, the two
curves of the book's figures.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from tqdm.auto import tqdm

from rlsuite.agents.base import History, env_spec_of, read_agent_files, write_agent_files
from rlsuite.common.errors import UsageError


@dataclass
class EpsilonGreedyBanditConfig:
    """Epsilon-greedy action values: sample averages (step_size None) or a constant step size."""

    epsilon: float = field(default=0.1, metadata={"help": "probability of a uniformly random arm"})
    step_size: float | None = field(
        default=None, metadata={"help": "constant step size; None for sample averages"}
    )
    initial_value: float = field(
        default=0.0, metadata={"help": "Q_1 for every arm (5.0 = optimistic, fig 2.3)"}
    )

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in [0, 1], got {self.epsilon}")
        if self.step_size is not None and not 0.0 < self.step_size <= 1.0:
            raise ValueError(f"step_size must lie in (0, 1] or be None, got {self.step_size}")


@dataclass
class UCBConfig:
    """Upper-confidence-bound action selection: ``argmax Q + c sqrt(ln t / N)`` (fig 2.4)."""

    c: float = field(default=2.0, metadata={"help": "degree of exploration"})
    step_size: float | None = field(
        default=None, metadata={"help": "constant step size; None for sample averages"}
    )

    def __post_init__(self) -> None:
        if self.c < 0:
            raise ValueError(f"c must be >= 0, got {self.c}")


@dataclass
class GradientBanditConfig:
    """Gradient bandit: soft-max preferences updated by stochastic gradient ascent (fig 2.5)."""

    alpha: float = field(default=0.1, metadata={"help": "step size of the preferences"})
    baseline: bool = field(default=True, metadata={"help": "subtract the average reward so far"})

    def __post_init__(self) -> None:
        if self.alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")


@dataclass
class ThompsonSamplingConfig:
    """Thompson sampling: pull the arm whose posterior sample is largest."""

    model: Literal["gaussian", "bernoulli"] = field(
        default="gaussian",
        metadata={"help": "gaussian (normal prior, known noise) or bernoulli (Beta prior)"},
    )
    prior_mean: float = field(default=0.0, metadata={"help": "gaussian: prior mean of each arm's value"})
    prior_std: float = field(default=1.0, metadata={"help": "gaussian: prior standard deviation"})
    noise_std: float = field(default=1.0, metadata={"help": "gaussian: the rewards' known noise"})

    def __post_init__(self) -> None:
        if self.prior_std <= 0 or self.noise_std <= 0:
            raise ValueError("prior_std and noise_std must be > 0")


def random_argmax(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise argmax with ties broken uniformly at random."""
    ties = x == x.max(axis=1, keepdims=True)
    return (ties * (rng.random(x.shape) + 1.0)).argmax(axis=1)


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


class BanditAgent:
    """Base of the bandit agents: ``num_runs`` runs in lockstep, tables [num_runs, k].

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
        if not hasattr(envs, "num_envs") or not hasattr(envs, "k"):
            raise UsageError(
                f"{type(self).__name__} needs a batched bandit env: "
                "gym.make_vec('rlsuite/KArmedBandit-v0', num_envs=N, vectorization_mode='vector_entry_point')"
            )
        self.envs = envs
        self.config = config
        self.num_runs = int(envs.num_envs)
        self.k = int(envs.k)
        self.reset_tables()

    def reset_tables(self) -> None:
        self.q = np.zeros((self.num_runs, self.k))
        self.n = np.zeros((self.num_runs, self.k))
        self.t = 0

    # ----- the algorithm -----
    def probabilities(self) -> np.ndarray:
        """Action probabilities [runs, k] of the current policy (greedy ties shared equally)."""
        best = self.q == self.q.max(axis=1, keepdims=True)
        return best / best.sum(axis=1, keepdims=True)

    def select(self, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def update(self, a: np.ndarray, r: np.ndarray) -> None:
        raise NotImplementedError

    def _average(self, a: np.ndarray, r: np.ndarray, step_size: float | None) -> None:
        rows = np.arange(self.num_runs)
        self.n[rows, a] += 1
        alpha = 1.0 / self.n[rows, a] if step_size is None else step_size
        self.q[rows, a] += alpha * (r - self.q[rows, a])

    # ----- the interface shared with the tabular agents -----
    @property
    def q_values(self) -> np.ndarray:
        """Action-value estimates [num_runs, k] (the bandit has one state per run)."""
        return self.q.copy()

    @property
    def policy(self) -> np.ndarray:
        return self.probabilities()

    @property
    def state_values(self) -> np.ndarray:
        return (self.probabilities() * self.q).sum(axis=1)

    def predict(
        self, obs: Any = None, state: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, None]:
        """One arm per run: the most probable one, or a sample from ``policy``."""
        pi = self.probabilities()
        if deterministic:
            return pi.argmax(axis=1), None
        u = np.random.default_rng().random((self.num_runs, 1))
        return np.minimum((u >= pi.cumsum(axis=1)).sum(axis=1), self.k - 1), None

    def learn(self, budget: int | None = None, seed: int = 0, progress: bool = False) -> History:
        """Play ``budget`` pulls in every run from fresh tables; one history row per pull."""
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
        rng = np.random.default_rng(seed)
        self.envs.reset(seed=seed)
        self.reset_tables()
        history = History()
        for t in tqdm(range(1, steps + 1), desc=self.name, disable=not progress, unit="step"):
            a = self.select(rng)
            _, r, _, _, info = self.envs.step(a)
            r = _numpy(r).astype(np.float64)
            self.t = t
            self.update(a, r)
            history.log(step=t, average_reward=r.mean(), optimal_action=_numpy(info["optimal"]).mean())
        return history

    # ----- save / load -----
    def arrays(self) -> dict[str, np.ndarray]:
        return {"q": self.q, "n": self.n, "t": np.array(self.t)}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.q, self.n, self.t = arrays["q"].copy(), arrays["n"].copy(), int(arrays["t"])

    def save(self, path: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``PATH.npz`` (tables) and ``PATH.json`` (algorithm, config, env); no pickle."""
        env_id, env_kwargs = env_spec_of(self.envs)
        for key in ("max_episode_steps", "num_envs", "vectorization_mode", "vector_kwargs", "wrappers"):
            env_kwargs.pop(key, None)
        meta = {
            "algo": self.name,
            "class": type(self).__name__,
            "config": dataclasses.asdict(self.config),
            "env_id": env_id,
            "env_kwargs": env_kwargs,
            "num_runs": self.num_runs,
        }
        return write_agent_files(path, self.arrays(), meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str], envs: Any = None) -> BanditAgent:
        """Rebuild an agent saved by :meth:`save`; the batched env is re-made from its id unless given."""
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

    def probabilities(self) -> np.ndarray:
        return self.config.epsilon / self.k + (1.0 - self.config.epsilon) * super().probabilities()

    def select(self, rng: np.random.Generator) -> np.ndarray:
        explore = rng.random(self.num_runs) < self.config.epsilon
        return np.where(explore, rng.integers(self.k, size=self.num_runs), random_argmax(self.q, rng))

    def update(self, a: np.ndarray, r: np.ndarray) -> None:
        self._average(a, r, self.config.step_size)


class UCB(BanditAgent):
    """UCB: untried arms first, then ``argmax Q + c sqrt(ln t / N)``."""

    config_cls = UCBConfig
    name = "ucb"

    def scores(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            bonus = self.config.c * np.sqrt(np.log(max(self.t, 1)) / self.n)
        return np.where(self.n == 0, np.inf, self.q + bonus)

    def probabilities(self) -> np.ndarray:
        s = self.scores()
        best = s == s.max(axis=1, keepdims=True)
        return best / best.sum(axis=1, keepdims=True)

    def select(self, rng: np.random.Generator) -> np.ndarray:
        self.t += 1  # ln t counts the current pull
        return random_argmax(self.scores(), rng)

    def update(self, a: np.ndarray, r: np.ndarray) -> None:
        self._average(a, r, self.config.step_size)


class GradientBandit(BanditAgent):
    """Gradient bandit: ``H(a) += alpha (R - baseline) (1[a = A] - pi(a))``, ``pi = softmax(H)``.

    ``q_values`` holds the preferences H; the baseline is the running average reward (with R_t).
    """

    config_cls = GradientBanditConfig
    name = "gradient_bandit"

    def reset_tables(self) -> None:
        super().reset_tables()
        self.baseline = np.zeros(self.num_runs)

    def probabilities(self) -> np.ndarray:
        z = np.exp(self.q - self.q.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def select(self, rng: np.random.Generator) -> np.ndarray:
        self._pi = self.probabilities()
        cdf = self._pi.cumsum(axis=1)
        return np.minimum((rng.random((self.num_runs, 1)) >= cdf).sum(axis=1), self.k - 1)

    def update(self, a: np.ndarray, r: np.ndarray) -> None:
        pi = self._pi
        rows = np.arange(self.num_runs)
        self.n[rows, a] += 1
        if self.config.baseline:
            self.baseline += (r - self.baseline) / self.t
        one_hot = np.zeros_like(pi)
        one_hot[rows, a] = 1.0
        self.q += self.config.alpha * (r - self.baseline)[:, None] * (one_hot - pi)

    def arrays(self) -> dict[str, np.ndarray]:
        return {**super().arrays(), "baseline": self.baseline}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super().set_arrays(arrays)
        self.baseline = arrays["baseline"].copy()


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
        self.reward_sum = np.zeros((self.num_runs, self.k))
        self._refresh()

    def _refresh(self) -> None:
        cfg = self.config
        if cfg.model == "bernoulli":
            self.q = (1.0 + self.reward_sum) / (2.0 + self.n)
        else:
            precision = 1.0 / cfg.prior_std**2 + self.n / cfg.noise_std**2
            self.q = (cfg.prior_mean / cfg.prior_std**2 + self.reward_sum / cfg.noise_std**2) / precision
            self.posterior_std = 1.0 / np.sqrt(precision)

    def select(self, rng: np.random.Generator) -> np.ndarray:
        if self.config.model == "bernoulli":
            sample = rng.beta(1.0 + self.reward_sum, 1.0 + self.n - self.reward_sum)
        else:
            sample = self.q + self.posterior_std * rng.standard_normal(self.q.shape)
        return sample.argmax(axis=1)

    def update(self, a: np.ndarray, r: np.ndarray) -> None:
        rows = np.arange(self.num_runs)
        self.n[rows, a] += 1
        self.reward_sum[rows, a] += r
        self._refresh()

    def arrays(self) -> dict[str, np.ndarray]:
        return {**super().arrays(), "reward_sum": self.reward_sum}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super().set_arrays(arrays)
        self.reward_sum = arrays["reward_sum"].copy()
        self._refresh()
