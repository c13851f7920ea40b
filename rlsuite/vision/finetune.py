"""Training a VLMPolicy on the pixel grid world: behaviour cloning, then PPO on action log-probs.

RL4VLM's recipe at toy scale: the policy's action distribution is the VLM's scores of the action
words (:class:`~rlsuite.vision.policies.VLMPolicy`), the value a linear head on the prompt's last
hidden state. Behaviour cloning fits the scores to the optimal actions from exact value
iteration; PPO (clipped surrogate, GAE) then fine-tunes on the env's own reward.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.dp import value_iteration
from rlsuite.envs.model import tabular_model
from rlsuite.vision.policies import VLMPolicy

ENV_ID = "rlsuite/PixelGridWorldRandom-v0"


@dataclass
class VLMTrainConfig:
    """Behaviour cloning then PPO for a tiny VLMPolicy on random pixel grid worlds."""

    size: int = field(default=4, metadata={"help": "grid side of the training and evaluation layouts"})
    forbidden_fraction: float = field(default=0.15, metadata={"help": "forbidden cells per layout"})
    bc_steps: int = field(default=200, metadata={"help": "behaviour-cloning steps"})
    bc_batch: int = field(default=32, metadata={"help": "frames per behaviour-cloning step"})
    bc_lr: float = field(default=1e-3, metadata={"help": "behaviour-cloning learning rate"})
    ppo_updates: int = field(default=10, metadata={"help": "PPO updates (each a rollout and its epochs)"})
    ppo_envs: int = field(default=16, metadata={"help": "parallel episodes per rollout"})
    ppo_steps: int = field(default=8, metadata={"help": "steps per env per rollout"})
    ppo_epochs: int = field(default=2, metadata={"help": "passes over each rollout"})
    ppo_lr: float = field(default=2e-4, metadata={"help": "PPO learning rate"})
    clip: float = field(default=0.2, metadata={"help": "PPO clip range"})
    gamma: float = field(default=0.9, metadata={"help": "discount"})
    gae_lambda: float = field(default=0.95, metadata={"help": "GAE lambda"})
    vf_coef: float = field(default=0.5, metadata={"help": "value loss weight"})
    ent_coef: float = field(default=0.01, metadata={"help": "entropy bonus weight"})
    eval_episodes: int = field(default=50, metadata={"help": "held-out layouts for the success rate"})
    max_episode_steps: int = field(default=20, metadata={"help": "step limit of an episode"})
    seed: int = field(default=0, metadata={"help": "seed of layouts and weights"})
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda"})


def _env(config: VLMTrainConfig) -> gym.Env[Any, Any]:
    return gym.make(
        ENV_ID,
        n_rows=config.size,
        n_cols=config.size,
        forbidden_fraction=config.forbidden_fraction,
        max_episode_steps=config.max_episode_steps,
    )


def optimal_action_sets(env: gym.Env[Any, Any], gamma: float = 0.9) -> np.ndarray:
    """[S, A] indicator of the optimal actions of the env's current layout (exact value iteration)."""
    _, q, _ = value_iteration(tabular_model(env.unwrapped), gamma=gamma)
    return (q >= q.max(1, keepdims=True) - 1e-9).astype(np.float32)


def success_rate(policy: VLMPolicy, config: VLMTrainConfig, seed: int = 10_000) -> float:
    """Fraction of held-out random layouts whose target the (greedy) policy reaches, batched over episodes."""
    envs = [_env(config) for _ in range(config.eval_episodes)]
    obs = [e.reset(seed=seed + i)[0] for i, e in enumerate(envs)]
    done = np.zeros(len(envs), bool)
    solved = np.zeros(len(envs), bool)
    for _ in range(config.max_episode_steps):
        live = np.flatnonzero(~done)
        if not len(live):
            break
        actions, _ = policy.predict(np.stack([obs[i] for i in live]))
        for i, a in zip(live, np.atleast_1d(actions), strict=True):
            obs[i], _, term, trunc, _ = envs[i].step(int(a))
            solved[i] |= term
            done[i] = term or trunc
    return float(solved.mean())


