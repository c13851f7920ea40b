"""Where and how vision models run: torch threads, the dtype that ``"auto"`` means, devices.

- :func:`torch_threads`: the tiny models run with one torch thread per process unless configured
  (``rlsuite.common.device.choose_threads``: an explicit count, else ``OMP_NUM_THREADS``, else 1,
  never more than the CPUs this process may use); the previous count is restored afterwards.
- :func:`resolve_dtype`: ``dtype="auto"`` is for *inference*: bfloat16 on a CUDA device that
  supports it, float32 elsewhere. Training, and the measurements saved beside a trained model,
  use float32 (the dtype the model was trained in), whatever the device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

DTYPES = ("auto", "float32", "bfloat16", "float16")


@contextlib.contextmanager
def torch_threads(requested: int = 0, workers: int = 1) -> Iterator[int]:
    """Run the block with :func:`~rlsuite.common.device.choose_threads` torch threads; restore the count after."""
    from rlsuite.common.device import choose_threads

    before = torch.get_num_threads()
    n = choose_threads(requested, workers)
    if n != before:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """The torch dtype for ``dtype`` on ``device``: ``"auto"`` is bfloat16 on CUDA with bf16 support, else float32.

    Raises:
        ValueError: ``dtype`` is not one of :data:`DTYPES` (or a floating torch dtype).
    """
    if isinstance(dtype, torch.dtype):
        if not dtype.is_floating_point:
            raise ValueError(f"dtype: {dtype} is not a floating-point dtype")
        return dtype
    if dtype not in DTYPES:
        raise ValueError(f"dtype: expected one of {', '.join(DTYPES)}, got {dtype!r}")
    if dtype == "auto":
        # native bf16 only (Ampere and later): emulated bf16 (V100, T4) is slower than float32
        cuda = device.type == "cuda" and torch.cuda.is_available()
        cuda_bf16 = cuda and torch.cuda.is_bf16_supported(including_emulation=False)
        return torch.bfloat16 if cuda_bf16 else torch.float32
    return getattr(torch, dtype)

