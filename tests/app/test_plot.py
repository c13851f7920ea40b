"""`rlsuite plot` and the run-folder figures: separate labelled panels, runs grouped by their full config,
seeds as a mean and a 95% bootstrap confidence band of that mean."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlsuite.app.cli import main
from rlsuite.app.plots import METRICS, group_runs, plot_learning_curve, read_run


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("runs")
    runs = []
    for seed in (0, 1):
        run = root / f"q{seed}"
        assert main(["train", "q_learning", "--budget", "51200", "--seed", str(seed), "--out", str(run),
                     "--log_every", "20"]) == 0  # fmt: skip
        runs.append(run)
    return runs


def test_plot_two_seeds_draws_their_mean_and_band(two_seeds: list[Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "curves.png"
    assert main(["plot", *map(str, two_seeds), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    label = "q_learning on rlsuite/GridWorld-v0 (2 seeds: mean, band 95% bootstrap CI of the mean)"
    assert capsys.readouterr().out.splitlines() == [f"{out}: 1 curve", f"  {label}: 10 points"]
    runs = [read_run(r) for r in two_seeds]
    curves, bands = group_runs(runs)
    (label,) = curves
    mean = (runs[0].columns["value_error"] + runs[1].columns["value_error"]) / 2
    np.testing.assert_allclose(curves[label]["value_error"], mean)
    low, high = bands[label]["optimal_fraction"]
    a, b = runs[0].columns["optimal_fraction"], runs[1].columns["optimal_fraction"]
    # two seeds: a resampled mean is a, b or their mean with chances 1/4, 1/4, 1/2, so the 2.5% and 97.5%
    # quantiles of the bootstrap distribution are the two seeds' values
    np.testing.assert_array_equal(low, np.minimum(a, b))
    np.testing.assert_array_equal(high, np.maximum(a, b))
    assert not np.array_equal(a, b)  # the seeds differ: the band has a width


def test_learning_curve_puts_each_metric_on_its_own_labelled_axis(tmp_path: Path, monkeypatch) -> None:
    import rlsuite.app.plots as plots

    saved = {}
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: saved.setdefault("fig", fig) and Path(path))
    x = np.arange(1, 11) * 100.0
    curves = {"a": {"x": x, "value_error": 1 / x, "optimal_fraction": x / 1000}, "b": {"x": x, "value_error": 2 / x}}
    plot_learning_curve(curves, "steps", tmp_path / "c.png", "two runs")
    axes = saved["fig"].axes
    assert [ax.get_ylabel() for ax in axes] == [METRICS["value_error"][0], METRICS["optimal_fraction"][0]]
    assert axes[0].get_yscale() == "log" and axes[1].get_yscale() == "linear"
    assert axes[-1].get_xlabel() == "env steps (all copies)"
    assert saved["fig"].texts[0].get_text() == "two runs"
    legend = axes[-1].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b"]
    box, ax_box = legend.get_window_extent(), axes[-1].get_window_extent()
    assert box.y1 <= ax_box.y0  # below the panels: it covers no data
    # one colour per run in every panel
    assert axes[0].lines[0].get_color() == axes[1].lines[0].get_color() != axes[0].lines[1].get_color()


def test_run_folder_figures_are_labelled(tmp_path: Path, monkeypatch) -> None:
    import rlsuite.app.plots as plots

    figs = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: figs.append(fig) or Path(path))
    assert main(["train", "value_iteration", "--out", str(tmp_path / "vi")]) == 0
    curve, heat = figs
    assert [ax.get_ylabel() for ax in curve.axes] == [METRICS["value_error"][0], METRICS["optimal_fraction"][0]]
    assert curve.axes[-1].get_xlabel() == "iterations"
    image_ax, bar_ax = heat.axes
    assert bar_ax.get_ylabel() == "state value v(s)  (discounted return)"
    assert (image_ax.get_xlabel(), image_ax.get_ylabel()) == ("column", "row")
    assert image_ax.get_title() == "value_iteration on rlsuite/GridWorld-v0: state values"
    assert (tmp_path / "vi" / "policy.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plot", "nowhere"], "nowhere: not a run folder (no such folder)"),
        (["plot", "RUN", "--out", "curves.jpg"], "--out curves.jpg: the figure is a PNG"),
    ],
)
def test_plot_bad_input_is_one_line(two_seeds: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    argv: list[str], message: str) -> None:  # fmt: skip
    argv = [str(two_seeds[0]) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_plot_reads_sb3_run_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SB3 run folders: EvalCallback's eval/evaluations.npz, else SB3's progress.csv."""
    import json

    for seed in (0, 1):
        run = tmp_path / f"ppo{seed}"
        (run / "eval").mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"family": "sb3", "algo": "ppo", "env_id": "E-v0", "seed": seed}))
        np.savez(run / "eval" / "evaluations.npz", timesteps=np.array([1000, 2000, 3000]),
                 results=np.array([[1.0, 3.0], [4.0, 6.0], [7.0, 9.0]]) + seed)  # fmt: skip
    dqn = tmp_path / "dqn"
    dqn.mkdir()
    (dqn / "config.json").write_text(json.dumps({"family": "sb3", "algo": "dqn", "env_id": "E-v0", "seed": 0}))
    (dqn / "progress.csv").write_text("time/total_timesteps,rollout/ep_rew_mean,train/loss\n"
                                      "500,,0.5\n1000,0.25,0.4\n2000,0.75,0.3\n")  # fmt: skip
    runs = [read_run(tmp_path / name) for name in ("ppo0", "ppo1", "dqn")]
    np.testing.assert_array_equal(runs[1].columns["eval_return"], [3.0, 6.0, 9.0])  # the mean over episodes
    np.testing.assert_array_equal(runs[2].columns["x"], [1000, 2000])  # rows without an episode return skipped
    curves, bands = group_runs(runs)
    label = "ppo on E-v0 (2 seeds: mean, band 95% bootstrap CI of the mean)"
    np.testing.assert_array_equal(curves[label]["eval_return"], [2.5, 5.5, 8.5])
    np.testing.assert_array_equal(bands[label]["eval_return"][0], [2.0, 5.0, 8.0])
    np.testing.assert_array_equal(bands[label]["eval_return"][1], [3.0, 6.0, 9.0])
    out = tmp_path / "sb3.png"
    assert main(["plot", str(tmp_path / "ppo0"), str(tmp_path / "ppo1"), str(dqn), "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def _tabular_run(folder: Path, seed: int, epsilon: float, values: list[float], env_kwargs: dict | None = None) -> Path:
    import json

    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({
        "family": "tabular", "algo": "q_learning", "env_id": "rlsuite/GridWorld-v0", "env_kwargs": env_kwargs or {},
        "seed": seed, "budget": 300, "config": {"epsilon": epsilon, "alpha": 0.1, "device": "cpu"}}))  # fmt: skip
    rows = "".join(f"{100 * (i + 1)},{v}\n" for i, v in enumerate(values))
    (folder / "metrics.csv").write_text("steps,optimal_fraction\n" + rows)
    return folder


def test_plot_groups_runs_by_their_full_config_and_counts_distinct_seeds(tmp_path: Path) -> None:
    runs = [read_run(_tabular_run(tmp_path / "a", 0, 0.1, [0.2, 0.4, 0.6])),
            read_run(_tabular_run(tmp_path / "b", 0, 0.5, [0.1, 0.1, 0.1])),
            read_run(_tabular_run(tmp_path / "c", 1, 0.1, [0.4, 0.6, 0.8])),
            read_run(_tabular_run(tmp_path / "d", 0, 0.1, [0.3, 0.3, 0.3], {"r_forbidden": -10}))]  # fmt: skip
    curves, bands = group_runs(runs)
    # seeds {0, 0, 1} with two epsilons are not "3 seeds": two groups, and the labels say what differs
    base = "q_learning on rlsuite/GridWorld-v0"
    assert list(curves) == [
        f'{base} [env_kwargs={{}}, epsilon=0.1] (2 seeds: mean, band 95% bootstrap CI of the mean)',
        f"{base} [env_kwargs={{}}, epsilon=0.5]",
        f'{base} [env_kwargs={{"r_forbidden":-10}}, epsilon=0.1]',
    ]
    first = curves[next(iter(curves))]
    np.testing.assert_allclose(first["optimal_fraction"], [0.3, 0.5, 0.7])
    assert list(bands) == [next(iter(curves))]  # one seed: no band


def test_labels_round_their_settings_and_a_lone_point_is_drawn(tmp_path: Path, monkeypatch) -> None:
    import rlsuite.app.plots as plots

    runs = [read_run(_tabular_run(tmp_path / "a", 0, 0.43646235758853313, [0.2])),  # a tuned trial's epsilon
            read_run(_tabular_run(tmp_path / "b", 0, 0.1, [0.1, 0.3]))]  # fmt: skip
    curves, bands = group_runs(runs)
    base = "q_learning on rlsuite/GridWorld-v0"
    assert list(curves) == [f"{base} [epsilon=0.4365]", f"{base} [epsilon=0.1]"]
    drawn = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: drawn.append(fig))
    plots.plot_learning_curve(curves, "steps", tmp_path / "c.png", "learning curves", bands)
    lines = drawn[0].axes[0].get_lines()
    assert [len(line.get_xdata()) for line in lines] == [1, 2] and {line.get_marker() for line in lines} == {"o"}


def test_the_band_is_a_confidence_interval_of_the_mean_not_the_spread(tmp_path: Path) -> None:
    from rlsuite.app.plots import mean_band

    seeds = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])  # mean 3.2
    low, high = mean_band(seeds)
    assert 0.0 < low[0] < 3.2 < high[0] < 10.0  # narrower than min-max (0, 10), around the mean
    same = mean_band(np.full((4, 3), 0.5))
    np.testing.assert_array_equal(same[0], [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(same[1], [0.5, 0.5, 0.5])
