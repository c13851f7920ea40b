"""Reproducibility: one seed for random, numpy and torch (CleanRL's habit)."""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int, deterministic_torch: bool = False) -> np.random.Generator:
    """Seed ``random``, ``numpy`` and ``torch`` (when installed); return a fresh numpy Generator.

    Args:
        seed: the seed.
        deterministic_torch: also ask torch for deterministic kernels (slower on GPU).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    else:
        torch.manual_seed(seed)
        if deterministic_torch:
            torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)
