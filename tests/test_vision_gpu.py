"""CUDA checks of the vision wrappers (skipped without a GPU): same answers as on CPU, bf16 where used."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.testing.vision_models import GOAL_TEXT
from rlsuite.vision.detection import GridDetector
from rlsuite.vision.models import build_tiny_clip, build_tiny_llava, build_word_tokenizer
from rlsuite.vision.policies import VLMPolicy
from rlsuite.vision.rewards import DetectionRewardModel, DetectionTarget, VLMRewardModel

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def frames():
    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    return np.stack([env.reset(seed=s)[0] for s in range(8)])


def test_grid_detector_on_cuda_matches_cpu(tmp_path, frames):
    torch.manual_seed(0)
    GridDetector().save_pretrained(tmp_path)
    target = DetectionTarget(boxes=[("agent", [0, 0, 16, 16])])
    cpu = DetectionRewardModel.from_pretrained(tmp_path, threshold=0.0, device="cpu").rewards(frames, target)
    gpu_model = DetectionRewardModel.from_pretrained(tmp_path, threshold=0.0, device="cuda")
    assert next(gpu_model.model.parameters()).is_cuda
    np.testing.assert_allclose(gpu_model.rewards(frames, target), cpu, atol=1e-3)


def test_clip_reward_on_cuda_bf16(tmp_path, frames):
    tok = build_word_tokenizer()
    model, proc = build_tiny_clip(tok)
    for x in (model, proc, tok):
        x.save_pretrained(tmp_path)
    cpu = VLMRewardModel.from_pretrained(tmp_path, GOAL_TEXT, device="cpu").rewards(frames)
    gpu = VLMRewardModel.from_pretrained(tmp_path, GOAL_TEXT, device="cuda")
    assert gpu.dtype == torch.bfloat16 and next(gpu.model.parameters()).is_cuda
    np.testing.assert_allclose(gpu.rewards(frames), cpu, atol=5e-2)


def test_vlm_policy_on_cuda(tmp_path, frames):
    model, proc = build_tiny_llava()
    model.save_pretrained(tmp_path)
    proc.save_pretrained(tmp_path)
    policy = VLMPolicy.from_pretrained(tmp_path, device="cuda")
    dist, value = policy(frames)
    assert dist.logits.is_cuda and value.is_cuda and dist.probs.shape == (8, 5)
    cpu_probs = VLMPolicy.from_pretrained(tmp_path, device="cpu", dtype="float32")(frames)[0].probs
    torch.testing.assert_close(dist.probs.float().cpu(), cpu_probs.detach(), atol=5e-2, rtol=0)
