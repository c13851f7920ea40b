"""Bandit agents (Sutton & Barto ch. 2), each running many independent runs at once.

An agent is built from a batched bandit env, ``gym.make_vec("rlsuite/KArmedBandit-v0",
num_envs=2000, vectorization_mode="vector_entry_point")``: row ``i`` of every table is run ``i``.
``learn(steps, seed)`` plays all runs for ``steps`` pulls and returns a
:class:`~rlsuite.agents.base.History` with one row per step: the average reward over runs and the
fraction of runs that pulled an optimal arm, the two curves of the book's figures.

The agents meet :class:`rlsuite.agents.base.Agent`: ``env_kind = "vector"`` (the app makes
``gym.make_vec(id, num_envs=runs, ..., device=...)``), ``uses_device = True`` (the tables live on
the env's device), ``budget_unit = "steps"``; save/load come from the base (``runs`` in ``agent.json``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from rlsuite.agents.base import Agent, History
from rlsuite.common.backend import ArrayBackend
from rlsuite.common.config import Config, option
from rlsuite.common.device import to_numpy
from rlsuite.common.errors import ConfigError, UsageError
from rlsuite.common.progress import task as progress_task


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
    """Row-wise argmax of ``x`` [runs, k] with ties broken uniformly at random (numpy or torch).

    numpy: the maximum, the ties and their count are computed over the arm axis of ``x.T``
    (contiguous rows when ``x`` is arm-major, as the agents' tables are), the arm of a row
    without ties is the dot product of its tie mask with ``0..k-1``, and random numbers are
    drawn only for the rows that hold a tie (after the first pulls, few or none). torch: one
    uniform key per entry, so a GPU run never waits for the host.
    """
    if backend.is_torch:  # fixed shapes: no sync
        ties = x == x.amax(dim=1, keepdim=True)
        return (ties * (backend.uniform(tuple(x.shape)) + 1.0)).argmax(dim=1)
    k = x.shape[1]
    ties = x.T.max(axis=0) == x.T  # [k, runs]
    arm = np.dot(np.arange(k, dtype=np.float64), ties).astype(np.int64)  # the arm, where it is unique
    tied = np.flatnonzero(np.add.reduce(ties, axis=0, dtype=np.min_scalar_type(k)) > 1)
    if tied.size:
        keys = ties[:, tied].T * (backend.uniform((tied.size, k)) + 1.0)
        arm[tied] = keys.argmax(axis=1)
    return arm


class BanditAgent(Agent):
    """Base of the bandit agents: ``num_runs`` runs in lockstep, tables [num_runs, k].

    The tables live where the batched env's arrays live: numpy on CPU (``device="cpu"``, the
    default) or torch tensors on the env's device (``gym.make_vec(..., device="cuda")``), so a
    GPU run never copies to the host inside the loop, nor waits for the device (a pull makes no
    host-device sync); ``backend`` makes the arrays and draws the agent's random numbers there.

    The tables are stored arm-major (``[k, num_runs]`` in memory, seen as ``[num_runs, k]``):
    the per-step maxima over the arms are then reductions over contiguous rows, and a pull of
    arm ``a`` in every run updates one flat index per run (``a * num_runs + run``).

    ``t`` is the number of the pull being made while :meth:`select` and :meth:`update` run
    (1 for the first pull; UCB's ``ln t`` and the gradient bandit's average reward count it),
    and the number of pulls made once :meth:`learn` returns.

    Args:
        env: a batched bandit env (``KArmedBanditVectorEnv``); one run per copy.
        config: the algorithm's config (defaults: the book's settings).
    """

    budget_unit: ClassVar[str] = "steps"
    default_budget: ClassVar[int] = 1000
    env_kind: ClassVar[Literal["single", "vector"]] = "vector"
    default_env: ClassVar[str] = "rlsuite/KArmedBandit-v0"
    uses_device: ClassVar[bool] = True

    def __init__(self, env: Any, config: Any = None) -> None:
        config = self.check_config(config)
        if not hasattr(env, "num_envs") or not hasattr(env, "k") or not hasattr(env, "backend"):
            raise UsageError(
                f"{type(self).__name__} needs a batched bandit env: "
                "gym.make_vec('rlsuite/KArmedBandit-v0', num_envs=N, vectorization_mode='vector_entry_point')"
            )
        self.env = env
        self.config = config
        self.num_runs = int(env.num_envs)
        self.k = int(env.k)
        self.backend: ArrayBackend = env.backend.spawn()
        self.backend.seed(np.random.default_rng(0))
        self.rows = self.backend.arange(self.num_runs)
        self.reset_tables()

    @property
    def device(self) -> str:
        """Where the tables live: ``"cpu"`` (numpy) or the torch device's name."""
        return str(self.backend.device)

    def table(self, values: Any = None) -> Any:
        """A new [num_runs, k] table, arm-major in memory; zeros, or a copy of ``values``."""
        t = self.backend.zeros((self.k, self.num_runs)).T
        if values is not None:
            t[...] = self.backend.asarray(values)
        return t

    def flat(self, table: Any) -> Any:
        """The flat view of an arm-major table: entry (run, a) at ``a * num_runs + run``."""
        arm_major = table.T
        if self.backend.is_torch:
            return arm_major.view(-1)  # raises rather than copy
        if not arm_major.flags.c_contiguous:
            raise ValueError("bandit tables must be arm-major (made by BanditAgent.table)")
        return arm_major.reshape(-1)

    def pulled(self, a: Any) -> Any:
        """Flat indices of the entries (run, a[run]) of every run."""
        return a * self.num_runs + self.rows

    def reset_tables(self) -> None:
        self.q = self.table()
        self.n = self.table()
        self.t = 0

    # ----- the algorithm -----
    def probabilities(self) -> Any:
        """Action probabilities [runs, k] of the current policy (greedy ties shared equally)."""
        return self._uniform_over_best(self.q)

    def _uniform_over_best(self, scores: Any) -> Any:
        backend = self.backend
        best = backend.as_dtype(scores == backend.amax(scores, 1, keepdims=True), like=scores)
        return best / best.sum(1, keepdims=True)

    def select(self) -> Any:
        """The arm of pull number ``self.t`` in every run, [runs]."""
        raise NotImplementedError

    def update(self, a: Any, r: Any) -> None:
        """Learn from pull number ``self.t``: arms ``a`` [runs] paid rewards ``r`` [runs]."""
        raise NotImplementedError

    def _average(self, a: Any, r: Any, step_size: float | None) -> None:
        """``N(a) += 1; Q(a) += alpha (R - Q(a))`` with ``alpha = 1 / N(a)`` or the constant step size."""
        i = self.pulled(a)
        q, n = self.flat(self.q), self.flat(self.n)
        count = n[i] + 1.0
        n[i] = count
        q_a = q[i]
        q[i] = q_a + (r - q_a) / count if step_size is None else q_a + step_size * (r - q_a)

    # ----- the interface shared with the tabular agents (host numpy arrays) -----
    @property
    def q_values(self) -> np.ndarray:
        """Action-value estimates [num_runs, k] (the bandit has one state per run)."""
        return np.ascontiguousarray(to_numpy(self.q), dtype=np.float64)

    @property
    def policy(self) -> np.ndarray:
        """Action probabilities [num_runs, k] of the next pull."""
        return np.ascontiguousarray(to_numpy(self.probabilities()), dtype=np.float64)

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

    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        """Play ``budget`` pulls in every run from fresh tables; one history row per pull.

        Row ``t`` (1-based) holds the reward of pull ``t`` averaged over the runs and the fraction
        of runs whose pull ``t`` was of an optimal arm. The curves are kept on the device and
        copied to the host once at the end; progress goes through :mod:`rlsuite.common.progress`.
        """
        steps = self.check_budget(budget)
        limit = getattr(self.env, "max_episode_steps", None)
        if limit is not None and steps > limit:
            raise ConfigError(
                f"{type(self).__name__}: budget {steps} is longer than the env's episode ({limit} steps); "
                "make the env with a larger max_episode_steps",
                "budget",
                steps,
            )
        self.backend.seed(np.random.default_rng(seed))
        self.env.reset(seed=seed)
        self.reset_tables()
        reward_sum, optimal_count = self.backend.zeros(steps), self.backend.zeros(steps)
        every = max(1, steps // 100)
        with progress_task(self.name, total=steps, unit="step") as bar:
            for t in range(1, steps + 1):
                self.t = t
                a = self.select()
                _, r, _, _, info = self.env.step(a)
                r = self.backend.as_dtype(r, like=self.q)
                self.update(a, r)
                reward_sum[t - 1] = r.sum()
                optimal_count[t - 1] = info["optimal"].sum()
                if t % every == 0 or t == steps:
                    bar.advance(every if t % every == 0 else t % every)
        history = History()
        rewards, optimal = to_numpy(reward_sum) / self.num_runs, to_numpy(optimal_count) / self.num_runs
        for t, (reward, opt) in enumerate(zip(rewards, optimal, strict=True), start=1):
            history.log(step=t, average_reward=reward, optimal_action=opt)
        return history

    # ----- save / load (the files and the env come from Agent.save / Agent.load) -----
    def arrays(self) -> dict[str, Any]:
        """The tables to save, [num_runs, k] (on the backend), and the pull count ``t``."""
        return {"q": self.q, "n": self.n, "t": np.array(self.t)}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.q, self.n = self.table(arrays["q"]), self.table(arrays["n"])
        self.t = int(arrays["t"])


class EpsilonGreedyBandit(BanditAgent):
    """Epsilon-greedy: a random arm with probability epsilon, else a greedy one (ties at random)."""

    config_cls = EpsilonGreedyBanditConfig
    name = "epsilon_greedy"

    def reset_tables(self) -> None:
        super().reset_tables()
        self.q[...] = self.config.initial_value

    def probabilities(self) -> Any:
        return self.config.epsilon / self.k + (1.0 - self.config.epsilon) * super().probabilities()

    def select(self) -> Any:
        greedy = random_argmax(self.q, self.backend)
        eps = self.config.epsilon
        if eps == 0.0:
            return greedy
        # one uniform u per run: explore when u < eps; then u / eps is uniform on [0, 1), so
        # floor(k u / eps) is a uniformly random arm (no second draw); a mask, not indices: no sync
        u = self.backend.uniform((self.num_runs,))
        random_arm = self.backend.as_dtype(u * (self.k / eps), like=greedy).clip(max=self.k - 1)
        return self.backend.where(u < eps, random_arm, greedy)

    def update(self, a: Any, r: Any) -> None:
        self._average(a, r, self.config.step_size)


class UCB(BanditAgent):
    """UCB: untried arms first, then ``argmax Q + c sqrt(ln t / N)`` for pull number t."""

    config_cls = UCBConfig
    name = "ucb"

    def scores(self, t: int) -> Any:
        """``Q + c sqrt(ln t / N)`` for pull number ``t``; infinite for arms not pulled yet."""
        bonus = self.config.c * self.backend.sqrt(math.log(t) / self.n.clip(min=1.0))
        return self.backend.where(self.n == 0, math.inf, self.q + bonus)

    def probabilities(self) -> Any:
        """The policy of the next pull (number ``t + 1``)."""
        return self._uniform_over_best(self.scores(self.t + 1))

    def select(self) -> Any:
        return random_argmax(self.scores(self.t), self.backend)

    def update(self, a: Any, r: Any) -> None:
        self._average(a, r, self.config.step_size)


class GradientBandit(BanditAgent):
    """Gradient bandit: ``H(a) += alpha (R - baseline) (1[a = A] - pi(a))``, ``pi = softmax(H)``.

    ``q_values`` holds the preferences H; the baseline is the average of the rewards R_1..R_t,
    R_t included (Sutton & Barto eq. 2.12).
    """

    config_cls = GradientBanditConfig
    name = "gradient_bandit"

    def reset_tables(self) -> None:
        super().reset_tables()
        self.baseline = self.backend.zeros(self.num_runs)

    def probabilities(self) -> Any:
        z = self.backend.exp(self.q - self.backend.amax(self.q, 1, keepdims=True))
        return z / z.sum(1, keepdims=True)

    def select(self) -> Any:
        self._pi = self.probabilities()
        cdf = self.backend.cumsum(self._pi)
        u = self.backend.uniform((self.num_runs, 1))
        return (u >= cdf).sum(1).clip(max=self.k - 1)

    def update(self, a: Any, r: Any) -> None:
        pi = self._pi
        i = self.pulled(a)
        self.flat(self.n)[i] += 1.0
        if self.config.baseline:
            self.baseline += (r - self.baseline) / self.t
        step = self.config.alpha * (r - self.baseline)
        self.q -= step[:, None] * pi  # every arm: - alpha (R - baseline) pi(a) ...
        self.flat(self.q)[i] += step  # ... and the pulled one: + alpha (R - baseline)

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
        self.reward_sum = self.table()
        self._refresh()

    def _refresh(self) -> None:
        cfg = self.config
        if cfg.model == "bernoulli":
            self.q[...] = (1.0 + self.reward_sum) / (2.0 + self.n)
        else:
            precision = 1.0 / cfg.prior_std**2 + self.n / cfg.noise_std**2
            self.q[...] = (cfg.prior_mean / cfg.prior_std**2 + self.reward_sum / cfg.noise_std**2) / precision
            self.posterior_std = 1.0 / self.backend.sqrt(precision)

    def select(self) -> Any:
        if self.config.model == "bernoulli":
            sample = self.backend.beta(1.0 + self.reward_sum, 1.0 + self.n - self.reward_sum)
        else:
            sample = self.q + self.posterior_std * self.backend.normal(tuple(self.q.shape))
        return sample.argmax(1)

    def update(self, a: Any, r: Any) -> None:
        i = self.pulled(a)
        self.flat(self.n)[i] += 1.0
        self.flat(self.reward_sum)[i] += r
        self._refresh()

    def arrays(self) -> dict[str, Any]:
        return {**super().arrays(), "reward_sum": self.reward_sum}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        super().set_arrays(arrays)
        self.reward_sum = self.table(arrays["reward_sum"])
        self._refresh()
