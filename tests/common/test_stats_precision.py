"""Statistics in double precision whatever the scores' dtype, and summarize's documented defaults."""

from __future__ import annotations

import numpy as np
import pytest

from rlsuite.common import stats


def test_optimality_gap_of_float32_scores_is_computed_in_float64() -> None:
    scores = np.array([0.1, 0.3], dtype=np.float32)
    expected = ((1.0 - float(scores[0])) + (1.0 - float(scores[1]))) / 2
    assert stats.optimality_gap(scores, 1.0) == expected


def test_summarize_is_the_bootstrap_of_each_aggregate_with_2000_resamples_seed_0() -> None:
    scores = np.array([[0.1, 0.9], [0.4, 0.2], [0.8, 0.5], [0.3, 0.7]])
    summary = stats.summarize({"a": scores}, target=1.0)
    for name, fn in stats.aggregates(1.0).items():
        expected = stats.stratified_bootstrap(scores, fn, n_resamples=2000, confidence=0.95, seed=0)
        assert summary["a"][name].as_dict() == dict(zip(("value", "low", "high"), expected, strict=True))
    many = [(0.37 * i) % 1 for i in range(30)]  # many distinct IQMs: one more resample moves the interval
    assert stats.summarize({"b": many})["b"]["iqm"] == stats.Interval(*stats.stratified_bootstrap(many, stats.iqm))
    assert stats.summarize({"b": many})["b"]["iqm"] != stats.Interval(
        *stats.stratified_bootstrap(many, stats.iqm, n_resamples=2001)
    )
    seeded = stats.summarize({"a": scores}, n_resamples=50, confidence=0.8, seed=5)
    assert seeded["a"]["iqm"] == stats.Interval(*stats.stratified_bootstrap(scores, stats.iqm, 50, 0.8, 5))
    assert seeded["a"]["iqm"] != stats.Interval(*stats.stratified_bootstrap(scores, stats.iqm, 50, 0.8, 0))
    assert set(seeded["a"]) == {"mean", "median", "iqm"}


def test_probability_of_improvement_interval_resamples_every_run_of_each_method() -> None:
    # one method's two runs score 0 and 1, the other's one run 0.5: a resample's P(X > Y) is 0, 0.5 or 1
    # with chances 1/4, 1/2, 1/4, so the 95% interval spans [0, 1] and the 40% interval is the middle, 0.5
    assert stats.probability_of_improvement_ci([0.0, 1.0], [0.5]) == (0.5, 0.0, 1.0)
    assert stats.probability_of_improvement_ci([0.5], [0.0, 1.0]) == (0.5, 0.0, 1.0)
    assert stats.probability_of_improvement_ci([0.0, 1.0], [0.5], confidence=0.4) == (0.5, 0.5, 0.5)


def test_probability_of_improvement_interval_is_seeded_with_2000_resamples_by_default() -> None:
    x, y = [(0.37 * i) % 1 for i in range(30)], [(0.29 * i + 0.1) % 1 for i in range(30)]  # many distinct P
    first = stats.probability_of_improvement_ci(x, y)
    assert first == stats.probability_of_improvement_ci(x, y, n_resamples=2000, confidence=0.95, seed=0)
    assert first != stats.probability_of_improvement_ci(x, y, n_resamples=2000, confidence=0.95, seed=1)
    assert first != stats.probability_of_improvement_ci(x, y, n_resamples=2001, confidence=0.95, seed=0)


def test_iqm_of_float32_scores_is_computed_in_float64() -> None:
    scores = np.array([0.7, 0.1, 0.3, 0.2], dtype=np.float32)  # the middle half: 0.2 and 0.3
    assert stats.iqm(scores) == (float(scores[3]) + float(scores[2])) / 2


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_bootstrap_confidence_must_lie_strictly_between_0_and_1(confidence: float) -> None:
    with pytest.raises(ValueError) as err:
        stats.stratified_bootstrap([0.0, 1.0], stats.iqm, confidence=confidence)
    assert str(err.value) == f"confidence must lie in (0, 1), got {confidence!r}"


def test_bootstrap_takes_one_resample_but_not_zero() -> None:
    assert stats.stratified_bootstrap([0.5, 0.5], stats.iqm, n_resamples=1) == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError) as err:
        stats.stratified_bootstrap([0.5, 0.5], stats.iqm, n_resamples=0)
    assert str(err.value) == "n_resamples must be at least 1, got 0"


def test_bootstrap_interval_is_the_percentile_interval() -> None:
    mean = stats.aggregates()["mean"]  # resampled means of runs 0 and 1: 0, 0.5, 1 with chances 1/4, 1/2, 1/4
    assert stats.stratified_bootstrap([0.0, 1.0], mean) == (0.5, 0.0, 1.0)
    assert stats.stratified_bootstrap([0.0, 1.0], mean, confidence=0.4) == (0.5, 0.5, 0.5)


def test_bootstrap_is_seeded_with_2000_resamples_by_default() -> None:
    scores = [(0.37 * i) % 1 for i in range(30)]
    first = stats.stratified_bootstrap(scores, stats.iqm)
    assert first == stats.stratified_bootstrap(scores, stats.iqm, n_resamples=2000, confidence=0.95, seed=0)
    assert first != stats.stratified_bootstrap(scores, stats.iqm, n_resamples=2000, confidence=0.95, seed=1)
    assert first != stats.stratified_bootstrap(scores, stats.iqm, n_resamples=2001, confidence=0.95, seed=0)


def test_scores_are_float64_and_finite() -> None:
    scores = np.array([0.1, 0.2, 0.4], dtype=np.float32)
    mean = stats.aggregates()["mean"]
    point, _, _ = stats.stratified_bootstrap(scores, mean, n_resamples=1)
    assert point == (float(scores[0]) + float(scores[1]) + float(scores[2])) / 3
    with pytest.raises(ValueError) as err:
        stats.stratified_bootstrap([0.1, float("nan")], mean)
    assert str(err.value) == "scores must be finite (a run that failed has no score: leave it out)"


def test_the_optimality_gap_aggregate_uses_the_target() -> None:
    assert stats.aggregates(target=2.0)["optimality_gap"](np.array([1.0, 3.0])) == 0.5
