"""``run_grpo``'s run folder and ``check_grpo_inputs`` (mutation testing): exact files, JSON, log lines, refusals.

One GRPO step of one frame x two answers on the tiny Qwen2-VL with LoRA adapters, on the CPU: the folder holds
the adapters naming their base, ``settings.json`` (the config key, written first), ``metrics.json`` (the report,
the config and the model options) and ``finished.json``; a rerun reuses it, ``overwrite`` trains again, the
cache folder (no ``out``) is the config key's and is emptied of a crashed run's leftovers; an unfinished folder is
refused without ``resume`` (OutputDir's line) and, with it, when it holds other settings (``_check_resumable``'s).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import pytest
import torch

from rlsuite.common.errors import ConfigError, ModelFolderError, OutputDirError, UsageError
from rlsuite.testing.vision_models import save_tiny_vlm
from rlsuite.vision.adapters import VLMModelOptions
from rlsuite.vision.defaults import config_key
from rlsuite.vision.grpo import VisionGRPOConfig, check_grpo_inputs, run_grpo

ONE_STEP = dict(size=3, train_frames=2, eval_frames=2, steps=1, save_steps=0, prompts_per_step=1,
                num_generations=2, max_new_tokens=2, device="cpu")  # fmt: skip
ADAPTER_FILES = ["adapter_config.json", "adapter_model.safetensors", "base_model.json", "value_head.safetensors"]


@pytest.fixture(scope="module")
def qwen(tmp_path_factory) -> Path:
    return save_tiny_vlm("qwen2_vl", tmp_path_factory.mktemp("tiny-qwen2-vl"))


@pytest.fixture
def options(qwen: Path) -> VLMModelOptions:
    return VLMModelOptions(model=str(qwen), finetune="lora", lora_lr=3e-2)


def ours(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "rlsuite.vision.grpo"]


def files_of(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


# ----------------------------------------------------------------------------- check_grpo_inputs
def test_no_model_is_a_config_error_naming_the_model_field() -> None:
    with pytest.raises(ConfigError) as info:
        check_grpo_inputs(VisionGRPOConfig(), VLMModelOptions())
    assert str(info.value) == "vision grpo: no model folder; give --model FOLDER (an image-text-to-text VLM)"
    assert info.value.field == "model"


def test_trust_pickle_and_trust_remote_code_are_passed_on(qwen: Path, tmp_path: Path) -> None:
    """A folder with only pickled weights passes with trust_pickle; a custom model type with trust_remote_code."""
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(qwen / "config.json", pickled / "config.json")
    (pickled / "pytorch_model.bin").write_bytes(b"not read")
    check_grpo_inputs(VisionGRPOConfig(), VLMModelOptions(model=str(pickled), trust_pickle=True))
    with pytest.raises(ModelFolderError, match="^" + re.escape(f"{pickled}: holds only pickle weights")):
        check_grpo_inputs(VisionGRPOConfig(), VLMModelOptions(model=str(pickled)))
    custom = tmp_path / "custom"
    shutil.copytree(qwen, custom)
    config = json.loads((custom / "config.json").read_text())
    config.update(model_type="not_in_transformers", auto_map={"AutoModelForImageTextToText": "modeling_x.X"})
    (custom / "config.json").write_text(json.dumps(config))
    check_grpo_inputs(VisionGRPOConfig(), VLMModelOptions(model=str(custom), trust_remote_code=True))
    with pytest.raises(UsageError, match=r"runs custom code from the folder \(modeling_x.py\)"):
        check_grpo_inputs(VisionGRPOConfig(), VLMModelOptions(model=str(custom), trust_pickle=True))


# ----------------------------------------------------------------------------- run_grpo
def test_a_run_writes_its_files_then_is_reused_then_overwritten(
    options: VLMModelOptions, qwen: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = VisionGRPOConfig(**ONE_STEP)
    key = config_key(config, (options,))
    assert key != config_key(config)  # the model options are in the key
    folder = tmp_path / "run"
    opened: list[Path] = []
    with caplog.at_level(logging.INFO):
        first = run_grpo(config, options, out=str(folder), on_open=opened.append)
    assert opened == [folder] and first.folder == folder and first.reused is False
    assert ours(caplog)[-1] == f"GRPO: saved to {folder}"
    assert files_of(folder) == sorted([*ADAPTER_FILES, "finished.json", "metrics.json", "settings.json", ".lock",
                                       "README.md", "preprocessor_config.json", "tokenizer.json",
                                       "tokenizer_config.json"])  # fmt: skip
    assert json.loads((folder / "settings.json").read_text()) == {"config_key": key}
    finished = json.loads((folder / "finished.json").read_text())
    assert set(finished) == {"finished_at", "model", "config_key"}
    assert (finished["model"], finished["config_key"]) == ("vlm-grpo", key)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(first.metrics))
    assert (metrics["config"], metrics["model_options"]) == (config.to_dict(), options.to_dict())
    assert set(metrics) == {"model", "before", "after", "eval_frames", "train_frames", "reference", "steps",
                            "resumed_from", "train_reward_first", "train_reward_last", "history", "seconds",
                            "config", "model_options"}  # fmt: skip
    base = json.loads((folder / "base_model.json").read_text())
    assert base["base_model"] == str(qwen.resolve())

    caplog.clear()
    with caplog.at_level(logging.INFO):
        again = run_grpo(config, options, out=folder, on_open=opened.append)
    assert ours(caplog) == [f"{folder}: reusing the GRPO run finished earlier with these settings"]
    assert (again.metrics, again.folder, again.reused, opened) == (metrics, folder, True, [folder])

    (folder / "stale.txt").write_text("left by the first run")
    third = run_grpo(config, options, out=folder, overwrite=True)
    assert third.reused is False and not (folder / "stale.txt").exists()
    assert json.loads((folder / "finished.json").read_text())["config_key"] == key


def test_the_cache_folder_is_the_keys_and_a_crashed_run_there_is_replaced(
    options: VLMModelOptions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path / "cache"))
    config = VisionGRPOConfig(**ONE_STEP)
    expected = tmp_path / "cache" / "vision" / "vlm-grpo" / config_key(config, (options,))
    expected.mkdir(parents=True)
    (expected / "partial.bin").write_bytes(b"a crashed run's leftovers")
    result = run_grpo(config, options)
    assert (result.folder, result.reused) == (expected, False)
    assert not (expected / "partial.bin").exists() and (expected / "finished.json").is_file()


def test_an_unfinished_folder_is_refused_without_resume_and_of_other_settings_with_it(
    options: VLMModelOptions, tmp_path: Path
) -> None:
    config = VisionGRPOConfig(**ONE_STEP)
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "settings.json").write_text(json.dumps({"config_key": "0123456789abcdef"}))
    unfinished = f"{folder}: holds an unfinished job; pass --resume to continue it or --overwrite to start again"
    with pytest.raises(OutputDirError, match="^" + re.escape(unfinished) + "$"):
        run_grpo(config, options, out=folder)
    other = (f"{folder}: holds a GRPO run of other settings; --resume continues only the same settings "
             "(pass --overwrite to start again)")  # fmt: skip
    with pytest.raises(OutputDirError, match="^" + re.escape(other) + "$"):
        run_grpo(config, options, out=folder, resume=True)
    assert files_of(folder) == ["settings.json"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA (or simulated CUDA) is available here")
def test_an_unusable_device_fails_before_the_folder_is_written(options: VLMModelOptions, tmp_path: Path) -> None:
    config = VisionGRPOConfig(**dict(ONE_STEP, device="cuda"))
    with pytest.raises(UsageError, match=r"^device: 'cuda' asked for, but CUDA is not available here$"):
        run_grpo(config, options, out=tmp_path / "run", on_open=pytest.fail)
    assert not (tmp_path / "run").exists()
