"""Run-folder figures, and ``rlsuite plot RUN [RUN ...]``: learning curves of one or several runs.

The figure writers are shared by the agent families (``train_tabular``, ``train_sb3``):

- :func:`plot_learning_curve`: one labelled panel per metric (value error, optimal fraction,
  return, ...) over a shared x axis in the run's budget unit;
- :func:`plot_value_heatmap`: a grid world's state values with a labelled colour bar;
- :func:`write_run_plots`: the learning curve and, on grid worlds, the heat map and the policy.

``rlsuite plot`` reads run folders (tabular ``metrics.csv``; SB3 ``eval/evaluations.npz`` or
``progress.csv``), groups runs of the same full config (algorithm, env and its kwargs, budget, every
setting; see :func:`group_runs`), and draws each group's mean over seeds with a 95% stratified
bootstrap confidence interval of that mean as a band.
"""

from __future__ import annotations

import csv
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.app.args import Parsed, add_command
from rlsuite.common.config import Config, option
from rlsuite.common.errors import ConfigError, ModelFolderError
from rlsuite.common.plotting import pyplot, save_figure

# metric -> (axis label with its unit, log scale); the panels appear in this order.
METRICS: dict[str, tuple[str, bool]] = {
    "value_error": ("max_s |v(s) - v*(s)|\n(reward units)", True),
    "optimal_fraction": ("states with an optimal\ngreedy action (fraction)", False),
    "mean_return": ("mean discounted return\nof a batch (reward units)", False),
    "average_reward": ("average reward over\nruns (reward units)", False),
    "optimal_action": ("runs that pulled an\noptimal arm (fraction)", False),
    "eval_return": ("mean evaluation\nreturn (reward units)", False),
    "episode_return": ("mean training episode\nreturn (reward units)", False),
    "gap_to_optimum": ("max_s v*(s) - v_pi(s) of the\ngreedy policy (reward units)", False),
    "rmse": ("RMSE of the state values\n(reward units)", True),
    "rms_error": ("RMS error of V over the states,\nmean over runs (reward units)", True),
    "cumulative_reward": ("cumulative reward,\nmean over runs", False),
}
# x column -> axis label
X_LABELS = {
    "iteration": "iterations",
    "episodes": "episodes",
    "steps": "env steps (all copies)",
    "step": "steps (pulls per run)",
    "timesteps": "env steps",
    "fraction": "progress through each run (fraction of its last x)",
}


def _panels(columns: Sequence[str]) -> list[str]:
    return [m for m in METRICS if m in columns]


def plot_learning_curve(
    curves: Mapping[str, Mapping[str, np.ndarray]],
    x_name: str,
    path: str | os.PathLike[str],
    title: str,
    bands: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]] | None = None,
) -> Path:
    """Learning curves, one panel per metric, stacked over a shared x axis.

    Args:
        curves: label -> {"x": x values, metric: values, ...}; every label is one line per panel.
        x_name: the x column (its unit names the axis: iterations, episodes, env steps).
        path: the PNG to write (atomically).
        title: the figure title.
        bands: label -> {metric: (low, high)} drawn as a shaded band around the line.
    """
    plt = pyplot()
    metrics = _panels([m for c in curves.values() for m in c])
    if not metrics:
        raise ValueError(f"no known metric to plot (known: {', '.join(METRICS)})")
    colors = {name: f"C{i % 10}" for i, name in enumerate(curves)}  # one colour per curve in every panel
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7, 2.8 * len(metrics) + 0.8), sharex=True, squeeze=False)
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        label, log = METRICS[metric]
        for name, columns in curves.items():
            if metric not in columns:
                continue
            few = len(columns["x"]) <= 20  # a run with few evaluations (one: a lone point) shows its points
            ax.plot(columns["x"], columns[metric], lw=1.4, color=colors[name], label=name, marker="o" if few else "",
                    ms=3)  # fmt: skip
            band = (bands or {}).get(name, {}).get(metric)
            if band is not None:
                ax.fill_between(columns["x"], band[0], band[1], color=colors[name], alpha=0.2, lw=0)
        if log and all(np.all(np.asarray(c[metric]) > 0) for c in curves.values() if metric in c):
            ax.set_yscale("log")
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(X_LABELS.get(x_name, x_name))
    fig.suptitle(title, fontsize=10)
    if len(curves) > 1 or bands:  # below the plots, where it covers no data
        handles = {h.get_label(): h for ax in axes[:, 0] for h in ax.get_legend_handles_labels()[0]}
        axes[-1, 0].legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=(0.5, -0.3),
                           ncol=1, fontsize=8, frameon=False)  # fmt: skip
    return save_figure(fig, path)


