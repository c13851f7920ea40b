"""Aggregate statistics over seeds, as deep-RL research now reports them (Agarwal et al. 2021, rliable).

Scores come as an array ``[runs, tasks]`` per method (one column when there is one task). Point
estimates: mean, median, IQM (the interquartile mean: the mean of the middle 50% of all scores) and the
optimality gap (the mean shortfall below a target, ``mean(max(target - x, 0))``). Intervals: the
stratified bootstrap, which resamples runs with replacement within each task and takes the percentile
interval of the statistic, rliable's default. Beside them, the probability of improvement
``P(X > Y)`` of one method over another (the Mann-Whitney statistic, ties counted half) and performance
profiles (the fraction of runs scoring above each threshold).

Everything here is numpy, seeded by the caller's ``seed``; the bootstrap agrees with
``scipy.stats.bootstrap(..., method="percentile")`` and with rliable's ``get_interval_estimates`` on the
same scores (tests/common/test_stats.py compares with scipy's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

Statistic = Callable[[np.ndarray], float]


def _scores(x: np.ndarray | list[float]) -> np.ndarray:
    """Scores as a float array [runs, tasks]: a 1-D array is one task."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"scores must be [runs] or [runs, tasks] with at least one run, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("scores must be finite (a run that failed has no score: leave it out)")
    return a


def iqm(x: np.ndarray) -> float:
    """The interquartile mean of all scores: the mean of those between the 25th and 75th percentile,
    trimming 25% of the sorted values at each end (``scipy.stats.trim_mean(x, 0.25)``)."""
    flat = np.sort(np.asarray(x, dtype=np.float64).ravel())
    cut = int(0.25 * flat.size)
    return float(flat[cut : flat.size - cut].mean())


def optimality_gap(x: np.ndarray, target: float = 1.0) -> float:
    """The mean shortfall below ``target`` (scores above it count as 0)."""
    return float(np.mean(np.maximum(target - np.asarray(x, dtype=np.float64), 0.0)))


def aggregates(target: float | None = None) -> dict[str, Statistic]:
    """The point estimates by name; the optimality gap only where the score has a ``target``."""
    stats: dict[str, Statistic] = {
        "mean": lambda x: float(np.mean(x)),
        "median": lambda x: float(np.median(x)),
        "iqm": iqm,
    }
    if target is not None:
        stats["optimality_gap"] = lambda x: optimality_gap(x, target)
    return stats


def stratified_bootstrap(
    scores: np.ndarray | list[float],
    statistic: Statistic,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(point, low, high)``: the statistic of ``scores`` [runs, tasks] and its percentile interval over
    ``n_resamples`` stratified bootstrap resamples (runs drawn with replacement within each task)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples!r}")
    a = _scores(scores)
    runs, tasks = a.shape
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, runs, size=(n_resamples, runs, tasks))
    resampled = np.take_along_axis(a[None, :, :], idx, axis=1)
    values = np.array([statistic(r) for r in resampled])
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return statistic(a), float(low), float(high)


def probability_of_improvement(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> float:
    """``P(X > Y)``: the chance that a run of X scores above a run of Y on the same task (ties count half),
    averaged over tasks."""
    a, b = _scores(x), _scores(y)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x and y must cover the same tasks, got {a.shape[1]} and {b.shape[1]}")
    per_task = []
    for t in range(a.shape[1]):
        diff = a[:, t][:, None] - b[:, t][None, :]
        per_task.append(float(np.mean((diff > 0) + 0.5 * (diff == 0))))
    return float(np.mean(per_task))


def probability_of_improvement_ci(
    x: np.ndarray | list[float], y: np.ndarray | list[float], n_resamples: int = 2000, confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:  # fmt: skip
    """:func:`probability_of_improvement` and its interval, X's and Y's runs resampled independently."""
    a, b = _scores(x), _scores(y)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_resamples):
        ia = rng.integers(0, a.shape[0], size=a.shape)
        ib = rng.integers(0, b.shape[0], size=b.shape)
        values.append(probability_of_improvement(np.take_along_axis(a, ia, 0), np.take_along_axis(b, ib, 0)))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return probability_of_improvement(a, b), float(low), float(high)


def performance_profile(scores: np.ndarray | list[float], thresholds: np.ndarray) -> np.ndarray:
    """The fraction of runs (over every task) whose score is above each threshold."""
    a = _scores(scores)
    return np.array([float(np.mean(a > tau)) for tau in np.asarray(thresholds, dtype=np.float64)])


@dataclass
class Interval:
    """A point estimate with its confidence interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


def summarize(
    scores: Mapping[str, np.ndarray | list[float]],
    target: float | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, Interval]]:
    """Per method, every aggregate of :func:`aggregates` with its stratified bootstrap interval."""
    return {
        method: {name: Interval(*stratified_bootstrap(x, fn, n_resamples, confidence, seed))
                 for name, fn in aggregates(target).items()}
        for method, x in scores.items()
    }  # fmt: skip
