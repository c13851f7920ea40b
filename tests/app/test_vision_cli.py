"""``rlsuite vision ...`` from the command line at small budgets: every config field is a flag, the
models are kept in folders keyed by their config (the same config is reused, a new budget trains
anew), ``--out`` folders are never overwritten unasked, and eval-vlm reads what train-vlm-policy wrote."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from rlsuite.app.vision import EvalVLMOptions, QuickOption, VisionOutputOptions
from rlsuite.vision.adapters import VLMModelOptions
from rlsuite.vision.contrastive import ContrastiveTrainConfig
from rlsuite.vision.detection import DetectorTrainConfig
from rlsuite.vision.finetune import VLMEvalConfig, VLMTrainConfig
from rlsuite.vision.reasoning import ReasoningConfig

DETECTOR = ["--budget", "3", "--batch_size", "4", "--max_size", "4", "--eval_frames", "8", "--eval_episodes", "2",
            "--device", "cpu"]  # fmt: skip
REWARD = ["--budget", "3", "--batch_size", "4", "--pool", "8", "--size", "3", "--eval_episodes", "2", "--device", "cpu"]
VLM = ["--budget", "2", "--bc_layouts", "1", "--bc_batch", "4", "--ppo_updates", "1", "--value_warmup", "0",
       "--ppo_envs", "2", "--ppo_steps", "2", "--ppo_epochs", "1", "--eval_episodes", "2", "--size", "3",
       "--hidden", "16", "--layers", "1", "--device", "cpu"]  # fmt: skip



def _folder(out: str) -> Path:
    line = next(x for x in out.splitlines() if x.startswith("model folder"))
    return Path(line.split(None, 2)[2])


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def test_train_detector_trains_once_per_config(cli, tmp_path):
    code, out, err = cli("vision", "train-detector", *DETECTOR)
    assert code == 0, err
    folder = _folder(out)
    assert folder.parent == tmp_path / "cache" / "vision" / "grid-detector" and "(trained now)" in out
    assert {"model.safetensors", "config.json", "metrics.json", "finished.json", "log.txt"} <= {
        p.name for p in folder.iterdir()
    }
    assert _metrics(folder)["training"]["steps"] == 3 and _metrics(folder)["train_config"]["batch_size"] == 4
    assert "AP50" in out and "DetectionPolicy  success" in out
    # each metric printed once: the library's own result line goes to log.txt, not a second time to stderr
    assert "AP50" not in err and "grid detector: AP50" in (folder / "log.txt").read_text()
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    # The same config again, even with other threads: reused, not retrained.
    code, out, _ = cli("vision", "train-detector", *DETECTOR, "--threads", "1")
    assert code == 0 and _folder(out) == folder and "reused" in out
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    # A new budget is a new config: trained anew in its own folder (the cached metrics are not printed).
    code, out, _ = cli("vision", "train-detector", *DETECTOR, "--budget", "4")
    assert code == 0 and _folder(out) != folder and "(trained now)" in out
    assert _metrics(_folder(out))["training"]["steps"] == 4 and "4 steps" in out
    # The same budget from a YAML file and --set: the same config, so the same folder, reused.
    config = tmp_path / "detector.yaml"
    config.write_text("max_steps: 4\nbatch_size: 4\nmax_size: 4\n")
    code, out2, _ = cli("vision", "train-detector", "--config", str(config), "--set", "eval_frames=8",
                        "eval_episodes=2", "--device", "cpu")  # fmt: skip
    assert code == 0 and _folder(out2) == _folder(out) and "reused" in out2


def test_train_reward_trains_once_per_config(cli):
    code, out, err = cli("vision", "train-reward", *REWARD)
    assert code == 0, err
    folder = _folder(out)
    metrics = _metrics(folder)
    assert metrics["training"]["steps"] == 3 and metrics["rank_correlation"]["episodes"] == 2
    assert "Spearman(reward, -distance)" in out and "(trained now)" in out
    code, out, _ = cli("vision", "train-reward", *REWARD)
    assert code == 0 and _folder(out) == folder and "reused" in out
    code, out, _ = cli("vision", "train-reward", *REWARD, "--set", "steps=4")
    assert code == 0 and _folder(out) != folder and _metrics(_folder(out))["training"]["steps"] == 4


def test_train_vlm_policy_to_out_then_eval_vlm(cli, tmp_path):
    out_dir = tmp_path / "policy"
    code, out, err = cli("vision", "train-vlm-policy", *VLM, "--out", str(out_dir))
    assert code == 0, err
    assert _folder(out) == out_dir and (out_dir / "finished.json").is_file()
    metrics = _metrics(out_dir)
    assert metrics["behaviour_clone"]["steps"] == 2 and metrics["ppo_finetune"]["updates"] == 1
    assert [line.split()[0] for line in out.splitlines()[:4]] == ["stage", "untrained", "after", "after"]
    stamp = (out_dir / "model.safetensors").stat().st_mtime_ns
    code, out, _ = cli("vision", "train-vlm-policy", *VLM, "--output_dir", str(out_dir))
    assert code == 0 and "reused" in out and (out_dir / "model.safetensors").stat().st_mtime_ns == stamp
    # Another config into a folder holding a finished model: refused, one line, the folder untouched.
    code, out, err = cli("vision", "train-vlm-policy", *VLM, "--budget", "3", "--out", str(out_dir))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert str(out_dir) in err and "--overwrite" in err
    assert (out_dir / "model.safetensors").stat().st_mtime_ns == stamp
    # --force (alias of --overwrite) retrains it.
    code, out, _ = cli("vision", "train-vlm-policy", *VLM, "--budget", "3", "--out", str(out_dir), "--force")
    assert code == 0 and _metrics(out_dir)["behaviour_clone"]["steps"] == 3
    # eval-vlm reads the folder (positional or --model / --model_name_or_path)
    for how in ([str(out_dir)], ["--model", str(out_dir)], ["--model_name_or_path", str(out_dir)]):
        code, out, err = cli("vision", "eval-vlm", *how, "--episodes", "2", "--size", "3", "--device", "cpu")
        assert code == 0, err
        assert out.startswith("success ") and f"LlavaForConditionalGeneration from {out_dir}" in out


@pytest.mark.slow
def test_train_vlm_policy_quick_on_a_tiny_qwen2_vl_folder_saves_adapters_then_eval_vlm(cli, tmp_path, capsys):
    """``--model <tiny Qwen2-VL> --quick --finetune lora``: the adapters and value head saved as safetensors
    with the base's fingerprint, the run reused with the same settings, and eval-vlm loads base + adapter."""
    import torch

    from rlsuite.testing.vision_models import build_tiny_qwen2_vl

    base = tmp_path / "qwen2-vl"
    torch.manual_seed(0)
    model, processor = build_tiny_qwen2_vl(hidden=32, layers=1)
    model.save_pretrained(base)
    processor.save_pretrained(base)
    capsys.readouterr()
    out_dir = tmp_path / "run"
    argv = ["vision", "train-vlm-policy", "--model", str(base), "--quick", "--finetune", "lora", "--out", str(out_dir),
            "--device", "cpu"]  # fmt: skip
    code, out, err = cli(*argv)
    assert code == 0, err
    assert {"adapter_model.safetensors", "adapter_config.json", "value_head.safetensors", "base_model.json",
            "finished.json", "metrics.json"} <= {p.name for p in out_dir.iterdir()}  # fmt: skip
    assert not (out_dir / "model.safetensors").exists()  # the adapter only, not a copy of the base
    metrics = _metrics(out_dir)
    assert metrics["model"]["finetune"] == "lora" and metrics["behaviour_clone"]["steps"] == 100
    assert "lora fine-tuning" in out
    code, out, _ = cli(*argv)
    assert code == 0 and "reused" in out
    code, out, err = cli("vision", "eval-vlm", str(out_dir), "--episodes", "2", "--size", "3", "--device", "cpu")
    assert code == 0, err
    assert out.startswith("success ") and f"Qwen2VLForConditionalGeneration + LoRA from {out_dir}" in out


