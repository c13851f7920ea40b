"""Stochastic approximation (Zhao ch. 6): incremental mean, Robbins-Monro, SGD / BGD / mini-batch GD.

Each function returns the whole trajectory of estimates so the convergence can be plotted.
All of them are vectorised over independent repetitions where that is useful (``reps``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rlsuite.common.config import Config, option


def incremental_mean(samples: np.ndarray) -> np.ndarray:
    """``w_{k+1} = w_k - (1/k) (w_k - x_k)``: the running mean, sample by sample.

    Args:
        samples: [n, ...] samples (any trailing shape: dimensions or repetitions).

    Returns:
        [n + 1, ...] estimates; ``w_1 = 0`` and ``w_{k+1}`` is the mean of the first k samples.
    """
    x = np.asarray(samples, dtype=float)
    w = np.zeros((x.shape[0] + 1, *x.shape[1:]))
    for k in range(1, x.shape[0] + 1):
        w[k] = w[k - 1] - (w[k - 1] - x[k - 1]) / k
    return w


def robbins_monro(
    g_noisy: Callable[[np.ndarray, np.random.Generator], np.ndarray],
    w1: float | np.ndarray,
    steps: int,
    rng: np.random.Generator,
    step_size: Callable[[int], float] = lambda k: 1.0 / k,
) -> np.ndarray:
    """Robbins-Monro root finding ``w_{k+1} = w_k - a_k g~(w_k)`` from noisy observations of g.

    Args:
        g_noisy: returns ``g(w) + noise`` for an array of estimates.
        w1: the initial estimate (an array runs independent repetitions at once).
        steps: iterations.
        rng: the noise generator.
        step_size: ``a_k`` (must satisfy sum a_k = inf, sum a_k^2 < inf: e.g. 1/k).

    Returns:
        [steps + 1, ...] estimates.
    """
    w = np.zeros((steps + 1, *np.shape(w1)))
    w[0] = w1
    for k in range(1, steps + 1):
        w[k] = w[k - 1] - step_size(k) * g_noisy(w[k - 1], rng)
    return w


@dataclass
class MeanEstimationConfig(Config):
    """Zhao's SGD/BGD/MBGD example: estimate E[X] of X uniform on a square from n samples."""

    n_samples: int = option(100, help="size of the data set", ge=1)
    half_width: float = option(10.0, help="X is uniform on [-h, h]^2 (mean 0)", gt=0.0)
    w1: tuple[float, float] = option((50.0, 50.0), help="initial estimate, far from the mean")
    iterations: int = option(30, help="iterations of each method", ge=1)


def gradient_mean_estimation(
    data: np.ndarray,
    w1: np.ndarray,
    iterations: int,
    method: Literal["sgd", "bgd", "mbgd"],
    rng: np.random.Generator,
    batch_size: int = 5,
    step_size: Callable[[int], float] = lambda k: 1.0 / k,
) -> np.ndarray:
    """Minimise ``J(w) = E[||w - X||^2] / 2`` from a data set: gradient ``w - x``.

    ``sgd`` uses one random sample per iteration, ``bgd`` the whole data set, ``mbgd`` a random
    mini-batch of ``batch_size`` (with replacement); all with step size ``a_k``.

    Returns:
        [iterations + 1, d] estimates.
    """
    data = np.asarray(data, dtype=float)
    w = np.zeros((iterations + 1, data.shape[1]))
    w[0] = w1
    full_mean = data.mean(axis=0)
    for k in range(1, iterations + 1):
        if method == "bgd":
            x = full_mean
        elif method == "sgd":
            x = data[rng.integers(len(data))]
        elif method == "mbgd":
            x = data[rng.integers(len(data), size=batch_size)].mean(axis=0)
        else:
            raise ValueError(f"method must be 'sgd', 'bgd' or 'mbgd', got {method!r}")
        w[k] = w[k - 1] - step_size(k) * (w[k - 1] - x)
    return w
