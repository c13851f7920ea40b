"""Frames per second of each vision wrapper at batch 1 and 64, and the defaults' quality figures.

Baseline (measured in the same run): rendering frames of PixelGridWorldRandom-v0 with
``env.step`` (the env itself). Every wrapper is printed as frames/s and as a ratio to that
baseline. Wrappers run tiny models built from configs (the throughput of the code path, not of
a particular checkpoint), on CPU and, where present, on CUDA.

Torch runs with one thread per process unless ``--threads N`` (or ``OMP_NUM_THREADS``) says
otherwise: on a shared machine the default count oversubscribes the cores (``--threads 0`` keeps
torch's own default, to compare).

Usage::

    PYTHONPATH=. python benchmarks/vision_throughput.py            # throughput + cached quality figures
    PYTHONPATH=. python benchmarks/vision_throughput.py --quality  # also train/measure missing defaults
    PYTHONPATH=. python benchmarks/vision_throughput.py --quick    # a short look: CPU, batch 1 and 8, 0.2 s each
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _rate(fn: Callable[[np.ndarray], object], frames: np.ndarray, min_seconds: float = 1.0) -> float:
    fn(frames)  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_seconds:
        fn(frames)
        n += len(frames)
    return n / (time.perf_counter() - t0)


def _frames(n: int) -> np.ndarray:
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401

    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    return np.stack([env.reset(seed=i)[0] for i in range(n)])


def env_baseline() -> float:
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401

    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    env.reset(seed=0)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        _, _, term, trunc, _ = env.step(int(n % 5))
        if term or trunc:
            env.reset()
        n += 1
    return n / (time.perf_counter() - t0)


def build_wrappers(device: str, folder: Path) -> dict[str, Callable[[np.ndarray], object]]:
    from transformers.utils import logging as hf_logging

    from rlsuite.testing.vision_models import GOAL_TEXT, build_tiny_detr
    from rlsuite.vision.detection import DetectionPolicy, GridDetector
    from rlsuite.vision.models import build_tiny_clip, build_tiny_llava, build_word_tokenizer
    from rlsuite.vision.policies import VLMPolicy, VLMYesNoReward
    from rlsuite.vision.rewards import DetectionRewardModel, DetectionTarget, VLMRewardModel

    hf_logging.disable_progress_bar()
    torch.manual_seed(0)
    grid = GridDetector()
    grid.save_pretrained(folder / "grid")
    build_tiny_detr(folder / "detr", d_model=32, num_queries=16)
    tok = build_word_tokenizer()
    clip, proc = build_tiny_clip(tok)
    for x in (clip, proc, tok):
        x.save_pretrained(folder / "clip")
    llava, lproc = build_tiny_llava()
    llava.save_pretrained(folder / "llava")
    lproc.save_pretrained(folder / "llava")

    target = DetectionTarget(present=["agent", "target"])
    grid_rm = DetectionRewardModel.from_pretrained(folder / "grid", device=device)
    detr_rm = DetectionRewardModel.from_pretrained(folder / "detr", device=device)
    clip_rm = VLMRewardModel.from_pretrained(folder / "clip", GOAL_TEXT, device=device)
    policy = VLMPolicy.from_pretrained(folder / "llava", device=device)
    judge = VLMYesNoReward(policy.model, policy.processor, GOAL_TEXT)
    det_policy = DetectionPolicy(GridDetector.from_pretrained(folder / "grid", device=device))
    return {
        "DetectionRewardModel (grid detector)": lambda f: grid_rm.rewards(f, target, "presence"),
        "DetectionRewardModel (tiny DETR)": lambda f: detr_rm.rewards(f, target, "presence"),
        "DetectionPolicy (grid detector + VI)": lambda f: det_policy.predict(f),
        "VLMRewardModel (tiny CLIP)": clip_rm.rewards,
        "VLMPolicy scoring (tiny Llava)": lambda f: policy.predict(f),
        "VLMYesNoReward (tiny Llava)": judge.rewards,
    }


def quality(train_missing: bool) -> dict[str, object]:
    """The defaults' measured quality: from their folders when trained earlier (or training them)."""
    from rlsuite.vision.contrastive import ContrastiveTrainConfig
    from rlsuite.vision.defaults import (
        CLIP_NAME,
        DETECTOR_NAME,
        VLM_POLICY_NAME,
        cache_folder,
        default_clip_reward,
        default_detector,
        default_vlm_policy,
        finished_key,
    )
    from rlsuite.vision.detection import DetectorTrainConfig
    from rlsuite.vision.finetune import VLMTrainConfig

    def ready(name: str, config: object) -> bool:
        return train_missing or finished_key(cache_folder(name, config)) is not None

    out: dict[str, object] = {}
    if ready(DETECTOR_NAME, DetectorTrainConfig()):
        m = default_detector().metrics
        out["detector AP50"] = m["detector"]["AP50"]
        out["DetectionPolicy success"] = m["policy"]["success_rate"]
    else:
        out["detector"] = "not trained yet: rlsuite vision train-detector"
    if ready(CLIP_NAME, ContrastiveTrainConfig()):
        m = default_clip_reward().metrics
        out["contrastive reward Spearman vs -distance"] = m["rank_correlation"]["spearman_pooled"]
    else:
        out["contrastive reward"] = "not trained yet: rlsuite vision train-reward"
    if ready(VLM_POLICY_NAME, VLMTrainConfig()):
        m = default_vlm_policy().metrics
        stages = ("untrained", "after_bc", "after_ppo")
        out["VLMPolicy greedy success (untrained / BC / BC+PPO)"] = [m[f"success_{s}"] for s in stages]
        out["VLMPolicy v* - v_pi, sampling (untrained / BC / BC+PPO)"] = [
            round(m[f"value_gap_{s}"], 3) for s in stages
        ]
        out["VLMPolicy training seconds (BC / PPO / all)"] = [
            m["behaviour_clone"]["seconds"],
            m["ppo_finetune"]["seconds"],
            m["seconds"],
        ]
    else:
        out["VLMPolicy"] = "not trained yet: rlsuite vision train-vlm-policy"
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality", action="store_true", help="train and measure missing defaults too")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: 1 per process; 0: torch's)")
    parser.add_argument("--quick", action="store_true", help="CPU only, batches 1 and 8, 0.2 s per measurement")
    args = parser.parse_args(argv)
    if args.threads != 0:
        from rlsuite.common.device import set_torch_threads

        set_torch_threads(args.threads or 0)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.quick else [])
    batches = (1, 8) if args.quick else (1, 64)
    seconds = 0.2 if args.quick else args.seconds
    base = env_baseline()
    print(
        f"baseline: PixelGridWorldRandom-v0 env.step {base:,.0f} frames/s "
        f"(torch threads {torch.get_num_threads()})"
    )
    frames = _frames(max(batches))
    with tempfile.TemporaryDirectory() as tmp:
        for device in devices:
            wrappers = build_wrappers(device, Path(tmp) / device)
            print(f"\n{'wrapper':40s} {'device':6s} {'batch':>5s} {'frames/s':>10s} {'x env':>8s}")
            for name, fn in wrappers.items():
                for batch in batches:
                    r = _rate(fn, frames[:batch], seconds)
                    print(f"{name:40s} {device:6s} {batch:5d} {r:10,.0f} {r / base:8.3f}")
    print("\ndefaults' quality:")
    for k, v in quality(args.quality and not args.quick).items():
        print(f"  {k}: {v}")


if __name__ == "__main__":
    main()