@pytest.mark.parametrize(
    ("command", "configs", "flags"),
    [
        ("train-detector", [DetectorTrainConfig, VisionOutputOptions], ["--budget", "--output_dir", "--force"]),
        ("train-reward", [ContrastiveTrainConfig, VisionOutputOptions], ["--budget", "--output_dir", "--force"]),
        ("train-vlm-policy", [VLMTrainConfig, VLMModelOptions, ReasoningConfig, VisionOutputOptions, QuickOption],
         ["--budget", "--output_dir", "--force", "--model_name_or_path"]),
        ("eval-vlm", [EvalVLMOptions, VLMEvalConfig], ["--model_name_or_path", "FOLDER"]),
    ],
)
def test_help_lists_every_setting(cli, capsys, command, configs, flags):
    with pytest.raises(SystemExit) as info:
        cli("vision", command, "--help")
    assert info.value.code == 0
    help_text = capsys.readouterr().out
    names = [f.name for c in configs for f in dataclasses.fields(c)]
    assert len(names) >= (30 if command == "train-vlm-policy" else 5)
    for name in names:
        assert re.search(f"--{name}[ ,\\n]", help_text), name
    for flag in [*flags, "--config", "--set", "--seed" if command != "eval-vlm" else "--device"]:
        assert flag in help_text, flag
