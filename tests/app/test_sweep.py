"""``rlsuite sweep``: the grid, its checks before any cell starts, resuming, failures, the statistics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from rlsuite.app.cli import main
from rlsuite.app.sweep import SweepOptions, parse_grid, parse_seeds, plan, split_values
from rlsuite.common import stats
from rlsuite.common.errors import ConfigError, OutputDirError

BUDGET = "2560"  # q_learning steps: 10 batched steps of 256 envs


def test_seeds_ranges_and_lists() -> None:
    assert parse_seeds("0-4,9") == [0, 1, 2, 3, 4, 9]
    assert parse_seeds("3") == [3]
    assert parse_seeds("1,1,0-1") == [1, 0]


@pytest.mark.parametrize(("spec", "message"), [
    ("", "'' is not a seed or a range a-b of seeds"),
    ("5-2", "the range 5-2 is empty"),
    ("a-b", "'a-b' is not a seed"),
    ("-1", "'-1' is not a seed"),
])  # fmt: skip
def test_bad_seeds_are_one_line(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^--seeds {spec}: {message}"):
        parse_seeds(spec)


def test_grid_values_split_on_commas_outside_brackets() -> None:
    assert split_values("0.1,0.2") == ["0.1", "0.2"]
    assert split_values("[64,64],[32]") == ["[64,64]", "[32]"]
    assert parse_grid(["alpha=0.1,0.2", "epsilon=0.05"], None) == {"alpha": ["0.1", "0.2"], "epsilon": ["0.05"]}
    with pytest.raises(ConfigError, match=r"^--set alpha=: expected KEY=VALUE"):
        parse_grid(["alpha="], None)
    with pytest.raises(ConfigError, match="an empty value in the list"):
        parse_grid(["alpha=0.1,,0.2"], None)


def test_a_config_file_gives_grid_axes(tmp_path: Path) -> None:
    (tmp_path / "g.yaml").write_text("alpha: [0.1, 0.2]\nepsilon: 0.05\n")
    assert parse_grid(["alpha=0.3"], str(tmp_path / "g.yaml")) == {"alpha": ["0.3"], "epsilon": ["0.05"]}


@pytest.mark.parametrize(("algos", "grid", "message"), [
    (["q_learning"], {"nonsense": ["1"]}, "sweep cell q_learning with nonsense=1: "),
    (["q_learning", "n_step_sarsa"], {"n": ["3"]}, "sweep cell q_learning with n=3: "),
    (["q_learning"], {"alpha": ["0.1", "7"]}, "sweep cell q_learning with alpha=7: .*alpha.*7"),
    (["no_such_algo"], {}, "sweep cell no_such_algo: .*unknown algorithm"),
])  # fmt: skip
def test_every_cell_is_checked_by_trains_parser_before_any_starts(
    tmp_path: Path, algos: list[str], grid: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        plan(algos, grid, [0], SweepOptions(out=str(tmp_path / "s")))
    assert not (tmp_path / "s").exists()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "s"
    argv = ["sweep", "q_learning", "--set", "alpha=0.1,0.3", "--seeds", "0-1", "--budget", BUDGET,
            "--out", str(out), "--resamples", "200"]  # fmt: skip
    assert main(argv) == 0
    return out


def test_each_cell_is_a_finished_run_folder_and_the_report_aggregates_them(sweep: Path) -> None:
    cells = sorted(p.relative_to(sweep).as_posix() for p in sweep.glob("q_learning/*/seed*"))
    assert cells == ["q_learning/alpha=0.1/seed0", "q_learning/alpha=0.1/seed1",
                     "q_learning/alpha=0.3/seed0", "q_learning/alpha=0.3/seed1"]  # fmt: skip
    assert all((sweep / c / "finished.json").is_file() and (sweep / c / "agent.npz").is_file() for c in cells)
    results = json.loads((sweep / "results.json").read_text())
    group = results["metrics"]["optimal_fraction"]["groups"]["q_learning (alpha=0.3)"]
    finals = [json.loads((sweep / f"q_learning/alpha=0.3/seed{s}/finished.json").read_text())["final"]
              for s in (0, 1)]  # fmt: skip
    assert group["scores"] == [f["optimal_fraction"] for f in finals]
    scores = np.array(group["scores"])
    point, low, high = stats.stratified_bootstrap(scores, stats.iqm, n_resamples=200, seed=0)
    assert group["iqm"] == {"value": point, "low": low, "high": high}
    assert group["optimality_gap"]["value"] == pytest.approx(stats.optimality_gap(scores, 1.0))
    report = (sweep / "report.md").read_text()
    assert "| q_learning (alpha=0.3) | 2 | " in report and "## optimal_fraction (higher is better" in report
    assert {"aggregates.png", "sample_efficiency.png", "profiles.png"} <= {p.name for p in sweep.iterdir()}


def test_a_rerun_trains_nothing_and_another_sweep_is_refused(sweep: Path, capsys) -> None:
    stamp = (sweep / "q_learning/alpha=0.1/seed0/finished.json").stat().st_mtime_ns
    assert main(["sweep", "q_learning", "--set", "alpha=0.1,0.3", "--seeds", "0-1", "--budget", BUDGET,
                 "--out", str(sweep), "--resamples", "200"]) == 0  # fmt: skip
    assert (sweep / "q_learning/alpha=0.1/seed0/finished.json").stat().st_mtime_ns == stamp
    assert "4 of 4 cells finished" in capsys.readouterr().out
    with pytest.raises(OutputDirError, match=r"holds another sweep .*sweep\.json\); pass --overwrite"):
        from rlsuite.app.sweep import run_sweep

        run_sweep(["q_learning"], {"alpha": ["0.5"]}, SweepOptions(out=str(sweep), budget=int(BUDGET)))


@pytest.mark.slow
def test_a_failing_cell_is_reported_and_the_others_finish(tmp_path: Path, capsys) -> None:
    """A cell whose folder holds a symbolic link is refused by train; the sweep goes on and says so. The
    seeds of a sweep may grow: the second run adds seed 1 to the same sweep."""
    out = tmp_path / "s"
    base = ["sweep", "q_learning", "--budget", BUDGET, "--out", str(out), "--resamples", "200"]
    assert main([*base, "--seeds", "0"]) == 0
    bad = out / "q_learning" / "default" / "seed1"
    bad.mkdir(parents=True)
    os.symlink(tmp_path, bad / "link")
    capsys.readouterr()
    assert main([*base, "--seeds", "0-1"]) == 1
    assert "1 of 2 cells finished, 1 failed (see report.md)" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    status = {c["seed"]: c["status"] for c in results["cells"]}
    assert status == {0: "finished", 1: "failed"}
    assert "a symbolic link inside the output folder" in results["cells"][1]["error"]
    assert f"- {bad}: rlsuite: error: " in (out / "report.md").read_text()
    assert not (out / "finished.json").exists()
