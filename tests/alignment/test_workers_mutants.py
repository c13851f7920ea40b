"""``run_on_ray``'s settings, each seen from inside its tasks: the driver's variables reach a cluster's workers (values
a worker would not have by itself), a local instance has the CPUs asked for, a cluster with a GPU gives each task one,
a worker that dies is not started again, and the workers' prints stay off the driver's console."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from test_workers import PASSED_ON, Item, head, set_driver_env  # noqa: E402, F401  (head: the fixture)

from rlsuite.alignment.workers import run_on_ray  # noqa: E402

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the tasks below run in Ray's workers


def _inside(item: Item, where: str) -> dict[str, Any]:
    import ray

    return {"env": {k: os.environ.get(k) for k in PASSED_ON}, "cpus": ray.cluster_resources().get("CPU"),
            "visible": os.environ.get("CUDA_VISIBLE_DEVICES")}  # fmt: skip


def test_a_cluster_gets_the_drivers_own_values_and_a_gpu(
    head: tuple[str, str],  # noqa: F811  (the imported fixture)
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Values unlike any a worker would get by itself (Ray's one thread per task, _task's own defaults), so each
    seen in the task was passed on; the task runs on the cluster's node, with its one GPU."""
    address, node = head
    wanted = set_driver_env(monkeypatch, tmp_path / "cache", HF_HUB_OFFLINE="true", OMP_NUM_THREADS="3",
                            MKL_NUM_THREADS="5", TRL_EXPERIMENTAL_SILENCE="yes")  # fmt: skip
    result = run_on_ray(_inside, [Item("g", 0)], workers=1, address=address)["g"]
    assert result["env"] == wanted
    assert result["ran_on"] == {"node": node[:12], "gpu_ids": ["0"]} and result["visible"] == "0"
    assert result["cpus"] == 2.0  # the cluster's CPUs, not a new local instance's


def _count_and_die(item: Item, where: str) -> dict[str, Any]:
    with open(item.name, "a") as f:
        f.write("started\n")
    os._exit(1)


def test_a_local_instance_has_the_cpus_asked_for_and_a_dead_worker_is_not_retried(tmp_path: Path) -> None:
    results = run_on_ray(_inside, [Item("a", 0)], workers=1)
    assert results["a"]["cpus"] == 1.0  # not every CPU of the machine
    assert results["a"]["ran_on"]["gpu_ids"] == [] and not ray.is_initialized()
    marker = tmp_path / "attempts.txt"
    with pytest.raises(ray.exceptions.RayError):
        run_on_ray(_count_and_die, [Item(str(marker), 0)], workers=1)
    assert marker.read_text() == "started\n"  # one attempt: no retry of a task whose worker died


def _loud(item: Item, where: str) -> dict[str, Any]:
    import time

    print("a worker's own print", flush=True)
    print("a worker's own error print", file=sys.stderr, flush=True)
    time.sleep(3)  # time enough for Ray to forward the lines to the driver, were it asked to (measured: ~1 s)
    return {}


def test_the_workers_output_stays_off_the_drivers_console(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    run_on_ray(_inside, [Item("w", 0)], workers=1)  # Ray's first start in a process drops its import-time handlers
    ray_logger = logging.getLogger("ray")
    monkeypatch.setattr(ray_logger, "level", logging.ERROR)  # not Ray's own INFO
    ray_handlers = list(ray_logger.handlers)
    formatters = [h.formatter for h in ray_handlers]
    run_on_ray(_loud, [Item("l", 0)], workers=1)
    out, err = capfd.readouterr()
    assert "a worker's own" not in out + err
    # Ray did not set up its own logging: its logger's handlers, their formats and its level are as they were
    assert ray_logger.handlers == ray_handlers and [h.formatter for h in ray_handlers] == formatters
    assert ray_logger.level == logging.ERROR
