"""Progress of long work, reported by the library and shown (or not) by the application.

Library code never prints. A loop that takes a while reports its progress here::

    from rlsuite.common import progress

    with progress.task("q_learning", total=n_batches, unit="batch") as bar:
        for t in range(n_batches):
            ...
            bar.advance()

By default nothing is shown. The application (``rlsuite`` CLI) installs a reporter with
:func:`set_reporter` that draws one display for the whole job (stage k of n, the current task's
bar, elapsed and remaining time). A library user can install one too, e.g. :class:`TqdmReporter`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Protocol


class Task(Protocol):
    def advance(self, n: float = 1) -> None: ...

    def update(self, completed: float | None = None, total: float | None = None, **info: Any) -> None: ...


class Reporter(Protocol):
    def start(self, description: str, total: float | None, unit: str) -> Task: ...

    def stop(self, task: Task) -> None: ...


class _NullTask:
    def advance(self, n: float = 1) -> None:
        pass

    def update(self, completed: float | None = None, total: float | None = None, **info: Any) -> None:
        pass


class NullReporter:
    """Shows nothing (the library's default)."""

    def start(self, description: str, total: float | None, unit: str) -> Task:
        return _NullTask()

    def stop(self, task: Task) -> None:
        pass


class TqdmReporter:
    """One tqdm bar per task (for scripts and notebooks)."""

    def start(self, description: str, total: float | None, unit: str) -> Task:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=description, unit=unit, leave=False)

        class _Bar:
            def advance(self, n: float = 1) -> None:
                bar.update(n)

            def update(self, completed: float | None = None, total: float | None = None, **info: Any) -> None:
                if total is not None:
                    bar.total = total
                if completed is not None:
                    bar.n = completed
                if info:
                    bar.set_postfix(info, refresh=False)
                bar.refresh()

            def close(self) -> None:
                bar.close()

        return _Bar()

    def stop(self, task: Task) -> None:
        task.close()  # type: ignore[attr-defined]


_reporter: Reporter = NullReporter()


def set_reporter(reporter: Reporter | None) -> Reporter:
    """Install ``reporter`` (``None``: show nothing); returns the one it replaces."""
    global _reporter
    previous = _reporter
    _reporter = reporter if reporter is not None else NullReporter()
    return previous


def get_reporter() -> Reporter:
    return _reporter


@contextlib.contextmanager
def task(description: str, total: float | None = None, unit: str = "step") -> Iterator[Task]:
    """A unit of long work with ``total`` steps of ``unit``; ``advance()`` it as it goes."""
    handle = _reporter.start(description, total, unit)
    try:
        yield handle
    finally:
        _reporter.stop(handle)
