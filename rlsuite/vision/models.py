"""The vision layer's defaults: trained locally once, cached as safetensors + JSON, then loaded.

``default_detector()`` returns the grid detector from ``cache_dir("vision", "grid-detector-v0")``,
training it (and measuring AP50 and DetectionPolicy's success) the first time. Nothing is
downloaded; nothing is unpickled (safetensors only).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rlsuite.common.io import atomic_path, write_json
from rlsuite.common.paths import cache_dir

DETECTOR_NAME = "grid-detector-v0"


def default_detector_dir() -> Path:
    """Where the default grid detector is cached."""
    return cache_dir("vision") / DETECTOR_NAME


def default_detector(
    force: bool = False,
    config: Any = None,
    device: str = "auto",
    log: Callable[[str], None] = print,
    eval_frames: int = 300,
    eval_episodes: int = 200,
) -> tuple[Any, dict[str, Any]]:
    """The default :class:`~rlsuite.vision.detection.GridDetector` and its measured quality.

    Args:
        force: retrain even if a cached copy exists.
        config: a ``DetectorTrainConfig`` (defaults when None); only used when training.
        device: where to load (and train) it.
        log: progress messages.
        eval_frames: held-out frames for AP50 (after training).
        eval_episodes: random solvable layouts for DetectionPolicy's success rate (after training).

    Returns:
        ``(detector, metrics)``; metrics hold AP50, the policy's success rate and the training log.
    """
    from rlsuite.common.device import select_device
    from rlsuite.vision.detection import (
        DetectionPolicy,
        DetectorTrainConfig,
        GridDetector,
        evaluate_detector,
        policy_success_rate,
        train_detector,
    )

    folder = default_detector_dir()
    dev = select_device(device)
    if not force and (folder / "model.safetensors").is_file() and (folder / "metrics.json").is_file():
        log(f"using the cached detector in {folder}")
        return GridDetector.from_pretrained(folder, device=dev), json.loads(
            (folder / "metrics.json").read_text()
        )
    cfg = config or DetectorTrainConfig(device=str(dev))
    log(f"training the default grid detector ({cfg.max_steps} steps) on rendered random layouts")
    model, train_info = train_detector(cfg, log=log)
    log("measuring AP50 on held-out frames and DetectionPolicy on random solvable layouts")
    metrics = {
        "detector": evaluate_detector(model, n_frames=eval_frames),
        "policy": policy_success_rate(DetectionPolicy(model), episodes=eval_episodes),
        "training": train_info,
        "train_config": asdict(cfg),
    }
    with atomic_path(folder) as tmp:
        model.save_pretrained(tmp)
        write_json(tmp / "metrics.json", metrics)
    log(f"saved to {folder}")
    return model, metrics


# ----------------------------------------------------------------------------- tiny local text models
# Every word the vision layer's tiny text models need: captions, instructions, questions, actions.
_WORD_TEXT = """the a an agent is on at in of to from target grid world row column square cell
    step steps far near away
    zero one two three four five six seven eight nine ten eleven twelve
    go move up down left right stay red green blue yellow purple orange white forbidden
    question answer yes no goal achieved has reached been what which should you do next action
    image picture frame shows there here reach . , ? :"""
WORDS: tuple[str, ...] = tuple(_WORD_TEXT.split())
SPECIAL_TOKENS = {"pad": "<pad>", "bos": "<bos>", "unk": "<unk>", "eos": "<eos>", "image": "<image>"}


def build_word_tokenizer(words: tuple[str, ...] = WORDS, max_length: int = 64, add_eos: bool = True) -> Any:
    """A word-level ``PreTrainedTokenizerFast`` built locally (no download).

    Ids: ``<pad>`` 0, ``<bos>`` 1, ``<unk>`` 2, ``<eos>`` 3, ``<image>`` 4, then ``words``. Every
    encoding starts with ``<bos>`` and, with ``add_eos``, ends with ``<eos>`` (CLIP pools its text
    embedding at the eos token, so it must be there and inside the vocabulary).
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    specials = list(SPECIAL_TOKENS.values())
    vocab = {
        tok: i for i, tok in enumerate(specials + [w for w in dict.fromkeys(words) if w not in specials])
    }
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split("<image>", behavior="isolated"), pre_tokenizers.Whitespace()]
    )
    single = "<bos> $A <eos>" if add_eos else "<bos> $A"
    tok.post_processor = processors.TemplateProcessing(
        single=single, special_tokens=[("<bos>", vocab["<bos>"]), ("<eos>", vocab["<eos>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=max_length,
        extra_special_tokens={"image_token": "<image>"},
    )


def build_tiny_clip(
    tokenizer: Any,
    image_size: int = 80,
    patch_size: int = 8,
    hidden: int = 64,
    layers: int = 2,
    projection_dim: int = 32,
) -> tuple[Any, Any]:
    """A tiny ``CLIPModel`` and its PIL image processor, from configs (untrained)."""
    import math

    import torch
    from transformers import CLIPConfig, CLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": 4,
            "max_position_embeddings": 32,
            **ids,
        },
        vision_config={
            "image_size": image_size,
            "patch_size": patch_size,
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": 4,
        },
        projection_dim=projection_dim,
    )
    processor = CLIPImageProcessorPil(
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
        do_center_crop=True,
    )
    model = CLIPModel(config)
    boost_position_embeddings(model.vision_model)
    # From scratch, near-identical caption embeddings give the images no gradient and vice versa
    # (measured: loss flat at the label marginal for 300 steps); distinct token embeddings and a
    # sharp initial temperature break that symmetry (learning starts within ~200 steps).
    torch.nn.init.normal_(model.text_model.embeddings.token_embedding.weight, std=1.0)
    with torch.no_grad():
        model.logit_scale.fill_(math.log(100.0))
    return model, processor


def boost_position_embeddings(vision_model: Any, std: float = 1.0) -> None:
    """Re-draw a from-scratch ViT's position embeddings at the scale of its patch embeddings.

    CLIP's default (std 0.02) all but hides where a patch is; a tiny ViT trained from scratch on
    grid frames then fails to localise anything within hundreds of steps (measured: the agent's
    cell stayed at chance, loss log(25), after 300 steps; with std 1.0 it was learned in ~200).
    """
    import torch

    inner = getattr(vision_model, "vision_model", vision_model)
    torch.nn.init.normal_(inner.embeddings.position_embedding.weight, std=std)


# ----------------------------------------------------------------------------- the contrastive default
CLIP_NAME = "clip-reward-v0"
NUMBER_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)
BASELINE_TEXT = "a grid world"


