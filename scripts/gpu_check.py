"""The GPU check: every CUDA test and the GPU part of every benchmark, in one run, into one JSON report.

    python scripts/gpu_check.py [--out gpu_check.json] [--budget 450] [--only PART ...] [--quick]
    python scripts/gpu_check.py --dry-run             # what it would run (no GPU needed)
    python scripts/gpu_check.py --simulate-cuda       # a rehearsal on the CPU (tests/cuda_sim.py)
    make gpu-check                                    # the same, from the Makefile

Parts (each in its own process, with a time limit, so one failure or hang cannot stop the rest):

- tests-gpu: ``pytest -m gpu``, every CUDA-marked test (the vision wrappers on CUDA in bf16 against the
  CPU, Grounding DINO and the DETR family with ``dtype="auto"``, the bandit and tabular agents on CUDA,
  value iteration on 200x200, the SB3 adapter on CUDA);
- tests-device: the tests that touch torch devices (``-m "device and not gpu and not slow"``, see
  tests/conftest.py): the torch-backend tests, where ``"auto"`` now means CUDA;
- accelerate: the two-process ``accelerate launch`` test (``-k accelerate``) on the one GPU;
- env-throughput: the batched GridWorld at N = 2^16 .. 2^22 copies, steps/s on CUDA (synchronised);
- value-iteration: value iteration on a 1000x1000 grid on CUDA against numpy, the 2000-run bandit
  testbed and Q-learning with 65536 copies (benchmarks/tabular_speed.py's CUDA part);
- alignment: DPO and PPO steps on the embedded model with the device defaults (bf16 on CUDA), through
  ``rlsuite.alignment``;
- vision: every vision wrapper at batch 64 on CUDA, frames/s (benchmarks/vision_throughput.py).

Without a CUDA device it stops at once (exit 2) with one line saying so, and still writes the report.
Exit 0 when every part passed, 1 otherwise. Whole run: under 8 minutes on one GPU (``--budget`` caps it).
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

    def command(self, quick: bool = False, simulate: bool = False) -> list[str]:
        if self.pytest_args:
            sim = ["--simulate-cuda"] if simulate else []
            return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *sim, *self.pytest_args]
        flags = [*(["--quick"] if quick else []), *(["--simulate-cuda"] if simulate else [])]
        return [sys.executable, str(Path(__file__).resolve()), "--part", self.name, *flags]


PARTS: tuple[Part, ...] = (
    Part("tests-gpu", "every CUDA-marked test (pytest -m gpu)", 150, pytest_args=("-m", "gpu", "tests")),
    Part(
        "tests-device",
        'the torch-backend and device tests, "auto" meaning CUDA',
        150,
        pytest_args=("-m", "device and not gpu and not slow", "tests"),
    ),
    Part("accelerate", "the two-process accelerate test on one GPU", 120, pytest_args=("-k", "accelerate", "tests")),
    Part("env-throughput", "batched GridWorld at N = 2^16..2^22: steps/s on CUDA", 90, bench="bench_env_throughput"),
    Part("value-iteration", "value iteration 1000x1000, bandit, Q-learning on CUDA", 120, bench="bench_tabular"),
    Part("alignment", "DPO and PPO steps on the embedded model, bf16 on CUDA", 150, bench="bench_alignment"),
    Part("vision", "the vision wrappers at batch 64 on CUDA: frames/s", 120, bench="bench_vision"),
)


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


def bench_env_throughput(quick: bool = False, sizes: tuple[int, ...] = (), seconds: float = 0.0) -> dict[str, Any]:
    """Steps/s of the batched GridWorld on CUDA at N = 2^16 .. 2^22 copies, and numpy at 2^16 for scale."""
    bench = load_benchmark("env_throughput")
    sizes = sizes or ((2**16, 2**20) if quick else (2**16, 2**18, 2**20, 2**22))
    seconds = seconds or (0.5 if quick else 1.0)
    rates = {
        f"N={n}": bench.vector_env_rate("rlsuite/GridWorld-v0", n, "vector_entry_point", seconds, device="cuda")
        for n in sizes
    }
    numpy_n = sizes[0]
    numpy = bench.vector_env_rate("rlsuite/GridWorld-v0", numpy_n, "vector_entry_point", seconds)
    return {"cuda_steps_per_s": rates, f"numpy_steps_per_s_N={numpy_n}": numpy}


def bench_tabular(quick: bool = False, n: int = 1000) -> dict[str, Any]:
    """benchmarks/tabular_speed.py's CUDA part, and the CUDA values checked against numpy's."""
    import numpy as np

    from rlsuite.agents.tabular.dp import value_iteration
    from rlsuite.envs.gridworld import GridWorldEnv
    from rlsuite.envs.model import tabular_model

    n = n if not quick else min(n, 300)
    bench = load_benchmark("tabular_speed")
    figures = bench.bench_cuda(n)
    model = tabular_model(GridWorldEnv(n_rows=n, n_cols=n, random_layout=True, forbidden_fraction=0.05, layout_seed=0))
    v_cpu, _, _ = value_iteration(model, 0.9, tol=1e-8)
    v_gpu, _, _ = value_iteration(model, 0.9, tol=1e-8, device="cuda")
    diff = figures["vi_max_abs_diff_cuda_vs_numpy"] = float(np.max(np.abs(v_gpu - v_cpu)))
    if diff > 1e-6:
        raise AssertionError(f"value iteration on CUDA differs from numpy by {diff}")
    return figures


def bench_alignment(quick: bool = False) -> dict[str, Any]:
    """A few DPO steps and PPO updates on the embedded model with the device defaults (bf16 on CUDA),
    through ``rlsuite.alignment``'s typed configs and trainers."""
    import torch

    from rlsuite.alignment.configs import DPOConfig, PPOConfig, RewardConfig
    from rlsuite.alignment.data import SentimentTask, split_heldout
    from rlsuite.alignment.embedded import default_model_dir
    from rlsuite.alignment.evaluate import sample_pairs
    from rlsuite.alignment.training import train_dpo, train_ppo, train_reward

    task = SentimentTask()
    train_prompts, _ = task.split_prompts()
    t0 = time.perf_counter()
    sft = default_model_dir()
    out: dict[str, Any] = {"embedded_model_ready_s": time.perf_counter() - t0}
    pairs, _ = split_heldout(sample_pairs(sft, train_prompts, 8, seed=0), 0.1, seed=0)
    keys = ("wall_seconds", "tokens_per_second", "peak_memory_mb")
    with tempfile.TemporaryDirectory(prefix="gpu-check-align-") as tmp:
        work = Path(tmp)
        dpo_config = DPOConfig(output_dir=str(work / "dpo"), max_steps=4 if quick else 10, save_strategy="no")
        out["bf16"], out["use_cpu"] = bool(dpo_config.bf16), bool(dpo_config.use_cpu)
        if torch.cuda.is_available() and (dpo_config.use_cpu or not dpo_config.bf16):
            raise AssertionError(f"the device defaults on CUDA should train in bf16 on the GPU, got {out}")
        dpo = train_dpo(sft, pairs, dpo_config)
        out["dpo"] = {k: dpo.get(k) for k in keys}
        train_reward(sft, pairs, RewardConfig(output_dir=str(work / "reward"), max_steps=4, save_strategy="no"))
        ppo_config = PPOConfig(output_dir=str(work / "ppo"), total_episodes=64 if quick else 128, save_strategy="no")
        ppo = train_ppo(sft, train_prompts, ppo_config, work / "reward" / "model")
        out["ppo"] = {k: ppo.get(k) for k in keys}
    return out


