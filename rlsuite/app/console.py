"""What a user sees: rlsuite's own messages on the console, third-party chatter in a log file,
one progress display for the whole job.

- :func:`setup` (called once by the CLI): rlsuite's loggers print their INFO lines plainly on
  stderr; other libraries' logs and Python warnings (transformers, TRL, datasets, accelerate,
  torch, ...) go only to ``log.txt`` in the job's output folder (see :func:`log_to`), or to the
  console as well with ``--verbose``. Errors from anywhere still reach the console.
- :class:`RichReporter`: installed as the library's progress reporter; one live display with the
  job's stage (k of n), the current task's bar, elapsed and remaining time. It draws only on a
  terminal; in a pipe or a log nothing but the one-line results appears.
- Under ``accelerate``/``torchrun`` only the main process (rank 0) prints.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from rlsuite.common import progress

THIRD_PARTY = ("transformers", "trl", "datasets", "accelerate", "torch", "peft", "huggingface_hub",
               "stable_baselines3", "gymnasium", "matplotlib", "PIL", "py.warnings", "urllib3", "filelock")  # fmt: skip

_state: dict[str, Any] = {"verbose": False, "file_handler": None}


def is_main_process() -> bool:
    """Rank 0 under accelerate/torchrun, or a plain process."""
    return os.environ.get("RANK", "0") in ("", "0") and os.environ.get("LOCAL_RANK", "0") in ("", "0")


class _OwnFilter(logging.Filter):
    """Passes rlsuite's records (and anything at ERROR or above)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == "rlsuite" or record.name.startswith("rlsuite.") or record.levelno >= logging.ERROR


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler that writes to ``sys.stderr`` as it is when a record comes (a redirect made later, a test's
    capture), not to the stream of the moment it was set up, which may be closed by then."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup(verbose: bool = False) -> None:
    """Route logs: rlsuite INFO to stderr; third-party logs and warnings to log.txt (stderr too if verbose)."""
    _state["verbose"] = verbose
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_rlsuite", False):
            root.removeHandler(handler)
    console = _Stderr()
    console.setFormatter(logging.Formatter("%(message)s" if not verbose else "%(levelname)s %(name)s: %(message)s"))
    console._rlsuite = True  # type: ignore[attr-defined]
    if not verbose:
        console.addFilter(_OwnFilter())
    if not is_main_process():
        console.setLevel(logging.ERROR)
    root.addHandler(console)
    root.setLevel(logging.INFO)
    logging.getLogger("rlsuite").setLevel(logging.INFO)
    logging.captureWarnings(True)
    warnings.simplefilter("default")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    if not verbose and "torch" not in sys.modules:  # read when torch loads: set before, or it has no effect
        # torch's C++ warnings ("[W reducer.cpp] find_unused_parameters=True ..." under accelerate launch)
        # bypass Python's logging (no log.txt can take them): shown with --verbose only, errors always
        os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")
    quiet_third_party()
    current = progress.get_reporter()
    if not isinstance(current, progress.NullReporter | RichReporter):
        return  # a reporter the caller installed (a notebook's, a test's) stays
    if is_main_process() and sys.stderr.isatty():
        progress.set_reporter(RichReporter())
    else:
        progress.set_reporter(None)


def quiet_third_party() -> None:
    """transformers and datasets install their own stderr handlers and bars: send their records to
    ours instead. Call it again after importing them (commands that use them do)."""
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_default_handler()
        hf_logging.enable_propagation()
        hf_logging.disable_progress_bar()
    if "datasets" in sys.modules:
        import datasets

        datasets.disable_progress_bars()
        logging.getLogger("datasets").handlers.clear()
        datasets.utils.logging.enable_propagation()


class _LogFile(logging.FileHandler):
    """``log.txt``: a record it cannot write (a full disk, a file-size limit) is dropped quietly; the
    write that fails in the command itself ends it with one line naming the file."""

    def handleError(self, record: logging.LogRecord) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            super().handleError(record)


