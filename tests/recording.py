"""A progress reporter for tests: it keeps what the library told it (rlsuite.common.progress's hook)."""

from __future__ import annotations

import contextlib
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
