"""PPO's arithmetic in :mod:`rlsuite.vision.finetune`, checked exactly.

``gae`` against stable-baselines3's ``RolloutBuffer.compute_returns_and_advantage`` (an outside reference) and a
hand-worked rollout; ``explained_variance``, ``normalized`` and ``ppo_losses`` against their formulas written out
in numpy, at the edges (a constant return, ratios on both sides of the clip range, both signs of advantage);
``ppo_finetune``'s rollout statistics (episodes, returns, successes, truncated episodes' bootstrap, the explained
variance and the first pass's value loss) against an independent replay of the same actions in the same envs.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlsuite.vision.finetune import (
    EVAL_SEED,
    ScoringActor,
    VLMTrainConfig,
    _env,
    explained_variance,
    gae,
    load_policy_to_train,
    normalized,
    ppo_finetune,
    ppo_losses,
)


def _sb3_gae(rewards: np.ndarray, values: np.ndarray, ended: np.ndarray, gamma: float, lam: float) -> tuple:
    """SB3's GAE over the same rollout: an episode that ended at step t makes step t + 1 an episode start."""
    from gymnasium import spaces
    from stable_baselines3.common.buffers import RolloutBuffer

    steps, n = rewards.shape
    buf = RolloutBuffer(steps, spaces.Box(-1, 1, (1,)), spaces.Discrete(2), "cpu", gamma=gamma, gae_lambda=lam,
                        n_envs=n)  # fmt: skip
    buf.rewards[:] = rewards
    buf.values[:] = values[:steps]
    buf.episode_starts[1:] = ended[:-1]
    buf.compute_returns_and_advantage(torch.as_tensor(values[steps]), ended[-1])
    return buf.advantages, buf.returns


def test_gae_matches_stable_baselines3() -> None:
    rng = np.random.default_rng(3)
    steps, n = 7, 3
    rewards = rng.normal(size=(steps, n)).astype(np.float32)
    values = rng.normal(size=(steps + 1, n)).astype(np.float32)
    ended = (rng.random((steps, n)) < 0.3).astype(np.float32)
    ended[-1, 0], ended[2, 1] = 1.0, 1.0  # an end at the rollout's last step and one inside it
    adv, ret = gae(torch.as_tensor(rewards), torch.as_tensor(values), torch.as_tensor(ended), 0.9, 0.8)
    want_adv, want_ret = _sb3_gae(rewards, values, ended, 0.9, 0.8)
    np.testing.assert_allclose(adv.numpy(), want_adv, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ret.numpy(), want_ret, rtol=1e-5, atol=1e-6)
    assert adv.shape == (steps, n) and ret.shape == (steps, n)


def test_gae_by_hand() -> None:
    """One env, three steps, the episode ending at the second: gamma 0.5, lambda 0.25."""
    rewards = torch.tensor([[1.0], [2.0], [4.0]])
    values = torch.tensor([[0.5], [1.0], [3.0], [8.0]])
    ended = torch.tensor([[0.0], [1.0], [0.0]])
    adv, ret = gae(rewards, values, ended, 0.5, 0.25)
    d2 = 4.0 + 0.5 * 8.0 - 3.0  # 5: bootstraps from the value after the rollout
    d1 = 2.0 - 1.0  # 1: the episode ended, no bootstrap from values[2] (the next episode's first frame)
    d0 = 1.0 + 0.5 * 1.0 - 0.5  # 1
    a1 = d1  # nothing flows back across the end
    a0 = d0 + 0.5 * 0.25 * a1
    assert adv[:, 0].tolist() == [a0, a1, d2]
    assert ret[:, 0].tolist() == [a0 + 0.5, a1 + 1.0, d2 + 3.0]


def test_explained_variance() -> None:
    ret = torch.tensor([1.0, 2.0, 4.0, 7.0])
    val = torch.tensor([1.5, 1.0, 4.0, 6.0])
    want = 1.0 - np.var([-0.5, 1.0, 0.0, 1.0]) / np.var([1.0, 2.0, 4.0, 7.0])  # population variances
    assert explained_variance(ret, val).item() == pytest.approx(want, rel=1e-6)
    assert explained_variance(ret, ret).item() == 1.0
    # a constant return: the 1e-8 keeps it finite, and large
    const = torch.full((4,), 2.0)
    assert explained_variance(const, const + torch.tensor([1.0, -1.0, 1.0, -1.0])).item() == pytest.approx(-1e8)


