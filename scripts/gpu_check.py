"""The GPU check: the GPU figures of every layer beside their CPU baselines, then the CUDA tests, in one run.

Runs on a bare GPU machine (Python 3.12, a preinstalled CUDA torch, no package registry):

    make gpu-wheels                                   # here, once: the other dependencies as wheels in .whl/
    python3 scripts/gpu_check.py --wheels .whl        # there: installs them (--no-index), runs every part
    python3 scripts/gpu_check.py --dry-run            # what it would run (no GPU needed)
    python3 scripts/gpu_check.py --simulate-cuda --quick   # a rehearsal on the CPU (tests/cuda_sim.py): every
                                                           # part at smaller sizes, two at a time, ~2 min

Parts (each in its own process with its own time limit, the benchmarks first, the tests last; the limits
add up to under 9 minutes, so a slow part cannot starve the rest). Each benchmark part measures CUDA
beside its CPU baseline at the same size, fails loudly on a wrong result, and checks that the GPU was
really used (``torch.cuda.max_memory_allocated() > 0``):

- env-throughput: the batched GridWorld at N = 2^10 .. 2^24 copies, steps/s on CUDA and numpy; the
  CUDA env's steps equal numpy's for the same seed and actions;
- value-iteration: value iteration on 100x100 and 1000x1000 grids, CUDA vs numpy, values equal to 1e-6;
- tabular-agents: Q-learning (env steps/s) and the 10-armed testbed (pulls/s), CUDA vs numpy at the
  same size; Q-learning on CUDA reaches the exact optimum;
- sb3: PPO on the grid world with its policy on CUDA vs the CPU, frames/s; finite losses;
- alignment: DPO, GRPO and PPO step time on the embedded model and on a ~100M-parameter Llama built
  from a config (no download), CUDA in bf16 where the hardware has it; losses finite and falling;
- vision: every vision wrapper at batch 64 on CUDA vs the CPU, frames/s; bf16 and float32 outputs close;
- tests-gpu: ``pytest -m gpu``, every CUDA-marked test;
- tests-device: ``pytest -m "device and not gpu and not slow"``, the tests that touch torch devices,
  where ``"auto"`` means CUDA.

It writes one JSON report (``--out``, default gpu_check.json) and a markdown one beside it (.md).
Without a CUDA device it stops at once (exit 2) with one line saying so, and still writes the report.
Exit 0 when every part passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import types
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
REPORT_VERSION = 1


@dataclass(frozen=True)
class Part:
    """One piece of the check: a pytest selection (``pytest_args``) or a benchmark function (``bench``)."""

    name: str
    description: str
    limit_s: int
    pytest_args: tuple[str, ...] = ()
    bench: str = ""  # name of a function in this module: bench_<name>(quick) -> dict
    quick_args: tuple[str, ...] = ()  # the pytest selection under --quick (default: pytest_args)

    def command(self, quick: bool = False, simulate: bool = False) -> list[str]:
        if self.pytest_args:
            sim = ["--simulate-cuda"] if simulate else []
            selection = (self.quick_args or self.pytest_args) if quick else self.pytest_args
            return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *sim, *selection]
        flags = [*(["--quick"] if quick else []), *(["--simulate-cuda"] if simulate else [])]
        return [sys.executable, str(Path(__file__).resolve()), "--part", self.name, *flags]


# The files that hold the `gpu`-marked tests: --quick collects only these (not the whole suite), and
# leaves out the one that runs a full Q-learning on the GPU (minutes on simulated CUDA; the
# value-iteration and tabular-agents parts check the same code).
GPU_TEST_FILES = ("tests/vision/test_vision_gpu.py", "tests/agents/tabular/test_bandit_agents.py",
                  "tests/agents/sb3/test_sb3_vecenv.py", "tests/vision/test_checkpoints_rng_mutants.py")  # fmt: skip

# The benchmarks first, the tests last; the limits add up to 535 s, inside the 9 minutes a lent
# machine gives the check after its start-up.
PARTS: tuple[Part, ...] = (
    Part("env-throughput", "batched GridWorld at N = 2^10..2^24: steps/s, CUDA vs numpy", 60,
         bench="bench_env_throughput"),
    Part("value-iteration", "value iteration 100x100 and 1000x1000, CUDA vs numpy", 45, bench="bench_value_iteration"),
    Part("tabular-agents", "Q-learning and the bandit testbed, CUDA vs numpy", 60, bench="bench_tabular_agents"),
    Part("sb3", "SB3 PPO with its policy on CUDA vs the CPU", 45, bench="bench_sb3"),
    Part("alignment", "DPO, GRPO and PPO steps: embedded model and a ~100M Llama", 130, bench="bench_alignment"),
    Part("vision", "the vision wrappers at batch 64, CUDA vs CPU; bf16 vs float32", 60, bench="bench_vision"),
    Part("tests-gpu", "every CUDA-marked test (pytest -m gpu)", 60, pytest_args=("-m", "gpu", "tests"),
         quick_args=("-m", "gpu", "-k", "not q_learning_on_cuda", *GPU_TEST_FILES)),
    Part(
        "tests-device",
        'the tests that touch torch devices, "auto" meaning CUDA',
        75,
        pytest_args=("-m", "device and not gpu and not slow", "-n", "auto", "--dist", "loadfile", "tests"),
        quick_args=("-m", "device and not gpu and not slow", "-k", "without_syncs or on_the_gpu or simulated_cuda",
                    "tests/agents/tabular/test_torch_backend.py"),
    ),
)  # fmt: skip
TOTAL_LIMIT_S = 540  # what the parts' limits must fit in
# The limits are for a GPU; a rehearsal on a busy CPU may stretch them (the slow test does), and one on
# simulated CUDA (--simulate-cuda) doubles them unless this says otherwise.
LIMIT_SCALE = float(os.environ.get("RLSUITE_GPU_CHECK_LIMIT_SCALE", "0")) or None


@dataclass
class Outcome:
    """What one part did: ``status`` is passed, failed, timeout or skipped."""

    status: str
    seconds: float = 0.0
    results: dict[str, Any] = field(default_factory=dict)
    output_tail: str = ""


# ----- running the parts -------------------------------------------------------------------------


def run_command(command: list[str], limit_s: float, env: dict[str, str] | None = None) -> tuple[str, float, str]:
    """Run ``command`` in its own process group; kill the group at ``limit_s``.

    Returns (status, seconds, the output's last 4000 characters): status is passed (exit 0),
    failed (any other exit) or timeout.
    """
    t0 = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, text=True
        )
        try:
            code = proc.wait(timeout=max(1.0, limit_s))
            status = "passed" if code == 0 else "failed"
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            status = "timeout"
        log.seek(0)
        tail = log.read()[-4000:]
    return status, time.perf_counter() - t0, tail


def junit_counts(path: Path) -> dict[str, Any]:
    """Test counts and the failed test ids from a pytest ``--junitxml`` file."""
    if not path.is_file():
        return {}
    root = ET.parse(path).getroot()
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failures": []}
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        kinds = {child.tag for child in case}
        if "failure" in kinds:
            counts["failed"] += 1
            counts["failures"].append(name)
        elif "error" in kinds:
            counts["errors"] += 1
            counts["failures"].append(name)
        elif "skipped" in kinds:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return counts


def run_part(part: Part, limit_s: float, quick: bool = False, simulate: bool = False) -> Outcome:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        out = Path(tmp) / "out"
        command = part.command(quick, simulate)
        extra = [f"--junitxml={out}.xml"] if part.pytest_args else ["--part-out", f"{out}.json"]
        command = [*command, *extra]
        status, seconds, tail = run_command(command, limit_s, env)
        if part.pytest_args:
            results = junit_counts(Path(f"{out}.xml"))
        else:
            path = Path(f"{out}.json")
            results = json.loads(path.read_text()) if path.is_file() else {}
    return Outcome(status, seconds, results, tail if status != "passed" else "")


# ----- the benchmark parts (run inside ``--part NAME``, on CUDA) -----------------------------------


def load_benchmark(name: str) -> types.ModuleType:
    """A script of benchmarks/ as a module (they are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def on_the_gpu(results: dict[str, Any]) -> Any:
    """Resets CUDA's peak-memory counter, runs the block, records the peak in ``results`` and fails
    unless the block placed something on the GPU (a part that claims the GPU must have used it)."""
    import torch

    torch.cuda.reset_peak_memory_stats()
    yield
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    results["cuda_max_memory_allocated_mb"] = round(peak / 2**20, 2)
    if peak <= 0:
        raise AssertionError("nothing was placed on the GPU: max_memory_allocated() is 0")


def best_seconds(fn: Any, repeats: int = 2, sync: bool = False) -> float:
    """The best wall time of ``repeats`` calls of ``fn`` after one warm-up (synchronised on CUDA)."""
    import torch

    wait = torch.cuda.synchronize if sync else (lambda: None)
    fn()
    wait()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        wait()
        best = min(best, time.perf_counter() - t0)
    return best


def check_env_steps_equal(n: int = 4096, steps: int = 50) -> int:
    """The CUDA batched grid world steps exactly like numpy's for the same seed and actions."""
    import gymnasium as gym
    import numpy as np

    import rlsuite.envs  # noqa: F401
    from rlsuite.common.device import to_numpy

    kwargs = {"num_envs": n, "vectorization_mode": "vector_entry_point"}
    cpu = gym.make_vec("rlsuite/GridWorld-v0", **kwargs)
    gpu = gym.make_vec("rlsuite/GridWorld-v0", device="cuda", **kwargs)
    obs_c, _ = cpu.reset(seed=0)
    obs_g, _ = gpu.reset(seed=0)
    actions = np.random.default_rng(0).integers(int(cpu.single_action_space.n), size=(steps, n))
    for t in range(steps):
        if not np.array_equal(obs_c, to_numpy(obs_g)):
            raise AssertionError(f"CUDA observations differ from numpy's at step {t}")
        obs_c, r_c, term_c, trunc_c, _ = cpu.step(actions[t])
        obs_g, r_g, term_g, trunc_g, _ = gpu.step(actions[t])
        for name, x, y in (("reward", r_c, r_g), ("terminated", term_c, term_g), ("truncated", trunc_c, trunc_g)):
            if not np.array_equal(np.asarray(x), to_numpy(y)):
                raise AssertionError(f"CUDA {name} differs from numpy's at step {t}")
    return steps


def bench_env_throughput(quick: bool = False, sizes: tuple[int, ...] = (), seconds: float = 0.0) -> dict[str, Any]:
    """Steps/s of the batched GridWorld on CUDA and on numpy at N = 2^10 .. 2^24 copies."""
    bench = load_benchmark("env_throughput")
    sizes = sizes or ((2**10, 2**14) if quick else tuple(2**k for k in range(10, 25, 2)))
    seconds = seconds or (0.05 if quick else 0.4)
    out: dict[str, Any] = {}
    with on_the_gpu(out):
        out["steps_checked_equal_to_numpy"] = check_env_steps_equal(1024 if quick else 4096, 20 if quick else 50)
        rows = {}
        for n in sizes:
            gpu = bench.vector_env_rate("rlsuite/GridWorld-v0", n, "vector_entry_point", seconds, device="cuda")
            cpu = bench.vector_env_rate("rlsuite/GridWorld-v0", n, "vector_entry_point", seconds)
            rows[f"N=2^{n.bit_length() - 1}"] = {"cuda_steps_per_s": gpu, "numpy_steps_per_s": cpu, "ratio": gpu / cpu}
        out["sizes"] = rows
    return out


def bench_value_iteration(quick: bool = False, sizes: tuple[int, ...] = ()) -> dict[str, Any]:
    """ms per sweep of value iteration on n x n grids, CUDA vs numpy (benchmarks/tabular_speed.py's timing:
    the tables on the GPU before the clock starts, the values left there); the values agree to 1e-6."""
    import numpy as np
    import torch

    from rlsuite.agents.tabular.solvers import torch_tables, value_iteration
    from rlsuite.envs.gridworld import GridWorldEnv
    from rlsuite.envs.model import tabular_model

    speed = load_benchmark("tabular_speed")
    sizes = sizes or ((60, 120) if quick else (100, 1000))
    out: dict[str, Any] = {}
    with on_the_gpu(out):
        for n in sizes:
            env = GridWorldEnv(n_rows=n, n_cols=n, random_layout=True, forbidden_fraction=0.05, layout_seed=0)
            model = tabular_model(env)
            v_cpu, _, sweeps = value_iteration(model, 0.9, tol=1e-8)
            v_gpu, _, sweeps_gpu = value_iteration(model, 0.9, tol=1e-8, device="cuda")
            diff = float(np.max(np.abs(np.asarray(v_gpu) - v_cpu)))
            if diff > 1e-6 or sweeps != sweeps_gpu:
                raise AssertionError(f"{n}x{n}: CUDA values differ from numpy's by {diff} "
                                     f"({sweeps_gpu} vs {sweeps} sweeps)")  # fmt: skip
            repeats = 1 if quick else 2
            gpu = speed.device_sweep_ms(torch_tables(model, torch.device("cuda")), repeats=repeats)
            cpu = speed.numpy_sweep_ms(model, repeats=repeats)
            out[f"{n}x{n}"] = {"sweeps_to_1e-8": sweeps, "max_abs_diff": diff, "cuda_ms_per_sweep": gpu,
                               "numpy_ms_per_sweep": cpu, "ratio": cpu / gpu}  # fmt: skip
    return out


def bench_tabular_agents(quick: bool = False) -> dict[str, Any]:
    """Q-learning's env steps/s and the 10-armed testbed's pulls/s at the same size on CUDA and numpy;
    Q-learning on CUDA with its default config learns the exact optimum (greedy optimal in every state)."""
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401
    from rlsuite.agents.tabular.bandit import EpsilonGreedyBandit, EpsilonGreedyBanditConfig
    from rlsuite.agents.tabular.td import QLearning, QLearningConfig

    grid = gym.make("rlsuite/GridWorld-v0")
    num_envs, batches = (4096, 20) if quick else (65536, 100)
    runs, pulls = (2000, 100) if quick else (2000, 1000)
    out: dict[str, Any] = {}
    with on_the_gpu(out):
        for device in ("cpu", "cuda"):
            config = QLearningConfig(num_envs=num_envs, episode_length=10, log_every=10**9)
            agent = QLearning(grid, config, device=device)
            t = best_seconds(lambda a=agent: a.learn(num_envs * batches, seed=0), repeats=1, sync=device == "cuda")
            envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=runs, vectorization_mode="vector_entry_point",
                                device=device)  # fmt: skip
            bandit = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=0.1))
            tb = best_seconds(lambda b=bandit: b.learn(pulls, seed=0), repeats=1, sync=device == "cuda")
            name = "numpy" if device == "cpu" else "cuda"
            out[f"q_learning_{name}_steps_per_s"] = num_envs * batches / t
            out[f"bandit_{name}_pulls_per_s"] = runs * pulls / tb
        out["q_learning_ratio"] = out["q_learning_cuda_steps_per_s"] / out["q_learning_numpy_steps_per_s"]
        out["bandit_ratio"] = out["bandit_cuda_pulls_per_s"] / out["bandit_numpy_pulls_per_s"]
        if not quick:
            history = QLearning(grid, QLearningConfig(), device="cuda").learn(seed=0)
            out["q_learning_cuda_default_run"] = last = history.last()
            if last["optimal_fraction"] != 1.0:
                raise AssertionError(f"Q-learning on CUDA did not reach the optimum: {last}")
    return out


