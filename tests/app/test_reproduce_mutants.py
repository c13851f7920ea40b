"""What the shared pieces of `rlsuite reproduce` draw and list, read back exactly (mutation testing, issue #26).

The figure tests run whole figures and check their numbers; these call the pieces at tiny sizes and read the drawn
artists (texts, patches, tables, surfaces, legends) and the listing (groups, aliases, the --list order) as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_hex
from recording import RecordingReporter, reporting_to

import rlsuite.app.reproduce as rep
from rlsuite.app.cli import main
from rlsuite.app.reproduce._common import FigureTable, ReproduceOptions, _grid_env, _grid_panel, _legend_outside, _plt
from rlsuite.common import progress
from rlsuite.common.errors import UsageError


@pytest.fixture
def ax() -> Any:
    plt = _plt()
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def texts(ax: Any) -> list[tuple[Any, ...]]:
    return [(*np.round(t.get_position(), 6).tolist(), t.get_text(), t.get_ha(), t.get_va(), t.get_fontsize())
            for t in ax.texts]  # fmt: skip


def arrow_box(patch: Any) -> tuple[float, ...]:
    """A drawn arrow's bounding box (x0, x1, y0, y1), rounded: where it starts and ends, and its head's width."""
    xy = np.asarray(patch.get_xy())
    return tuple(np.round([xy[:, 0].min(), xy[:, 0].max(), xy[:, 1].min(), xy[:, 1].max()], 6).tolist())


# ----- _common -----
def test_grid_panel_draws_each_cells_value_and_greedy_action(ax) -> None:
    from matplotlib.patches import Circle, FancyArrow, Rectangle

    env = _grid_env(n_rows=2, n_cols=3, forbidden=[(1, 2)], target=(2, 3))
    _grid_panel(env, np.array([1.25, -0.5, 3.0, 0.04, 7.06, -2.0]), np.array([0, 1, 2, 3, 4, 4]), ax, "T")
    assert ax.get_title() == "T" and ax.get_xlabel() == "column" and ax.get_ylabel() == "row"
    assert texts(ax) == [
        (0.5, 0.84, "1.2", "center", "center", 8),
        (1.5, 0.84, "-0.5", "center", "center", 8),
        (2.5, 0.84, "3.0", "center", "center", 8),
        (0.5, 1.84, "0.0", "center", "center", 8),
        (1.5, 1.84, "7.1", "center", "center", 8),
        (2.5, 1.84, "-2.0", "center", "center", 8),
    ]
    assert sum(isinstance(p, Rectangle) for p in ax.patches) == 6  # plot_grid's cells
    arrows = [p for p in ax.patches if isinstance(p, FancyArrow)]
    # (row 0: up in column 0, right in 1, down in 2; row 1: left in column 0): from 0.16 before the centre
    # (x + 0.5, y + 0.4) to 0.16 after it, the head 0.12 wide, the head inside that length
    assert [arrow_box(p) for p in arrows] == [(0.44, 0.56, 0.24, 0.56), (1.34, 1.66, 0.34, 0.46),
                                              (2.44, 2.56, 0.24, 0.56), (0.34, 0.66, 1.34, 1.46)]  # fmt: skip
    for p in arrows:
        assert to_hex(p.get_facecolor()) == to_hex(p.get_edgecolor()) == "#2ca02c" and p.get_linewidth() == 1.6
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert [(tuple(np.round(p.center, 6)), p.radius) for p in circles] == [((1.5, 1.4), 0.13), ((2.5, 1.4), 0.13)]
    for p in circles:
        assert p.get_fill() is False and to_hex(p.get_edgecolor()) == "#2ca02c" and p.get_linewidth() == 1.6


def test_legend_outside_sits_right_of_the_axes_in_small_type(ax) -> None:
    ax.plot([0, 1], [0, 1], label="a")
    _legend_outside(ax, title="T")
    legend = ax.get_legend()
    assert legend._loc == 2  # upper left
    assert np.allclose(legend.get_bbox_to_anchor().p0, ax.transAxes.transform((1.02, 1.0)))
    assert legend.borderaxespad == 0.0
    assert [t.get_fontsize() for t in legend.get_texts()] == [8]
    assert legend.get_title().get_text() == "T"


def test_a_figure_table_lists_each_figure_once() -> None:
    table = FigureTable()

    def fig(out: Any, opts: ReproduceOptions) -> dict[str, Any]:
        return {}

    assert table.add("x", "the x figure")(fig) is fig
    assert table == {"x": ("the x figure", fig)}
    with pytest.raises(ValueError, match=r"^figure 'x' is listed twice$"):
        table.add("x", "again")(fig)


# ----- the listing -----
@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("zhao-fig-3.4", ((0, 3, 4.0), "Zhao, chapter 3")),
        ("zhao-fig-8.10", ((0, 8, 10.0), "Zhao, chapter 8")),
        ("sb-fig-2.2", ((1, 2, 2.0), "Sutton & Barto, chapter 2")),
        ("sb-ex-6.2", ((1, 6, 99.0), "Sutton & Barto, chapter 6")),  # its GROUPS entry
        ("zhao-robbins-monro", ((0, 6, 99.0), "Zhao, chapter 6")),
        ("xy-fig-4.1", ((2, 4, 1.0), "xy, chapter 4")),  # a book not in BOOKS: last, under its prefix
        ("xy-z-w", ((2, 99, 99.0), "other")),
        ("sb-other", ((1, 99, 99.0), "other")),
    ],
)
def test_figure_group_is_the_book_and_chapter(name: str, group: tuple[Any, str]) -> None:
    assert rep.figure_group(name) == group


def test_all_figures_collects_every_modules_figures_aliases_and_groups() -> None:
    import importlib

    aliases, groups = dict(rep.ALIASES), dict(rep.GROUPS)
    rep.ALIASES.clear()
    rep.GROUPS.clear()
    try:
        figures = rep._all_figures()
        assert (aliases, groups) == (rep.ALIASES, rep.GROUPS)
    finally:
        rep.ALIASES.update(aliases)
        rep.GROUPS.update(groups)
    assert figures == rep.FIGURES and list(figures) == list(rep.FIGURES)
    assert groups == {"zhao-robbins-monro": "Zhao, chapter 6", "sb-ex-6.2": "Sutton & Barto, chapter 6",
                      "sb-ex-8.4": "Sutton & Barto, chapter 8"}  # fmt: skip
    assert aliases == importlib.import_module("rlsuite.app.reproduce.zhao").ALIASES != {}
    every = {n for m in rep.FIGURE_MODULES for n in importlib.import_module(m).FIGURES}
    assert set(figures) == every
    keys = [rep.figure_group(n)[0] for n in figures]
    assert keys == sorted(keys)
    # in --list order: Zhao's chapters, then Sutton & Barto's; within a chapter by figure number
    names = list(figures)
    assert names.index("zhao-fig-8.9") < names.index("zhao-fig-8.10") < names.index("sb-fig-2.1")
    assert names.index("sb-fig-6.2") < names.index("sb-ex-6.2") < names.index("sb-fig-7.2")


def test_reproduce_without_a_name_lists_the_figures(capsys) -> None:
    assert main(["reproduce"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Zhao, chapter 2:" and out[1].startswith("  zhao-fig-2.7 ")
    assert [line.split()[0] for line in out if line.startswith(" ")] == list(rep.FIGURES)


def test_help_describes_the_name_and_list(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "name figure name, or `all`; --list shows them" in out
    assert "--list list the figures and exit" in out
    description = "Regenerate a figure of Zhao's or Sutton & Barto's book as NAME.png + NAME.json in --out."
    assert f"[name] {description} --list shows the figures; `all` makes every one." in out
    # the command list as `rlsuite --help reproduce` shows it: reproduce's own line (else cli.COMMANDS' line)
    with pytest.raises(SystemExit):
        main(["--help", "reproduce"])
    assert "reproduce regenerate a book figure (PNG + JSON of the plotted numbers)" in " ".join(
        capsys.readouterr().out.split()
    )


def test_all_stands_for_every_figure() -> None:
    assert rep.figure_names("all") == list(rep.FIGURES)
    assert rep.figure_names("zhao-fig-3.4") == ["zhao-fig-3.4"]
    with pytest.raises(UsageError) as error:  # nothing close: no hint
        rep.figure_names("qqqqqqqq")
    assert str(error.value) == "unknown figure 'qqqqqqqq'; `rlsuite reproduce --list` lists them"


def test_each_figure_is_a_stage_of_the_job_display(tmp_path) -> None:
    from rlsuite.app.console import RichReporter

    class Stages(RichReporter):
        """The live display's stage lines, written down instead of drawn."""

        def __init__(self) -> None:
            super().__init__()
            self.stages: list[tuple[Any, ...]] = []

        def stage(self, index: int, total: int, name: str, outer: str) -> None:
            self.stages.append((index, total, name, outer))

        def start(self, description: str, total: float | None, unit: str) -> Any:
            return progress.NullReporter().start(description, total, unit)

        def stop(self, task: Any) -> None:
            pass

    with reporting_to(Stages()) as reporter:
        rep.reproduce("zhao-fig-3.5", ReproduceOptions(out=str(tmp_path)))
    assert reporter.stages == [(1, 1, "zhao-fig-3.5", "")]


