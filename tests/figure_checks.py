"""Checks that a matplotlib figure is fit for a report: a title, labelled axes, legends off the data (kept in
the image: save_figure saves with bbox_inches="tight"), no text clipped by the figure's edge or floating
away from its axes (shared by the figure tests of reproduce, the tour, run folders and align compare)."""

from __future__ import annotations

from typing import Any


def check_report_figure(fig: Any) -> list[str]:
    """What a student would have to fix before putting ``fig`` in a report (empty: nothing)."""
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    figure_box = fig.bbox
    problems = []
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    axes = [ax for ax in fig.axes if ax.axison]
    if not suptitle and not (axes and axes[0].get_title()):
        problems.append("no title")
    for i, ax in enumerate(axes):
        xlabel = ax.get_xlabel() or any(a.get_xlabel() for a in ax.get_shared_x_axes().get_siblings(ax))  # stacked
        if not xlabel or not ax.get_ylabel():
            problems.append(f"axes {i}: unlabelled axis ({ax.get_xlabel()!r}, {ax.get_ylabel()!r})")
        legend = ax.get_legend()
        frame = ax.get_window_extent(renderer)
        if legend is not None and legend.get_window_extent(renderer).overlaps(frame):
            problems.append(f"axes {i}: the legend lies over the data area")
        near = 0.15 * max(frame.width, frame.height)  # a label beside its point, not far off in the margin
        for text in ax.texts:
            if text.get_visible() and text.get_text() and not _within(text.get_window_extent(renderer), frame, near):
                problems.append(f"axes {i}: the text {text.get_text()[:30]!r} lies away from its axes")
        for text in (ax.title, ax.xaxis.label, ax.yaxis.label):
            box = text.get_window_extent(renderer)
            if text.get_text() and (box.x0 < figure_box.x0 - 1 or box.x1 > figure_box.x1 + 1):
                problems.append(f"axes {i}: {text.get_text()[:30]!r} is clipped by the figure's edge")
    return problems


def _within(box: Any, outer: Any, margin: float) -> bool:
    """Whether ``box`` lies inside ``outer`` grown by ``margin`` pixels on every side."""
    return (outer.x0 - margin <= box.x0 and box.x1 <= outer.x1 + margin
            and outer.y0 - margin <= box.y0 and box.y1 <= outer.y1 + margin)  # fmt: skip


def record_saved_figures(monkeypatch: Any) -> dict[str, Any]:
    """Every figure rlsuite saves from now on (its plotting helpers' ``save_figure``), by file name, saved as ever."""
    from pathlib import Path

    import rlsuite.app.plots as plots
    import rlsuite.common.plotting as plotting
    import rlsuite.envs.plotting as grid_plotting

    saved: dict[str, Any] = {}
    save = plotting.save_figure

    def keep(fig: Any, path: Any) -> Any:
        saved[Path(path).name] = fig
        return save(fig, path)

    for module in (plotting, plots, grid_plotting):
        monkeypatch.setattr(module, "save_figure", keep)
    return saved
