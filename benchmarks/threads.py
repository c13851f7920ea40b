"""Torch threads on a shared machine: torch's default against rlsuite's choice, quiet and beside a busy process.

    python benchmarks/threads.py [--quick] [--no-dpo] [--json F]

Each measurement runs in a fresh Python process with ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS``
unset, so torch picks its own default (one thread per core); "rlsuite" calls
``rlsuite.common.device.set_torch_threads()`` first, as ``rlsuite train`` does (1 thread per
process unless a config says otherwise). Workloads, timed after imports and set-up:

- ``ppo``: the work of ``rlsuite train ppo --env rlsuite/GridWorld-v0 --budget 5000``: PPO with the
  grid world's settings from ``rlsuite/app/configs/ppo.yml`` (8 envs x 128 steps, batch 256,
  4 epochs), built through ``rlsuite.agents.sb3``; ``--quick``: 2048 steps;
- ``dpo``: DPO steps (batch 32) on a model of the embedded alignment model's size (the tiny Llama
  of ``rlsuite.alignment.models.default_recipe``, untrained: a step costs the same) through
  ``rlsuite.alignment.dpo.train_dpo``, after a warm-up step; skipped with ``--quick`` / ``--no-dpo``.

Conditions: ``quiet``, and ``busy``: one other Python process spinning on a core for the whole
measurement. Prints seconds per measurement and the ratio torch default / rlsuite for each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


# ----- workers: one measurement each, in a fresh process -----
def work_ppo(budget: int) -> float:
    import yaml

    from rlsuite.agents import sb3
    from rlsuite.agents.sb3_config import PPOConfig
    from rlsuite.common.config import from_dict

    entry = yaml.safe_load((ROOT / "rlsuite" / "app" / "configs" / "ppo.yml").read_text())["rlsuite/GridWorld-v0"]
    config = from_dict(PPOConfig, {**entry, "eval_freq": 0, "progress_bar": False})
    model = sb3.build_model(config, sb3.make_train_env("rlsuite/GridWorld-v0", None, config, 0), 0, "cpu")
    t0 = time.perf_counter()
    model.learn(budget)
    return time.perf_counter() - t0


def work_dpo(steps: int) -> float:
    import tempfile

    import numpy as np

    from rlsuite.alignment.configs import DPOConfig
    from rlsuite.alignment.data import SentimentTask, label_pairs
    from rlsuite.alignment.embedded import default_recipe
    from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer
    from rlsuite.alignment.training import train_dpo

    task, recipe = SentimentTask(), default_recipe()
    rng = np.random.default_rng(0)
    prompts, _ = task.split_prompts()
    prompts = [prompts[i % len(prompts)] for i in range(256)]
    pairs = label_pairs(prompts, [task.sample_completion(rng) for _ in prompts],
                        [task.sample_completion(rng) for _ in prompts])  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        tok = build_tokenizer(task.vocabulary())
        model = build_tiny_causal_lm(tok, recipe["arch"], recipe["hidden_size"], recipe["layers"], recipe["seed"])
        model.save_pretrained(Path(tmp) / "base")
        tok.save_pretrained(Path(tmp) / "base")
        common = {"save_strategy": "no", "report_to": "none", "logging_strategy": "no"}
        train_dpo(Path(tmp) / "base", pairs, DPOConfig(output_dir=str(Path(tmp) / "warmup"), max_steps=1, **common))
        t0 = time.perf_counter()
        train_dpo(Path(tmp) / "base", pairs, DPOConfig(output_dir=str(Path(tmp) / "dpo"), max_steps=steps, **common))
        return time.perf_counter() - t0


def worker(workload: str, threads: str, size: int) -> None:
    import torch

    if threads == "rlsuite":
        from rlsuite.common.device import set_torch_threads

        set_torch_threads()
    seconds = work_ppo(size) if workload == "ppo" else work_dpo(size)
    print(json.dumps({"seconds": seconds, "threads": torch.get_num_threads()}))


# ----- the driver -----
def measure(workload: str, threads: str, size: int, busy: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", workload, "--threads", threads, "--size", str(size)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="PPO 2048 steps only (no DPO)")
    parser.add_argument("--no-dpo", action="store_true", help="skip the DPO workload")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--worker", choices=["ppo", "dpo"], help=argparse.SUPPRESS)
    parser.add_argument("--threads", choices=["default", "rlsuite"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.threads, args.size)
        return

    workloads = [("ppo", 2048 if args.quick else 5000)]
    if not (args.quick or args.no_dpo):
        workloads.append(("dpo", 4))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    out: dict[str, Any] = {"machine": f"{platform.processor() or platform.machine()}, {cpus} CPUs",
                           "load_average": os.getloadavg()[0], "results": {}}  # fmt: skip
    print(f"{out['machine']}, load average {out['load_average']:.1f} at the start")
    print(f"{'workload':<16}{'condition':<10}{'torch default':>22}{'rlsuite':>18}{'ratio':>9}")
    for workload, size in workloads:
        name = f"{workload} {size} {'steps' if workload == 'ppo' else 'DPO steps'}"
        for condition in ("quiet", "busy"):
            busy = condition == "busy"
            default = measure(workload, "default", size, busy)
            chosen = measure(workload, "rlsuite", size, busy)
            ratio = default["seconds"] / chosen["seconds"]
            out["results"][f"{workload}_{condition}"] = {"default": default, "rlsuite": chosen, "ratio": ratio}
            print(f"{name:<16}{condition:<10}{default['seconds']:>10.2f} s ({default['threads']} thr)"
                  f"{chosen['seconds']:>10.2f} s ({chosen['threads']} thr){ratio:>8.2f}x", flush=True)  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
