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
    marked: np.ndarray | None = None,
    marked_label: str = "marked",
    legend: bool | None = None,
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
        marked: states [k] to outline in red (cells where a learned policy is not optimal, say),
            named ``marked_label`` in the legend.
        legend: a legend of the cell colours (and arrows, marks) below the grid; by default only
            when this call makes its own figure (panels of a larger figure leave it to the caller).

    Returns:
        The matplotlib figure.

    Raises:
        ValueError: ``policy`` [S, 5] whose rows are not probabilities (q-values, say), in one line.
    """
    from matplotlib.patches import Circle, Patch, Rectangle

    base = env.unwrapped
    n_rows, n_cols = base.n_rows, base.n_cols
    if policy is not None:
        policy = np.asarray(policy)
        if policy.ndim == 1:
            policy = np.eye(base.n_actions)[policy.astype(int)]
        else:
            _check_probabilities(policy)
    plt = pyplot()
    own = ax is None
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.9 * n_cols + 0.6, 0.9 * n_rows + 1.1))
    else:
        fig = ax.figure
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
    for s in [] if marked is None else np.asarray(marked, dtype=int).reshape(-1):
        r, c = base.to_cell(int(s))
        ax.add_patch(Rectangle((c + 0.04, r + 0.04), 0.92, 0.92, fill=False, edgecolor="tab:red", lw=2.0))
    ax.set_xlim(0, n_cols)
    ax.set_ylim(n_rows, 0)
    ax.set_aspect("equal")
    ax.set_xticks(np.arange(n_cols) + 0.5, [str(i + 1) for i in range(n_cols)])
    ax.set_yticks(np.arange(n_rows) + 0.5, [str(i + 1) for i in range(n_rows)])
    ax.tick_params(length=0)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    if legend if legend is not None else own:
        cells = [Patch(facecolor=np.array(COLORS[k]) / 255, edgecolor="0.3", label=k)
                 for k in ("free", "forbidden", "target")]  # fmt: skip
        if policy is not None:
            arrows = "arrow: move (length ~ prob.), circle: stay"
            cells.append(Patch(facecolor="none", edgecolor="tab:green", label=arrows))
        if marked is not None and len(marked):
            cells.append(Patch(facecolor="none", edgecolor="tab:red", lw=2.0, label=marked_label))
        ax.legend(handles=cells, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3 if policy is None else 2,
                  fontsize=6, frameon=False, title="cells" if values is None else "cells (number: state value)",
                  title_fontsize=6)  # below the grid: it covers no cell
    if title:
        ax.set_title(title, fontsize=9)
    if path is not None:
        save_figure(fig, path)
    return fig


def _check_probabilities(policy: np.ndarray, tol: float = 1e-6) -> None:
    """Rows of action probabilities: each in [0, 1], each row summing to 1; else a one-line ValueError."""
    if policy.ndim != 2:
        raise ValueError(f"policy: expected greedy actions [S] or probabilities [S, A], got shape {policy.shape}")
    bad_entry = (policy < -tol) | (policy > 1 + tol) | ~np.isfinite(policy)
    sums = policy.sum(axis=1)
    bad_row = np.flatnonzero(bad_entry.any(axis=1) | (np.abs(sums - 1) > tol))
    if bad_row.size:
        s = int(bad_row[0])
        raise ValueError(f"policy: row {s} is not a probability distribution (entries in [0, 1] summing to 1): "
                         f"got {np.round(policy[s], 3).tolist()}, sum {sums[s]:.3g}; q-values? pass the greedy "
                         "actions q.argmax(axis=1) instead")  # fmt: skip