def test_normalized() -> None:
    x = torch.tensor([1.0, 2.0, 4.0, 9.0])
    want = (np.array([1.0, 2.0, 4.0, 9.0]) - 4.0) / (np.std([1.0, 2.0, 4.0, 9.0], ddof=1) + 1e-8)
    np.testing.assert_allclose(normalized(x).numpy(), want, rtol=1e-6)
    tiny = torch.tensor([0.0, 1e-7], dtype=torch.float64)  # a spread near the 1e-8: its sign shows
    assert normalized(tiny).tolist() == pytest.approx([-5e-8 / (math.sqrt(5e-15) + 1e-8),
                                                       5e-8 / (math.sqrt(5e-15) + 1e-8)], rel=1e-9)  # fmt: skip


def test_ppo_losses_against_the_formulas() -> None:
    old = torch.zeros(4, dtype=torch.float64)
    log_ratio = torch.tensor([math.log(1.5), math.log(0.5), math.log(1.1), math.log(0.7)], dtype=torch.float64)
    new = (old + log_ratio).requires_grad_()
    adv = torch.tensor([2.0, -1.0, -3.0, 0.5], dtype=torch.float64)
    value = torch.tensor([1.0, 2.0, 0.0, -1.0], dtype=torch.float64, requires_grad=True)
    ret = torch.tensor([0.5, 2.0, 3.0, 1.0], dtype=torch.float64)
    terms = ppo_losses(new, old, adv, value, ret, clip=0.2)
    r = np.array([1.5, 0.5, 1.1, 0.7])
    a = adv.numpy()
    surrogate = np.minimum(r * a, np.clip(r, 0.8, 1.2) * a)
    assert terms["policy"].item() == pytest.approx(-surrogate.mean(), rel=1e-12)
    assert terms["value"].item() == pytest.approx(0.5 * np.mean((np.array([1.0, 2.0, 0.0, -1.0]) - ret.numpy()) ** 2))
    assert terms["approx_kl"].item() == pytest.approx(np.mean((r - 1) - np.log(r)), rel=1e-12)
    assert terms["clip_fraction"].item() == 0.75  # 1.5, 0.5 and 0.7 are outside [0.8, 1.2]; 1.1 is not
    assert not terms["approx_kl"].requires_grad and not terms["clip_fraction"].requires_grad
    # the gradient flows only where the unclipped term is the minimum: 1.5 x 2 (clipped: 1.2 x 2 is smaller, no
    # gradient), 0.5 x -1 (clipped 0.8 x -1 is smaller: none), 1.1 x -3 (inside: -r a / 4), 0.7 x 0.5 (0.7 x 0.5 <
    # 0.8 x 0.5: the unclipped term, gradient -r a / 4)
    (grad,) = torch.autograd.grad(terms["policy"], new)
    assert grad.tolist() == pytest.approx([0.0, 0.0, 1.1 * 3.0 / 4, -0.7 * 0.5 / 4], rel=1e-12)
    (vgrad,) = torch.autograd.grad(terms["value"], value)
    assert vgrad.tolist() == pytest.approx(((value - ret) / 4).tolist(), rel=1e-12)


def test_ppo_losses_at_the_clip_bound() -> None:
    """A ratio exactly at 1 + clip is not clipped (the count is strict)."""
    old = torch.zeros(2)
    new = torch.log(torch.tensor([1.25, 1.0]))
    terms = ppo_losses(new, old, torch.ones(2), torch.zeros(2), torch.zeros(2), clip=0.25)
    assert terms["clip_fraction"].item() == 0.0
    assert terms["value"].item() == 0.0


class RecordingActor(ScoringActor):
    """A ScoringActor that keeps each rollout step's frames, actions, log-probs and values."""

    def __init__(self, policy: Any) -> None:
        super().__init__(policy)
        self.steps: list[tuple[np.ndarray, np.ndarray, torch.Tensor, torch.Tensor]] = []

    def act(self, obs: Any) -> Any:
        acts, logp, v, memo = super().act(obs)
        self.steps.append((np.array(obs), acts.copy(), logp.clone(), v.clone()))
        return acts, logp, v, memo


