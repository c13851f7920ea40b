"""Reproducibility: one seed for random, numpy and torch (CleanRL's habit), and deterministic torch in a block.

Deterministic mode is process-wide in torch (``torch.use_deterministic_algorithms``, cuDNN's flags) and
reaches child processes through the environment (``CUBLAS_WORKSPACE_CONFIG``, ``CUDA_LAUNCH_BLOCKING``);
left on, it makes every later CUDA ``cumsum``/``bincount``/``index_add_`` raise. So it is only ever on
inside :func:`deterministic_torch` (or :func:`torch_globals_kept` around code that turns it on itself,
such as transformers' ``full_determinism``), which puts every flag and variable back on exit.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np

# what torch's and transformers' deterministic modes write into the environment
DETERMINISM_ENV = (
    "CUBLAS_WORKSPACE_CONFIG",
    "CUDA_LAUNCH_BLOCKING",
    "ASCEND_LAUNCH_BLOCKING",
    "HCCL_DETERMINISTIC",
    "FLASH_ATTENTION_DETERMINISTIC",
)


def seed_everything(seed: int) -> np.random.Generator:
    """Seed ``random``, ``numpy`` and ``torch`` (when installed); return a fresh numpy Generator.

    Nothing else global changes: for deterministic kernels, run the work inside :func:`deterministic_torch`.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


@contextlib.contextmanager
def torch_globals_kept() -> Iterator[None]:
    """Put torch's deterministic-mode flags, cuDNN's flags and :data:`DETERMINISM_ENV` back as they were
    after the block, whatever the block set."""
    import torch

    saved_env = {name: os.environ.get(name) for name in DETERMINISM_ENV}
    det, warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn_det, cudnn_bench = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(det, warn_only=warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn_det, cudnn_bench
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def deterministic_torch(warn_only: bool = False) -> Iterator[None]:
    """Deterministic torch kernels inside the block only (slower on a GPU), with the cuBLAS workspace
    setting that deterministic CUDA matmuls need; everything is restored on exit."""
    import torch

    with torch_globals_kept():
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
        torch.use_deterministic_algorithms(True, warn_only=warn_only)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        yield
