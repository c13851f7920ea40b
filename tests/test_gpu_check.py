"""The GPU check (benchmarks/gpu_check.py) and the GPU parts of the benchmarks, tested on the CPU."""

from __future__ import annotations

import importlib.util
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest
from cuda_sim import simulate_cuda

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_env_throughput_synchronises_the_gpu_before_every_clock_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15, bug 8: the rate was computed before ``torch.cuda.synchronize()``, so queued GPU work
    was not timed. Every clock read after the start must come right after a synchronisation."""
    import torch

    bench = load_benchmark("env_throughput")
    events: list[str] = []
    clock = types.SimpleNamespace(perf_counter=lambda: events.append("clock") or time.perf_counter())
    monkeypatch.setattr(bench, "time", clock)
    with simulate_cuda():
        monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: events.append("sync"))
        rate = bench.vector_env_rate("rlsuite/GridWorld-v0", 64, "vector_entry_point", 0.05, device="cuda")
    assert rate > 0.0
    reads = [i for i, e in enumerate(events) if e == "clock"]
    assert len(reads) >= 2
    assert all(events[i - 1] == "sync" for i in reads)


def test_env_throughput_rate_counts_the_queued_work() -> None:
    """A step that only launches 2 ms of device work: synchronised timing sees at most 500 steps/s."""
    bench = load_benchmark("env_throughput")
    queued: list[float] = []

    def step() -> int:
        queued.append(0.002)
        return 1

    def sync() -> None:
        time.sleep(sum(queued))
        queued.clear()

    rate: Any = bench._rate(step, 0.1, sync)
    assert rate <= 500.0
