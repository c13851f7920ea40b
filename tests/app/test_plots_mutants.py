"""`rlsuite plot` to the letter: the figure's title, x axis, bands and legend; what ``--out`` it refuses and how;
labels of settings that JSON cannot write (mutation testing)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from recording import Spy

import rlsuite.app.plots as plots
from rlsuite.app.cli import main
from rlsuite.common.errors import ConfigError

BAND = "(2 seeds: mean, band 95% bootstrap CI of the mean)"


def _run(folder: Path, seed: int, epsilon: float = 0.1) -> str:
    """A tabular run folder: its config and three rows of metrics (no training)."""
    folder.mkdir(parents=True)
    config = {"epsilon": epsilon, "alpha": 0.1}
    meta = {"family": "tabular", "algo": "q_learning", "env_id": "rlsuite/GridWorld-v0", "seed": seed, "config": config}
    (folder / "config.json").write_text(json.dumps(meta))
    (folder / "metrics.csv").write_text(f"steps,optimal_fraction\n100,0.{seed}\n200,0.5\n300,0.{seed + 6}\n")
    return str(folder)


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list:
    drawn: list = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: drawn.append(fig) or Path(path))
    return drawn


def test_one_curve_is_titled_by_its_label_before_the_seeds(tmp_path: Path, figures: list, capsys) -> None:
    runs = [_run(tmp_path / "a", 0), _run(tmp_path / "b", 1)]
    assert main(["plot", *runs, "--out", str(tmp_path / "c.png")]) == 0
    (fig,) = figures
    assert fig.texts[0].get_text() == "q_learning on rlsuite/GridWorld-v0"
    (ax,) = fig.axes
    assert ax.get_xlabel() == "env steps (all copies)"  # every run counts steps: no fraction
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [100, 200, 300])
    assert len(ax.collections) == 1  # the band of the two seeds
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"q_learning on rlsuite/GridWorld-v0 {BAND}"]
    label = f"q_learning on rlsuite/GridWorld-v0 {BAND}"
    assert capsys.readouterr().out.splitlines() == [f"{tmp_path / 'c.png'}: 1 curve", f"  {label}: 3 points"]


def test_a_lone_run_is_titled_by_its_label(tmp_path: Path, figures: list) -> None:
    assert main(["plot", _run(tmp_path / "a", 0), "--out", str(tmp_path / "c.png")]) == 0
    (fig,) = figures
    assert fig.texts[0].get_text() == "q_learning on rlsuite/GridWorld-v0"
    assert fig.axes[0].get_xlabel() == "env steps (all copies)"
    assert fig.axes[0].get_legend() is None and not fig.axes[0].collections


def test_two_curves_are_learning_curves(tmp_path: Path, figures: list) -> None:
    runs = [_run(tmp_path / "a", 0, 0.1), _run(tmp_path / "b", 0, 0.5)]
    assert main(["plot", *runs, "--out", str(tmp_path / "c.png")]) == 0
    assert figures[0].texts[0].get_text() == "learning curves"


def test_out_that_is_not_a_png_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        main(["--debug", "plot", _run(tmp_path / "a", 0), "--out", "curves.jpg"])
    assert str(caught.value) == "--out curves.jpg: the figure is a PNG; name a FILE.png"
    assert (caught.value.field, caught.value.value) == ("out", "curves.jpg")


@pytest.mark.skipif(not os.path.isdir("/proc/1") or os.access("/proc/1", os.W_OK), reason="needs /proc/1 read-only")
def test_out_in_a_folder_nobody_writes_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder checked is the figure's own (here /proc/1, not writable even by root), not the current one."""
    run = _run(tmp_path / "a", 0)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        main(["--debug", "plot", run, "--out", "/proc/1/c.png"])
    assert str(caught.value) == "--out /proc/1/c.png: not writable"


