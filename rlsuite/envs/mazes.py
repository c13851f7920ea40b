"""Sutton & Barto's mazes of chapter 8: the Dyna maze, the blocking maze and the shortcut maze."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rlsuite.envs import checks
from rlsuite.envs.table import GridTableEnv, grid_moves, grid_text, parse_map, reachable

# Figure 8.2's maze (6 x 9): S start, G goal, # walls.
DYNA_MAZE = (
    ".......#G",
    "..#....#.",
    "S.#....#.",
    "..#......",
    ".....#...",
    ".........",
)
# Figure 8.4: the wall opens on the right, then (after 1000 steps) on the left.
BLOCKING_MAZE = ("........G", ".........", ".........", "########.", ".........", "...S.....")
BLOCKING_MAZE_AFTER = ("........G", ".........", ".........", ".########", ".........", "...S.....")
# Figure 8.5: the wall opens on the left, then (after 3000 steps) on the right too.
SHORTCUT_MAZE = ("........G", ".........", ".........", ".########", ".........", "...S.....")
SHORTCUT_MAZE_AFTER = ("........G", ".........", ".........", ".#######.", ".........", "...S.....")
# The book's mazes by name: (layout, layout_after).
MAZES = {
    "dyna": (DYNA_MAZE, None),
    "blocking": (BLOCKING_MAZE, BLOCKING_MAZE_AFTER),
    "shortcut": (SHORTCUT_MAZE, SHORTCUT_MAZE_AFTER),
}


class MazeEnv(GridTableEnv):
    """A grid maze given as an ASCII map: walk from S to G; reward 1 on reaching G, else 0.

    ## Description
    Chapter 8's planning mazes. With ``layout_after`` and ``change_at`` the maze changes after
    ``change_at`` steps counted over all episodes since construction (the blocking and shortcut
    mazes of figures 8.4 and 8.5); ``P`` is always the current maze. With ``scale = k`` every cell
    becomes a k x k block (example 8.4's mazes of growing size; the start is the top-left cell of
    its block, every cell of the goal's block is a goal).

    ## Action Space
    ``Discrete(4)``: 0 up, 1 right, 2 down, 3 left. A move into a wall or off the grid stays put.

    ## Observation Space
    ``Discrete(rows * cols)``: the cell ``row * cols + col`` (walls included, never visited).

    ## Starting State
    The map's ``S``.

    ## Rewards
    1 on entering G, 0 otherwise.

    ## Episode End
    Terminates on entering G; the registered ids truncate after 10000 steps.

    ## Arguments
    ``layout`` (a name: ``"dyna"``, ``"blocking"``, ``"shortcut"``, which brings its ``layout_after``;
    or rows of ``.`` free, ``#`` wall, ``S`` start, ``G`` goal; a map where G cannot be reached
    from S is refused), ``layout_after`` (the same size and start), ``change_at`` (steps before the change),
    ``scale`` (cells per side of each map cell), ``render_mode`` ("ansi").

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        layout: str | Sequence[str] = DYNA_MAZE,
        layout_after: str | Sequence[str] | None = None,
        change_at: int | None = None,
        scale: int = 1,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode)
        if isinstance(layout, str) and layout in MAZES:
            layout, named_after = MAZES[layout]
            layout_after = named_after if layout_after is None else layout_after
        self.scale = checks.integer("scale", scale, low=1)
        self.chars = self._scaled(parse_map(layout, "layout"))
        self.chars_after = None if layout_after is None else self._scaled(parse_map(layout_after, "layout_after"))
        if (layout_after is None) != (change_at is None):
            raise ValueError("change_at and layout_after go together: give both or neither")
        self.change_at = None if change_at is None else checks.integer("change_at", change_at, low=0)
        if self.chars_after is not None:
            if self.chars_after.shape != self.chars.shape:
                raise ValueError(f"layout_after is {self.chars_after.shape}, layout is {self.chars.shape}")
            if not np.array_equal(self.chars_after == "S", self.chars == "S"):
                raise ValueError("layout_after must keep the start S where layout has it")
        self.n_rows, self.n_cols = (int(n) for n in self.chars.shape)
        self.total_steps = 0
        self._install(self.chars, "layout")
        if self.chars_after is not None:
            self._tables("layout_after", self.chars_after)  # checked now, installed at change_at

    def _scaled(self, chars: np.ndarray) -> np.ndarray:
        k = self.scale
        big = np.repeat(np.repeat(chars, k, axis=0), k, axis=1)
        if k > 1:  # one start: the top-left cell of S's block
            big[big == "S"] = "."
            r, c = np.argwhere(chars == "S")[0]
            big[r * k, c * k] = "S"
        return big

    def _tables(self, name: str, chars: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        next_state = grid_moves(chars == "#", 4)
        terminal = (chars == "G").reshape(-1)
        start = int(np.flatnonzero(chars.reshape(-1) == "S")[0])
        if not reachable(next_state, start)[terminal].any():
            raise ValueError(f"{name}: no path from the start S to the goal G")
        reward = terminal[next_state].astype(np.float64)
        return next_state, reward, terminal, start

    def _install(self, chars: np.ndarray, name: str) -> None:
        self.current = chars
        self.set_table(*self._tables(name, chars))

    @property
    def changed(self) -> bool:
        """Whether the maze has switched to ``layout_after``."""
        return self.chars_after is not None and self.current is self.chars_after

    def phases(self) -> list[tuple[int, MazeEnv]]:
        """``[(from_step, maze)]``: this maze as it is from each step on (one phase, or two when it changes)."""
        first = MazeEnv(["".join(r) for r in self.chars])
        if self.chars_after is None:
            return [(0, first)]
        return [(0, first), (self.change_at or 0, MazeEnv(["".join(r) for r in self.chars_after]))]

    def after_step(self) -> None:
        self.total_steps += 1
        if self.chars_after is not None and not self.changed and self.total_steps >= (self.change_at or 0):
            self._install(self.chars_after, "layout_after")

    def shortest_path(self) -> int:
        """Steps of the shortest path from S to G in the current maze (breadth-first)."""
        dist = np.full(self.n_states, -1)
        dist[self.start_state] = 0
        frontier = [self.start_state]
        while frontier:
            nxt = []
            for s in frontier:
                for ns in self.next_state[s]:
                    if dist[ns] < 0:
                        dist[ns] = dist[s] + 1
                        if self.terminal[ns]:
                            return int(dist[ns])
                        nxt.append(int(ns))
            frontier = nxt
        raise AssertionError("checked at construction: G is reachable")

    def text(self) -> str:
        return grid_text(self.current, self.to_cell(self.state))

    def __repr__(self) -> str:
        return f"MazeEnv({self.n_rows}x{self.n_cols}, scale={self.scale}, change_at={self.change_at})"
