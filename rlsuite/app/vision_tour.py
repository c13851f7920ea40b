"""The tour's vision section: the default detector's AP50, DetectionPolicy's success, a drawn frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def draw_detections(frame: np.ndarray, detections: Any, class_names: list[str], scale: int = 4) -> Any:
    """A PIL image of ``frame`` (upscaled) with boxes and class labels drawn."""
    from PIL import Image, ImageDraw

    colours = {"agent": (220, 0, 220), "target": (0, 150, 0), "forbidden": (200, 0, 0)}
    img = Image.fromarray(frame).resize((frame.shape[1] * scale, frame.shape[0] * scale), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    for box, label, score in zip(detections.boxes, detections.labels, detections.scores, strict=True):
        name = class_names[int(label)]
        colour = colours.get(name, (0, 0, 0))
        draw.rectangle([float(v) * scale for v in box], outline=colour, width=2)
        draw.text((float(box[0]) * scale + 3, float(box[1]) * scale + 2), f"{name} {score:.2f}", fill=colour)
    return img


def vision_section(out: Path, quick: bool) -> dict[str, Any]:
    """Load (or train, ~2-6 min on 2 cores) the default grid detector; measure it; draw a frame."""
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401
    from rlsuite.vision.detection import (
        DetectionPolicy,
        DetectorTrainConfig,
        evaluate_detector,
        policy_success_rate,
        train_detector,
    )
    from rlsuite.vision.models import default_detector, default_detector_dir

    cached = (default_detector_dir() / "model.safetensors").is_file()
    if quick and not cached:  # a short training, not cached, so the default stays the full one
        model, train_info = train_detector(DetectorTrainConfig(max_steps=150), log=lambda _: None)
        source = (
            f"trained for the quick tour ({train_info['steps']} steps, {train_info['seconds']} s), not cached"
        )
    else:
        model, _ = default_detector(log=lambda msg: print("   " + msg, flush=True))
        source = f"default detector ({default_detector_dir()})"
    frames, episodes = (100, 30) if quick else (300, 100)
    det = evaluate_detector(model, n_frames=frames, seed=31337)
    pol = policy_success_rate(DetectionPolicy(model), episodes=episodes, seed=4242)
    env = gym.make("rlsuite/PixelGridWorldRandom-v0", n_rows=6, n_cols=6, forbidden_fraction=0.25)
    obs, _ = env.reset(seed=7)
    draw_detections(obs, model.detect(obs, threshold=0.3)[0], model.config.class_names).save(
        out / "vision_detections.png"
    )
    return {
        "detector": source,
        "AP50 (held-out random layouts)": round(det["AP50"], 4),
        "AP50 per class": det["AP50_per_class"],
        "DetectionPolicy success (random solvable layouts)": pol["success_rate"],
        "episodes": pol["episodes"],
        "figure": "vision_detections.png",
    }