def bench_sb3(quick: bool = False) -> dict[str, Any]:
    """PPO on the grid world (8 envs, SB3's MlpPolicy): frames/s with the policy on CUDA and on the CPU."""
    import math

    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    import rlsuite.envs  # noqa: F401

    frames = 1024 if quick else 16384  # --quick: one rollout and one update
    out: dict[str, Any] = {}
    with on_the_gpu(out):
        for device in ("cpu", "cuda"):
            venv = make_vec_env(lambda: gym.make("rlsuite/GridWorld-v0"), n_envs=8, seed=0)
            model = PPO("MlpPolicy", venv, n_steps=128, batch_size=256, n_epochs=4, gamma=0.9, seed=0, device=device)
            t0 = time.perf_counter()
            model.learn(frames)
            out[f"{device}_frames_per_s"] = frames / (time.perf_counter() - t0)
            loss = model.logger.name_to_value.get("train/loss")
            params = [float(p.detach().abs().sum()) for p in model.policy.parameters()]
            if (loss is not None and not math.isfinite(float(loss))) or not all(map(math.isfinite, params)):
                raise AssertionError(f"PPO on {device}: non-finite loss or weights (loss {loss})")
            out[f"{device}_device"] = str(model.device)
        out["ratio"] = out["cuda_frames_per_s"] / out["cpu_frames_per_s"]
    return out


