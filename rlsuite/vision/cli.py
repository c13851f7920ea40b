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