def plot_value_heatmap(grid: Any, values: np.ndarray, path: str | os.PathLike[str], title: str) -> Path:
    """State values of a grid world as a heat map, the numbers written in, a labelled colour bar."""
    plt = pyplot()
    v = np.asarray(values, dtype=float).reshape(grid.n_rows, grid.n_cols)
    fig, ax = plt.subplots(figsize=(0.9 * grid.n_cols + 2.2, 0.9 * grid.n_rows + 1.0))
    im = ax.imshow(v, cmap="viridis")
    if grid.n_rows * grid.n_cols <= 400:
        mid = (np.nanmin(v) + np.nanmax(v)) / 2
        for r in range(grid.n_rows):
            for c in range(grid.n_cols):
                ax.text(c, r, f"{v[r, c]:.1f}", ha="center", va="center", fontsize=8,
                        color="black" if v[r, c] > mid else "white")  # fmt: skip
    ax.set_xticks(range(grid.n_cols), [str(i + 1) for i in range(grid.n_cols)])
    ax.set_yticks(range(grid.n_rows), [str(i + 1) for i in range(grid.n_rows)])
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    bar = fig.colorbar(im, ax=ax)
    bar.set_label("state value v(s)  (discounted return)")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def history_curves(history: Any) -> tuple[str, dict[str, np.ndarray]]:
    """``(x_name, {"x": ..., metric: ...})`` of a :class:`~rlsuite.agents.base.History`."""
    x_name = history.columns[0]
    return x_name, {"x": history[x_name], **{c: history[c] for c in history.columns[1:] if c in METRICS}}


def write_run_plots(
    run_dir: Path,
    x_name: str,
    curves: Mapping[str, np.ndarray],
    title: str,
    env: Any = None,
    values: np.ndarray | None = None,
    policy: np.ndarray | None = None,
) -> list[Path]:
    """A run folder's figures: ``learning_curve.png`` and, on grid worlds with ``values``,
    ``values_heatmap.png`` and ``policy.png`` (values and policy arrows as in Zhao's figures)."""
    paths = [plot_learning_curve({title: dict(curves)}, x_name, run_dir / "learning_curve.png", title)]
    base = getattr(env, "unwrapped", None)
    if base is not None and hasattr(base, "kinds") and values is not None:
        from rlsuite.envs.plotting import plot_grid

        paths.append(plot_value_heatmap(base, values, run_dir / "values_heatmap.png", f"{title}: state values"))
        plot_grid(base, values=values, policy=policy, path=run_dir / "policy.png",
                  title=f"{title}: values and greedy policy")  # fmt: skip
        paths.append(run_dir / "policy.png")
    return paths


# ----- reading run folders -----


@dataclass
class RunCurves:
    """One run folder's learning curves."""

    run_dir: Path
    algo: str
    env_id: str
    seed: int
    x_name: str
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # env kwargs, budget and the config: all but seed

    @property
    def group(self) -> str:
        return f"{self.algo} on {self.env_id}"

    @property
    def config_key(self) -> str:
        """What makes two runs the same experiment (seeds aside): algorithm, env, and every setting."""
        return json.dumps([self.algo, self.env_id, self.settings], sort_keys=True, default=str)


# Settings that say where or how verbosely a run ran, not what it learned; left out of the grouping.
NOT_SETTINGS = ("device", "progress_bar", "sb3_verbose", "torch_threads", "tensorboard", "video", "video_episodes")


