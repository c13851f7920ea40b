"""One config mechanism: typed ``@dataclass`` configs whose fields carry help text and bounds.

Every algorithm, trainer and command has a config class built on :class:`Config`. Each field is
declared with :func:`option`, which records its help text (the ``--help`` line of the generated
CLI flag, TRL's ``field(metadata={"help": ...})`` convention) and its allowed range::

    @dataclass
    class QLearningConfig(Config):
        gamma: float = option(0.9, help="discount factor", ge=0.0, le=1.0)
        behavior: Literal["epsilon_greedy", "uniform"] = option("epsilon_greedy", help="behaviour policy")

Values are checked when the config is built, whatever built it (Python, YAML, the CLI): a value
of the wrong type, outside its range, NaN, or not among a ``Literal``'s choices raises a
:class:`~rlsuite.common.errors.ConfigError` naming the class, the field, the value and what is
allowed. Subclasses add cross-field checks in ``__post_init__`` after ``super().__post_init__()``.

Configs that subclass a third-party dataclass (TRL's ``DPOConfig``, ...) call
:func:`check_config` from their own ``__post_init__``; it checks only fields declared with
:func:`option` there, so the parent's own fields keep the parent's checks.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import yaml

from rlsuite.common.errors import ConfigError

C = TypeVar("C")

BOUNDS_KEY = "rlsuite_bounds"
CHECKED_KEY = "rlsuite_checked"


@dataclass(frozen=True)
class Bounds:
    """An allowed numeric range: any of ``ge`` (>=), ``gt`` (>), ``le`` (<=), ``lt`` (<)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def contains(self, x: float) -> bool:
        return not (
            (self.ge is not None and not x >= self.ge)
            or (self.gt is not None and not x > self.gt)
            or (self.le is not None and not x <= self.le)
            or (self.lt is not None and not x < self.lt)
        )

    def describe(self) -> str:
        """``[0, 1]``, ``(0, inf)``, ``>= 1`` ... in interval notation where both ends are set."""
        low = self.ge if self.ge is not None else self.gt
        high = self.le if self.le is not None else self.lt
        if low is not None and high is not None:
            left = "[" if self.ge is not None else "("
            right = "]" if self.le is not None else ")"
            return f"{left}{_num(low)}, {_num(high)}{right}"
        if low is not None:
            return f"{'>=' if self.ge is not None else '>'} {_num(low)}"
        if high is not None:
            return f"{'<=' if self.le is not None else '<'} {_num(high)}"
        return "any value"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    aliases: list[str] | None = None,
    metavar: str | None = None,
) -> Any:
    """A config field: its default, one line of help, and optionally its bounds and CLI aliases.

    Args:
        default: the default value (or use ``default_factory`` for lists).
        help: one line; it is the ``--help`` text of the generated flag.
        default_factory: builds a fresh default (mutable defaults).
        ge, gt, le, lt: the allowed range of a number (or of each number in a list).
        aliases: extra CLI spellings, e.g. ``["--output_dir"]``.
        metavar: how the value is shown in ``--help``.
    """
    metadata: dict[str, Any] = {"help": help, CHECKED_KEY: True}
    if any(b is not None for b in (ge, gt, le, lt)):
        metadata[BOUNDS_KEY] = Bounds(ge, gt, le, lt)
    if aliases:
        metadata["aliases"] = list(aliases)
    if metavar:
        metadata["metavar"] = metavar
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(hint) if a is not type(None)) + (
            " or None" if type(None) in typing.get_args(hint) else ""
        )
    if origin in (list, tuple):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return f"a list of {_type_name(args[0])}" if args else "a list"
    if origin is dict or hint is dict:
        return "a mapping"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )


class _Mismatch(Exception):
    pass


