"""Sutton & Barto's windy grid world (example 6.5)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rlsuite.envs import checks
from rlsuite.envs.table import GRID_ACTION_NAMES, GridTableEnv, cell, grid_moves, grid_text

BOOK_WIND = (0, 0, 0, 1, 1, 1, 2, 2, 1, 0)


class WindyGridWorldEnv(GridTableEnv):
    """A 7x10 grid with an upward wind through its middle columns; -1 per step until the goal.

    ## Description
    Example 6.5: the agent walks from S to G; in the columns with wind it is also pushed
    ``wind[col]`` cells up (the wind of the column it leaves), never past the top edge. Moves off
    the grid stop at the edge.

    ## Action Space
    ``Discrete(4)``: 0 up, 1 right, 2 down, 3 left; with ``king_moves=True`` ``Discrete(8)``, adding the
    diagonals 4 up-right, 5 down-right, 6 down-left, 7 up-left (exercise 6.9).

    ## Observation Space
    ``Discrete(n_rows * n_cols)``: the cell ``row * n_cols + col``.

    ## Starting State
    ``start`` (row 3, column 0 in the book, 0-indexed).

    ## Rewards
    -1 per step.

    ## Episode End
    Terminates on reaching ``goal`` (row 3, column 7); the registered id truncates after 10000 steps.

    ## Arguments
    ``wind`` (one non-negative integer per column: its length is the grid's width ``n_cols``),
    ``n_cols`` (10), ``n_rows`` (7), ``start`` and ``goal`` ((row, col), 0-indexed), ``king_moves``,
    ``render_mode`` ("ansi").

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        wind: Sequence[int] = BOOK_WIND,
        n_cols: int = 10,
        n_rows: int = 7,
        start: Sequence[int] = (3, 0),
        goal: Sequence[int] = (3, 7),
        king_moves: bool = False,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode)
        self.n_rows = checks.integer("n_rows", n_rows, low=1)
        self.n_cols = checks.integer("n_cols", n_cols, low=1)
        if not isinstance(wind, Sequence | np.ndarray) or isinstance(wind, str):
            raise TypeError(f"wind must be a list of integers, one per column, got {wind!r}")
        if len(wind) != self.n_cols:
            raise ValueError(f"wind has {len(wind)} entries, the grid is n_cols = {self.n_cols} wide")
        self.wind = np.array([checks.integer(f"wind[{i}]", w, low=0) for i, w in enumerate(wind)], dtype=np.int64)
        self.start = cell(start, self.n_rows, self.n_cols, "start")
        self.goal = cell(goal, self.n_rows, self.n_cols, "goal")
        if self.start == self.goal:
            raise ValueError(f"goal {self.goal} is the start cell")
        self.king_moves = checks.flag("king_moves", king_moves)
        self.action_names = GRID_ACTION_NAMES[: 8 if self.king_moves else 4]
        walls = np.zeros((self.n_rows, self.n_cols), dtype=bool)
        next_state = grid_moves(walls, len(self.action_names), wind=self.wind)
        terminal = np.zeros(self.n_rows * self.n_cols, dtype=bool)
        terminal[self.to_state(self.goal)] = True
        self.set_table(next_state, -np.ones(next_state.shape), terminal, self.to_state(self.start))

    def text(self) -> str:
        chars = np.full((self.n_rows, self.n_cols), ".")
        chars[self.start], chars[self.goal] = "S", "G"
        return grid_text(chars, self.to_cell(self.state)) + "".join(str(w) for w in self.wind) + "\n"

    def __repr__(self) -> str:
        return f"WindyGridWorldEnv(wind={self.wind.tolist()}, king_moves={self.king_moves})"