def cell_caption(cell: tuple[int, int]) -> str:
    """The caption of a frame whose agent is in ``cell`` (0-indexed): "the agent is in row two column one".

    Also the default reward's goal text for a target in ``cell``: the goal state is the agent there.
    """
    r, c = cell
    return f"the agent is in row {NUMBER_WORDS[r + 1]} column {NUMBER_WORDS[c + 1]}"


@dataclass
class ContrastiveTrainConfig:
    """Training of the default tiny CLIP on frames of random 5x5 layouts and agent-cell captions."""

    steps: int = field(default=800, metadata={"help": "optimisation steps"})
    batch_size: int = field(default=64, metadata={"help": "frames per step"})
    pool: int = field(
        default=3000, metadata={"help": "frames rendered (and preprocessed) once, sampled per step"}
    )
    lr: float = field(default=1e-3, metadata={"help": "AdamW learning rate"})
    sigma: float = field(default=1.0, metadata={"help": "width (cells) of the soft labels over captions"})
    size: int = field(default=5, metadata={"help": "grid side (the image is size * cell_px pixels)"})
    cell_px: int = field(default=16, metadata={"help": "pixels per cell"})
    seed: int = field(default=0, metadata={"help": "seed of frames and weights"})
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda"})


def _agent_frames(rng: Any, n: int, size: int, cell_px: int) -> tuple[Any, Any]:
    """``n`` frames of random layouts with the agent in a random cell, and those cells [n, 2]."""
    import numpy as np

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


