"""Monte Carlo prediction (Sutton & Barto ch. 5): first-visit MC, off-policy MC by importance sampling.

- :class:`FirstVisitMCPrediction`: v_pi of a fixed policy by averaging first-visit returns (S&B 5.1,
  the box "First-visit MC prediction").
- :class:`OffPolicyMCPrediction`: v_pi of a target policy from episodes of a behaviour policy,
  ordinary (S&B eq. 5.5) or weighted (eq. 5.6) importance sampling.

Both play episodes on the single env (any env with Discrete actions and Discrete, Tuple-of-Discrete
or MultiDiscrete observations: gymnasium's Blackjack-v1 included), a batch at a time, and update
from the batch with the array functions below, which the figures also apply to the batched
Blackjack games of :mod:`rlsuite.envs.blackjack` (500,000 episodes in seconds).
:class:`BlackjackMCES` is Monte Carlo ES (S&B 5.3) on Blackjack, its episodes batched games (figure 5.2).

Device (``device=`` in the constructor; ``rlsuite train --backend torch --device ...``): the episodes are played
on the host (gymnasium's env, or :func:`rlsuite.envs.blackjack.play`), with the same random stream as numpy, and
the return sums, counts and estimates live on the :class:`~rlsuite.common.backend.ArrayBackend` (torch on a
device): each batch is copied there once and reduced by ``bincount`` (no step ever waits for the device).
The prediction agents read the device back only for a history row's ``value_error`` (envs with an exact
model); Monte Carlo ES brings its greedy policy back once per batch, to play the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rlsuite.agents.base import History, sample_actions
from rlsuite.agents.tabular.batch import discounted_returns, first_visit_mask
from rlsuite.agents.tabular.mc import ReturnAveraging
from rlsuite.agents.tabular.solvers import greedy_policy, policy_evaluation
from rlsuite.common import progress
from rlsuite.common.backend import ArrayBackend
from rlsuite.common.config import Config, option
from rlsuite.common.device import to_numpy
from rlsuite.common.errors import UsageError
from rlsuite.envs.wrappers import DiscreteIndexObservation, indexable

PolicyName = Literal["uniform", "optimal", "stick_20"]
POLICY_HELP = (
    "the policy evaluated: uniform random, optimal (greedy in q* of the env's exact model), or stick_20 "
    "(Blackjack: stick on 20 or 21, else hit; the book's example 5.1)"
)


# ----- the estimators, on arrays of episodes [T, N] (numpy, or torch on a device) -----
def _first_visits(states: Any, rewards: Any, alive: Any, gamma: float, n_states: int) -> tuple[Any, Any, Any]:
    """``(G, first, count)``: the returns [T, N], the first visits of each state in its episode [T, N], and the
    number of first visits per state [n_states]."""
    backend = ArrayBackend.of(states)
    G = discounted_returns(backend.where(alive, rewards, 0.0), gamma)
    first = first_visit_mask(states, states * 0, 1, alive, n_states)
    return G, first, backend.cast_float(backend.bincount(states.reshape(-1), None, n_states, first.reshape(-1)))


def _sum_first(states: Any, values: Any, first: Any, n_states: int) -> Any:
    """Per state: the sum of ``values`` [T, N] over its first visits."""
    return ArrayBackend.of(states).bincount(states.reshape(-1), values.reshape(-1), n_states, first.reshape(-1))


def first_visit_sums(states: Any, rewards: Any, alive: Any, gamma: float, n_states: int) -> tuple[Any, Any]:
    """Per state: the sum and count of the returns that follow its first visit in each episode.

    Args:
        states, rewards, alive: [T, N] episodes (``alive`` marks the real steps; rewards 0 elsewhere).
    """
    G, first, count = _first_visits(states, rewards, alive, gamma, n_states)
    return _sum_first(states, G, first, n_states), count


def importance_ratios(states: Any, actions: Any, alive: Any, target: Any, behaviour: Any) -> Any:
    """``rho_{t:T-1} = prod_{k=t}^{T-1} pi(A_k|S_k) / b(A_k|S_k)`` [T, N] (S&B eq. 5.3; 1 after the end)."""
    backend = ArrayBackend.of(states)
    step = backend.where(alive, target[states, actions] / behaviour[states, actions], 1.0)
    if backend.is_torch:
        return step.flip(0).cumprod(0).flip(0)
    return np.cumprod(step[::-1], axis=0)[::-1]


def off_policy_sums(states: Any, actions: Any, rewards: Any, alive: Any, target: Any, behaviour: Any,
                    gamma: float, n_states: int) -> tuple[Any, Any, Any]:  # fmt: skip
    """Per state, over first visits: ``sum rho G``, ``sum rho`` and the count of visits.

    Ordinary importance sampling (eq. 5.5) is ``sum rho G / count``; weighted (eq. 5.6) ``sum rho G / sum rho``.
    """
    G, first, count = _first_visits(states, rewards, alive, gamma, n_states)
    rho = importance_ratios(states, actions, alive, target, behaviour)
    return _sum_first(states, rho * G, first, n_states), _sum_first(states, rho, first, n_states), count


def ratio(num: Any, den: Any) -> Any:
    """``num / den`` where ``den > 0``, else 0 (no sample yet: the estimate starts at 0)."""
    backend = ArrayBackend.of(num)
    if backend.is_torch:
        return backend.where(den > 0, num / backend.where(den > 0, den, 1.0), 0.0)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den > 0)
    return out


# ----- the agents -----
@dataclass
class MCPredictionConfig(Config):
    """First-visit MC prediction (S&B 5.1); the defaults are example 5.1 (Blackjack, stick on 20)."""

    gamma: float = option(1.0, help="discount factor", ge=0.0, le=1.0)
    policy: PolicyName = option("stick_20", help=POLICY_HELP)
    batch: int = option(100, help="episodes played between updates (and history rows)", ge=1)
    max_steps: int = option(1000, help="steps after which an episode is cut (continuing envs)", ge=1)


@dataclass
class OffPolicyMCPredictionConfig(MCPredictionConfig):
    """Off-policy MC prediction (S&B 5.5): episodes of a uniformly random behaviour policy."""

    weighting: Literal["ordinary", "weighted"] = option(
        "weighted", help="importance sampling: ordinary (eq. 5.5) or weighted (eq. 5.6)"
    )


class _EpisodeAveraging(ReturnAveraging):
    """What the Blackjack MC agents share: episodes as the budget, Blackjack-v1 by default, the index map of
    Tuple / MultiDiscrete observations (they step the env itself), ``device=`` for their tables."""

    budget_unit = "episodes"
    default_env = "Blackjack-v1"
    uses_device = True

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        if indexable(env.observation_space):  # the index map TabularAgent applies to the agents stepping one env
            env = DiscreteIndexObservation(env)
        super().__init__(env, config, device=device)


class FirstVisitMCPrediction(_EpisodeAveraging):
    """First-visit MC prediction of ``v_pi`` for the config's fixed policy; the budget counts episodes.

    With an exact model (and ``gamma < 1`` or an episodic task) each history row has
    ``value_error``: max over visited states of ``|v - v_pi|``.
    """

    config_cls = MCPredictionConfig
    name = "mc_prediction"
    default_budget = 10_000

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        super().__init__(env, config, device=device)
        self.pi = self.fixed_policy(self.config.policy)
        self.v = np.zeros(self.n_states)
        self.returns_sum = np.zeros(self.n_states)
        self.returns_count = np.zeros(self.n_states)
        self.v_pi = self._true_values()

    def fixed_policy(self, name: str) -> np.ndarray:
        """The policy ``name`` as [S, A] probabilities."""
        S, A = self.n_states, self.n_actions
        if name == "uniform":
            return np.full((S, A), 1.0 / A)
        if name == "optimal":
            if self.q_star is None:
                raise UsageError(f"{type(self).__name__}: policy 'optimal' needs an env with an exact model (P)")
            return greedy_policy(self.q_star)
        components = getattr(self.env, "components", None)
        if components is None or A != 2 or list(getattr(self.env, "nvec", [])) != [32, 11, 2]:
            other = "'uniform' or 'optimal'" if self.q_star is not None else "'uniform'"
            raise UsageError(f"{type(self).__name__}: policy 'stick_20' is Blackjack's (Blackjack-v1); on this env "
                             f"choose policy {other}")  # fmt: skip
        player_sum = components(np.arange(S))[:, 0]
        return np.eye(2)[np.where(player_sum >= 20, 0, 1)]  # gymnasium: 0 stick, 1 hit

    def _true_values(self) -> np.ndarray | None:
        if self.model is None:
            return None
        try:
            return policy_evaluation(self.model, self.pi, self.gamma)
        except (ValueError, np.linalg.LinAlgError):
            return None

    def play(
        self, n: int, behaviour: np.ndarray, backend: ArrayBackend, first_seed: int | None
    ) -> tuple[np.ndarray, ...]:
        """``n`` episodes under ``behaviour`` [S, A], padded to [T, n]: states, actions, rewards, alive."""
        episodes = []
        for i in range(n):
            obs, _ = self.env.reset(seed=first_seed if i == 0 else None)
            steps: list[tuple[int, int, float]] = []
            done = False
            while not done and len(steps) < self.config.max_steps:
                s = int(obs)
                a = int(sample_actions(behaviour, np.array([s]), backend)[0])
                obs, r, term, trunc, _ = self.env.step(a)
                steps.append((s, a, float(r)))
                done = term or trunc
            episodes.append(steps)
        T = max(len(e) for e in episodes)
        states, actions = np.zeros((T, n), dtype=np.int64), np.zeros((T, n), dtype=np.int64)
        rewards, alive = np.zeros((T, n)), np.zeros((T, n), dtype=bool)
        for j, e in enumerate(episodes):
            arr = np.array(e, dtype=np.float64).reshape(-1, 3)
            k = len(e)
            states[:k, j], actions[:k, j], rewards[:k, j], alive[:k, j] = arr[:, 0], arr[:, 1], arr[:, 2], True
        return states, actions, rewards, alive

    def behaviour(self) -> np.ndarray:
        return self.pi

    def update(self, states: Any, actions: Any, rewards: Any, alive: Any) -> None:
        sums, counts = first_visit_sums(states, rewards, alive, self.gamma, self.n_states)
        self.returns_sum += sums
        self.returns_count += counts
        self.v = ratio(self.returns_sum, self.returns_count)  # V(s) = average(Returns(s))

    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        budget = self.check_budget(budget)
        backend = ArrayBackend("cpu")  # the episodes: on the host, whatever the device
        backend.seed(np.random.default_rng(seed))
        tables = ArrayBackend(self.device)
        self.env.action_space.seed(seed)
        history, done, first_seed = History(), 0, seed
        self.tables_to(tables)
        with progress.task(self.name, total=budget, unit="episode") as bar:
            while done < budget:
                n = min(self.config.batch, budget - done)
                states, actions, rewards, alive = self.play(n, self.behaviour(), backend, first_seed)
                self.update(tables.as_index(states), tables.as_index(actions), tables.asarray(rewards),
                            tables.asarray(alive, "bool"))  # fmt: skip
                first_seed = None
                done += n
                bar.advance(n)
                mean_return = float(discounted_returns(rewards, self.gamma)[0].mean())  # of the behaviour policy
                history.log(episodes=done, mean_return=mean_return, **self.prediction_metrics())
        self.tables_to(None)
        return history

    def prediction_metrics(self) -> dict[str, float]:
        """``value_error``: max over visited states of ``|v - v_pi|`` (with an exact model; read from the device)."""
        if self.v_pi is None:
            return {}
        seen = to_numpy(self.returns_count) > 0
        if not seen.any():
            return {}
        return {"value_error": float(np.abs(to_numpy(self.v) - self.v_pi)[seen].max())}

    def value_estimate(self) -> np.ndarray:
        return self.state_values

    def truth_metrics(self) -> dict[str, float]:
        return self.prediction_metrics()


class OffPolicyMCPrediction(FirstVisitMCPrediction):
    """Off-policy MC prediction of the target policy's ``v_pi`` from uniformly random behaviour.

    ``weighting="ordinary"``: ``V(s) = sum rho G / |T(s)|`` (eq. 5.5); ``"weighted"``:
    ``V(s) = sum rho G / sum rho`` (eq. 5.6), over first visits.
    """

    config_cls = OffPolicyMCPredictionConfig
    name = "off_policy_mc_prediction"
    TABLES = (*ReturnAveraging.TABLES, "rho_sum")

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        super().__init__(env, config, device=device)
        self.rho_sum = np.zeros(self.n_states)

    def behaviour(self) -> np.ndarray:
        return np.full((self.n_states, self.n_actions), 1.0 / self.n_actions)

    def update(self, states: Any, actions: Any, rewards: Any, alive: Any) -> None:
        backend = ArrayBackend.of(states)
        weighted_returns, rhos, counts = off_policy_sums(
            states, actions, rewards, alive, backend.asarray(self.pi), backend.asarray(self.behaviour()),
            self.gamma, self.n_states,
        )  # fmt: skip
        self.returns_sum += weighted_returns
        self.rho_sum += rhos
        self.returns_count += counts
        denominator = self.returns_count if self.config.weighting == "ordinary" else self.rho_sum
        self.v = ratio(self.returns_sum, denominator)


# ----- Monte Carlo ES on the batched Blackjack games (figure 5.2) -----
@dataclass
class BlackjackMCESConfig(Config):
    """Monte Carlo ES on Blackjack (S&B 5.3, figure 5.2): undiscounted, exploring starts over all states."""

    batch: int = option(
        5000, help="episodes played at once between policy improvements (the book improves after each)", ge=1
    )


class BlackjackMCES(_EpisodeAveraging):
    """Monte Carlo ES (S&B 5.3) on Blackjack-v1, its episodes played as batched games.

    Every episode starts from a uniformly random state (player sum 12-21, dealer card 1-10, usable ace or
    not) and first action, which gymnasium's env cannot be reset to: the episodes are played by
    :func:`rlsuite.envs.blackjack.play` under Blackjack-v1's rules (``env`` only fixes the state indices, and
    ``rlsuite eval`` plays the learned policy on it). First-visit returns are averaged over all episodes;
    the policy is greedy in the averages (ties at random), improved after each batch of ``batch`` episodes,
    and starts as stick-on-20, as ShangtongZhang's code. The budget counts episodes.
    """

    config_cls = BlackjackMCESConfig
    name = "mc_es_blackjack"
    default_budget = 500_000

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        super().__init__(env, config, device=device)
        from rlsuite.envs import blackjack as bj

        if self.n_actions != 2 or list(getattr(self.env, "nvec", [])) != [32, 11, 2]:
            name = self.env.spec.id if self.env.spec else type(self.env.unwrapped).__name__
            raise UsageError(f"{type(self).__name__}: plays Blackjack (Blackjack-v1), not {name}")
        self.returns_sum = np.zeros((bj.N_STATES, 2))
        self.returns_count = np.zeros((bj.N_STATES, 2))
        self.pi = np.eye(2)[bj.stick_on(20)]

    @property
    def gamma(self) -> float:
        return 1.0

    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        from rlsuite.envs import blackjack as bj

        budget = self.check_budget(budget)
        rng = np.random.default_rng(seed)  # the games and the tie breaks, on the host whatever the device
        tables = ArrayBackend(self.device)
        S, history, done = bj.N_STATES, History(), 0
        self.tables_to(tables)
        with progress.task(self.name, total=budget, unit="episode") as bar:
            while done < budget:
                n = min(self.config.batch, budget - done)
                initial = (rng.integers(12, 22, n), rng.integers(1, 11, n), rng.integers(0, 2, n))
                games = bj.play(self.pi.argmax(axis=1), n, rng, initial=initial, first_action=rng.integers(0, 2, n))
                first = first_visit_mask(games.states, games.actions, 2, games.alive)
                first = tables.asarray(first, "bool").reshape(-1)
                sa = tables.as_index(games.states * 2 + games.actions).reshape(-1)
                G = np.broadcast_to(games.reward, games.states.shape).reshape(-1)  # gamma = 1, one reward at the end
                G = tables.asarray(G)
                self.returns_sum += tables.bincount(sa, G, 2 * S, first).reshape(S, 2)
                self.returns_count += tables.bincount(sa, None, 2 * S, first).reshape(S, 2)
                self.q = ratio(self.returns_sum, self.returns_count)  # Q(s, a) = average(Returns(s, a))
                ties = abs(self.q[:, 0] - self.q[:, 1]) <= 1e-8 + 1e-5 * abs(self.q[:, 1])  # np.isclose
                greedy = to_numpy(tables.where(ties, -1, self.q.argmax(1)))  # torch: the one read per batch
                self.pi = np.eye(2)[np.where(greedy < 0, rng.integers(0, 2, S), greedy)]  # pi(s) = argmax Q
                done += n
                bar.advance(n)
                history.log(episodes=done, mean_return=float(games.reward.mean()))
        self.tables_to(None)
        return history
