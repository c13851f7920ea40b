"""Cost of alignment methods on the embedded tiny model at a matched gold reward, and the wall time of
``align compare`` on 1 and 2 workers.

1. Cost at matched gold reward (the default): each method (DPO, IPO, rDPO, Online DPO, RLOO, GRPO against
   the reward model, GRPO against the gold reward, PPO) runs at a few budgets from the same SFT model; the
   gold reward of each run is measured on held-out prompts; the wall time to reach a target gold reward is
   interpolated linearly between budgets. The target is 90% of the way from SFT to the highest gold reward
   that every method reached. Methods that train on the reward model are charged its training time; GRPO
   on the gold reward and the DPO family are not. Each stage's tokens/s and peak memory are printed too.
2. ``--compare-workers 1 2``: the wall time of the default ``align compare`` (a fresh folder each) at each
   worker count (Ray for more than one).

    PYTHONPATH=. python benchmarks/alignment_cost.py [--quick] [--out runs/alignment_cost]
    PYTHONPATH=. python benchmarks/alignment_cost.py --compare-workers 1 2 [--compare-quick]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# label: (config class key, budget field, budgets, quick budgets, reward: None | "rm" | "gold", extra config, signal)
METHODS: dict[str, tuple[str, str, list[int], list[int], str | None, dict[str, Any], str]] = {
    "DPO": ("dpo", "num_train_epochs", [1, 2, 4], [1, 2], None, {}, "pairs, offline"),
    "IPO": ("dpo", "num_train_epochs", [1, 2, 4], [1, 2], None, {"loss_type": ["ipo"]}, "pairs, offline"),
    "rDPO": ("dpo", "num_train_epochs", [1, 2, 4], [1, 2], None,
             {"loss_type": ["robust"], "label_smoothing": 0.1}, "pairs, offline"),
    "Online DPO": ("online_dpo", "max_steps", [10, 20, 40], [10, 20], "rm", {}, "reward model, online"),
    "RLOO": ("rloo", "max_steps", [10, 20, 40], [10, 20], "rm", {}, "reward model, online"),
    "GRPO": ("grpo", "max_steps", [10, 20, 40], [10, 20], "rm", {}, "reward model, online"),
    "GRPO (gold)": ("grpo", "max_steps", [10, 20, 40], [10, 20], "gold", {}, "gold reward, online"),
    "PPO": ("ppo", "total_episodes", [128, 256, 512], [64, 128], "rm", {}, "reward model, online"),
}


def matched_cost(args: argparse.Namespace) -> None:
    import torch

    from rlsuite.alignment.configs import DPOConfig, RewardConfig
    from rlsuite.alignment.data import SentimentTask, split_heldout
    from rlsuite.alignment.embedded import default_model_dir
    from rlsuite.alignment.evaluate import evaluate_policy, sample_pairs
    from rlsuite.alignment.methods import METHODS as TABLE
    from rlsuite.alignment.methods import train
    from rlsuite.alignment.training import train_dpo, train_reward
    from rlsuite.common.io import write_json

    out = Path(args.out)
    task = SentimentTask()
    train_prompts, held = task.split_prompts()
    t0 = time.perf_counter()
    sft = default_model_dir()
    print(f"embedded SFT model ready in {time.perf_counter() - t0:.1f} s (cached after the first run): {sft}")
    t0 = time.perf_counter()
    pairs, _ = split_heldout(sample_pairs(sft, train_prompts, 24, seed=0), 0.1, seed=0)
    pair_seconds = time.perf_counter() - t0
    sft_gold = evaluate_policy(sft, sft, held, 16)["reward"]

    # Warm-up: the first trainer in a process pays one-time costs (thread pools, lazy imports).
    train_dpo(sft, pairs, DPOConfig(output_dir=str(out / "warmup"), max_steps=2, save_strategy="no"))
    stages: dict[str, dict] = {}
    rm = train_reward(sft, pairs, RewardConfig(output_dir=str(out / "reward"), save_strategy="no"))
    stages["reward model"] = rm
    curves: dict[str, list[tuple[float, float]]] = {}
    for label, (key, field, budgets, quick, reward, extra, _signal) in METHODS.items():
        curves[label] = [(0.0, sft_gold)]
        for value in quick if args.quick else budgets:
            run = out / f"{label.replace(' ', '_').replace('(', '').replace(')', '')}_{value}"
            config = TABLE[key].config(output_dir=str(run), save_strategy="no", **{field: value, **extra})
            signal = None if reward is None else ("gold" if reward == "gold" else str(out / "reward" / "model"))
            data = pairs if key == "dpo" else train_prompts
            m = train(config, sft, data, reward=signal)
            gold = evaluate_policy(run / "model", sft, held, 16)["reward"]
            stages[f"{label} {field}={value}"] = m
            curves[label].append((m["wall_seconds"], gold))
            print(f"{label:12} {field}={value:<4} wall {m['wall_seconds']:7.1f} s  gold {gold:+.2f}", flush=True)

    print(f"\nstage costs (torch threads: {torch.get_num_threads()}; pair sampling {pair_seconds:.1f} s)")
    print(f"{'stage':34} {'wall s':>8} {'tokens/s':>10} {'peak MB':>9}")
    for name, m in stages.items():
        print(f"{name:34} {m['wall_seconds']:8.1f} {m['tokens_per_second'] or 0:10.0f} {m['peak_memory_mb']:9.0f}")

    target = min(max(g for _, g in c) for c in curves.values())
    target = sft_gold + 0.9 * (target - sft_gold)

    def cost_to(curve: list[tuple[float, float]]) -> float | None:
        for (w0, g0), (w1, g1) in itertools.pairwise(curve):
            if g1 >= target:
                return w0 + (w1 - w0) * (target - g0) / (g1 - g0) if g1 > g0 and g0 < target else w1
        return None

    rm_wall = rm["wall_seconds"]
    costs: dict[str, float | None] = {}
    for label, c in curves.items():
        own = cost_to(c)
        costs[label] = None if own is None else own + (rm_wall if METHODS[label][4] == "rm" else 0.0)
    print(f"\nmatched gold reward: {target:+.2f} (SFT {sft_gold:+.2f}); cost = wall s to reach it "
          f"(+ the reward model's {rm_wall:.1f} s where the method trains on it)")
    print(f"{'method':12} {'signal':22} {'cost s':>8} {'x DPO':>7}")
    for label, cost in costs.items():
        ratio = cost / costs["DPO"] if cost is not None and costs["DPO"] else None
        shown = f"{cost:8.1f}" if cost is not None else "       -"
        print(f"{label:12} {METHODS[label][6]:22} {shown} {ratio if ratio is None else round(ratio, 2)!s:>7}")
    write_json(out / "alignment_cost.json", {
        "sft_gold": sft_gold, "target_gold": target, "curves": curves, "reward_model_seconds": rm_wall,
        "cost_seconds_to_target": costs, "signals": {k: v[6] for k, v in METHODS.items()},
        "stages": {k: {kk: v[kk] for kk in ("wall_seconds", "tokens_per_second", "peak_memory_mb", "tokens")}
                   for k, v in stages.items()},
    })
    print(f"numbers in {out / 'alignment_cost.json'}")


def compare_workers(args: argparse.Namespace) -> None:
    """Wall time of the default compare (or --compare-quick) at each worker count, in fresh folders."""
    rows = []
    for n in args.compare_workers:
        folder = Path(args.out) / f"compare-w{n}"
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        cmd = [sys.executable, "-m", "rlsuite", "align", "compare", "--out", str(folder), "--workers", str(n)]
        if args.compare_quick:
            cmd.append("--quick")
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        rows.append((n, time.perf_counter() - t0))
        print(f"align compare{' --quick' if args.compare_quick else ''} --workers {n}: {rows[-1][1]:.0f} s", flush=True)
    print(f"CPUs: {os.cpu_count()}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer budgets")
    parser.add_argument("--out", default="runs/alignment_cost")
    parser.add_argument("--compare-workers", type=int, nargs="+", help="time align compare at these worker counts")
    parser.add_argument("--compare-quick", action="store_true", help="time align compare --quick instead")
    args = parser.parse_args()
    if args.compare_workers:
        compare_workers(args)
    else:
        matched_cost(args)


if __name__ == "__main__":
    main()
