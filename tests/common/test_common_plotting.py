"""rlsuite.common.plotting: the learning-curve figure, artist by artist, and its atomic PNG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from rlsuite.common import plotting


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures ``plotting`` makes (kept after ``save_figure`` closes them), drawn for real."""
    plt = plotting.pyplot()
    made: list[Any] = []
    subplots = plt.subplots

    def keep(*args: Any, **kwargs: Any) -> Any:
        fig, ax = subplots(*args, **kwargs)
        made.append(fig)
        return fig, ax

    monkeypatch.setattr(plt, "subplots", keep)
    return made


def test_pyplot_draws_on_agg() -> None:
    import matplotlib

    assert plotting.pyplot() is __import__("matplotlib.pyplot").pyplot
    assert matplotlib.get_backend().lower() == "agg"


def test_curves_references_labels_and_legend(tmp_path: Path, figures: list[Any]) -> None:
    out = plotting.plot_curves(
        {"td": [1.0, 2.0, 3.0], "mc": np.array([3, 2])}, tmp_path / "c.png", xlabel="episode", ylabel="value",
        title="Example 7.1", references={"v*": 5.0, "v_pi": 4.0, "zero": 0.0, "one": 1.0},
    )  # fmt: skip
    assert out == tmp_path / "c.png" and isinstance(out, Path)
    (fig,) = figures
    (ax,) = fig.axes
    assert tuple(fig.get_size_inches()) == (7.5, 3.6)
    td, mc, *refs = ax.get_lines()
    assert (td.get_label(), mc.get_label()) == ("td", "mc")
    np.testing.assert_array_equal(td.get_xdata(), [1, 2, 3])  # x counts from 1
    np.testing.assert_array_equal(td.get_ydata(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(mc.get_xdata(), [1, 2])
    assert mc.get_ydata().dtype == np.float64 and list(mc.get_ydata()) == [3.0, 2.0]
    assert td.get_linewidth() == mc.get_linewidth() == 1.2
    assert [r.get_label() for r in refs] == ["v*", "v_pi", "zero", "one"]
    assert [r.get_linestyle() for r in refs] == ["--", ":", "-.", "--"]  # the styles cycle
    assert [tuple(r.get_ydata()) for r in refs] == [(5.0, 5.0), (4.0, 4.0), (0.0, 0.0), (1.0, 1.0)]
    assert all(r.get_color() == "k" and r.get_linewidth() == 1.0 for r in refs)
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("episode", "value", "Example 7.1")
    assert ax.title.get_fontsize() == 10
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["td", "mc", "v*", "v_pi", "zero", "one"]
    assert legend.get_texts()[0].get_fontsize() == 8 and not legend.get_frame_on()
    assert legend._loc == 2  # "upper left", anchored right of the axes
    assert tuple(legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted()).p0) == pytest.approx((1.01, 1.0))
    assert ax.xaxis.get_gridlines()[0].get_visible() and ax.xaxis.get_gridlines()[0].get_alpha() == 0.3


def test_one_curve_has_no_legend_and_given_x(tmp_path: Path, figures: list[Any]) -> None:
    plotting.plot_curves({"only": [0.5, 0.25]}, tmp_path / "one.png", x=[10, 20])
    (ax,) = figures[0].axes
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [10, 20])
    assert ax.get_legend() is None
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("step", "", "")  # the defaults; no title
    plotting.plot_curves({"a": [1.0]}, tmp_path / "ref.png", references={"best": 2.0})  # one curve + one line
    assert figures[1].axes[0].get_legend() is not None


def test_save_figure_writes_one_png_atomically_and_closes_the_figure(tmp_path: Path) -> None:
    plt = plotting.pyplot()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    target = tmp_path / "sub" / "f.png"
    target.parent.mkdir()
    assert plotting.save_figure(fig, str(target)) == target
    assert not plt.fignum_exists(fig.number)
    assert os.listdir(target.parent) == ["f.png"]  # no temporary file left beside it
    with Image.open(target) as image:
        assert image.format == "PNG"
        assert image.info["dpi"] == pytest.approx((110, 110), abs=0.01)


def test_pyplot_selects_agg_spelled_as_matplotlib_spells_it() -> None:
    import matplotlib

    plotting.pyplot()
    assert matplotlib.get_backend() == matplotlib.rcParams["backend"] == "Agg"


def test_the_title_is_10_points_whatever_the_default_font_size(tmp_path: Path, figures: list[Any]) -> None:
    with plotting.pyplot().rc_context({"font.size": 14}):
        plotting.plot_curves({"a": [1.0, 2.0]}, tmp_path / "t.png", title="Figure 6.2")
    (ax,) = figures[0].axes
    assert ax.title.get_fontsize() == 10 and ax.xaxis.label.get_fontsize() == 14


def _blank_figure(plt: Any) -> Any:
    """A 2 x 1 inch figure whose only extent is its axes box: tight_layout's pad (1.08 x 10 pt = 0.15 in) leaves
    the axes 1.7 x 0.7 in, and the saved picture is that box plus 0.1 in on each side: 1.9 x 0.9 in."""
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.set_axis_off()
    ax.plot([0, 1], [0, 1])
    return fig


def test_save_figure_crops_to_the_drawing_with_a_tenth_of_an_inch_whatever_the_defaults(tmp_path: Path) -> None:
    plt = plotting.pyplot()
    plotting.save_figure(_blank_figure(plt), tmp_path / "a.png")
    with plt.rc_context({"savefig.pad_inches": 0.5, "savefig.bbox": "standard"}):
        plotting.save_figure(_blank_figure(plt), tmp_path / "b.png")
    for name in ("a.png", "b.png"):
        with Image.open(tmp_path / name) as image:
            assert image.size == (209, 99)  # (1.7 + 0.2, 0.7 + 0.2) in x 110 dpi; uncropped: (220, 110)


def test_save_figure_writes_png_whatever_the_file_name_says(tmp_path: Path) -> None:
    plt = plotting.pyplot()
    for name in ("f.svg", "f.pdf", "f"):
        plotting.save_figure(_blank_figure(plt), tmp_path / name)
        with Image.open(tmp_path / name) as image:
            assert image.format == "PNG"


def test_save_figure_closes_its_figure_not_the_current_one(tmp_path: Path) -> None:
    plt = plotting.pyplot()
    saved = _blank_figure(plt)
    current = plt.figure()
    plotting.save_figure(saved, tmp_path / "s.png")
    assert not plt.fignum_exists(saved.number) and plt.fignum_exists(current.number)
    plt.close(current)
