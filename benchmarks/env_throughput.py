"""Env throughput: rlsuite's envs against gymnasium's FrozenLake, measured in the same run.

    python benchmarks/env_throughput.py [--seconds 2] [--json out.json]

Prints steps per second and ratios:
- ``rlsuite/GridWorld-v0`` vs ``FrozenLake-v1``, both through ``gym.make`` with random actions;
- rlsuite's batched GridWorld (``make_vec(..., vectorization_mode="vector_entry_point")``) at
  N = 1, 64, 4096 vs gymnasium's ``SyncVectorEnv`` of FrozenLake at the same N, and on CUDA
  when there is one.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import rlsuite  # noqa: F401  (registers the ids)


def _rate(step: Callable[[], int], seconds: float, sync: Callable[[], None] | None = None) -> float:
    """Env steps per second of ``step`` (which returns how many env steps it took).

    ``sync`` (``torch.cuda.synchronize`` for a GPU) waits for the queued device work before every
    clock read, so the time counts the work, not just its launch.
    """
    wait = sync or (lambda: None)
    step()  # warm-up
    wait()
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(10):
            n += step()
        wait()
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return n / elapsed


def single_env_rate(env_id: str, seconds: float, **kwargs: object) -> float:
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    env.action_space.seed(0)

    def step() -> int:
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        if term or trunc:
            env.reset()
        return 1

    return _rate(step, seconds)


def vector_env_rate(env_id: str, n: int, mode: str, seconds: float, **kwargs: object) -> float:
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode=mode, **kwargs)
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    n_actions = int(envs.single_action_space.n)
    device = kwargs.get("device")
    if device not in (None, "cpu"):
        import torch

        dev = envs.unwrapped.xp.device

        def step() -> int:
            envs.step(torch.randint(n_actions, (n,), device=dev))
            return n

        return _rate(step, seconds, sync=torch.cuda.synchronize)

    def step() -> int:
        envs.step(rng.integers(n_actions, size=n))
        return n

    return _rate(step, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []

    def report(name: str, ours: float, base_name: str, base: float) -> None:
        rows.append({"case": name, "steps_per_s": ours, "baseline": base_name,
                     "baseline_steps_per_s": base, "ratio": ours / base})
        print(f"{name:<42} {ours:>14,.0f}/s   {base_name:<30} {base:>12,.0f}/s   x{ours / base:,.1f}", flush=True)

    print(f"# {platform.processor() or platform.machine()}, numpy {np.__version__}, gymnasium {gym.__version__}")
    frozen = single_env_rate("FrozenLake-v1", args.seconds)
    report("GridWorld-v0 (gym.make)", single_env_rate("rlsuite/GridWorld-v0", args.seconds),
           "FrozenLake-v1 (gym.make)", frozen)
    for n in (1, 64, 4096):
        sync = vector_env_rate("FrozenLake-v1", n, "sync", args.seconds)
        ours = vector_env_rate("rlsuite/GridWorld-v0", n, "vector_entry_point", args.seconds)
        report(f"batched GridWorld-v0 N={n} (numpy)", ours, f"SyncVectorEnv FrozenLake N={n}", sync)
        try:
            import torch

            if torch.cuda.is_available():
                cuda = vector_env_rate("rlsuite/GridWorld-v0", n, "vector_entry_point", args.seconds, device="cuda")
                report(f"batched GridWorld-v0 N={n} (cuda)", cuda, f"SyncVectorEnv FrozenLake N={n}", sync)
        except ImportError:
            pass
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