# ----- sutton_barto: the bandit figures -----
def test_bandit_figure_draws_and_stores_every_curve(tmp_path) -> None:
    from matplotlib.figure import Figure

    from rlsuite.agents.tabular.bandit import EpsilonGreedyBandit as E
    from rlsuite.agents.tabular.bandit import EpsilonGreedyBanditConfig as C
    from rlsuite.app.reproduce import sutton_barto as sb

    drawn: list[Figure] = []
    save = sb._save
    opts = ReproduceOptions(runs=2, steps=150, seed=3)
    curves = {
        "greedy": (E, C(epsilon=0.0), {}),
        "eps": (E, C(epsilon=0.1), {"q_mean": 1.0}),
        "eps 0.1": (E, C(epsilon=0.1), {}),
    }  # the last: 48% optimal (100 x 0.48 rounds apart from 101 x 0.48)
    with reporting_to(RecordingReporter()) as reporter:
        try:
            sb._save = lambda fig, path: drawn.append(fig)
            data = sb._bandit_figure(tmp_path, "fig", "The title", curves, opts)
        finally:
            sb._save = save
    assert reporter.started[0] == ("fig", 3, "curve")
    histories = {label: sb._testbed(cls, config, opts, **kw) for label, (cls, config, kw) in curves.items()}
    steps = np.arange(1, 151)
    (fig,) = drawn
    assert tuple(fig.get_size_inches()) == (9.5, 7.2) and len(fig.axes) == 2
    top, bottom = fig.axes
    assert top.get_title() == "The title\n10-armed testbed, 2 runs, seed 3"
    assert top.get_ylabel() == "average reward (reward units)"
    assert bottom.get_ylabel() == "optimal action (% of runs)"
    for ax, col, scale in ((top, "average_reward", 1), (bottom, "optimal_action", 100)):
        assert ax.get_xlabel() == "steps (pulls of an arm)"
        assert ax.xaxis.get_major_ticks()[0].gridline.get_alpha() == 0.3
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["greedy", "eps", "eps 0.1"]
        for line, label in zip(ax.get_lines(), curves, strict=True):
            assert line.get_label() == label and line.get_linewidth() == 1
            assert np.array_equal(line.get_xdata(), steps)
            assert np.array_equal(line.get_ydata(), scale * histories[label][col])
    assert data["figure"] == "The title"
    for entry, (label, (cls, config, kw)) in zip(data["entries"], curves.items(), strict=True):
        y = histories[label]
        assert entry == {
            "curve": label, "algorithm": cls.name, "config": config.to_dict(), "env": {"k": 10, **kw}, "runs": 2,
            "steps": 150, "seed": 3, "seed_dependent": True,
            "average_reward": np.round(y["average_reward"], 4).tolist(),
            "average_reward_last_100": float(y["average_reward"][-100:].mean()),
            "optimal_action": np.round(y["optimal_action"], 4).tolist(),
            "optimal_action_last_100": float(y["optimal_action"][-100:].mean()),
        }  # fmt: skip
    levels = [f"{label}: {100 * histories[label]['optimal_action'][-100:].mean():.0f}% optimal" for label in curves]
    assert data["summary"] == "last 100 steps: " + "; ".join(levels)
    assert levels[2] == "eps 0.1: 48% optimal"
    # a figure of average rewards only: its summary gives the reward level
    try:
        sb._save = lambda fig, path: drawn.append(fig)
        data = sb._bandit_figure(tmp_path, "fig", "T", {"eps 0.1": curves["eps 0.1"]}, opts, panels=("average_reward",))
    finally:
        sb._save = save
    assert len(drawn[1].axes) == 1 and drawn[1].axes[0].get_ylabel() == "average reward (reward units)"
    assert data["summary"] == f"last 100 steps: eps 0.1: {histories['eps 0.1']['average_reward'][-100:].mean():.2f}"


