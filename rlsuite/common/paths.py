"""Where rlsuite keeps what it builds once and reuses (tiny default models, datasets)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder under the rlsuite cache.

    The cache root is ``$RLSUITE_CACHE`` when set, else ``~/.cache/rlsuite``.
    """
    root = Path(os.environ.get("RLSUITE_CACHE", Path.home() / ".cache" / "rlsuite"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
