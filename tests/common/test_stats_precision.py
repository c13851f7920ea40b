"""Statistics in double precision whatever the scores' dtype, and summarize's documented defaults."""

from __future__ import annotations

import numpy as np

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
    seeded = stats.summarize({"a": scores}, n_resamples=50, confidence=0.8, seed=5)
    assert seeded["a"]["iqm"] == stats.Interval(*stats.stratified_bootstrap(scores, stats.iqm, 50, 0.8, 5))
    assert seeded["a"]["iqm"] != stats.Interval(*stats.stratified_bootstrap(scores, stats.iqm, 50, 0.8, 0))
    assert set(seeded["a"]) == {"mean", "median", "iqm"}
