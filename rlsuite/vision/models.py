"""The vision layer's defaults: trained locally once, cached as safetensors + JSON, then loaded.

``default_detector()`` returns the grid detector from ``cache_dir("vision", "grid-detector-v0")``,
training it (and measuring AP50 and DetectionPolicy's success) the first time. Nothing is
downloaded; nothing is unpickled (safetensors only).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rlsuite.common.paths import cache_dir
from rlsuite.common.runs import atomic_path, write_json

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
