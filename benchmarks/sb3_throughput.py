"""SB3 throughput: PPO training frames per second, each figure against a baseline measured in the same run.

    python benchmarks/sb3_throughput.py [--quick] [--rollouts 3] [--repeats 2] [--threads 1] [--device cpu] [--json F]

Prints frames per second and ratios:
1. PPO on ``rlsuite/GridWorld-v0`` vs ``FrozenLake-v1``, same settings (DummyVecEnv of 8 envs,
   n_steps 128, batch 256, 4 epochs, MlpPolicy);
2. PPO on rlsuite's batched GridWorld through :class:`~rlsuite.agents.sb3_vecenv.BatchedVecEnv`
   vs a DummyVecEnv of ``gym.make`` copies, at 64 and 1024 copies (rollouts of 8192 frames,
   one epoch of batch 2048, so collection is a visible share of the time);
3. rollout collection alone (SB3's VecEnv ``step`` with random actions), adapter vs DummyVecEnv,
   at 64 and 1024 copies: the env-side speed-up without the network.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecEnv, VecMonitor

import rlsuite.envs  # noqa: F401  (registers the ids)
from rlsuite.agents.sb3_vecenv import make_batched_vec_env


def ppo_fps(venv: VecEnv, n_steps: int, batch_size: int, n_epochs: int, rollouts: int, device: str) -> float:
    """Training frames per second of PPO over ``rollouts`` rollouts (after one warm-up rollout)."""
    model = PPO(
        "MlpPolicy", venv, n_steps=n_steps, batch_size=batch_size, n_epochs=n_epochs, seed=0, device=device
    )
    frames = n_steps * venv.num_envs
    model.learn(frames)  # warm-up: first allocations, first update
    t0 = time.perf_counter()
    model.learn(frames * rollouts, reset_num_timesteps=False)
    return frames * rollouts / (time.perf_counter() - t0)


def dummy(env_id: str, n: int) -> VecEnv:
    return make_vec_env(env_id, n_envs=n, seed=0)


def batched(env_id: str, n: int) -> VecEnv:
    return VecMonitor(make_batched_vec_env(env_id, n, seed=0))


def collect_fps(venv: VecEnv, seconds: float) -> float:
    """VecEnv steps per second with random actions (SB3's interface, no network)."""
    venv.reset()
    rng = np.random.default_rng(0)
    n, n_actions = venv.num_envs, int(venv.action_space.n)
    actions = [rng.integers(n_actions, size=n) for _ in range(16)]
    frames, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        for a in actions:
            venv.step(a)
        frames += 16 * n
    return frames / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=3, help="timed rollouts per measurement")
    parser.add_argument("--repeats", type=int, default=2, help="alternated repeats; the best of each is kept")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: best for tiny MLPs)")
    parser.add_argument("--device", default="cpu", help="torch device of the PPO networks")
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per collection-only measurement")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--quick", action="store_true", help="one rollout, one repeat, 64 copies only (a smoke run)")
    args = parser.parse_args()
    sizes = (64,) if args.quick else (64, 1024)
    if args.quick:
        args.rollouts, args.repeats, args.seconds = 1, 1, 0.3
    torch.set_num_threads(args.threads)
    out: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, torch threads {args.threads}",
        "device": args.device,
    }

    print("1. PPO, same settings (DummyVecEnv of 8, n_steps 128, batch 256, 4 epochs): frames/s")
    grid = lake = 0.0
    for _ in range(args.repeats):  # alternated, best of each: a busy machine's noise hits both alike
        grid = max(grid, ppo_fps(dummy("rlsuite/GridWorld-v0", 8), 128, 256, 4, args.rollouts, args.device))
        lake = max(lake, ppo_fps(dummy("FrozenLake-v1", 8), 128, 256, 4, args.rollouts, args.device))
    out["ppo_gridworld_fps"], out["ppo_frozenlake_fps"] = grid, lake
    print(f"   rlsuite/GridWorld-v0 {grid:10.0f}   FrozenLake-v1 {lake:10.0f}   ratio {grid / lake:5.2f}x")

    print("2. PPO, batched adapter vs DummyVecEnv (8192 frames a rollout, 1 epoch, batch 2048): frames/s")
    for n in sizes:
        n_steps = 8192 // n
        fast = slow = 0.0
        for _ in range(args.repeats):
            fast = max(
                fast,
                ppo_fps(batched("rlsuite/GridWorld-v0", n), n_steps, 2048, 1, args.rollouts, args.device),
            )
            slow = max(
                slow, ppo_fps(dummy("rlsuite/GridWorld-v0", n), n_steps, 2048, 1, args.rollouts, args.device)
            )
        out[f"ppo_batched_{n}_fps"], out[f"ppo_dummy_{n}_fps"] = fast, slow
        print(f"   N={n:<5} BatchedVecEnv {fast:10.0f}  DummyVecEnv {slow:10.0f}  ratio {fast / slow:5.2f}x")

    print("3. collection only (VecEnv.step, random actions): frames/s")
    for n in sizes:
        fast = collect_fps(batched("rlsuite/GridWorld-v0", n), args.seconds)
        slow = collect_fps(dummy("rlsuite/GridWorld-v0", n), args.seconds)
        out[f"step_batched_{n}_fps"], out[f"step_dummy_{n}_fps"] = fast, slow
        print(f"   N={n:<5} BatchedVecEnv {fast:10.0f}  DummyVecEnv {slow:10.0f}  ratio {fast / slow:5.2f}x")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
