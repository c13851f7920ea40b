"""Grid-world figures: a legend for the cell colours (and the arrows), below the grid where it covers no cell."""

from __future__ import annotations

import numpy as np

from rlsuite.envs.gridworld import GridWorldEnv
from rlsuite.envs.plotting import plot_grid


def test_the_grid_figure_explains_its_colours_and_arrows_outside_the_grid() -> None:
    env = GridWorldEnv()
    uniform = np.full((env.n_states, 5), 0.2)
    fig = plot_grid(env, values=np.zeros(env.n_states), policy=uniform, title="uniform policy, gamma 0.9")
    (ax,) = fig.axes
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "free", "forbidden", "target", "arrow: move (length ~ prob.), circle: stay"]  # fmt: skip
    assert legend.get_title().get_text() == "cells (number: state value)"
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("uniform policy, gamma 0.9", "column", "row")
    fig.canvas.draw()
    assert legend.get_window_extent().y1 <= ax.get_window_extent().y0  # below the grid


def test_marked_cells_are_outlined_and_named_in_the_legend() -> None:
    from matplotlib.patches import Rectangle

    env = GridWorldEnv()
    fig = plot_grid(env, policy=np.zeros(env.n_states, dtype=int), marked=np.array([7, 24]), marked_label="not optimal")
    (ax,) = fig.axes
    red = [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert sorted((p.get_x(), p.get_y()) for p in red) == [(2.04, 1.04), (4.04, 4.04)]  # (row 1, col 2), (4, 4)
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "not optimal"
