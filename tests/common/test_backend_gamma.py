"""ArrayBackend.gamma on torch (Marsaglia-Tsang, with the boost for shape < 1) draws from Gamma(shape, 1): its
empirical CDF against scipy's, per shape, on a seeded generator (deterministic). Written against the mutants
`make mutate` found surviving in rlsuite/common/backend.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rlsuite.common.backend import ArrayBackend

SHAPES = [0.3, 0.9, 1.0, 2.5, 9.0]
N = 40_000


def test_torch_gamma_draws_follow_gamma_shape_1() -> None:
    backend = ArrayBackend("torch:cpu")
    backend.seed(np.random.default_rng(11))
    draws = backend.gamma(backend.asarray(np.repeat(SHAPES, N))).numpy().reshape(len(SHAPES), N)
    assert draws.dtype == np.float32 and (draws > 0).all()
    for shape, row in zip(SHAPES, draws, strict=True):
        ks = stats.kstest(row, stats.gamma(shape).cdf).statistic
        assert ks < 0.012, (shape, ks)  # 1.63 / sqrt(N) is the 1% bound: 0.008
        assert row.mean() == pytest.approx(shape, rel=0.03), shape


def test_numpy_gamma_is_numpys_own_sampler() -> None:
    backend = ArrayBackend("cpu")
    backend.seed(np.random.default_rng(3))
    np.testing.assert_array_equal(backend.gamma(np.array([0.5, 2.0])), np.random.default_rng(3).gamma([0.5, 2.0]))
