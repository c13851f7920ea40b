"""Progress reporting: nothing shown by default, one installed reporter sees every task start, move and stop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rlsuite.common import progress


class Recorder:
    """A reporter that writes down what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def start(self, description: str, total: float | None, unit: str) -> progress.Task:
        self.events.append(("start", description, total, unit))
        recorder = self

        class _Task:
            def advance(self, n: float = 1) -> None:
                recorder.events.append(("advance", n))

            def update(self, completed: float | None = None, total: float | None = None, **info: Any) -> None:
                recorder.events.append(("update", completed, total, info))

        return _Task()

    def stop(self, task: progress.Task) -> None:
        self.events.append(("stop",))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    previous = progress.set_reporter(rec)
    yield rec
    progress.set_reporter(previous)


def test_the_default_shows_nothing() -> None:
    assert isinstance(progress.get_reporter(), progress.NullReporter)
    with progress.task("work", total=3) as bar:
        bar.advance()
        bar.update(completed=2, total=3, loss=1.0)
    assert progress.NullReporter().stop(bar) is None


def test_a_task_starts_moves_and_stops_once(recorder: Recorder) -> None:
    assert progress.get_reporter() is recorder
    with progress.task("q_learning", total=4, unit="batch") as bar:
        bar.advance()
        bar.advance(2)
        bar.update(completed=4, loss=0.5)
    with progress.task("plain") as bar:
        pass
    assert recorder.events == [("start", "q_learning", 4, "batch"), ("advance", 1), ("advance", 2),
                               ("update", 4, None, {"loss": 0.5}), ("stop",),
                               ("start", "plain", None, "step"), ("stop",)]  # fmt: skip


def test_a_task_stops_when_its_work_raises(recorder: Recorder) -> None:
    with pytest.raises(KeyError), progress.task("boom", total=1):
        raise KeyError("x")
    assert recorder.events == [("start", "boom", 1, "step"), ("stop",)]


def test_set_reporter_returns_the_one_it_replaces_and_none_means_nothing(recorder: Recorder) -> None:
    other = Recorder()
    assert progress.set_reporter(other) is recorder
    assert progress.set_reporter(None) is other
    assert isinstance(progress.get_reporter(), progress.NullReporter)


def test_tqdm_reporter_draws_one_bar_per_task(capsys: pytest.CaptureFixture[str]) -> None:
    reporter = progress.TqdmReporter()
    bar = reporter.start("train", 10, "ep")
    bar.advance()
    bar.advance(2)
    bar.update()
    assert capsys.readouterr().err.rsplit("\r", 1)[-1].startswith("train:  30%|")
    bar.update(total=20)
    assert " 3/20 " in capsys.readouterr().err.rsplit("\r", 1)[-1]
    bar.update(completed=7, loss=0.25)
    last = capsys.readouterr().err.rsplit("\r", 1)[-1]
    assert " 7/20 " in last and "ep/s" in last and last.rstrip().endswith("loss=0.25]")
    reporter.stop(bar)
    assert capsys.readouterr().err.endswith("\r")  # leave=False: the bar is wiped when it stops
