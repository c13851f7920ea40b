"""``load_policy_to_train`` and ``load_trained_policy`` pass every setting on (mutation testing).

The tiny Llava from configs: 16-pixel cells and patches (one image token per cell), the config's width and
depth, the options' dtype, the device given or the config's, the reasoning prompt; its info and log line
exactly. A saved folder (``options.model``) or a trained one (``load_trained_policy``): custom code loads only
with ``trust_remote_code``, pickled weights only with ``trust_pickle``, and the device, dtype and policy
arguments reach the policy; a loaded adapter is frozen. Simulated CUDA (tests/cuda_sim.py) makes "auto"
differ from "cpu" on a machine without a GPU.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_vlm_archs import remote_code_dir  # noqa: F401  (the fixture: a Kimi-VL-shaped folder with custom code)

from rlsuite.common.device import select_device
from rlsuite.common.errors import ModelFolderError, UsageError
from rlsuite.testing.vision_models import save_tiny_vlm
from rlsuite.vision.adapters import VLMModelOptions, load_trained_policy, save_adapter, weights_hash
from rlsuite.vision.finetune import VLMTrainConfig, load_policy_to_train
from rlsuite.vision.policies import DEFAULT_PROMPT
from rlsuite.vision.reasoning import ReasoningConfig

CONFIG = VLMTrainConfig(size=3, hidden=24, layers=3, device="cpu")
REASONING = ReasoningConfig(reasoning=True)
CUSTOM = r"runs custom code from the folder"


@pytest.fixture(scope="module")
def llava(tmp_path_factory) -> Path:
    return save_tiny_vlm("llava", tmp_path_factory.mktemp("tiny-llava"))


@pytest.fixture(scope="module")
def adapter(llava: Path, tmp_path_factory) -> Path:
    policy, _ = load_policy_to_train(CONFIG, VLMModelOptions(model=str(llava), finetune="lora"))
    folder = tmp_path_factory.mktemp("adapter")
    save_adapter(policy, folder, llava)
    return folder


def pickled_copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    torch.save(load_file(str(to / "model.safetensors")), to / "pytorch_model.bin")
    (to / "model.safetensors").unlink()
    return to


# ----------------------------------------------------------------------------- load_policy_to_train
def test_the_tiny_llava_has_a_token_per_cell_and_the_configs_width_depth_and_dtype(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="rlsuite.vision.finetune"):
        policy, info = load_policy_to_train(CONFIG, VLMModelOptions(dtype="bfloat16"))
    vision, text = policy.model.config.vision_config, policy.model.config.text_config
    assert (vision.image_size, vision.patch_size) == (48, 16)
    assert (text.hidden_size, text.num_hidden_layers) == (24, 3)
    assert policy.processor.image_processor.crop_size == {"height": 48, "width": 48}
    assert {p.dtype for p in policy.model.parameters()} == {torch.bfloat16}
    assert policy.prompt == DEFAULT_PROMPT and policy.device == torch.device("cpu")
    n = sum(p.numel() for p in policy.model.parameters())
    assert info == {"model": "tiny Llava (built from configs)", "parameters": n, "finetune": "full",
                    "trainable_parameters": n + 25}  # fmt: skip
    assert caplog.messages == [f"tiny Llava (built from configs): {n} parameters, full fine-tuning of {n + 25}"]


def test_the_reasoning_prompt_is_the_policys_for_the_tiny_llava_and_a_folder(llava: Path) -> None:
    assert load_policy_to_train(CONFIG, reasoning=REASONING)[0].prompt == REASONING.prompt
    options = VLMModelOptions(model=str(llava), finetune="full")
    assert load_policy_to_train(CONFIG, options, REASONING)[0].prompt == REASONING.prompt
    assert load_policy_to_train(CONFIG, options)[0].prompt == DEFAULT_PROMPT


def test_the_device_is_the_one_given_else_the_configs(llava: Path) -> None:
    """On simulated CUDA, where "auto" is CUDA: the config's "cpu", or the CPU given for an "auto" config."""
    from cuda_sim import simulate_cuda

    auto = VLMTrainConfig(size=3, hidden=16, layers=1, device="auto")
    folder = VLMModelOptions(model=str(llava), finetune="full")
    with simulate_cuda():
        on_cuda = load_policy_to_train(auto)[0]
        by_config = [load_policy_to_train(CONFIG, options)[0] for options in (None, folder)]
        given = load_policy_to_train(auto, device=torch.device("cpu"))[0]
    assert on_cuda.device == torch.device("cuda")  # as resolved: not the parameters' "cuda:0"
    for policy in [*by_config, given]:
        assert policy.device == torch.device("cpu") and {p.device for p in policy.parameters()} == {policy.device}


def test_a_folder_of_custom_code_loads_only_with_trust_remote_code(remote_code_dir) -> None:  # noqa: F811
    folder, _ = remote_code_dir
    with pytest.raises(UsageError, match=CUSTOM):
        load_policy_to_train(CONFIG, VLMModelOptions(model=str(folder), finetune="full"))
    options = VLMModelOptions(model=str(folder), finetune="full", trust_remote_code=True)
    policy, info = load_policy_to_train(CONFIG, options)
    assert type(policy.model).__name__ == "KimiVLForConditionalGeneration" and info["model"] == str(folder)


