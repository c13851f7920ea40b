"""evaluate_vlm's modes and its seed, against ReasoningActor and success_rate called directly (issue 26)."""

from __future__ import annotations

import logging

import pytest
import torch

from rlsuite.vision.finetune import VLMEvalConfig, evaluate_vlm, success_rate
from rlsuite.vision.models import build_tiny_llava
from rlsuite.vision.policies import VLMPolicy
from rlsuite.vision.reasoning import AnswerConfig, ReasoningActor, ReasoningConfig

HELD_OUT = VLMEvalConfig(size=3, episodes=6, max_episode_steps=4)
# a template the tiny vocabulary cannot spell: every answer is unparsed and takes a random action
RANDOM = AnswerConfig(reasoning=True, grammar=["Zebra: {action}"], fallback="random", max_new_tokens=1)


@pytest.fixture(scope="module")
def policy() -> VLMPolicy:
    torch.manual_seed(0)
    model, processor = build_tiny_llava(image_size=64, hidden=16, layers=1)
    return VLMPolicy(model, processor, device="cpu")


def by_hand(policy: VLMPolicy, seed: int) -> dict:
    actor = ReasoningActor(policy, ReasoningConfig(**RANDOM.to_dict()), seed)
    rate = success_rate(policy, HELD_OUT, actor=actor)
    return {"success": rate, "mode": "reasoning", "answers": actor.answers, "unparsed_answers": actor.unparsed}


def test_scoring_mode(policy) -> None:
    assert evaluate_vlm(policy, HELD_OUT) == {"success": success_rate(policy, HELD_OUT), "mode": "scoring"}


def test_reasoning_mode_seeds_the_random_fallback(policy, caplog) -> None:
    seed0, seed3 = by_hand(policy, 0), by_hand(policy, 3)
    assert seed0 != seed3  # the seed shows
    with caplog.at_level(logging.INFO, logger="rlsuite.vision.finetune"):
        assert evaluate_vlm(policy, HELD_OUT, RANDOM) == seed0
    assert f"reasoned answers: {seed0['unparsed_answers']} of {seed0['answers']} unparsed" in caplog.messages
    assert seed0["unparsed_answers"] == seed0["answers"]
    assert evaluate_vlm(policy, HELD_OUT, RANDOM, seed=3) == seed3
