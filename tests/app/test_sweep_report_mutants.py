"""rlsuite.app.sweep_report, exactly: report.md line by line from given results, and each figure's drawn data
(intervals, curves with their bootstrap bands, performance profiles) from real run folders of a tiny sweep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from figure_checks import record_saved_figures
from matplotlib.colors import to_rgb

from rlsuite.app.reports import fmt
from rlsuite.app.sweep import Cell
from rlsuite.app.sweep_report import AGGREGATES, LABELS, _curves, _interval, write_figures, write_report
from rlsuite.common import stats


def _iv(value: float, low: float, high: float) -> dict[str, float]:
    return {"value": value, "low": low, "high": high}


def _results(**changes: Any) -> dict[str, Any]:
    results: dict[str, Any] = {
        "sweep": {"algos": ["q_learning", "sarsa"], "grid": {"alpha": ["0.1"]}, "seeds": [0, 1], "env": "e/E-v0",
                  "budget": 100},
        "cells": [{"status": "finished", "folder": "a"}, {"status": "failed", "folder": "b", "error": "it broke"},
                  {"status": "failed", "folder": "c"}, {"status": "finished", "folder": "d"}],
        "wall_seconds": 12.5, "interval": "95% bootstrap", "resamples": 200,
        "metrics": {
            "optimal_fraction": {
                "higher_is_better": True, "target": 1.0,
                "groups": {"q": {"runs": 2, "mean": _iv(0.5, 0.25, 0.75), "median": _iv(0.5, 0.2, 0.8),
                                 "iqm": _iv(0.5, 0.3, 0.7), "optimality_gap": _iv(0.5, 0.25, 0.75)},
                           "s": {"runs": 1, "mean": _iv(1.0, 1.0, 1.0), "median": _iv(1.0, 1.0, 1.0),
                                 "iqm": _iv(1.0, 1.0, 1.0), "optimality_gap": _iv(0.0, 0.0, 0.0)}},
                "probability_of_improvement": {"q > s": _iv(0.25, 0.0, 0.5)},
            },
            "value_error": {
                "higher_is_better": False, "target": None,
                "groups": {"q": {"runs": 2, "median": _iv(2.5, 1.0, 4.0), "iqm": _iv(2.0, 1.5, 3.0)}},
                "probability_of_improvement": {},
            },
        },
    }  # fmt: skip
    results.update(changes)
    return results


def test_names() -> None:
    assert AGGREGATES == ("mean", "median", "iqm", "optimality_gap")
    assert LABELS == {"mean": "mean", "median": "median", "iqm": "IQM", "optimality_gap": "optimality gap"}
    assert _interval(_iv(0.123456, -1e-12, 2.0)) == f"{fmt(0.123456)} [0, 2]" == "0.123 [0, 2]"


def test_the_report_line_by_line(tmp_path: Path) -> None:
    path = write_report(tmp_path / "report.md", _results(), ["a.png", "b.png"])
    assert path == tmp_path / "report.md" and [p.name for p in tmp_path.iterdir()] == ["report.md"]
    assert path.read_text() == "\n".join([
        "# rlsuite sweep",
        "",
        "Algorithms q_learning, sarsa; grid {'alpha': ['0.1']}; seeds [0, 1]; env e/E-v0; budget 100.",
        "2 of 4 cells finished in 12.5 s. Intervals: 95% bootstrap, 200 resamples.",
        "",
        "## optimal_fraction (higher is better; optimality gap below 1)",
        "",
        "| group | runs | mean | median | IQM | optimality gap |",
        "|---|---|---|---|---|---|",
        "| q | 2 | 0.5 [0.25, 0.75] | 0.5 [0.2, 0.8] | 0.5 [0.3, 0.7] | 0.5 [0.25, 0.75] |",
        "| s | 1 | 1 [1, 1] | 1 [1, 1] | 1 [1, 1] | 0 [0, 0] |",
        "",
        "Probability of improvement P(X better than Y), with its 95% interval:",
        "",
        "- q > s: 0.25 [0, 0.5]",
        "",
        "## value_error (lower is better)",
        "",
        "| group | runs | median | IQM |",
        "|---|---|---|---|",
        "| q | 2 | 2.5 [1, 4] | 2 [1.5, 3] |",
        "",
        "## Failed cells",
        "",
        "- b: it broke",
        "- c: not finished",
        "",
        "## Figures",
        "",
        "![a.png](a.png)",
        "![b.png](b.png)",
    ]) + "\n"  # fmt: skip


def test_the_report_of_defaults_without_failures_or_figures(tmp_path: Path) -> None:
    results = _results(cells=[{"status": "finished", "folder": "a"}], metrics={})
    results["sweep"].update(grid={}, env=None, budget=None)
    text = write_report(tmp_path / "r.md", results, []).read_text()
    assert text == (
        "# rlsuite sweep\n\nAlgorithms q_learning, sarsa; grid (defaults); seeds [0, 1]; env each algorithm default; "
        "budget each algorithm default.\n1 of 1 cells finished in 12.5 s. Intervals: 95% bootstrap, 200 resamples.\n"
    )
    results = _results()
    results["metrics"]["optimal_fraction"]["target"] = 0.0  # a target of 0 is still a target
    assert "## optimal_fraction (higher is better; optimality gap below 0)" in write_report(
        tmp_path / "r.md", results, []).read_text()  # fmt: skip


# --- the figures, from real run folders ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three finished tabular runs in two groups, and a cell whose run never finished."""
    from rlsuite.app.cli import main

    root = tmp_path_factory.mktemp("sweep_report")
    cells = []
    for alpha, seed in (("0.1", 0), ("0.1", 1), ("0.5", 0)):
        path = root / f"a{alpha}" / f"seed{seed}"
        argv = ["train", "q_learning", "--budget", "2560", "--seed", str(seed), "--set", f"alpha={alpha}",
                "--out", str(path)]  # fmt: skip
        assert main(argv) == 0
        cells.append(Cell("q_learning", {"alpha": alpha}, seed, path))
    (root / "unfinished").mkdir()
    cells.append(Cell("q_learning", {"alpha": "0.9"}, 0, root / "unfinished"))
    return {"root": root, "cells": cells}


