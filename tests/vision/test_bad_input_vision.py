"""The vision share of the bad-input catalogue (issue 11): each case asserts the error's type, that its
one-line message names the culprit (field, flag, argument, file or folder), and that nothing was
written or changed (the cache, the output folder, the model folder)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from rlsuite.common.errors import ConfigError, ModelFolderError, OutputDirError, UsageError
from rlsuite.vision.adapters import VLMModelOptions
from rlsuite.vision.contrastive import ContrastiveTrainConfig
from rlsuite.vision.detection import (
    DetectionPolicy,
    DetectionPolicyConfig,
    DetectorTrainConfig,
    GridDetector,
    GridDetectorConfig,
)
from rlsuite.vision.finetune import VLMTrainConfig
from rlsuite.vision.models import build_tiny_llava
from rlsuite.vision.policies import VLMPolicy
from rlsuite.vision.reasoning import ReasoningConfig
from rlsuite.vision.rewards import DetectionRewardModel, DetectionTarget, VLMRewardModel

FRAME = np.zeros((80, 80, 3), np.uint8)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time (empty when ``root`` is missing)."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def detector_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("grid-detector")
    torch.manual_seed(0)
    GridDetector().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def llava_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-llava")
    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=16, layers=1)
    VLMPolicy(model, processor, device="cpu").save_pretrained(folder)
    return folder


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


# ----------------------------------------------------------------------------- configs (Python)
@pytest.mark.parametrize(
    ("build", "field", "words"),
    [
        (lambda: DetectorTrainConfig(max_steps=0), "max_steps", "out of range (allowed: >= 1)"),
        (lambda: DetectorTrainConfig(cell_px=10), "cell_px", "not a multiple of 4"),
        (lambda: DetectorTrainConfig(min_size=6, max_size=4), "min_size", "larger than max_size=4"),
        (lambda: DetectorTrainConfig(lr=0.0), "lr", "allowed: > 0"),
        (lambda: DetectorTrainConfig(max_forbidden_fraction=0.9), "max_forbidden_fraction", "[0, 0.5]"),
        (lambda: ContrastiveTrainConfig(size=13), "size", "[2, 12]"),
        (lambda: ContrastiveTrainConfig(size=5, cell_px=10), "cell_px", "not a multiple of 8"),
        (lambda: VLMTrainConfig(gamma=1.0), "gamma", "[0, 1)"),
        (lambda: VLMTrainConfig(hidden=12), "hidden", "not a multiple of 8"),
        (lambda: VLMTrainConfig(bc_steps=2.5), "bc_steps", "expected an integer"),
        (lambda: DetectionPolicyConfig(threshold=1.5), "threshold", "[0, 1]"),
        (lambda: GridDetectorConfig(num_classes=2), "class_names", "3 names for num_classes=2"),
    ],
)
def test_bad_config_values_name_the_field(tmp_path, monkeypatch, build, field, words):
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path))
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.field == field and f".{field}: " in str(info.value) and words in str(info.value)
    assert snapshot(tmp_path) == {}


# ----------------------------------------------------------------------------- the command line
@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["train-detector", "--budget", "0"], ["DetectorTrainConfig.max_steps", "--budget", "allowed: >= 1"]),
        (["train-detector", "--cell_px", "6"], ["cell_px", "not a multiple of 4"]),
        (["train-reward", "--set", "lr=-1"], ["--set lr=-1", "ContrastiveTrainConfig.lr"]),
        (["train-reward", "--steps", "many"], ["--steps", "many"]),
        (["train-vlm-policy", "--set", "gama=0.5"], ["unknown setting 'gama'", "did you mean --gamma"]),
        (["train-vlm-policy", "--config", "missing.yaml"], ["missing.yaml", "no such file here, nor a config shipped"]),
        (["eval-vlm"], ["no model folder", "FOLDER or --model"]),
        (["eval-vlm", "nowhere"], ["nowhere", "no such model folder"]),
        (["eval-vlm", "a", "--model", "b"], ["two model folders", "'a'", "'b'"]),
        (["eval-vlm", "x", "--actions", "go", "stop"], ["EvalVLMOptions.actions", "2 words"]),
        (["eval-vlm", "x", "--dtype", "int8"], ["--dtype", "int8"]),
    ],
)
def test_bad_flags_get_one_line_naming_them_and_write_nothing(cli, tmp_path, argv, words):
    code, out, err = cli("vision", *argv)
    assert code == 2 and out == "" and err.startswith("rlsuite: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)
    assert snapshot(tmp_path) == {}


def test_an_unusable_device_is_refused_before_anything_is_written(cli, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    code, _, err = cli("vision", "train-detector", "--device", "cuda", "--budget", "1")
    assert code == 2 and err.count("\n") == 1 and "'cuda'" in err and "CUDA is not available" in err
    assert snapshot(tmp_path) == {}


def test_out_that_is_a_file_is_refused(cli, tmp_path):
    target = tmp_path / "model.bin"
    target.write_text("mine")
    before = snapshot(tmp_path)
    code, _, err = cli("vision", "train-reward", "--out", str(target), "--budget", "1", "--device", "cpu")
    assert code == 2 and err.count("\n") == 1 and str(target) in err and "not a folder" in err
    assert snapshot(tmp_path) == before


def test_out_holding_other_files_is_refused_without_overwrite(cli, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    before = snapshot(tmp_path)
    code, _, err = cli("vision", "train-detector", "--out", str(folder), "--budget", "1", "--device", "cpu")
    assert code == 2 and err.count("\n") == 1 and str(folder) in err and "--overwrite" in err
    assert "thesis.tex" in err and snapshot(tmp_path) == before


def test_a_folder_being_written_is_refused_naming_the_writer(tmp_path):
    """Two writers, one folder: the second gets the holder's process id (the lock of OutputDir)."""
    from rlsuite.common.io import OutputDir
    from rlsuite.vision.defaults import default_detector

    config = DetectorTrainConfig(max_steps=1, batch_size=2, eval_frames=2, eval_episodes=1, device="cpu")
    with OutputDir(tmp_path / "out", allow_existing=True):
        before = snapshot(tmp_path)
        with pytest.raises(OutputDirError) as info:
            default_detector(config, out=tmp_path / "out", overwrite=True)
    assert f"in use by process {os.getpid()}" in str(info.value) and str(tmp_path / "out") in str(info.value)
    assert snapshot(tmp_path) == before


