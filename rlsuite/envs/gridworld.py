"""The grid world of Shiyu Zhao's *Mathematical Foundations of Reinforcement Learning*."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.common.memory import check_fits
from rlsuite.envs import checks
from rlsuite.envs.model import TabularModel
from rlsuite.envs.wrappers import ENCODINGS, encode_states

Cell = tuple[int, int]
ObservationKind = Literal["index", "coords", "onehot"]

ACTION_NAMES: tuple[str, ...] = ("up", "right", "down", "left", "stay")
# (d_row, d_col) of a1..a5 in the book's order.
MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1], [0, 0]], dtype=np.int64)

FREE, FORBIDDEN, TARGET = 0, 1, 2
# The book's 5x5 example, (row, col) 1-indexed.
BOOK_FORBIDDEN: tuple[Cell, ...] = ((2, 2), (2, 3), (3, 3), (4, 2), (4, 4), (5, 2))
BOOK_TARGET: Cell = (4, 3)

MAP_CHARS = {".": FREE, "#": FORBIDDEN, "T": TARGET, "S": FREE}

# rgb_array colours, close to the book's figures.
COLORS = {
    "free": (255, 255, 255),
    "forbidden": (245, 166, 35),
    "target": (80, 200, 230),
    "agent": (40, 70, 200),
    "line": (60, 60, 60),
}


@dataclass(frozen=True)
class Layout:
    """A checked grid layout. Cells are (row, col), 0-indexed; ``kinds`` is [n_rows, n_cols]."""

    kinds: np.ndarray
    target: Cell
    start: Cell | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.kinds.shape[0]), int(self.kinds.shape[1])

    @staticmethod
    def from_cells(
        n_rows: int, n_cols: int, forbidden: Sequence[Sequence[int]], target: Sequence[int]
    ) -> Layout:
        """Build from 1-indexed (row, col) cells, as the book writes them."""
        _check_size(n_rows, n_cols)
        kinds = np.full((n_rows, n_cols), FREE, dtype=np.int8)
        t = _cell(target, n_rows, n_cols, "target")
        for i, c in enumerate(forbidden):
            r, cc = _cell(c, n_rows, n_cols, f"forbidden[{i}]")
            if (r, cc) == t:
                raise ValueError(f"target {tuple(target)} is also listed as forbidden (forbidden[{i}])")
            kinds[r, cc] = FORBIDDEN
        kinds[t] = TARGET
        return Layout(kinds, t)

    @staticmethod
    def from_map(grid_map: str | Sequence[str]) -> Layout:
        """Build from an ASCII map: ``.`` free, ``#`` forbidden, ``T`` target, ``S`` start (free)."""
        if not isinstance(grid_map, str) and not (
            isinstance(grid_map, list | tuple) and all(isinstance(r, str) for r in grid_map)
        ):
            raise TypeError(f"grid_map must be a string or a list of strings (rows of . # T S), got {grid_map!r}")
        rows = [r.strip() for r in (grid_map.splitlines() if isinstance(grid_map, str) else grid_map)]
        rows = [r for r in rows if r]
        if not rows:
            raise ValueError("grid_map is empty")
        width = len(rows[0])
        kinds = np.full((len(rows), width), FREE, dtype=np.int8)
        target: Cell | None = None
        start: Cell | None = None
        for r, row in enumerate(rows):
            if len(row) != width:
                raise ValueError(f"grid_map row {r + 1} has {len(row)} cells, row 1 has {width}")
            for c, ch in enumerate(row):
                if ch not in MAP_CHARS:
                    raise ValueError(f"grid_map row {r + 1}, column {c + 1}: unknown cell {ch!r} (use . # T S)")
                kinds[r, c] = MAP_CHARS[ch]
                if ch == "T":
                    if target is not None:
                        raise ValueError(f"grid_map has more than one target (row {r + 1}, column {c + 1})")
                    target = (r, c)
                if ch == "S":
                    if start is not None:
                        raise ValueError(f"grid_map has more than one start (row {r + 1}, column {c + 1})")
                    start = (r, c)
        if target is None:
            raise ValueError("grid_map has no target cell 'T'")
        return Layout(kinds, target, start)

    @staticmethod
    def random(
        n_rows: int, n_cols: int, forbidden_fraction: float, rng: np.random.Generator, max_tries: int = 1000
    ) -> Layout:
        """A random layout in which every free cell reaches the target through free cells.

        ``round(forbidden_fraction * cells)`` forbidden cells, placed uniformly at random: the first draw
        whose free cells all reach the target is kept (up to ``max_tries`` draws, and about
        ``REJECTION_WORK`` cells searched in all, so a large grid stops early). Where no draw is kept
        (large grids: at the default 0.2, a 200x200 grid nearly always has some isolated free cells), the
        last draw is repaired with the same count of forbidden cells: the free cells cut off from the
        target become forbidden, and as many forbidden cells on the border of the target's region,
        taken in random order, become free.
        """
        _check_size(n_rows, n_cols)
        if not 0.0 <= forbidden_fraction < 1.0:
            raise ValueError(f"forbidden_fraction must lie in [0, 1), got {forbidden_fraction!r}")
        n = n_rows * n_cols
        n_forbidden = min(round(forbidden_fraction * n), n - 1)
        tries = max(1, min(max_tries, REJECTION_WORK // n))
        for _ in range(tries):
            cells = rng.permutation(n)
            kinds = np.full(n, FREE, dtype=np.int8)
            kinds[cells[1 : 1 + n_forbidden]] = FORBIDDEN
            kinds[cells[0]] = TARGET
            kinds = kinds.reshape(n_rows, n_cols)
            target = (int(cells[0] // n_cols), int(cells[0] % n_cols))
            layout = Layout(kinds, target)
            reach = layout.reaches_target(walls=True)
            if reach[kinds != FORBIDDEN].all():
                return layout
        return layout._connected(reach, rng)

    def _connected(self, reach: np.ndarray, rng: np.random.Generator) -> Layout:
        """This layout with its cut-off free cells made forbidden and as many forbidden cells on the border
        of the target's region (``reach``) made free, in random order: every free cell reaches the target."""
        n_rows, n_cols = self.shape
        kinds = self.kinds.reshape(-1).copy()
        region = reach.reshape(-1)
        lost = ~region & (kinds != FORBIDDEN)
        kinds[lost] = FORBIDDEN
        to_free = int(lost.sum())
        priority = rng.random(kinds.size)
        queued = (kinds == FORBIDDEN) & _next_to(region.reshape(n_rows, n_cols)).reshape(-1)
        heap = [(float(priority[i]), int(i)) for i in np.flatnonzero(queued)]
        heapq.heapify(heap)
        while to_free > 0:
            _, i = heapq.heappop(heap)  # never empty: a forbidden cell borders the region until none is left
            kinds[i] = FREE
            to_free -= 1
            r, c = divmod(i, n_cols)
            for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                j = nr * n_cols + nc
                if 0 <= nr < n_rows and 0 <= nc < n_cols and kinds[j] == FORBIDDEN and not queued[j]:
                    queued[j] = True
                    heapq.heappush(heap, (float(priority[j]), j))
        return Layout(kinds.reshape(n_rows, n_cols), self.target, self.start)

    def reaches_target(self, walls: bool) -> np.ndarray:
        """Breadth-first search back from the target: which cells can reach it.

        One array step per distance from the target (linear work in the cells; about 10 ms for 200x200).

        Args:
            walls: treat forbidden cells as walls (the companion code's convention) rather
                than as enterable cells (the book's).
        """
        n_rows, n_cols = self.shape
        open_ = (self.kinds != FORBIDDEN).reshape(-1) if walls else np.ones(n_rows * n_cols, dtype=bool)
        seen = np.zeros(n_rows * n_cols, dtype=bool)
        start = self.target[0] * n_cols + self.target[1]
        seen[start] = True
        frontier = np.array([start], dtype=np.int64)
        while frontier.size:
            col = frontier % n_cols
            step = np.concatenate([
                frontier[frontier >= n_cols] - n_cols,
                frontier[frontier < (n_rows - 1) * n_cols] + n_cols,
                frontier[col > 0] - 1,
                frontier[col < n_cols - 1] + 1,
            ])
            step = np.unique(step[open_[step] & ~seen[step]])
            seen[step] = True
            frontier = step
        return seen.reshape(n_rows, n_cols)


# Rejection draws of a random layout stop after about this many cells searched (then: repair).
REJECTION_WORK = 500_000
BYTES_PER_STATE = 2_000  # P[s][a] lists, the model's tables and the value arrays, per cell (an over-estimate)


def _next_to(mask: np.ndarray) -> np.ndarray:
    """Cells with a 4-neighbour in ``mask`` (2-D bool)."""
    out = np.zeros_like(mask)
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def _check_size(n_rows: Any, n_cols: Any) -> None:
    for name, v in (("n_rows", n_rows), ("n_cols", n_cols)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if n_rows * n_cols < 2:
        raise ValueError(f"a grid needs at least 2 cells, got {n_rows}x{n_cols}")
    check_fits(int(n_rows) * int(n_cols) * BYTES_PER_STATE, f"a {n_rows}x{n_cols} grid")


def _cell(cell: Any, n_rows: int, n_cols: int, name: str) -> Cell:
    """A 1-indexed (row, col) pair of integers as a checked 0-indexed cell (never truncated)."""
    pair = tuple(cell) if isinstance(cell, list | tuple | np.ndarray) else None
    if pair is None or len(pair) != 2 or any(isinstance(x, bool) or not isinstance(x, int | np.integer) for x in pair):
        raise TypeError(f"{name} must be a (row, col) pair of integers, got {cell!r}")
    r, c = int(pair[0]), int(pair[1])
    if not (1 <= r <= n_rows and 1 <= c <= n_cols):
        raise ValueError(f"{name} {(r, c)} is outside the {n_rows}x{n_cols} grid (rows and cols count from 1)")
    return r - 1, c - 1


class GridWorldEnv(gym.Env[Any, np.int64]):
    """The grid world of Zhao's *Mathematical Foundations of Reinforcement Learning*.

    ## Description
    An ``n_rows x n_cols`` grid of free cells, forbidden cells and one target. The agent moves
    between neighbouring cells. The defaults are the book's 5x5 example (chapters 1-3): forbidden
    cells at (row, col) = (2,2), (2,3), (3,3), (4,2), (4,4), (5,2), target at (4,3), counting from 1,
    r_boundary = r_forbidden = -1, r_target = 1, r_other = 0. As in the book (not its companion
    python code), forbidden cells can be entered at a cost and the target is not absorbing: the
    task is continuing and state values are discounted sums over an infinite horizon.

    ## Action Space
    ``Discrete(5)``, in the book's order a1..a5:

    | Num | Name  | Action                |
    |-----|-------|-----------------------|
    | 0   | up    | move one row up       |
    | 1   | right | move one column right |
    | 2   | down  | move one row down     |
    | 3   | left  | move one column left  |
    | 4   | stay  | stay in place         |

    With ``slip_prob = p > 0`` the move taken is, with probability ``p``, one of the other four
    actions chosen uniformly (stochastic transitions).

    ## Observation Space
    ``observation="index"`` (default): ``Discrete(n_rows * n_cols)``, the state ``s = row * n_cols
    + col`` (0-indexed, row-major: the book's s1..s25 are 0..24). ``"coords"``:
    ``MultiDiscrete([n_rows, n_cols])``, the 0-indexed integer (row, col). ``"onehot"``: a float32 ``Box``
    of length ``n_rows * n_cols``. The encodings are those of ``rlsuite.envs.wrappers`` (one
    implementation each; ``ScaledCoordinateObservation`` there gives (row, col) scaled to [0, 1]).

    ## Starting State
    The top-left cell (the book's s1), or the map's ``S``, by default; ``start=(row, col)``
    (1-indexed) fixes another; ``start="random"``
    draws a uniformly random cell (not the target in episodic mode) from ``self.np_random``.
    ``reset(options={"start": s})`` starts from a given state index or 1-indexed (row, col) pair,
    as exploring starts need.

    ## Rewards
    The reward depends on where the move leads: off the grid, the agent stays and gets
    ``r_boundary``; into (or staying on) the target, ``r_target``; into (or staying in) a forbidden
    cell, ``r_forbidden``; anywhere else ``r_other``. With ``forbidden_enterable=False`` (the
    companion code's convention) a move into a forbidden cell leaves the agent in place and pays
    ``r_forbidden``.

    ## Episode End
    By default never terminates (registered ids truncate after 100 steps). With
    ``terminate_at_target=True`` the episode terminates on entering the target, which becomes an
    absorbing zero-reward state in the model.

    ## Exact model
    ``env.unwrapped.P[s][a] = [(prob, next_state, reward, terminated), ...]`` (FrozenLake's
    convention), ``transition_probs`` ``[S, A, S]`` and ``expected_rewards`` ``[S, A]`` for
    vectorised solvers, ``tabular_model`` (a compact :class:`~rlsuite.envs.model.TabularModel`
    that scales to 100x100 grids and more), and ``next_state_table`` / ``reward_table`` ``[S, A]``
    for the intended moves. ``P`` and the dense array are built on first use.

    ## Arguments
    ```python
    import gymnasium as gym
    import rlsuite
    env = gym.make("rlsuite/GridWorld-v0")                              # the book's example
    env = gym.make("rlsuite/GridWorld-v0", r_forbidden=-10.0)           # another of its settings
    env = gym.make("rlsuite/GridWorld-v0", grid_map=["S..", ".#.", "..T"])
    env = gym.make("rlsuite/GridWorld-v0", n_rows=8, n_cols=8, random_layout=True, layout_seed=3)
    ```
    Layout: ``n_rows``, ``n_cols``, ``forbidden``, ``target`` (1-indexed), or ``grid_map`` (rows of
    ``. # T S``), or ``random_layout=True`` with ``forbidden_fraction`` and ``layout_seed``.
    Rewards: ``r_boundary``, ``r_forbidden``, ``r_target``, ``r_other``. Dynamics: ``slip_prob``,
    ``forbidden_enterable``, ``terminate_at_target``. ``start``, ``observation``, ``render_mode``
    ("ansi" or "rgb_array"), ``cell_px`` (pixels per cell of ``rgb_array``). Bad layouts raise a
    ``ValueError`` that names the problem.

    ## Version History
    * v0: initial version, following the book.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        n_rows: int = 5,
        n_cols: int = 5,
        forbidden: Sequence[Sequence[int]] = BOOK_FORBIDDEN,
        target: Sequence[int] = BOOK_TARGET,
        *,
        grid_map: str | Sequence[str] | None = None,
        random_layout: bool = False,
        forbidden_fraction: float = 0.2,
        layout_seed: int | None = None,
        r_boundary: float = -1.0,
        r_forbidden: float = -1.0,
        r_target: float = 1.0,
        r_other: float = 0.0,
        slip_prob: float = 0.0,
        forbidden_enterable: bool = True,
        terminate_at_target: bool = False,
        start: Sequence[int] | Literal["random"] | None = None,
        observation: ObservationKind = "index",
        render_mode: str | None = None,
        cell_px: int = 32,
    ) -> None:
        random_layout = checks.flag("random_layout", random_layout)
        if grid_map is not None and random_layout:
            raise ValueError("give either grid_map or random_layout=True, not both")
        if grid_map is not None:
            layout = Layout.from_map(grid_map)
        elif random_layout:
            checks.number("forbidden_fraction", forbidden_fraction, 0.0, 1.0, high_open=True)
            if layout_seed is not None:
                checks.integer("layout_seed", layout_seed, 0)
            layout = Layout.random(n_rows, n_cols, forbidden_fraction, np.random.default_rng(layout_seed))
        else:
            if isinstance(forbidden, str) or not isinstance(forbidden, list | tuple | np.ndarray):
                raise TypeError(f"forbidden must be a list of (row, col) pairs, got {forbidden!r}")
            layout = Layout.from_cells(n_rows, n_cols, forbidden, target)
        given = {"boundary": r_boundary, "forbidden": r_forbidden, "target": r_target, "other": r_other}
        rewards = {key: checks.number(f"r_{key}", value) for key, value in given.items()}
        if observation not in ENCODINGS:
            raise ValueError(f"observation must be 'index', 'coords' or 'onehot', got {observation!r}")
        checks.render_mode(render_mode, self.metadata["render_modes"])
        if isinstance(cell_px, bool) or not isinstance(cell_px, int) or cell_px < 4:
            raise ValueError(f"cell_px must be an integer >= 4, got {cell_px!r}")
        rows, cols = layout.shape
        check_fits(rows * cols * cell_px**2 * 3, f"cell_px {cell_px} (a {rows * cell_px}x{cols * cell_px} RGB frame)")

        self.layout = layout
        self.n_rows, self.n_cols = layout.shape
        self.n_states = self.n_rows * self.n_cols
        self.n_actions = len(ACTION_NAMES)
        self.kinds = layout.kinds
        self.target_state = self.to_state(layout.target)
        self.rewards = rewards
        self.slip_prob = checks.probability("slip_prob", slip_prob)
        self.forbidden_enterable = checks.flag("forbidden_enterable", forbidden_enterable)
        self.terminate_at_target = checks.flag("terminate_at_target", terminate_at_target)
        self.observation = observation
        self.render_mode = render_mode
        self.cell_px = cell_px

        reach = layout.reaches_target(walls=not self.forbidden_enterable).reshape(-1)
        self.start_state: int | None
        if start == "random":
            self.start_state = None
        elif start is None:  # the map's S, else the top-left cell
            self.start_state = self.to_state(layout.start) if layout.start is not None else 0
        else:
            self.start_state = self.to_state(_cell(start, self.n_rows, self.n_cols, "start"))
        if self.start_state is not None and not reach[self.start_state]:
            raise ValueError(f"no path from the start {self.to_cell(self.start_state, one_indexed=True)} to the target")
        candidates = reach.copy()
        if not self.forbidden_enterable:
            candidates &= self.kinds.reshape(-1) != FORBIDDEN
        if self.terminate_at_target:
            candidates = candidates & (np.arange(self.n_states) != self.target_state)
        self.random_start_states = np.flatnonzero(candidates)
        if self.random_start_states.size == 0:
            raise ValueError("no cell can start an episode (every cell is the target or cut off from it)")

        self._build_model()
        # index observations are immutable numpy scalars: one per state, made once (up to 2**16 states)
        small = observation == "index" and self.n_states <= 2**16
        self._index_obs = tuple(np.int64(s) for s in range(self.n_states)) if small else None
        self.action_space = spaces.Discrete(self.n_actions)
        if observation == "index":
            self.observation_space: spaces.Space[Any] = spaces.Discrete(self.n_states)
        elif observation == "coords":
            self.observation_space = spaces.MultiDiscrete([self.n_rows, self.n_cols])
        else:
            self.observation_space = spaces.Box(0.0, 1.0, shape=(self.n_states,), dtype=np.float32)
        self.s = self.start_state if self.start_state is not None else 0
        self.last_action: int | None = None

    # ----- coordinates -----
    def to_state(self, cell: Cell) -> int:
        """0-indexed (row, col) to state index."""
        return int(cell[0]) * self.n_cols + int(cell[1])

    def to_cell(self, s: int, one_indexed: bool = False) -> Cell:
        """State index to (row, col), 0-indexed unless ``one_indexed``."""
        r, c = divmod(int(s), self.n_cols)
        return (r + 1, c + 1) if one_indexed else (r, c)

    # ----- the model -----
    def _build_model(self) -> None:
        """The intended-move tables [S, A], the compact model, and (on demand) ``P`` and the dense array."""
        S, A = self.n_states, self.n_actions
        rows, cols = np.divmod(np.arange(S), self.n_cols)
        nr, nc = rows[:, None] + MOVES[:, 0], cols[:, None] + MOVES[:, 1]  # [S, A]
        inside = (nr >= 0) & (nr < self.n_rows) & (nc >= 0) & (nc < self.n_cols)
        moved = nr.clip(0, self.n_rows - 1) * self.n_cols + nc.clip(0, self.n_cols - 1)
        kind = self.kinds.reshape(-1)[moved]
        rw = self.rewards
        reward = np.where(kind == TARGET, rw["target"], np.where(kind == FORBIDDEN, rw["forbidden"], rw["other"]))
        blocked = ~inside | ((kind == FORBIDDEN) & (not self.forbidden_enterable))
        stay = np.broadcast_to(np.arange(S)[:, None], (S, A))
        self.next_state_table = np.where(inside & ~blocked, moved, stay).astype(np.int64)
        self.reward_table = np.where(inside, reward, rw["boundary"]).astype(np.float64)
        if self.terminate_at_target:  # the target is terminal: a zero-reward self-loop
            self.next_state_table[self.target_state] = self.target_state
            self.reward_table[self.target_state] = 0.0
        # Compact model: K outcomes per (s, a), action-major [K, A, S]. Slipping replaces the
        # intended action by one of the other four, uniformly.
        if self.slip_prob == 0.0:
            next_states = self.next_state_table.T[None]
            next_probs = np.ones((1, A, S))
            next_rewards = self.reward_table.T[None]
        else:
            next_states = np.broadcast_to(self.next_state_table.T[:, None, :], (A, A, S)).copy()
            next_rewards = np.broadcast_to(self.reward_table.T[:, None, :], (A, A, S))
            eye = np.eye(A)[:, :, None]
            next_probs = np.broadcast_to(eye * (1 - self.slip_prob) + (1 - eye) * self.slip_prob / (A - 1), (A, A, S))
            if self.terminate_at_target:
                next_probs = next_probs.copy()
                next_probs[:, :, self.target_state] = eye[:, :, 0]
        self.expected_rewards = np.einsum("kas,kas->sa", next_probs, next_rewards)
        self._next_rewards = next_rewards
        self.tabular_model = TabularModel(self.expected_rewards, next_states=next_states, next_probs=next_probs)

    @cached_property
    def P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        """``P[s][a] = [(prob, next_state, reward, terminated), ...]`` (FrozenLake's convention)."""
        model = self.tabular_model
        assert model.next_states is not None and model.next_probs is not None
        P: dict[int, dict[int, list[tuple[float, int, float, bool]]]] = {}
        for s in range(self.n_states):
            P[s] = {}
            for a in range(self.n_actions):
                outcomes: dict[tuple[int, float], float] = {}
                for k in range(model.next_states.shape[0]):
                    p = float(model.next_probs[k, a, s])
                    if p > 0.0:
                        key = (int(model.next_states[k, a, s]), float(self._next_rewards[k, a, s]))
                        outcomes[key] = outcomes.get(key, 0.0) + p
                absorbing = self.terminate_at_target and s == self.target_state
                P[s][a] = [
                    (p, ns, r, self.terminate_at_target and ns == self.target_state)
                    for (ns, r), p in outcomes.items()
                ]
                if absorbing:
                    P[s][a] = [(1.0, s, 0.0, True)]
        return P

    def valid_actions(self, forbidden: bool = True) -> np.ndarray:
        """``[S, A]`` bools from the intended moves: False for a move that would leave the grid or (with
        ``forbidden``) enter a forbidden cell; ``stay`` is always valid, so every state keeps an action.

        Leaving the grid is never optimal (``stay`` does better: it pays ``r_other`` rather than
        ``r_boundary`` for the same next state, when ``r_other >= r_boundary``); entering a forbidden
        cell can be (the book's 5x5 example with ``r_forbidden = -1`` crosses one from the start).
        """
        rows, cols = np.divmod(np.arange(self.n_states), self.n_cols)
        nr, nc = rows[:, None] + MOVES[:, 0], cols[:, None] + MOVES[:, 1]
        inside = (nr >= 0) & (nr < self.n_rows) & (nc >= 0) & (nc < self.n_cols)
        moved = nr.clip(0, self.n_rows - 1) * self.n_cols + nc.clip(0, self.n_cols - 1)
        valid = inside & ((self.kinds.reshape(-1)[moved] != FORBIDDEN) | (not forbidden))
        valid[:, ACTION_NAMES.index("stay")] = True
        return valid

    @property
    def transition_probs(self) -> np.ndarray:
        """``p(s' | s, a)`` as a dense [S, A, S] array, built on first use (large grids: use ``tabular_model``)."""
        return self.tabular_model.transition_probs

    # ----- gymnasium API -----
    def _obs(self) -> Any:
        if self._index_obs is not None:
            return self._index_obs[self.s]
        if self.observation == "index":
            return np.int64(self.s)
        return encode_states(np.int64(self.s), self)

    def _parse_start(self, start: Any) -> int:
        if isinstance(start, int | np.integer) and not isinstance(start, bool):
            if not 0 <= start < self.n_states:
                raise ValueError(f"options['start'] state {start} is outside [0, {self.n_states})")
            return int(start)
        return self.to_state(_cell(start, self.n_rows, self.n_cols, "options['start']"))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if options and options.get("start") is not None:
            self.s = self._parse_start(options["start"])
        elif self.start_state is None:
            self.s = int(self.np_random.choice(self.random_start_states))
        else:
            self.s = self.start_state
        self.last_action = None
        return self._obs(), {"state": self.s, "prob": 1.0}

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        a = action if type(action) is int and 0 <= action < self.n_actions else checks.action(action, self.n_actions)
        outcomes = self.P[self.s][a]
        i = 0
        if len(outcomes) > 1:
            probs = np.fromiter((o[0] for o in outcomes), dtype=np.float64, count=len(outcomes))
            i = int(self.np_random.choice(len(outcomes), p=probs / probs.sum()))
        p, ns, reward, terminated = outcomes[i]
        self.s = ns
        self.last_action = a
        obs = self._index_obs[ns] if self._index_obs is not None else self._obs()
        return obs, reward, terminated, False, {"state": ns, "prob": p}

    # ----- rendering -----
    def render(self) -> Any:
        if self.render_mode == "ansi":
            return self.render_ansi()
        if self.render_mode == "rgb_array":
            return self.render_rgb()
        return None

    def render_ansi(self, state: int | None = None) -> str:
        s = self.s if state is None else state
        chars = {FREE: ".", FORBIDDEN: "#", TARGET: "T"}
        lines = []
        for r in range(self.n_rows):
            row = ""
            for c in range(self.n_cols):
                row += "A" if self.to_state((r, c)) == s else chars[int(self.kinds[r, c])]
            lines.append(row)
        head = "" if self.last_action is None else f"  ({ACTION_NAMES[self.last_action]})"
        return "\n".join(lines) + head + "\n"

    def render_rgb(self, state: int | None = None, cell_px: int | None = None) -> np.ndarray:
        """An RGB image [n_rows * cell_px, n_cols * cell_px, 3] of the grid with the agent."""
        px = self.cell_px if cell_px is None else cell_px
        palette = np.array([COLORS["free"], COLORS["forbidden"], COLORS["target"]], dtype=np.uint8)
        img = np.repeat(np.repeat(palette[self.kinds], px, axis=0), px, axis=1)
        img[::px, :] = COLORS["line"]
        img[:, ::px] = COLORS["line"]
        img[-1, :] = COLORS["line"]
        img[:, -1] = COLORS["line"]
        r, c = self.to_cell(self.s if state is None else state)
        yy, xx = np.mgrid[0:px, 0:px]
        disk = (yy - (px - 1) / 2) ** 2 + (xx - (px - 1) / 2) ** 2 <= (0.32 * px) ** 2
        cell = img[r * px : (r + 1) * px, c * px : (c + 1) * px]
        cell[disk] = COLORS["agent"]
        return img
