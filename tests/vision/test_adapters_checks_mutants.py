"""rlsuite.vision.adapters' folder checks and fingerprint, exactly: the fingerprint recomputed by hand (safetensors and
trusted pickles, past the 64 KiB read), and the defaults that refuse pickled weights and custom model code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from model_folders import safetensors_file

from rlsuite.common.errors import ModelFolderError, UsageError
from rlsuite.vision.adapters import (
    ADAPTER_WEIGHTS,
    BASE_MODEL,
    FINGERPRINT_BYTES,
    check_adapter_folder,
    check_generative_folder,
    weights_hash,
)

BIG = FINGERPRINT_BYTES + 1000  # more data than the fingerprint reads


def _safetensors(path: Path, data: bytes) -> bytes:
    """A one-tensor safetensors file holding ``data``; its JSON header's bytes."""
    header = {"t": {"dtype": "U8", "shape": [len(data)], "data_offsets": [0, len(data)]}}
    safetensors_file(path, header, data)
    return json.dumps(header).encode()


def test_names() -> None:
    assert (ADAPTER_WEIGHTS, BASE_MODEL, FINGERPRINT_BYTES) == ("adapter_model.safetensors", "base_model.json", 65536)


def test_the_fingerprint_of_safetensors_weights_by_hand(tmp_path: Path) -> None:
    data = bytes(range(256)) * (BIG // 256 + 1)
    header = _safetensors(tmp_path / "model.safetensors", data)
    assert weights_hash(tmp_path) == hashlib.sha256(header + data[:FINGERPRINT_BYTES]).hexdigest()[:24]


def test_the_fingerprint_of_trusted_pickles_by_hand(tmp_path: Path) -> None:
    first, second = b"\x80\x04" + b"a" * BIG, b"\x80\x04model.pt"
    (tmp_path / "pytorch_model.bin").write_bytes(first)
    (tmp_path / "model.pt").write_bytes(second)
    digest = hashlib.sha256()
    for name, content in (("pytorch_model.bin", first), ("model.pt", second)):
        digest.update(name.encode() + len(content).to_bytes(8, "little"))
        digest.update(content[:FINGERPRINT_BYTES])
    assert weights_hash(tmp_path, trust_pickle=True) == digest.hexdigest()[:24]
    with pytest.raises(ModelFolderError, match="holds only pickle weights"):
        weights_hash(tmp_path)


def test_a_generative_folder_refuses_pickles_and_custom_code_by_default(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "my_vlm",
                                                      "auto_map": {"AutoModelForImageTextToText": "m.M"}}))  # fmt: skip
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04")
    with pytest.raises(ModelFolderError, match="holds only pickle weights"):
        check_generative_folder(tmp_path)
    with pytest.raises(UsageError, match=r"model type 'my_vlm' runs custom code from the folder \(m\.py\); pass "):
        check_generative_folder(tmp_path, trust_pickle=True)
    assert check_generative_folder(tmp_path, trust_remote_code=True, trust_pickle=True) is None


def test_an_adapter_on_a_pickled_base_is_checked_only_when_trusted(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text("{}")
    (base / "pytorch_model.bin").write_bytes(b"\x80\x04weights")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    _safetensors(adapter / ADAPTER_WEIGHTS, b"\0" * 8)
    (adapter / BASE_MODEL).write_text(json.dumps({"base_model": str(base), "fingerprint": weights_hash(base, True)}))
    with pytest.raises(ModelFolderError, match="holds only pickle weights"):
        check_adapter_folder(adapter)
    assert check_adapter_folder(adapter, trust_pickle=True) == base
    assert check_adapter_folder(adapter, str(base), True) == base
