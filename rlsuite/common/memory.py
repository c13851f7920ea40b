"""Memory estimates checked before work: refuse a size the machine cannot hold, in one line.

A size typed by mistake (``num_envs: 1e9``, a 1e5 x 1e5 grid, an ``.npz`` whose header claims
terabytes) should be refused with the estimate, before any folder is created or array allocated,
rather than end in numpy's ``MemoryError`` or the kernel's OOM killer.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

FRACTION = 0.8  # of physical memory that one estimate may claim


def physical_memory() -> int | None:
    """The machine's physical memory in bytes (``os.sysconf`` pages x page size); None if unknown."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None
    return pages * size if pages > 0 and size > 0 else None


def human(nbytes: float) -> str:
    """``1.5 GiB`` style."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover


def fits(nbytes: float) -> bool:
    """Whether ``nbytes`` is within ``FRACTION`` of the machine's memory (True when that is unknown)."""
    total = physical_memory()
    return total is None or nbytes <= FRACTION * total


def check_fits(nbytes: float, what: str, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` (one line: ``what``, the estimate and the machine's memory) if it does not fit."""
    if not fits(nbytes):
        raise error(f"{what} needs about {human(nbytes)} of memory; this machine has {human(physical_memory() or 0)}")


def npz_headers(path: str | os.PathLike[str]) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{name: (shape, dtype)}`` of the arrays of an ``.npz``, from their headers (nothing loaded).

    Raises ``ValueError`` for a member whose header is not a valid ``.npy`` header, and
    ``zipfile.BadZipFile`` / ``OSError`` for an unreadable archive.
    """
    headers: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    with zipfile.ZipFile(Path(path)) as archive:
        for name in archive.namelist():
            if not name.endswith(".npy"):
                continue
            with archive.open(name) as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(f)
                headers[name.removesuffix(".npy")] = (tuple(shape), dtype)
    return headers


def npz_nbytes(path: str | os.PathLike[str]) -> int:
    """The bytes the arrays of an ``.npz`` claim in their headers (read without loading them); raises
    as :func:`npz_headers`."""
    return sum(int(np.prod(shape, dtype=object)) * dtype.itemsize for shape, dtype in npz_headers(path).values())
