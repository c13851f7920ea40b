"""rlsuite's user-error types: what a user can cause, answered by the CLI in one line.

Everything a user can get wrong (an argument, a config value, a data file, a model folder, an
output folder) raises a :class:`UsageError` subclass whose message says what is wrong and where,
in one line. The CLI prints these without a traceback (exit 2). Any other exception is a bug and
keeps its traceback.

They subclass ``ValueError`` so that library callers can catch them the usual way; the CLI, in
turn, shortens only these, never a plain ``ValueError``.
"""

from __future__ import annotations

from typing import Any


class UsageError(ValueError):
    """Bad input from the user: a wrong argument, file, config key or name (one-line message)."""


class ConfigError(UsageError):
    """A config value of the wrong type or outside its range, or an unknown config key.

    Attributes:
        field: the offending field's name, when there is one (the CLI names its source with it).
        value: the offending value.
    """

    def __init__(self, message: str, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class DataError(UsageError):
    """A malformed or missing data file (preference pairs, SFT records): names the file and line."""


class ModelFolderError(UsageError):
    """A model folder that is missing, incomplete, corrupt or of the wrong kind: names the folder."""


class OutputDirError(UsageError):
    """An output folder that cannot be written now: in use by another process, finished, not writable."""


class UnsafeLoadError(UsageError):
    """A file that could run code when loaded (a pickle), refused unless the user asked for it."""


class TrainingDivergedError(UsageError):
    """Training ended with NaN or inf weights (a learning rate too high, say): nothing saved as finished."""
