"""The base of the function-approximation agents of Zhao chapters 8-10 (linear TD, DQN, actor-critic).

They meet the tabular agents' contract (:class:`~rlsuite.agents.tabular.agent.TabularAgent`):
``learn(budget, seed) -> History``, ``predict``, ``q_values`` / ``state_values`` / ``policy`` as
numpy tables [S, A] / [S] read off the learned parameters, ``arrays`` / ``set_arrays`` (the
parameters, saved without pickle). They learn one sample at a time from the env itself (its
``unwrapped`` step, so the agent decides where episodes start and end), as the book's
algorithms do.

Where they compute (the ``device`` argument, as the other agents take it; ``rlsuite train`` resolves
``--device`` and ``--backend`` into it): ``"cpu"`` keeps the parameters in numpy (float64: the fastest
for one-sample updates of a few hundred numbers); ``"torch:cpu"``, ``"cuda"`` or ``"cuda:N"`` keep them
in torch (float32) on that device. The update rules are written with array operators
only, so one line serves both. Deep Q-learning always uses torch (its network).

Against the truth: the env's exact model gives ``v*`` and ``q*`` (value iteration) and the true
``v_pi`` of any policy (a linear solve); every history row records, for control, the gap of the
learned greedy policy to the optimum (``gap_to_optimum = max_s v*(s) - v_pi(s)``) and the
fraction of states whose greedy action is optimal, and for value estimation the RMSE to ``v_pi``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rlsuite.agents.approx.features import check_discrete_env, env_name, state_features
from rlsuite.agents.base import History, greedy_optimal_fraction
from rlsuite.agents.tabular.agent import TabularAgent
from rlsuite.agents.tabular.batch import place_at, start_states
from rlsuite.agents.tabular.solvers import policy_evaluation
from rlsuite.common import progress
from rlsuite.common.backend import ArrayBackend
from rlsuite.common.config import Config, option
from rlsuite.common.device import to_numpy
from rlsuite.common.errors import UsageError


@dataclass
class ApproxConfig(Config):
    """What the chapter 8-10 agents share."""

    gamma: float = option(0.9, help="discount factor (below 1: the grid world is a continuing task)", ge=0.0, lt=1.0)
    log_every: int = option(1, help="episodes (DQN: iterations) between history rows", ge=1)


FeatureKind = Literal["polynomial", "fourier", "onehot"]
StartKind = Literal["random", "env"]
START_HELP = "where episodes start: random (uniform over states) or env (the env's start, the book's top-left)"


@dataclass
class FeatureConfig(ApproxConfig):
    """The agents with linear features of the state: which features, the episodes they learn from."""

    features: FeatureKind = option(
        "onehot", help="state features: polynomial (8.15-8.17), fourier (8.18) or onehot (tabular)"
    )
    order: int = option(1, help="feature order: polynomial degree n, or Fourier q (unused by onehot)", ge=0, le=20)
    episode_length: int = option(500, help="steps per episode (control: at most)", ge=1)
    start: StartKind = option("random", help=START_HELP)


class ApproxAgent(TabularAgent):
    """Base of the chapter 8-10 agents: the env, the arrays' backend, episodes, exact metrics.

    Subclasses keep their parameters as backend arrays, and implement ``iterate`` (one episode or
    iteration; ``begin`` sets up a run) and ``refresh_tables`` (which fills ``self.q`` / ``self.pi`` /
    ``self.v`` on the host from them).
    """

    uses_device = True
    budget_unit = "episodes"

    def __init__(self, env: Any, config: Any = None, *, device: str = "cpu") -> None:
        check_discrete_env(env, type(self).__name__)
        super().__init__(env, config, device=device)
        if self.model is None:
            raise UsageError(f"{type(self).__name__} cannot learn on {env_name(env)}: it measures itself against "
                             "the exact model (env.unwrapped.P), which this env lacks")  # fmt: skip
        self.xp = ArrayBackend(self.device)  # "cpu": numpy; else torch on the device
        self.base = env.unwrapped
        self.starts = start_states(env, self.n_states)
        self.rng = np.random.default_rng(0)
        self.run_seed = 0

    # ----- arrays -----
    def place(self, x: Any) -> Any:
        """A host array as a parameter on this agent's backend (numpy float64, or torch on the device)."""
        return self.xp.asarray(np.asarray(x, dtype=np.float64))

    def features(self, kind: str, order: int) -> Any:
        """``Phi`` [S, d] of the config's features, on the backend."""
        return self.place(state_features(self.env, kind, order, type(self).__name__))

    # ----- the learning loop -----
    x_name = "episode"  # the history's first column: what one unit of the budget is

    def begin(self) -> None:
        """Set up for one ``learn`` after seeding (initial parameters, samples)."""

    def iterate(self) -> dict[str, float]:
        """One unit of the budget (an episode; a DQN iteration); returns what the history records of it."""
        raise NotImplementedError

    def learn(self, budget: int | None = None, seed: int = 0) -> History:
        """``budget`` episodes (iterations) from ``seed``; a history row every ``log_every`` with the exact metrics."""
        budget = self.check_budget(budget)
        self.seed(seed)
        self.begin()
        history = History()
        with progress.task(self.name, total=budget, unit=self.x_name) as bar:
            for i in range(budget):
                row = self.iterate()
                if (i + 1) % self.config.log_every == 0 or i + 1 == budget:
                    self.refresh_tables()
                    history.log(**{self.x_name: i + 1}, **row, **self.truth_metrics())
                bar.advance(1)
        self.refresh_tables()
        return history

    # ----- the env -----
    def seed(self, seed: int) -> None:
        """Seed the agent's draws and the env's (slips) for one ``learn``."""
        self.rng = np.random.default_rng(seed)
        self.run_seed = seed
        self.base.reset(seed=seed)

    def start(self, where: str) -> int:
        """Begin an episode: at a uniformly random state (``random``) or where the env starts (``env``)."""
        if where == "random":
            s = int(self.rng.choice(self.starts))
            obs, _ = self.base.reset(options={"start": s})
            # an env whose reset ignores options["start"]: a toy-text env (FrozenLake) is put at s, as the
            # tabular agents do; any other is refused (the episode would not be at s)
            if int(obs) != s and not place_at(self.base, s):
                raise UsageError(
                    f"{type(self).__name__} cannot start episodes at random states on {env_name(self.env)}: "
                    "its reset ignores options['start'] and its state cannot be set; use start='env'"
                )
            return s
        self.base.reset()
        return int(self.base.s)

    def step(self, a: int) -> tuple[int, float, bool]:
        """One env step: ``(next state, reward, terminated)``."""
        obs, r, term, _, _ = self.base.step(int(a))
        return int(obs), float(r), bool(term)

    def at_target(self, s: int) -> bool:
        return s == getattr(self.base, "target_state", -1)

    def epsilon_greedy_action(self, q_row: Any, epsilon: float) -> int:
        """An action drawn from the epsilon-greedy policy of ``q_row`` [A] (ties: the first)."""
        if self.rng.random() < epsilon:
            return int(self.rng.integers(self.n_actions))
        return int(np.argmax(to_numpy(q_row)))

    # ----- against the truth -----
    def refresh_tables(self) -> None:
        """Fill ``q`` (and ``pi``, ``v``) on the host from the parameters."""
        raise NotImplementedError

    def greedy_actions(self) -> np.ndarray:
        """The learned policy's greedy action in each state."""
        return self.pi.argmax(axis=1)

    def control_metrics(self) -> dict[str, float]:
        """``gap_to_optimum`` (max_s v* - v_pi of the greedy policy, exact) and ``optimal_fraction``."""
        assert self.v_star is not None and self.q_star is not None and self.model is not None
        greedy = self.greedy_actions()
        v_pi = policy_evaluation(self.model, np.eye(self.n_actions)[greedy], self.gamma)
        onehot = np.eye(self.n_actions)[greedy]
        return {
            "gap_to_optimum": float(np.max(self.v_star - v_pi)),
            "optimal_fraction": greedy_optimal_fraction(onehot, self.q_star),
        }

    def truth_metrics(self) -> dict[str, float]:
        metrics = self.control_metrics()
        metrics["greedy_optimal"] = float(metrics["optimal_fraction"] == 1.0)
        return metrics

    # ----- save / load -----
    def parameters(self) -> dict[str, Any]:
        """The learned parameters by name (backend arrays)."""
        raise NotImplementedError

    def arrays(self) -> dict[str, Any]:
        return {**{k: to_numpy(v) for k, v in self.parameters().items()}, "q": self.q, "pi": self.pi}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        params = self.parameters()
        for name, now in params.items():
            if name not in arrays:
                raise KeyError(f"{name} missing")
            if tuple(arrays[name].shape) != tuple(now.shape):
                raise ValueError(f"{name} has shape {tuple(arrays[name].shape)}, this config needs {tuple(now.shape)}")
        self.load_parameters({name: arrays[name] for name in params})
        self.refresh_tables()

    def load_parameters(self, arrays: dict[str, np.ndarray]) -> None:
        for name, value in arrays.items():
            setattr(self, name, self.place(value))
