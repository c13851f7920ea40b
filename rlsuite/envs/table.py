"""Small episodic MDPs given as tables: what Sutton & Barto's random walks, windy grid world,
maximization-bias MDP and mazes share (their ``step``, ``reset``, ``P`` and the ASCII grid helpers).

Each env is a deterministic move table ``next_state[s, a]`` with an expected reward ``reward[s, a]``
(plus, optionally, Gaussian reward noise ``reward_std[s, a]``) and a set of terminal states; ``P``
lists the one outcome of each ``(s, a)`` as gymnasium's toy-text envs do, with the expected reward.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.envs import checks

Cell = tuple[int, int]
# (d_row, d_col) of up, right, down, left, then the four diagonals (king's moves).
GRID_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1], [-1, 1], [1, 1], [1, -1], [-1, -1]], dtype=np.int64)
GRID_ACTION_NAMES = ("up", "right", "down", "left", "up-right", "down-right", "down-left", "up-left")


class TableEnv(gym.Env[int, np.int64]):
    """Base of the table-given episodic MDPs: subclasses call :meth:`set_table` in ``__init__``.

    Attributes:
        next_state: [S, A] next state of each (s, a).
        reward: [S, A] expected reward of each (s, a).
        terminal: [S] True at the terminal states (no action is taken there).
        start_state: where every episode starts.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = checks.render_mode(render_mode, self.metadata["render_modes"])
        self.state = 0

    def set_table(
        self,
        next_state: np.ndarray,
        reward: np.ndarray,
        terminal: np.ndarray,
        start_state: int,
        reward_std: np.ndarray | None = None,
    ) -> None:
        """Install the model (called from ``__init__``, and again when a maze changes)."""
        self.next_state = np.asarray(next_state, dtype=np.int64)
        self.reward = np.asarray(reward, dtype=np.float64)
        self.terminal = np.asarray(terminal, dtype=bool)
        self.reward_std = None if reward_std is None else np.asarray(reward_std, dtype=np.float64)
        self.start_state = int(start_state)
        n_states, n_actions = self.next_state.shape
        self.observation_space = spaces.Discrete(n_states)
        self.action_space = spaces.Discrete(n_actions)
        self.__dict__.pop("_P", None)

    @property
    def n_states(self) -> int:
        return int(self.next_state.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.next_state.shape[1])

    @property
    def P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        """``P[s][a] = [(1.0, next_state, expected reward, terminated)]``; terminal states loop with reward 0."""
        if "_P" not in self.__dict__:
            P: dict[int, dict[int, list[tuple[float, int, float, bool]]]] = {}
            for s in range(self.n_states):
                if self.terminal[s]:
                    P[s] = {a: [(1.0, s, 0.0, True)] for a in range(self.n_actions)}
                else:
                    P[s] = {
                        a: [(1.0, int(ns), float(self.reward[s, a]), bool(self.terminal[ns]))]
                        for a, ns in enumerate(self.next_state[s])
                    }
            self.__dict__["_P"] = P
        return self.__dict__["_P"]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.state = self.start_state
        return self.state, {}

    def step(self, action: Any) -> tuple[int, float, bool, bool, dict[str, Any]]:
        a = checks.action(action, self.n_actions)
        s = self.state
        ns = int(self.next_state[s, a])
        r = float(self.reward[s, a])
        if self.reward_std is not None and self.reward_std[s, a] > 0:
            r += float(self.reward_std[s, a] * self.np_random.standard_normal())
        self.state = ns
        self.after_step()
        return ns, r, bool(self.terminal[ns]), False, {}

    def after_step(self) -> None:
        """Hook after each step (the changing mazes count steps here)."""

    def render(self) -> str | None:  # type: ignore[override]
        if self.render_mode != "ansi":
            return None
        return self.text()

    def text(self) -> str:
        return f"state {self.state} of {self.n_states}"


# ----- grids -----