def _falling(values: list[float]) -> bool:
    """Finite, and the mean of the second half below that of the first."""
    import math

    if len(values) < 2 or not all(math.isfinite(v) for v in values):
        return False
    half = len(values) // 2
    return sum(values[half:]) / (len(values) - half) < sum(values[:half]) / half


def bench_alignment(quick: bool = False) -> dict[str, Any]:
    """DPO, GRPO and PPO step times on the embedded model and on a ~100M-parameter Llama built from a
    config (a few layers and DPO alone in --quick), through ``rlsuite.alignment``'s typed configs and trainers, with the
    device defaults (bf16 on a GPU that has it natively). DPO's loss must be finite and falling."""
    import torch

    from rlsuite.alignment.configs import DPOConfig, GRPOConfig, PPOConfig, RewardConfig
    from rlsuite.alignment.data import SentimentTask, split_heldout
    from rlsuite.alignment.embedded import default_model_dir
    from rlsuite.alignment.evaluate import sample_pairs
    from rlsuite.alignment.models import build_tiny_causal_lm, load_tokenizer
    from rlsuite.alignment.training import losses, train_dpo, train_grpo, train_ppo, train_reward

    task = SentimentTask()
    prompts, _ = task.split_prompts()
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    sft = default_model_dir()
    out["embedded_model_ready_s"] = round(time.perf_counter() - t0, 1)
    pairs, _ = split_heldout(sample_pairs(sft, prompts, 4, seed=0), 0.1, seed=0)
    keys = ("wall_seconds", "global_steps", "tokens_per_second", "peak_memory_mb")
    with tempfile.TemporaryDirectory(prefix="gpu-check-align-") as tmp, on_the_gpu(out):
        work = Path(tmp)
        big = work / "llama-100m"
        tok = load_tokenizer(sft)
        model = build_tiny_causal_lm(tok, "llama", hidden_size=256 if quick else 1024, layers=2 if quick else 10)
        out["big_model_parameters"] = sum(p.numel() for p in model.parameters())
        model.save_pretrained(big)
        tok.save_pretrained(big)
        del model
        dpo_steps = 6 if quick else 12
        for label, path in (("embedded", sft), ("llama_100m", big)):
            run: dict[str, Any] = {}
            dpo_config = DPOConfig(output_dir=str(work / label / "dpo"), max_steps=dpo_steps, logging_steps=1,
                                   learning_rate=1e-3 if label == "embedded" else 1e-4, save_strategy="no")  # fmt: skip
            run["bf16"], run["use_cpu"] = bool(dpo_config.bf16), bool(dpo_config.use_cpu)
            if torch.cuda.is_available() and dpo_config.use_cpu:
                raise AssertionError(f"{label}: the device defaults train on the CPU although CUDA is here")
            dpo = train_dpo(path, pairs, dpo_config)
            run["dpo"] = {k: dpo.get(k) for k in keys} | {"seconds_per_step": dpo["wall_seconds"] / dpo_steps}
            dpo_losses = losses(dpo)
            run["dpo"]["losses"] = dpo_losses
            if not _falling(dpo_losses):
                raise AssertionError(f"{label}: DPO's loss is not finite and falling: {dpo_losses}")
            if quick and label != "embedded":  # --quick: GRPO and PPO on the embedded model only
                out[label] = run
                continue
            grpo_steps = 2 if quick else 4
            grpo_config = GRPOConfig(output_dir=str(work / label / "grpo"), max_steps=grpo_steps, save_strategy="no")
            grpo = train_grpo(path, prompts[:16], grpo_config, "gold")
            run["grpo"] = {k: grpo.get(k) for k in keys} | {"seconds_per_step": grpo["wall_seconds"] / grpo_steps}
            if not (work / "reward" / "model").is_dir():  # one reward model (the shared tokenizer) serves both
                train_reward(sft, pairs, RewardConfig(output_dir=str(work / "reward"), max_steps=4, save_strategy="no"))
            episodes = 32 if quick else 128
            ppo_config = PPOConfig(output_dir=str(work / label / "ppo"), total_episodes=episodes, save_strategy="no")
            ppo = train_ppo(path, prompts, ppo_config, work / "reward" / "model")
            per_step = ppo["wall_seconds"] / max(1, ppo["global_steps"])
            run["ppo"] = {k: ppo.get(k) for k in keys} | {"seconds_per_step": per_step}
            out[label] = run
    return out