def test_a_kept_model_that_was_damaged_is_refused_with_the_way_out(tmp_path, detector_dir):
    """A finished folder of the same config whose weights were damaged later: one line, --overwrite named."""
    from rlsuite.common.io import FINISHED
    from rlsuite.vision.defaults import DETECTOR_NAME, config_key, default_detector

    config = DetectorTrainConfig(device="cpu")
    folder = _copy(detector_dir, tmp_path / "kept")
    (folder / "metrics.json").write_text("{}")
    (folder / FINISHED).write_text(json.dumps({"model": DETECTOR_NAME, "config_key": config_key(config)}))
    (folder / "model.safetensors").write_bytes((detector_dir / "model.safetensors").read_bytes()[:100])
    before = snapshot(tmp_path)
    with pytest.raises(ModelFolderError) as info:
        default_detector(config, out=folder)
    assert str(info.value).startswith(f"{folder}: model.safetensors is truncated")
    assert str(info.value).endswith("pass --overwrite to train again") and snapshot(tmp_path) == before


# ----------------------------------------------------------------------------- model folders
def test_truncated_weights_name_the_folder(tmp_path, detector_dir):
    folder = _copy(detector_dir, tmp_path / "det")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    before = snapshot(folder)
    for load in (GridDetector.from_pretrained, DetectionRewardModel.from_pretrained):
        with pytest.raises(ModelFolderError) as info:
            load(folder)
        assert str(info.value).startswith(f"{folder}: model.safetensors is truncated") and "\n" not in str(info.value)
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda f: (f / "config.json").write_text('{"model_type": "rlsuite-grid'), "config.json is not valid JSON"),
        (lambda f: (f / "config.json").write_text(""), "config.json is empty"),
        (lambda f: (f / "config.json").unlink(), "no config.json"),
        (lambda f: (f / "model.safetensors").write_bytes(b"\x01"), "model.safetensors is truncated"),
        (lambda f: (f / "model.safetensors").write_bytes(b"\xff" * 64), "model.safetensors is truncated or not"),
        (lambda f: (f / "model.safetensors").rename(f / "pytorch_model.bin"), "only pickle weights"),
        (lambda f: (f / "model.safetensors").unlink(), "no model.safetensors"),
        (lambda f: (f / "config.json").write_text('{"model_type": "rlsuite-grid-detector", "width": 16}'),
         "model.safetensors does not fit config.json"),
        (lambda f: (f / "config.json").write_text('{"model_type": "rlsuite-grid-detector", "width": 30}'),
         "GridDetectorConfig.width"),
    ],
)
def test_corrupt_detector_folders_name_the_folder(tmp_path, detector_dir, damage, words):
    folder = _copy(detector_dir, tmp_path / "det")
    damage(folder)
    before = snapshot(folder)
    with pytest.raises(ModelFolderError) as info:
        DetectionRewardModel.from_pretrained(folder, device="cpu")
    message = str(info.value)
    assert message.startswith(f"{folder}: ") and words in message and "\n" not in message
    assert snapshot(folder) == before


