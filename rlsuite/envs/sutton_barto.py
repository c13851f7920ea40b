"""The small finite MDPs of Sutton & Barto's chapters 3-5, each with its exact model.

- :class:`TeleportGridWorldEnv`: the 5x5 grid world of example 3.5 (A -> A' pays +10, B -> B' pays +5).
- :class:`ShortestPathGridEnv`: the 4x4 grid world of example 4.1 (terminal corners, -1 per step).
- :class:`GamblerEnv`: the gambler's problem of example 4.3.
- :class:`InfiniteVarianceEnv`: the one-state MDP of example 5.5 / figure 5.4.

They share :class:`FiniteMDPEnv`: the model is a dense ``p(s' | s, a)`` [S, A, S] with a reward per
transition ``r(s, a, s')`` [S, A, S] and a set of terminal states; ``P``, ``tabular_model``,
``transition_probs`` and ``expected_rewards`` are all derived from it, and ``step`` samples it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.envs import checks
from rlsuite.envs.model import TabularModel

Transition = tuple[float, int, float, bool]

GRID_ACTIONS: tuple[str, ...] = ("up", "right", "down", "left")
GRID_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=np.int64)


class FiniteMDPEnv(gym.Env[np.int64, np.int64]):
    """A finite MDP given by dense arrays; subclasses build them and call :meth:`_set_model`.

    ``env.unwrapped.P[s][a] = [(prob, next_state, reward, terminated), ...]`` (FrozenLake's
    convention), ``transition_probs`` [S, A, S] and ``expected_rewards`` [S, A] (terminal states
    absorbing with reward 0, mass into them dropped, as :func:`rlsuite.envs.model.tabular_model`
    reads ``P``) and ``tabular_model``. ``reset(options={"start": s})`` starts in state ``s``.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}
    state_names: tuple[str, ...] | None = None

    def _set_model(self, T: np.ndarray, R: np.ndarray, terminal: np.ndarray, start: np.ndarray,
                   render_mode: str | None, model: TabularModel | None = None) -> None:  # fmt: skip
        """``T`` p(s'|s,a) [S, A, S], ``R`` r(s,a,s') [S, A, S], ``terminal`` [S] bool, ``start`` [S] probs;
        ``model``: the same MDP in compact form (terminal mass dropped), when the env can build it cheaper than
        the dense products below."""
        self.render_mode = checks.render_mode(render_mode, self.metadata["render_modes"])
        self.n_states, self.n_actions = int(T.shape[0]), int(T.shape[1])
        self._T = T
        self._R = R
        self.terminal = terminal.astype(bool)
        self.start_probs = start / start.sum()
        self.random_start_states = np.flatnonzero(~self.terminal)  # exploring starts
        if model is None:
            live = ~self.terminal
            dense = T * live[None, None, :]
            rewards = (T * R).sum(axis=2)
            dense[self.terminal] = 0.0
            rewards[self.terminal] = 0.0
            model = TabularModel(rewards, transition_probs=dense)
        self.expected_rewards = model.expected_rewards
        self.tabular_model = model
        self.observation_space = spaces.Discrete(self.n_states)
        self.action_space = spaces.Discrete(self.n_actions)
        self.s = int(np.flatnonzero(self.start_probs)[0])

    @cached_property
    def _cdf(self) -> np.ndarray:
        """``p(s' <= k | s, a)`` [S, A, S], for sampling (built on the first step)."""
        return np.cumsum(self._T, axis=2)

    @property
    def transition_probs(self) -> np.ndarray:
        """``p(s' | s, a)`` [S, A, S] with terminal states absorbing (what the solvers use)."""
        return self.tabular_model.transition_probs

    @cached_property
    def P(self) -> Mapping[int, dict[int, list[Transition]]]:
        """``P[s][a] = [(prob, next_state, reward, terminated), ...]``; each state's row is built on first use."""
        return _Transitions(self)

    def transitions(self, s: int) -> dict[int, list[Transition]]:
        """``P[s]``: the outcomes with nonzero probability of each action in state ``s``."""
        if self.terminal[s]:
            return {a: [(1.0, s, 0.0, True)] for a in range(self.n_actions)}
        row: dict[int, list[Transition]] = {}
        for a in range(self.n_actions):
            nxt = np.flatnonzero(self._T[s, a])
            row[a] = [(float(self._T[s, a, n]), int(n), float(self._R[s, a, n]), bool(self.terminal[n])) for n in nxt]
        return row

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.int64, dict[str, Any]]:
        super().reset(seed=seed)
        if options and options.get("start") is not None:
            s = checks.integer("options['start']", options["start"], 0)
            if s >= self.n_states:
                raise ValueError(f"options['start'] state {s} is outside [0, {self.n_states})")
            self.s = s
        else:
            self.s = int(self.np_random.choice(self.n_states, p=self.start_probs))
        return np.int64(self.s), {"state": self.s}

    def step(self, action: Any) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
        a = checks.action(action, self.n_actions)
        s = self.s
        if self.terminal[s]:
            return np.int64(s), 0.0, True, False, {"state": s}
        ns = int(np.searchsorted(self._cdf[s, a], self.np_random.random() * self._cdf[s, a, -1], side="right"))
        ns = min(ns, self.n_states - 1)
        self.s = ns
        return np.int64(ns), float(self._R[s, a, ns]), bool(self.terminal[ns]), False, {"state": ns}

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            name = self.state_names[self.s] if self.state_names else str(self.s)
            return f"state {name}\n"
        return None


