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