def test_corrupt_vlm_folders_name_the_folder(tmp_path, llava_dir, cli):
    folder = _copy(llava_dir, tmp_path / "vlm")
    (folder / "tokenizer.json").write_text((folder / "tokenizer.json").read_text()[:100])
    with pytest.raises(ModelFolderError, match=r"tokenizer\.json is not valid JSON"):
        VLMPolicy.from_pretrained(folder, device="cpu")
    (folder / "tokenizer.json").write_bytes((llava_dir / "tokenizer.json").read_bytes())
    head = folder / "value_head.safetensors"
    head.write_bytes(head.read_bytes()[:-8])
    before = snapshot(tmp_path)
    code, out, err = cli("vision", "eval-vlm", str(folder), "--episodes", "1", "--device", "cpu")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"{folder}: value_head.safetensors is truncated" in err
    assert snapshot(tmp_path) == before
    with pytest.raises(ModelFolderError, match="missing-clip: no such model folder"):
        VLMRewardModel.from_pretrained(tmp_path / "missing-clip", goal="the agent is on the target")


def test_a_text_only_model_given_to_eval_vlm_is_one_line(tmp_path, cli):
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path / "text-llama"
    config = LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=2, vocab_size=64)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    code, out, err = cli("vision", "eval-vlm", str(folder), "--episodes", "1", "--device", "cpu")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err == (f"rlsuite: error: {folder}: a 'llama' model, which cannot read an image and generate text; a VLM "
                   "policy needs an image-text-to-text model (e.g. SmolVLM, Qwen2-VL, LLaVA, or the folder `rlsuite "
                   "vision train-vlm-policy` writes)\n")  # fmt: skip


