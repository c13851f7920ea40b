"""Cost of alignment on the embedded tiny model: each stage's wall time, tokens/s and peak memory,
and the ratio of DPO's total cost to RLHF's (reward model + PPO, and reward model + RLOO) at matched
gold reward.

Each method is run at a few budgets from the same SFT model; the gold reward of each run is measured
on held-out prompts; the cost to reach a target gold reward is interpolated linearly in wall time
between budgets. The target is the highest gold reward that every method reached.

    PYTHONPATH=. python benchmarks/alignment_cost.py [--quick] [--out runs/alignment_cost]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer budgets")
    parser.add_argument("--out", default="runs/alignment_cost")
    args = parser.parse_args()

    import torch
    from rlsuite.alignment.dpo import train_dpo
    from rlsuite.alignment.rlhf import train_ppo, train_reward, train_rloo

    from rlsuite.alignment.data import SentimentTask, split_heldout
    from rlsuite.alignment.evaluate import evaluate_policy, sample_pairs
    from rlsuite.alignment.models import default_model_dir
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
    train_dpo(sft, pairs, out / "warmup", overrides={"max_steps": 2, "save_strategy": "no"})
    stages: dict[str, dict] = {}
    rm = train_reward(sft, pairs, out / "reward", overrides={"save_strategy": "no"})
    stages["reward model"] = rm
    budgets = {
        "DPO": ("num_train_epochs", [1, 2] if args.quick else [1, 2, 4]),
        "RLOO": ("max_steps", [10, 20] if args.quick else [10, 20, 40]),
        "PPO": ("total_episodes", [64, 128] if args.quick else [128, 256, 512]),
    }
    curves: dict[str, list[tuple[float, float]]] = {}
    for method, (key, values) in budgets.items():
        curves[method] = [(0.0, sft_gold)]
        for value in values:
            run = out / f"{method.lower()}_{value}"
            over = {key: value, "save_strategy": "no"}
            if method == "DPO":
                m = train_dpo(sft, pairs, run, overrides=over)
            elif method == "RLOO":
                m = train_rloo(sft, train_prompts, run, out / "reward" / "model", overrides=over)
            else:
                m = train_ppo(sft, train_prompts, run, out / "reward" / "model", overrides=over)
            gold = evaluate_policy(run / "model", sft, held, 16)["reward"]
            stages[f"{method} {key}={value}"] = m
            curves[method].append((m["wall_seconds"], gold))
            print(
                f"{method:4} {key}={value:<4} wall {m['wall_seconds']:7.1f} s  gold {gold:+.2f}", flush=True
            )

    print(f"\nstage costs (CPU threads: {torch.get_num_threads()}; pair sampling {pair_seconds:.1f} s)")
    print(f"{'stage':28} {'wall s':>8} {'tokens/s':>10} {'peak MB':>9}")
    for name, m in stages.items():
        print(
            f"{name:28} {m['wall_seconds']:8.1f} {m['tokens_per_second'] or 0:10.0f} "
            f"{m['peak_memory_mb']:9.0f}"
        )

    target = min(max(g for _, g in c) for c in curves.values())
    target = sft_gold + 0.9 * (target - sft_gold)

    def cost_to(curve: list[tuple[float, float]]) -> float | None:
        for (w0, g0), (w1, g1) in itertools.pairwise(curve):
            if g1 >= target:
                return w0 + (w1 - w0) * (target - g0) / (g1 - g0) if g1 > g0 and g0 < target else w1
        return None

    rm_wall = rm["wall_seconds"]
    cost = {m: cost_to(c) for m, c in curves.items()}
    result = {
        "sft_gold": sft_gold,
        "target_gold": target,
        "curves": curves,
        "reward_model_seconds": rm_wall,
        "cost_seconds_to_target": cost,
        "stages": {
            k: {kk: v[kk] for kk in ("wall_seconds", "tokens_per_second", "peak_memory_mb", "tokens")}
            for k, v in stages.items()
        },
    }
    print(f"\nmatched gold reward: {target:+.2f} (SFT {sft_gold:+.2f})")
    for rl in ("PPO", "RLOO"):
        if cost["DPO"] is not None and cost[rl] is not None:
            ratio = cost["DPO"] / (rm_wall + cost[rl])
            result[f"DPO/RLHF-{rl} cost ratio"] = ratio
            print(
                f"DPO {cost['DPO']:.1f} s vs RLHF reward model {rm_wall:.1f} s + {rl} {cost[rl]:.1f} s: "
                f"ratio DPO/RLHF = {ratio:.3f}"
            )
    write_json(out / "alignment_cost.json", result)
    print(f"numbers in {out / 'alignment_cost.json'}")


if __name__ == "__main__":
    main()
