"""rlsuite.app.console, exactly: which process prints, which records reach the console and which only log.txt (and in
what format), what setup() changes and keeps, the live display's tasks and stage line, a job's result lines, the
wrapping of a result, and the filter that keeps a library's own result lines off the console.
Every test puts the process-global logging state back as it found it."""

from __future__ import annotations

import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlsuite.app import console
from rlsuite.app.console import (
    RESULT_WIDTH,
    THIRD_PARTY,
    Job,
    RichReporter,
    _DropInfoOf,
    _LogFile,
    _OwnFilter,
    _Stderr,
    is_main_process,
    log_to,
    quiet_third_party,
    result,
    results_printed_by_command,
    setup,
    wrap,
)
from rlsuite.common import progress


@pytest.fixture(autouse=True)
def global_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The root logger, the rlsuite logger, warnings, the reporter and console's own state, restored after."""
    root, own = logging.getLogger(), logging.getLogger("rlsuite")
    saved = (list(root.handlers), root.level, own.level, dict(console._state), progress.get_reporter())
    for name in ("RANK", "LOCAL_RANK", "HF_HUB_DISABLE_PROGRESS_BARS", "TRL_EXPERIMENTAL_SILENCE"):
        monkeypatch.delenv(name, raising=False)
    with warnings.catch_warnings():
        yield
    for handler in root.handlers[:]:
        if handler not in saved[0]:
            root.removeHandler(handler)
            handler.close()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    own.setLevel(saved[2])
    console._state.clear()
    console._state.update(saved[3])
    logging.captureWarnings(False)
    progress.set_reporter(saved[4] if not isinstance(saved[4], progress.NullReporter) else None)
    Job._open.clear()


def _record(name: str, level: int, message: str = "m") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def _ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_rlsuite", False)]


def test_names() -> None:
    assert RESULT_WIDTH == 79
    assert THIRD_PARTY == ("transformers", "trl", "datasets", "accelerate", "torch", "peft", "huggingface_hub",
                           "stable_baselines3", "gymnasium", "matplotlib", "PIL", "py.warnings", "urllib3",
                           "filelock")  # fmt: skip


@pytest.mark.parametrize(("rank", "local", "main"), [
    (None, None, True), ("0", "0", True), ("", "", True), ("1", None, False), (None, "1", False), ("0", "2", False),
    ("3", "0", False),
])  # fmt: skip
def test_only_rank_0_is_the_main_process(monkeypatch: pytest.MonkeyPatch, rank: Any, local: Any, main: bool) -> None:
    for name, value in (("RANK", rank), ("LOCAL_RANK", local)):
        if value is not None:
            monkeypatch.setenv(name, value)
    assert is_main_process() is main


def test_own_filter_passes_rlsuite_and_errors() -> None:
    keep = _OwnFilter()
    assert keep.filter(_record("rlsuite", logging.INFO)) and keep.filter(_record("rlsuite.app.x", logging.DEBUG))
    assert not keep.filter(_record("rlsuitex", logging.INFO)) and not keep.filter(_record("torch", logging.WARNING))
    assert keep.filter(_record("torch", logging.ERROR)) and keep.filter(_record("x", logging.CRITICAL))


