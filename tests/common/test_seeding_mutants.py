"""seed_everything hands each generator the seed it was given: every generator's state after seeding equals one
seeded by hand with the expected value (numpy's legacy seed is taken modulo 2**32, its only valid range)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from rlsuite.common.seeding import seed_everything


@pytest.fixture(autouse=True)
def global_rngs_kept() -> Iterator[None]:
    """The process's global generators as they were before the test."""
    state = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        yield
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])
        torch.set_rng_state(state[2])


@pytest.mark.parametrize(("seed", "numpy_seed"), [(100, 100), (2**32 + 7, 7), (3 * 2**32 - 1, 2**32 - 1)])
def test_each_generator_gets_the_seed(seed: int, numpy_seed: int) -> None:
    rng = seed_everything(seed)
    assert random.getstate() == random.Random(seed).getstate()
    got, want = np.random.get_state(), np.random.RandomState(numpy_seed).get_state()
    assert got[0] == want[0] and np.array_equal(got[1], want[1]) and got[2:] == want[2:]
    assert torch.initial_seed() == seed
    assert torch.equal(torch.get_rng_state(), torch.Generator().manual_seed(seed).get_state())
    assert rng.bit_generator.state == np.random.default_rng(seed).bit_generator.state
