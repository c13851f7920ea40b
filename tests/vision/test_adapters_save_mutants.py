"""``weights_hash``, ``save_adapter`` and ``check_adapter_folder`` exactly (mutation testing).

The fingerprint is sha256 of each weights file's header and the first 64 KiB of its data (here a file with
more data than that, so the hash of the whole file differs); ``base_model.json`` is the base folder, the
fingerprint and the base's parameter count (the LoRA matrices left out), two-space indented; a damaged adapter
folder is one line naming the adapter folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from rlsuite.common.errors import ModelFolderError
from rlsuite.testing.vision_models import save_tiny_vlm
from rlsuite.vision.adapters import VLMModelOptions, check_adapter_folder, save_adapter, weights_hash
from rlsuite.vision.finetune import VLMTrainConfig, load_policy_to_train


@pytest.fixture(scope="module")
def qwen(tmp_path_factory) -> Path:
    return save_tiny_vlm("qwen2_vl", tmp_path_factory.mktemp("tiny-qwen2-vl"))


@pytest.fixture(scope="module")
def adapter(qwen: Path, tmp_path_factory) -> Path:
    """The tiny Qwen2-VL's LoRA policy saved by save_adapter."""
    options = VLMModelOptions(model=str(qwen), finetune="lora")
    policy, _ = load_policy_to_train(VLMTrainConfig(size=3, device="cpu"), options)
    folder = tmp_path_factory.mktemp("adapter")
    save_adapter(policy, folder, qwen)
    return folder


def copy_of(adapter: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(adapter, tmp_path / "adapter"))


def test_weights_hash_reads_the_header_and_the_first_64_kib_of_data(tmp_path: Path) -> None:
    save_file({"w": torch.arange(40_000, dtype=torch.float32)}, str(tmp_path / "model.safetensors"))  # 160 kB
    raw = (tmp_path / "model.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    expected = hashlib.sha256(raw[8 : 8 + n] + raw[8 + n : 8 + n + 65536]).hexdigest()[:24]
    assert len(raw) > 8 + n + 65536 and weights_hash(tmp_path) == expected
    assert expected != hashlib.sha256(raw[8:]).hexdigest()[:24]


def test_base_model_json_names_the_base_its_fingerprint_and_its_parameters(adapter: Path, qwen: Path) -> None:
    text = (adapter / "base_model.json").read_text()
    assert text == (
        f'{{\n  "base_model": {json.dumps(str(qwen.resolve()))},\n  "fingerprint": "{weights_hash(qwen)}",\n'
        '  "parameters": 30384\n}\n'
    )
    assert len(weights_hash(qwen)) == 24
    assert check_adapter_folder(adapter) == qwen.resolve()


def test_damaged_adapter_files_name_the_adapter_folder(adapter: Path, tmp_path: Path) -> None:
    folder = copy_of(adapter, tmp_path)
    weights = folder / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:4])
    with pytest.raises(ModelFolderError, match="^" + re.escape(f"{folder}: adapter_model.safetensors is truncated")):
        check_adapter_folder(folder)
    shutil.copy(adapter / "adapter_model.safetensors", weights)
    (folder / "base_model.json").write_text("")
    with pytest.raises(ModelFolderError, match="^" + re.escape(f"{folder}: base_model.json is empty; a crash")):
        check_adapter_folder(folder)


def test_a_base_model_json_without_a_fingerprint_is_refused(adapter: Path, qwen: Path, tmp_path: Path) -> None:
    folder = copy_of(adapter, tmp_path)
    (folder / "base_model.json").write_text(json.dumps({"base_model": str(qwen)}))
    with pytest.raises(ModelFolderError, match="^" + re.escape(f"{folder}: base_model.json holds no base fingerprint")
                       + "$"):  # fmt: skip
        check_adapter_folder(folder)


@pytest.mark.parametrize("recorded", [{}, {"base_model": ""}, {"base_model": None}, {"base_model": 3}])
def test_a_base_model_json_naming_no_base_is_refused_unless_the_base_is_given(
    adapter: Path, qwen: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorded: dict
) -> None:
    """Without a ``base_model`` folder name the base is not guessed (not the working folder, nor one named
    "None" or "3"): one line, unless the base is given."""
    folder = copy_of(adapter, tmp_path)
    (folder / "base_model.json").write_text(json.dumps({"fingerprint": weights_hash(qwen), **recorded}))
    monkeypatch.chdir(qwen)  # the working folder holds the right base: still not taken
    message = f"{folder}: base_model.json names no base model folder (pass the base folder)"
    with pytest.raises(ModelFolderError, match=f"^{re.escape(message)}$"):
        check_adapter_folder(folder)
    assert check_adapter_folder(folder, base=qwen) == qwen