def _settings(meta: Mapping[str, Any]) -> dict[str, Any]:
    config = {k: v for k, v in (meta.get("config") or {}).items() if k not in NOT_SETTINGS}
    return {"env_kwargs": meta.get("env_kwargs") or {}, "budget": meta.get("budget"), **config}


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ModelFolderError(f"{path}: unreadable ({exc})") from exc
    if not rows:
        raise ModelFolderError(f"{path}: no rows")
    out: dict[str, np.ndarray] = {}
    for key in rows[0]:
        try:
            out[key] = np.array([float(r[key]) if r[key] not in ("", None) else np.nan for r in rows])
        except (TypeError, ValueError):
            continue  # a text column
    return out


def read_run(run_dir: str | os.PathLike[str]) -> RunCurves:
    """The learning curves a run folder holds; a folder that is not a run is a one-line error naming it."""
    from rlsuite.app.train import read_run_config

    run_dir = Path(run_dir)
    meta = read_run_config(run_dir)
    family = meta["family"]
    algo, env_id, seed = str(meta.get("algo")), str(meta.get("env_id")), int(meta.get("seed", 0))
    if family == "tabular":
        path = run_dir / "metrics.csv"
        if not path.is_file():
            raise ModelFolderError(f"{run_dir}: no metrics.csv (an unfinished run?)")
        table = _read_csv(path)
        x_name = next(iter(table))
        return RunCurves(run_dir, algo, env_id, seed, x_name,
                         {"x": table[x_name], **{k: v for k, v in table.items() if k in METRICS}},
                         _settings(meta))  # fmt: skip
    evaluations = run_dir / "eval" / "evaluations.npz"
    if evaluations.is_file():
        try:
            with np.load(evaluations, allow_pickle=False) as data:
                x, results = data["timesteps"].astype(float), data["results"].astype(float)
        except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError) as exc:
            raise ModelFolderError(f"{evaluations}: unreadable ({exc})") from exc
        return RunCurves(run_dir, algo, env_id, seed, "timesteps", {"x": x, "eval_return": results.mean(axis=1)},
                         _settings(meta))
    progress_csv = run_dir / "progress.csv"
    if progress_csv.is_file():
        table = _read_csv(progress_csv)
        if "time/total_timesteps" in table and "rollout/ep_rew_mean" in table:
            keep = ~np.isnan(table["rollout/ep_rew_mean"])
            return RunCurves(run_dir, algo, env_id, seed, "timesteps",
                             {"x": table["time/total_timesteps"][keep],
                              "episode_return": table["rollout/ep_rew_mean"][keep]}, _settings(meta))  # fmt: skip
    raise ModelFolderError(f"{run_dir}: no learning curve found (metrics.csv, eval/evaluations.npz, progress.csv)")


BAND = "95% bootstrap CI of the mean"
BAND_POINTS = 100  # the interval is computed at this many x values at most and interpolated between them


def _short(value: Any) -> str:
    """A setting as a label shows it: floats to 4 significant digits (0.4365, not 0.43646235758853313)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value, separators=(",", ":"), default=str)


def _differences(groups: Mapping[str, Sequence[RunCurves]]) -> dict[str, str]:
    """config key -> what sets its group apart from the others of the same algorithm and env ("" if none)."""
    firsts = {key: members[0] for key, members in groups.items()}
    out: dict[str, str] = {}
    for key, run in firsts.items():
        peers = [r for r in firsts.values() if r.group == run.group]
        names = sorted({k for r in peers for k in (*r.settings, *run.settings)
                        if r.settings.get(k) != run.settings.get(k)})  # fmt: skip
        shown = [f"{k}={_short(run.settings.get(k))}" for k in names]
        out[key] = ", ".join(shown)
    return out


def mean_band(stacked: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The 95% stratified bootstrap confidence interval of the mean over runs (rows) at each column."""
    from rlsuite.common.stats import stratified_bootstrap

    columns = stacked.shape[1]
    at = np.unique(np.linspace(0, columns - 1, min(columns, BAND_POINTS)).round().astype(int))
    low, high = np.empty(len(at)), np.empty(len(at))
    for i, j in enumerate(at):
        _, low[i], high[i] = stratified_bootstrap(stacked[:, j], np.mean, n_resamples=1000, seed=seed)
    index = np.arange(columns)
    return np.interp(index, at, low), np.interp(index, at, high)


