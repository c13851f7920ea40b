"""Aggregate statistics (rlsuite.common.stats) against scipy's own functions on the same scores."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sp

from rlsuite.common import stats

SCORES = np.array([0.1, 0.9, 0.35, 0.8, 0.42, 0.77, 0.5, 0.95, 0.2, 0.66, 0.3])


def test_iqm_is_scipys_trimmed_mean_at_a_quarter() -> None:
    for n in (4, 7, 11, 40):
        x = np.random.default_rng(n).normal(size=n)
        assert stats.iqm(x) == pytest.approx(sp.trim_mean(x, 0.25))
    assert stats.iqm([1.0, 2.0, 3.0, 100.0]) == 2.5  # the outlier is trimmed


def test_optimality_gap_counts_only_the_shortfall() -> None:
    assert stats.optimality_gap([0.5, 1.0, 1.5], target=1.0) == pytest.approx(0.5 / 3)
    assert stats.optimality_gap([2.0, 3.0], target=1.0) == 0.0


@pytest.mark.parametrize("name", ["mean", "median", "iqm"])
def test_bootstrap_interval_agrees_with_scipys_percentile_bootstrap(name: str) -> None:
    fn = stats.aggregates()[name]
    point, low, high = stats.stratified_bootstrap(SCORES, fn, n_resamples=20000, seed=1)
    ref = sp.bootstrap((SCORES,), lambda x, axis=-1: np.apply_along_axis(fn, axis, x), n_resamples=20000,
                       method="percentile", random_state=2, vectorized=True)  # fmt: skip
    assert point == pytest.approx(fn(SCORES))
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.02)
    assert low <= point <= high


def test_stratified_bootstrap_resamples_within_each_task() -> None:
    """Two tasks on very different scales: each resample keeps one run count per task, so the mean over a
    resample always weighs the tasks equally and the interval stays between the task means' bounds."""
    scores = np.stack([np.linspace(0.0, 1.0, 6), np.linspace(100.0, 101.0, 6)], axis=1)
    point, low, high = stats.stratified_bootstrap(scores, stats.aggregates()["mean"], n_resamples=500)
    assert point == pytest.approx(50.5)
    assert 50.0 < low < point < high < 51.0


def test_probability_of_improvement_is_the_mann_whitney_statistic() -> None:
    x, y = np.array([0.5, 0.7, 0.7, 0.9]), np.array([0.4, 0.7, 0.8])
    u = sp.mannwhitneyu(x, y).statistic
    assert stats.probability_of_improvement(x, y) == pytest.approx(u / (len(x) * len(y)))
    assert stats.probability_of_improvement(x, x) == 0.5
    point, low, high = stats.probability_of_improvement_ci(x, y, n_resamples=300)
    assert point == pytest.approx(u / 12) and low <= point <= high


def test_performance_profile_counts_runs_above_each_threshold() -> None:
    assert stats.performance_profile([0.1, 0.5, 0.9, 0.9], np.array([0.0, 0.5, 0.9])).tolist() == [1.0, 0.5, 0.0]


@pytest.mark.parametrize(
    ("scores", "message"),
    [([], r"at least one run"), ([1.0, np.nan], "scores must be finite"), (np.zeros((2, 2, 2)), "shape")],
)
def test_bad_scores_are_refused_by_name(scores: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        stats.stratified_bootstrap(scores, stats.iqm)  # type: ignore[arg-type]


def test_summarize_gives_each_method_every_aggregate_with_an_interval() -> None:
    out = stats.summarize({"a": SCORES, "b": SCORES + 0.1}, target=1.0, n_resamples=200)
    assert set(out["a"]) == {"mean", "median", "iqm", "optimality_gap"}
    assert out["b"]["mean"].value == pytest.approx(out["a"]["mean"].value + 0.1)
    assert out["a"]["optimality_gap"].value == pytest.approx(stats.optimality_gap(SCORES))
