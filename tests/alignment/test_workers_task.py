"""``_task``, what ``run_on_ray`` runs in each Ray worker, called here in the test's own process (on an initialised
local Ray instance): its environment defaults, its log file, the third-party logging it routes there and undoes
nothing of, the handler it removes, and the node and GPUs it records. In the workers it runs out of sight of
mutation testing's stats run; here every line is seen."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")
hf_logging = pytest.importorskip("transformers.utils.logging")

from test_workers import Item  # noqa: E402

from rlsuite.alignment.workers import _task  # noqa: E402
from rlsuite.common.errors import UsageError  # noqa: E402

SET = ("TRL_EXPERIMENTAL_SILENCE", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=1, include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def global_logging() -> Iterator[None]:
    """What ``_task`` changes for the whole process (fine in a worker, which runs nothing else), put back."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    hf = hf_logging._get_library_root_logger()
    hf_handlers, hf_propagate = list(hf.handlers), hf.propagate
    bars = hf_logging.is_progress_bar_enabled()
    logging.captureWarnings(False)  # as in a fresh worker (an earlier test may have left it on)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.setLevel(level)
        root.handlers[:] = handlers
        hf.handlers[:] = hf_handlers
        hf.propagate = hf_propagate
        (hf_logging.enable_progress_bar if bars else hf_logging.disable_progress_bar)()


def _work(item: Item, where: str) -> dict[str, Any]:
    logging.getLogger("rlsuite.test_task").info("working on %s", item.name)
    hf_logging.get_logger("transformers.test_task").warning("a transformers warning")
    seen = {k: os.environ.get(k) for k in SET}
    # Python warnings become log records (pytest's own capture of warnings decides where they go in a test run)
    captured = warnings.showwarning is logging._showwarning  # type: ignore[attr-defined]
    return {"value": item.value, "where": where, "env": seen, "bars": hf_logging.is_progress_bar_enabled(),
            "warnings_logged": captured}  # fmt: skip


@pytest.mark.usefixtures("local_ray", "global_logging")
def test_task_logs_to_its_file_and_records_where_it_ran(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in SET:
        monkeypatch.delenv(k, raising=False)
    hf_logging.enable_default_handler()  # as in a fresh worker
    hf_logging.disable_propagation()
    hf_logging.enable_progress_bar()
    handlers = list(logging.getLogger().handlers)
    log_file = tmp_path / "new" / "folder" / "a.txt"  # its folder is made
    result = _task(_work, Item("a", 7), str(log_file))
    assert result == {
        "value": 7,
        "where": "ray task",
        "env": {"TRL_EXPERIMENTAL_SILENCE": "1", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"},
        "bars": False,
        "warnings_logged": True,
        "ran_on": {"node": ray.get_runtime_context().get_node_id()[:12], "gpu_ids": []},
    }
    assert len(result["ran_on"]["node"]) == 12
    text = log_file.read_text(encoding="utf-8")
    records = [line.split(" ", 2)[2] for line in text.splitlines() if line[:2] == "20"]  # "2026-... 13:00:00,1 ..."
    assert records[:2] == [
        "INFO rlsuite.test_task: working on a",
        "WARNING transformers.test_task: a transformers warning",
    ]
    assert len(records) == 2
    assert logging.getLogger().handlers == handlers  # its handler removed ...
    assert logging.getLogger().level == logging.INFO
    hf = hf_logging._get_library_root_logger()
    # ... transformers' records routed to it, its own handler off
    assert hf.propagate and hf_logging._default_handler not in hf.handlers


@pytest.mark.usefixtures("local_ray", "global_logging")
def test_task_without_a_log_file_leaves_logging_alone(tmp_path: Path) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hf = hf_logging._get_library_root_logger()
    hf_handlers = list(hf.handlers)
    result = _task(lambda item, where: {"where": where, "ran_on": {"kept": True}}, Item("b", 1), None)
    assert result["where"] == "ray task" and result["ran_on"]["kept"] is True and result["ran_on"]["gpu_ids"] == []
    assert root.handlers == handlers and root.level == level and hf.handlers == hf_handlers
    assert not list(tmp_path.iterdir())


@pytest.mark.usefixtures("local_ray", "global_logging")
def test_task_removes_its_handler_when_the_work_fails(tmp_path: Path) -> None:
    handlers = list(logging.getLogger().handlers)

    def refuse(item: Item, where: str) -> dict[str, Any]:
        raise UsageError(f"{item.name} refused in a {where}")

    with pytest.raises(UsageError, match=r"^c refused in a ray task$"):
        _task(refuse, Item("c", 0), str(tmp_path / "c.txt"))
    assert logging.getLogger().handlers == handlers
    assert (tmp_path / "c.txt").is_file()


@pytest.mark.usefixtures("local_ray", "global_logging")
def test_task_keeps_the_users_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in zip(SET, ("yes", "true", "0"), strict=True):
        monkeypatch.setenv(k, v)
    result = _task(lambda item, where: {"env": {k: os.environ.get(k) for k in SET}}, Item("k", 0), None)
    assert result["env"] == dict(zip(SET, ("yes", "true", "0"), strict=True))


@pytest.mark.usefixtures("local_ray", "global_logging")
def test_task_writes_its_log_file_in_utf_8_whatever_the_locale(tmp_path: Path) -> None:
    """The handler a task adds opens its file as UTF-8 (not the locale's encoding): a record in any script is
    written as UTF-8."""

    def note(item: Item, where: str) -> dict[str, Any]:
        logging.getLogger("rlsuite.test_task").info("température ≥ 30 °C")
        handlers = logging.getLogger().handlers
        return {"encodings": [h.encoding for h in handlers if getattr(h, "baseFilename", None) == str(log_file)]}

    log_file = tmp_path / "u.txt"
    result = _task(note, Item("u", 0), str(log_file))
    assert result["encodings"] == ["utf-8"]
    assert "INFO rlsuite.test_task: température ≥ 30 °C" in (tmp_path / "u.txt").read_text(encoding="utf-8")


@pytest.mark.usefixtures("local_ray", "global_logging")
def test_task_records_the_gpus_ray_gave_it_as_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task on a GPU node records Ray's GPU ids as strings (this machine has none to give: Ray's answer for a
    task holding GPUs 0 and 2 stands in; tests/alignment/test_workers_mutants.py sees a real one on a cluster)."""
    monkeypatch.setattr(ray, "get_gpu_ids", lambda: [0, 2])
    result = _task(lambda item, where: {}, Item("g", 0), None)
    assert result["ran_on"]["gpu_ids"] == ["0", "2"]
