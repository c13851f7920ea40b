"""Argument checks shared by rlsuite's envs: each names the argument, gymnasium-style.

Wrong types raise ``TypeError``, wrong values ``ValueError``; both name the argument and the value.
``action`` is on every ``step``'s path, so it checks the common case (a Python or numpy int) first.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def action(value: Any, n: int) -> int:
    """One discrete action in ``[0, n)``: a Python or numpy integer (or a 0-d integer array).

    Floats, strings, booleans, ``None`` and arrays of several actions are refused, never truncated.
    """
    scalar = type(value) is int or isinstance(value, np.integer)  # the fast path first
    if scalar or (isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu"):
        a = int(value)
    else:
        raise TypeError(f"action must be an integer in [0, {n}), got {value!r} ({type(value).__name__})")
    if not 0 <= a < n:
        raise ValueError(f"action must be in [0, {n}), got {value!r}")
    return a


def integer(name: str, value: Any, low: int | None = None) -> int:
    """An integer (not a bool, not a float), at least ``low`` when given."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if low is not None and value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def number(name: str, value: Any, low: float | None = None, high: float | None = None,
           high_open: bool = False) -> float:  # fmt: skip
    """A finite real number (not a bool, NaN or inf), within ``[low, high]`` (``[low, high)`` if ``high_open``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    above = high is not None and (x >= high if high_open else x > high)
    if (low is not None and x < low) or above:
        if high is None:
            raise ValueError(f"{name} must be >= {low:g}, got {value!r}")
        right = ")" if high_open else "]"
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}{right}, got {value!r}")
    return x


def probability(name: str, value: Any) -> float:
    """A probability in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) or not (
        0.0 <= float(value) <= 1.0
    ):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def policy_table(name: str, value: Any, n_states: int, n_actions: int) -> np.ndarray:
    """One action per state [S] (integers in ``[0, A)``) or action probabilities [S, A] (rows in
    [0, 1] summing to 1), as an array; a list, not a string."""
    if isinstance(value, str) or not isinstance(value, list | tuple | np.ndarray):
        raise TypeError(f"{name} must be an array of actions or probabilities, got {type(value).__name__}")
    pi = np.asarray(value)
    if pi.shape not in ((n_states,), (n_states, n_actions)):
        raise ValueError(f"{name} must have shape ({n_states},) or ({n_states}, {n_actions}), got {pi.shape}")
    if pi.ndim == 1:
        if not np.issubdtype(pi.dtype, np.integer) or pi.min() < 0 or pi.max() >= n_actions:
            raise ValueError(f"{name}: actions must be integers in [0, {n_actions})")
        return pi
    if not np.issubdtype(pi.dtype, np.number) or not np.isfinite(pi).all() or (pi < 0).any() or (pi > 1).any():
        raise ValueError(f"{name}: probabilities must be finite numbers in [0, 1]")
    worst = float(np.abs(pi.sum(axis=1) - 1.0).max())
    if worst > 1e-6:
        raise ValueError(f"{name}: each row's probabilities must sum to 1 (off by up to {worst:.3g})")
    return pi


def flag(name: str, value: Any) -> bool:
    """``True`` or ``False`` (numpy's too); ``"yes"``, 1 or ``None`` are refused, not read as truthy."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def render_mode(value: Any, modes: list[str]) -> str | None:
    """``None`` or one of the env's ``metadata["render_modes"]``."""
    if value is not None and value not in modes:
        raise ValueError(f"render_mode must be one of {modes}, got {value!r}")
    return value


def env_id_from_file(env_id: Any, where: str, trust_module: bool = False) -> str:
    """An env id read from a file (a run folder's ``config.json``, a saved agent's ``.json``), checked
    against gymnasium's registry without importing anything.

    Gymnasium imports the module named before a ``:`` in an id (``"pkg.mod:ns/Id-v0"``), from the
    current folder too: an id from a file would be code. Such an id is refused unless the reader
    trusts it (``trust_module``, the reader's own flag, never the file's); an id that is not
    registered is refused by name.

    Raises:
        ModelFolderError: naming ``where`` and the id.
    """
    from gymnasium.envs.registration import registry

    import rlsuite.envs  # noqa: F401  (registers rlsuite's ids)
    from rlsuite.common.errors import ModelFolderError

    if not isinstance(env_id, str) or not env_id:
        raise ModelFolderError(f"{where}: env_id must be a non-empty string, got {env_id!r}")
    module, colon, _ = env_id.partition(":")
    if colon:
        if trust_module:
            return env_id
        raise ModelFolderError(
            f"{where}: env id {env_id!r} would import the module {module!r}; a run folder is data, not code: "
            "refused (pass --trust_env_module if you trust that module)"
        )
    if env_id not in registry:
        raise ModelFolderError(f"{where}: env id {env_id!r} is not registered (`rlsuite envs` lists rlsuite's ids)")
    return env_id
