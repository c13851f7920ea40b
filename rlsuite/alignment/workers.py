"""Independent stages of a comparison as Ray tasks (``align compare --workers N``; ``pip install 'rlsuite[ray]'``).

- Where: a local Ray instance with ``N`` CPUs by default, or an existing cluster (``ray_address``,
  e.g. ``ray://head:10001`` or ``auto``), whose nodes must have rlsuite installed and see the
  comparison's folder (a shared file system).
- How many at once: one CPU per task, so a local instance runs ``N`` at once; where the cluster has
  GPUs, one GPU per task. Each task uses the torch thread count the driver chose for it
  (:func:`rlsuite.common.device.choose_threads`: the CPUs split between the workers; 1 by default).
- Results: each task trains and measures one run, deterministically from its seed, and writes its
  stage folder as the sequential path does; the result records where it ran (node, host, pid, GPU).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlsuite.common.errors import UsageError
from rlsuite.common.processes import ray_session

log = logging.getLogger(__name__)


def require_ray() -> Any:
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
    except ModuleNotFoundError as exc:
        hint = "pip install 'rlsuite[ray]'"
        raise UsageError(f"--workers > 1 runs stages on Ray, which is not installed: {hint}") from exc
    return ray


def _task(fn: Callable[..., dict[str, Any]], item: Any, log_file: str | None) -> dict[str, Any]:
    """What runs in a Ray worker: logs to ``log_file`` (no console there), then ``fn(item)``, tagged with
    the node and GPU."""
    import ray

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    root = logging.getLogger()
    handler: logging.Handler | None = None
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        from transformers.utils import logging as hf_logging  # its records to this handler, no bars

        hf_logging.disable_default_handler()
        hf_logging.enable_propagation()
        hf_logging.disable_progress_bar()
    try:
        result = fn(item, where="ray task")
    finally:
        if handler is not None:
            root.removeHandler(handler)
            handler.close()
    context = ray.get_runtime_context()
    result.setdefault("ran_on", {}).update(
        {"node": context.get_node_id()[:12], "gpu_ids": [str(g) for g in ray.get_gpu_ids()]}
    )
    return result


def run_on_ray(
    fn: Callable[..., dict[str, Any]],
    items: Sequence[Any],
    workers: int,
    address: str | None = None,
    on_result: Callable[[str, dict[str, Any]], None] | None = None,
    log_file: Callable[[Any], str | None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run ``fn(item, where=...)`` for every item as a Ray task, at most ``workers`` at once on a local
    instance; returns ``{item.name: result}``, each also given to ``on_result`` as it comes. A task's
    logs go to ``log_file(item)`` (third-party chatter included; nothing reaches the driver's console)."""
    ray = require_ray()
    env = {k: os.environ[k] for k in ("PYTHONPATH", "RLSUITE_CACHE", "HF_HUB_OFFLINE", "OMP_NUM_THREADS",
                                       "MKL_NUM_THREADS", "TRL_EXPERIMENTAL_SILENCE") if k in os.environ}
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address:
        kwargs.update(address=address, runtime_env={"env_vars": env})
    else:
        kwargs.update(num_cpus=workers)
    with ray_session(ray, **kwargs) as started_here:  # shut down on SIGINT, SIGTERM and the driver's death
        if started_here:
            log.info("ray: %s", "connected to " + address if address else f"a local instance with {workers} CPUs")
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        remote = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=0)(_task)
        pending = {remote.remote(fn, item, log_file(item) if log_file else None): item.name for item in items}
        results: dict[str, dict[str, Any]] = {}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            name = pending.pop(ref)
            try:
                results[name] = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                if isinstance(cause, UsageError):  # the user's error, raised in a worker: one line as ever
                    raise cause from None
                raise
            if on_result is not None:
                on_result(name, results[name])
        return results