def log_to(folder: str | os.PathLike[str]) -> Path:
    """Also write every log record (rlsuite's and third-party, DEBUG excluded) to ``folder/log.txt``."""
    path = Path(folder) / "log.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    old = _state.get("file_handler")
    if old is not None:
        root.removeHandler(old)
        old.close()
    handler = _LogFile(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._rlsuite = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    _state["file_handler"] = handler
    quiet_third_party()
    return path


class RichReporter:
    """One live display: the job line (stage k of n) and a bar per running task."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._stage: Any = None
        self._open = 0

    def _ensure(self) -> Any:
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            self._progress.start()
        return self._progress

    def stage(self, index: int, total: int, name: str, outer: str = "") -> None:
        """The job's line: ``stage index/total: name`` (after ``outer``, the enclosing job's own counter);
        its bar counts this job's stages, so each level shows one counter of its own."""
        bar = self._ensure()
        text = f"{outer}stage {index}/{total}: {name}"
        if self._stage is None:
            self._stage = bar.add_task(text, total=total, completed=index - 1)
        else:
            bar.update(self._stage, description=text, total=total, completed=index - 1)

    def start(self, description: str, total: float | None, unit: str) -> progress.Task:
        bar = self._ensure()
        task_id = bar.add_task(description, total=total)
        self._open += 1

        class _Task:
            def advance(self, n: float = 1) -> None:
                bar.advance(task_id, n)

            def update(self, completed: float | None = None, total: float | None = None, **info: Any) -> None:
                bar.update(task_id, completed=completed, total=total)

            id = task_id

        return _Task()

    def stop(self, task: progress.Task) -> None:
        if self._progress is None:
            return
        self._progress.remove_task(task.id)  # type: ignore[attr-defined]
        self._open -= 1

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._stage = None


class Job:
    """A job of named stages: the display's top line, and one result line per finished stage.

    ``with Job(["sft", "reward", "dpo"]) as job: job.stage("sft"); ...; job.done("sft", "loss 0.69 -> 0.41")``
    """

    _open: list[Job] = []  # the jobs running now, outermost first (a tour section runs align compare's job)

    def __init__(self, stages: list[str]) -> None:
        self.stages = list(stages)
        self.log = logging.getLogger("rlsuite.app")
        self.width = min(max((len(s) for s in self.stages), default=0), 34)
        self.current = ""

    def _counter(self, name: str) -> str:
        index = self.stages.index(name) + 1 if name in self.stages else len(self.stages)
        return f"{index}/{len(self.stages)}"

    def stage(self, name: str) -> None:
        self.current = name
        reporter = progress.get_reporter()
        if isinstance(reporter, RichReporter):
            index = self.stages.index(name) + 1 if name in self.stages else len(self.stages)
            outer = "".join(f"{j._counter(j.current)} {j.current} > " for j in Job._open if j is not self)
            reporter.stage(index, len(self.stages), name, outer)

    def done(self, name: str, result: str) -> None:
        self.log.info("%s", wrap(f"{name:<{self.width}}  {result}"))

    def __enter__(self) -> Job:
        Job._open.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        Job._open.remove(self)
        reporter = progress.get_reporter()
        if isinstance(reporter, RichReporter) and not Job._open:
            reporter.close()


RESULT_WIDTH = 79


def wrap(line: str, width: int = RESULT_WIDTH) -> str:
    """A result line folded at word boundaries to ``width`` columns (the rest indented by two)."""
    import re
    import textwrap

    kept = re.sub(r"\|[^|]*\|", lambda m: m.group(0).replace(" ", "\u00a0"), line)  # |v - v*| stays whole
    text = textwrap.fill(kept, width=width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)
    return text.replace("\u00a0", " ")


def result(line: str) -> None:
    """Print a command's one result (stdout, wrapped to fit an 80-column terminal); only rank 0 prints."""
    if is_main_process():
        print(wrap(line), flush=True)


class _DropInfoOf(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name == self.prefix or record.name.startswith(self.prefix + ".")
        return not own or record.levelno >= logging.WARNING


class results_printed_by_command:
    """While the block runs, INFO records of ``logger`` (a library's own result lines) reach ``log.txt``
    only, not the console: the command prints those results itself, once. Warnings still show."""

    def __init__(self, logger: str) -> None:
        self.filter = _DropInfoOf(logger)
        self.handlers: list[logging.Handler] = []

    def __enter__(self) -> None:
        self.handlers = [h for h in logging.getLogger().handlers
                         if getattr(h, "_rlsuite", False) and h is not _state.get("file_handler")]  # fmt: skip
        for handler in self.handlers:
            handler.addFilter(self.filter)

    def __exit__(self, *exc: object) -> None:
        for handler in self.handlers:
            handler.removeFilter(self.filter)
