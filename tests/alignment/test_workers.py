"""``run_on_ray`` on a local Ray instance with trivial tasks: every item's result (and where it ran), the results
as they come, the tasks' logs in their files, the driver's one log line, and a user's error raised in a task."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from rlsuite.alignment.workers import run_on_ray  # noqa: E402
from rlsuite.common.errors import UsageError  # noqa: E402

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the tasks below run in Ray's workers


@dataclass(frozen=True)
class Item:
    name: str
    value: int


def _square(item: Item, where: str) -> dict[str, Any]:
    logging.getLogger("rlsuite.test_task").info("squaring %s", item.name)
    return {"square": item.value**2, "where": where}


def _refuse(item: Item, where: str) -> dict[str, Any]:
    raise UsageError(f"{item.name}: a value of {item.value} is refused")


def test_every_item_runs_as_a_ray_task(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    items = [Item("a", 2), Item("b", 3)]
    seen: list[tuple[str, int]] = []
    with caplog.at_level(logging.INFO, logger="rlsuite.alignment.workers"):
        results = run_on_ray(_square, items, workers=1, on_result=lambda name, r: seen.append((name, r["square"])),
                             log_file=lambda item: str(tmp_path / "logs" / f"{item.name}.txt"))  # fmt: skip
    assert [r.getMessage() for r in caplog.records if r.name == "rlsuite.alignment.workers"] == [
        "ray: a local instance with 1 CPUs"
    ]
    assert sorted(results) == ["a", "b"] and sorted(seen) == [("a", 4), ("b", 9)]
    for item in items:
        result = results[item.name]
        assert result["square"] == item.value**2 and result["where"] == "ray task"
        assert result["ran_on"]["gpu_ids"] == [] and len(result["ran_on"]["node"]) == 12
        log = (tmp_path / "logs" / f"{item.name}.txt").read_text()
        assert f"INFO rlsuite.test_task: squaring {item.name}" in log
    assert not ray.is_initialized()  # the instance it started is shut down


def test_a_users_error_in_a_task_is_raised_as_itself() -> None:
    with pytest.raises(UsageError, match=r"^c: a value of 5 is refused$"):
        run_on_ray(_refuse, [Item("c", 5)], workers=1)
    assert not ray.is_initialized()


def _environment(item: Item, where: str) -> dict[str, Any]:
    import os

    return {"env": {k: os.environ.get(k) for k in PASSED_ON}, "where": where}


PASSED_ON = ("PYTHONPATH", "RLSUITE_CACHE", "HF_HUB_OFFLINE", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "TRL_EXPERIMENTAL_SILENCE")  # fmt: skip


# A Ray instance started by another process (a cluster's head, here on this machine), with two CPUs and one (declared)
# GPU: its address and node id on the first line; closing its stdin ends it (and the instance with it).
HEAD = """import sys, ray
ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, configure_logging=False, log_to_driver=False)
context = ray.get_runtime_context()
print(context.gcs_address, context.get_node_id(), flush=True)
sys.stdin.read()
ray.shutdown()
"""


def set_driver_env(monkeypatch: pytest.MonkeyPatch, cache: Path, **values: str) -> dict[str, str]:
    """Set every variable run_on_ray passes on, in the driver (PYTHONPATH as it is, the cache under ``cache``, the
    rest from ``values``); return them."""
    import os

    wanted = {"PYTHONPATH": os.environ.get("PYTHONPATH", ""), "RLSUITE_CACHE": str(cache), **values}
    assert set(wanted) == set(PASSED_ON), "name every variable run_on_ray passes on"
    for k, v in wanted.items():
        monkeypatch.setenv(k, v)
    return wanted


@pytest.fixture
def head() -> Iterator[tuple[str, str]]:
    """A head started without the variables run_on_ray passes on: its (address, node id)."""
    import os
    import subprocess

    bare = {k: v for k, v in os.environ.items() if k not in PASSED_ON}
    process = subprocess.Popen([sys.executable, "-c", HEAD], env=bare, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)  # fmt: skip
    try:
        line = process.stdout.readline().split() if process.stdout else []
        assert len(line) == 2, "the head did not start"
        yield line[0], line[1]
    finally:
        if process.stdin:
            process.stdin.close()
        process.wait(timeout=120)


def test_a_cluster_gets_the_drivers_settings(head: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:  # fmt: skip
    """``address``: the tasks run on an instance started elsewhere, without these variables, which its tasks see
    only because run_on_ray passes them on."""
    address, _ = head
    wanted = set_driver_env(monkeypatch, tmp_path / "cache", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1",
                            MKL_NUM_THREADS="1", TRL_EXPERIMENTAL_SILENCE="1")  # fmt: skip
    with caplog.at_level(logging.INFO, logger="rlsuite.alignment.workers"):
        results = run_on_ray(_environment, [Item("d", 1)], workers=1, address=address)
    assert results["d"] == {"env": wanted, "where": "ray task", "ran_on": results["d"]["ran_on"]}
    assert [r.getMessage() for r in caplog.records if r.name == "rlsuite.alignment.workers"] == [
        f"ray: connected to {address}"
    ]
