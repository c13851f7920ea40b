"""Sutton & Barto's random walk (example 6.2: 5 states; chapter 7: 19 states)."""

from __future__ import annotations

import numpy as np

from rlsuite.envs import checks
from rlsuite.envs.table import TableEnv


class RandomWalkEnv(TableEnv):
    """A row of ``n_states`` non-terminal states between two terminal ones; the walk starts in the middle.

    ## Description
    Sutton & Barto's Markov reward process of example 6.2 (``n_states = 5``, states A..E, reward +1 on
    the right, 0 on the left) and of chapter 7 (``n_states = 19``, -1 on the left, +1 on the right).
    The book's process moves left or right with equal probability; here the move is the action, so
    the book's process is this env under the uniform random policy (the prediction agents evaluate
    that policy), and the exact model stays deterministic.

    ## Action Space
    ``Discrete(2)``: 0 = left, 1 = right.

    ## Observation Space
    ``Discrete(n_states + 2)``: 0 is the left terminal state, ``1..n_states`` the walk's states (A = 1),
    ``n_states + 1`` the right terminal state.

    ## Starting State
    The middle state ``(n_states + 1) // 2`` (C of A..E; state 10 of 19).

    ## Rewards
    ``right_reward`` on entering the right terminal state, ``left_reward`` on entering the left one, 0 otherwise.

    ## Episode End
    Terminates on entering either terminal state.

    ## Arguments
    ``n_states`` (odd or even, at least 1), ``left_reward``, ``right_reward``, ``render_mode`` ("ansi").
    :meth:`true_values` gives the exact values of the uniform random policy (undiscounted): a straight line
    from ``left_reward`` to ``right_reward``, so ``1/6 .. 5/6`` for the 5-state walk.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        n_states: int = 5,
        left_reward: float = 0.0,
        right_reward: float = 1.0,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode)
        n = checks.integer("n_states", n_states, low=1)
        self.left_reward = checks.number("left_reward", left_reward)
        self.right_reward = checks.number("right_reward", right_reward)
        s = np.arange(n + 2)
        next_state = np.stack([np.maximum(s - 1, 0), np.minimum(s + 1, n + 1)], axis=1)
        reward = np.zeros((n + 2, 2))
        reward[1, 0] = self.left_reward
        reward[n, 1] = self.right_reward
        terminal = np.zeros(n + 2, dtype=bool)
        terminal[[0, n + 1]] = True
        self.n_walk = n
        self.set_table(next_state, reward, terminal, start_state=(n + 1) // 2)

    def true_values(self) -> np.ndarray:
        """[n_states + 2] values of the uniform random policy, gamma = 1 (0 at the terminal states)."""
        n = self.n_walk
        v = self.left_reward + (self.right_reward - self.left_reward) * np.arange(n + 2) / (n + 1)
        v[[0, n + 1]] = 0.0
        return v

    def text(self) -> str:
        cells = ["[L]"] + [chr(ord("A") + i) if self.n_walk <= 26 else "." for i in range(self.n_walk)] + ["[R]"]
        cells[self.state] = "*"
        return " ".join(cells) + "\n"

    def __repr__(self) -> str:
        return f"RandomWalkEnv(n_states={self.n_walk})"
