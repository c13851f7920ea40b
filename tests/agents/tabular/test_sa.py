"""Stochastic approximation (Zhao ch. 6): estimates converge at the rates the book shows."""

from __future__ import annotations

import numpy as np
import pytest

from rlsuite.agents.tabular.sa import gradient_mean_estimation, incremental_mean, robbins_monro


def test_incremental_mean_is_the_running_mean() -> None:
    x = np.random.default_rng(0).normal(size=(50, 3))
    w = incremental_mean(x)
    np.testing.assert_allclose(w[1:], np.cumsum(x, axis=0) / np.arange(1, 51)[:, None])


def test_incremental_mean_error_falls_as_one_over_sqrt_k() -> None:
    x = np.random.default_rng(1).normal(1.0, 1.0, size=(2500, 400))
    err = np.abs(incremental_mean(x)[1:] - 1.0).mean(axis=1)
    ratio = err[99] / err[2499]  # k = 100 vs k = 2500: sqrt(25) = 5
    assert ratio == pytest.approx(5.0, rel=0.2)  # 4 standard errors of the ratio's estimate
    np.testing.assert_allclose(err[2499], np.sqrt(2 / np.pi / 2500), rtol=0.1)


def test_robbins_monro_finds_the_root_from_noisy_observations() -> None:
    rng = np.random.default_rng(2)
    w = robbins_monro(
        lambda w, r: np.tanh(w - 1.0) + 0.5 * r.standard_normal(np.shape(w)), np.full(300, 3.0), 2000, rng
    )
    err = np.abs(w - 1.0).mean(axis=1)
    assert err[-1] < 0.1 < err[10]
    assert err[-1] < err[200] < err[20]


def test_larger_batches_estimate_the_mean_better() -> None:
    rng = np.random.default_rng(3)
    data = rng.uniform(-10, 10, size=(100, 2))
    mean = data.mean(axis=0)
    final = {}
    for method, m in (("sgd", 1), ("mbgd", 5), ("mbgd", 50)):
        errs = [
            np.linalg.norm(
                gradient_mean_estimation(
                    data, np.array([50.0, 50.0]), 30, method, np.random.default_rng(s), batch_size=m
                )[-1]
                - mean
            )
            for s in range(200)
        ]
        final[m] = float(np.mean(errs))
    assert final[1] > final[5] > final[50]
    # the book's point: from a guess ~70 away, SGD is in the samples' square after one step (a_1 = 1)
    sgd = gradient_mean_estimation(data, np.array([50.0, 50.0]), 30, "sgd", np.random.default_rng(0))
    dist = np.linalg.norm(sgd - mean, axis=1)
    assert dist[0] > 70 and dist[1:].max() < 15
    bgd = gradient_mean_estimation(data, np.array([50.0, 50.0]), 5, "bgd", rng)
    np.testing.assert_allclose(
        bgd[1:], np.broadcast_to(mean, (5, 2)), atol=1e-12
    )  # a_1 = 1: exact in one step


def test_robbins_monro_steps_by_hand() -> None:
    # g(w) = (w - 2) / 2 without noise, a_k = 1/k: the error e = w - 2 shrinks by (1 - 1/(2k)) at step k
    seen = []

    def g(w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        seen.append(np.array(w))
        return 0.5 * (w - 2.0)

    w = robbins_monro(g, np.array([10.0, 2.0]), 4, np.random.default_rng(0))
    np.testing.assert_allclose(w[:, 0], [10.0, 6.0, 5.0, 4.5, 2 + 2.5 * (1 - 1 / 8)], rtol=1e-15)
    np.testing.assert_array_equal(w[:, 1], 2.0)  # a root stays put
    np.testing.assert_allclose(np.array(seen), w[:-1])  # g is observed at each estimate, the last excepted
    # another step size: a_k = 1 lands on the root in one step
    np.testing.assert_allclose(robbins_monro(lambda w, r: w - 2.0, 10.0, 2, np.random.default_rng(0), lambda k: 1.0),
                               [10.0, 2.0, 2.0])  # fmt: skip


def test_mini_batch_step_by_hand() -> None:
    # the first step (a_1 = 1) lands on the mean of the batch_size rows drawn (with replacement) by rng
    data = np.column_stack([np.arange(100.0), np.arange(100.0) ** 2])
    for batch_size, kwargs in ((5, {}), (7, {"batch_size": 7})):
        w = gradient_mean_estimation(data, np.array([50.0, 50.0]), 2, "mbgd", np.random.default_rng(4), **kwargs)
        draw = np.random.default_rng(4)
        first, second = (data[draw.integers(100, size=batch_size)].mean(axis=0) for _ in range(2))
        np.testing.assert_allclose(w, [[50.0, 50.0], first, first - 0.5 * (first - second)], rtol=1e-14)
    with pytest.raises(ValueError, match="method must be 'sgd', 'bgd' or 'mbgd', got 'adam'"):
        gradient_mean_estimation(data, np.zeros(2), 1, "adam", np.random.default_rng(0))  # type: ignore[arg-type]


def test_samples_given_as_text_are_read_as_numbers() -> None:
    np.testing.assert_array_equal(incremental_mean(np.array(["1", "2", "6"])), [0.0, 1.0, 1.5, 3.0])
    bgd = gradient_mean_estimation([["1", "2"], ["3", "4"]], np.zeros(2), 1, "bgd", np.random.default_rng(0))
    np.testing.assert_array_equal(bgd, [[0.0, 0.0], [2.0, 3.0]])
