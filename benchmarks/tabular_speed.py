"""Speed of rlsuite's tabular agents against plain-Python baselines, measured in one run.

    PYTHONPATH=. python benchmarks/tabular_speed.py [--quick]

1. Value iteration on a 100x100 grid world: rlsuite's vectorised sweep vs two plain-Python loops
   doing the same update (timed on a few sweeps): the textbook loop over the env's
   ``P[s][a] = [(prob, next_state, reward, terminated)]`` lists (the named baseline), and a tuned
   loop over flat next-state/reward tables (a harder one).
2. Sutton & Barto figure 2.2, all three curves (epsilon = 0, 0.01, 0.1; 2000 runs x 1000 steps,
   sample averages): rlsuite's agent over the batched env (goal: under 1 s) vs the named baseline,
   a per-run loop in the style of ShangtongZhang's ``ten_armed_testbed.py`` (one bandit object per
   run, numpy per pull; timed on a subset of runs, scaled), written below.
3. MC epsilon-greedy and Q-learning: episodes per second through the batched env vs a
   plain-Python agent on the single env (same episode length, same update).
4. On a CUDA machine only: CUDA against numpy at the same sizes, one line per size: value iteration on
   100x100 and 1000x1000 grids (ms per sweep: the tables are copied to the GPU before the clock starts
   and the values stay there; numpy's set-up and final q-values cancel out), Q-learning with 1024 and
   65536 env copies, and the 2000-run testbed.

Timings are the best of a few repeats (noise from other processes only ever adds time).
``--quick`` takes one repeat and smaller baselines; ``--json PATH`` also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.bandit import EpsilonGreedyBandit, EpsilonGreedyBanditConfig
from rlsuite.agents.tabular.dp import value_iteration
from rlsuite.agents.tabular.mc import MCEpsilonGreedy, MCEpsilonGreedyConfig
from rlsuite.agents.tabular.solvers import torch_sweeps, torch_tables
from rlsuite.agents.tabular.td import QLearning, QLearningConfig
from rlsuite.envs.gridworld import GridWorldEnv
from rlsuite.envs.model import TabularModel, tabular_model


def python_vi_sweeps(nxt: list[list[int]], rew: list[list[float]], gamma: float, sweeps: int) -> list[float]:
    v = [0.0] * len(nxt)
    for _ in range(sweeps):
        new = [0.0] * len(v)
        for s in range(len(v)):
            best = -1e300
            for a in range(len(nxt[s])):
                q = rew[s][a] + gamma * v[nxt[s][a]]
                if q > best:
                    best = q
            new[s] = best
        v = new
    return v


def python_vi_sweeps_over_P(P: dict, gamma: float, sweeps: int) -> list[float]:
    """The textbook value-iteration sweep over a gymnasium toy-text model ``P``."""
    v = [0.0] * len(P)
    for _ in range(sweeps):
        new = [0.0] * len(v)
        for s, actions in P.items():
            best = -1e300
            for outcomes in actions.values():
                q = 0.0
                for prob, ns, reward, terminated in outcomes:
                    q += prob * (reward + (0.0 if terminated else gamma * v[ns]))
                if q > best:
                    best = q
            new[s] = best
        v = new
    return v


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """The least wall time of ``repeats`` calls (timeit's rule: noise only ever adds time)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_value_iteration(n: int, repeats: int = 3) -> dict:
    env = GridWorldEnv(n_rows=n, n_cols=n, random_layout=True, forbidden_fraction=0.05, layout_seed=0)
    model = tabular_model(env)
    _, _, sweeps = value_iteration(model, 0.9, tol=1e-6)
    t_vec = best_time(lambda: value_iteration(model, 0.9, tol=1e-6), repeats) / sweeps
    k = 3
    nxt_l, rew_l = env.next_state_table.tolist(), env.reward_table.tolist()
    t_py = best_time(lambda: python_vi_sweeps(nxt_l, rew_l, 0.9, k), repeats) / k
    P = env.P
    t_p = best_time(lambda: python_vi_sweeps_over_P(P, 0.9, k), repeats) / k
    v_check, _, _ = value_iteration(model, 0.9, tol=0.0, max_iters=k)
    v_py, v_p = python_vi_sweeps(nxt_l, rew_l, 0.9, k), python_vi_sweeps_over_P(P, 0.9, k)
    assert np.allclose(v_py, v_check) and np.allclose(v_p, v_check), "a baseline computes a different update"
    return {
        "grid": f"{n}x{n}",
        "sweeps": sweeps,
        "vectorised_ms_per_sweep": 1e3 * t_vec,
        "python_P_ms_per_sweep": 1e3 * t_p,
        "ratio_vs_P_loop": t_p / t_vec,
        "python_tables_ms_per_sweep": 1e3 * t_py,
        "ratio_vs_table_loop": t_py / t_vec,
    }


def numpy_sweep_ms(model: TabularModel, sweeps: int = 20, repeats: int = 3) -> float:
    """ms per sweep of numpy value iteration: the time of ``2 * sweeps`` sweeps less that of ``sweeps``
    (best of ``repeats`` each), so that the set-up and the final ``q_values`` cancel out."""
    t1 = best_time(lambda: value_iteration(model, 0.9, tol=0.0, max_iters=sweeps), repeats)
    t2 = best_time(lambda: value_iteration(model, 0.9, tol=0.0, max_iters=2 * sweeps), repeats)
    return 1e3 * max(t2 - t1, 0.0) / sweeps


def device_sweep_ms(tables: tuple, sweeps: int = 20, repeats: int = 3) -> float:
    """ms per sweep of torch value iteration over tables already on their device (``torch_tables``): the
    clock runs over the sweeps alone, synchronised; no copy to the device, no values back to the host."""
    import torch

    def sweep() -> None:
        torch_sweeps(tables, 0.9, 0.0, sweeps)  # tol 0: no stopping test, no host read
        if tables[0].device.type == "cuda":
            torch.cuda.synchronize()

    torch_sweeps(tables, 0.9, 0.0, 2)  # warm-up (kernels, allocator)
    return 1e3 * best_time(sweep, repeats) / sweeps


def bench_cuda(sizes: tuple[int, ...] = (100, 1000), copies: tuple[int, ...] = (1024, 65536),
               runs: int = 2000, repeats: int = 3) -> dict:
    """Only on a CUDA machine: CUDA against numpy at the same sizes (value iteration on n x n grids,
    Q-learning with each number of env copies, the runs x 1000 testbed)."""
    import torch

    out: dict = {"value_iteration": {}, "q_learning": {}}
    for n in sizes:
        env = GridWorldEnv(n_rows=n, n_cols=n, random_layout=True, forbidden_fraction=0.05, layout_seed=0)
        model = tabular_model(env)
        tables = torch_tables(model, torch.device("cuda"))  # the copy to the GPU, before any clock
        v_gpu, _ = torch_sweeps(tables, 0.9, 0.0, 5)
        assert np.allclose(v_gpu.cpu().numpy(), value_iteration(model, 0.9, tol=0.0, max_iters=5)[0]), "CUDA differs"
        gpu, cpu = device_sweep_ms(tables, repeats=repeats), numpy_sweep_ms(model, repeats=repeats)
        out["value_iteration"][f"{n}x{n}"] = {"cuda_ms_per_sweep": gpu, "numpy_ms_per_sweep": cpu, "ratio": cpu / gpu}
    grid = gym.make("rlsuite/GridWorld-v0", max_episode_steps=None)
    for num_envs in copies:
        rates = {}
        for device in ("cpu", "cuda"):
            agent = QLearning(grid, QLearningConfig(num_envs=num_envs, episode_length=10, log_every=10**9),
                              device=device)  # fmt: skip
            agent.learn(num_envs * 10, seed=0)  # warm-up
            t = best_time(lambda a=agent, n=num_envs: (a.learn(n * 100, seed=0), torch.cuda.synchronize()), 1)
            rates[device] = num_envs * 10 / t  # episodes of 10 steps
        out["q_learning"][num_envs] = {"cuda_episodes_per_s": rates["cuda"], "numpy_episodes_per_s": rates["cpu"],
                                       "ratio": rates["cuda"] / rates["cpu"]}  # fmt: skip
    cpu_s = bench_bandit(runs, 1000, 0)["batched_s"]
    gpu_s = bench_bandit(runs, 1000, 0, device="cuda")["batched_s"]
    out["bandit"] = {"testbed": f"{runs} runs x 1000 steps", "cuda_s": gpu_s, "numpy_s": cpu_s, "ratio": cpu_s / gpu_s}
    return out


def cuda_lines(c: dict) -> list[str]:
    """One line per size: CUDA and numpy side by side."""
    lines = [f"CUDA vs numpy, value iteration {grid}: {r['cuda_ms_per_sweep']:.3f} ms/sweep on CUDA, "
             f"{r['numpy_ms_per_sweep']:.3f} ms/sweep numpy -> {r['ratio']:.1f}x"
             for grid, r in c["value_iteration"].items()]  # fmt: skip
    lines += [f"CUDA vs numpy, Q-learning with {n} env copies: {r['cuda_episodes_per_s']:.0f} episodes/s on CUDA, "
              f"{r['numpy_episodes_per_s']:.0f} numpy -> {r['ratio']:.1f}x" for n, r in c["q_learning"].items()]
    b = c["bandit"]
    lines.append(f"CUDA vs numpy, bandit testbed {b['testbed']}: {b['cuda_s']:.2f} s on CUDA, {b['numpy_s']:.2f} s "
                 f"numpy -> {b['ratio']:.1f}x")  # fmt: skip
    return lines


def bench_bandit(runs: int, steps: int, loop_runs: int, device: str = "cpu") -> dict:
    envs = gym.make_vec(
        "rlsuite/KArmedBandit-v0", num_envs=runs, vectorization_mode="vector_entry_point", device=device
    )
    agent = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=0.1))
    agent.learn(10, seed=0)  # warm-up (CUDA kernels)
    t0 = time.perf_counter()
    agent.learn(steps, seed=0)
    t_vec = time.perf_counter() - t0
    if not loop_runs:
        return {"batched_s": t_vec}
    env = gym.make("rlsuite/KArmedBandit-v0")
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for run in range(loop_runs):
        env.reset(seed=run)
        q, n = np.zeros(10), np.zeros(10)
        for _ in range(steps):
            a = int(rng.integers(10)) if rng.random() < 0.1 else int(rng.choice(np.flatnonzero(q == q.max())))
            _, r, _, _, _ = env.step(a)
            n[a] += 1
            q[a] += (r - q[a]) / n[a]
    t_loop = (time.perf_counter() - t0) * runs / loop_runs
    return {
        "testbed": f"{runs} runs x {steps} steps",
        "batched_s": t_vec,
        "per_run_loop_s": t_loop,
        "loop_measured_on_runs": loop_runs,
        "ratio": t_loop / t_vec,
    }