def bench_vision(quick: bool = False, batch: int = 0, seconds: float = 0.0) -> dict[str, Any]:
    """frames/s of every vision wrapper at ``batch`` (64; 16 in --quick), CUDA vs CPU; the bf16 CLIP reward
    agrees with float32."""
    import numpy as np

    bench = load_benchmark("vision_throughput")
    batch = batch or (16 if quick else 64)
    frames = bench._frames(batch)
    seconds = seconds or (0.05 if quick else 1.0)
    out: dict[str, Any] = {"batch": batch}
    with tempfile.TemporaryDirectory(prefix="gpu-check-vision-") as tmp:
        cpu = bench.build_wrappers("cpu", Path(tmp) / "cpu")
        cpu_rates = {name: bench._rate(fn, frames, seconds) for name, fn in cpu.items()}
        with on_the_gpu(out):
            gpu = bench.build_wrappers("cuda", Path(tmp) / "cuda")
            rates = {name: bench._rate(fn, frames, seconds) for name, fn in gpu.items()}
            out["wrappers"] = {n: {"cuda_frames_per_s": rates[n], "cpu_frames_per_s": cpu_rates[n],
                                   "ratio": rates[n] / cpu_rates[n]} for n in rates}  # fmt: skip
            out["bf16_vs_float32"] = diff = _bf16_clip_diff(Path(tmp) / "cuda", frames)
            if not np.isfinite(diff) or diff > 0.05:
                raise AssertionError(f"the CLIP reward in bf16 differs from float32 by {diff} (allowed 0.05)")
    return out