def train_contrastive_reward(
    config: ContrastiveTrainConfig, log: Callable[[str], None] = print
) -> tuple[Any, ...]:
    """Train a tiny CLIP so that each frame sits next to the caption of the agent's cell.

    The loss is CLIP's symmetric cross-entropy (image -> the ``size**2`` cell captions, and each
    caption -> the frames of the batch) with soft labels ``exp(-d^2 / 2 sigma^2)``, ``d`` the
    Manhattan distance between the caption's cell and the agent's: a frame is also a little like
    its neighbours' captions, so the similarity to the goal caption (the target's cell) falls with
    the agent's distance from it. The caption -> frames direction is what ranks frames for a goal.

    Returns:
        ``(model, processor, tokenizer, info)``.
    """
    import math
    import time

    import numpy as np
    import torch

    from rlsuite.common.device import select_device
    from rlsuite.common.seeding import seed_everything

    rng = seed_everything(config.seed)
    device = select_device(config.device)
    tokenizer = build_word_tokenizer()
    model, processor = build_tiny_clip(tokenizer, image_size=config.size * config.cell_px)
    model.to(device).train()
    t0 = time.perf_counter()
    frames, agent_cells = _agent_frames(rng, config.pool, config.size, config.cell_px)
    pixels = processor(images=list(frames), return_tensors="pt")["pixel_values"].to(device)
    log(f"rendered {config.pool} frames ({time.perf_counter() - t0:.0f} s)")
    grid = np.array([(r, c) for r in range(config.size) for c in range(config.size)])
    captions = tokenizer([cell_caption(tuple(c)) for c in grid], padding=True, return_tensors="pt").to(device)
    dist = np.abs(agent_cells[:, None, :] - grid[None]).sum(-1)  # [pool, cells]
    soft_all = torch.softmax(torch.as_tensor(-(dist**2) / (2 * config.sigma**2), dtype=torch.float32), 1).to(
        device
    )
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    warm = max(1, config.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then cosine decay
        opt, lambda t: min(1.0, (t + 1) / warm) * 0.5 * (1 + math.cos(math.pi * t / config.steps))
    )
    losses: list[float] = []
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
        losses.append(loss.item())
        if step % 50 == 0:
            log(f"step {step}: loss {sum(losses[-50:]) / 50:.4f} ({time.perf_counter() - t0:.0f} s)")
    model.eval()
    info = {
        "steps": config.steps,
        "seconds": round(time.perf_counter() - t0, 1),
        "final_loss": sum(losses[-20:]) / min(20, len(losses)),
        "params": sum(p.numel() for p in model.parameters()),
    }
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
    (Manhattan: forbidden cells can be entered).
    """
    import gymnasium as gym
    import numpy as np
    from scipy.stats import spearmanr

    import rlsuite.envs  # noqa: F401
    from rlsuite.agents.tabular.dp import value_iteration
    from rlsuite.envs.model import tabular_model

    rng = np.random.default_rng(seed)
    frames, dists, per_episode = [], [], []
    env = gym.make(
        "rlsuite/PixelGridWorldRandom-v0", n_rows=size, n_cols=size, cell_px=cell_px, max_episode_steps=30
    )
    for ep in range(episodes):
        obs, info = env.reset(seed=seed * 1000 + ep)
        world = env.unwrapped.world
        _, q, _ = value_iteration(tabular_model(world), gamma=0.9)
        ep_frames, ep_d = [], []
        for _ in range(30):
            (r, c), (tr, tc) = world.to_cell(info["state"]), world.to_cell(world.target_state)
            ep_frames.append(obs)
            ep_d.append(abs(r - tr) + abs(c - tc))
            a = int(rng.integers(5)) if rng.random() < epsilon else int(q[info["state"]].argmax())
            obs, _, terminated, truncated, info = env.step(a)
            if terminated or truncated:
                (r, c) = world.to_cell(info["state"])
                ep_frames.append(obs)
                ep_d.append(abs(r - tr) + abs(c - tc))
                break
        if goal_from_target:
            reward_model.set_goal(cell_caption(world.to_cell(world.target_state)))
        rewards = reward_model.rewards(np.stack(ep_frames))
        if len(set(ep_d)) > 1:
            per_episode.append(float(spearmanr(rewards, -np.array(ep_d)).statistic))
        frames.append(rewards)
        dists += ep_d
    all_rewards = np.concatenate(frames)
    rho = float(spearmanr(all_rewards, -np.array(dists)).statistic)
    return {
        "spearman_pooled": rho,
        "spearman_per_episode_mean": float(np.mean(per_episode)),
        "frames": len(dists),
        "episodes": episodes,
    }


def default_clip_reward(
    force: bool = False,
    config: ContrastiveTrainConfig | None = None,
    device: str = "auto",
    log: Callable[[str], None] = print,
) -> tuple[Any, dict[str, Any]]:
    """The default :class:`~rlsuite.vision.rewards.VLMRewardModel` (tiny CLIP) and its measured quality."""
    from rlsuite.vision.rewards import VLMRewardModel

    folder = cache_dir("vision") / CLIP_NAME
    if not force and (folder / "model.safetensors").is_file() and (folder / "metrics.json").is_file():
        log(f"using the cached contrastive reward model in {folder}")
        return (
            VLMRewardModel.from_pretrained(folder, cell_caption((0, 0)), BASELINE_TEXT, device=device),
            json.loads((folder / "metrics.json").read_text()),
        )
    cfg = config or ContrastiveTrainConfig(device=device)
    log(f"training the default contrastive reward model ({cfg.steps} steps)")
    model, processor, tokenizer, info = train_contrastive_reward(cfg, log=log)
    reward = VLMRewardModel(model, processor, tokenizer, cell_caption((0, 0)), BASELINE_TEXT, device=device)
    metrics = {
        "rank_correlation": evaluate_reward_rank_correlation(reward),
        "training": info,
        "train_config": asdict(cfg),
        "goal": "cell_caption(target cell), e.g. " + cell_caption((2, 3)),
        "baseline": BASELINE_TEXT,
    }
    with atomic_path(folder) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(tmp / "metrics.json", metrics)
    log(f"saved to {folder}")
    return reward, metrics


def build_tiny_llava(
    image_size: int = 80, patch_size: int = 16, hidden: int = 64, layers: int = 2
) -> tuple[Any, Any]:
    """A tiny ``LlavaForConditionalGeneration`` and its ``LlavaProcessor``, from configs (untrained).

    The tokenizer is :func:`build_word_tokenizer` without eos (a causal LM continues the prompt).
    """
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tokenizer = build_word_tokenizer(add_eos=False, max_length=256)
    vision = CLIPVisionConfig(
        image_size=image_size,
        patch_size=patch_size,
        hidden_size=hidden // 2,
        intermediate_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS["image"]),
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
    )
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=1,
        image_token=SPECIAL_TOKENS["image"],
    )
    model = LlavaForConditionalGeneration(config)
    boost_position_embeddings(model.model.vision_tower)
    return model, processor


