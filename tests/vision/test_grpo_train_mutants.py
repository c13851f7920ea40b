"""``train_grpo`` called directly (mutation testing): the device it is handed, no resuming unasked, the detector.

``run_grpo`` resolves the device and checks the detector before it calls ``train_grpo``; called on its own,
``train_grpo`` trains on the device it is handed (else the config's, resolved: asking for CUDA where there is
none is the one-line ``UsageError``), leaves a checkpoint in its folder alone unless ``resume``, measures on
exactly ``eval_frames`` frames and loads the config's detector (a folder that is none is refused).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from rlsuite.common.errors import ModelFolderError, UsageError
from rlsuite.testing.vision_models import save_tiny_vlm
from rlsuite.vision.adapters import VLMModelOptions
from rlsuite.vision.grpo import VisionGRPOConfig, train_grpo

# one GRPO step of one frame x two answers of two tokens; two held-out frames
ONE_STEP = dict(size=3, train_frames=2, eval_frames=2, steps=1, save_steps=0, prompts_per_step=1,
                num_generations=2, max_new_tokens=2)  # fmt: skip


@pytest.fixture(scope="module")
def options(tmp_path_factory) -> VLMModelOptions:
    folder = save_tiny_vlm("qwen2_vl", tmp_path_factory.mktemp("tiny-qwen2-vl"))
    return VLMModelOptions(model=str(folder), finetune="full", dtype="float32")


def test_train_grpo_runs_on_the_cpu_it_is_handed_and_resumes_nothing_unasked(options, tmp_path: Path) -> None:
    """The config asks for CUDA, the caller hands the CPU: it trains there (on a CPU-only torch, resolving the
    config's device instead would be an error); a checkpoint in the folder is not resumed from."""
    folder = tmp_path / "run"
    stale = folder / "checkpoints" / "checkpoint-3"
    stale.mkdir(parents=True)
    (stale / "trainer_state.json").write_text(json.dumps({"global_step": 3}))
    config = VisionGRPOConfig(**ONE_STEP, device="cuda")
    model, _, report = train_grpo(config, options, folder, torch.device("cpu"))
    assert next(model.parameters()).device == torch.device("cpu")
    assert (report["steps"], report["resumed_from"]) == (1, None)
    assert (report["eval_frames"], report["train_frames"]) == (2, 2)
    assert report["reference"] == "env (exact boxes)"


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA (or simulated CUDA) is available here")
def test_train_grpo_resolves_the_configs_device_when_handed_none(options, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^device: 'cuda' asked for, but CUDA is not available here$"):
        train_grpo(VisionGRPOConfig(**ONE_STEP, device="cuda"), options, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_train_grpo_loads_the_configs_detector(options, tmp_path: Path) -> None:
    empty = tmp_path / "no-detector"
    empty.mkdir()
    config = VisionGRPOConfig(**ONE_STEP, detector=str(empty), device="cpu")
    with pytest.raises(ModelFolderError, match="^" + re.escape(f"{empty}: not a detector rlsuite can load (")):
        train_grpo(config, options, tmp_path / "run")