def check_value(value: Any, hint: Any) -> Any:
    """``value`` checked against the type ``hint`` and returned in that type (an int given for a float
    becomes a float, a tuple for a list a list, a numpy scalar a Python scalar); raises ``_Mismatch``."""
    if hint is Any or hint is object:
        return value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None:
            if type(None) in args:
                return None
            raise _Mismatch
        for arg in args:
            if arg is type(None):
                continue
            try:
                return check_value(value, arg)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is Literal:
        if any(value == choice and type(value) is type(choice) for choice in typing.get_args(hint)):
            return value
        raise _Mismatch
    if origin in (list, tuple) or hint in (list, tuple):
        if not isinstance(value, list | tuple):
            raise _Mismatch
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        items = [check_value(v, args[0]) for v in value] if args else list(value)
        return tuple(items) if origin is tuple or hint is tuple else items
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise _Mismatch
        return dict(value)
    if hint is bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        raise _Mismatch
    if hint is int:
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
            raise _Mismatch
        return int(value)
    if hint is float:
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
            raise _Mismatch
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise _Mismatch
        return value
    if hint is Path:
        if not isinstance(value, str | os.PathLike):
            raise _Mismatch
        return Path(value)
    if isinstance(hint, type) and not isinstance(value, hint):
        raise _Mismatch
    return value


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, list | tuple):
        return [x for v in value for x in _numbers(v)]
    return []


MAX_INT_DIGITS = 20  # a 64-bit integer; a config value with more digits is a typo or an attack


def _long_int(value: Any) -> int | None:
    """The digits of the first integer in ``value`` (a list or mapping searched too) longer than
    ``MAX_INT_DIGITS``; None if there is none."""
    if isinstance(value, int) and not isinstance(value, bool):
        digits = len(str(abs(value))) if value.bit_length() < 14_000 else 4300  # str() stops at 4300 digits
        return digits if digits > MAX_INT_DIGITS else None
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, list | tuple) else ()
    return next((d for d in map(_long_int, items) if d is not None), None)


def check_config(config: Any, only_declared: bool = True) -> None:
    """Check (and normalise in place) the fields of a config dataclass instance.

    Args:
        config: a dataclass instance.
        only_declared: check only fields declared with :func:`option` (a third-party parent's own
            fields are left to the parent); ``False`` checks every field with a type hint.

    Raises:
        ConfigError: naming ``Class.field``, the value and what is allowed.
    """
    cls = type(config)
    hints = _hints(cls)
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        where = f"{cls.__name__}.{f.name}"
        digits = _long_int(value)  # every field, declared or a third-party parent's: float() of it overflows
        if digits is not None:
            raise ConfigError(f"{where}: an integer of {digits} digits is out of range (at most {MAX_INT_DIGITS})",
                              f.name, None)
        if only_declared and not f.metadata.get(CHECKED_KEY):
            continue
        hint = hints.get(f.name, Any)
        try:
            checked = check_value(value, hint)
        except _Mismatch:
            raise ConfigError(f"{where}: expected {_type_name(hint)}, got {value!r}", f.name, value) from None
        bounds: Bounds | None = f.metadata.get(BOUNDS_KEY)
        for x in _numbers(checked):
            if math.isnan(x):
                raise ConfigError(f"{where}: {value!r} is not a number (NaN)", f.name, value)
            if bounds is not None and not bounds.contains(x):
                raise ConfigError(
                    f"{where}: {value!r} is out of range (allowed: {bounds.describe()})", f.name, value
                )
        if checked is not value:
            object.__setattr__(config, f.name, checked)


def config_error(config: Any, name: str, message: str) -> ConfigError:
    """A :class:`ConfigError` for a cross-field check: ``Class.name: message``."""
    return ConfigError(f"{type(config).__name__}.{name}: {message}", name, getattr(config, name, None))


