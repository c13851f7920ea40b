"""Seeding and deterministic mode: nothing global outlives the block that asked for it (issue 22)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from rlsuite.common.seeding import DETERMINISM_ENV, deterministic_torch, seed_everything, torch_globals_kept


def torch_globals() -> tuple[object, ...]:
    """What deterministic modes change: torch's flags, cuDNN's, and the whole environment.

    Less TORCHINDUCTOR_CACHE_DIR: torch writes its cache path there on its first deterministic-mode call in a
    process (whichever test that is), and it is no deterministic-mode setting.
    """
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_CACHE_DIR"}
    return (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark, env)


def test_seeding_seeds_and_changes_nothing_else() -> None:
    before = torch_globals()
    rng = seed_everything(7)
    assert torch_globals() == before
    first = (rng.random(), np.random.random(), float(torch.rand(1)))
    rng = seed_everything(7)
    assert (rng.random(), np.random.random(), float(torch.rand(1))) == first


def test_deterministic_torch_is_on_inside_the_block_only() -> None:
    before = torch_globals()
    with deterministic_torch():
        assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"  # what deterministic cuBLAS needs
    assert torch_globals() == before
    with pytest.raises(ZeroDivisionError), deterministic_torch():
        1 / 0  # noqa: B018
    assert torch_globals() == before


def test_globals_kept_undoes_what_transformers_full_determinism_sets() -> None:
    from transformers.trainer_utils import enable_full_determinism

    before = torch_globals()
    with torch_globals_kept():
        enable_full_determinism(0)
        assert torch.are_deterministic_algorithms_enabled() and os.environ["CUDA_LAUNCH_BLOCKING"] == "1"
        assert {name for name in DETERMINISM_ENV if name in os.environ} == set(DETERMINISM_ENV)
    assert torch_globals() == before