# ----------------------------------------------------------------------------- arguments of the wrappers
def test_wrappers_refuse_bad_frames_naming_the_argument(detector_dir):
    reward = DetectionRewardModel.from_pretrained(detector_dir, device="cpu")
    policy = DetectionPolicy(reward.model)
    target = DetectionTarget(present=["agent"])
    cases = [
        (lambda: reward.rewards(FRAME[..., 0], target, "presence"), ValueError, "images: a grey frame"),
        (lambda: reward.rewards(np.zeros((2, 80, 80, 4), np.uint8), target, "presence"), ValueError, "images: RGBA"),
        (lambda: reward.detect(np.zeros((0, 80, 80, 3), np.uint8)), ValueError, "images: an empty batch"),
        (lambda: reward.detect(FRAME[:78]), ValueError, "images: frames of 78x80 pixels"),
        (lambda: reward.detect(FRAME * 2.0 + 3), ValueError, "images: float frames must hold values in [0, 1]"),
        (lambda: reward.detect("frame.png"), TypeError, "images: expected RGB frames"),
        (lambda: reward.rewards(FRAME, [], "presence"), ValueError, "target: an empty list"),
        (lambda: reward.rewards(np.stack([FRAME] * 2), [target] * 3, "presence"), ValueError, "target: 3 targets"),
        (lambda: policy.predict(FRAME[:72, :72]), ValueError, "observation: frames of 72x72 pixels"),
        (lambda: policy.predict(np.zeros((80, 80, 1), np.uint8)), ValueError, "observation: grey frames"),
        (lambda: DetectionRewardModel.from_pretrained(detector_dir, threshold=2.0), ValueError, "threshold:"),
    ]
    for call, error, words in cases:
        with pytest.raises(error) as info:
            call()
        assert words in str(info.value), (words, str(info.value))


def test_vlm_policy_refuses_empty_or_repeated_actions_and_bad_observations(llava_dir):
    before = snapshot(llava_dir)
    bad_actions = [([], "actions: an empty list"), (["up", "up"], "actions: repeated"), (["up", " "], "non-empty")]
    for actions, words in bad_actions:
        with pytest.raises(ValueError) as info:
            VLMPolicy.from_pretrained(llava_dir, device="cpu", actions=actions)
        assert words in str(info.value)
    policy = VLMPolicy.from_pretrained(llava_dir, device="cpu")
    for obs, words in [
        ({"instruction": "go up"}, "needs an 'image' entry"),
        ({"image": np.stack([FRAME] * 2), "instruction": ["a", "b", "c"]}, "3 instructions for 2 frames"),
        (np.zeros((0, 80, 80, 3), np.uint8), "observation: an empty batch"),
        (np.zeros((80, 80, 4), np.uint8), "observation: RGBA"),
    ]:
        with pytest.raises(ValueError) as info:
            policy.predict(obs)
        assert words in str(info.value)
    assert snapshot(llava_dir) == before


def test_remote_code_and_unknown_types_are_user_errors(tmp_path, llava_dir):
    folder = _copy(llava_dir, tmp_path / "vlm")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "no_such_vlm"}))
    with pytest.raises(UsageError) as info:
        VLMPolicy.from_pretrained(folder, device="cpu")
    assert str(folder) in str(info.value) and "'no_such_vlm'" in str(info.value) and "auto_map" in str(info.value)


# ----------------------------------------------------------------------------- train-vlm-policy --model (issue 27)
@pytest.mark.parametrize(
    ("build", "field", "words"),
    [
        (lambda: ReasoningConfig(grammar=["Answer: now"]), "grammar", "{action} exactly once"),
        (lambda: ReasoningConfig(grammar=[]), "grammar", "no template"),
        (lambda: ReasoningConfig(reasoning_scale=1.5), "reasoning_scale", "[0, 1]"),
        (lambda: VLMModelOptions(finetune="qlora"), "finetune", "qlora"),
        (lambda: VLMModelOptions(lora_rank=0), "lora_rank", ">= 1"),
        (lambda: ReasoningConfig(fallback="jump").grammar_for(("up", "down")), "fallback", "'jump'"),
        (lambda: ReasoningConfig().grammar_for(("Up", "up")), "grammar", "does not read back the action 'up'"),
    ],
)
def test_bad_training_settings_name_the_setting(build, field, words):
    with pytest.raises(ConfigError) as err:
        build()
    message = str(err.value)
    assert "\n" not in message and field in message and words in message, message


