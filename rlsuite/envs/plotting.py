"""Grid worlds drawn like Zhao's figures: state values written in the cells, the policy as arrows."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from rlsuite.common.plotting import pyplot, save_figure
from rlsuite.envs.gridworld import COLORS, FORBIDDEN, MOVES, TARGET


def plot_grid(
    env: Any,
    values: np.ndarray | None = None,
    policy: np.ndarray | None = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Draw a grid world with state values and/or a policy, like the book's figures.

    Args:
        env: a ``GridWorldEnv`` (or a wrapper of one).
        values: state values [S]; written in each cell.
        policy: action probabilities [S, 5] or greedy actions [S]; arrows for moves (length
            proportional to probability), a circle for "stay".
        path: save a PNG here (atomically) when given.
        title: the figure title.
        ax: draw into this matplotlib axes instead of a new figure.

    Returns:
        The matplotlib figure.
    """
    from matplotlib.patches import Circle, Rectangle

    base = env.unwrapped
    plt = pyplot()
    n_rows, n_cols = base.n_rows, base.n_cols
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.9 * n_cols + 0.6, 0.9 * n_rows + 0.6))
    else:
        fig = ax.figure
    if policy is not None:
        policy = np.asarray(policy)
        if policy.ndim == 1:
            policy = np.eye(base.n_actions)[policy.astype(int)]
    for r in range(n_rows):
        for c in range(n_cols):
            kind = base.kinds[r, c]
            color = COLORS["forbidden"] if kind == FORBIDDEN else COLORS["target"] if kind == TARGET else COLORS["free"]
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor=np.array(color) / 255, edgecolor="0.3"))
            s = base.to_state((r, c))
            if values is not None:
                ax.text(c + 0.5, r + 0.5 if policy is None else r + 0.84, f"{values[s]:.1f}",
                        ha="center", va="center", fontsize=9 if policy is None else 7)
            if policy is not None:
                for a, p in enumerate(policy[s]):
                    if p < 1e-3:
                        continue
                    if a == 4:
                        radius = 0.06 + 0.1 * p
                        ax.add_patch(Circle((c + 0.5, r + 0.4), radius, fill=False, color="tab:green", lw=0.5 + p))
                    else:  # length, head and width grow with the probability: small ones stay small
                        dr, dc = MOVES[a]
                        ax.arrow(c + 0.5, r + 0.4, 0.3 * p * dc, 0.3 * p * dr, head_width=0.03 + 0.09 * p,
                                 head_length=0.03 + 0.07 * p, length_includes_head=True, color="tab:green",
                                 lw=0.5 + p)  # fmt: skip
    ax.set_xlim(0, n_cols)
    ax.set_ylim(n_rows, 0)
    ax.set_aspect("equal")
    ax.set_xticks(np.arange(n_cols) + 0.5, [str(i + 1) for i in range(n_cols)])
    ax.set_yticks(np.arange(n_rows) + 0.5, [str(i + 1) for i in range(n_rows)])
    ax.tick_params(length=0)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    if title:
        ax.set_title(title, fontsize=9)
    if path is not None:
        save_figure(fig, path)
    return fig