def test_curves_are_the_finished_runs_first_common_metric(runs: dict[str, Any]) -> None:
    from rlsuite.app.plots import read_run

    curves = _curves(runs["cells"])
    assert list(curves) == ["q_learning (alpha=0.1)", "q_learning (alpha=0.5)"]  # the unfinished cell: none
    metric, members = curves["q_learning (alpha=0.1)"]
    assert metric == "optimal_fraction" and len(members) == 2
    for (x, y), cell in zip(members, runs["cells"][:2], strict=True):
        run = read_run(cell.path)
        assert np.array_equal(x, run.columns["x"] / float(run.columns["x"][-1])) and x[-1] == 1.0
        assert np.array_equal(y, run.columns["optimal_fraction"])
    assert _curves(runs["cells"][3:]) == {}


def test_figures_draw_the_given_numbers(runs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = record_saved_figures(monkeypatch)
    metrics = _results()["metrics"]
    for entry in metrics.values():
        for row in entry["groups"].values():
            row["scores"] = [0.25, 0.75] if row["runs"] == 2 else [1.0]
    names = write_figures(tmp_path, runs["cells"], metrics)
    assert names == ["aggregates.png", "sample_efficiency.png", "profiles.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names) and set(drawn) == set(names)

    fig = drawn["aggregates.png"]
    assert tuple(fig.get_size_inches()) == (8.0, 1.2 + 0.5 * 2 * 2)
    top, bottom = fig.axes
    assert top.get_title() == "sweep: final scores per algorithm and setting" and bottom.get_title() == ""
    assert top.get_xlabel() == "optimal_fraction: IQM with 95% stratified bootstrap interval (higher is better)"
    assert bottom.get_xlabel() == "value_error: IQM with 95% stratified bootstrap interval (lower is better)"
    assert [t.get_text() for t in top.get_yticklabels()] == ["q", "s"] and list(top.get_yticks()) == [0, 1]
    points = [line.get_xydata().tolist() for line in top.lines if line.get_marker() == "o"]
    assert points == [[[0.5, 0.0]], [[1.0, 1.0]]]
    bars = [c for c in top.collections]  # the error bars: from low to high on each row
    assert [seg.tolist() for c in bars for seg in c.get_segments()] == [[[0.3, 0.0], [0.7, 0.0]],
                                                                         [[1.0, 1.0], [1.0, 1.0]]]  # fmt: skip
    caps = [line for line in top.lines if line.get_marker() == "|"]
    assert len(caps) == 4 and caps[0].get_markersize() == 8  # capsize 4: caps 2 x 4 points long

    fig = drawn["sample_efficiency.png"]
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "fraction of the training budget",
        "IQM over seeds (band: 95% bootstrap interval)",
        "sample efficiency",
    )
    assert [line.get_label() for line in ax.lines] == [
        "q_learning (alpha=0.1) [optimal_fraction, 2 seeds]",
        "q_learning (alpha=0.5) [optimal_fraction, 1 seeds]",
    ]
    grid = np.linspace(0.0, 1.0, 50)
    _, members = _curves(runs["cells"])["q_learning (alpha=0.1)"]
    stacked = np.stack([np.interp(grid, x, y) for x, y in members])
    points = [stats.stratified_bootstrap(stacked[:, j], stats.iqm, n_resamples=300, seed=0) for j in range(50)]
    mid, low, high = (np.array(v) for v in zip(*points, strict=True))
    assert np.array_equal(ax.lines[0].get_xdata(), grid) and np.array_equal(ax.lines[0].get_ydata(), mid)
    band = ax.collections[0].get_paths()[0].vertices
    assert np.allclose(band[1:51, 1], low) and np.allclose(band[52:102, 1], high[::-1])
    assert ax.collections[0].get_alpha() == 0.2
    assert tuple(ax.collections[0].get_facecolor()[0][:3]) == pytest.approx(to_rgb(ax.lines[0].get_color()))

    fig = drawn["profiles.png"]
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "threshold tau on optimal_fraction",
        "fraction of runs above tau",
        "performance profiles (optimal_fraction)",
    )
    taus = np.linspace(0.25, 1.0, 60)
    assert [line.get_label() for line in ax.lines] == ["q", "s"]
    for line, scores in zip(ax.lines, ([0.25, 0.75], [1.0]), strict=True):
        assert np.array_equal(line.get_xdata(), taus) and line.get_drawstyle() == "steps-post"
        assert np.array_equal(line.get_ydata(), stats.performance_profile(np.array(scores), taus))