# ----------------------------------------------------------------------------- load_trained_policy
def test_a_trained_folder_loads_on_the_default_device_and_pickled_weights_only_when_trusted(
    llava: Path, tmp_path: Path
) -> None:
    assert load_trained_policy(llava).device == select_device("auto")
    pickled = pickled_copy(llava, tmp_path / "pickled")
    with pytest.raises(ModelFolderError, match="^" + re.escape(f"{pickled}: holds only pickle weights")):
        load_trained_policy(pickled)
    assert load_trained_policy(pickled, trust_pickle=True).model.config.model_type == "llava"


def test_a_trained_folder_of_custom_code_is_refused_without_trust_remote_code(remote_code_dir) -> None:  # noqa: F811
    folder, _ = remote_code_dir
    with pytest.raises(UsageError, match=CUSTOM):
        load_trained_policy(folder, device="cpu")


def test_an_adapter_on_a_custom_code_base_loads_with_trust_remote_code(remote_code_dir, tmp_path: Path) -> None:  # noqa: F811
    folder, _ = remote_code_dir
    options = VLMModelOptions(model=str(folder), finetune="lora", trust_remote_code=True)
    save_adapter(load_policy_to_train(CONFIG, options)[0], tmp_path / "adapter", folder)
    with pytest.raises(UsageError, match=CUSTOM):
        load_trained_policy(tmp_path / "adapter", device="cpu")
    policy = load_trained_policy(tmp_path / "adapter", trust_remote_code=True, device="cpu")
    assert type(policy.model.base_model.model).__name__ == "KimiVLForConditionalGeneration"


def test_an_adapter_loads_frozen_with_the_device_dtype_and_policy_arguments_given(adapter: Path) -> None:
    from cuda_sim import simulate_cuda

    with simulate_cuda():
        policy = load_trained_policy(adapter, dtype="bfloat16", device="cpu", prompt="<image> which way ?")
    assert policy.device == torch.device("cpu") and policy.prompt == "<image> which way ?"
    base = [p for n, p in policy.model.named_parameters() if "lora_" not in n]
    assert {p.dtype for p in base} == {torch.bfloat16} and {p.device.type for p in base} == {"cpu"}
    lora = [p for n, p in policy.model.named_parameters() if "lora_" in n]
    assert lora and not any(p.requires_grad for p in lora)
    saved = load_file(str(adapter / "value_head.safetensors"))
    assert all(torch.equal(policy.value_head.state_dict()[k], v) for k, v in saved.items())


def test_an_adapter_on_a_trusted_pickled_base_saves_and_loads_back_with_trust_pickle(
    llava: Path, tmp_path: Path
) -> None:
    """train-vlm-policy/grpo --trust-pickle --finetune lora --model FOLDER: the adapter saves (the base's pickle
    files fingerprinted as bytes) and loads back with trust_pickle only; another pickled base is told apart.
    (weights_hash once read safetensors only: the save failed after training.)"""
    pickled = pickled_copy(llava, tmp_path / "pickled")
    options = VLMModelOptions(model=str(pickled), finetune="lora", trust_pickle=True)
    policy = load_policy_to_train(CONFIG, options)[0]
    with pytest.raises(ModelFolderError, match="holds only pickle weights"):
        save_adapter(policy, tmp_path / "refused", pickled)
    save_adapter(policy, tmp_path / "adapter", pickled, trust_pickle=True)
    with pytest.raises(ModelFolderError, match="holds only pickle weights"):
        load_trained_policy(tmp_path / "adapter", device="cpu")
    assert load_trained_policy(tmp_path / "adapter", device="cpu", trust_pickle=True).device == torch.device("cpu")
    assert weights_hash(pickled, trust_pickle=True) != hashlib.sha256().hexdigest()[:24]  # not the hash of nothing
    weights = torch.load(pickled / "pytorch_model.bin", weights_only=True)
    first = next(iter(weights))
    weights[first] = weights[first] + 1
    torch.save(weights, pickled / "pytorch_model.bin")
    with pytest.raises(ModelFolderError, match="adapter saved for another base model"):
        load_trained_policy(tmp_path / "adapter", device="cpu", trust_pickle=True)


def test_a_full_folder_gets_the_dtype_device_and_policy_arguments_given(llava: Path) -> None:
    """On simulated CUDA, where the default device ("auto") is CUDA, the CPU given is the one used."""
    from cuda_sim import simulate_cuda

    with simulate_cuda():
        policy = load_trained_policy(llava, dtype="bfloat16", device="cpu", prompt="<image> which way ?")
        assert load_trained_policy(llava).device == torch.device("cuda")
    assert {p.dtype for p in policy.model.parameters()} == {torch.bfloat16}
    assert policy.prompt == "<image> which way ?" and policy.device == torch.device("cpu")


def test_an_adapter_loads_on_the_base_given_when_its_recorded_base_moved(adapter: Path, llava: Path,
                                                                         tmp_path: Path) -> None:  # fmt: skip
    import json

    moved = tmp_path / "adapter"
    shutil.copytree(adapter, moved)
    info = json.loads((moved / "base_model.json").read_text())
    (moved / "base_model.json").write_text(json.dumps({**info, "base_model": str(tmp_path / "gone")}))
    with pytest.raises(ModelFolderError, match=r"its base model folder .*gone does not exist \(pass the base folder\)"):
        load_trained_policy(moved, device="cpu")
    assert load_trained_policy(moved, llava, device="cpu").model.config.model_type == "llava"
