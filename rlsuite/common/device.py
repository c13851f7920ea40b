"""Where things compute: one device vocabulary, resolved once at the boundary (SB3's ``get_device``).

Every command takes ``--device`` with one vocabulary, :data:`DEVICE_HELP`: ``auto``, ``cpu``,
``cuda`` or ``cuda:N``. The command resolves it once, with :func:`select_device`, into a
``torch.device`` and hands that on; library code takes what it is given.

The rule for ``auto`` (docs/gpu.md): the GPU where one is present *and* the work is large enough to
gain from it. Alignment and vision models, and SB3's ``CnnPolicy``, always count as large; SB3's MLP
policies never (they train faster on the CPU). The sample-based tabular agents count as large from
:data:`GPU_MIN_COPIES` env copies (bandit runs) on: a GPU step costs a few kernel launches whatever the
batch, so a few hundred copies of a 25-state grid run faster in numpy.

The tabular agents also choose their arrays, numpy or torch (``--backend``, :data:`BACKEND_HELP`):
:func:`array_device` turns the resolved device and that choice into the string the batched envs
and agents take (``"cpu"``: numpy; ``"torch:cpu"``; ``"cuda:N"``; see :mod:`rlsuite.common.backend`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from rlsuite.common.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    import torch

DEVICE_HELP = "where it computes: auto, cpu, cuda or cuda:N (auto: the GPU where present and worth it, docs/gpu.md)"
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
BACKEND_HELP = (
    "arrays of the sample-based tabular agents and their batched env: numpy (CPU only) or torch (on --device); "
    "auto: numpy on the CPU, torch on CUDA"
)
Backend = Literal["auto", "numpy", "torch"]
# From this many env copies (bandit runs) on, `auto` sends a sample-based tabular agent to the GPU.
GPU_MIN_COPIES = 65_536


def device_problem(device: Any) -> str | None:
    """Why ``device`` is not in the vocabulary (``auto``, ``cpu``, ``cuda``, ``cuda:N``), or None."""
    if isinstance(device, str) and DEVICE_PATTERN.fullmatch(device):
        return None
    hint = " (torch on the CPU: --device cpu --backend torch)" if str(device).startswith("torch:") else ""
    return f"{device!r} is not one of auto, cpu, cuda, cuda:N{hint}"


def check_device_field(config: Any, name: str = "device") -> None:
    """A config's ``name`` field is in the vocabulary; else a one-line ``ConfigError`` naming the field."""
    from rlsuite.common.config import config_error

    problem = device_problem(getattr(config, name))
    if problem is not None:
        raise config_error(config, name, problem)


def select_device(device: str | torch.device | None = "auto", *, gpu_pays: bool = True) -> torch.device:
    """The torch device to use: the one resolver (SB3's ``get_device``).

    Args:
        device: ``"auto"`` (or ``None``) picks ``cuda`` when available and ``gpu_pays``, else
            ``cpu``; anything else (``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``) is used as
            given, and asking for CUDA where there is none is an error, not a silent fallback.
        gpu_pays: whether the work is large enough for ``auto`` to choose the GPU (see the module).
    """
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if gpu_pays and torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise UsageError(f"device: unknown device {device!r} (use auto, cpu, cuda or cuda:N)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device: {device!r} asked for, but CUDA is not available here")
    return dev


def array_device(device: torch.device, backend: Backend = "auto") -> str:
    """The batched envs' and tabular agents' device string for a resolved ``device`` and ``backend``.

    ``cpu`` -> ``"cpu"`` (numpy) or ``"torch:cpu"`` (``backend="torch"``); CUDA -> ``"cuda"``/``"cuda:N"``
    (torch; ``backend="numpy"`` there is a ``UsageError``).
    """
    if device.type == "cpu":
        return "torch:cpu" if backend == "torch" else "cpu"
    if backend == "numpy":
        raise UsageError(f"--backend numpy runs on the CPU only, not on {device}; use --device cpu or --backend torch")
    return str(device)


def to_numpy(x: Any) -> np.ndarray:
    """``x`` as a host numpy array: a torch tensor (from any device) is copied over, anything else
    goes through ``np.asarray`` (no copy for a numpy array)."""
    import numpy as np

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
