"""The backend's host shortcuts: exact answers on numpy, no device read on torch (fixed answers)."""

from __future__ import annotations

import numpy as np
import torch

from rlsuite.common.backend import ArrayBackend


def test_maybe_any_is_exact_on_numpy_and_always_true_on_torch() -> None:
    numpy, torch_cpu = ArrayBackend("cpu"), ArrayBackend("torch:cpu")
    assert numpy.maybe_any(np.zeros(3, dtype=bool)) is False
    assert numpy.maybe_any(np.array([False, True])) is True
    assert torch_cpu.maybe_any(torch.zeros(3, dtype=torch.bool)) is True


def test_earliest_is_the_minimum_on_numpy_and_unknown_on_torch() -> None:
    assert ArrayBackend("cpu").earliest(np.array([5, 2, 9])) == 2
    assert ArrayBackend("torch:cpu").earliest(torch.tensor([5, 2, 9])) is None


def test_bincount_counts_and_sums_only_the_masked_entries_exactly() -> None:
    index, mask = np.array([0, 2, 2, 1, 2]), np.array([True, True, False, True, True])
    weights = np.array([0.5, 0.25, 8.0, 0.125, 1.0])
    numpy, torch_cpu = ArrayBackend("cpu"), ArrayBackend("torch:cpu")
    assert numpy.bincount(index, None, 4, mask).tolist() == [1, 1, 2, 0]
    assert numpy.bincount(index, weights, 4, mask).tolist() == [0.5, 0.125, 1.25, 0.0]
    counts = torch_cpu.bincount(torch.as_tensor(index), None, 4, torch.as_tensor(mask))
    assert counts.dtype == torch.float32 and counts.tolist() == [1, 1, 2, 0]
    assert torch_cpu.bincount(torch.as_tensor(index), None, 4).tolist() == [1, 1, 3, 0]
    for dtype in (torch.float64, torch.float32, torch.float16):  # the sums come back in the weights' dtype
        w = torch.as_tensor(weights, dtype=dtype)
        sums = torch_cpu.bincount(torch.as_tensor(index), w, 4, torch.as_tensor(mask))
        assert sums.dtype == dtype and sums.tolist() == [0.5, 0.125, 1.25, 0.0]  # masked-out entries add exactly 0


def test_full_has_the_dtype_of_like() -> None:
    ints = ArrayBackend("cpu").full((2,), 3, like=np.zeros(1, dtype=np.int32))
    assert ints.dtype == np.int32 and ints.tolist() == [3, 3]
    halves = ArrayBackend("torch:cpu").full((2,), 0.5, like=torch.zeros(1, dtype=torch.float64))
    assert halves.dtype == torch.float64 and halves.tolist() == [0.5, 0.5]


def test_bincount_on_torch_is_exact_to_2_to_the_minus_32_in_float64() -> None:
    sums = ArrayBackend("torch:cpu").bincount(torch.tensor([1]), torch.tensor([0.1], dtype=torch.float64), 2)
    assert sums.tolist() == [0.0, round(0.1 * 2**32) / 2**32]  # 0.10000000009313226, not float32's 0.1


def test_cumsum_runs_along_the_last_axis() -> None:
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    expected = np.cumsum(x, axis=2)
    assert np.array_equal(ArrayBackend("cpu").cumsum(x), expected)
    summed = ArrayBackend("torch:cpu").cumsum(torch.as_tensor(x))
    assert summed.dtype == torch.float64 and np.array_equal(summed.numpy(), expected)


def test_ones_and_zeros_are_float_unless_told() -> None:
    numpy, torch_cpu = ArrayBackend("cpu"), ArrayBackend("torch:cpu")
    assert numpy.ones(2).dtype == np.float64 and numpy.ones(2).tolist() == [1.0, 1.0]
    assert numpy.ones(2, "int64").dtype == np.int64 and torch_cpu.ones(2, "int64").dtype == torch.int64
    assert torch_cpu.ones(2).dtype == torch.float32 and torch_cpu.ones(2).tolist() == [1.0, 1.0]
    assert numpy.zeros(2).dtype == np.float64 and numpy.zeros(2, "int32").dtype == np.int32
    assert torch_cpu.zeros(2).dtype == torch.float32 and torch_cpu.zeros(2, "int64").dtype == torch.int64
