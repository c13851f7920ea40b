"""Training a VLMPolicy on the pixel grid world: behaviour cloning, then PPO on action log-probs.

RL4VLM's recipe at toy scale: the policy's action distribution is the VLM's scores of the action
words (:class:`~rlsuite.vision.policies.VLMPolicy`), the value a linear head on the prompt's last
hidden state. Behaviour cloning fits the scores to the optimal actions from exact value
iteration, on a data set of frames built once (every non-target cell of a few hundred random
layouts); PPO (clipped surrogate, GAE) then fine-tunes on the env's own reward, after a few
rollouts that fit only the value head (behaviour cloning leaves it untrained).

The success rate is measured with the greedy policy on ``eval_episodes`` random layouts drawn
with seeds that training never uses, and behaviour cloning skips any drawn layout that equals
one of them, so they are held out as layouts, not only as seeds.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.dp import value_iteration
from rlsuite.envs.model import tabular_model
from rlsuite.vision.policies import VLMPolicy

ENV_ID = "rlsuite/PixelGridWorldRandom-v0"
EVAL_SEED = 10_000  # the held-out layouts are env.reset(seed=EVAL_SEED + i)
CACHE_NAME = "vlm-policy-v1"


@dataclass
class VLMTrainConfig:
    """Behaviour cloning then PPO for a tiny VLMPolicy on random pixel grid worlds."""

    size: int = field(default=4, metadata={"help": "grid side of the training and evaluation layouts"})
    forbidden_fraction: float = field(default=0.15, metadata={"help": "forbidden cells per layout"})
    hidden: int = field(default=64, metadata={"help": "width of the tiny Llava's language model (vision: half)"})
    layers: int = field(default=2, metadata={"help": "language-model layers of the tiny Llava"})
    bc_layouts: int = field(
        default=600, metadata={"help": "random layouts in the behaviour-cloning set (one frame per non-target cell)"}
    )
    bc_steps: int = field(default=600, metadata={"help": "behaviour-cloning steps"})
    bc_batch: int = field(default=64, metadata={"help": "frames per behaviour-cloning step"})
    bc_lr: float = field(
        default=1e-3, metadata={"help": "behaviour-cloning peak learning rate (2e-3 stalled at chance in a test run)"}
    )
    bc_value_coef: float = field(
        default=0.5, metadata={"help": "weight of fitting the value head to v* (value iteration) during cloning"}
    )
    bc_warmup: int = field(default=50, metadata={"help": "linear warm-up steps, then linear decay to zero"})
    ppo_updates: int = field(default=30, metadata={"help": "PPO updates (each a rollout and its epochs)"})
    value_warmup: int = field(
        default=4, metadata={"help": "first updates that fit only the value head (policy unchanged)"}
    )
    ppo_envs: int = field(default=64, metadata={"help": "parallel episodes per rollout"})
    ppo_steps: int = field(default=8, metadata={"help": "steps per env per rollout"})
    ppo_epochs: int = field(default=4, metadata={"help": "passes over each rollout"})
    ppo_minibatches: int = field(default=4, metadata={"help": "minibatches per pass"})
    ppo_lr: float = field(default=1e-4, metadata={"help": "PPO learning rate (whole model)"})
    value_lr: float = field(default=1e-2, metadata={"help": "learning rate of the value head during the warm-up"})
    clip: float = field(default=0.2, metadata={"help": "PPO clip range"})
    gamma: float = field(default=0.9, metadata={"help": "discount"})
    gae_lambda: float = field(default=0.95, metadata={"help": "GAE lambda"})
    vf_coef: float = field(default=0.5, metadata={"help": "value loss weight"})
    ent_coef: float = field(default=0.0, metadata={"help": "entropy bonus weight"})
    eval_episodes: int = field(default=50, metadata={"help": "held-out layouts for the success rate"})
    max_episode_steps: int = field(default=20, metadata={"help": "step limit of an episode"})
    seed: int = field(default=0, metadata={"help": "seed of layouts and weights"})
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda"})
    cpu_threads: int = field(
        default=1,
        metadata={"help": "torch threads while training on CPU (1 ran 3-6x faster than 2 on 2 shared cores)"},
    )


def _env(config: VLMTrainConfig) -> gym.Env[Any, Any]:
    return gym.make(
        ENV_ID,
        n_rows=config.size,
        n_cols=config.size,
        forbidden_fraction=config.forbidden_fraction,
        max_episode_steps=config.max_episode_steps,
    )


@contextlib.contextmanager
def _torch_threads(n: int, device: torch.device) -> Iterator[None]:
    """``torch.set_num_threads(n)`` on CPU for the duration (tiny models lose to thread syncing)."""
    before = torch.get_num_threads()
    if device.type == "cpu" and n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def optimal_actions_and_values(env: gym.Env[Any, Any], gamma: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """The env's current layout solved by value iteration: optimal-action indicator [S, A] and ``v*`` [S]."""
    v, q, _ = value_iteration(tabular_model(env.unwrapped), gamma=gamma)
    return (q >= q.max(1, keepdims=True) - 1e-9).astype(np.float32), v


