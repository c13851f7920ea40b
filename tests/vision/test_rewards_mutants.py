"""VLMRewardModel on a (simulated where there is none) CUDA device, checked exactly against the CPU
(mutation-testing survivors)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_detection import save_tiny_owlvit
from test_rewards import tiny_clip_dir  # noqa: F401  (the fixture: a tiny CLIP saved with its processor)

from rlsuite.testing.vision_models import GOAL_TEXT
from rlsuite.vision.rewards import VLMRewardModel


def test_frames_reach_the_model_on_its_cuda_device(tiny_clip_dir) -> None:  # noqa: F811
    """The processor's pixels (on the host) move to the model's device: on CUDA the image embeddings and
    rewards equal the CPU's."""
    from cuda_sim import cuda_or_simulated

    frames = np.random.default_rng(0).integers(0, 256, size=(3, 80, 80, 3), dtype=np.uint8)
    cpu = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, device="cpu", dtype="float32")
    expected, expected_rewards = cpu.embed_images(frames), cpu.rewards(frames)
    with cuda_or_simulated():
        gpu = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, device="cuda", dtype="float32")
        emb = gpu.embed_images(frames)
        assert emb.device.type == "cuda"
        got, rewards = emb.cpu(), gpu.rewards(frames)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rewards, expected_rewards, rtol=1e-5, atol=1e-5)


def test_the_reward_models_image_processors_are_the_pil_ones_asked_for(
    tiny_clip_dir,  # noqa: F811  (the imported fixture)
    tmp_path,
    monkeypatch,
) -> None:
    """``backend="pil"``: no fallback from another backend (transformers says so once per message: every
    message is kept here)."""
    import logging

    from rlsuite.testing.vision_models import build_tiny_detr, build_tiny_grounding_dino
    from rlsuite.vision.rewards import DetectionRewardModel

    said: list[str] = []
    monkeypatch.setattr(logging.Logger, "warning_once", lambda self, msg, *a, **k: said.append(str(msg)))
    rm = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, device="cpu")
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
    from cuda_sim import cuda_or_simulated

    from rlsuite.testing.vision_models import build_tiny_grounding_dino
    from rlsuite.vision.rewards import DetectionRewardModel

    torch.manual_seed(0)
    folder = build_tiny_grounding_dino(tmp_path / "gdino", mm=mm)
    queries = ["agent", "target", "forbidden"]
    frames = np.random.default_rng(1).integers(0, 256, size=(2, 80, 80, 3), dtype=np.uint8)
    kw = {"threshold": 0.0, "dtype": "float32", "queries": queries}
    expected = DetectionRewardModel.from_pretrained(folder, device="cpu", **kw).detect(frames)
    with cuda_or_simulated():
        model = DetectionRewardModel.from_pretrained(folder, device="cuda", **kw)
        assert {p.device.type for p in model.model.parameters()} == {"cuda"}
        got = model.detect(frames)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g.labels, e.labels)
        np.testing.assert_allclose(g.boxes, e.boxes, rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(g.scores, e.scores, rtol=1e-5, atol=1e-6)


def test_open_vocabulary_boxes_are_in_pixels_and_queries_of_any_length_are_padded(tmp_path) -> None:
    """OWL-ViT: queries of one and three words in one batch (padded), and each frame's boxes scaled to its pixels,
    as the processor's post-processing gives them for the frames' sizes."""
    from rlsuite.vision.rewards import DetectionRewardModel

    save_tiny_owlvit(tmp_path)
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


def test_a_loaded_open_vocabulary_detector_keeps_the_device_and_dtype_asked_for(tmp_path) -> None:
    """From a folder: ``device="cpu"`` holds where CUDA is there (simulated), and ``dtype="bfloat16"`` on the CPU
    gives bfloat16 weights (not "auto"'s float32)."""
    from cuda_sim import cuda_or_simulated

    from rlsuite.testing.vision_models import build_tiny_grounding_dino
    from rlsuite.vision.rewards import DetectionRewardModel

    torch.manual_seed(0)
    folder = build_tiny_grounding_dino(tmp_path / "gdino")
    bf16 = DetectionRewardModel.from_pretrained(folder, device="cpu", dtype="bfloat16")
    assert {p.dtype for p in bf16.model.parameters()} == {torch.bfloat16}
    with cuda_or_simulated():
        on_cpu = DetectionRewardModel.from_pretrained(folder, device="cpu")
        assert on_cpu.device == torch.device("cpu")
        assert {p.device.type for p in on_cpu.model.parameters()} == {"cpu"}
