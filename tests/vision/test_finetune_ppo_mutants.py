"""``ppo_finetune``'s env seed and learning rates (mutation testing).

The rollout envs are reset with seed ``seed * 7919 + EVAL_SEED + eval_episodes`` and nothing else in
``ppo_finetune`` reads ``seed`` or ``eval_episodes``: from the same weights and torch generator, seed 1 with one
evaluation episode runs exactly as seed 0 with 7920 (the same reset seed), and not as seed 0 with 7921. The
value head's warm-up steps at ``value_lr`` and PPO's at ``ppo_lr``: changing either changes the second pass's
statistics of the update it drives (two passes per update, one minibatch each).
"""

from __future__ import annotations

import json

import pytest
import torch

from rlsuite.vision.finetune import VLMTrainConfig, load_policy_to_train, ppo_finetune

TINY = dict(size=3, hidden=16, layers=1, device="cpu", ppo_envs=2, ppo_steps=3, ppo_epochs=2, ppo_minibatches=1,
            ppo_updates=2, value_warmup=1, max_episode_steps=50)  # fmt: skip


@pytest.fixture(scope="module")
def start():
    torch.manual_seed(0)
    policy, _ = load_policy_to_train(VLMTrainConfig(**TINY))
    return policy, {k: v.clone() for k, v in policy.state_dict().items()}


def history(start, **settings) -> list[str]:
    """Each update's row (as JSON: NaN equals NaN) of PPO from the same weights and torch generator."""
    policy, weights = start
    policy.load_state_dict(weights)
    torch.manual_seed(1)
    return [json.dumps(row) for row in ppo_finetune(policy, VLMTrainConfig(**TINY, **settings))["history"]]


def test_the_rollout_envs_are_seeded_by_seed_and_eval_episodes(start) -> None:
    same = history(start, seed=1, eval_episodes=1)
    assert history(start, seed=0, eval_episodes=7920) == same
    assert history(start, seed=0, eval_episodes=7921) != same


def test_the_value_head_and_ppo_step_at_their_learning_rates(start) -> None:
    base = history(start)  # value_lr 1e-2, ppo_lr 1e-4
    value = history(start, value_lr=1e-3)  # AdamW's default
    ppo = history(start, ppo_lr=1e-3)
    assert value[0] != base[0]  # the warm-up update's second pass
    assert ppo[0] == base[0] and ppo[1] != base[1]  # PPO's update only
