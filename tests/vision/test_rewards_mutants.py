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


def _tiny_owlvit(folder) -> None:
    """A tiny OWL-ViT from configs with the local word tokenizer (as tests/vision/test_detection.py builds it)."""
    from transformers import OwlViTConfig, OwlViTForObjectDetection, OwlViTProcessor
    from transformers.models.owlvit.image_processing_pil_owlvit import OwlViTImageProcessorPil

    tok = build_word_tokenizer()
    ids = {"bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id}
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}
    torch.manual_seed(0)
    config = OwlViTConfig(
        text_config={"vocab_size": len(tok), "max_position_embeddings": 16, **small, **ids},
        vision_config={"image_size": 80, "patch_size": 16, **small},
        projection_dim=32,
    )
    OwlViTForObjectDetection(config).save_pretrained(folder)
    size = {"height": 80, "width": 80}
    processor = OwlViTProcessor(image_processor=OwlViTImageProcessorPil(size=size, crop_size=size), tokenizer=tok)
    processor.save_pretrained(folder)


def test_open_vocabulary_boxes_are_in_pixels_and_queries_of_any_length_are_padded(tmp_path) -> None:
    """OWL-ViT: queries of one and three words in one batch (padded), and each frame's boxes scaled to its pixels,
    as the processor's post-processing gives them for the frames' sizes."""
    from rlsuite.vision.rewards import DetectionRewardModel

    _tiny_owlvit(tmp_path)
    queries = ["agent", "the target cell"]
    model = DetectionRewardModel.from_pretrained(tmp_path, threshold=0.0, device="cpu", queries=queries)
    frames = np.random.default_rng(2).integers(0, 256, size=(2, 80, 80, 3), dtype=np.uint8)
    dets = model.detect(frames)
    inputs = model.processor(text=[queries] * 2, images=list(frames), return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model.model(**inputs)
    expected = model.processor.post_process_grounded_object_detection(
        out, threshold=0.0, target_sizes=[(80, 80)] * 2, text_labels=[queries] * 2
    )
    for d, e in zip(dets, expected, strict=True):
        np.testing.assert_allclose(d.boxes, e["boxes"].numpy(), rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(d.labels, e["labels"].numpy())
    assert max(float(np.abs(d.boxes).max()) for d in dets) > 2  # pixels, not fractions of the frame
