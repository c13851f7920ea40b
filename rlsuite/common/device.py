"""Device selection: CUDA when there is one, else CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from rlsuite.common.errors import UsageError

if TYPE_CHECKING:
    import torch


def select_device(device: str | None = "auto") -> torch.device:
    """Return the torch device to use.

    Args:
        device: ``"auto"`` (or ``None``) picks ``cuda`` when available, else ``cpu``;
            anything else (``"cpu"``, ``"cuda"``, ``"cuda:1"``) is used as given, and
            asking for CUDA where there is none is an error, not a silent fallback.
    """
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise UsageError(f"device: unknown device {device!r} (use auto, cpu or cuda)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device: {device!r} asked for, but CUDA is not available here")
    return dev


def to_numpy(x: Any) -> np.ndarray:
    """``x`` as a host numpy array: a torch tensor (from any device) is copied over, anything else
    goes through ``np.asarray`` (no copy for a numpy array)."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask), not the machine's count."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def choose_threads(requested: int = 0, workers: int = 1, default: int = 1) -> int:
    """How many torch CPU threads one process should use.

    Tiny models lose far more to oversubscribed threads on a shared machine than they gain from a
    second core (measured: 10-25x slower with torch's default beside one busy process), so the
    default is ``default`` (1) per process unless something says otherwise.

    Args:
        requested: an explicit count (> 0) wins; 0 means "choose".
        workers: processes sharing this machine's CPUs (parallel workers split them).
        default: the count for a process when nothing else is given.

    Returns:
        ``requested`` when > 0; else ``OMP_NUM_THREADS`` when set; else ``default``; in the last two
        cases never more than the CPUs this process may use, split between ``workers``.
    """
    import os

    if requested > 0:
        return requested
    share = max(1, available_cpus() // max(1, workers))
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return min(int(env), share)
    return min(default, share)


def set_torch_threads(requested: int = 0, workers: int = 1, default: int = 1) -> int:
    """Set torch's intra-op thread count to :func:`choose_threads`'s answer; return it."""
    import torch

    n = choose_threads(requested, workers, default)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