def behaviour_clone(
    policy: VLMPolicy, config: VLMTrainConfig, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Fit the action scores to the optimal action sets (cross-entropy to uniform over optimal actions)."""
    rng = np.random.default_rng(config.seed)
    env = _env(config)
    opt = torch.optim.AdamW(policy.parameters(), lr=config.bc_lr)
    policy.train()
    t0, losses = time.perf_counter(), []
    for step in range(1, config.bc_steps + 1):
        frames, targets = [], []
        for _ in range(config.bc_batch):
            env.reset(seed=int(rng.integers(2**31)))
            best = optimal_action_sets(env, config.gamma)
            s = int(rng.choice(env.unwrapped.world.random_start_states))
            frames.append(env.unwrapped.world.render_rgb(state=s))
            targets.append(best[s] / best[s].sum())
        dist, _ = policy(np.stack(frames))
        target = torch.as_tensor(np.stack(targets), device=policy.device)
        loss = -(target * torch.log_softmax(dist.logits, -1)).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % 25 == 0:
            log(f"bc step {step}: loss {np.mean(losses[-25:]):.3f} ({time.perf_counter() - t0:.0f} s)")
    policy.eval()
    return {
        "steps": config.bc_steps,
        "final_loss": float(np.mean(losses[-20:])),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def ppo_finetune(
    policy: VLMPolicy, config: VLMTrainConfig, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """PPO on the action-word log-probs with the value head (clipped surrogate, GAE, entropy bonus)."""
    envs = [_env(config) for _ in range(config.ppo_envs)]
    obs = [e.reset(seed=config.seed * 7919 + i)[0] for i, e in enumerate(envs)]
    opt = torch.optim.AdamW(policy.parameters(), lr=config.ppo_lr)
    t0, returns_seen, history = time.perf_counter(), [], []
    ep_return = np.zeros(len(envs))
    for update in range(1, config.ppo_updates + 1):
        T, N = config.ppo_steps, len(envs)
        frames = np.zeros((T, N, *obs[0].shape), np.uint8)
        acts = np.zeros((T, N), np.int64)
        logps, values, rewards = np.zeros((T, N)), np.zeros((T + 1, N)), np.zeros((T, N))
        nonterminal = np.ones((T, N))
        policy.eval()
        with torch.no_grad():
            for t in range(T):
                frames[t] = np.stack(obs)
                dist, v = policy(frames[t])
                a = dist.sample()
                acts[t], logps[t], values[t] = (
                    a.cpu().numpy(),
                    dist.log_prob(a).cpu().numpy(),
                    v.cpu().numpy(),
                )
                for i, e in enumerate(envs):
                    obs[i], r, term, trunc, _ = e.step(int(acts[t, i]))
                    rewards[t, i] = r
                    ep_return[i] += r
                    if term:
                        nonterminal[t, i] = 0.0
                    if term or trunc:
                        returns_seen.append(ep_return[i])
                        ep_return[i] = 0.0
                        obs[i], _ = e.reset()
            values[T] = policy(np.stack(obs))[1].cpu().numpy()
        # GAE; a truncated episode bootstraps from the next (reset) frame's value, a small bias we accept.
        adv = np.zeros((T, N))
        last = np.zeros(N)
        for t in reversed(range(T)):
            delta = rewards[t] + config.gamma * values[t + 1] * nonterminal[t] - values[t]
            last = delta + config.gamma * config.gae_lambda * nonterminal[t] * last
            adv[t] = last
        ret = adv + values[:T]

        def flat(x: np.ndarray, n: int = T * N) -> torch.Tensor:
            return torch.as_tensor(x.reshape(n, *x.shape[2:]), device=policy.device)

        b_frames, b_acts, b_logp = frames.reshape(T * N, *frames.shape[2:]), flat(acts), flat(logps).float()
        b_adv, b_ret = flat(adv).float(), flat(ret).float()
        b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)
        policy.train()
        mb = max(1, T * N // 4)
        for _ in range(config.ppo_epochs):
            for idx in torch.randperm(T * N).split(mb):
                dist, v = policy(b_frames[idx.numpy()])
                ratio = torch.exp(dist.log_prob(b_acts[idx]) - b_logp[idx])
                pg = -torch.min(
                    ratio * b_adv[idx], ratio.clamp(1 - config.clip, 1 + config.clip) * b_adv[idx]
                ).mean()
                vloss = 0.5 * ((v - b_ret[idx]) ** 2).mean()
                loss = pg + config.vf_coef * vloss - config.ent_coef * dist.entropy().mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
                opt.step()
        history.append(float(np.mean(returns_seen[-N:])) if returns_seen else 0.0)
        log(f"ppo update {update}: mean episode return {history[-1]:.3f} ({time.perf_counter() - t0:.0f} s)")
    policy.eval()
    return {
        "updates": config.ppo_updates,
        "return_history": history,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def train_vlm_policy(
    config: VLMTrainConfig, log: Callable[[str], None] = print
) -> tuple[VLMPolicy, dict[str, Any]]:
    """A tiny Llava from configs: success before training, after behaviour cloning, after PPO."""
    from rlsuite.common.device import select_device
    from rlsuite.common.seeding import seed_everything
    from rlsuite.vision.models import build_tiny_llava

    seed_everything(config.seed)
    device = select_device(config.device)
    model, processor = build_tiny_llava(image_size=16 * config.size)
    policy = VLMPolicy(model.to(device), processor, device=device)
    report: dict[str, Any] = {"success_untrained": success_rate(policy, config)}
    log(f"success before training: {report['success_untrained']:.2f}")
    report["bc"] = behaviour_clone(policy, config, log)
    report["success_after_bc"] = success_rate(policy, config)
    log(f"success after behaviour cloning: {report['success_after_bc']:.2f}")
    report["ppo"] = ppo_finetune(policy, config, log)
    report["success_after_ppo"] = success_rate(policy, config)
    log(f"success after PPO: {report['success_after_ppo']:.2f}")
    return policy, report


def default_vlm_policy(
    force: bool = False, config: VLMTrainConfig | None = None, log: Callable[[str], None] = print
) -> tuple[VLMPolicy, dict[str, Any]]:
    """The behaviour-cloned, PPO-fine-tuned tiny Llava policy, cached under ``cache_dir("vision")``."""
    import json

    from rlsuite.common.paths import cache_dir
    from rlsuite.common.runs import atomic_path, write_json

    folder = cache_dir("vision") / "vlm-policy-v0"
    if not force and (folder / "model.safetensors").is_file() and (folder / "metrics.json").is_file():
        log(f"using the cached VLM policy in {folder}")
        return VLMPolicy.from_pretrained(folder), json.loads((folder / "metrics.json").read_text())
    cfg = config or VLMTrainConfig()
    policy, report = train_vlm_policy(cfg, log)
    from dataclasses import asdict

    report["train_config"] = asdict(cfg)
    with atomic_path(folder) as tmp:
        policy.save_pretrained(tmp)
        write_json(tmp / "metrics.json", report)
    log(f"saved to {folder}")
    return policy, report