def test_a_setting_json_cannot_write_is_shown_as_text() -> None:
    def run(data: object, seed: int = 0) -> plots.RunCurves:
        columns = {"x": np.array([1.0, 2.0]), "optimal_fraction": np.array([0.5, 1.0])}
        return plots.RunCurves(Path("r"), "q_learning", "E-v0", seed, "steps", columns, {"data": data})

    curves, _ = plots.group_runs([run(Path("/d/a")), run({"a": 1, "b": [2, 3]})])
    assert list(curves) == ['q_learning on E-v0 [data="/d/a"]', 'q_learning on E-v0 [data={"a":1,"b":[2,3]}]']


def test_counts_are_plural_from_two(tmp_path: Path, figures: list, capsys) -> None:
    one = _run(tmp_path / "a", 0)
    two = tmp_path / "b"
    two.mkdir()
    config = {"family": "tabular", "algo": "sarsa", "env_id": "rlsuite/GridWorld-v0", "seed": 0, "config": {}}
    (two / "config.json").write_text(json.dumps(config))
    (two / "metrics.csv").write_text("steps,optimal_fraction\n100,0.25\n200,0.5\n")
    (tmp_path / "a" / "metrics.csv").write_text("steps,optimal_fraction\n100,0.25\n")
    assert main(["plot", one, str(two), "--out", str(tmp_path / "c.png")]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{tmp_path / 'c.png'}: 2 curves",
                                                    "  q_learning on rlsuite/GridWorld-v0: 1 point",
                                                    "  sarsa on rlsuite/GridWorld-v0: 2 points"]  # fmt: skip


def test_plot_help_lines() -> None:
    import argparse

    from rlsuite.app.cli import build_parser

    (sub,) = [a for a in build_parser("plot")._actions if isinstance(a, argparse._SubParsersAction)]
    (listed,) = [a for a in sub._choices_actions if a.dest == "plot"]
    assert listed.help == "learning curves of run folders (runs of one config: mean over seeds, 95%% bootstrap CI band)"
    (runs,) = [a for a in sub.choices["plot"]._actions if a.dest == "runs"]
    assert (runs.metavar, runs.help, runs.nargs) == ("RUN", "run folders of rlsuite train", "+")


def _curves(seed: int, x_name: str = "steps", n: int = 2) -> plots.RunCurves:
    columns = {"x": np.arange(1.0, n + 1), "optimal_fraction": np.linspace(0.1, 0.9, n) * (seed + 1) / 3}
    return plots.RunCurves(Path("r"), "q_learning", "E-v0", seed, x_name, columns, {})


def test_runs_of_one_config_in_two_units_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^q_learning on E-v0: its runs count their budget in different units; plot"):
        plots.group_runs([_curves(0), _curves(1, "episodes")])


def test_labels_count_seeds_and_runs() -> None:
    curves, bands = plots.group_runs([_curves(0), _curves(0)])
    assert list(curves) == ["q_learning on E-v0 (1 seed, 2 runs: mean)"] and bands == {}
    curves, bands = plots.group_runs([_curves(0), _curves(1), _curves(1)])
    assert list(curves) == [f"q_learning on E-v0 (2 seeds, 3 runs: mean, band {plots.BAND})"]
    assert list(bands) == list(curves)


def test_the_band_is_the_bootstrap_at_every_column_up_to_100() -> None:
    from rlsuite.common.stats import stratified_bootstrap

    stacked = np.random.default_rng(3).normal(size=(4, 100))
    for seed in (0, 5):
        low, high = plots.mean_band(stacked, seed=seed) if seed else plots.mean_band(stacked)
        for j in (0, 1, 37, 99):
            _, want_low, want_high = stratified_bootstrap(stacked[:, j], np.mean, n_resamples=1000, seed=seed)
            assert (low[j], high[j]) == (want_low, want_high)