def _bf16_clip_diff(folder: Path, frames: Any) -> float:
    """Largest |bf16 - float32| of the tiny CLIP reward on the GPU over ``frames``."""
    import numpy as np

    from rlsuite.testing.vision_models import GOAL_TEXT
    from rlsuite.vision.rewards import VLMRewardModel

    r32 = VLMRewardModel.from_pretrained(folder / "clip", GOAL_TEXT, device="cuda", dtype="float32").rewards(frames)
    r16 = VLMRewardModel.from_pretrained(folder / "clip", GOAL_TEXT, device="cuda", dtype="bfloat16").rewards(frames)
    return float(np.max(np.abs(np.asarray(r16, dtype=np.float64) - np.asarray(r32, dtype=np.float64))))


# ----- the report --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What ran the check: the GPU (if any), torch and its CUDA, the host."""
    info: dict[str, Any] = {"host": platform.node(), "python": platform.python_version()}
    try:
        import torch
    except ImportError:
        return info | {"torch": None, "cuda_available": False}
    info |= {"torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available()}
    if info["cuda_available"]:
        props = torch.cuda.get_device_properties(0)
        info |= {
            "gpu": torch.cuda.get_device_name(0),
            "gpu_count": torch.cuda.device_count(),
            "capability": list(torch.cuda.get_device_capability(0)),
            "memory_gb": round(props.total_memory / 2**30, 1),
            "bf16_native": torch.cuda.is_bf16_supported(including_emulation=False),
        }
    return info


def report(
    outcomes: dict[str, Outcome], info: dict[str, Any], started: float, error: str | None = None
) -> dict[str, Any]:
    """The JSON report: ``ok`` only when every part ran and passed."""
    parts = {
        name: {
            "status": o.status,
            "seconds": round(o.seconds, 2),
            "description": next((p.description for p in PARTS if p.name == name), ""),
            "results": o.results,
            **({"output_tail": o.output_tail} if o.output_tail else {}),
        }
        for name, o in outcomes.items()
    }
    ok = error is None and bool(outcomes) and all(o.status == "passed" for o in outcomes.values())
    return {
        "rlsuite_gpu_check": REPORT_VERSION,
        "started": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started, 1),
        "ok": ok,
        **({"error": error} if error else {}),
        "machine": info,
        "parts": parts,
    }


