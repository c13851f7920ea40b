"""transformers Trainers (TRL's included) made quiet: rlsuite's progress hook instead of tqdm and printing.

Used by the alignment trainers and by ``vision grpo``; transformers is imported only when a trainer is
quietened, never at import.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from rlsuite.common import progress

metrics_log = logging.getLogger("trl.metrics")  # TRL's metric dicts: log.txt, or the console with --verbose


def quiet_trainer(trainer: Any, task: str, log_prefix: str, total: int | None = None) -> None:
    """Replace ``trainer``'s printing and tqdm callbacks by one that drives rlsuite's progress hook (a task
    named ``task`` of ``total`` steps, the trainer's ``max_steps`` when None) and logs each metric dict to the
    ``trl.metrics`` logger as ``"<log_prefix> step N: {...}"`` (the main process only)."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class Progress(TrainerCallback):
        def __init__(self) -> None:
            self._task: Any = None
            self._stack = contextlib.ExitStack()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.is_world_process_zero:
                steps = total or state.max_steps or None
                self._task = self._stack.enter_context(progress.task(task, total=steps, unit="step"))
                self._task.update(completed=state.global_step)

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self._task is not None:
                self._task.update(completed=state.global_step)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if state.is_world_process_zero and logs:
                metrics_log.info("%s step %d: %s", log_prefix, state.global_step, json.dumps(logs, default=str))

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self._stack.close()
            self._task = None

    for cb in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(cb)
    trainer.add_callback(Progress())