def test_out_not_writable_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same refusal where /proc/1 is writable (root in a container): os.access says no for one folder."""
    run = _run(tmp_path / "a", 0)
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode))
    with pytest.raises(ConfigError) as caught:
        main(["--debug", "plot", run, "--out", str(locked / "c.png")])
    assert str(caught.value) == f"--out {locked / 'c.png'}: not writable"
    assert (caught.value.field, caught.value.value) == ("out", str(locked / "c.png"))


def _sb3_run(folder: Path, meta: dict, **arrays: np.ndarray) -> Path:
    (folder / "eval").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"family": "sb3", "algo": "ppo", "env_id": "E-v0", **meta}))
    np.savez(folder / "eval" / "evaluations.npz", **arrays)
    return folder


def _same(curves: plots.RunCurves, identity: tuple, columns: dict[str, list[float]]) -> None:
    """The run's folder, algorithm, env, seed and x unit, and its columns in order with their values."""
    assert (curves.run_dir, curves.algo, curves.env_id, curves.seed, curves.x_name) == identity
    assert list(curves.columns) == list(columns)
    for name, values in columns.items():
        np.testing.assert_array_equal(curves.columns[name], values)


def test_an_sb3_run_reads_as_its_evaluations_over_timesteps(tmp_path: Path) -> None:
    meta = {"budget": 3000, "env_kwargs": {"size": 4}, "config": {"gamma": 0.9, "device": "cpu"}}  # no seed: 0
    run = _sb3_run(tmp_path / "r", meta, timesteps=np.array([1000, 2000]), results=np.array([[1, 2], [3, 5]]))
    curves = plots.read_run(run)
    _same(curves, (run, "ppo", "E-v0", 0, "timesteps"), {"x": [1000.0, 2000.0], "eval_return": [1.5, 4.0]})
    assert curves.settings == {"env_kwargs": {"size": 4}, "budget": 3000, "gamma": 0.9}  # not the device
    assert plots.read_run(_sb3_run(tmp_path / "s", {"seed": 7}, timesteps=np.array([1]),
                                   results=np.array([[0.0]]))).seed == 7  # fmt: skip


def test_an_sb3_run_without_evaluations_reads_as_its_rollout_returns(tmp_path: Path) -> None:
    """progress.csv's mean episode return over timesteps, rows without a finished episode (empty cells) left out;
    both columns are needed."""
    run = tmp_path / "r"
    run.mkdir()
    meta = {"family": "sb3", "algo": "a2c", "env_id": "E-v0", "seed": 4, "budget": 300, "config": {"gamma": 0.9}}
    (run / "config.json").write_text(json.dumps(meta))
    (run / "progress.csv").write_text("time/total_timesteps,rollout/ep_rew_mean\n100,\n200,1.5\n300,2.5\n")
    curves = plots.read_run(run)
    _same(curves, (run, "a2c", "E-v0", 4, "timesteps"), {"x": [200.0, 300.0], "episode_return": [1.5, 2.5]})
    assert curves.settings == {"env_kwargs": {}, "budget": 300, "gamma": 0.9}
    for header in ("time/total_timesteps,x", "x,rollout/ep_rew_mean"):
        (run / "progress.csv").write_text(f"{header}\n100,1\n")
        with pytest.raises(plots.ModelFolderError) as caught:
            plots.read_run(run)
        assert str(caught.value) == f"{run}: no learning curve found (metrics.csv, eval/evaluations.npz, progress.csv)"


def test_a_tabular_run_reads_as_its_metrics(tmp_path: Path) -> None:
    run = Path(_run(tmp_path / "a", 2))
    curves = plots.read_run(run)
    _same(curves, (run, "q_learning", "rlsuite/GridWorld-v0", 2, "steps"),
          {"x": [100, 200, 300], "optimal_fraction": [0.2, 0.5, 0.8]})  # fmt: skip


def test_an_sb3_evaluations_file_holding_pickled_objects_is_refused(tmp_path: Path) -> None:
    objects = np.array([{"a": 1}, None], dtype=object)
    run = _sb3_run(tmp_path / "r", {}, timesteps=objects, results=np.array([[1.0], [2.0]]))
    with pytest.raises(plots.ModelFolderError, match=r"evaluations\.npz: unreadable \(Object arrays cannot be loaded"):
        plots.read_run(run)


