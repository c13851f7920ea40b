"""No processes left behind: Ray (or any helper processes) stopped on SIGINT, SIGTERM and the driver's death.

:func:`ray_session` starts a local Ray instance (or connects to one) and always ends it:

- normal end, an exception or Ctrl-C (SIGINT): ``ray.shutdown()`` in a ``finally``;
- SIGTERM: turned into ``SystemExit(143)`` while the session is open, so the same ``finally`` runs;
- ``kill -9`` of the driver: Ray's own kernel fate-sharing (``prctl(PR_SET_PDEATHSIG)``) stops the
  raylet and GCS, but not the agents they start (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``).
  A small watchdog process notes every process started under the driver while the session is open
  and, when the driver dies (its pipe closes without a goodbye), kills those still running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

WATCHDOG = r"""
import os, select, signal, sys
driver, me = int(sys.argv[1]), os.getpid()
def tree():
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            kids.setdefault(int(fields[1]), []).append((int(d), fields[19]))
    found, stack = {}, [driver]
    while stack:
        for pid, start in kids.get(stack.pop(), []):
            if pid != me and pid not in found:
                found[pid] = start
                stack.append(pid)
    return found
before, seen = tree(), {}
sys.stdout.write("ready\n"); sys.stdout.flush()
while True:
    seen.update({p: s for p, s in tree().items() if before.get(p) != s})
    ready, _, _ = select.select([sys.stdin], [], [], 0.5)
    if ready:
        if sys.stdin.read(1) == "x":  # the driver's goodbye: it ended the session itself
            sys.exit(0)
        break  # EOF: the driver died
for pid, start in seen.items():
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[19] == start:
                os.kill(pid, signal.SIGKILL)
    except (OSError, IndexError):
        pass
"""


@contextlib.contextmanager
def reap_on_death() -> Iterator[None]:
    """Kill the processes started under this one during the block if this process dies (``kill -9``)."""
    if not sys.platform.startswith("linux"):  # pragma: no cover - /proc is Linux's
        yield
        return
    watchdog = subprocess.Popen(
        [sys.executable, "-c", WATCHDOG, str(os.getpid())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True, text=True,
    )  # fmt: skip
    assert watchdog.stdout is not None and watchdog.stdin is not None
    watchdog.stdout.readline()  # it has noted what ran before the block
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            watchdog.stdin.write("x")
            watchdog.stdin.close()
        watchdog.wait()
        watchdog.stdout.close()


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Within the block SIGTERM raises ``SystemExit(143)`` (so ``finally`` clauses run); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def ray_logs_to_root() -> None:
    """Ray's own log records (its start-up banner, the token-authentication warning) go to the root
    logger like every other library's, not to the stderr handler Ray installs on its ``ray`` logger at
    import: the application decides where they go (rlsuite's CLI: the run's log.txt)."""
    ray_logger = logging.getLogger("ray")
    for handler in list(ray_logger.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            ray_logger.removeHandler(handler)
    ray_logger.propagate = True


@contextlib.contextmanager
def ray_session(ray: Any, **init_kwargs: Any) -> Iterator[bool]:
    """``ray.init(**init_kwargs)`` unless Ray is already initialised (then the caller's instance is used
    and left alone); yields whether it started one here, and ends it on any exit (see the module).
    Ray's logs go to the root logger (:func:`ray_logs_to_root`); by default Ray does not configure
    logging again in ``init`` and the workers' output is not copied to the driver's console."""
    if ray.is_initialized():
        yield False
        return
    ray_logs_to_root()
    init_kwargs = {"configure_logging": False, "log_to_driver": False, **init_kwargs}
    with sigterm_as_exit(), reap_on_death():
        ray.init(**init_kwargs)
        try:
            yield True
        finally:
            ray.shutdown()