# seed 2: in the first rollout one episode reaches the target at its time limit (terminated and truncated: no
# bootstrap), others are cut by it (bootstrapped), one ends at the target before it
TINY = dict(size=3, hidden=16, layers=1, device="cpu", ppo_envs=2, ppo_steps=5, ppo_epochs=2, ppo_minibatches=1,
            ppo_updates=3, value_warmup=1, max_episode_steps=2, gamma=0.8, gae_lambda=0.7, seed=2)  # fmt: skip


def test_rollout_statistics_match_a_replay_of_the_same_actions() -> None:
    config = VLMTrainConfig(**TINY)
    torch.manual_seed(0)
    policy, _ = load_policy_to_train(config)
    start = {k: v.clone() for k, v in policy.state_dict().items()}
    actor = RecordingActor(policy)
    torch.manual_seed(1)
    history = ppo_finetune(policy, config, actor=actor)["history"]
    assert [row["update"] for row in history] == [1, 2, 3]
    assert [row["phase"] for row in history] == ["value", "ppo", "ppo"]

    # ---- the replay: the same envs, seeded as ppo_finetune seeds them, stepped with the recorded actions
    n, steps = config.ppo_envs, config.ppo_steps
    envs = gym.vector.SyncVectorEnv([partial(_env, config)] * n, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=config.seed * 7919 + EVAL_SEED + config.eval_episodes)
    running = np.zeros(n)
    first = {"rewards": np.zeros((steps, n)), "ended": np.zeros((steps, n)), "cut_frames": []}
    truncations, at_the_limit = 0, 0
    for update in range(3):
        returns, solved = [], []
        for t in range(steps):
            frame, acts, _, _ = actor.steps[update * steps + t]
            np.testing.assert_array_equal(frame, obs)  # the actor saw the replay's frames
            obs, r, term, trunc, info = envs.step(acts)
            at_the_limit += int((term & trunc).sum()) if update == 0 else 0
            trunc = trunc & ~term
            truncations += int(trunc.sum())
            running = running + r
            if update == 0:
                first["rewards"][t] = r
                first["ended"][t] = term | trunc
                cut = np.flatnonzero(trunc)
                first["cut_frames"].append((t, cut, info["final_obs"][trunc] if cut.size else None))
            for i in np.flatnonzero(term | trunc):
                returns.append(running[i])
                solved.append(bool(term[i]))
                running[i] = 0.0
        row = history[update]
        assert row["episodes"] == len(returns)
        assert row["mean_return"] == pytest.approx(np.mean(returns)) if returns else math.isnan(row["mean_return"])
        assert row["success"] == pytest.approx(np.mean(solved)) if solved else math.isnan(row["success"])
        if update == 0:
            last_frame = obs
    envs.close()
    assert truncations > 0 and at_the_limit > 0 and any(r["episodes"] > 0 for r in history)  # the cases are met

    # ---- the first update: rewards with the truncated episodes' bootstrap, GAE, explained variance and the value
    # loss of the first (only) pass, all from the starting weights (the rollout comes before any update)
    policy.load_state_dict(start)
    policy.eval()
    with torch.no_grad():
        rewards = torch.as_tensor(first["rewards"], dtype=torch.float32)
        for t, cut, frames in first["cut_frames"]:
            if frames is not None:
                rewards[t, torch.as_tensor(cut)] += config.gamma * policy(np.stack(frames))[1]
        values = torch.stack([actor.steps[t][3] for t in range(steps)] + [policy(last_frame)[1]])
        _, ret = gae(rewards, values, torch.as_tensor(first["ended"], dtype=torch.float32), 0.8, 0.7)
        frames = np.concatenate([actor.steps[t][0] for t in range(steps)])
        value_loss = 0.5 * ((policy(frames)[1] - ret.reshape(-1)) ** 2).mean()
    assert history[0]["explained_variance"] == pytest.approx(explained_variance(ret, values[:steps]).item(), abs=1e-5)
    assert history[0]["value_loss_first_epoch"] == pytest.approx(value_loss.item(), rel=1e-5)
    assert history[0]["value_loss"] != pytest.approx(value_loss.item(), rel=1e-3)  # the second pass, after a step
    assert history[0]["approx_kl"] == 0.0 and history[0]["clip_fraction"] == 0.0  # the warm-up moves no scores
