"""The default contrastive reward: a tiny CLIP trained locally on grid-world frames and cell captions.

The captions name the agent's cell ("the agent is in row two column four"); the goal text of a
task is the caption of the target's cell (the goal state: the agent there), the baseline "a grid
world" (VLM-RMs' goal-baseline reward, :class:`~rlsuite.vision.rewards.VLMRewardModel`). Its
quality is the rank correlation of the reward with minus the distance to the target on held-out
episodes (:func:`evaluate_reward_rank_correlation`).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rlsuite.common import progress
from rlsuite.common.config import Config, config_error, option
from rlsuite.common.device import DEVICE_HELP, check_device_field
from rlsuite.vision.models import build_tiny_clip, build_word_tokenizer

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
)  # fmt: skip
BASELINE_TEXT = "a grid world"
PATCH_PX = 8  # the tiny CLIP's patch size


def cell_caption(cell: tuple[int, int]) -> str:
    """The caption of a frame whose agent is in ``cell`` (0-indexed): "the agent is in row two column one".

    Also the default reward's goal text for a target in ``cell``: the goal state is the agent there.
    """
    r, c = cell
    return f"the agent is in row {NUMBER_WORDS[r + 1]} column {NUMBER_WORDS[c + 1]}"


@dataclass
class ContrastiveTrainConfig(Config):
    """Training of the default tiny CLIP on frames of random layouts and agent-cell captions, and its measurement."""

    steps: int = option(800, help="optimisation steps", ge=1, aliases=["--budget"])
    batch_size: int = option(64, help="frames per step", ge=1)
    pool: int = option(3000, help="frames rendered (and preprocessed) once, sampled per step", ge=1)
    lr: float = option(1e-3, help="peak AdamW learning rate (warm-up, then cosine decay)", gt=0)
    sigma: float = option(1.0, help="width (cells) of the soft labels over captions", gt=0)
    size: int = option(5, help="grid side (the image is size * cell_px pixels; captions name rows up to twelve)",
                       ge=2, le=len(NUMBER_WORDS) - 1)  # fmt: skip
    cell_px: int = option(16, help="pixels per cell (size * cell_px must be a multiple of 8, the patch size)", ge=1)
    eval_episodes: int = option(40, help="held-out episodes for the rank correlation, after training", ge=1)
    seed: int = option(0, help="seed of frames and weights", ge=0)
    device: str = option("auto", help=DEVICE_HELP)
    threads: int = option(0, help="torch CPU threads (0: one, or OMP_NUM_THREADS when set)", ge=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_device_field(self)
        if (self.size * self.cell_px) % PATCH_PX:
            raise config_error(
                self, "cell_px", f"size * cell_px = {self.size * self.cell_px} pixels is not a multiple of {PATCH_PX}"
            )


def _agent_frames(rng: Any, n: int, size: int, cell_px: int) -> tuple[Any, Any]:
    """``n`` frames of random layouts with the agent in a random cell, and those cells [n, 2]."""
    from rlsuite.envs.gridworld import GridWorldEnv, Layout
    from rlsuite.envs.pixels import layout_map

    frames, cells = [], []
    for _ in range(n):
        world = GridWorldEnv(
            grid_map=layout_map(Layout.random(size, size, float(rng.uniform(0, 0.3)), rng)), cell_px=cell_px
        )
        s = int(rng.integers(world.n_states))
        frames.append(world.render_rgb(state=s))
        cells.append(world.to_cell(s))
    return np.stack(frames), np.array(cells)


def train_contrastive_reward(config: ContrastiveTrainConfig, device: torch.device | None = None) -> tuple[Any, ...]:
    """Train a tiny CLIP so that each frame sits next to the caption of the agent's cell.

    The loss is CLIP's symmetric cross-entropy (image -> the ``size**2`` cell captions, and each
    caption -> the frames of the batch) with soft labels ``exp(-d^2 / 2 sigma^2)``, ``d`` the
    Manhattan distance between the caption's cell and the agent's: a frame is also a little like
    its neighbours' captions, so the similarity to the goal caption (the target's cell) falls with
    the agent's distance from it. The caption -> frames direction is what ranks frames for a goal.

    Training runs in float32 on ``config.device``.

    Returns:
        ``(model, processor, tokenizer, info)``; info holds the steps, seconds, the first and final
        loss (means of the first and last 20 steps) and the parameter count.
    """
    from rlsuite.common.device import select_device
    from rlsuite.common.seeding import seed_everything
    from rlsuite.vision.runtime import torch_threads

    device = select_device(config.device) if device is None else device  # resolved by the caller, once
    rng = seed_everything(config.seed)
    with torch_threads(config.threads):
        return _train(config, rng, device)


def _train(config: ContrastiveTrainConfig, rng: np.random.Generator, device: Any) -> tuple[Any, ...]:
    import torch

    from rlsuite.vision.runtime import DeviceLosses

    tokenizer = build_word_tokenizer()
    model, processor = build_tiny_clip(tokenizer, image_size=config.size * config.cell_px)
    model.to(device).train()
    t0 = time.perf_counter()
    frames, agent_cells = _agent_frames(rng, config.pool, config.size, config.cell_px)
    pixels = processor(images=list(frames), return_tensors="pt")["pixel_values"].to(device)
    log.debug("rendered %d frames (%.0f s)", config.pool, time.perf_counter() - t0)
    grid = np.array([(r, c) for r in range(config.size) for c in range(config.size)])
    captions = tokenizer([cell_caption(tuple(c)) for c in grid], padding=True, return_tensors="pt")
    if bool(captions["attention_mask"].all()):  # every caption has the same words: no padding to mask
        del captions["attention_mask"]  # (transformers checks a given mask on the host at every forward)
    captions = captions.to(device)
    dist = np.abs(agent_cells[:, None, :] - grid[None]).sum(-1)  # [pool, cells]
    soft_all = torch.softmax(torch.as_tensor(-(dist**2) / (2 * config.sigma**2), dtype=torch.float32), 1).to(
        device
    )
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    warm = max(1, config.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then cosine decay
        opt, lambda t: min(1.0, (t + 1) / warm) * 0.5 * (1 + math.cos(math.pi * t / config.steps))
    )
    losses = DeviceLosses(config.steps, device)
    with progress.task("train contrastive reward", total=config.steps, unit="step") as bar:
        for step in range(1, config.steps + 1):
            idx = torch.as_tensor(rng.integers(0, config.pool, config.batch_size), device=device)
            out = model(pixel_values=pixels[idx], **captions)
            soft = soft_all[idx]  # [batch, cells]
            image_to_text = -(soft * torch.log_softmax(out.logits_per_image, dim=1)).sum(1).mean()
            # The reward compares frames under one caption, so train that direction too (CLIP's symmetric loss).
            per_text = soft.T / soft.T.sum(1, keepdim=True)
            text_to_image = -(per_text * torch.log_softmax(out.logits_per_text, dim=1)).sum(1).mean()
            loss = 0.5 * (image_to_text + text_to_image)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.add(loss)  # on the device: read once, after training (or when debugging)
            bar.advance()
            if step % 50 == 0 and log.isEnabledFor(logging.DEBUG):
                log.debug("step %d: loss %.4f (%.0f s)", step, losses.host(50).mean(), time.perf_counter() - t0)
    model.eval()
    info = {
        "steps": config.steps,
        "seconds": round(time.perf_counter() - t0, 1),
        **losses.summary(first=20, final=20),
        "params": sum(p.numel() for p in model.parameters()),
    }
    log.info("contrastive reward: %d steps in %.0f s, loss %.3f -> %.3f", config.steps, info["seconds"],
             info["first_loss"], info["final_loss"])  # fmt: skip
    return model, processor, tokenizer, info


def evaluate_reward_rank_correlation(
    reward_model: Any,
    goal_from_target: bool = True,
    episodes: int = 40,
    seed: int = 2024,
    size: int = 5,
    cell_px: int = 16,
    epsilon: float = 0.3,
) -> dict[str, Any]:
    """Spearman correlation of the reward with minus the true distance to the target, on held-out episodes.

    Episodes of ``PixelGridWorldRandom-v0`` (new layout each) follow an epsilon-greedy optimal
    policy, so frames range from far to on the target. The distance is the optimal number of steps
    (Manhattan: forbidden cells can be entered). With ``goal_from_target`` each episode's target cell is the
    goal while it is scored; the reward model's own goal is set back afterwards.
    """
    import gymnasium as gym
    from scipy.stats import spearmanr

    import rlsuite.envs  # noqa: F401
    from rlsuite.agents.tabular.dp import value_iteration
    from rlsuite.envs.model import tabular_model

    rng = np.random.default_rng(seed)
    rewards, dists, per_episode = [], [], []
    env = gym.make(
        "rlsuite/PixelGridWorldRandom-v0", n_rows=size, n_cols=size, cell_px=cell_px, max_episode_steps=30
    )
    goal = reward_model.goal if goal_from_target else None
    try:
        with progress.task("rank correlation episodes", total=episodes, unit="episode") as bar:
            for ep in range(episodes):
                obs, info = env.reset(seed=seed * 1000 + ep)
                world = env.unwrapped.world
                _, q, _ = value_iteration(tabular_model(world), gamma=0.9)
                tr, tc = world.to_cell(world.target_state)
                ep_frames, ep_d = [], []
                for _ in range(30):
                    r, c = world.to_cell(info["state"])
                    ep_frames.append(obs)
                    ep_d.append(abs(r - tr) + abs(c - tc))
                    a = int(rng.integers(5)) if rng.random() < epsilon else int(q[info["state"]].argmax())
                    obs, _, terminated, truncated, info = env.step(a)
                    if terminated or truncated:
                        r, c = world.to_cell(info["state"])
                        ep_frames.append(obs)
                        ep_d.append(abs(r - tr) + abs(c - tc))
                        break
                if goal_from_target:
                    reward_model.set_goal(cell_caption((tr, tc)))
                ep_rewards = reward_model.rewards(np.stack(ep_frames))
                if len(set(ep_d)) > 1:
                    per_episode.append(float(spearmanr(ep_rewards, -np.array(ep_d)).statistic))
                rewards.append(ep_rewards)
                dists += ep_d
                bar.advance()
    finally:
        if goal_from_target:  # the model leaves with the goal it came with, whatever happened
            reward_model.set_goal(goal)
    rho = float(spearmanr(np.concatenate(rewards), -np.array(dists)).statistic)
    return {
        "spearman_pooled": rho,
        "spearman_per_episode_mean": float(np.mean(per_episode)),
        "frames": len(dists),
        "episodes": episodes,
    }