def test_plot_takes_no_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--config: unknown setting 'config'"):
        main(["--debug", "plot", _run(tmp_path / "a", 0), "--config", "ppo", "--out", str(tmp_path / "c.png")])


def test_the_value_heat_map_to_the_letter(tmp_path: Path, figures: list) -> None:
    from types import SimpleNamespace

    grid = SimpleNamespace(n_rows=2, n_cols=3)
    values = [0, 1, 5, 3, 4, 10]  # integers: drawn as floats
    plots.plot_value_heatmap(grid, values, tmp_path / "v.png", "title")
    (fig,) = figures
    assert tuple(fig.get_size_inches()) == pytest.approx((0.9 * 3 + 2.2, 0.9 * 2 + 1.0))
    ax = fig.axes[0]
    (image,) = ax.get_images()
    assert image.get_cmap().name == "viridis" and image.get_array().dtype == np.float64
    texts = [
        (t.get_position(), t.get_text(), t.get_color(), t.get_fontsize(), t.get_ha(), t.get_va()) for t in ax.texts
    ]
    # the middle of the range is 5: above it black on the bright end of viridis, else (5 too) white
    assert texts == [((c, r), f"{values[3 * r + c]:.1f}", "black" if values[3 * r + c] > 5 else "white", 8.0, "center",
                      "center") for r in range(2) for c in range(3)]  # fmt: skip
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "2"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title(), ax.title.get_fontsize()) == (
        "column",
        "row",
        "title",
        9.0,
    )
    assert fig.axes[1].get_ylabel() == "state value v(s)  (discounted return)"
    np.testing.assert_array_equal(image.get_array(), [[0.0, 1.0, 5.0], [3.0, 4.0, 10.0]])


@pytest.mark.parametrize(("rows", "cols", "written"), [(20, 20, True), (1, 401, False), (401, 1, False)])
def test_values_are_written_in_up_to_400_cells(tmp_path: Path, figures: list, rows: int, cols: int,
                                               written: bool) -> None:  # fmt: skip
    from types import SimpleNamespace

    plots.plot_value_heatmap(SimpleNamespace(n_rows=rows, n_cols=cols), np.arange(rows * cols), tmp_path / "v.png", "t")
    assert len(figures[0].axes[0].texts) == (rows * cols if written else 0)


def test_history_curves_plot_every_metric_after_the_x_column() -> None:
    """The first column is x; each later column that is a known metric is a curve (the one right after x too)."""
    from rlsuite.agents.base import History

    history = History()
    history.log(episode=1, value_error=3.0, alpha=0.5, optimal_fraction=0.2)
    history.log(episode=2, value_error=1.0, alpha=0.5, optimal_fraction=0.6)
    x_name, curves = plots.history_curves(history)
    assert x_name == "episode" and list(curves) == ["x", "value_error", "optimal_fraction"]
    assert {k: v.tolist() for k, v in curves.items()} == {
        "x": [1.0, 2.0], "value_error": [3.0, 1.0], "optimal_fraction": [0.2, 0.6]}  # fmt: skip


