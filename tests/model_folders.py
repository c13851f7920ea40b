"""Model folders for tests: a copy whose only weights are a pickle (what ``--trust-pickle`` is about), and
safetensors files written byte by byte."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import Any


def pickled_copy(src: Path, dst: Path) -> Path:
    """A copy of the model folder ``src`` whose only weights are a pickle (``pytorch_model.bin``, a real one)."""
    import torch
    from safetensors.torch import load_file

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors"))
    torch.save(load_file(str(src / "model.safetensors")), dst / "pytorch_model.bin")
    return dst


def safetensors_file(path: Path, header: dict[str, Any], data: bytes = b"", length: int | None = None) -> Path:
    """A safetensors file by hand: an 8-byte little-endian header length (``length``: as said, else the JSON
    header's own), the JSON ``header``, then ``data``."""
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path