def test_stderr_handler_writes_to_stderr_as_it_is_now(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = _Stderr()
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    handler.emit(_record("rlsuite", logging.INFO, "one"))
    monkeypatch.setattr(sys, "stderr", second)
    handler.stream = io.StringIO()  # ignored
    handler.emit(_record("rlsuite", logging.INFO, "two"))
    assert (first.getvalue(), second.getvalue()) == ("one\n", "two\n") and handler.stream is second


def test_setup_prints_rlsuites_lines_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    setup()
    (handler,) = _ours()
    assert isinstance(handler, _Stderr) and handler.level == logging.NOTSET
    assert handler.formatter is not None and handler.formatter._fmt == "%(message)s"
    assert [type(f) for f in handler.filters] == [_OwnFilter]
    assert logging.getLogger().level == logging.INFO and logging.getLogger("rlsuite").level == logging.INFO
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1" and os.environ["TRL_EXPERIMENTAL_SILENCE"] == "1"
    logging.getLogger("rlsuite.test").info("shown")
    logging.getLogger("rlsuite.test").debug("not shown")
    logging.getLogger("thirdparty.test").warning("not on the console")
    logging.getLogger("thirdparty.test").error("an error from anywhere")
    warnings.warn("a warning", UserWarning, stacklevel=1)  # captured as a py.warnings record: not on the console
    assert capsys.readouterr().err == "shown\nan error from anywhere\n"
    setup()  # again: one console handler, not two
    assert len(_ours()) == 1


def test_setup_verbose_shows_everything_with_names(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "0")  # the user's own setting is kept
    setup(verbose=True)
    (handler,) = _ours()
    assert handler.formatter is not None and handler.formatter._fmt == "%(levelname)s %(name)s: %(message)s"
    assert handler.filters == [] and console._state["verbose"] is True
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "0"
    logging.getLogger("thirdparty.test").warning("third party")
    logging.getLogger("rlsuite.test").info("own")
    assert capsys.readouterr().err == "WARNING thirdparty.test: third party\nINFO rlsuite.test: own\n"
    setup()
    assert console._state["verbose"] is False


def test_setup_on_another_rank_prints_errors_only(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("RANK", "1")
    setup()
    (handler,) = _ours()
    assert handler.level == logging.ERROR
    logging.getLogger("rlsuite.test").info("rank 1's result")
    logging.getLogger("rlsuite.test").error("rank 1 failed")
    assert capsys.readouterr().err == "rank 1 failed\n"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_setup_chooses_the_reporter(monkeypatch: pytest.MonkeyPatch) -> None:
    progress.set_reporter(None)
    setup()  # not a terminal: no display
    assert isinstance(progress.get_reporter(), progress.NullReporter)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    setup()
    assert isinstance(progress.get_reporter(), RichReporter)
    monkeypatch.setenv("RANK", "2")
    setup()  # a terminal, but not rank 0
    assert isinstance(progress.get_reporter(), progress.NullReporter)
    monkeypatch.delenv("RANK")
    mine = progress.TqdmReporter() if hasattr(progress, "TqdmReporter") else object()
    progress.set_reporter(mine)  # type: ignore[arg-type]
    setup()  # a reporter the caller installed stays
    assert progress.get_reporter() is mine


def test_quiet_third_party_routes_transformers_and_datasets() -> None:
    import datasets
    from transformers.utils import logging as hf_logging

    hf = hf_logging._get_library_root_logger()
    hf_logging.enable_default_handler()
    hf_logging.disable_propagation()
    hf_logging.enable_progress_bar()
    datasets.enable_progress_bars()
    logging.getLogger("datasets").addHandler(logging.NullHandler())
    datasets.utils.logging.disable_propagation()
    try:
        quiet_third_party()
        assert hf.propagate and hf_logging._default_handler not in hf.handlers
        assert not hf_logging.is_progress_bar_enabled()
        assert not datasets.is_progress_bar_enabled() and logging.getLogger("datasets").handlers == []
        assert logging.getLogger("datasets").propagate
    finally:
        datasets.enable_progress_bars()


def test_log_file_drops_only_os_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A record log.txt cannot take (a full disk) is dropped quietly; any other failure is reported as logging does."""
    handler = _LogFile(tmp_path / "log.txt", encoding="utf-8")
    try:
        raise OSError(28, "No space left on device")
    except OSError:
        handler.handleError(_record("rlsuite", logging.INFO))
    assert capsys.readouterr().err == ""
    try:
        raise ValueError("a bug")
    except ValueError:
        handler.handleError(_record("rlsuite", logging.INFO))
    assert "--- Logging error ---" in capsys.readouterr().err
    handler.close()


def test_log_to_writes_every_record_to_log_txt_once(tmp_path: Path) -> None:
    setup()
    first = log_to(tmp_path / "new" / "run")
    assert first == tmp_path / "new" / "run" / "log.txt" and first.is_file()
    handler = console._state["file_handler"]
    assert isinstance(handler, _LogFile) and getattr(handler, "_rlsuite", False)
    assert handler.encoding == "utf-8"  # whatever the locale's encoding
    assert handler.formatter is not None and handler.formatter._fmt == "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.getLogger("thirdparty.test").warning("to the file")
    logging.getLogger("rlsuite.test").debug("DEBUG is left out")
    second = log_to(tmp_path / "other")  # the file handler moves: the first one is closed
    assert handler not in logging.getLogger().handlers and handler.stream is None
    logging.getLogger("rlsuite.test").info("to the second file")
    lines = first.read_text(encoding="utf-8").splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == ["WARNING thirdparty.test: to the file"]
    assert second.read_text(encoding="utf-8").splitlines()[0].endswith("INFO rlsuite.test: to the second file")
    assert sum(isinstance(h, _LogFile) for h in logging.getLogger().handlers) == 1


def test_rich_reporter_stage_line_and_tasks() -> None:
    reporter = RichReporter()
    reporter.stop(object())  # type: ignore[arg-type]  # nothing started: nothing to stop
    reporter.close()
    try:
        reporter.stage(2, 3, "reward", outer="1/2 compare > ")
        bar = reporter._progress
        (stage,) = bar.tasks
        assert (stage.description, stage.total, stage.completed) == ("1/2 compare > stage 2/3: reward", 3, 1)
        reporter.stage(3, 4, "dpo")
        assert (stage.description, stage.total, stage.completed) == ("stage 3/4: dpo", 4, 2) and len(bar.tasks) == 1
        task = reporter.start("training", 10, "steps")
        assert reporter._open == 1 and bar.tasks[1].description == "training" and bar.tasks[1].total == 10
        task.advance()
        task.advance(2)
        assert bar.tasks[1].completed == 3
        task.update(completed=7, total=20, loss=0.5)
        assert (bar.tasks[1].completed, bar.tasks[1].total) == (7, 20)
        reporter.stop(task)
        assert reporter._open == 0 and [t.description for t in bar.tasks] == ["stage 3/4: dpo"]
    finally:
        reporter.close()
    assert reporter._progress is None and reporter._stage is None
    reporter.stage(1, 1, "again")  # a new display after close
    assert reporter._progress is not bar and reporter._progress.tasks[0].completed == 0
    reporter.close()


def test_a_job_prints_one_aligned_line_per_stage(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="rlsuite.app"), Job(["sft", "reward model"]) as job:
        assert job.width == 12 and Job._open == [job] and job.log.name == "rlsuite.app"
        job.done("sft", "loss 0.69 -> 0.41")
        job.done("reward model", "accuracy 0.9")
    assert [r.getMessage() for r in caplog.records] == ["sft           loss 0.69 -> 0.41", "reward model  accuracy 0.9"]
    assert Job._open == []
    assert Job(["x" * 40]).width == 34 and Job([]).width == 0


def test_a_jobs_stage_reaches_the_display_with_its_outer_jobs_counters() -> None:
    reporter = RichReporter()
    progress.set_reporter(reporter)
    try:
        with Job(["gridworld", "align"]) as outer:
            outer.stage("align")
            assert outer.current == "align" and outer._counter("align") == "2/2" and outer._counter("?") == "2/2"
            with Job(["sft", "dpo", "report"]) as inner:
                inner.stage("dpo")
                assert reporter._progress.tasks[0].description == "2/2 align > stage 2/3: dpo"
                inner.stage("not a stage")  # counted as the last
                assert reporter._progress.tasks[0].description == "2/2 align > stage 3/3: not a stage"
            assert reporter._progress is not None  # the outer job still runs
        assert reporter._progress is None  # the outermost job's end closes the display
    finally:
        reporter.close()
    job = Job(["a"])
    job.stage("a")  # no display installed: only remembered
    assert job.current == "a"


@pytest.mark.parametrize(("line", "wrapped"), [
    ("short", "short"),
    ("word " * 20, "word " * 15 + "word\n  " + "word " * 3 + "word"),
    ("max |v - v*| " + "x" * 70, "max |v - v*|\n  " + "x" * 70),
    ("a " + "y" * 90, "a\n  " + "y" * 90),  # a long word is not broken
    ("b " * 36 + "well-known-term", ("b " * 36).rstrip() + "\n  well-known-term"),  # not broken at its hyphens
])  # fmt: skip
def test_wrap(line: str, wrapped: str) -> None:
    assert wrap(line) == wrapped.rstrip(" ")


def test_wrap_width_and_bars() -> None:
    assert wrap("aa bb cc", width=5) == "aa bb\n  cc"
    assert wrap("|a b| |c d|", width=5) == "|a b|\n  |c d|"
    assert "\u00a0" not in wrap("|v - v*| " * 20)
    assert wrap("x" * 79 + " y") == "x" * 79 + "\n  y" and wrap("x" * 77 + " y") == "x" * 77 + " y"


def test_result_prints_on_rank_0_only(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    result("word " * 20)
    assert capsys.readouterr().out == wrap("word " * 20) + "\n"
    monkeypatch.setenv("LOCAL_RANK", "1")
    result("not printed")
    assert capsys.readouterr().out == ""


def test_drop_info_of_a_prefix() -> None:
    drop = _DropInfoOf("rlsuite.agents")
    assert not drop.filter(_record("rlsuite.agents", logging.INFO))
    assert not drop.filter(_record("rlsuite.agents.tabular", logging.INFO))
    assert drop.filter(_record("rlsuite.agents.x", logging.WARNING)) and drop.filter(_record("rlsuite.app", 20))
    assert drop.filter(_record("rlsuite.agentsx", logging.INFO)) and drop.prefix == "rlsuite.agents"


def test_results_printed_by_the_command_go_to_log_txt_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup()
    path = log_to(tmp_path)
    capsys.readouterr()
    with results_printed_by_command("rlsuite.agents"):
        logging.getLogger("rlsuite.agents.td").info("a library result")
        logging.getLogger("rlsuite.agents.td").warning("a library warning")
        logging.getLogger("rlsuite.app").info("the command's line")
    logging.getLogger("rlsuite.agents.td").info("after the block")
    assert capsys.readouterr().err == "a library warning\nthe command's line\nafter the block\n"
    logged = [line.split(": ", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()]
    assert logged == ["a library result", "a library warning", "the command's line", "after the block"]
    assert all(not h.filters or isinstance(h.filters[0], _OwnFilter) for h in _ours())  # the filter removed


def test_setup_leaves_other_handlers_and_captures_warnings() -> None:
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    setup()
    assert other in logging.getLogger().handlers  # only rlsuite's own handlers are replaced
    assert warnings.showwarning is logging._showwarning  # type: ignore[attr-defined]  # warnings become records


def test_torch_cpp_log_level_only_before_torch_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    import torch  # noqa: F401  # loaded here: too late for the setting, which is then left alone

    monkeypatch.delenv("TORCH_CPP_LOG_LEVEL", raising=False)
    setup()
    assert "TORCH_CPP_LOG_LEVEL" not in os.environ
    code = ("import os, sys; from rlsuite.app import console; assert 'torch' not in sys.modules; "
            "console.setup(verbose={}); print(os.environ.get('TORCH_CPP_LOG_LEVEL'))")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "TORCH_CPP_LOG_LEVEL"}
    shown = [subprocess.run([sys.executable, "-c", code.format(v)], capture_output=True, text=True, env=env, check=True)
             .stdout.strip() for v in (False, True)]  # fmt: skip
    assert shown == ["ERROR", "None"]  # set by a quiet setup, not by a verbose one


def test_result_is_flushed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    class Out(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            Out.flushes += 1
            super().flush()

    out = Out()
    monkeypatch.setattr(sys, "stdout", out)
    result("done")
    assert out.getvalue() == "done\n" and Out.flushes == 1


def test_the_display_draws_on_stderr_and_clears_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    terminal = io.StringIO()
    monkeypatch.setattr(sys, "stderr", terminal)
    reporter = RichReporter()
    try:
        reporter.stage(1, 2, "sft")
        bar = reporter._progress
        assert [type(c) for c in bar.columns] == [TextColumn, BarColumn, MofNCompleteColumn, TimeElapsedColumn,
                                                  TimeRemainingColumn]  # fmt: skip
        assert bar.columns[0].text_format == "[bold]{task.description}"
        assert bar.console.file is terminal and bar.live.transient is True
        first, second = reporter.start("a", 3, "step"), reporter.start("b", None, "step")
        assert reporter._open == 2 and bar.tasks[2].total is None
        reporter.stop(first)
        reporter.stop(second)
        assert reporter._open == 0
    finally:
        reporter.close()


def test_outer_jobs_show_their_own_stage_in_the_display() -> None:
    reporter = RichReporter()
    progress.set_reporter(reporter)
    try:
        with Job(["tour a", "tour b"]) as top:
            top.stage("tour a")
            assert top._counter("tour a") == "1/2"
            with Job(["compare x", "compare y"]) as middle, Job(["sft"]) as inner:  # middle: no stage begun yet
                inner.stage("sft")
                assert reporter._progress.tasks[0].description == "1/2 tour a > 2/2  > stage 1/1: sft"
                middle.stage("compare x")
                inner.stage("sft")
                assert reporter._progress.tasks[0].description == "1/2 tour a > 1/2 compare x > stage 1/1: sft"
    finally:
        reporter.close()


def test_a_log_txt_failure_of_another_kind_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    handler = _LogFile(tmp_path / "log.txt", encoding="utf-8")
    try:
        raise TypeError("a bug")
    except TypeError:
        handler.handleError(_record("rlsuite.x", logging.INFO, "the message"))
    handler.close()
    err = capsys.readouterr().err
    assert "TypeError: a bug" in err and "Message: 'the message'" in err


def test_results_filter_touches_only_rlsuites_console_handler(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    setup()
    log_to(tmp_path)
    with caplog.at_level(logging.INFO), results_printed_by_command("rlsuite.agents"):
        logging.getLogger("rlsuite.agents.td").info("a library result")
    assert [r.getMessage() for r in caplog.records] == ["a library result"]  # another handler still gets it


def test_log_txt_is_utf_8(tmp_path: Path) -> None:
    path = log_to(tmp_path)
    logging.getLogger("rlsuite.test").warning("epsilon-greedy: ε = 0.1 → v*")
    assert path.read_bytes().decode("utf-8").endswith("WARNING rlsuite.test: epsilon-greedy: ε = 0.1 → v*\n")
