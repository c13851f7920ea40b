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