class PerRunBandit:
    """The named baseline: one 10-armed testbed run at a time, numpy per pull, in the style of
    ShangtongZhang's ``chapter02/ten_armed_testbed.py`` (epsilon-greedy, sample averages, greedy ties
    broken by ``np.random.choice``)."""

    def __init__(self, epsilon: float, k: int = 10) -> None:
        self.k, self.epsilon = k, epsilon
        self.indices = np.arange(k)

    def reset(self) -> None:
        self.q_true = np.random.randn(self.k)
        self.q_estimation = np.zeros(self.k)
        self.action_count = np.zeros(self.k)
        self.best_action = np.argmax(self.q_true)

    def act(self) -> int:
        if np.random.rand() < self.epsilon:
            return int(np.random.choice(self.indices))
        q_best = np.max(self.q_estimation)
        return int(np.random.choice(np.where(self.q_estimation == q_best)[0]))

    def step(self, action: int) -> float:
        reward = np.random.randn() + self.q_true[action]
        self.action_count[action] += 1
        self.q_estimation[action] += (reward - self.q_estimation[action]) / self.action_count[action]
        return reward


def per_run_curves(epsilon: float, runs: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Average reward and optimal-action fraction per step of the baseline, over ``runs`` runs."""
    rewards, best = np.zeros((runs, steps)), np.zeros((runs, steps))
    bandit = PerRunBandit(epsilon)
    for run in range(runs):
        bandit.reset()
        for t in range(steps):
            action = bandit.act()
            rewards[run, t] = bandit.step(action)
            best[run, t] = action == bandit.best_action
    return rewards.mean(axis=0), best.mean(axis=0)


FIG_2_2_EPSILONS = (0.0, 0.01, 0.1)


def rlsuite_fig_2_2(runs: int, steps: int, seed: int = 0) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Figure 2.2's three curves as ``rlsuite reproduce sb-fig-2.2`` computes them."""
    curves = {}
    for eps in FIG_2_2_EPSILONS:
        envs = gym.make_vec(
            "rlsuite/KArmedBandit-v0", num_envs=runs, vectorization_mode="vector_entry_point", max_episode_steps=steps
        )
        history = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=eps)).learn(steps, seed=seed)
        curves[eps] = (history["average_reward"], history["optimal_action"])
    return curves


