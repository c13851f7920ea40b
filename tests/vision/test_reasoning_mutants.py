"""Reasoned answers: the action tokens' start and the sampling in ``act`` (issue 26, mutation testing)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.testing.vision_models import build_bert_word_tokenizer
from rlsuite.vision.models import build_tiny_llava
from rlsuite.vision.policies import VLMPolicy
from rlsuite.vision.reasoning import ReasoningActor, ReasoningConfig, action_token_start


@pytest.mark.parametrize(
    ("char_start", "expected"),
    [
        (0, 0),  # "i" (1 character) already ends after 0
        (1, 1),  # "i" ends at 1 exactly: counted; "i go" (4) does not fit
        (3, 1),
        (4, 2),  # "i go" ends at 4 exactly
        (7, 3),  # "i go up": every token
        (100, 3),
    ],
)
def test_action_token_start_counts_the_tokens_ending_at_or_before_the_action(char_start: int, expected: int) -> None:
    tok = build_bert_word_tokenizer(("i", "go", "up"))
    ids = tok("i go up", add_special_tokens=False)["input_ids"]
    assert [len(tok.decode(ids[:n])) for n in (1, 2, 3)] == [1, 4, 7]
    assert action_token_start(tok, ids, char_start) == expected


def test_act_samples_its_answers() -> None:
    torch.manual_seed(0)
    model, processor = build_tiny_llava(image_size=64, hidden=16, layers=1)
    policy = VLMPolicy(model, processor, device="cpu")
    actor = ReasoningActor(policy, ReasoningConfig(reasoning=True, max_new_tokens=6))
    env = gym.make("rlsuite/PixelGridWorldRandom-v0", n_rows=3, n_cols=3)
    frames = np.stack([env.reset(seed=s)[0] for s in range(4)])
    torch.manual_seed(1)
    memo = actor.act(frames)[3]
    torch.manual_seed(1)
    sampled = actor.generate(frames, sample=True).tokens
    greedy = actor.generate(frames, sample=False).tokens
    assert torch.equal(memo["tokens"], sampled) and not torch.equal(sampled, greedy)
