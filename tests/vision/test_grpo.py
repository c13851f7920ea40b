"""GRPO of a local VLM with detection rewards (issue 27 point 3, Visual-RFT's recipe) through TRL's GRPOTrainer.

Answers are parsed and rewarded by hand-checkable rules; training runs on the tiny Qwen2-VL built from configs
(hidden 32, one layer, 30k parameters), on the CPU in float32 and, under ``--simulate-cuda``, on the "cuda"
device path in bfloat16. The measured numbers in the docstrings are from seeded runs on the CPU (and, where
they say so, under ``--simulate-cuda``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rlsuite.testing.vision_models import save_tiny_vlm
from rlsuite.vision.adapters import VLMModelOptions, adapter_state, load_trained_policy
from rlsuite.vision.grpo import (
    Answer,
    Reference,
    VisionGRPOConfig,
    answer_reward,
    chat_processor,
    conversation,
    frames_and_references,
    parse_answer,
    run_grpo,
    train_grpo,
)
from rlsuite.vision.policies import load_vlm

# The --quick budget of `rlsuite vision grpo` (rlsuite.app.vision.QUICK_GRPO; it sets LoRA at 3e-2).
QUICK = dict(size=3, train_frames=128, eval_frames=32, steps=60, save_steps=0, learning_rate=1e-2)


def _dtype() -> str:
    """bfloat16 where "auto" picks CUDA (the simulated-CUDA job), float32 on the CPU."""
    return "bfloat16" if torch.cuda.is_available() else "float32"


@pytest.fixture(scope="module")
def qwen_folder(tmp_path_factory):
    return save_tiny_vlm("qwen2_vl", tmp_path_factory.mktemp("tiny-qwen2-vl"))


# ----------------------------------------------------------------------------- answers and rewards
@pytest.mark.parametrize(
    ("text", "count"),
    [("two", 2), ("there are 3 of them", 3), ("Zero.", 0), ("one two", 1), ("up left", None), ("", None)],
)
def test_count_answers_read_the_first_number(text, count):
    answer = parse_answer(text, "count")
    assert (answer.count if answer is not None else None) == count


def test_box_answers_read_json_boxes_and_cells():
    answer = parse_answer('[{"bbox_2d": [16, 0, 32, 16]}] and row three column one', "boxes", cell_px=16)
    np.testing.assert_array_equal(answer.boxes, [[16, 0, 32, 16], [0, 32, 16, 48]])  # 1-indexed cells
    assert answer.count == 2
    assert parse_answer("[]", "boxes").count == 0 and parse_answer("none", "boxes").count == 0
    assert parse_answer("up up", "boxes") is None


def test_rewards_by_hand():
    cell = np.array([[16.0, 0.0, 32.0, 16.0]])
    two = Reference(np.array([[16.0, 0.0, 32.0, 16.0], [0.0, 32.0, 16.0, 48.0]]))
    none = Reference(np.zeros((0, 4)))
    half = Answer(1, np.array([[16.0, 0.0, 32.0, 8.0]]))  # half of the first box: IoU 0.5, second box missed
    assert answer_reward(half, two, "iou", "forbidden") == pytest.approx(0.25)
    assert answer_reward(Answer(2, np.concatenate([cell, [[0, 32, 16, 48]]])), two, "iou", "forbidden") == 1.0
    assert answer_reward(half, two, "count", "forbidden") == 0.0
    assert answer_reward(Answer(2), two, "count", "forbidden") == 1.0
    assert answer_reward(half, two, "presence", "forbidden") == 1.0
    assert answer_reward(Answer(0), none, "presence", "forbidden") == 1.0
    assert answer_reward(Answer(1), none, "presence", "forbidden") == 0.0
    assert answer_reward(Answer(0), none, "iou", "forbidden") == 1.0
    # GIoU of a box one cell away: IoU 0, hull 32x16 = 2 boxes' union -> 0 - (512 - 512) / 512 = 0
    assert answer_reward(Answer(1, np.array([[0.0, 0.0, 16.0, 16.0]])), Reference(cell), "giou", "x") == 0.0
    for kind in ("count", "presence", "iou", "giou"):
        assert answer_reward(None, two, kind, "forbidden") == 0.0  # an unparsed answer scores nothing


def test_frames_vary_in_count_and_references_are_the_exact_boxes():
    config = VisionGRPOConfig(size=3, max_forbidden=3)
    frames, refs = frames_and_references(config, range(40), 40)
    assert len(frames) == 40 and frames[0].shape == (48, 48, 3)
    assert sorted({r.count for r in refs}) == [0, 1, 2, 3]
    agent = frames_and_references(VisionGRPOConfig(target_class="agent"), range(5), 5)[1]
    assert all(r.count == 1 for r in agent)
    held_out = {f.tobytes() for f in frames[:10]}
    kept, _ = frames_and_references(config, range(40), 30, exclude=held_out)
    assert not held_out & {f.tobytes() for f in kept}


def test_a_detector_folder_gives_the_references(tmp_path):
    """With --detector the reference boxes are the detector's on each frame (here an untrained grid detector at
    threshold 0.1, whose boxes are not the env's), not the env's exact ones."""
    from rlsuite.vision.detection import GridDetector
    from rlsuite.vision.grpo import load_detector
    from rlsuite.vision.rewards import DetectionRewardModel

    torch.manual_seed(0)
    GridDetector().save_pretrained(tmp_path)
    config = VisionGRPOConfig(detector=str(tmp_path), detector_threshold=0.1, device="cpu")
    frames, refs = frames_and_references(config, range(4), 4, detector=load_detector(config))
    detections = DetectionRewardModel.from_pretrained(tmp_path, threshold=0.1, device="cpu").detect(np.stack(frames))
    for ref, det in zip(refs, detections, strict=True):
        np.testing.assert_array_equal(ref.boxes, det.of_class(2).boxes)  # class 2: forbidden
    exact = frames_and_references(config, range(4), 4)[1]
    assert [r.count for r in refs] != [r.count for r in exact]


def test_the_processor_trl_gets_renders_the_image_then_the_question(qwen_folder):
    from transformers import ProcessorMixin

    _, loaded, _, _ = load_vlm(qwen_folder, dtype="float32", device="cpu")
    processor = chat_processor(loaded)
    assert isinstance(processor, ProcessorMixin)
    text = processor.apply_chat_template(conversation("how many ?"), add_generation_prompt=True, tokenize=False)
    assert text == "<image> how many ?"
    frames, _ = frames_and_references(VisionGRPOConfig(), range(2), 2)
    from PIL import Image

    batch = processor(images=[[Image.fromarray(f)] for f in frames], text=[text] * 2, return_tensors="pt")
    image_id = loaded.tokenizer.convert_tokens_to_ids("<image>")
    assert (batch["input_ids"] == image_id).sum(1).tolist() == [25, 25]  # 80x80 after resizing, 2x2 merged


def test_help_lists_every_setting(cli, capsys):
    import dataclasses
    import re

    from rlsuite.app.vision import QuickOption, ResumeOption, VisionOutputOptions

    with pytest.raises(SystemExit) as info:
        cli("vision", "grpo", "--help")
    assert info.value.code == 0
    help_text = capsys.readouterr().out
    configs = (VisionGRPOConfig, VLMModelOptions, VisionOutputOptions, ResumeOption, QuickOption)
    for name in [f.name for c in configs for f in dataclasses.fields(c)]:
        assert re.search(f"--{name}[ ,\\n]", help_text), name
    for flag in ("--budget", "--max_steps", "--output_dir", "--force", "--config", "--set"):
        assert flag in help_text, flag


# ----------------------------------------------------------------------------- training
def test_run_folder_saves_adapters_reuses_and_resumes(qwen_folder, tmp_path):
    """Two GRPO steps with a checkpoint at step 2: the folder holds safetensors adapters naming their base, a rerun
    of the same settings reuses it, and a run whose finished marker is gone resumes from the checkpoint."""
    config = VisionGRPOConfig(**dict(QUICK, steps=2, save_steps=2, train_frames=8, eval_frames=4), device="cpu")
    options = VLMModelOptions(model=str(qwen_folder), finetune="lora", lora_lr=3e-2)
    first = run_grpo(config, options, out=tmp_path / "run")
    folder = first.folder
    assert not first.reused and first.metrics["steps"] == 2
    assert (folder / "adapter_model.safetensors").is_file() and not (folder / "adapter_model.bin").exists()
    assert json.loads((folder / "base_model.json").read_text())["base_model"] == str(qwen_folder.resolve())
    assert (folder / "checkpoints" / "checkpoint-2" / "trainer_state.json").is_file()
    load_trained_policy(folder, device="cpu", dtype="float32")  # base + adapter, the fingerprint checked
    assert run_grpo(config, options, out=folder).reused
    (folder / "finished.json").unlink()
    again = run_grpo(config, options, out=folder, resume=True)
    assert not again.reused and again.metrics["resumed_from"].endswith("checkpoint-2")


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["qwen2_vl", "llava", "idefics3"])
def test_lora_grpo_changes_the_adapters_and_raises_the_reward(arch, tmp_path):
    """Each tiny architecture (hidden 32, one layer, output layer at std 32**-0.5), LoRA forced at 1e-2, the
    --quick budget otherwise (60 steps of 2 frames x 8 answers), count task on forbidden cells (0-3 per 3x3
    layout), rewards count + presence, seed 0. Measured, greedy answers on 32 held-out frames, count / presence
    before -> after, on the CPU in float32 | on simulated CUDA in bfloat16 weights (float32 adapters):
    Qwen2-VL 0.000 / 0.281 -> 0.281 / 0.688 ("one") | 0.000 / 0.250 -> the same; Llava 0.000 / 0.312 -> 0.125 /
    0.688 ("three") | 0.000 / 0.469 -> the same; Idefics3 0.000 / 0.000 -> 0.281 / 0.688 ("two") | the same.
    The answers become one number whatever the frame (a constant answer's best). With the builders' output layer
    (std 0.02) Idefics3 went "nine" -> "ten" (0.000 / 0.688 both) and its training reward stayed flat at 3e-3,
    1e-2 and 3e-2: with the output layer and final norm frozen, no token's logit can rise more than 0.8 nats
    above the vocabulary's mean, so sampled answers stay near uniform. At --quick's 3e-2 with this output layer,
    Qwen2-VL and Idefics3 settle on "nine" (count 0.000, presence 0.688), Llava on "three" as at 1e-2."""
    folder = save_tiny_vlm(arch, tmp_path / f"tiny-{arch}", output_std=32**-0.5)
    config = VisionGRPOConfig(**QUICK, device="auto")
    options = VLMModelOptions(model=str(folder), finetune="lora", lora_lr=1e-2, dtype=_dtype())
    model, _, report = train_grpo(config, options, tmp_path / "run")
    assert report["model"]["finetune"] == "lora" and report["steps"] == 60
    assert next(model.parameters()).device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    lora_b = {k: v for k, v in adapter_state(model).items() if "lora_B" in k}
    assert lora_b and all(v.abs().sum() > 0 for v in lora_b.values())  # B starts at zero: every one moved
    before, after = report["before"], report["after"]
    assert after["parsed"] > before["parsed"]
    assert after["count"] > before["count"] + 0.1 and after["total"] > before["total"] + 0.3


@pytest.mark.slow
def test_quick_command_trains_saves_adapters_and_reports(cli, qwen_folder, tmp_path):
    """`rlsuite vision grpo --model <tiny Qwen2-VL> --finetune lora --quick` from the CLI: the before/after table, an
    adapter folder that loads back, and a rerun that reuses it."""
    out = tmp_path / "run"
    argv = ("vision", "grpo", "--model", str(qwen_folder), "--finetune", "lora", "--quick", "--out", str(out))
    code, text, _ = cli(*argv, "--device", "cpu")
    assert code == 0, text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}
    assert float(rows["total"][1]) > float(rows["total"][0])  # after > before
    assert "trained now" in text and (out / "adapter_model.safetensors").is_file() and (out / "finished.json").is_file()
    code, text, _ = cli(*argv, "--device", "cpu")
    assert code == 0 and "reused" in text