@dataclass
class Config:
    """Base of rlsuite's typed configs: every field is checked when the config is built.

    ``SEARCH_SPACE`` (beside the fields) is what ``rlsuite tune`` searches: field name ->
    ``{"low": a, "high": b}`` (with ``"log": true`` or an int ``"step"``) or ``{"choices": [...]}``.
    """

    SEARCH_SPACE: ClassVar[dict[str, dict[str, Any]]] = {}

    def __post_init__(self) -> None:
        check_config(self, only_declared=False)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain data (for ``config.json``)."""
        return dataclasses.asdict(self)

    def replace(self: C, **changes: Any) -> C:
        """A copy with ``changes`` applied, checked like a new config."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def from_dict(cls: type[C], values: Mapping[str, Any], where: str = "config") -> C:
    """Build config ``cls`` from a mapping; an unknown key is a ``ConfigError`` naming ``where``.

    Values are checked by the config itself (types, bounds); nothing is coerced from strings here:
    strings typed on a command line go through the CLI's parser first.
    """
    names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
    for key in values:
        if key not in names:
            raise ConfigError(f"{where}: unknown key {key!r} for {cls.__name__}{_suggest(key, names)}", key)
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}", exc.field, exc.value) from exc


def _suggest(key: str, names: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key_error(key: str, names: list[str], owner: str, where: str) -> ConfigError:
    """``where: unknown key 'k' for Owner (did you mean 'x'?)``."""
    return ConfigError(f"{where}: unknown key {key!r} for {owner}{_suggest(key, list(names))}", key)


MAX_YAML_DEPTH = 50  # levels of nesting a config file may have
MAX_YAML_NODES = 100_000  # values after aliases are expanded (a 2 KB "billion laughs" file expands to 10**9)


def _safe_load(text: str, where: Path) -> Any:
    """``yaml.safe_load`` that measures the document with its aliases expanded before building it."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_yaml_size(node, where)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _overflows(text: str) -> bool:
    """Whether a YAML float written as a number (not ``.inf``) overflows to infinity (``1.0e+400``)."""
    try:
        return "inf" not in text.lower() and math.isinf(float(text.replace("_", "")))
    except ValueError:  # YAML 1.1's base-60 floats (1:30.5): never that large here
        return False


def _check_yaml_size(root: yaml.Node, where: Path) -> None:
    """Refuse a node graph deeper than ``MAX_YAML_DEPTH``, larger than ``MAX_YAML_NODES`` once aliases
    are expanded, or that holds itself (each shared node is measured once, so this is linear)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(f"{where}: nested too deeply (more than {MAX_YAML_DEPTH} levels)")
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ConfigError(f"{where}: an alias refers to a value that holds it (a recursive document)")
        open_nodes.add(key)
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:int":
            digits = sum(c.isdigit() for c in node.value)
            if digits > MAX_INT_DIGITS:
                raise ConfigError(f"{where}: line {node.start_mark.line + 1}: an integer of {digits} digits "
                                  f"(at most {MAX_INT_DIGITS})")
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:float" and _overflows(node.value):
            raise ConfigError(f"{where}: line {node.start_mark.line + 1}: {node.value[:24]} is beyond the largest "
                              "float (about 1.8e308); write .inf if infinity is meant")
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        total = 1 + sum(size(child, depth + 1) for child in children)
        open_nodes.discard(key)
        if total > MAX_YAML_NODES:
            raise ConfigError(
                f"{where}: holds {total:,}+ values once its aliases are expanded (at most {MAX_YAML_NODES:,}); "
                "an alias bomb?"
            )
        sizes[key] = total
        return total

    size(root, 0)


def load_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping; a missing file, bad YAML or a non-mapping is a one-line ``ConfigError``.

    Aliases are measured before anything is built: a file deeper than ``MAX_YAML_DEPTH`` levels or
    larger than ``MAX_YAML_NODES`` values once expanded is refused in one line.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    try:
        data = _safe_load(p.read_text(), p)
    except RecursionError:
        raise ConfigError(f"{p}: nested too deeply (more than {MAX_YAML_DEPTH} levels)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({' '.join(str(exc).split())})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a text file ({exc.reason})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of keys to values, got {type(data).__name__}")
    return data
