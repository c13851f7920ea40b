"""Env throughput: rlsuite's envs against gymnasium's FrozenLake, measured in the same run.

    python benchmarks/env_throughput.py [--quick] [--seconds 2] [--repeats 3] [--json out.json]

Prints steps per second and ratios against baselines measured in the same run, each the best
of ``--repeats`` alternated measurements, with the spread of the ratio over the repeats:
- ``rlsuite/GridWorld-v0`` vs ``FrozenLake-v1``, both through ``gym.make`` and both fed the same
  pre-drawn Python ints (so action sampling is not what is measured); goal: 5x;
- rlsuite's batched GridWorld (``make_vec(..., vectorization_mode="vector_entry_point")``) at
  N = 1, 64, 4096 vs gymnasium's ``SyncVectorEnv`` of FrozenLake at the same N, both fed the
  same pre-drawn action arrays; goal at N = 4096: 1000x; and on CUDA when there is one.
``--quick`` measures briefly, once, at N = 1 and 4096 (for tests; the figures are rough).
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

GOALS = {"GridWorld-v0 (gym.make)": 5.0, "batched GridWorld-v0 N=4096 (numpy)": 1000.0}
N_ACTIONS = 4  # FrozenLake's; the grid world takes the same ids (up, right, down, left)


def _rate(
    step: Callable[[], int], seconds: float, calls: int = 1, sync: Callable[[], None] | None = None
) -> float:
    """Env steps per second of ``step`` (which returns how many env steps it took), called ``calls``
    times between looks at the clock. ``sync`` (``torch.cuda.synchronize`` for a GPU) waits for the
    queued device work before every clock read, so the time counts the work, not just its launch."""
    wait = sync or (lambda: None)
    step()  # warm-up
    wait()
    n, t0 = 0, time.perf_counter()
    while True:
        for _ in range(calls):
            n += step()
        wait()
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return n / elapsed


def single_env_rate(env_id: str, seconds: float, actions: list[int]) -> float:
    """``gym.make(env_id)`` stepped with the pre-drawn ``actions`` in turn (reset at episode ends)."""
    env = gym.make(env_id)
    env.reset(seed=0)
    k = len(actions)
    i = 0

    def step() -> int:
        nonlocal i
        _, _, term, trunc, _ = env.step(actions[i])
        i = (i + 1) % k
        if term or trunc:
            env.reset()
        return 1

    return _rate(step, seconds, calls=100)


def vector_env_rate(env_id: str, n: int, mode: str, seconds: float, **kwargs: object) -> float:
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode=mode, **kwargs)
    envs.reset(seed=0)
    n_actions = int(envs.single_action_space.n)
    device = kwargs.get("device")
    if device not in (None, "cpu"):
        import torch

        dev = envs.unwrapped.backend.device

        def step() -> int:
            envs.step(torch.randint(n_actions, (n,), device=dev))
            return n

        return _rate(step, seconds, calls=10, sync=torch.cuda.synchronize)

    batches = list(np.random.default_rng(0).integers(N_ACTIONS, size=(16, n)))  # the same for both envs
    i = 0

    def step() -> int:
        nonlocal i
        envs.step(batches[i])
        i = (i + 1) % len(batches)
        return n

    return _rate(step, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="alternated measurements; the best counts")
    parser.add_argument("--quick", action="store_true", help="0.2 s, once, N = 1 and 4096 (rough)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    seconds, repeats, sizes = (0.2, 1, (1, 4096)) if args.quick else (args.seconds, args.repeats, (1, 64, 4096))
    rows: list[dict[str, object]] = []

    def report(name: str, ours: Callable[[], float], base_name: str, base: Callable[[], float]) -> None:
        pairs = [(ours(), base()) for _ in range(repeats)]  # alternated, so load hits both alike
        best_ours, best_base = max(p[0] for p in pairs), max(p[1] for p in pairs)
        ratios = [o / b for o, b in pairs]
        ratio = best_ours / best_base
        goal = GOALS.get(name)
        rows.append({"case": name, "steps_per_s": best_ours, "baseline": base_name, "baseline_steps_per_s": best_base,
                     "ratio": ratio, "ratio_min": min(ratios), "ratio_max": max(ratios), "goal": goal})  # fmt: skip
        verdict = "" if goal is None else f"  goal x{goal:g}: {'met' if ratio >= goal else 'NOT met'}"
        print(f"{name:<38} {best_ours:>13,.0f}/s   {base_name:<30} {best_base:>11,.0f}/s   x{ratio:,.1f} "
              f"(x{min(ratios):,.1f}-x{max(ratios):,.1f}){verdict}", flush=True)  # fmt: skip

    print(f"# {platform.processor() or platform.machine()}, numpy {np.__version__}, gymnasium {gym.__version__}; "
          f"best of {repeats} x {seconds} s, ratio spread in parentheses")  # fmt: skip
    actions = np.random.default_rng(0).integers(N_ACTIONS, size=10_000).tolist()  # the same for both envs
    report("GridWorld-v0 (gym.make)", lambda: single_env_rate("rlsuite/GridWorld-v0", seconds, actions),
           "FrozenLake-v1 (gym.make)", lambda: single_env_rate("FrozenLake-v1", seconds, actions))  # fmt: skip
    for n in sizes:
        report(f"batched GridWorld-v0 N={n} (numpy)",
               lambda n=n: vector_env_rate("rlsuite/GridWorld-v0", n, "vector_entry_point", seconds),
               f"SyncVectorEnv FrozenLake N={n}",
               lambda n=n: vector_env_rate("FrozenLake-v1", n, "sync", seconds))  # fmt: skip
        try:
            import torch

            if torch.cuda.is_available():
                cuda = vector_env_rate("rlsuite/GridWorld-v0", n, "vector_entry_point", seconds, device="cuda")
                sync = vector_env_rate("FrozenLake-v1", n, "sync", seconds)
                report(f"batched GridWorld-v0 N={n} (cuda)", lambda c=cuda: c, f"SyncVectorEnv FrozenLake N={n}",
                       lambda s=sync: s)  # fmt: skip
        except ImportError:
            pass
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
