"""``rlsuite vision ...``: train and measure the vision defaults (heavy imports inside handlers)."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_subcommands(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "vision", help="vision models as policies and reward models on pixel grid worlds"
    )
    sub = p.add_subparsers(dest="vision_command", metavar="VISION_COMMAND")
    t = sub.add_parser(
        "train-detector",
        help="train (or reuse the cached) default grid detector; report AP50 "
        "and DetectionPolicy's success rate",
    )
    t.add_argument("--force", action="store_true", help="retrain even if a cached detector exists")
    t.add_argument("--max-steps", type=int, default=None, help="optimisation steps (default 400)")
    t.add_argument("--device", default="auto", help="auto, cpu or cuda")
    t.set_defaults(func=_train_detector)
    r = sub.add_parser(
        "train-reward",
        help="train (or reuse the cached) tiny contrastive image-text reward model; "
        "report its rank correlation with the distance to the goal",
    )
    r.add_argument("--force", action="store_true", help="retrain even if a cached model exists")
    r.add_argument("--steps", type=int, default=None, help="optimisation steps (default 800)")
    r.add_argument("--device", default="auto", help="auto, cpu or cuda")
    r.set_defaults(func=_train_reward)
    v = sub.add_parser(
        "train-vlm-policy",
        help="behaviour-clone then PPO-fine-tune a tiny Llava policy (cached); "
        "report success before and after",
    )
    v.add_argument("--force", action="store_true", help="retrain even if a cached policy exists")
    v.add_argument("--bc-steps", type=int, default=None, help="behaviour-cloning steps")
    v.add_argument("--ppo-updates", type=int, default=None, help="PPO updates")
    v.add_argument("--device", default="auto", help="auto, cpu or cuda")
    v.set_defaults(func=_train_vlm_policy)
    e = sub.add_parser(
        "eval-vlm",
        help="load a local VLM folder as a VLMPolicy (action-word scoring) and report its success "
        "rate on held-out random pixel grid worlds",
    )
    e.add_argument("model", help="local AutoModelForImageTextToText + AutoProcessor folder")
    e.add_argument(
        "--trust-remote-code",
        action="store_true",
        help="run the custom code the folder's config.json names (Kimi-VL); only for code you trust",
    )
    e.add_argument("--episodes", type=int, default=50, help="held-out layouts")
    e.add_argument("--size", type=int, default=4, help="grid side of the layouts")
    e.add_argument("--device", default="auto", help="auto, cpu or cuda")
    e.set_defaults(func=_eval_vlm)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _train_detector(args: argparse.Namespace) -> int:
    from rlsuite.common.errors import UsageError
    from rlsuite.vision.detection import DetectorTrainConfig
    from rlsuite.vision.models import default_detector, default_detector_dir

    config = DetectorTrainConfig(device=args.device)
    if args.max_steps is not None:
        if args.max_steps < 1:
            raise UsageError(f"--max-steps must be a positive integer, got {args.max_steps}")
        config.max_steps = args.max_steps
    _, metrics = default_detector(force=args.force, config=config, device=args.device)
    print(json.dumps({k: metrics[k] for k in ("detector", "policy", "training")}, indent=2))
    print(f"detector: {default_detector_dir()}")
    return 0


def _positive(name: str, value: int | None) -> None:
    from rlsuite.common.errors import UsageError

    if value is not None and value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value}")


def _train_reward(args: argparse.Namespace) -> int:
    from rlsuite.vision.models import ContrastiveTrainConfig, default_clip_reward

    _positive("--steps", args.steps)
    config = ContrastiveTrainConfig(device=args.device)
    if args.steps is not None:
        config.steps = args.steps
    _, metrics = default_clip_reward(force=args.force, config=config, device=args.device)
    print(json.dumps({k: metrics[k] for k in ("rank_correlation", "training")}, indent=2))
    return 0


def _train_vlm_policy(args: argparse.Namespace) -> int:
    from rlsuite.vision.finetune import VLMTrainConfig, default_vlm_policy

    _positive("--bc-steps", args.bc_steps)
    _positive("--ppo-updates", args.ppo_updates)
    config = VLMTrainConfig(device=args.device)
    if args.bc_steps is not None:
        config.bc_steps = args.bc_steps
    if args.ppo_updates is not None:
        config.ppo_updates = args.ppo_updates
    _, report = default_vlm_policy(force=args.force, config=config)
    stages = ("untrained", "after_bc", "after_ppo")
    keys = [f"{name}_{stage}" for name in ("success", "value_gap") for stage in stages]
    print(json.dumps({k: report[k] for k in keys if k in report}, indent=2))
    return 0


def _eval_vlm(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rlsuite.common.errors import UsageError
    from rlsuite.vision.finetune import VLMTrainConfig, success_rate
    from rlsuite.vision.policies import VLMPolicy

    _positive("--episodes", args.episodes)
    _positive("--size", args.size)
    if not (Path(args.model) / "config.json").is_file():
        raise UsageError(f"{args.model}: no config.json (not a saved model folder)")
    policy = VLMPolicy.from_pretrained(args.model, trust_remote_code=args.trust_remote_code, device=args.device)
    config = VLMTrainConfig(size=args.size, eval_episodes=args.episodes, device=args.device)
    report = {"model": str(args.model), "model_class": type(policy.model).__name__}
    report["success_rate"] = success_rate(policy, config)
    print(json.dumps(report, indent=2))
    return 0