# ----- zhao_ch2_4: tables, pairs of grids, the comparison with the book -----
def test_q_table_prints_each_value_without_trailing_zeros(ax) -> None:
    from matplotlib.table import Table

    from rlsuite.app.reproduce.zhao_ch2_4 import q_table

    q_table(ax, np.array([[1.5, 2.0, 0.25, -0.1, 10.0], [0.0, -1.255, 3.1, 0.05, 1.0]]), "Q")
    assert ax.get_title() == "Q" and ax.title.get_fontsize() == 9 and not ax.axison
    (table,) = ax.tables
    cells = table.get_celld()
    shown = {k: c.get_text().get_text() for k, c in cells.items()}
    assert shown == {
        (0, 0): "a1 up",
        (0, 1): "a2 right",
        (0, 2): "a3 down",
        (0, 3): "a4 left",
        (0, 4): "a5 stay",
        (1, -1): "s1",
        (1, 0): "1.5",
        (1, 1): "2",
        (1, 2): "0.25",
        (1, 3): "-0.1",
        (1, 4): "10",
        (2, -1): "s2",
        (2, 0): "0",
        (2, 1): "-1.25",
        (2, 2): "3.1",
        (2, 3): "0.05",
        (2, 4): "1",
    }
    assert table._loc == Table.codes["center"]
    assert cells[1, 0].get_text().get_ha() == "center" and cells[1, -1].get_text().get_ha() == "left"
    assert cells[1, 0].get_width() == pytest.approx(0.2)
    assert cells[1, 0].get_height() == pytest.approx(1.4 * table._approx_text_height())


