"""Sutton & Barto's maximization-bias MDP (example 6.7)."""

from __future__ import annotations

import numpy as np

from rlsuite.envs import checks
from rlsuite.envs.table import TableEnv

A, B, TERMINAL = 0, 1, 2
RIGHT, LEFT = 0, 1  # A's two actions


class MaximizationBiasEnv(TableEnv):
    """Two non-terminal states A and B: from A, right ends the episode (reward 0) and left leads to B,
    whose many actions all end it with a reward drawn from N(-0.1, 1).

    ## Description
    Example 6.7 (figure 6.5; 6.7 in the reference code): going left has expected return -0.1, so
    right is optimal, but the maximum over B's noisy estimates is positive early on, which draws
    Q-learning left; Double Q-learning avoids that bias.

    ## Action Space
    ``Discrete(max(2, n_b_actions))``. In A: 0 = right, 1 = left; A has only those two moves, and its
    other actions (when B has more than 2) also go right. In B: each action ends the episode.
    ``allowed_actions`` [3, A] marks each state's real actions; the book's agents (and rlsuite's
    episodic ones) choose among those only.

    ## Observation Space
    ``Discrete(3)``: 0 = A, 1 = B, 2 = the terminal state.

    ## Starting State
    A.

    ## Rewards
    0 from A; from B, ``mean`` + ``std`` x N(0, 1) (``P`` lists the expected reward ``mean``).

    ## Episode End
    Terminates on entering the terminal state (after one or two steps).

    ## Arguments
    ``n_b_actions`` (10 in the reference code; at least 1), ``mean`` (-0.1), ``std`` (1.0), ``render_mode``.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self, n_b_actions: int = 10, mean: float = -0.1, std: float = 1.0, render_mode: str | None = None
    ) -> None:
        super().__init__(render_mode)
        self.n_b_actions = checks.integer("n_b_actions", n_b_actions, low=1)
        self.mean = checks.number("mean", mean)
        self.std = checks.number("std", std, low=0.0)
        n_actions = max(2, self.n_b_actions)
        next_state = np.full((3, n_actions), TERMINAL, dtype=np.int64)
        next_state[A, LEFT] = B
        next_state[TERMINAL] = TERMINAL
        reward = np.zeros((3, n_actions))
        reward[B] = self.mean
        reward_std = np.zeros((3, n_actions))
        reward_std[B] = self.std
        terminal = np.array([False, False, True])
        self.set_table(next_state, reward, terminal, start_state=A, reward_std=reward_std)
        self.allowed_actions = np.ones((3, n_actions), dtype=bool)
        self.allowed_actions[A, 2:] = False
        self.allowed_actions[B, self.n_b_actions :] = False

    def text(self) -> str:
        return "ABT"[self.state] + "\n"

    def __repr__(self) -> str:
        return f"MaximizationBiasEnv(n_b_actions={self.n_b_actions})"
