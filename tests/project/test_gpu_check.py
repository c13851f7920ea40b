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


PART_NAMES = [
    "env-throughput", "value-iteration", "tabular-agents", "sb3", "alignment", "vision", "tests-gpu", "tests-device"
]  # fmt: skip


def test_dry_run_lists_every_part_with_its_command(gpu_check: types.ModuleType, capsys) -> None:
    assert gpu_check.main(["--dry-run", "--out", "somewhere.json"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("gpu-check would run 8 parts (budget 540 s), report -> somewhere.json:")
    for name in PART_NAMES:
        assert f"\n{name} " in text
    assert "-m gpu tests" in text and "'device and not gpu and not slow'" in text and "--part alignment" in text
    assert not Path("somewhere.json").exists()


def test_parts_are_pytest_selections_or_benchmark_functions_benchmarks_first(gpu_check: types.ModuleType) -> None:
    """The benchmarks run first and the tests last, so a slow test cannot cost the figures (issue 22)."""
    assert [p.name for p in gpu_check.PARTS] == PART_NAMES
    for part in gpu_check.PARTS:
        assert bool(part.pytest_args) != bool(part.bench)
        assert part.bench == "" or callable(getattr(gpu_check, part.bench))
    kinds = ["bench" if p.bench else "tests" for p in gpu_check.PARTS]
    assert kinds == sorted(kinds)  # "bench" < "tests": every benchmark before every test part


def test_the_part_limits_fit_in_nine_minutes(gpu_check: types.ModuleType) -> None:
    assert sum(p.limit_s for p in gpu_check.PARTS) <= gpu_check.TOTAL_LIMIT_S == 540


def test_no_part_forces_the_cpu(gpu_check: types.ModuleType) -> None:
    """The old "accelerate" part ran on the CPU; every part now claims the GPU or runs the CUDA tests."""
    for part in gpu_check.PARTS:
        assert "--cpu" not in part.command() and "accelerate" not in part.name


def test_the_quick_gpu_test_selection_names_every_file_with_gpu_tests(gpu_check: types.ModuleType) -> None:
    """--quick collects only the files that hold `gpu` tests (collecting the whole suite took most of the
    part's minute on simulated CUDA): a new one elsewhere must be added to the list."""
    import re

    marked = re.compile(r"(pytest\.)?mark\.gpu\b")
    holding = {str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py") if marked.search(p.read_text())}
    assert holding == set(gpu_check.GPU_TEST_FILES)
    part = next(p for p in gpu_check.PARTS if p.name == "tests-gpu")
    assert part.command(quick=True)[-len(gpu_check.GPU_TEST_FILES) :] == list(gpu_check.GPU_TEST_FILES)


def test_the_wheels_are_the_pinned_versions(gpu_check: types.ModuleType) -> None:
    """What make gpu-wheels downloads are the versions pyproject.toml pins (those installed here)."""
    import re
    import tomllib
    from importlib.metadata import version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for spec in [*project["dependencies"], *(d for ds in project["optional-dependencies"].values() for d in ds)]:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^;\s]+)", spec.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    pinned = [name for name in gpu_check.GPU_WHEELS if name in pins]
    assert {"gymnasium", "stable-baselines3", "transformers", "trl", "datasets"} <= set(pinned)
    assert {name: version(name) for name in pinned} == {name: pins[name] for name in pinned}
    assert "torch" not in gpu_check.GPU_WHEELS  # the machine's own CUDA torch stays


def test_installing_from_an_empty_wheel_folder_is_one_line(gpu_check: types.ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"^gpu-check: no wheels in .*; run `make gpu-wheels` where there is a "):
        gpu_check.install_wheels(tmp_path)


def test_markdown_report_lists_each_part_and_its_figures(gpu_check: types.ModuleType) -> None:
    data = {
        "started": "2026-12-05T10:00:00+00:00", "seconds": 300.0, "ok": True,
        "machine": {"gpu": "NVIDIA H100", "memory_gb": 79.1, "capability": [9, 0], "bf16_native": True,
                    "torch": "2.11.0", "torch_cuda": "13.0", "python": "3.12.3"},
        "parts": {"value-iteration": {"status": "passed", "seconds": 4.5, "description": "vi",
                                      "results": {"1000x1000": {"ratio": 123.456, "numpy_ms_per_sweep": 2500.0}}}},
    }  # fmt: skip
    text = gpu_check.markdown_report(data)
    assert "GPU: NVIDIA H100 (79.1 GB, capability [9, 0], native bf16 True); torch 2.11.0 (CUDA 13.0)" in text
    assert "| value-iteration | passed | 4.5 | vi |" in text
    assert "| 1000x1000.ratio | 123.5 |" in text and "| 1000x1000.numpy_ms_per_sweep | 2,500 |" in text


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
        out = gpu_check.bench_env_throughput(quick=True, sizes=(256, 1024), seconds=0.05)
    assert set(out["sizes"]) == {"N=2^8", "N=2^10"} and out["steps_checked_equal_to_numpy"] == 20
    assert all(min(row.values()) > 0 for row in out["sizes"].values())
    assert out["cuda_max_memory_allocated_mb"] > 0


def test_value_iteration_times_the_sweeps_alone_and_cuda_meets_numpy_at_the_same_sizes(
    gpu_check: types.ModuleType,
) -> None:
    """Issue 22: CUDA's "ms/sweep" held a 114 MiB host-to-device copy, a host-side q_values and a host read
    per sweep, and numpy ran Q-learning at 1024 copies against CUDA's 65536. Now the timed sweeps take
    tables already on the device and never read the values back (no sync), and every size has both rows."""
    import torch
    from cuda_sim import count_syncs

    from rlsuite.agents.tabular.solvers import torch_tables
    from rlsuite.envs.gridworld import GridWorldEnv
    from rlsuite.envs.model import tabular_model

    speed = load_benchmark("tabular_speed")
    with simulate_cuda():
        model = tabular_model(GridWorldEnv(n_rows=10, n_cols=10, random_layout=True, layout_seed=0))
        tables = torch_tables(model, torch.device("cuda"))
        with count_syncs() as syncs:
            assert speed.device_sweep_ms(tables, sweeps=3, repeats=1) > 0
        assert not syncs, syncs
        report = speed.bench_cuda(sizes=(5, 10), copies=(16, 64), runs=8, repeats=1)
        part = gpu_check.bench_value_iteration(quick=True, sizes=(6,))
    assert list(report["value_iteration"]) == ["5x5", "10x10"] and list(report["q_learning"]) == [16, 64]
    lines = speed.cuda_lines(report)
    assert len(lines) == 5 and all(" on CUDA, " in line and " numpy -> " in line for line in lines), lines
    assert lines[2].startswith("CUDA vs numpy, Q-learning with 16 env copies: ")
    assert part["6x6"]["max_abs_diff"] <= 1e-6 and part["cuda_max_memory_allocated_mb"] > 0


def test_a_part_that_leaves_the_gpu_unused_fails(gpu_check: types.ModuleType) -> None:
    import torch

    unused = pytest.raises(AssertionError, match="nothing was placed on the GPU")
    with simulate_cuda(), unused, gpu_check.on_the_gpu({}):
        torch.zeros(8)  # on the CPU


@pytest.mark.slow
def test_every_part_rehearsed_on_simulated_cuda(tmp_path: Path) -> None:
    """The whole check, each part in its own process, on simulated CUDA in --quick mode (about 2 minutes;
    the part limits are for a GPU, so the budget and limits are stretched here)."""
    import subprocess

    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, str(GPU_CHECK), "--simulate-cuda", "--quick", "--budget", "1500", "--out", str(out)],
        capture_output=True, text=True, timeout=1800, env={**os.environ, "RLSUITE_GPU_CHECK_LIMIT_SCALE": "4"},
    )  # fmt: skip
    data = json.loads(out.read_text())
    assert data["machine"]["gpu"] == "Simulated CUDA (CPU-only torch)"
    assert {n: p["status"] for n, p in data["parts"].items()} == dict.fromkeys(PART_NAMES, "passed"), proc.stdout
    assert proc.returncode == 0
    text = (tmp_path / "r.md").read_text()
    assert all(f"| {name} | passed |" in text for name in PART_NAMES), text