class GridTableEnv(TableEnv):
    """A table env on a grid of ``n_rows x n_cols`` cells: state ``row * n_cols + col``."""

    n_rows: int
    n_cols: int

    def to_state(self, rc: tuple[int, int]) -> int:
        return rc[0] * self.n_cols + rc[1]

    def to_cell(self, s: int) -> tuple[int, int]:
        r, c = divmod(int(s), self.n_cols)
        return r, c



def parse_map(layout: str | Sequence[str], name: str, chars: str = ".#SG") -> np.ndarray:
    """An ASCII map as a [rows, cols] array of its characters; ragged rows, unknown characters,
    and a map without exactly one ``S`` or without a ``G`` (one or more goal cells) are refused, naming ``name``."""
    if isinstance(layout, str):
        rows = [r.strip() for r in layout.splitlines()]
    elif isinstance(layout, list | tuple) and all(isinstance(r, str) for r in layout):
        rows = [r.strip() for r in layout]
    else:
        raise TypeError(f"{name} must be a string or a list of strings (rows of {chars}), got {layout!r}")
    rows = [r for r in rows if r]
    if not rows:
        raise ValueError(f"{name} is empty")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{name} row {i + 1} has {len(row)} cells, row 1 has {width}")
        bad = set(row) - set(chars)
        if bad:
            raise ValueError(f"{name} row {i + 1}: unknown cell {sorted(bad)[0]!r} (use {' '.join(chars)})")
    grid = np.array([list(r) for r in rows])
    if "S" in chars and int((grid == "S").sum()) != 1:
        raise ValueError(f"{name} needs exactly one start 'S', it has {int((grid == 'S').sum())}")
    if "G" in chars and not (grid == "G").any():
        raise ValueError(f"{name} has no goal 'G'")
    return grid


def grid_moves(walls: np.ndarray, n_moves: int = 4, wind: np.ndarray | None = None) -> np.ndarray:
    """``next_state`` [rows * cols, n_moves] of a grid: a move off the grid or into a wall stays put.

    With ``wind`` [cols] the agent is also pushed ``wind[col]`` rows up (from the column it leaves),
    and stops at the top edge (Sutton & Barto's windy grid world; walls are not allowed there).
    """
    n_rows, n_cols = walls.shape
    r, c = np.divmod(np.arange(n_rows * n_cols), n_cols)
    nr = r[:, None] + GRID_MOVES[:n_moves, 0]
    nc = c[:, None] + GRID_MOVES[:n_moves, 1]
    if wind is not None:
        nr = np.clip(nr - wind[c][:, None], 0, n_rows - 1)
        nc = np.clip(nc, 0, n_cols - 1)
        return nr * n_cols + nc
    blocked = (nr < 0) | (nr >= n_rows) | (nc < 0) | (nc >= n_cols)
    blocked[~blocked] = walls[nr[~blocked], nc[~blocked]]
    here = (r * n_cols + c)[:, None]
    return np.where(blocked, here, nr * n_cols + nc)


def reachable(next_state: np.ndarray, start: int) -> np.ndarray:
    """[S] True for the states a walk from ``start`` can reach (breadth-first over the move table)."""
    seen = np.zeros(next_state.shape[0], dtype=bool)
    seen[start] = True
    todo = deque([start])
    while todo:
        s = todo.popleft()
        for ns in next_state[s]:
            if not seen[ns]:
                seen[ns] = True
                todo.append(int(ns))
    return seen


def grid_text(chars: np.ndarray, agent: Cell) -> str:
    """The map with the agent as ``A``."""
    rows = [list(r) for r in chars]
    rows[agent[0]][agent[1]] = "A"
    return "\n".join("".join(r) for r in rows) + "\n"


def cell(value: Any, n_rows: int, n_cols: int, name: str) -> Cell:
    """A (row, col) cell inside the grid, 0-indexed."""
    if not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{name} must be a (row, col) pair, got {value!r}")
    r, c = (checks.integer(name, v) for v in value)
    if not (0 <= r < n_rows and 0 <= c < n_cols):
        raise ValueError(f"{name} {tuple(value)} lies outside the {n_rows}x{n_cols} grid")
    return r, c