def group_runs(runs: Sequence[RunCurves]) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, Any]]]:
    """Runs of the same full config (algorithm, env and kwargs, budget, every setting; not the seed) as
    one group: its mean curve and, with two or more distinct seeds, a band (:data:`BAND`), on the first
    run's x values within the range every run covers. Labels name what differs between groups of one
    algorithm and env, and count distinct seeds (runs that repeat a seed are counted as runs)."""
    groups: dict[str, list[RunCurves]] = {}
    for run in runs:
        groups.setdefault(run.config_key, []).append(run)
    differs = _differences(groups)
    curves: dict[str, dict[str, np.ndarray]] = {}
    bands: dict[str, dict[str, Any]] = {}
    for key, members in groups.items():
        name = members[0].group + (f" [{differs[key]}]" if differs[key] else "")
        if len({m.x_name for m in members}) > 1:
            raise ConfigError(f"{name}: its runs count their budget in different units; plot them separately")
        seeds = len({m.seed for m in members})
        count = f"{seeds} seed{'s' if seeds > 1 else ''}" + (f", {len(members)} runs" if len(members) > seeds else "")
        label = name if len(members) == 1 else f"{name} ({count}: mean, band {BAND})" if seeds > 1 else \
            f"{name} ({count}: mean)"
        end = min(float(m.columns["x"][-1]) for m in members)
        x = members[0].columns["x"]
        x = x[x <= end]
        metrics = [k for k in METRICS if all(k in m.columns for m in members)]
        stacked = {k: np.stack([np.interp(x, m.columns["x"], m.columns[k]) for m in members]) for k in metrics}
        curves[label] = {"x": x, **{k: v.mean(axis=0) for k, v in stacked.items()}}
        if seeds > 1:
            bands[label] = {k: mean_band(v) for k, v in stacked.items()}
    return curves, bands


# ----- the command -----


@dataclass
class PlotOptions(Config):
    """``rlsuite plot``: where the figure goes."""

    out: str = option("learning_curves.png", help="the PNG to write", metavar="FILE.png")


def add_subcommands(subparsers: Any) -> None:
    add_command(
        subparsers,
        "plot",
        help="learning curves of run folders (runs of one config: mean over seeds, 95% bootstrap CI band)",
        configs=[PlotOptions],
        run=_plot,
        arguments=lambda p: p.add_argument("runs", nargs="+", metavar="RUN", help="run folders of rlsuite train"),
        config_file=False,
    )


def _plot(parsed: Parsed) -> int:
    opts: PlotOptions = parsed.get(PlotOptions)
    out = Path(opts.out)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: the figure is a PNG; name a FILE.png", "out", opts.out)
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a folder; name a FILE.png", "out", opts.out)
    parent = out.parent if str(out.parent) else Path(".")
    if not os.access(next((p for p in [parent, *parent.parents] if p.exists()), Path(".")), os.W_OK):
        raise ConfigError(f"--out {out}: not writable", "out", opts.out)
    runs = [read_run(r) for r in parsed.args.runs]
    x_name = runs[0].x_name
    if any(r.x_name != x_name for r in runs):  # budgets in different units: compare progress through each
        x_name = "fraction"
        for r in runs:
            r.columns["x"] = r.columns["x"] / max(float(r.columns["x"][-1]), 1.0)
            r.x_name = x_name
    curves, bands = group_runs(runs)
    title = "learning curves" if len(curves) > 1 else next(iter(curves)).split(" (")[0]
    plot_learning_curve(curves, x_name, out, title, bands)
    print(f"{out}: {len(curves)} curve{'s' if len(curves) > 1 else ''}")
    for label, columns in curves.items():
        print(f"  {label}: {len(columns['x'])} point{'s' if len(columns['x']) > 1 else ''}")
    return 0