def test_the_learning_curves_to_the_letter(tmp_path: Path, figures: list) -> None:
    """One panel per metric, stacked on a shared x axis, 7 inches wide and 2.8 tall per panel (+0.8); each curve
    one colour in every panel, drawn only where it has the metric (a curve without it is passed over, not an end);
    points marked on curves of up to 20 evaluations."""
    from matplotlib.colors import to_rgba

    x20, x21 = np.arange(20.0), np.arange(21.0)
    curves = {
        "a": {"x": x20, "value_error": x20 + 1},
        "b": {"x": x21, "optimal_fraction": x21 / 21},
        "c": {"x": x20, "value_error": x20 + 2, "optimal_fraction": x20 / 20},
    }
    low, high = x20 + 1.5, x20 + 3.0
    plots.plot_learning_curve(curves, "steps", tmp_path / "c.png", "three", {"c": {"value_error": (low, high)}})
    (fig,) = figures
    assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 2.8 * 2 + 0.8))
    errors, fractions = fig.axes
    assert errors.get_shared_x_axes().joined(errors, fractions)
    assert [line.get_label() for line in errors.lines] == ["a", "c"]
    assert [line.get_label() for line in fractions.lines] == ["b", "c"]
    drawn = [(line.get_color(), line.get_linewidth(), line.get_marker(), line.get_markersize())
             for ax in fig.axes for line in ax.lines]  # fmt: skip
    assert drawn == [("C0", 1.4, "o", 3.0), ("C2", 1.4, "o", 3.0), ("C1", 1.4, "", 3.0), ("C2", 1.4, "o", 3.0)]
    (band,) = errors.collections  # c's band, in c's colour, faint and without an edge
    assert band.get_facecolor().tolist() == [list(to_rgba("C2", 0.2))] and band.get_linewidth().tolist() == [0.0]
    corners = band.get_paths()[0].vertices
    assert (corners[:, 0].min(), corners[:, 0].max(), corners[:, 1].min(), corners[:, 1].max()) == (0, 19, 1.5, 22)
    assert not fractions.collections
    assert (errors.get_yscale(), fractions.get_yscale()) == ("log", "linear")  # errors all > 0: a log scale
    assert errors.yaxis.label.get_fontsize() == 8 == fractions.yaxis.label.get_fontsize()
    assert [line.get_alpha() for ax in fig.axes for line in ax.yaxis.get_gridlines()[:1]] == [0.3, 0.3]
    assert (fractions.get_xlabel(), fig.texts[0].get_text(), fig.texts[0].get_fontsize()) == (
        "env steps (all copies)", "three", 10.0)  # fmt: skip
    legend = fractions.get_legend()  # below the bottom panel, one column, small, no frame
    assert [text.get_text() for text in legend.get_texts()] == ["a", "c", "b"]
    assert (legend._loc, legend._ncols, legend.get_frame_on(), legend.get_texts()[0].get_fontsize()) == (9, 1, False, 8)
    assert legend.get_bbox_to_anchor().bounds[:2] == tuple(fractions.transAxes.transform((0.5, -0.3)))
    plots.plot_learning_curve({"d": {"x": x20, "value_error": x20}}, "widgets", tmp_path / "c.png", "one zero")
    assert figures[1].axes[0].get_yscale() == "linear"  # an error of 0 has no place on a log scale
    assert figures[1].axes[0].get_xlabel() == "widgets"  # an x column without a label of its own: its name


def test_a_run_folders_figures_name_their_files_and_titles(tmp_path: Path, figures: list, monkeypatch) -> None:
    """The learning curve always; on a grid world with values also the heat map and the values with the greedy
    policy (plot_grid, handed both); without an env (or values) the learning curve alone."""
    import gymnasium as gym

    import rlsuite.envs.plotting as env_plotting

    grid = Spy()
    monkeypatch.setattr(env_plotting, "plot_grid", grid)
    env = gym.make("rlsuite/GridWorld-v0")
    values, policy = np.arange(25.0), np.eye(5)[np.zeros(25, dtype=int)]
    curves = {"x": np.arange(3.0), "value_error": np.ones(3)}
    paths = plots.write_run_plots(tmp_path, "steps", curves, "q on grid", env=env, values=values, policy=policy)
    assert paths == [tmp_path / "learning_curve.png", tmp_path / "values_heatmap.png", tmp_path / "policy.png"]
    curve, heatmap = figures
    assert (curve.texts[0].get_text(), heatmap.axes[0].get_title()) == ("q on grid", "q on grid: state values")
    assert grid.calls == [((env.unwrapped,), {"values": values, "policy": policy, "path": tmp_path / "policy.png",
                                              "title": "q on grid: values and greedy policy"})]  # fmt: skip
    assert plots.write_run_plots(tmp_path, "steps", curves, "q", values=values) == [tmp_path / "learning_curve.png"]
    assert plots.write_run_plots(tmp_path, "steps", curves, "q", env=env) == [tmp_path / "learning_curve.png"]
    assert len(grid.calls) == 1
