"""One PPO update of ``ppo_finetune`` against a replay written out step by step (mutation testing).

The replay steps the same envs with the actions the run sampled, computes GAE from the rollout's values, and takes
``ppo_epochs`` steps of AdamW on ``policy + vf_coef * value - ent_coef * entropy`` with the gradient norm clipped
to 1, from the same starting weights: the run's final weights and its history row (value losses of the first and
last pass, KL and clip fraction averaged over the passes) must equal the replay's. One minibatch per pass (the
update's random order then changes no loss), no episode cut by the time limit, 2 minibatches for the row's means.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from test_ppo_math import RecordingActor

import rlsuite.vision.finetune as finetune
from rlsuite.vision.finetune import (
    EVAL_SEED,
    ScoringActor,
    VLMTrainConfig,
    _env,
    gae,
    load_policy_to_train,
    normalized,
    ppo_finetune,
    ppo_losses,
    trainable,
)

CONFIG = VLMTrainConfig(size=3, hidden=16, layers=1, device="cpu", ppo_envs=2, ppo_steps=3, ppo_epochs=3,
                        ppo_minibatches=1, ppo_updates=1, value_warmup=0, max_episode_steps=50, gamma=0.8,
                        gae_lambda=0.7, ppo_lr=3e-3, ent_coef=0.1, vf_coef=0.5, clip=0.05, seed=3)  # fmt: skip


def _start() -> tuple[Any, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    policy, _ = load_policy_to_train(CONFIG)
    return policy, {k: v.clone() for k, v in policy.state_dict().items()}


def test_one_update_equals_its_replay() -> None:
    policy, start = _start()
    actor = RecordingActor(policy)
    [row] = ppo_finetune(policy, CONFIG, actor)["history"]

    # ---- the rollout again: the same envs and actions give the rewards and ends; values from the starting weights
    n, steps = CONFIG.ppo_envs, CONFIG.ppo_steps
    envs = gym.vector.SyncVectorEnv([partial(_env, CONFIG)] * n, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=CONFIG.seed * 7919 + EVAL_SEED + CONFIG.eval_episodes)
    rewards, ended = torch.zeros(steps, n), torch.zeros(steps, n)
    for t, (frame, acts, _, _) in enumerate(actor.steps):
        np.testing.assert_array_equal(frame, obs)
        obs, r, term, trunc, _ = envs.step(acts)
        assert not (trunc & ~term).any()  # no time-limit bootstrap in this rollout
        rewards[t], ended[t] = torch.as_tensor(r, dtype=torch.float32), torch.as_tensor(term, dtype=torch.float32)
    envs.close()
    replayed, _ = load_policy_to_train(CONFIG)
    replayed.load_state_dict(start)
    replayed.eval()
    with torch.no_grad():
        values = torch.stack([v for *_, v in actor.steps] + [replayed(obs)[1]])
    adv, ret = gae(rewards, values, ended, CONFIG.gamma, CONFIG.gae_lambda)
    frames = np.concatenate([f for f, *_ in actor.steps])
    memo = {"action": torch.as_tensor(np.concatenate([a for _, a, _, _ in actor.steps]))}
    old_logp = torch.cat([lp for _, _, lp, _ in actor.steps])
    b_adv, b_ret = normalized(adv.reshape(-1)), ret.reshape(-1)

    # ---- the epochs: AdamW on the whole loss, the gradient norm clipped to 1
    opt = torch.optim.AdamW(trainable(replayed), lr=CONFIG.ppo_lr)
    replayed.train()
    passes = []
    for _ in range(CONFIG.ppo_epochs):
        new_logp, v, entropy = ScoringActor(replayed).evaluate(frames, memo)
        terms = ppo_losses(new_logp, old_logp, b_adv, v, b_ret, CONFIG.clip)
        loss = terms["policy"] + CONFIG.vf_coef * terms["value"] - CONFIG.ent_coef * entropy.mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable(replayed), 1.0)
        opt.step()
        passes.append([terms[k].item() for k in ("value", "approx_kl", "clip_fraction")])
    for name, mine in replayed.state_dict().items():
        torch.testing.assert_close(policy.state_dict()[name], mine, rtol=1e-4, atol=2e-5)  # sums in another order
    assert row["value_loss_first_epoch"] == pytest.approx(passes[0][0], rel=1e-5)
    assert row["value_loss"] == pytest.approx(passes[-1][0], rel=1e-5)
    assert row["approx_kl"] == pytest.approx(np.mean([p[1] for p in passes]), rel=1e-4, abs=1e-9)
    assert row["clip_fraction"] == pytest.approx(np.mean([p[2] for p in passes]), abs=1e-6)
    assert row["approx_kl"] > 0 and row["clip_fraction"] > 0  # the passes moved the scores past the clip range


def test_the_row_averages_each_passes_minibatches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two minibatches per pass: the first and last passes' value losses are their minibatches' means, KL and clip
    fraction the means over every minibatch."""
    seen: list[dict[str, float]] = []

    def spy(*args: Any) -> dict[str, torch.Tensor]:
        terms = ppo_losses(*args)
        seen.append({k: float(v) for k, v in terms.items()})
        return terms

    monkeypatch.setattr(finetune, "ppo_losses", spy)
    config = dataclasses.replace(CONFIG, ppo_minibatches=2)
    policy, _ = _start()
    [row] = ppo_finetune(policy, config, ScoringActor(policy))["history"]
    assert len(seen) == 6  # 3 passes of 2 minibatches
    assert row["value_loss_first_epoch"] == pytest.approx((seen[0]["value"] + seen[1]["value"]) / 2, rel=1e-6)
    assert row["value_loss"] == pytest.approx((seen[4]["value"] + seen[5]["value"]) / 2, rel=1e-6)
    assert row["approx_kl"] == pytest.approx(np.mean([s["approx_kl"] for s in seen]), rel=1e-5)
    assert row["clip_fraction"] == pytest.approx(np.mean([s["clip_fraction"] for s in seen]), abs=1e-6)