def write_report(path: Path, data: dict[str, Any]) -> None:
    """The JSON report at ``path`` and its markdown reading beside it (``.md``), each written atomically."""
    sys.path.insert(0, str(ROOT))
    from rlsuite.common.io import atomic_path, write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)
    with atomic_path(path.with_suffix(".md")) as tmp:
        tmp.write_text(markdown_report(data))


def _flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [row for k, v in value.items() for row in _flat(f"{prefix}.{k}" if prefix else str(k), v)]
    if isinstance(value, list) and len(value) > 6:
        return [(prefix, f"{len(value)} values, first {value[0]:.4g}, last {value[-1]:.4g}")]
    return [(prefix, value)]


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def markdown_report(data: dict[str, Any]) -> str:
    """The report as markdown: the machine, one line per part, then each part's figures as a table."""
    m = data.get("machine", {})
    lines = [
        f"# rlsuite GPU check, {data.get('started', '?')}",
        "",
        f"GPU: {m.get('gpu', 'none')} ({m.get('memory_gb', '?')} GB, capability {m.get('capability', '?')}, "
        f"native bf16 {m.get('bf16_native', '?')}); torch {m.get('torch')} (CUDA {m.get('torch_cuda')}); "
        f"Python {m.get('python')}.",
        f"Result: {'every part passed' if data.get('ok') else 'NOT ok'} in {data.get('seconds', '?')} s."
        + (f" {data['error']}" if data.get("error") else ""),
        "",
        "| part | status | seconds | what |",
        "|---|---|---|---|",
    ]
    parts = data.get("parts", {})
    lines += [f"| {n} | {p['status']} | {p['seconds']} | {p['description']} |" for n, p in parts.items()]
    for name, p in parts.items():
        rows = _flat("", p.get("results", {}))
        if rows:
            lines += ["", f"## {name}", "", "| figure | value |", "|---|---|"]
            lines += [f"| {k} | {_number(v)} |" for k, v in rows]
        if p.get("output_tail"):
            lines += ["", "```", p["output_tail"][-1500:], "```"]
    return "\n".join(lines) + "\n"