def test_train_vlm_policy_refuses_a_folder_that_cannot_generate_text(cli, tmp_path, capsys):
    from rlsuite.testing.vision_models import build_tiny_detr

    folder = build_tiny_detr(tmp_path / "detr")
    capsys.readouterr()  # the build's progress bars
    before = snapshot(tmp_path)
    code, out, err = cli("vision", "train-vlm-policy", "--model", str(folder), "--quick", "--out", "run")
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert str(folder) in err and "cannot read an image and generate text" in err
    assert snapshot(tmp_path) == before  # no run folder, no cache


def test_train_vlm_policy_refuses_a_grammar_no_action_reads_back_before_training(cli, tmp_path, llava_dir):
    before = snapshot(tmp_path)
    code, out, err = cli("vision", "train-vlm-policy", "--model", str(llava_dir), "--reasoning", "--fallback",
                         "jump", "--quick", "--out", "run")  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert "fallback" in err and "'jump'" in err
    assert snapshot(tmp_path) == before


def test_an_adapter_for_another_base_or_without_safetensors_is_refused(tmp_path, llava_dir):
    from rlsuite.vision.adapters import add_lora, load_trained_policy, save_adapter

    policy = VLMPolicy.from_pretrained(llava_dir, device="cpu")
    policy.model = add_lora(policy.model, VLMModelOptions())
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    save_adapter(policy, adapter, llava_dir)
    other = tmp_path / "other-base"
    torch.manual_seed(1)  # the same architecture, other weights
    model, processor = build_tiny_llava(hidden=16, layers=1)
    VLMPolicy(model, processor, device="cpu").save_pretrained(other)
    with pytest.raises(ModelFolderError) as err:
        load_trained_policy(adapter, other, device="cpu")
    message = str(err.value)
    assert "\n" not in message and str(adapter) in message and "another base model" in message
    assert load_trained_policy(adapter, device="cpu") is not None  # its own base (recorded) loads
    (adapter / "adapter_model.safetensors").rename(adapter / "adapter_model.bin")
    with pytest.raises(ModelFolderError, match="safetensors only"):
        load_trained_policy(adapter, device="cpu")


def test_eval_vlm_loads_a_pickled_folder_only_with_trust_pickle(tmp_path, llava_dir, cli):
    from safetensors.torch import load_file

    folder = _copy(llava_dir, tmp_path / "pickled")
    torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    before = snapshot(tmp_path)
    code, out, err = cli("vision", "eval-vlm", str(folder), "--episodes", "1", "--device", "cpu")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"{folder}: holds only pickle weights (pytorch_model.bin)" in err and "--trust-pickle" in err
    assert snapshot(tmp_path) == before
    code, out, err = cli("vision", "eval-vlm", str(folder), "--episodes", "1", "--device", "cpu", "--trust-pickle")
    assert code == 0, err
    assert out.startswith("success ") and out.strip().endswith(f"from {folder}")


def test_train_vlm_policy_loads_a_pickled_model_only_with_trust_pickle(tmp_path, llava_dir):
    """`train-vlm-policy --model` (and `grpo --model`) refuse pickled weights unless --trust-pickle says so."""
    from safetensors.torch import load_file

    from rlsuite.vision.adapters import VLMModelOptions
    from rlsuite.vision.finetune import VLMTrainConfig, load_policy_to_train

    folder = _copy(llava_dir, tmp_path / "pickled")
    weights = load_file(str(folder / "model.safetensors"))
    torch.save(weights, folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    config = VLMTrainConfig(device="cpu")
    with pytest.raises(ModelFolderError, match=r"holds only pickle weights .*--trust-pickle"):
        load_policy_to_train(config, VLMModelOptions(model=str(folder), finetune="full"))
    policy, info = load_policy_to_train(config, VLMModelOptions(model=str(folder), finetune="full", trust_pickle=True))
    loaded = [p.detach() for p in policy.model.parameters()]  # the pickled weights, whatever their names now
    assert all(any(p.shape == w.shape and torch.equal(p, w) for p in loaded) for w in weights.values())
    assert info["finetune"] == "full"
