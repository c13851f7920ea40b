"""plot_grid's figure, artist by artist, on a 2x3 grid: sizes, cell colours, value texts, the policy's
arrows and circles (sized by probability), marks, axes, legend and title; and the probability check."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import Circle, FancyArrow, Rectangle

from rlsuite.envs.gridworld import COLORS, GridWorldEnv
from rlsuite.envs.plotting import plot_grid

GREEN, RED, GREY = to_rgba("tab:green"), to_rgba("tab:red"), to_rgba("0.3")
KINDS = ["free", "forbidden", "free", "free", "free", "target"]  # forbidden (1, 2), target (2, 3), 1-indexed
# states 0..5: up/right/stay split, a 0.0005 move (not drawn), a 0.001 move (drawn), left, down, stay
POLICY = np.array([[0.5, 0.25, 0, 0, 0.25], [0, 0, 0.0005, 0, 0.9995], [0.001, 0, 0, 0, 0.999],
                   [0, 0, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1]])  # fmt: skip


def grid() -> GridWorldEnv:
    return GridWorldEnv(n_rows=2, n_cols=3, forbidden=[(1, 2)], target=(2, 3))


def face(kind: str) -> tuple[float, ...]:
    return to_rgba(np.array(COLORS[kind]) / 255)


def test_values_figure_cells_texts_axes_legend_title_and_file(tmp_path: Path) -> None:
    fig = plot_grid(grid(), values=np.array([0.1, -1.5, 2, 3.3, 0, 10]), path=tmp_path / "g.png", title="t")
    assert tuple(fig.get_size_inches()) == pytest.approx((0.9 * 3 + 0.6, 0.9 * 2 + 1.1))
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    (ax,) = fig.axes
    cells = [(r, c) for r in range(2) for c in range(3)]
    assert [(p.get_x(), p.get_y(), p.get_width(), p.get_height()) for p in ax.patches] == [
        (c, r, 1, 1) for r, c in cells]  # fmt: skip
    assert [p.get_facecolor() for p in ax.patches] == [face(k) for k in KINDS]
    assert all(p.get_edgecolor() == GREY for p in ax.patches)
    assert [(t.get_position(), t.get_text(), t.get_ha(), t.get_va(), t.get_fontsize()) for t in ax.texts] == [
        ((c + 0.5, r + 0.5), text, "center", "center", 9)
        for (r, c), text in zip(cells, ["0.1", "-1.5", "2.0", "3.3", "0.0", "10.0"], strict=True)]  # fmt: skip
    assert (ax.get_xlim(), ax.get_ylim(), ax.get_aspect()) == ((0, 3), (2, 0), 1.0)
    assert list(ax.get_xticks()) == [0.5, 1.5, 2.5] and [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
    assert list(ax.get_yticks()) == [0.5, 1.5] and [t.get_text() for t in ax.get_yticklabels()] == ["1", "2"]
    for axis in (ax.xaxis, ax.yaxis):
        assert axis.get_major_ticks()[0].tick1line.get_markersize() == 0
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title(), ax.title.get_fontsize()) == ("column", "row", "t", 9)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["free", "forbidden", "target"]
    assert {t.get_fontsize() for t in legend.get_texts()} == {6}
    assert (legend.get_title().get_text(), legend.get_title().get_fontsize()) == ("cells (number: state value)", 6)
    assert [h.get_facecolor() for h in legend.legend_handles] == [face(k) for k in ("free", "forbidden", "target")]
    assert all(h.get_edgecolor() == GREY for h in legend.legend_handles)
    assert (legend.get_frame_on(), legend._ncols, legend._loc) == (False, 3, 9)  # 9: upper center
    fig.canvas.draw()
    anchor = ax.transAxes.inverted().transform(legend.get_bbox_to_anchor().get_points())
    np.testing.assert_allclose(anchor, [[0.5, -0.1], [0.5, -0.1]], atol=1e-9)


def test_policy_figure_arrows_circles_marks_and_legend() -> None:
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots()
    ax.set_xlim(-5, 5)  # a panel drawn on before: plot_grid sets both limits
    marked = np.array([[4, 0]])  # any shape of states
    assert (
        plot_grid(grid(), values=np.zeros(6), policy=POLICY, ax=ax, marked=marked, marked_label="m", legend=True) is fig
    )
    assert (ax.get_xlim(), ax.get_ylim()) == ((0, 3), (2, 0))
    assert [(t.get_position(), t.get_fontsize()) for t in ax.texts] == [
        ((c + 0.5, r + 0.84), 7) for r in range(2) for c in range(3)]  # fmt: skip
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    stays = [(0, 0.25), (1, 0.9995), (2, 0.999), (5, 1.0)]
    assert [(p.center, p.radius, p.get_fill(), p.get_edgecolor(), p.get_linewidth()) for p in circles] == [
        ((s % 3 + 0.5, s // 3 + 0.4), 0.06 + 0.1 * p, False, GREEN, 0.5 + p) for s, p in stays]  # fmt: skip
    arrows = [p for p in ax.patches if isinstance(p, FancyArrow)]
    moves = [(0, 0.5, 0, -1), (0, 0.25, 1, 0), (2, 0.001, 0, -1), (3, 1.0, -1, 0), (4, 1.0, 0, 1)]  # s, p, dx, dy
    assert len(arrows) == len(moves)
    for arrow, (s, p, dx, dy) in zip(arrows, moves, strict=True):
        want = FancyArrow(s % 3 + 0.5, s // 3 + 0.4, 0.3 * p * dx, 0.3 * p * dy, head_width=0.03 + 0.09 * p,
                          head_length=0.03 + 0.07 * p, length_includes_head=True)  # fmt: skip
        np.testing.assert_allclose(arrow.get_xy(), want.get_xy(), atol=1e-12)
        assert (arrow.get_facecolor(), arrow.get_edgecolor(), arrow.get_linewidth()) == (GREEN, GREEN, 0.5 + p)
    marks = [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
    assert [(p.get_x(), p.get_y(), p.get_width(), p.get_height(), p.get_edgecolor(), p.get_linewidth())
            for p in marks] == [(1.04, 1.04, 0.92, 0.92, RED, 2.0), (0.04, 0.04, 0.92, 0.92, RED, 2.0)]  # fmt: skip
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "free", "forbidden", "target", "arrow: move (length ~ prob.), circle: stay", "m"]  # fmt: skip
    arrow_key, mark_key = legend.legend_handles[3:]
    assert (arrow_key.get_facecolor(), arrow_key.get_edgecolor()) == ((0, 0, 0, 0), GREEN)
    assert (mark_key.get_facecolor(), mark_key.get_edgecolor(), mark_key.get_linewidth()) == ((0, 0, 0, 0), RED, 2.0)
    assert legend._ncols == 2
    plt.close(fig)


def test_greedy_policy_defaults_and_legend_choices() -> None:
    from matplotlib import pyplot as plt

    fig = plot_grid(grid(), policy=np.array([1, 4, 4, 4, 4, 4]), marked=np.array([0]))
    (ax,) = fig.axes
    assert len([p for p in ax.patches if isinstance(p, FancyArrow)]) == 1
    assert len([p for p in ax.patches if isinstance(p, Circle)]) == 5
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "cells" and legend.get_texts()[-1].get_text() == "marked"
    assert ax.get_title() == ""
    assert plot_grid(grid(), values=np.zeros(6), legend=False).axes[0].get_legend() is None
    _, ax = plt.subplots()
    assert plot_grid(grid(), values=np.zeros(6), ax=ax).axes[0].get_legend() is None
    plt.close("all")


def test_probability_check_bounds_and_message() -> None:
    edge = POLICY.copy()
    edge[3] = [0, 0, 0, 1 + 1e-6, -1e-6]  # at the tolerance: accepted
    plot_grid(grid(), policy=edge)
    over = POLICY.copy()
    over[3] = [1 + 2e-6, -5e-7, -5e-7, -5e-7, -5e-7]  # sums to 1, one entry past 1 + tol
    with pytest.raises(ValueError, match=r"^policy: row 3 is not a probability distribution"):
        plot_grid(grid(), policy=over)
    bad = POLICY.copy()
    bad[2] = [0.12345, 0.5, 0, 0, 0]
    message = (
        "policy: row 2 is not a probability distribution (entries in [0, 1] summing to 1): got "
        "[0.123, 0.5, 0.0, 0.0, 0.0], sum 0.623; q-values? pass the greedy actions q.argmax(axis=1) instead"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        plot_grid(grid(), policy=bad)