# ----- wheels for a bare GPU machine (no package registry there) ------------------------------------

# What a lent GPU machine lacks or has at another version; the versions are the ones installed here
# (the pins of pyproject.toml). torch, numpy, matplotlib, scipy, pillow, pyyaml, rich, tqdm, accelerate,
# peft, pyarrow, pandas and pytest are on the machine already.
GPU_WHEELS = (
    "gymnasium", "farama-notifications", "stable-baselines3", "transformers", "tokenizers", "huggingface-hub",
    "safetensors", "trl", "datasets", "dill", "multiprocess", "array-api-compat",
)  # fmt: skip
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64")


def download_wheels(folder: Path) -> list[Path]:
    """Download (here, with the registry) every wheel of :data:`GPU_WHEELS` for CPython 3.12 on x86-64,
    at the versions installed here, into ``folder``; raise when they would not travel (over 64 MiB)."""
    from importlib.metadata import version

    specs = [f"{name}=={version(name)}" for name in GPU_WHEELS]
    platforms = [flag for p in WHEEL_PLATFORMS for flag in ("--platform", p)]
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "--implementation", "cp", *platforms, "-d", str(folder), *specs],
                   check=True)  # fmt: skip
    wheels = sorted(folder.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    if size > 64 * 2**20:
        raise SystemExit(f"gpu-wheels: {size / 2**20:.1f} MiB in {folder}, over the 64 MiB that travels")
    print(f"gpu-wheels: {len(wheels)} wheels, {size / 2**20:.1f} MiB in {folder}")
    return wheels


def install_wheels(folder: Path) -> Path:
    """Install the wheels of ``folder`` without a registry into ``.gpu-site`` (first on the path of this
    process and of every part's); the machine's own torch stays."""
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise SystemExit(f"gpu-check: no wheels in {folder}; run `make gpu-wheels` where there is a registry")
    site = ROOT / ".gpu-site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile",
                    "--no-cache-dir", "--upgrade", "--target", str(site), *map(str, wheels)], check=True)  # fmt: skip
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(site))
    return site


def summary_line(name: str, o: Outcome) -> str:
    r = o.results
    if "passed" in r:
        detail = f"{r['passed']} passed, {r['failed'] + r['errors']} failed, {r['skipped']} skipped"
    else:
        detail = headline(name, r)
    mark = {"passed": "ok", "failed": "FAIL", "timeout": "TIMEOUT", "skipped": "SKIP"}[o.status]
    return f"[{mark:>7}] {name:<16} {o.seconds:6.1f} s  {detail}"


def headline(name: str, r: dict[str, Any]) -> str:
    """One figure of a benchmark part for the console line: its largest size's CUDA/CPU ratio."""
    def ratio(d: dict[str, Any]) -> str:
        return f"x{d['ratio']:.2f}" if isinstance(d, dict) and "ratio" in d else "?"

    if not r or "reason" in r:
        return str(r.get("reason", "")) if r else ""
    if name == "env-throughput":
        n, row = list(r["sizes"].items())[-1]
        return f"CUDA/numpy at {n}: {ratio(row)}; steps equal to numpy's"
    if name == "value-iteration":
        grid = [k for k in r if "x" in k and isinstance(r[k], dict)][-1]
        return f"CUDA/numpy at {grid}: {ratio(r[grid])}; values within {r[grid]['max_abs_diff']:.1e}"
    if name == "tabular-agents":
        return f"Q-learning CUDA/numpy x{r['q_learning_ratio']:.2f}, bandit x{r['bandit_ratio']:.2f}"
    if name == "sb3":
        return f"PPO CUDA/CPU x{r['ratio']:.2f}"
    if name == "alignment":
        big = r.get("llama_100m", {}).get("dpo", {})
        return f"DPO {big.get('seconds_per_step', float('nan')):.3f} s/step at {r['big_model_parameters']:,} parameters"
    if name == "vision":
        return f"bf16 vs float32 {r['bf16_vs_float32']:.3g}; " + ", ".join(
            f"{k.split(' (')[0]} {ratio(v)}" for k, v in list(r["wrappers"].items())[:2])
    return ", ".join(r)


def plan(parts: list[Part], quick: bool, simulate: bool = False) -> list[str]:
    return [
        f"{p.name:<16} (<= {p.limit_s:3d} s) {p.description}\n    {shlex.join(p.command(quick, simulate))}"
        for p in parts
    ]