class _Transitions(Mapping[int, dict[int, list[Transition]]]):
    """``P`` of a :class:`FiniteMDPEnv` as a read-only mapping whose rows are built when first read (the car
    rental's full ``P`` holds two million outcomes)."""

    def __init__(self, env: FiniteMDPEnv) -> None:
        self._env = env
        self._rows: dict[int, dict[int, list[Transition]]] = {}

    def __getitem__(self, s: int) -> dict[int, list[Transition]]:
        if s not in self._rows:
            if not 0 <= s < self._env.n_states:
                raise KeyError(s)
            self._rows[s] = self._env.transitions(int(s))
        return self._rows[s]

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._env.n_states))

    def __len__(self) -> int:
        return self._env.n_states


def _grid_size(name: str, value: Any, low: int = 2) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _grid_moves(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Next cell [S, 4] of up/right/down/left on an ``n x n`` grid (staying put off the edge) and whether
    the move left the grid [S, 4]."""
    rows, cols = np.divmod(np.arange(n * n), n)
    nr, nc = rows[:, None] + GRID_MOVES[:, 0], cols[:, None] + GRID_MOVES[:, 1]
    off = (nr < 0) | (nr >= n) | (nc < 0) | (nc >= n)
    nxt = np.where(off, np.arange(n * n)[:, None], nr.clip(0, n - 1) * n + nc.clip(0, n - 1))
    return nxt, off


def _deterministic(nxt: np.ndarray, reward: np.ndarray, S: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``T`` and ``R`` [S, A, S] of deterministic moves ``nxt`` [S, A] paying ``reward`` [S, A]."""
    A = nxt.shape[1]
    T = np.zeros((S, A, S))
    R = np.zeros((S, A, S))
    s_idx, a_idx = np.meshgrid(np.arange(S), np.arange(A), indexing="ij")
    T[s_idx, a_idx, nxt] = 1.0
    R[s_idx, a_idx, nxt] = reward
    return T, R


class TeleportGridWorldEnv(FiniteMDPEnv):
    """The grid world of Sutton & Barto's example 3.5 (figures 3.2 and 3.5).

    ## Description
    A 5x5 grid. From the special cell A (row 0, column 1) every action takes the agent to A'
    (row 4, column 1) with reward +10; from B (row 0, column 3) every action takes it to B'
    (row 2, column 3) with reward +5. Elsewhere a move off the grid leaves the agent in place with
    reward -1 and any other move pays 0. The task is continuing, discounted by gamma = 0.9 in the book.

    ## Action Space
    ``Discrete(4)``: 0 up, 1 right, 2 down, 3 left.

    ## Observation Space
    ``Discrete(25)``: the cell ``row * 5 + col`` (0-indexed, row-major; row 0 at the top).

    ## Starting State
    A uniformly random cell (the book's task has no start); ``reset(options={"start": s})`` picks one.

    ## Rewards
    +10 for any action in A, +5 in B, -1 for bumping into the edge, else 0.

    ## Episode End
    Never terminates (continuing); the registered id truncates after 100 steps.

    ## Exact model
    ``P``, ``transition_probs`` [25, 4, 25], ``expected_rewards`` [25, 4], ``tabular_model``.

    ## Arguments
    ``gym.make("rlsuite/SBGridWorld-v0", size=5, a_reward=10.0, b_reward=5.0, off_grid_reward=-1.0)``:
    ``size`` (>= 5, so that A, A', B and B' fit in their book positions) and the three rewards.

    ## Version History
    * v0: initial version, following the book (and ShangtongZhang's chapter03/grid_world.py).
    """

    A, A_PRIME, B, B_PRIME = (0, 1), (4, 1), (0, 3), (2, 3)

    def __init__(self, size: int = 5, a_reward: float = 10.0, b_reward: float = 5.0,
                 off_grid_reward: float = -1.0, render_mode: str | None = None) -> None:  # fmt: skip
        n = _grid_size("size", size, low=5)
        rewards = [checks.number(k, v) for k, v in
                   (("a_reward", a_reward), ("b_reward", b_reward), ("off_grid_reward", off_grid_reward))]  # fmt: skip
        self.size = n
        nxt, off = _grid_moves(n)
        reward = np.where(off, rewards[2], 0.0)
        for (cell, dest), r in (((self.A, self.A_PRIME), rewards[0]), ((self.B, self.B_PRIME), rewards[1])):
            s = cell[0] * n + cell[1]
            nxt[s] = dest[0] * n + dest[1]
            reward[s] = r
        T, R = _deterministic(nxt, reward, n * n)
        self._set_model(T, R, np.zeros(n * n, dtype=bool), np.ones(n * n), render_mode)


class ShortestPathGridEnv(FiniteMDPEnv):
    """The 4x4 grid world of Sutton & Barto's example 4.1 (figure 4.1).

    ## Description
    A ``size x size`` grid (4x4 in the book) whose top-left and bottom-right cells are terminal.
    Each step costs -1; moves off the grid leave the agent in place. Undiscounted (gamma = 1), so
    the value of the equiprobable random policy is minus the expected number of steps to a corner.

    ## Action Space
    ``Discrete(4)``: 0 up, 1 right, 2 down, 3 left.

    ## Observation Space
    ``Discrete(size * size)``: the cell ``row * size + col``; 0 and ``size**2 - 1`` are terminal.

    ## Starting State
    A uniformly random non-terminal cell; ``reset(options={"start": s})`` picks one.

    ## Rewards
    -1 on every transition.

    ## Episode End
    Terminates on reaching a corner cell; the registered id truncates after 200 steps.

    ## Exact model
    ``P``, ``transition_probs``, ``expected_rewards``, ``tabular_model`` (terminal corners absorbing, 0 reward).

    ## Arguments
    ``gym.make("rlsuite/SBGridWorld4x4-v0", size=4, step_reward=-1.0)``.

    ## Version History
    * v0: initial version, following the book.
    """

    def __init__(self, size: int = 4, step_reward: float = -1.0, render_mode: str | None = None) -> None:
        n = _grid_size("size", size)
        step_reward = checks.number("step_reward", step_reward)
        self.size = n
        nxt, _ = _grid_moves(n)
        T, R = _deterministic(nxt, np.full(nxt.shape, step_reward), n * n)
        terminal = np.zeros(n * n, dtype=bool)
        terminal[[0, n * n - 1]] = True
        self._set_model(T, R, terminal, (~terminal).astype(float), render_mode)


class GamblerEnv(FiniteMDPEnv):
    """The gambler's problem of Sutton & Barto's example 4.3 (figure 4.3).

    ## Description
    A gambler with capital ``s`` in ``1..goal-1`` stakes ``a`` in ``0..min(s, goal - s)`` on a coin
    flip that comes up heads with probability ``p_h``: heads adds the stake, tails loses it. The
    episode ends at capital 0 (loss) or ``goal`` (win). Undiscounted; the value of a state is the
    probability of winning from it.

    ## Action Space
    ``Discrete(goal // 2 + 1)``: the stake. A stake above ``min(s, goal - s)`` is cut to that bound
    (it is the same bet), so every action is legal in every state.

    ## Observation Space
    ``Discrete(goal + 1)``: the capital; 0 and ``goal`` are terminal.

    ## Starting State
    A uniformly random capital in ``1..goal-1``, or ``start_capital``; ``reset(options={"start": s})``.

    ## Rewards
    +1 on reaching ``goal``, else 0.

    ## Episode End
    Terminates at capital 0 or ``goal``; the registered id truncates after 1000 steps (stake 0 loops).

    ## Exact model
    ``P``, ``transition_probs``, ``expected_rewards``, ``tabular_model``.

    ## Arguments
    ``gym.make("rlsuite/Gambler-v0", p_h=0.4, goal=100, start_capital=None)``: ``p_h`` in [0, 1],
    ``goal`` an integer >= 2, ``start_capital`` in ``1..goal-1`` or None (random).

    ## Version History
    * v0: initial version, following the book.
    """

    def __init__(self, p_h: float = 0.4, goal: int = 100, start_capital: int | None = None,
                 render_mode: str | None = None) -> None:  # fmt: skip
        self.p_h = checks.probability("p_h", p_h)
        self.goal = _grid_size("goal", goal)
        if start_capital is not None:
            checks.integer("start_capital", start_capital)
            if not 1 <= start_capital < self.goal:
                raise ValueError(f"start_capital must lie in [1, {self.goal - 1}], got {start_capital!r}")
        S, A = self.goal + 1, self.goal // 2 + 1
        s = np.arange(S)[:, None]
        stake = np.minimum(np.arange(A)[None, :], np.minimum(s, self.goal - s))
        T = np.zeros((S, A, S))
        s_idx = np.broadcast_to(s, (S, A))
        a_idx = np.broadcast_to(np.arange(A)[None, :], (S, A))
        T[s_idx, a_idx, s + stake] = self.p_h
        T[s_idx, a_idx, s - stake] += 1.0 - self.p_h  # the same cell as heads' when the stake is 0
        R = np.broadcast_to((np.arange(S) == self.goal).astype(float), (S, A, S))  # +1 on reaching the goal
        terminal = np.zeros(S, dtype=bool)
        terminal[[0, self.goal]] = True
        start = (~terminal).astype(float)
        if start_capital is not None:
            start = np.zeros(S)
            start[start_capital] = 1.0
        # the compact model (heads, tails) [2, A, S]: a sweep is two gathers, not a dense [S, A, S] product
        outcomes = np.stack([s + stake, s - stake]).transpose(0, 2, 1)
        probs = np.stack([np.full((A, S), self.p_h), np.full((A, S), 1.0 - self.p_h)])
        probs[terminal[outcomes] | terminal[None, None, :]] = 0.0
        rewards = self.p_h * (s + stake == self.goal)
        rewards[terminal] = 0.0
        model = TabularModel(rewards, next_states=outcomes, next_probs=probs)
        self._set_model(T, R, terminal, start, render_mode, model)

    def max_stake(self, capital: np.ndarray | int) -> np.ndarray:
        """The largest legal stake ``min(s, goal - s)`` of each capital."""
        s = np.asarray(capital)
        return np.minimum(s, self.goal - s)


class InfiniteVarianceEnv(FiniteMDPEnv):
    """The one-state MDP of Sutton & Barto's example 5.5 (figure 5.4: infinite variance).

    ## Description
    One non-terminal state ``s``. Action ``right`` ends the episode with reward 0; action ``left``
    returns to ``s`` with probability ``p_back`` (0.9) and reward 0, else ends the episode with
    reward +1. The target policy always goes left (v = 1); off-policy estimates use a uniformly
    random behaviour policy, whose ordinary importance-sampling estimate has infinite variance.

    ## Action Space
    ``Discrete(2)``: 0 left, 1 right.

    ## Observation Space
    ``Discrete(2)``: 0 the state ``s``, 1 the terminal state.

    ## Starting State
    Always ``s`` (0).

    ## Rewards
    +1 when ``left`` ends the episode, else 0.

    ## Episode End
    Terminates on reaching state 1; the registered id truncates after 1000 steps.

    ## Exact model
    ``P``, ``transition_probs``, ``expected_rewards``, ``tabular_model``.

    ## Arguments
    ``gym.make("rlsuite/InfiniteVariance-v0", p_back=0.9)``: ``p_back`` in [0, 1].

    ## Version History
    * v0: initial version, following the book.
    """

    LEFT, RIGHT = 0, 1
    state_names = ("s", "terminal")

    def __init__(self, p_back: float = 0.9, render_mode: str | None = None) -> None:
        self.p_back = checks.probability("p_back", p_back)
        T = np.zeros((2, 2, 2))
        R = np.zeros((2, 2, 2))
        T[0, self.LEFT] = [self.p_back, 1.0 - self.p_back]
        R[0, self.LEFT, 1] = 1.0
        T[0, self.RIGHT, 1] = 1.0
        T[1, :, 1] = 1.0
        self._set_model(T, R, np.array([False, True]), np.array([1.0, 0.0]), render_mode)