def test_q_table_takes_its_own_columns(ax) -> None:
    from rlsuite.app.reproduce.zhao_ch2_4 import q_table

    q_table(ax, np.array([[1.0, 2.0]]), "Q", columns=["x", "y"])
    assert [ax.tables[0][0, c].get_text().get_text() for c in (0, 1)] == ["x", "y"]


def grid_drawing(ax: Any) -> dict[str, Any]:
    """What a grid panel shows: its title, texts and patches (type, corners, colours)."""
    return {"title": ax.get_title(), "texts": texts(ax),
            "patches": [(type(p).__name__, np.round(p.get_patch_transform().transform(p.get_path().vertices), 6)
                         .tolist(), to_hex(p.get_facecolor())) for p in ax.patches]}  # fmt: skip


def test_policy_and_values_draws_the_policy_beside_its_values() -> None:
    from rlsuite.app.reproduce.zhao_ch2_4 import policy_and_values, policy_of, values_of
    from rlsuite.envs.plotting import plot_grid

    env = _grid_env(n_rows=2, n_cols=2, forbidden=[(1, 2)], target=(2, 2))
    pi = policy_of(["R D", "R S"])
    v = values_of(env, pi)
    plt = _plt()
    fig, axes = plt.subplots(2, 2)
    policy_and_values(env, pi, v, axes[0], "P")
    plot_grid(env, policy=pi, ax=axes[1, 0], title="P: policy")
    plot_grid(env, values=v, ax=axes[1, 1], title="P: state values")
    assert grid_drawing(axes[0, 0]) == grid_drawing(axes[1, 0]) != grid_drawing(axes[1, 1])
    assert grid_drawing(axes[0, 1]) == grid_drawing(axes[1, 1])
    assert [t[2] for t in texts(axes[0, 1])] != []  # the values are printed
    plt.close(fig)