def test_a_rollout_where_no_episode_ends_reports_nan_without_a_warning() -> None:
    policy, _ = _start()
    config = dataclasses.replace(CONFIG, ppo_steps=1)  # no episode can end in one step of a 3 x 3 grid's start
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's "mean of empty slice"
        [row] = ppo_finetune(policy, config, ScoringActor(policy))["history"]
    assert row["episodes"] == 0 and np.isnan(row["mean_return"]) and np.isnan(row["success"])


def test_the_entropy_bonus_keeps_the_entropy_higher() -> None:
    """The same update with a large entropy weight ends with more entropy on the rollout's frames than without."""
    entropies = []
    for ent_coef in (0.0, 1.0):
        policy, _ = _start()
        actor = RecordingActor(policy)
        ppo_finetune(policy, dataclasses.replace(CONFIG, ent_coef=ent_coef, ppo_epochs=5), actor)
        with torch.no_grad():
            entropies.append(policy(np.concatenate([f for f, *_ in actor.steps]))[0].entropy().mean().item())
    assert entropies[1] > entropies[0], entropies  # 1.6070 and 1.6047 (ln 5 = 1.6094 at most)


def test_the_result_and_each_updates_debug_line(caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import re

    policy, _ = _start()
    config = dataclasses.replace(CONFIG, ppo_updates=2, value_warmup=1, ppo_steps=6, max_episode_steps=3, ppo_lr=0.03)
    with caplog.at_level(logging.DEBUG, logger="rlsuite.vision.finetune"):
        t0 = time.perf_counter()
        result = ppo_finetune(policy, config, ScoringActor(policy))
        wall = time.perf_counter() - t0
    assert list(result) == ["updates", "history", "return_history", "seconds"] and result["updates"] == 2
    assert result["return_history"] == [row["mean_return"] for row in result["history"]]
    assert type(result["seconds"]) is float and result["seconds"] == round(result["seconds"], 1)
    assert 0 <= result["seconds"] <= round(wall, 1) + 0.05
    lines = [m for m in caplog.messages if m.startswith("ppo update")]
    for line, row in zip(lines, result["history"], strict=True):
        expected = (f"ppo update {row['update']} ({row['phase']}): {row['episodes']} episodes, return "
                    f"{row['mean_return']:.3f}, success {row['success']:.2f}, value loss {row['value_loss']:.4f} "
                    f"(explained variance {row['explained_variance']:.2f}), kl {row['approx_kl']:.4f} (")  # fmt: skip
        assert line.startswith(expected) and re.fullmatch(r"\d+ s\)", line.removeprefix(expected)), line
    assert [row["phase"] for row in result["history"]] == ["value", "ppo"]
    # the values tell the fields apart: episodes ended, and the PPO update moved the scores (a KL of 0.01 or more)
    ppo = result["history"][1]
    assert f"{ppo['mean_return']:.3f}" != f"{ppo['success']:.3f}"
    assert f"{ppo['explained_variance']:.2f}" != f"{ppo['approx_kl']:.2f}"


def test_ppo_saves_a_checkpoint_every_few_updates_and_after_the_last(tmp_path) -> None:
    from rlsuite.vision.checkpoints import Checkpointer, VLMCheckpointOptions

    class Recording(Checkpointer):
        def save(self, stage: str, step: int, *args: Any) -> Any:
            saved.append((stage, step))
            return super().save(stage, step, *args)

    saved: list[tuple[str, int]] = []
    saver = Recording(tmp_path, VLMCheckpointOptions(checkpoint_every=2, keep_checkpoints=5), key="k")
    policy, _ = _start()
    ppo_finetune(policy, dataclasses.replace(CONFIG, ppo_updates=3), ScoringActor(policy), saver)
    assert saved == [("ppo", 2), ("ppo", 3)]
