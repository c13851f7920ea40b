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
GOAL_TEXT = "the agent is on the target"
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


def _tiny_encoder_decoder(d_model: int, decoder_layers: int) -> dict[str, int]:
    """The sizes of a tiny DETR-family encoder-decoder: one encoder layer, two heads, ffn 2 x d_model."""
    return {
        "d_model": d_model,
        "encoder_layers": 1,
        "decoder_layers": decoder_layers,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 2 * d_model,
        "decoder_ffn_dim": 2 * d_model,
    }


def build_tiny_detr(folder: str | Path, d_model: int = 16, num_queries: int = 8, frame_px: int = 80) -> Path:
    """Save a tiny, untrained DETR (ResNet backbone from config, no timm) with its PIL image
    processor to ``folder``, for the transformers detection path. Classes: the pixel envs'."""
    from transformers import DetrConfig, DetrForObjectDetection, ResNetConfig
    from transformers.models.detr.image_processing_pil_detr import DetrImageProcessorPil

    from rlsuite.envs.pixels import CLASS_NAMES

    backbone = ResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic", out_features=["stage2"]
    )
    id2label = dict(enumerate(CLASS_NAMES))
    config = DetrConfig(
        backbone_config=backbone,
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        **_tiny_encoder_decoder(d_model, decoder_layers=1),
        num_queries=num_queries,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    DetrForObjectDetection(config).save_pretrained(folder)
    DetrImageProcessorPil(size={"shortest_edge": frame_px, "longest_edge": frame_px}).save_pretrained(folder)
    return Path(folder)


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


def build_tiny_idefics3(
    image_size: int = 80, patch_size: int = 8, hidden: int = 64, layers: int = 2
) -> tuple[Any, Any]:
    """A tiny ``Idefics3ForConditionalGeneration`` (SmolVLM's architecture) and its processor, from configs.

    The tokenizer is :func:`build_word_tokenizer` without eos plus the special tokens the
    processor writes around an image (``<fake_token_around_image>``, ``<global-img>``,
    ``<end_of_utterance>``). The frame is one tile (no splitting): ``(image_size / patch_size)**2 / 4``
    image tokens after the 2x2 pixel shuffle (25 for 80x80 frames and 8-pixel patches).
    """
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    tokenizer = build_word_tokenizer(add_eos=False, max_length=256)
    tokenizer.add_tokens(["<fake_token_around_image>", "<global-img>", "<end_of_utterance>"], special_tokens=True)
    scale = 2
    image_processor = Idefics3ImageProcessorPil(
        do_image_splitting=False,
        size={"longest_edge": image_size},
        max_image_size={"longest_edge": image_size},
    )
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=(image_size // patch_size) ** 2 // scale**2,
    )
    config = Idefics3Config(
        vision_config={
            "image_size": image_size,
            "patch_size": patch_size,
            "hidden_size": hidden // 2,
            "intermediate_size": hidden,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        text_config={
            "model_type": "llama",
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
            "max_position_embeddings": 256,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        image_token_id=tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS["image"]),
        scale_factor=scale,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Idefics3ForConditionalGeneration(config)
    boost_position_embeddings(model.model.vision_model)
    return model, processor


def build_tiny_qwen2_vl(
    image_size: int = 80, patch_size: int = 8, hidden: int = 64, layers: int = 2
) -> tuple[Any, Any]:
    """A tiny ``Qwen2VLForConditionalGeneration`` and an :class:`~rlsuite.vision.policies.ImageTextProcessor`.

    Transformers 5.24's ``Qwen2VLProcessor`` cannot be built without torchvision (it requires a
    video processor), so the processor here is the tokenizer (:func:`build_word_tokenizer` without
    eos; ``<image>`` is the image pad token) plus ``Qwen2VLImageProcessorPil``: each ``<image>``
    becomes one token per merged 2x2 patch (25 for an 80x80 frame with 8-pixel patches).
    Multimodal RoPE splits each head's rotary half into (time, height, width) sections.
    """
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from rlsuite.vision.policies import ImageTextProcessor

    tokenizer = build_word_tokenizer(add_eos=False, max_length=256)
    heads = 4
    half = hidden // heads // 2
    config = Qwen2VLConfig(
        vision_config={
            "depth": 1,
            "embed_dim": hidden // 2,
            "hidden_size": hidden,
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": patch_size,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": heads,
            "max_position_embeddings": 256,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [half - 2 * (half // 4), half // 4, half // 4],
            },
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        image_token_id=tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS["image"]),
        video_token_id=tokenizer.unk_token_id,
        vision_start_token_id=tokenizer.unk_token_id,
        vision_end_token_id=tokenizer.unk_token_id,
    )
    pixels = image_size * image_size
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=pixels, max_pixels=pixels, patch_size=patch_size, temporal_patch_size=2, merge_size=2
    )
    processor = ImageTextProcessor(image_processor, tokenizer)
    return Qwen2VLForConditionalGeneration(config), processor


def build_tiny_kimi_k25(
    image_size: int = 80, patch_size: int = 8, hidden: int = 64, layers: int = 2
) -> tuple[Any, Any]:
    """A tiny ``Kimi_K25ForConditionalGeneration`` and an :class:`~rlsuite.vision.policies.ImageTextProcessor`.

    Kimi-K2.5 is a MoonViT-style vision tower (native-resolution patches, 2D RoPE, 2x2 patch
    merge) feeding a DeepSeek-V3 text model (multi-head latent attention, mixture of experts).
    Here: one dense layer then ``layers - 1`` MoE layers of 4 experts (2 per token, plus a shared
    one). Transformers 5.24's ``Kimi_K25ImageProcessor`` needs torchvision, so the processor is the
    tokenizer (:func:`build_word_tokenizer` without eos; ``<image>`` is the media pad token) plus
    :class:`~rlsuite.vision.image_processing.Kimi_K25ImageProcessorPil`: an 80x80 frame is 10x10
    patches of 8 pixels, merged 2x2 into 25 image tokens.
    """
    from transformers import Kimi_K25Config, Kimi_K25ForConditionalGeneration

    from rlsuite.vision.image_processing import Kimi_K25ImageProcessorPil
    from rlsuite.vision.policies import ImageTextProcessor

    tokenizer = build_word_tokenizer(add_eos=False, max_length=256)
    heads, vision_hidden = 4, hidden // 2
    side = image_size // patch_size
    config = Kimi_K25Config(
        text_config={
            "model_type": "deepseek_v3",
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "moe_intermediate_size": hidden,
            "num_hidden_layers": layers,
            "first_k_dense_replace": 1,
            "n_routed_experts": 4,
            "num_experts_per_tok": 2,
            "n_shared_experts": 1,
            "n_group": 1,
            "topk_group": 1,
            "num_attention_heads": heads,
            "num_key_value_heads": heads,
            "kv_lora_rank": hidden // 2,
            "q_lora_rank": hidden // 2,  # as in Kimi-K2.5; also keeps its vision wqkv save rule off q_proj
            "qk_rope_head_dim": hidden // heads // 2,
            "qk_nope_head_dim": hidden // heads // 2,
            "v_head_dim": hidden // heads,
            "max_position_embeddings": 256,
            "num_mtp_layers": 0,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "patch_size": patch_size,
            "pos_emb_height": side,
            "pos_emb_width": side,
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "hidden_size": vision_hidden,
            "intermediate_size": 2 * vision_hidden,
            "merge_kernel_size": [2, 2],
            "rope_parameters": {"rope_type": "axial", "rope_theta": 10000.0},
        },
        projection_hidden_size=vision_hidden,
        image_token_id=tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS["image"]),
        video_token_id=tokenizer.unk_token_id,
        vision_start_token_id=tokenizer.unk_token_id,
        vision_end_token_id=tokenizer.unk_token_id,
    )
    image_processor = Kimi_K25ImageProcessorPil(
        patch_size=patch_size, merge_size=2, size={"max_height": side, "max_width": side}
    )
    processor = ImageTextProcessor(image_processor, tokenizer, return_mm_token_type_ids=False)
    return Kimi_K25ForConditionalGeneration(config), processor


def build_bert_word_tokenizer(words: tuple[str, ...] = WORDS, max_length: int = 64) -> Any:
    """A word-level, BERT-numbered ``PreTrainedTokenizerFast`` built locally (no download).

    Grounding DINO's text encoder is BERT and its model hard-codes bert-base-uncased's ids of
    ``[CLS]`` (101), ``[SEP]`` (102), ``.`` (1012) and ``?`` (1029) to split a prompt such as
    ``"agent. target."`` into phrases, so those tokens sit at those ids here (``[PAD]`` 0, ``[UNK]``
    100, ``words`` after ``[SEP]``, unused fillers elsewhere: 1030 ids). Encodings are
    ``[CLS] ... [SEP]``, lower-cased, split on whitespace and punctuation.
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    fixed = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, ".": 1012, "?": 1029}
    free = (i for i in range(1030) if i not in fixed.values())
    vocab = dict(fixed)
    for w in dict.fromkeys(words):
        if w not in vocab:
            vocab[w] = next(free)
    for i in free:
        vocab[f"[unused{i}]"] = i
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 101), ("[SEP]", 102)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        unk_token="[UNK]",
        model_max_length=max_length,
    )


def build_tiny_grounding_dino(
    folder: str | Path, d_model: int = 32, num_queries: int = 8, frame_px: int = 80, mm: bool = False
) -> Path:
    """Save a tiny, untrained Grounding DINO (or MM-Grounding-DINO with ``mm``) and its processor to ``folder``.

    Open-vocabulary: the classes are the text queries. A ResNet backbone from config (no timm),
    a 1-layer BERT text encoder over :func:`build_bert_word_tokenizer`, 2 decoder layers (one
    does not run), and ``GroundingDinoProcessor`` with its PIL image processor.
    """
    from transformers import BertConfig, GroundingDinoProcessor, ResNetConfig
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import (
        GroundingDinoImageProcessorPil,
    )

    if mm:
        from transformers import MMGroundingDinoConfig as Config
        from transformers import MMGroundingDinoForObjectDetection as Model
    else:
        from transformers import GroundingDinoConfig as Config
        from transformers import GroundingDinoForObjectDetection as Model

    tokenizer = build_bert_word_tokenizer()
    backbone = ResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic", out_features=["stage1", "stage2"]
    )
    text = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=d_model,
        intermediate_size=2 * d_model,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    config = Config(
        backbone_config=backbone,
        text_config=text,
        **_tiny_encoder_decoder(d_model, decoder_layers=2),  # Grounding DINO needs >= 2 decoder layers
        num_queries=num_queries,
        num_feature_levels=2,
        encoder_n_points=2,
        decoder_n_points=2,
        max_text_len=32,
    )
    Model(config).save_pretrained(folder)
    image_processor = GroundingDinoImageProcessorPil(size={"shortest_edge": frame_px, "longest_edge": frame_px})
    GroundingDinoProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return Path(folder)
