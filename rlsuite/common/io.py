"""Writing outputs so that nothing is lost: atomic files, one writer per folder, finished markers.

- :func:`atomic_path` / :func:`write_json` / :func:`write_text`: a file or folder is written under a
  temporary name beside its target, flushed to disk, then renamed over it; a crash leaves the old
  version or nothing, never half a file.
- :class:`OutputDir`: the folder a job writes. It holds a lock file while a process writes it (a
  second writer is refused with the holder's process id), refuses a folder that holds finished
  results unless asked to overwrite or resume, and writes its ``finished.json`` marker last.
- :func:`newest_valid`: the newest checkpoint that passes a check, and the ones it skipped.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from rlsuite.common.errors import ModelFolderError, OutputDirError

log = logging.getLogger(__name__)

FINISHED = "finished.json"
LOCK = ".lock"


def run_name(env_id: str, algo: str, seed: int) -> str:
    """RL Zoo / CleanRL style run name ``<env>__<algo>__<seed>__<time>``; ``/`` and ``:`` become ``-``."""
    safe_env = env_id.replace("/", "-").replace(":", "-")
    return f"{safe_env}__{algo}__{seed}__{time.strftime('%Y%m%d-%H%M%S')}"


def unique_path(path: str | os.PathLike[str]) -> Path:
    """``path``, or ``path-2``, ``path-3`` ... whichever does not exist yet."""
    base = Path(path)
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _fsync_tree(path: Path) -> None:
    paths = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for p in paths:
        with open(p, "rb") as f:
            os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    Works for files and folders alike: whatever the block writes at the yielded path is flushed
    to disk and replaces ``path`` at the end; if the block raises (or writes nothing, a bug that
    raises ``RuntimeError``), the temporary is removed and ``path`` is left as it was.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent)) / final.name
    try:
        yield tmp
        if not tmp.exists():  # a caller's bug: say so, rather than a FileNotFoundError about a temporary name
            raise RuntimeError(f"atomic_path({final}): the block wrote nothing at the path it was given")
        if fsync:
            _fsync_tree(tmp)
        if final.is_dir() and not final.is_symlink():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except OSError as exc:  # a full disk or a file-size limit while writing: name the file it was for
        if exc.filename is None:
            exc.filename = str(final)
        raise
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def os_error_in(exc: BaseException, path: str | os.PathLike[str]) -> OSError | None:
    """The ``OSError`` a third-party error carries only in its message (safetensors' Rust writer says
    "I/O error: File too large (os error 27)"), naming ``path``; None when it carries none (a bug)."""
    match = _OS_ERROR.search(str(exc))
    if match is None:
        return None
    code = int(match.group(1))
    return OSError(code, os.strerror(code), str(path))


@contextlib.contextmanager
def safetensors_os_errors(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a ``SafetensorError`` that carries an OS error (a full disk, a file-size limit: safetensors' Rust
    writer keeps only the errno) into that ``OSError`` naming ``path``; any other keeps its traceback."""
    from safetensors import SafetensorError

    try:
        yield
    except SafetensorError as exc:
        error = os_error_in(exc, path)
        if error is None:
            raise
        raise error from exc


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def newest_valid(
    candidates: Iterable[tuple[int, Path]], is_valid: Callable[[Path], bool]
) -> tuple[tuple[int, Path] | None, list[Path]]:
    """The newest ``(step, path)`` whose ``is_valid(path)`` holds, and the newer ones skipped as invalid."""
    skipped: list[Path] = []
    for step, path in sorted(candidates, reverse=True):
        if is_valid(path):
            return (step, path), skipped
        log.warning("skipping %s: incomplete or corrupt (a crash during its save?)", path)
        skipped.append(path)
    return None, skipped


