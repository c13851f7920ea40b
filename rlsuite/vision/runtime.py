"""Where and how vision models run: torch threads, the dtype that ``"auto"`` means, devices.

- :func:`torch_threads`: the tiny models run with one torch thread per process unless configured
  (``rlsuite.common.device.choose_threads``: an explicit count, else ``OMP_NUM_THREADS``, else 1,
  never more than the CPUs this process may use); the previous count is restored afterwards.
- :func:`resolve_dtype`: ``dtype="auto"`` is for *inference*: bfloat16 on a CUDA device that
  supports it, float32 elsewhere. Training, and the measurements saved beside a trained model,
  use float32 (the dtype the model was trained in), whatever the device.
- :class:`DeviceLosses`: training loops keep their losses on the device and read them on the host
  once (no host-device sync per step).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
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



class DeviceLosses:
    """A training loop's per-step losses, kept on the device and read on the host once.

    ``losses.add(loss)`` writes into a preallocated device tensor (a device copy, no host-device
    sync); :meth:`host` copies them to the host in one transfer, at the end of training or a log
    interval. ``loss.item()`` every step would stall the GPU's queue every step instead.
    """

    def __init__(self, steps: int, device: torch.device) -> None:
        self._values = torch.zeros(steps, device=device)
        self.count = 0

    def add(self, loss: torch.Tensor) -> None:
        self._values[self.count] = loss.detach()
        self.count += 1

    def host(self, last: int | None = None) -> np.ndarray:
        """The losses so far (the ``last`` few), float32 on the host: one sync."""
        start = 0 if last is None else max(0, self.count - last)
        return self._values[start : self.count].float().cpu().numpy()

    def summary(self, first: int, final: int) -> dict[str, float]:
        """``first_loss`` and ``final_loss``: the means of the first ``first`` and the last ``final`` losses."""
        values = self.host()
        return {"first_loss": float(np.mean(values[:first])), "final_loss": float(np.mean(values[-final:]))}
