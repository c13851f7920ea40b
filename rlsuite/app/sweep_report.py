"""The report of ``rlsuite sweep``: ``report.md`` and its figures (aggregate intervals, sample-efficiency
curves, performance profiles), from the cells and the statistics :mod:`rlsuite.app.sweep` computed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.app.reports import fmt

AGGREGATES = ("mean", "median", "iqm", "optimality_gap")
LABELS = {"mean": "mean", "median": "median", "iqm": "IQM", "optimality_gap": "optimality gap"}


def _interval(d: dict[str, float]) -> str:
    return f"{fmt(d['value'])} [{fmt(d['low'])}, {fmt(d['high'])}]"


def write_report(path: Path, results: dict[str, Any], figures: Sequence[str]) -> Path:
    """``report.md``: per metric, a table of groups x aggregates (95% intervals); pairwise probabilities of
    improvement; the failed cells; the figures."""
    from rlsuite.common.io import atomic_path

    sweep = results["sweep"]
    cells = results["cells"]
    lines = [
        "# rlsuite sweep",
        "",
        f"Algorithms {', '.join(sweep['algos'])}; grid {sweep['grid'] or '(defaults)'}; seeds {sweep['seeds']}; "
        f"env {sweep['env'] or 'each algorithm default'}; budget {sweep['budget'] or 'each algorithm default'}.",
        f"{sum(c['status'] == 'finished' for c in cells)} of {len(cells)} cells finished in "
        f"{results['wall_seconds']} s. Intervals: {results['interval']}, {results['resamples']} resamples.",
    ]
    for name, entry in results["metrics"].items():
        better = "higher is better" if entry["higher_is_better"] else "lower is better"
        aggs = [a for a in AGGREGATES if a in next(iter(entry["groups"].values()))]
        lines += ["", f"## {name} ({better}" + (f"; optimality gap below {entry['target']:g}" if entry["target"]
                                                 is not None else "") + ")", ""]  # fmt: skip
        lines += ["| group | runs | " + " | ".join(LABELS[a] for a in aggs) + " |",
                  "|---|---|" + "---|" * len(aggs)]  # fmt: skip
        for group, row in entry["groups"].items():
            lines.append(f"| {group} | {row['runs']} | " + " | ".join(_interval(row[a]) for a in aggs) + " |")
        if entry["probability_of_improvement"]:
            lines += ["", "Probability of improvement P(X better than Y), with its 95% interval:", ""]
            lines += [f"- {pair}: {_interval(v)}" for pair, v in entry["probability_of_improvement"].items()]
    failed = [c for c in cells if c["status"] != "finished"]
    if failed:
        lines += ["", "## Failed cells", ""]
        lines += [f"- {c['folder']}: {c.get('error') or 'not finished'}" for c in failed]
    if figures:
        lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


def _curves(cells: Sequence[Any]) -> dict[str, tuple[str, list[tuple[np.ndarray, np.ndarray]]]]:
    """group -> (metric, [(fraction of budget, values)]) for the first curve metric every run has."""
    from rlsuite.app.plots import read_run
    from rlsuite.app.sweep import CURVE_METRICS

    runs: dict[str, list[Any]] = {}
    for c in cells:
        if (c.path / "finished.json").is_file():
            runs.setdefault(c.group, []).append(read_run(c.path))
    out: dict[str, tuple[str, list[tuple[np.ndarray, np.ndarray]]]] = {}
    for group, members in runs.items():
        metric = next((m for m in CURVE_METRICS if all(m in r.columns for r in members)), None)
        if metric is None:
            continue
        out[group] = (metric, [(r.columns["x"] / max(float(r.columns["x"][-1]), 1.0), r.columns[metric])
                               for r in members])  # fmt: skip
    return out


def write_figures(out: Path, cells: Sequence[Any], metrics: dict[str, Any]) -> list[str]:
    """``aggregates.png``, ``sample_efficiency.png`` and ``profiles.png``; returns the names written."""
    from rlsuite.common import stats
    from rlsuite.common.plotting import pyplot, save_figure

    plt = pyplot()
    written: list[str] = []
    if metrics:
        names = list(metrics)
        fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.2 + 0.5 * len(next(iter(metrics.values()))["groups"])
                                                         * len(names)), squeeze=False)  # fmt: skip
        for ax, name in zip(axes[:, 0], names, strict=True):
            groups = metrics[name]["groups"]
            for i, row in enumerate(groups.values()):
                iqm = row["iqm"]
                ax.errorbar(iqm["value"], i, xerr=[[iqm["value"] - iqm["low"]], [iqm["high"] - iqm["value"]]],
                            fmt="o", capsize=4)  # fmt: skip
            ax.set_yticks(range(len(groups)), list(groups))
            better = "higher" if metrics[name]["higher_is_better"] else "lower"
            ax.set_xlabel(f"{name}: IQM with 95% stratified bootstrap interval ({better} is better)")
            ax.grid(alpha=0.3)
        axes[0, 0].set_title("sweep: final scores per algorithm and setting")
        save_figure(fig, out / "aggregates.png")
        written.append("aggregates.png")
    curves = _curves(cells)
    if curves:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        grid = np.linspace(0.0, 1.0, 50)
        for group, (metric, runs) in curves.items():
            stacked = np.stack([np.interp(grid, x, y) for x, y in runs])
            points = [stats.stratified_bootstrap(stacked[:, j], stats.iqm, n_resamples=300, seed=0)
                      for j in range(grid.size)]  # fmt: skip
            mid, low, high = (np.array(v) for v in zip(*points, strict=True))
            (line,) = ax.plot(grid, mid, label=f"{group} [{metric}, {len(runs)} seeds]")
            ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("fraction of the training budget")
        ax.set_ylabel("IQM over seeds (band: 95% bootstrap interval)")
        ax.set_title("sample efficiency")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
        save_figure(fig, out / "sample_efficiency.png")
        written.append("sample_efficiency.png")
    primary = next(iter(metrics), None)
    if primary is not None:
        entry = metrics[primary]
        scores = {g: np.asarray(row["scores"]) for g, row in entry["groups"].items()}
        allv = np.concatenate(list(scores.values()))
        taus = np.linspace(allv.min(), allv.max(), 60) if allv.max() > allv.min() else np.array([allv.min()])
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for group, x in scores.items():
            y = x if entry["higher_is_better"] else -x
            t = taus if entry["higher_is_better"] else -taus
            ax.step(taus, stats.performance_profile(y, t), where="post", label=group)
        ax.set_xlabel(f"threshold tau on {primary}")
        ax.set_ylabel(f"fraction of runs {'above' if entry['higher_is_better'] else 'below'} tau")
        ax.set_title(f"performance profiles ({primary})")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8)
        save_figure(fig, out / "profiles.png")
        written.append("profiles.png")
    return written
