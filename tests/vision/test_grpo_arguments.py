"""What ``train_grpo`` hands TRL, setting by setting (a wrapper must pass each setting on), the env seeds of its
frames, and one tiny GRPO step: its log lines, its progress task and its report."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import torch

pytest.importorskip("trl")

from recording import RecordingReporter, reporting_to

from rlsuite.testing.vision_models import save_tiny_vlm
from rlsuite.vision.adapters import VLMModelOptions
from rlsuite.vision.grpo import (
    EVAL_SEED,
    TRAIN_SEED,
    VisionGRPOConfig,
    _rewards_line,
    frame_seeds,
    grpo_arguments,
    train_grpo,
)

CONFIG = dict(steps=45, prompts_per_step=3, num_generations=4, max_new_tokens=6, temperature=0.7,
              learning_rate=2e-4, beta=0.05, save_steps=7, seed=2)  # fmt: skip


def test_frame_seeds_leave_the_held_out_frames_alone() -> None:
    assert frame_seeds(VisionGRPOConfig(eval_frames=4, train_frames=8)) == (
        range(EVAL_SEED, EVAL_SEED + 400),
        range(TRAIN_SEED, TRAIN_SEED + 800),
    )
    assert frame_seeds(VisionGRPOConfig(eval_frames=3, train_frames=5, seed=3)) == (
        range(10_000, 10_300),
        range(1_300_000, 1_300_500),
    )


def test_full_fine_tuning_on_the_cpu_passes_every_setting(tmp_path: Path) -> None:
    from trl import GRPOConfig

    config = VisionGRPOConfig(**CONFIG)
    options = VLMModelOptions(lora_lr=3e-2, dtype="float32")
    args = grpo_arguments(config, options, tmp_path, torch.device("cpu"), lora=False, suppress=[5, 9])
    assert args == {
        "output_dir": str(tmp_path / "checkpoints"),
        "max_steps": 45,
        "per_device_train_batch_size": 12,
        "num_generations": 4,
        "max_completion_length": 6,
        "temperature": 0.7,
        "learning_rate": 2e-4,
        "beta": 0.05,
        "seed": 2,
        "data_seed": 2,
        "report_to": "none",
        "disable_tqdm": True,
        "logging_steps": 2,
        "save_strategy": "steps",
        "save_steps": 7,
        "save_total_limit": 2,
        "use_cpu": True,
        "bf16": False,
        "generation_kwargs": {"suppress_tokens": [5, 9]},
    }
    built = GRPOConfig(**args)  # TRL takes them as they are
    assert (built.learning_rate, built.save_steps, built.logging_steps, built.use_cpu) == (2e-4, 7, 2, True)


def test_lora_in_bfloat16_on_another_device_without_checkpoints(tmp_path: Path) -> None:
    config = VisionGRPOConfig(**dict(CONFIG, steps=19, save_steps=0))
    options = VLMModelOptions(lora_lr=3e-2, dtype="bfloat16")
    args = grpo_arguments(config, options, tmp_path, torch.device("cuda"), lora=True, suppress=[])
    assert (args["learning_rate"], args["logging_steps"], args["save_strategy"], args["save_steps"]) == (
        3e-2,
        1,
        "no",
        500,
    )
    assert (args["use_cpu"], args["bf16"], args["generation_kwargs"]) == (False, True, {"suppress_tokens": None})


class ProgressRecorder(RecordingReporter):
    """Also keeps the trainer's ``update`` calls (TRL reports its global step)."""

    def __init__(self) -> None:
        super().__init__()
        self.completed: list[Any] = []

    def update(self, completed: float | None = None, total: float | None = None, **info: Any) -> None:
        self.completed.append(completed)


def test_one_step_logs_reports_and_shows_progress(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = save_tiny_vlm("qwen2_vl", tmp_path / "tiny-qwen2-vl")
    config = VisionGRPOConfig(size=3, train_frames=2, eval_frames=2, steps=1, save_steps=0, prompts_per_step=1,
                              num_generations=2, device="cpu")  # fmt: skip
    options = VLMModelOptions(model=str(folder), finetune="lora", lora_lr=3e-2)
    with caplog.at_level(logging.INFO), reporting_to(ProgressRecorder()) as progress:
        model, _, report = train_grpo(config, options, tmp_path / "run")
    assert next(model.parameters()).device.type == "cpu"
    assert ("GRPO steps", 1, "step") in progress.started and progress.completed[-1] == 1
    ours = [r.getMessage() for r in caplog.records if r.name == "rlsuite.vision.grpo"]
    assert ours == [
        f"{folder}: 30384 parameters, lora fine-tuning of 7680",
        f"before GRPO: reward {_rewards_line(report['before'])} on 2 held-out frames",
        f"after GRPO: reward {_rewards_line(report['after'])} on 2 held-out frames",
    ]
    metrics = [r.getMessage() for r in caplog.records if r.name == "trl.metrics"]
    assert metrics and all(m.startswith("grpo step 1: {") for m in metrics)
    assert (report["eval_frames"], report["train_frames"], report["steps"]) == (2, 2, 1)
    assert (report["reference"], report["resumed_from"], report["model"]["finetune"]) == ("env (exact boxes)", None,
                                                                                          "lora")  # fmt: skip
    history = report["history"]
    assert history and report["train_reward_first"] == history[0]["reward"] == report["train_reward_last"]
    assert json.dumps(report["before"]) and not (tmp_path / "run" / "checkpoints" / "checkpoint-1").exists()
