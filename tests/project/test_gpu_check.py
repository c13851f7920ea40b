"""The GPU check (scripts/gpu_check.py) and the GPU parts of the benchmarks, tested on the CPU."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest
from cuda_sim import simulate_cuda

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
GPU_CHECK = ROOT / "scripts" / "gpu_check.py"


def load_benchmark(name: str, folder: Path = BENCHMARKS) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", folder / f"{name}.py")
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

    rate: Any = bench._rate(step, 0.1, sync=sync)
    assert rate <= 500.0


# ----- scripts/gpu_check.py: what can be checked without a GPU -----


@pytest.fixture(scope="module")
def gpu_check() -> types.ModuleType:
    return load_benchmark("gpu_check", GPU_CHECK.parent)


def test_dry_run_lists_every_part_with_its_command(gpu_check: types.ModuleType, capsys) -> None:
    assert gpu_check.main(["--dry-run", "--out", "somewhere.json"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("gpu-check would run 7 parts (budget 450 s), report -> somewhere.json:")
    for name in ("tests-gpu", "tests-device", "accelerate", "env-throughput", "value-iteration", "alignment", "vision"):
        assert f"\n{name} " in text
    assert "-m gpu tests" in text and "'device and not gpu and not slow'" in text and "--part alignment" in text
    assert not Path("somewhere.json").exists()


def test_parts_are_pytest_selections_or_benchmark_functions(gpu_check: types.ModuleType) -> None:
    assert [p.name for p in gpu_check.PARTS] == [
        "tests-gpu", "tests-device", "accelerate", "env-throughput", "value-iteration", "alignment", "vision"
    ]
    for part in gpu_check.PARTS:
        assert bool(part.pytest_args) != bool(part.bench)
        assert part.bench == "" or callable(getattr(gpu_check, part.bench))


def test_without_a_gpu_it_stops_at_once_with_one_line_and_a_report(tmp_path: Path) -> None:
    import subprocess

    import torch
    from cuda_sim import is_simulated

    if torch.cuda.is_available() and not is_simulated():
        pytest.skip("a real GPU is here: gpu-check would run")
    out = tmp_path / "report.json"
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(GPU_CHECK), "--out", str(out)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "RLSUITE_SIMULATE_CUDA": ""},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert time.perf_counter() - t0 < 120
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu-check: no CUDA device here (torch ")
    assert "CPU-only build" in lines[0] and proc.stdout == ""
    data = json.loads(out.read_text())
    assert data["ok"] is False and data["parts"] == {} and data["machine"]["cuda_available"] is False
    assert data["error"] == lines[0].removeprefix("gpu-check: ")


def test_a_hanging_part_is_killed_at_its_limit(gpu_check: types.ModuleType) -> None:
    t0 = time.perf_counter()
    status, seconds, _ = gpu_check.run_command([sys.executable, "-c", "import time; time.sleep(120)"], 1.0)
    assert status == "timeout" and seconds < 30 and time.perf_counter() - t0 < 30
    status, _, tail = gpu_check.run_command([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], 60)
    assert status == "failed" and tail.strip() == "boom"


def test_junit_counts(gpu_check: types.ModuleType, tmp_path: Path) -> None:
    xml = tmp_path / "j.xml"
    xml.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_a" name="test_ok"/>'
        '<testcase classname="tests.test_a" name="test_bad"><failure message="x"/></testcase>'
        '<testcase classname="tests.test_b" name="test_err"><error message="y"/></testcase>'
        '<testcase classname="tests.test_b" name="test_skip"><skipped message="z"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert gpu_check.junit_counts(xml) == {
        "passed": 1, "failed": 1, "errors": 1, "skipped": 1,
        "failures": ["tests.test_a::test_bad", "tests.test_b::test_err"],
    }  # fmt: skip
    assert gpu_check.junit_counts(tmp_path / "missing.xml") == {}


def test_report_is_ok_only_when_every_part_passed(gpu_check: types.ModuleType, tmp_path: Path) -> None:
    Outcome = gpu_check.Outcome
    info = {"gpu": "test", "cuda_available": True}
    good = {"tests-gpu": Outcome("passed", 1.234, {"passed": 3, "failed": 0, "errors": 0, "skipped": 0})}
    data = gpu_check.report(good, info, time.time())
    assert data["ok"] is True and data["parts"]["tests-gpu"]["seconds"] == 1.23
    assert data["parts"]["tests-gpu"]["description"] == "every CUDA-marked test (pytest -m gpu)"
    assert "output_tail" not in data["parts"]["tests-gpu"]
    for status in ("failed", "timeout", "skipped"):
        bad = {**good, "vision": Outcome(status, 2.0, {}, "Traceback ...")}
        assert gpu_check.report(bad, info, time.time())["ok"] is False
    assert gpu_check.report({}, info, time.time())["ok"] is False  # nothing ran: not ok
    path = tmp_path / "sub" / "r.json"
    gpu_check.write_report(path, data)
    assert json.loads(path.read_text()) == data
    line = gpu_check.summary_line("tests-gpu", good["tests-gpu"])
    assert line == "[     ok] tests-gpu           1.2 s  3 passed, 0 failed, 0 skipped"


def test_env_throughput_part_on_simulated_cuda(gpu_check: types.ModuleType) -> None:
    with simulate_cuda():
        out = gpu_check.bench_env_throughput(sizes=(256, 1024), seconds=0.05)
    assert set(out) == {"cuda_steps_per_s", "numpy_steps_per_s_N=256"}
    assert set(out["cuda_steps_per_s"]) == {"N=256", "N=1024"} and min(out["cuda_steps_per_s"].values()) > 0


@pytest.mark.slow
def test_benchmark_parts_rehearsed_on_simulated_cuda(tmp_path: Path) -> None:
    """The whole check's benchmark parts, each in its own process, on simulated CUDA (a few minutes)."""
    import subprocess

    out = tmp_path / "r.json"
    only = ["env-throughput", "value-iteration", "vision", "alignment"]
    proc = subprocess.run(
        [sys.executable, str(GPU_CHECK), "--simulate-cuda", "--quick", "--budget", "1500",
         "--out", str(out), "--only", *only],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    data = json.loads(out.read_text())
    assert data["machine"]["gpu"] == "Simulated CUDA (CPU-only torch)"
    assert {n: p["status"] for n, p in data["parts"].items()} == dict.fromkeys(only, "passed"), proc.stdout
    assert proc.returncode == 0