def simulated() -> contextlib.AbstractContextManager[None]:
    """CUDA simulated on the CPU (tests/cuda_sim.py): a rehearsal of the check without a GPU."""
    sys.path.insert(0, str(ROOT / "tests"))
    from cuda_sim import simulate_cuda

    return simulate_cuda()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_check.json", help="the JSON report (default: gpu_check.json)")
    parser.add_argument("--budget", type=float, default=float(TOTAL_LIMIT_S),
                        help=f"seconds for the whole check (default {TOTAL_LIMIT_S})")
    parser.add_argument("--wheels", type=Path, help="install the wheels of this folder first (no registry needed)")
    parser.add_argument("--download-wheels", type=Path, metavar="DIR",
                        help="download the wheels a bare GPU machine needs into DIR, then stop (make gpu-wheels)")
    parser.add_argument("--only", nargs="+", choices=[p.name for p in PARTS], help="run only these parts")
    parser.add_argument("--quick", action="store_true", help="smaller benchmark sizes")
    parser.add_argument("--jobs", type=int, default=0, metavar="N",
                        help="parts run at once (default: 1 on a GPU, where each part's timing needs the machine to "
                             "itself; 2 for a --simulate-cuda rehearsal, whose timings mean nothing)")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="list what would run, run nothing")
    parser.add_argument(
        "--simulate-cuda",
        action="store_true",
        help="rehearse on the CPU with CUDA simulated (tests/cuda_sim.py): device bugs show, timings mean nothing",
    )
    parser.add_argument("--part", choices=[p.name for p in PARTS if p.bench], help=argparse.SUPPRESS)
    parser.add_argument("--part-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    parts = [p for p in PARTS if not args.only or p.name in args.only]
    if args.download_wheels:
        download_wheels(args.download_wheels)
        return 0
    if args.wheels and not args.dry_run:
        install_wheels(args.wheels)

    if args.part:  # inside one part's process
        part = next(p for p in PARTS if p.name == args.part)
        sys.path.insert(0, str(ROOT))
        with simulated() if args.simulate_cuda else contextlib.nullcontext():
            results = globals()[part.bench](quick=args.quick)
        if args.part_out:
            Path(args.part_out).write_text(json.dumps(results, indent=2, default=float))
        print(json.dumps(results, indent=2, default=float))
        return 0

    if args.dry_run:
        print(f"gpu-check would run {len(parts)} parts (budget {args.budget:.0f} s), report -> {args.out}:")
        print("\n".join(plan(parts, args.quick, args.simulate_cuda)))
        return 0

    started = time.time()
    with simulated() if args.simulate_cuda else contextlib.nullcontext():
        info = machine()
    out = Path(args.out)
    if not info.get("cuda_available"):
        if info.get("torch") is None:
            why = "torch is not installed"
        elif not info.get("torch_cuda"):
            why = f"torch {info['torch']} is a CPU-only build; see TORCH_SPEC in the Makefile"
        else:
            why = f"torch {info['torch']} sees no CUDA device"
        error = f"no CUDA device here ({why}): gpu-check needs a GPU; --dry-run lists what it runs"
        write_report(out, report({}, info, started, error))
        print(f"gpu-check: {error}", file=sys.stderr)
        return 2

    print(f"gpu-check on {info['gpu']} (torch {info['torch']}, CUDA {info['torch_cuda']}), budget {args.budget:.0f} s")
    deadline = time.perf_counter() + args.budget
    scale = LIMIT_SCALE or (2.0 if args.simulate_cuda else 1.0)

    def start(part: Part) -> Outcome:  # a part's limit: its own, or what is left of the budget when it starts
        left = deadline - time.perf_counter()
        if left < 5:
            return Outcome("skipped", results={"reason": "out of time (raise --budget)"})
        return run_part(part, min(part.limit_s * scale, left), args.quick, args.simulate_cuda)

    outcomes: dict[str, Outcome] = {}
    jobs = args.jobs or (2 if args.simulate_cuda else 1)
    with ThreadPoolExecutor(max_workers=jobs) as pool:  # jobs=1: one part after another, in order
        for part, future in [(part, pool.submit(start, part)) for part in parts]:
            outcomes[part.name] = future.result()
            print(summary_line(part.name, outcomes[part.name]), flush=True)
    data = report(outcomes, info, started)
    write_report(out, data)
    failed = [n for n, o in outcomes.items() if o.status != "passed"]
    took = f"{(time.time() - started) / 60:.1f} min"
    if failed:
        print(f"gpu-check: {len(failed)} of {len(outcomes)} parts did not pass ({', '.join(failed)}) in {took}; "
              f"report in {out}")
        return 1
    print(f"gpu-check: all {len(outcomes)} parts passed in {took}; report in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
