"""Vision-language rewards: a tiny CLIP from configs, saved and reloaded, goal-baseline maths, the wrapper."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.testing.vision_models import GOAL_TEXT
from rlsuite.vision.contrastive import ContrastiveTrainConfig, cell_caption, train_contrastive_reward
from rlsuite.vision.models import build_tiny_clip, build_word_tokenizer
from rlsuite.vision.rewards import VLMRewardModel, VLMRewardWrapper


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-clip")
    torch.manual_seed(0)
    tokenizer = build_word_tokenizer()
    model, processor = build_tiny_clip(tokenizer, image_size=80, hidden=32, layers=1)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_word_tokenizer_ends_with_eos_inside_the_vocabulary():
    tok = build_word_tokenizer()
    ids = tok("the agent is on the target")["input_ids"]
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id < len(tok)
    assert tok.unk_token_id not in ids
    # Different captions embed differently only if CLIP pools at a real eos: check the ids differ.
    assert tok(cell_caption((0, 1)))["input_ids"] != tok(cell_caption((1, 0)))["input_ids"]


def test_reward_matches_the_goal_baseline_formula(tiny_clip_dir):
    rm = VLMRewardModel.from_pretrained(
        tiny_clip_dir, goal=GOAL_TEXT, baseline="a grid world", alpha=0.5, device="cpu"
    )
    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    frames = np.stack([env.reset(seed=s)[0] for s in range(4)])
    r = rm.rewards(frames)
    s = rm.embed_images(frames)
    g, b = rm.embed_texts([GOAL_TEXT, "a grid world"])
    d = (g - b) / (g - b).norm()
    P = 0.5 * torch.outer(d, d) + 0.5 * torch.eye(len(d))
    expected = 1 - 0.5 * (((s - g) @ P) ** 2).sum(-1)
    np.testing.assert_allclose(r, expected.numpy(), rtol=1e-5, atol=1e-6)
    # alpha = 0 is cosine similarity to the goal.
    rm0 = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, alpha=0.0, device="cpu")
    np.testing.assert_allclose(rm0.rewards(frames), (s @ g).numpy(), rtol=1e-5, atol=1e-6)
    # Distinct texts get distinct embeddings (the tiny-CLIP eos pitfall would make them equal).
    e = rm.embed_texts([cell_caption((0, 0)), cell_caption((3, 2))])
    assert not torch.allclose(e[0], e[1])
    # One batched call equals per-frame calls.
    np.testing.assert_allclose(r, np.concatenate([rm.rewards(f) for f in frames]), rtol=1e-4, atol=1e-5)


def test_wrapper_replaces_and_adds_and_follows_instructions(tiny_clip_dir):
    rm = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, device="cpu")
    env = VLMRewardWrapper(
        gym.make("rlsuite/PixelGoalGridWorld-v0"), rm, goal="instruction", mode="add", scale=2.0
    )
    _, info = env.reset(seed=1)
    assert rm.goal == info["instruction"]
    _, r, _, _, info = env.step(0)
    assert r == pytest.approx(info["env_reward"] + 2.0 * info["vlm_reward"])
    env2 = VLMRewardWrapper(gym.make("rlsuite/PixelGridWorld-v0"), rm, goal=GOAL_TEXT)
    env2.reset(seed=0)
    _, r2, _, _, info2 = env2.step(1)
    assert r2 == info2["vlm_reward"]
    with pytest.raises(ValueError, match="mode"):
        VLMRewardWrapper(gym.make("rlsuite/PixelGridWorld-v0"), rm, mode="mix")


def test_contrastive_training_lowers_the_loss_and_updates_both_towers():
    config = ContrastiveTrainConfig(steps=60, batch_size=16, pool=64, size=3, device="cpu")
    model, _, tokenizer, info = train_contrastive_reward(config)
    assert info["steps"] == 60
    # The mean loss of the last 20 steps is well below that of the first 20 (measured: 2.84 -> 2.48).
    assert info["final_loss"] < info["first_loss"] - 0.2
    torch.manual_seed(config.seed)
    fresh, _ = build_tiny_clip(tokenizer, image_size=config.size * config.cell_px)
    trained = dict(model.named_parameters())
    changed = [n for n, p in fresh.named_parameters() if not torch.equal(p, trained[n].detach())]
    assert any(n.startswith("vision_model") for n in changed) and any(
        n.startswith("text_model") for n in changed
    )


@pytest.mark.slow
def test_default_contrastive_reward_rank_correlation():
    """The cached default: Spearman(reward, -distance) >= 0.8 on held-out episodes."""
    from rlsuite.vision.contrastive import evaluate_reward_rank_correlation
    from rlsuite.vision.defaults import default_clip_reward

    trained = default_clip_reward()
    reward, metrics = trained.model, trained.metrics
    assert metrics["rank_correlation"]["spearman_pooled"] >= 0.8
    assert evaluate_reward_rank_correlation(reward, episodes=20, seed=31)["spearman_pooled"] >= 0.8


def test_wrapper_goal_from_a_function_of_the_env(tiny_clip_dir):
    rm = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, device="cpu")

    def target_goal(env, info):
        world = env.unwrapped.world
        return cell_caption(world.to_cell(world.target_state))

    env = VLMRewardWrapper(gym.make("rlsuite/PixelGridWorldRandom-v0"), rm, goal=target_goal)
    env.reset(seed=3)
    world = env.unwrapped.world
    assert rm.goal == cell_caption(world.to_cell(world.target_state))