class OutputDir:
    """The folder one job writes: one writer at a time, nothing finished overwritten unasked.

    Use it as a context manager around the whole job::

        with OutputDir(out, overwrite=args.overwrite, resume=args.resume) as od:
            ...               # write into od.path
            od.finish({"steps": n})   # the marker, written last

    Args:
        path: the folder (created if missing).
        overwrite: replace whatever the folder holds (finished or not).
        resume: continue in a folder that holds an unfinished (or finished) job of the same kind.
        allow_existing: accept a folder that holds unfinished work without ``resume`` (a job that
            skips what it finished earlier, like ``align compare``).
        can_resume: whether the command has ``--resume`` (the refusal's advice names it only then).

    Raises (on entry, before anything is written):
        OutputDirError: the path is a file or not writable; another process holds the lock (its
            pid is named); the folder holds finished results and neither ``overwrite`` nor
            ``resume`` was given; or it holds an unfinished job and neither ``resume``,
            ``overwrite`` nor ``allow_existing`` was given.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        overwrite: bool = False,
        resume: bool = False,
        allow_existing: bool = False,
        can_resume: bool = True,
    ) -> None:
        self.path = Path(path)
        self.can_resume = can_resume
        self.overwrite = overwrite
        self.resume = resume
        self.allow_existing = allow_existing
        self._lock_fd: int | None = None

    # ----- state -----
    @property
    def finished(self) -> bool:
        """Whether the folder's ``finished.json`` marker is present."""
        return (self.path / FINISHED).is_file()

    def finished_info(self) -> dict[str, Any]:
        """What the marker recorded (empty when unfinished or unreadable)."""
        try:
            return json.loads((self.path / FINISHED).read_text())
        except (OSError, json.JSONDecodeError):
            return {}

    def has_content(self) -> bool:
        return self.path.is_dir() and any(p.name != LOCK for p in self.path.iterdir())

    # ----- checks and locking -----
    def check(self) -> None:
        """The checks of :meth:`open` that need no lock (safe to call early, before any work)."""
        p = self.path
        if p.exists() and not p.is_dir():
            raise OutputDirError(f"{p}: exists and is not a folder")
        parent = next((a for a in [p, *p.parents] if a.exists()), Path("."))
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputDirError(f"{p}: not writable ({parent} denies it)")
        if p.is_symlink():
            raise OutputDirError(f"{p}: is a symbolic link; rlsuite writes only into real folders (give the target)")
        if p.is_dir():
            link = next((c for c in sorted(p.iterdir()) if c.is_symlink()), None)
            if link is not None:
                raise OutputDirError(
                    f"{link}: a symbolic link inside the output folder; refused (links are never followed when "
                    "writing): remove it or use another folder"
                )
        holder = self.holder() if p.is_dir() else None
        if holder is not None:
            raise OutputDirError(
                f"{p}: in use by process {holder} (lock file {p / LOCK}); wait for it or use another folder"
            )
        if self.overwrite or not p.is_dir():
            return
        if self.finished and not self.resume:
            raise OutputDirError(
                f"{p}: holds finished results; pass --overwrite to replace them (or use another folder)"
            )
        if not self.finished and self.has_content() and not (self.resume or self.allow_existing):
            advice = "pass --resume to continue it or --overwrite" if self.can_resume else "pass --overwrite"
            raise OutputDirError(f"{p}: holds an unfinished job; {advice} to start again")

    def holder(self) -> str | None:
        """The process id of another process that holds the folder's lock now, else None."""
        import fcntl

        lock = self.path / LOCK
        if self._lock_fd is not None or lock.is_symlink() or not lock.is_file():
            return None
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            return None if pid == str(os.getpid()) else pid
        finally:
            os.close(fd)  # closing drops a shared lock taken here
        return None

    def open(self) -> OutputDir:
        """Check, create, lock (and, with ``overwrite``, empty) the folder."""
        self.check()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock()
        if self.overwrite and self.has_content():
            for child in self.path.iterdir():
                if child.name == LOCK:
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        return self

    def _lock(self) -> None:
        import fcntl

        lock = self.path / LOCK
        try:  # O_NOFOLLOW: a lock file that is a link elsewhere is refused, never truncated through
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise OutputDirError(f"{lock}: is a symbolic link; refused (remove it or use another folder)") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise OutputDirError(
                f"{self.path}: in use by process {holder} (lock file {lock}); wait for it or use another folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        os.fsync(fd)
        self._lock_fd = fd

    def close(self) -> None:
        """Release the lock (the lock file stays; it is only held while a process has it open)."""
        if self._lock_fd is not None:
            import fcntl

            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> OutputDir:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- the marker -----
    def finish(self, info: dict[str, Any] | None = None) -> Path:
        """Write ``finished.json`` (last, atomically): the folder's results are complete."""
        return write_json(self.path / FINISHED, {"finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **(info or {})})

    def unfinish(self) -> None:
        """Remove the marker before changing a finished folder (a resumed run with a larger budget)."""
        with contextlib.suppress(FileNotFoundError):
            (self.path / FINISHED).unlink()



def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; unreadable, truncated or not an object: a ``ModelFolderError`` naming it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFolderError(f"{path}: not valid JSON ({exc}); truncated or corrupt?") from exc
    if not isinstance(data, dict):
        raise ModelFolderError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data
