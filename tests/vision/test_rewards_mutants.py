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
