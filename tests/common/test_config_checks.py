"""check_config / check_value / the long-integer guard on their edges: exactly MAX_INT_DIGITS digits, integers
inside lists and mappings, bool is not an int, the value kept on the error, undeclared fields, Any and Path
hints, unions tried in order. Written against the mutants `make mutate` found surviving in config.py."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from rlsuite.common.config import MAX_INT_DIGITS, Config, _long_int, check_config, check_value, option
from rlsuite.common.errors import ConfigError


def test_the_long_integer_guard_counts_digits_exactly_and_searches_containers() -> None:
    longest, too_long = 10**MAX_INT_DIGITS - 1, 10**MAX_INT_DIGITS  # 20 digits, 21 digits
    assert (_long_int(longest), _long_int(-longest)) == (None, None)
    assert (_long_int(too_long), _long_int(-too_long)) == (21, 21)
    assert _long_int(True) is None and _long_int(2.0**80) is None  # bool and float are not integers here
    assert _long_int([1, [2, too_long]]) == 21 and _long_int((too_long,)) == 21
    assert _long_int({"a": 1, "b": {"c": 10**30}}) == 31
    assert _long_int([1, 2, {"x": 3}]) is None and _long_int("1" * 30) is None
    # past str()'s own limit the digits are not counted but named as 4300
    assert _long_int(2**13_998) == len(str(2**13_998)) == 4214 and _long_int(2**13_999) == 4300


@dataclass
class _Mixed(Config):
    rate: float = option(0.5, help="a rate", gt=0.0, le=1.0)
    seeds: list[int] = option(default_factory=lambda: [1], help="seeds")
    extra: Any = None  # not declared with option(): Config checks it too (only_declared=False)
    folder: Path | None = option(None, help="a folder")


def test_check_config_errors_keep_the_value_and_name_the_field() -> None:
    for kwargs, message, value in [
        ({"rate": math.nan}, "_Mixed.rate: nan is not a number (NaN)", math.nan),
        ({"rate": 2.0}, "_Mixed.rate: 2.0 is out of range (allowed: (0, 1])", 2.0),
        ({"seeds": [1, 10**25]}, "_Mixed.seeds: an integer of 26 digits is out of range (at most 20)", None),
        ({"extra": {"k": 10**21}}, "_Mixed.extra: an integer of 22 digits is out of range (at most 20)", None),
    ]:
        with pytest.raises(ConfigError) as info:
            _Mixed(**kwargs)
        assert str(info.value) == message
        assert info.value.field == next(iter(kwargs))
        if value is None:
            assert info.value.value is None
        elif isinstance(value, float) and math.isnan(value):
            assert math.isnan(info.value.value)
        else:
            assert info.value.value == value


def test_undeclared_fields_are_checked_only_when_asked() -> None:
    @dataclass
    class Loose:
        declared: int = option(1, help="declared", ge=0)
        plain: int = 0

    loose = Loose(declared=2, plain="x")  # type: ignore[arg-type]
    check_config(loose)  # only the declared field: "x" in the plain one passes
    with pytest.raises(ConfigError, match=r"^Loose\.plain: expected an integer, got 'x'$"):
        check_config(loose, only_declared=False)
    with pytest.raises(ConfigError, match=r"^_Mixed\.extra"):
        _Mixed(extra=[10**22])  # Config checks its undeclared fields too
    assert _Mixed(folder="a/b").folder == Path("a/b") and isinstance(_Mixed(folder="a/b").folder, Path)
    assert _Mixed(extra={"k": 1}).extra == {"k": 1}


def test_check_value_on_any_unions_mappings_and_paths() -> None:
    marker = object()
    assert check_value(marker, Any) is marker and check_value(marker, object) is marker
    assert check_value(3, float | str) == 3.0 and isinstance(check_value(3, float | str), float)
    assert check_value("x", int | str) == "x"  # the first member refuses, the next is tried
    assert check_value(3, None | float) == 3.0  # None first: skipped, not the end of the search
    assert check_value({"a": 1}, dict[str, int]) == {"a": 1} and check_value({"a": 1}, dict) == {"a": 1}
    for hint in (dict[str, int], dict):  # any mapping comes back as a plain dict of its own
        frozen = MappingProxyType({"a": 1})
        assert type(check_value(frozen, hint)) is dict and check_value(frozen, hint) == {"a": 1}
    for value, hint in [([1], dict[str, int]), ("a", dict), (3, Path), ("x", int | None)]:
        with pytest.raises(Exception, match="") as info:
            check_value(value, hint)
        assert type(info.value).__name__ == "_Mismatch"
    assert check_value(Path("p"), Path) == Path("p") and check_value("p", Path) == Path("p")


@dataclass
class _ThirdPartyParent:  # a plain dataclass, as a TRL config is: its fields are its own to check
    plain: int = 0
    other: str = "a"


@dataclass
class _Declared(_ThirdPartyParent):
    declared: int = option(1, help="rlsuite's own")


def test_only_the_declared_fields_are_checked_unless_every_field_is_asked_for() -> None:
    """The parent's fields (first in the dataclass) are skipped, and the declared one after them is still checked."""
    check_config(_Declared(plain="x", other=3))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^_Declared.declared: expected an integer, got 'y'$"):
        check_config(_Declared(plain="x", declared="y"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^_Declared.plain: expected an integer, got 'x'$"):
        check_config(_Declared(plain="x"), only_declared=False)  # type: ignore[arg-type]