def best_times(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """The least wall time and the least CPU time of this process over ``repeats`` calls.

    On a shared machine the wall clock also counts the time other processes hold the cores; the CPU
    time of this (single-threaded) process is what a quiet machine's wall clock would show.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def bench_fig_2_2(runs: int, steps: int, baseline_runs: int, repeats: int) -> dict:
    """Sutton & Barto figure 2.2 (three curves) with rlsuite vs the per-run baseline, same machine, same run.

    The goal (under 1 s) is judged on the CPU time, which does not count waiting for other processes.
    """
    rlsuite_fig_2_2(runs, 10)  # warm-up (imports, first allocations)
    curves: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    wall, cpu = best_times(lambda: curves.update(rlsuite_fig_2_2(runs, steps)), repeats)
    np.random.seed(0)
    baseline: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    base_wall, base_cpu = best_times(
        lambda: baseline.update({eps: per_run_curves(eps, baseline_runs, steps) for eps in FIG_2_2_EPSILONS}), 1
    )
    last = slice(steps - steps // 5, steps)  # the last fifth of the steps
    return {
        "figure": f"Sutton & Barto fig 2.2, 3 curves x {runs} runs x {steps} steps",
        "rlsuite_s": cpu,
        "rlsuite_wall_s": wall,
        "baseline": "per-run loop, ShangtongZhang style",
        "baseline_s": base_cpu * runs / baseline_runs,
        "baseline_wall_s": base_wall * runs / baseline_runs,
        "baseline_measured_on_runs": baseline_runs,
        "ratio": base_cpu / cpu * runs / baseline_runs,
        "goal_s": 1.0,
        "goal_met": cpu < 1.0,
        "repeats": repeats,
        "late_optimal_action": {
            str(eps): {"rlsuite": float(curves[eps][1][last].mean()), "baseline": float(baseline[eps][1][last].mean())}
            for eps in FIG_2_2_EPSILONS
        },
    }


def python_mc_eps_greedy(
    env: gym.Env, episodes: int, length: int, eps: float, rng: np.random.Generator
) -> None:
    q, sums, counts = np.zeros((25, 5)), np.zeros((25, 5)), np.zeros((25, 5))
    for ep in range(episodes):
        s, _ = env.reset(seed=ep, options={"start": int(rng.integers(25))})
        traj = []
        for _ in range(length):
            a = int(rng.integers(5)) if rng.random() < eps else int(q[s].argmax())
            s2, r, _, _, _ = env.step(a)
            traj.append((s, a, r))
            s = s2
        g = 0.0
        for s, a, r in reversed(traj):
            g = r + 0.9 * g
            sums[s, a] += g
            counts[s, a] += 1
        q = np.divide(sums, counts, out=q, where=counts > 0)


def python_q_learning(env: gym.Env, episodes: int, length: int, eps: float, rng: np.random.Generator) -> None:
    q = np.zeros((25, 5))
    for ep in range(episodes):
        s, _ = env.reset(seed=ep, options={"start": int(rng.integers(25))})
        for _ in range(length):
            a = int(rng.integers(5)) if rng.random() < eps else int(q[s].argmax())
            s2, r, _, _, _ = env.step(a)
            q[s, a] += 0.1 * (r + 0.9 * q[s2].max() - q[s, a])
            s = s2


def bench_sample_based(quick: bool) -> dict:
    env = gym.make("rlsuite/GridWorld-v0", max_episode_steps=None)
    rng = np.random.default_rng(0)
    out = {}
    # MC epsilon-greedy: episodes of 100 steps
    n_single = 50 if quick else 200
    t0 = time.perf_counter()
    python_mc_eps_greedy(env, n_single, 100, 0.1, rng)
    single = n_single / (time.perf_counter() - t0)
    agent = MCEpsilonGreedy(env, MCEpsilonGreedyConfig(num_envs=2000, episode_length=100))
    n_batched = 20_000 if quick else 100_000
    t0 = time.perf_counter()
    agent.learn(n_batched, seed=0)
    batched = n_batched / (time.perf_counter() - t0)
    out["mc_epsilon_greedy"] = {
        "episode_length": 100,
        "single_env_episodes_per_s": single,
        "batched_episodes_per_s": batched,
        "ratio": batched / single,
    }
    # Q-learning: episodes of 10 steps (the agent's lockstep restart period)
    n_single = 500 if quick else 2000
    t0 = time.perf_counter()
    python_q_learning(env, n_single, 10, 0.1, rng)
    single = n_single / (time.perf_counter() - t0)
    cfg = QLearningConfig(num_envs=1024, episode_length=10, log_every=10**9)
    agent = QLearning(env, cfg)
    steps = 1_000_000 if quick else 4_000_000
    t0 = time.perf_counter()
    agent.learn(steps, seed=0)
    batched = steps / 10 / (time.perf_counter() - t0)
    out["q_learning"] = {
        "episode_length": 10,
        "single_env_episodes_per_s": single,
        "batched_episodes_per_s": batched,
        "ratio": batched / single,
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, smaller baselines (about 10 s)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args()
    report: dict = {"quick": args.quick}
    vi = bench_value_iteration(100, repeats=1 if args.quick else 3)
    report["value_iteration"] = vi
    print(
        f"value iteration, {vi['grid']} grid ({vi['sweeps']} sweeps to tol 1e-6): "
        f"{vi['vectorised_ms_per_sweep']:.2f} ms/sweep vectorised; "
        f"vs the textbook Python loop over env.P {vi['python_P_ms_per_sweep']:.1f} ms/sweep -> "
        f"{vi['ratio_vs_P_loop']:.0f}x; vs a tuned Python loop over flat tables "
        f"{vi['python_tables_ms_per_sweep']:.1f} ms/sweep -> {vi['ratio_vs_table_loop']:.0f}x"
    )
    fig = bench_fig_2_2(2000, 1000, baseline_runs=5 if args.quick else 40, repeats=1 if args.quick else 3)
    report["fig_2_2"] = fig
    print(
        f"{fig['figure']}: {fig['rlsuite_s']:.2f} s CPU ({fig['rlsuite_wall_s']:.2f} s wall) rlsuite "
        f"(goal < 1 s: {'met' if fig['goal_met'] else 'NOT met'}) vs {fig['baseline_s']:.1f} s CPU {fig['baseline']} "
        f"(measured on {fig['baseline_measured_on_runs']} runs per curve, scaled) -> {fig['ratio']:.0f}x"
    )
    report["sample_based"] = bench_sample_based(args.quick)
    for name, r in report["sample_based"].items():
        print(
            f"{name} (episodes of {r['episode_length']} steps): "
            f"{r['batched_episodes_per_s']:.0f} episodes/s batched "
            f"vs {r['single_env_episodes_per_s']:.0f} episodes/s single env -> {r['ratio']:.0f}x"
        )
    import torch

    if torch.cuda.is_available():
        report["cuda"] = bench_cuda(repeats=1 if args.quick else 3)
        print("\n".join(cuda_lines(report["cuda"])))
    else:
        print("CUDA: no GPU here, the CUDA rows are skipped")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
