"""VLMRewardModel on a (simulated where there is none) CUDA device, checked exactly against the CPU
(mutation-testing survivors)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from rlsuite.testing.vision_models import GOAL_TEXT
from rlsuite.vision.models import build_tiny_clip, build_word_tokenizer
from rlsuite.vision.rewards import VLMRewardModel


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("tiny-clip")
    torch.manual_seed(0)
    tokenizer = build_word_tokenizer()
    model, processor = build_tiny_clip(tokenizer, image_size=80, hidden=32, layers=1)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_frames_reach_the_model_on_its_cuda_device(clip_dir) -> None:
    """The processor's pixels (on the host) move to the model's device: on CUDA the image embeddings and
    rewards equal the CPU's."""
    from cuda_sim import simulate_cuda

    frames = np.random.default_rng(0).integers(0, 256, size=(3, 80, 80, 3), dtype=np.uint8)
    cpu = VLMRewardModel.from_pretrained(clip_dir, goal=GOAL_TEXT, device="cpu", dtype="float32")
    expected, expected_rewards = cpu.embed_images(frames), cpu.rewards(frames)
    with contextlib.nullcontext() if torch.cuda.is_available() else simulate_cuda():
        gpu = VLMRewardModel.from_pretrained(clip_dir, goal=GOAL_TEXT, device="cuda", dtype="float32")
        emb = gpu.embed_images(frames)
        assert emb.device.type == "cuda"
        got, rewards = emb.cpu(), gpu.rewards(frames)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rewards, expected_rewards, rtol=1e-5, atol=1e-5)


def test_the_reward_models_image_processors_are_the_pil_ones_asked_for(clip_dir, tmp_path, monkeypatch) -> None:
    """``backend="pil"``: no fallback from another backend (transformers says so once per message: every
    message is kept here)."""
    import logging

    from rlsuite.testing.vision_models import build_tiny_detr, build_tiny_grounding_dino
    from rlsuite.vision.rewards import DetectionRewardModel

    said: list[str] = []
    monkeypatch.setattr(logging.Logger, "warning_once", lambda self, msg, *a, **k: said.append(str(msg)))
    rm = VLMRewardModel.from_pretrained(clip_dir, goal=GOAL_TEXT, device="cpu")
    assert type(rm.processor).__name__ == "CLIPImageProcessorPil"
    torch.manual_seed(0)
    detr = DetectionRewardModel.from_pretrained(build_tiny_detr(tmp_path / "detr"), device="cpu")
    assert type(detr.processor).__name__ == "DetrImageProcessorPil"
    gdino = DetectionRewardModel.from_pretrained(build_tiny_grounding_dino(tmp_path / "gdino"), device="cpu")
    assert type(gdino.processor.image_processor).__name__ == "GroundingDinoImageProcessorPil"
    assert not [m for m in said if "backend" in m]


@pytest.mark.parametrize("mm", [False, True], ids=["grounding-dino", "mm-grounding-dino"])
def test_grounding_dino_rewards_on_cuda_equal_the_cpus(tmp_path, mm: bool) -> None:
    """Model, inputs and the frame sizes that scale its boxes all on the (simulated) GPU: the CPU's detections."""
    from cuda_sim import simulate_cuda

    from rlsuite.testing.vision_models import build_tiny_grounding_dino
    from rlsuite.vision.rewards import DetectionRewardModel

    torch.manual_seed(0)
    folder = build_tiny_grounding_dino(tmp_path / "gdino", mm=mm)
    queries = ["agent", "target", "forbidden"]
    frames = np.random.default_rng(1).integers(0, 256, size=(2, 80, 80, 3), dtype=np.uint8)
    kw = {"threshold": 0.0, "dtype": "float32", "queries": queries}
    expected = DetectionRewardModel.from_pretrained(folder, device="cpu", **kw).detect(frames)
    with contextlib.nullcontext() if torch.cuda.is_available() else simulate_cuda():
        model = DetectionRewardModel.from_pretrained(folder, device="cuda", **kw)
        assert {p.device.type for p in model.model.parameters()} == {"cuda"}
        got = model.detect(frames)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g.labels, e.labels)
        np.testing.assert_allclose(g.boxes, e.boxes, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(g.scores, e.scores, rtol=1e-5, atol=1e-6)
