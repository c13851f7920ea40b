"""A progress reporter for tests: it keeps what the library told it (rlsuite.common.progress's hook)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any, TypeVar

R = TypeVar("R")


class RecordingReporter:
    """Records ``start`` calls and every ``advance``; the agents tested with it only advance."""

    def __init__(self) -> None:
        self.started: list[tuple] = []
        self.advances: list[float] = []
        self.stopped = 0

    def start(self, description: str, total: float | None, unit: str) -> RecordingReporter:
        self.started.append((description, total, unit))
        return self

    def advance(self, n: float = 1) -> None:
        self.advances.append(n)

    def update(self, completed: float | None = None, total: float | None = None, **info: Any) -> None:
        raise AssertionError("the agents only advance their progress")

    def stop(self, task: Any) -> None:
        self.stopped += 1


@contextlib.contextmanager
def reporting_to(reporter: R) -> Iterator[R]:
    """``reporter`` installed as rlsuite's progress reporter within the block; the one before it comes back after."""
    from rlsuite.common import progress

    previous = progress.set_reporter(reporter)  # type: ignore[arg-type]
    try:
        yield reporter
    finally:
        progress.set_reporter(previous)


class Spy:
    """Stands in for a function: records each call's arguments and answers ``value`` (or ``value(*args, **kwargs)``
    when it is callable)."""

    def __init__(self, value: Any = None) -> None:
        self.value, self.calls = value, []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return self.value(*args, **kwargs) if callable(self.value) else self.value


class RecordingListener:
    """A comparison's listener (rlsuite.alignment.compare.run.Listener) that records every stage begun and finished."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def stage(self, name: str) -> None:
        self.calls.append(("stage", name))

    def done(self, name: str, result: str) -> None:
        self.calls.append(("done", name, result))


def close_new_log_handlers(before: list[logging.Handler]) -> None:
    """Remove and close the root logger's handlers that are not in ``before`` (what a command opened: its log file)."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