def test_a_lower_is_better_profile_counts_runs_below(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = record_saved_figures(monkeypatch)
    metrics = {
        "value_error": {
            "higher_is_better": False,
            "target": None,
            "probability_of_improvement": {},
            "groups": {"q": {"runs": 3, "scores": [3.0, 1.0, 2.0], "iqm": _iv(2.0, 1.0, 3.0)}},
        }
    }
    assert write_figures(tmp_path, [], metrics) == ["aggregates.png", "profiles.png"]  # no run: no curves
    assert tuple(drawn["aggregates.png"].get_size_inches()) == (8.0, 1.2 + 0.5 * 1 * 1)
    (ax,) = drawn["profiles.png"].axes
    assert ax.get_ylabel() == "fraction of runs below tau"
    taus = np.linspace(1.0, 3.0, 60)
    (line,) = ax.lines
    assert np.array_equal(line.get_xdata(), taus)
    assert np.array_equal(line.get_ydata(), stats.performance_profile(-np.array([3.0, 1.0, 2.0]), -taus))
    assert line.get_ydata()[0] == 0.0 and line.get_ydata()[-1] == 2 / 3  # strictly below 1: none; below 3: two
    same = {"value_error": {**metrics["value_error"], "groups": {"q": {"runs": 2, "scores": [2.0, 2.0],
                                                                       "iqm": _iv(2.0, 2.0, 2.0)}}}}  # fmt: skip
    write_figures(tmp_path, [], same)
    (line,) = drawn["profiles.png"].axes[0].lines
    assert line.get_xdata().tolist() == [2.0]  # every score equal: one threshold
    assert write_figures(tmp_path / "none", [], {}) == []


def test_the_report_and_figures_of_a_real_sweep_agree(tmp_path: Path) -> None:
    """The numbers the sweep wrote to results.json are the ones report.md shows."""
    from rlsuite.app.cli import main

    out = tmp_path / "s"
    assert main(["sweep", "q_learning", "--seeds", "0-1", "--budget", "2560", "--out", str(out),
                 "--resamples", "100"]) == 0  # fmt: skip
    results = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()
    row = results["metrics"]["optimal_fraction"]["groups"]["q_learning"]
    aggs = [a for a in AGGREGATES if a in row]
    assert f"| q_learning | 2 | {' | '.join(_interval(row[a]) for a in aggs)} |" in report.splitlines()
    assert report.splitlines()[-3:] == ["![aggregates.png](aggregates.png)",
                                        "![sample_efficiency.png](sample_efficiency.png)",
                                        "![profiles.png](profiles.png)"]  # fmt: skip
