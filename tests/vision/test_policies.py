"""VLMPolicy and the yes/no reward on a tiny Llava built from configs, saved and reloaded."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.vision.models import build_tiny_llava
from rlsuite.vision.policies import GOAL_PROMPT, VLMPolicy, VLMYesNoReward, parse_action


@pytest.fixture(scope="module")
def tiny_llava_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-llava")
    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=1)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def frames():
    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    return np.stack([env.reset(seed=s)[0] for s in range(3)])


def test_parse_action():
    assert parse_action("I would go Left now") == 3
    assert parse_action("stay. up") == 4
    assert parse_action("upward") is None and parse_action("") is None


def test_scoring_is_one_batched_differentiable_distribution(tiny_llava_dir, frames):
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, device="cpu")
    dist, value = policy(frames)
    assert isinstance(dist, torch.distributions.Categorical)
    assert dist.probs.shape == (3, 5) and value.shape == (3,)
    torch.testing.assert_close(dist.probs.sum(-1), torch.ones(3))
    # Gradients reach the language model and the value head (PPO needs both).
    (dist.log_prob(torch.tensor([0, 1, 2])).sum() + value.sum()).backward()
    assert policy.model.get_input_embeddings().weight.grad.abs().sum() > 0
    assert policy.value_head.weight.grad.abs().sum() > 0
    # Batched scores equal one-at-a-time scores.
    with torch.no_grad():
        one = torch.cat([policy(f)[0].logits for f in frames])
        torch.testing.assert_close(policy(frames)[0].logits, one, atol=1e-4, rtol=1e-4)
    # SB3-style predict: one observation -> one action, a batch -> a batch.
    a, state = policy.predict(frames[0])
    assert state is None and 0 <= int(a) < 5
    assert policy.predict(frames)[0].shape == (3,)


def test_the_action_distribution_follows_the_frame(tiny_llava_dir):
    """Each frame's own pixels reach the model, and frames with the agent in different cells get different
    distributions (a policy fed a constant image would give every frame the same one)."""
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, device="cpu")
    env = gym.make("rlsuite/PixelGridWorld-v0")
    first, _ = env.reset(seed=0)
    frames = np.stack([first, env.step(1)[0], env.step(2)[0]])  # agent at (0, 0), (0, 1), (1, 1)
    assert len({f.tobytes() for f in frames}) == 3
    seen = []
    hook = policy.model.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["pixel_values"].clone()), with_kwargs=True
    )
    with torch.no_grad():
        logits = policy(frames)[0].logits
        one = torch.cat([policy(f)[0].logits for f in frames])
    hook.remove()
    expected = policy.processor.image_processor(images=list(frames), return_tensors="pt")["pixel_values"]
    torch.testing.assert_close(seen[0], expected, rtol=0, atol=0)
    for b in range(3):
        torch.testing.assert_close(seen[1 + b], expected[b : b + 1], rtol=0, atol=0)
    torch.testing.assert_close(logits, one, rtol=0, atol=1e-5)
    # Measured on this untrained model: the rows differ by 4e-4 to 5e-4; a constant image makes them equal.
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert (logits[i] - logits[j]).abs().max() > 1e-4


def test_multi_token_actions_are_teacher_forced_sums(tiny_llava_dir, frames):
    policy = VLMPolicy.from_pretrained(
        tiny_llava_dir, device="cpu", actions=["move up", "move right", "move down", "move left", "stay here"]
    )
    with torch.no_grad():
        dist, _ = policy(frames[:1])
        enc = policy._encode([frames[0]], [policy.prompt])
        manual = []
        for ids in policy._action_ids:
            seq = torch.cat([enc["input_ids"], torch.tensor([ids])], dim=1)
            mask = torch.ones_like(seq)
            logits = policy.model(input_ids=seq, attention_mask=mask, pixel_values=enc["pixel_values"]).logits
            lp = torch.log_softmax(logits[0, -len(ids) - 1 : -1], -1)
            manual.append(lp[torch.arange(len(ids)), torch.tensor(ids)].sum())
    torch.testing.assert_close(
        dist.logits[0], torch.log_softmax(torch.stack(manual), -1), atol=1e-4, rtol=1e-4
    )


def test_generation_mode_and_goal_prompts(tiny_llava_dir, frames):
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, device="cpu")
    actions, texts = policy.generate_actions(frames, max_new_tokens=3)
    assert len(actions) == len(texts) == 3
    assert all(a == parse_action(t) for a, t in zip(actions, texts, strict=True))
    env = gym.make("rlsuite/PixelGoalGridWorld-v0")
    obs, info = env.reset(seed=0)
    goal_policy = VLMPolicy(policy.model, policy.processor, prompt=GOAL_PROMPT)
    _, prompts = goal_policy._frames_and_prompts(obs)
    assert info["instruction"] in prompts[0]
    assert 0 <= int(goal_policy.predict(obs)[0]) < 5


def test_yes_no_reward_is_the_log_odds(tiny_llava_dir, frames):
    judge = VLMYesNoReward.from_pretrained(tiny_llava_dir, goal="the agent is on the target", device="cpu")
    r = judge.rewards(frames)
    enc = judge.policy._encode(list(frames), [judge.policy.prompt] * 3)
    tok = judge.policy.processor.tokenizer
    with torch.no_grad():
        lp = torch.log_softmax(judge.policy.model(**enc).logits[:, -1], -1)
    yes, no = tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no")
    np.testing.assert_allclose(r, (lp[:, yes] - lp[:, no]).numpy(), atol=1e-4)
    assert "the agent is on the target" in judge.policy.prompt
    judge.set_goal("the agent is far away")
    assert "far away" in judge.policy.prompt


def test_save_and_reload_keeps_the_value_head(tiny_llava_dir, frames, tmp_path):
    policy = VLMPolicy.from_pretrained(tiny_llava_dir, device="cpu")
    torch.nn.init.constant_(policy.value_head.bias, 3.0)
    policy.save_pretrained(tmp_path)
    again = VLMPolicy.from_pretrained(tmp_path, device="cpu")
    with torch.no_grad():
        torch.testing.assert_close(again(frames)[1], policy(frames)[1])


def _tiny_train_setup(**overrides):
    from rlsuite.vision.finetune import VLMTrainConfig

    torch.manual_seed(0)
    config = VLMTrainConfig(eval_episodes=4, max_episode_steps=6, device="cpu", **overrides)
    model, processor = build_tiny_llava(image_size=64, hidden=32, layers=1)
    return config, VLMPolicy(model, processor, device="cpu")


def test_behaviour_cloning_fits_the_optimal_actions():
    from rlsuite.vision.finetune import behaviour_clone, exact_value_gap, success_rate

    config, policy = _tiny_train_setup(bc_layouts=2, bc_steps=80, bc_batch=15, bc_lr=3e-3, bc_warmup=5)
    bc = behaviour_clone(policy, config)
    assert bc["steps"] == 80 and bc["frames"] == 30  # every non-target cell of two 4x4 layouts
    assert bc["final_loss"] < bc["first_loss"] - 0.1
    assert bc["train_accuracy"] >= bc["initial_train_accuracy"] + 0.2
    assert 0.0 <= success_rate(policy, config.held_out()) <= 1.0
    assert exact_value_gap(policy, config.held_out(), config.gamma) >= -1e-9  # v* bounds every policy's value


def test_ppo_warms_up_the_value_head_then_updates_the_policy():
    from rlsuite.vision.finetune import ppo_finetune

    config, policy = _tiny_train_setup(
        ppo_updates=2, value_warmup=2, ppo_envs=8, ppo_steps=4, ppo_epochs=4, ppo_minibatches=2
    )
    trunk = [p.detach().clone() for p in policy.model.parameters()]
    warm = ppo_finetune(policy, config)
    assert [row["phase"] for row in warm["history"]] == ["value", "value"]
    # Fitting the head on a rollout lowers its loss on that rollout; the policy itself is untouched.
    assert all(row["value_loss"] < row["value_loss_first_epoch"] for row in warm["history"])
    assert all(torch.equal(a, b) for a, b in zip(trunk, policy.model.parameters(), strict=True))
    ppo = ppo_finetune(policy, config.replace(value_warmup=0, ppo_updates=1))
    assert ppo["history"][0]["phase"] == "ppo" and ppo["history"][0]["approx_kl"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(trunk, policy.model.parameters(), strict=True))
    assert all(torch.isfinite(p).all() for p in policy.parameters())


@pytest.mark.slow
def test_default_vlm_policy_bars() -> None:
    """The issue's default tiny VLM: behaviour cloning makes it solve held-out layouts, PPO keeps that
    and brings the sampling policy closer to the optimum (about 2 minutes on 2 CPU cores)."""
    from rlsuite.vision.defaults import default_vlm_policy

    trained = default_vlm_policy(overwrite=True)
    policy, report = trained.model, trained.metrics
    assert report["success_untrained"] < 0.3
    assert report["success_after_bc"] >= 0.9
    assert report["success_after_ppo"] >= report["success_after_bc"] - 0.1
    assert report["value_gap_after_ppo"] < report["value_gap_after_bc"] < report["value_gap_untrained"]
    assert isinstance(policy, VLMPolicy)
