"""Exact checks of rlsuite.common.backend that mutation testing found unchecked by tests/common: the default
backend, dtypes and devices of conversions (on a simulated GPU where the device matters), conversions that must
not copy, the torch generator's seed, and the torch gamma sampler draw for draw against an independent
transcription of Marsaglia and Tsang's method."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from cuda_sim import simulate_cuda

from rlsuite.common import backend as B
from rlsuite.common.backend import ArrayBackend


def test_the_default_backend_is_numpy_on_the_cpu_in_float64() -> None:
    backend = ArrayBackend()
    assert (backend.is_torch, backend.device) == (False, "cpu")
    assert backend.zeros(2).dtype == np.float64 and backend.asarray([1, 2]).dtype == np.float64


def test_numpy_conversions_copy_nothing_already_in_their_dtype() -> None:
    backend = ArrayBackend("cpu")
    x, i = np.ones(3), np.arange(3, dtype=np.int64)
    assert backend.asarray(x) is x and backend.as_index(i) is i and backend.as_dtype(x, np.zeros(1)) is x
    assert backend.asarray(i).dtype == np.float64 and backend.as_index(x).dtype == np.int64


@pytest.mark.parametrize("given", [torch.tensor([1, 2], dtype=torch.int32), np.array([1, 2], dtype=np.int32)])
def test_torch_conversions_give_their_dtype_on_the_device(given: Any) -> None:
    """asarray gives float32 (or the dtype named), as_index int64, cast_float float32: from a tensor or from the host,
    placed on the backend's (simulated) GPU."""
    with simulate_cuda():
        backend = ArrayBackend("cuda")
        values, index = backend.asarray(given), backend.as_index(given)
        assert (values.dtype, values.device.type, values.tolist()) == (torch.float32, "cuda", [1.0, 2.0])
        assert (index.dtype, index.device.type, index.tolist()) == (torch.int64, "cuda", [1, 2])
        assert backend.asarray(given, "int16").dtype == torch.int16
        assert backend.cast_float(backend.as_index(given)).dtype == torch.float32


def test_the_torch_generator_is_seeded_with_one_draw_below_2_to_the_62() -> None:
    backend = ArrayBackend("torch:cpu")
    backend.seed(np.random.default_rng(5))
    assert backend.gen.initial_seed() == int(np.random.default_rng(5).integers(2**62))
    seeds = set()
    for seed in range(300):  # 300 seeds, 300 streams (a narrow seed range would repeat some)
        backend.seed(np.random.default_rng(seed))
        seeds.add(backend.gen.initial_seed())
    assert len(seeds) == 300


def _reference_gamma(alpha: np.ndarray, normals: list[np.ndarray], uniforms: list[np.ndarray]) -> np.ndarray:
    """Marsaglia and Tsang (2000), written out in float64 from the same normal and uniform draws: d = a - 1/3,
    c = 1 / sqrt(9 d), v = (1 + c x)^3, accept where v > 0 and log u < x^2 / 2 + d - d v + d log v; an entry
    never accepted keeps the last proposal d v; shape < 1 boosted by U^(1/a)."""
    a = np.where(alpha < 1, alpha + 1, alpha).astype(np.float64)
    d = a - 1 / 3
    c = 1 / np.sqrt(9 * d)
    out, todo = np.zeros_like(a), np.ones(a.shape, bool)
    for x, u in zip(normals, uniforms[:-1], strict=True):
        v = (1 + c * x) ** 3
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = todo & (v > 0) & (np.log(u) < 0.5 * x * x + d - d * v + d * np.log(np.maximum(v, 1e-30)))
        out = np.where(todo, np.maximum(d * v, 1e-30), out)  # the latest proposal, accepted or not
        todo &= ~ok
    return np.where(alpha < 1, out * uniforms[-1] ** (1 / alpha), out)


@pytest.mark.parametrize("rounds", [8, 1])
def test_torch_gamma_is_marsaglia_tsang_draw_for_draw(monkeypatch: pytest.MonkeyPatch, rounds: int) -> None:
    """Each round draws the normals then the uniforms of every entry; shapes below 1 (and only those: 1.0 and 1.5
    are not) are boosted. One round leaves some entries rejected: they keep their proposal."""
    monkeypatch.setattr(B, "GAMMA_ROUNDS", rounds)
    alpha = np.repeat(np.array([0.3, 0.9, 1.0, 1.5, 2.5, 9.0], dtype=np.float32), 200)
    backend, twin = ArrayBackend("torch:cpu"), ArrayBackend("torch:cpu")
    backend.seed(np.random.default_rng(2))
    twin.seed(np.random.default_rng(2))
    draws = backend.gamma(backend.asarray(alpha)).numpy()
    normals, uniforms = [], []
    for _ in range(rounds):
        normals.append(twin.normal(alpha.shape).double().numpy())
        uniforms.append(twin.uniform(alpha.shape).double().numpy())
    uniforms.append(twin.uniform(alpha.shape).double().numpy())
    np.testing.assert_allclose(draws, _reference_gamma(alpha, normals, uniforms), rtol=2e-5)


def test_torch_gamma_takes_host_shapes_in_float32_on_the_device() -> None:
    with simulate_cuda():
        backend = ArrayBackend("cuda")
        backend.seed(np.random.default_rng(0))
        draws = backend.gamma(np.array([0.5, 2.0]))  # float64 numbers from the host
        assert (draws.dtype, draws.device.type) == (torch.float32, "cuda")
