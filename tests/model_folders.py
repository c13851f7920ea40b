"""Model folders for tests: a copy whose only weights are a pickle (what ``--trust-pickle`` is about)."""

from __future__ import annotations

import shutil
from pathlib import Path


def pickled_copy(src: Path, dst: Path) -> Path:
    """A copy of the model folder ``src`` whose only weights are a pickle (``pytorch_model.bin``, a real one)."""
    import torch
    from safetensors.torch import load_file

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors"))
    torch.save(load_file(str(src / "model.safetensors")), dst / "pytorch_model.bin")
    return dst