def held_out_layouts(config: VLMTrainConfig) -> set[bytes]:
    """The cell kinds (as bytes) of the evaluation layouts, which behaviour cloning leaves out."""
    env = _env(config)
    keys = set()
    for i in range(config.eval_episodes):
        env.reset(seed=EVAL_SEED + i)
        keys.add(env.unwrapped.world.kinds.tobytes())
    return keys


def optimal_action_dataset(
    config: VLMTrainConfig, seeds: Iterable[int], n_layouts: int, exclude: Collection[bytes] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames of every non-target agent cell of random layouts, and their optimal-action targets.

    Args:
        config: grid size and forbidden fraction of the layouts.
        seeds: ``env.reset`` seeds, one layout each, taken in order until ``n_layouts`` are kept.
        n_layouts: how many layouts to keep.
        exclude: cell kinds (``kinds.tobytes()``) of layouts to skip (not counted).

    Returns:
        ``(frames [N, H, W, 3] uint8, targets [N, A] float32, values [N] float32)``: each target
        is uniform over the optimal actions of that cell, each value its ``v*`` (exact value
        iteration on the layout).
    """
    env = _env(config)
    frames, targets, values = [], [], []
    kept = 0
    for seed in seeds:
        if kept == n_layouts:
            break
        env.reset(seed=int(seed))
        if env.unwrapped.world.kinds.tobytes() in exclude:
            continue
        kept += 1
        states, layout_frames = _agent_frames(env)
        best, v_star = optimal_actions_and_values(env, config.gamma)
        frames.append(layout_frames)
        targets.append(best[states] / best[states].sum(1, keepdims=True))
        values.append(v_star[states])
    return np.concatenate(frames), np.concatenate(targets), np.concatenate(values).astype(np.float32)


def _agent_frames(env: gym.Env[Any, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The non-target states of the env's current layout and a frame of the agent in each."""
    world = env.unwrapped.world
    states = np.array([s for s in range(world.n_states) if s != world.target_state])
    return states, np.stack([world.render_rgb(state=int(s)) for s in states])


@torch.no_grad()
def action_accuracy(policy: VLMPolicy, frames: np.ndarray, targets: np.ndarray, batch: int = 256) -> float:
    """Fraction of frames whose greedy action is one of the optimal ones (``targets > 0``)."""
    policy.eval()
    hits = []
    for i in range(0, len(frames), batch):
        greedy = policy(frames[i : i + batch])[0].logits.argmax(-1).cpu().numpy()
        hits.append(targets[i : i + batch][np.arange(len(greedy)), greedy] > 0)
    return float(np.concatenate(hits).mean())


@torch.no_grad()
def exact_value_gap(policy: VLMPolicy, config: VLMTrainConfig, seed: int = EVAL_SEED) -> float:
    """Mean ``v*(s) - v_pi(s)`` over the start cells of the held-out layouts, for the sampling policy.

    Exact, not sampled: the policy's action probabilities in every cell of a layout (one batched
    forward pass) are evaluated by :func:`~rlsuite.agents.tabular.dp.policy_evaluation` against
    value iteration's ``v*``. 0 means the stochastic policy is optimal; it shows what PPO changes
    once the greedy success rate is already 1.
    """
    from rlsuite.agents.tabular.dp import policy_evaluation

    env, gaps = _env(config), []
    policy.eval()
    for i in range(config.eval_episodes):
        env.reset(seed=seed + i)
        model = tabular_model(env.unwrapped)
        states, frames = _agent_frames(env)
        pi = np.full((model.n_states, model.n_actions), 1.0 / model.n_actions)  # the target is absorbing
        pi[states] = policy(frames)[0].probs.double().cpu().numpy()
        v_star, _, _ = value_iteration(model, gamma=config.gamma)
        v_pi = policy_evaluation(model, pi, gamma=config.gamma)
        starts = env.unwrapped.world.random_start_states
        gaps.append((v_star - v_pi)[starts].mean())
    return float(np.mean(gaps))


def success_rate(policy: VLMPolicy, config: VLMTrainConfig, seed: int = EVAL_SEED) -> float:
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
    """Fit the action scores to the optimal action sets (cross-entropy to uniform over optimal actions).

    The value head is fitted to ``v*`` at the same time (weight ``bc_value_coef``): a warm start
    for PPO's critic, which the untrained head would otherwise give noise advantages from.

    The data set is built once: every non-target cell of ``bc_layouts`` random layouts (the
    held-out evaluation layouts excluded), 15 frames per 4x4 layout. Minibatches are drawn from
    it with replacement; the learning rate warms up linearly, then decays linearly to zero.
    The report's ``held_out_accuracy`` is over every non-target cell of the evaluation layouts.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    train_seeds = iter(lambda: int(rng.integers(EVAL_SEED + config.eval_episodes, 2**31)), None)
    frames, targets, values = optimal_action_dataset(
        config, train_seeds, config.bc_layouts, held_out_layouts(config)
    )
    eval_seeds = range(EVAL_SEED, EVAL_SEED + config.eval_episodes)
    test_frames, test_targets, _ = optimal_action_dataset(config, eval_seeds, config.eval_episodes)
    log(f"bc data: {len(frames)} frames from {config.bc_layouts} layouts ({time.perf_counter() - t0:.1f} s)")
    initial_accuracy = action_accuracy(policy, frames[:1000], targets[:1000])
    opt = torch.optim.AdamW(policy.parameters(), lr=config.bc_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / config.bc_warmup) * (1.0 - s / config.bc_steps)
    )
    losses = []
    for step in range(1, config.bc_steps + 1):
        policy.train()
        idx = rng.integers(len(frames), size=config.bc_batch)
        dist, v = policy(frames[idx])
        target = torch.as_tensor(targets[idx], device=policy.device)
        loss = -(target * torch.log_softmax(dist.logits, -1)).sum(-1).mean()
        v_star = torch.as_tensor(values[idx], device=policy.device)
        loss = loss + config.bc_value_coef * 0.5 * ((v - v_star) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 100 == 0 or step == config.bc_steps:
            log(f"bc step {step}: loss {np.mean(losses[-100:]):.3f} ({time.perf_counter() - t0:.0f} s)")
    policy.eval()
    report = {
        "steps": config.bc_steps,
        "frames": len(frames),
        "first_loss": float(np.mean(losses[:20])),
        "final_loss": float(np.mean(losses[-20:])),
        "initial_train_accuracy": initial_accuracy,
        "train_accuracy": action_accuracy(policy, frames[:1000], targets[:1000]),
        "held_out_accuracy": action_accuracy(policy, test_frames, test_targets),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    log(f"bc accuracy: train {report['train_accuracy']:.3f}, held-out layouts {report['held_out_accuracy']:.3f}")
    return report


def ppo_finetune(
    policy: VLMPolicy, config: VLMTrainConfig, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """PPO on the action-word log-probs with the value head (clipped surrogate, GAE).

    The first ``value_warmup`` updates fit only the value head to the rollout returns, so the
    first policy updates see advantages from a fitted value, not from an untrained head. A
    truncated episode bootstraps from its own last frame's value; no return or advantage flows
    across an episode's end.
    """
    N, T = config.ppo_envs, config.ppo_steps
    envs = gym.vector.SyncVectorEnv(
        [partial(_env, config)] * N, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
    obs, _ = envs.reset(seed=config.seed * 7919 + EVAL_SEED + config.eval_episodes)
    value_opt = torch.optim.AdamW(policy.value_head.parameters(), lr=config.value_lr)
    opt = torch.optim.AdamW(policy.parameters(), lr=config.ppo_lr)
    t0, history = time.perf_counter(), []
    ep_return = np.zeros(N)
    for update in range(1, config.ppo_updates + 1):
        # ----- rollout: one batched forward pass per step over all envs
        frames = np.zeros((T, *obs.shape), np.uint8)
        acts = np.zeros((T, N), np.int64)
        logps, values, rewards = np.zeros((T, N)), np.zeros((T + 1, N)), np.zeros((T, N))
        ended = np.zeros((T, N), bool)
        returns_seen, solved_seen = [], []
        policy.eval()
        with torch.no_grad():
            for t in range(T):
                frames[t] = obs
                dist, v = policy(obs)
                a = dist.sample()
                acts[t], logps[t], values[t] = a.cpu().numpy(), dist.log_prob(a).cpu().numpy(), v.cpu().numpy()
                obs, r, term, trunc, info = envs.step(acts[t])
                ep_return += r
                trunc = trunc & ~term
                if trunc.any():  # the episode goes on beyond the time limit: bootstrap from its last frame
                    last = np.stack(info["final_obs"][trunc])
                    r = np.array(r, dtype=np.float64)
                    r[trunc] += config.gamma * policy(last)[1].cpu().numpy()
                rewards[t], ended[t] = r, term | trunc
                for i in np.flatnonzero(ended[t]):
                    returns_seen.append(ep_return[i])
                    solved_seen.append(bool(term[i]))
                    ep_return[i] = 0.0
            values[T] = policy(obs)[1].cpu().numpy()
        # ----- GAE, cut at every episode end
        adv = np.zeros((T, N))
        running = np.zeros(N)
        for t in reversed(range(T)):
            going_on = 1.0 - ended[t]
            delta = rewards[t] + config.gamma * values[t + 1] * going_on - values[t]
            running = delta + config.gamma * config.gae_lambda * going_on * running
            adv[t] = running
        ret = adv + values[:T]
        explained = 1.0 - np.var(ret - values[:T]) / (np.var(ret) + 1e-8)  # of the rollout's values

        # ----- epochs over the rollout (value head only during the warm-up)
        def flat(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(x.reshape(T * N, *x.shape[2:]), device=policy.device)

        b_frames, b_acts, b_logp = frames.reshape(T * N, *frames.shape[2:]), flat(acts), flat(logps).float()
        b_adv, b_ret = flat(adv).float(), flat(ret).float()
        b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)
        warmup = update <= config.value_warmup
        policy.train()
        stats: dict[str, list[float]] = {"vloss": [], "kl": [], "clipped": []}
        epoch_vloss = []  # mean value loss of each pass: the fit on this rollout
        for _ in range(config.ppo_epochs):
            for idx in torch.randperm(T * N).split(max(1, T * N // config.ppo_minibatches)):
                dist, v = policy(b_frames[idx.numpy()])
                vloss = 0.5 * ((v - b_ret[idx]) ** 2).mean()
                log_ratio = dist.log_prob(b_acts[idx]) - b_logp[idx]
                ratio = torch.exp(log_ratio)
                if warmup:
                    loss, optimizer, params = vloss, value_opt, list(policy.value_head.parameters())
                else:
                    pg = -torch.min(
                        ratio * b_adv[idx], ratio.clamp(1 - config.clip, 1 + config.clip) * b_adv[idx]
                    ).mean()
                    loss = pg + config.vf_coef * vloss - config.ent_coef * dist.entropy().mean()
                    optimizer, params = opt, list(policy.parameters())
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                stats["vloss"].append(vloss.item())
                stats["kl"].append(((ratio - 1) - log_ratio).mean().item())
                stats["clipped"].append(((ratio - 1).abs() > config.clip).float().mean().item())
            epoch_vloss.append(float(np.mean(stats["vloss"])))
            stats["vloss"].clear()
        row = {
            "update": update,
            "phase": "value" if warmup else "ppo",
            "episodes": len(returns_seen),
            "mean_return": float(np.mean(returns_seen)) if returns_seen else float("nan"),
            "success": float(np.mean(solved_seen)) if solved_seen else float("nan"),
            "value_loss_first_epoch": epoch_vloss[0],
            "value_loss": epoch_vloss[-1],
            "explained_variance": float(explained),
            "approx_kl": float(np.mean(stats["kl"])),
            "clip_fraction": float(np.mean(stats["clipped"])),
        }
        history.append(row)
        log(
            f"ppo update {update} ({row['phase']}): {row['episodes']} episodes, return {row['mean_return']:.3f}, "
            f"success {row['success']:.2f}, value loss {row['value_loss']:.4f} "
            f"(explained variance {row['explained_variance']:.2f}), kl {row['approx_kl']:.4f} "
            f"({time.perf_counter() - t0:.0f} s)"
        )
    envs.close()
    policy.eval()
    return {
        "updates": config.ppo_updates,
        "history": history,
        "return_history": [row["mean_return"] for row in history],
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
    with _torch_threads(config.cpu_threads, device):
        t0 = time.perf_counter()
        # 16-pixel cells and 16-pixel patches: one image token per grid cell.
        model, processor = build_tiny_llava(
            image_size=16 * config.size, patch_size=16, hidden=config.hidden, layers=config.layers
        )
        policy = VLMPolicy(model.to(device), processor, device=device)
        report: dict[str, Any] = {}
        for stage, train in (("untrained", None), ("after_bc", behaviour_clone), ("after_ppo", ppo_finetune)):
            if train is not None:
                report[train.__name__] = train(policy, config, log)
            report[f"success_{stage}"] = success_rate(policy, config)
            report[f"value_gap_{stage}"] = exact_value_gap(policy, config)
            log(
                f"{stage}: greedy success {report[f'success_{stage}']:.2f}, "
                f"v* - v_pi of the sampling policy {report[f'value_gap_{stage}']:.3f}"
            )
        report["seconds"] = round(time.perf_counter() - t0, 1)
    return policy, report


def default_vlm_policy(
    force: bool = False, config: VLMTrainConfig | None = None, log: Callable[[str], None] = print
) -> tuple[VLMPolicy, dict[str, Any]]:
    """The behaviour-cloned, PPO-fine-tuned tiny Llava policy, cached under ``cache_dir("vision")``."""
    import json
    from dataclasses import asdict

    from rlsuite.common.io import atomic_path, write_json
    from rlsuite.common.paths import cache_dir

    folder = cache_dir("vision") / CACHE_NAME
    if not force and (folder / "model.safetensors").is_file() and (folder / "metrics.json").is_file():
        log(f"using the cached VLM policy in {folder}")
        return VLMPolicy.from_pretrained(folder), json.loads((folder / "metrics.json").read_text())
    cfg = config or VLMTrainConfig()
    policy, report = train_vlm_policy(cfg, log)
    report["train_config"] = asdict(cfg)
    with atomic_path(folder) as tmp:
        policy.save_pretrained(tmp)
        write_json(tmp / "metrics.json", report)
    log(f"saved to {folder}")
    return policy, report