def test_printed_policy_panels_solves_and_draws_each_policy() -> None:
    from rlsuite.app.reproduce.zhao_ch2_4 import FIG_2_7, policy_and_values, policy_of, printed_policy_panels, values_of

    env = _grid_env()
    table = {"good policy 1": FIG_2_7["good policy 1"]}
    plt = _plt()
    fig, axes = plt.subplots(2, 2)
    (entry,) = printed_policy_panels(env, table, [axes[0]])
    rows, book = FIG_2_7["good policy 1"]
    policy_and_values(env, policy_of(rows), values_of(env, policy_of(rows)), axes[1], "good policy 1")
    assert grid_drawing(axes[0, 0]) == grid_drawing(axes[1, 0]) and grid_drawing(axes[0, 1]) == grid_drawing(axes[1, 1])
    assert axes[0, 0].get_title() == "good policy 1: policy"
    assert entry == {
        "panel": "good policy 1",
        "policy": rows,
        "values": book,
        "book": book,
        "cells_matching_book": 25,
        "cells": 25,
        "matches_book": True,
        "seed_dependent": False,
    }
    with pytest.raises(ValueError):  # a panel for every policy
        printed_policy_panels(env, FIG_2_7, [axes[0]])
    plt.close(fig)


def test_book_match_counts_the_cells_within_half_a_printed_digit() -> None:
    from rlsuite.app.reproduce.zhao_ch2_4 import BOOK_DIGIT, book_match

    book = [[1.0, 2.0], [3.0, 4.0]]
    ours = np.array([1.0 + BOOK_DIGIT, 2.0, 3.0 - 0.06, 4.04])
    assert book_match(ours, book) == {"book": book, "cells_matching_book": 3, "cells": 4, "matches_book": False}
    assert book_match(np.array([BOOK_DIGIT, 2, 3, 4]), [[0.0, 2.0], [3.0, 4.0]]) == {
        "book": [[0.0, 2.0], [3.0, 4.0]],
        "cells_matching_book": 4,
        "cells": 4,
        "matches_book": True,
    }  # within: <=


def test_values_of_solves_with_the_given_discount_and_prints_no_negative_zero() -> None:
    from rlsuite.app.reproduce.zhao_ch2_4 import FIG_2_7, policy_of, values_of

    env = _grid_env(n_rows=1, n_cols=2, forbidden=[], target=(1, 2))
    v = values_of(env, policy_of(["R S"]), gamma=0.5)
    assert v.tolist() == [2.0, 2.0]  # 0 + 0.5 * 2, and 1 / (1 - 0.5) at the target
    # bad policy 2 stays put in free cells: those values are 0, one of them -0.0 as solved
    v = values_of(_grid_env(), policy_of(FIG_2_7["bad policy 2"][0]))
    assert (v == 0).sum() == 10 and not np.signbit(v[v == 0]).any() and FIG_2_7["bad policy 2"][1][0][:3] == [0.0] * 3


def test_a_testbed_run_longer_than_the_registered_limit_is_one_episode() -> None:
    """KArmedBandit-v0 registers 1000 steps; a run of --steps 1001 is still one episode (one q* per run)."""
    import gymnasium as gym

    from rlsuite.agents.tabular.bandit import EpsilonGreedyBandit as E
    from rlsuite.agents.tabular.bandit import EpsilonGreedyBanditConfig as C
    from rlsuite.app.reproduce import sutton_barto as sb

    history = sb._testbed(E, C(epsilon=0.1), ReproduceOptions(runs=2, steps=1001, seed=0))
    unlimited = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=2, vectorization_mode="vector_entry_point",
                             max_episode_steps=None)  # fmt: skip
    expected = E(unlimited, C(epsilon=0.1)).learn(1001, seed=0)
    assert history["average_reward"].tolist() == expected["average_reward"].tolist()
    assert history["optimal_action"].tolist() == expected["optimal_action"].tolist()