def bench_vision(quick: bool = False, batch: int = 64, seconds: float = 0.0) -> dict[str, Any]:
    """frames/s of every vision wrapper at ``batch`` on CUDA (benchmarks/vision_throughput.py's wrappers)."""
    bench = load_benchmark("vision_throughput")
    frames = bench._frames(batch)
    seconds = seconds or (0.5 if quick else 1.0)
    with tempfile.TemporaryDirectory(prefix="gpu-check-vision-") as tmp:
        wrappers = bench.build_wrappers("cuda", Path(tmp))
        rates = {name: bench._rate(fn, frames, seconds) for name, fn in wrappers.items()}
    return {"batch": batch, "frames_per_s": rates}


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
            "bf16": torch.cuda.is_bf16_supported(),
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
    sys.path.insert(0, str(ROOT))
    from rlsuite.common.io import write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, data)


def summary_line(name: str, o: Outcome) -> str:
    r = o.results
    if "passed" in r:
        detail = f"{r['passed']} passed, {r['failed'] + r['errors']} failed, {r['skipped']} skipped"
    else:
        detail = ", ".join(r) if r else ""
    mark = {"passed": "ok", "failed": "FAIL", "timeout": "TIMEOUT", "skipped": "SKIP"}[o.status]
    return f"[{mark:>7}] {name:<16} {o.seconds:6.1f} s  {detail}"


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
    parser.add_argument("--budget", type=float, default=450.0, help="seconds for the whole check (default 450)")
    parser.add_argument("--only", nargs="+", choices=[p.name for p in PARTS], help="run only these parts")
    parser.add_argument("--quick", action="store_true", help="smaller benchmark sizes")
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
    outcomes: dict[str, Outcome] = {}
    for part in parts:
        left = deadline - time.perf_counter()
        if left < 5:
            outcomes[part.name] = Outcome("skipped", results={"reason": "out of time (raise --budget)"})
        else:
            outcomes[part.name] = run_part(part, min(part.limit_s, left), args.quick, args.simulate_cuda)
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
