"""Numbers in YAML config files at their limits (rlsuite.common.config): integers of exactly 20 digits read and 21
refused, only integer and float scalars measured (a long quoted string or a 1e400 that YAML reads as text is no
number), floats that overflow refused however they are written (with ``_`` where Python's float() refuses one),
infinity asked for by tag kept; and the message for a field typed with a bare ``typing.List``."""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rlsuite.common.config import MAX_INT_DIGITS, Config, load_yaml
from rlsuite.common.errors import ConfigError


def refused(path: Path, text: str) -> str:
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_yaml(path)
    return str(err.value)


def test_an_integer_of_20_digits_is_read_one_of_21_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ints.yml"
    assert MAX_INT_DIGITS == 20
    path.write_text("seed: 1\nbig: -99_999_999_999_999_999_999\n")  # 20 digits; _ and the sign are no digits
    assert load_yaml(path) == {"seed": 1, "big": -(10**20 - 1)}
    assert refused(path, "seed: 1\nbig: 100000000000000000000\n") == (
        f"{path}: line 2: an integer of 21 digits (at most 20)"
    )


def test_only_numbers_are_measured_a_long_string_of_digits_is_read(tmp_path: Path) -> None:
    path = tmp_path / "text.yml"
    path.write_text('id: "1234567890123456789012345"\nname: run-1234567890123456789012345\nsmall: 1.0e+300\n'
                    "word: 1e400\n")  # fmt: skip
    assert load_yaml(path) == {
        "id": "1234567890123456789012345",
        "name": "run-1234567890123456789012345",
        "small": 1.0e300,
        "word": "1e400",
    }  # YAML 1.1: a float needs a dot: 1e400 is text


@pytest.mark.parametrize("text", ["1.0e+400", "-2.5e+308", "1_.0e+400", "1__0.0e+400"])
def test_a_float_beyond_the_largest_is_refused_with_its_line(tmp_path: Path, text: str) -> None:
    """``1_.0e+400`` is a YAML float that Python's float() refuses until its ``_`` are removed."""
    assert refused(tmp_path / "f.yml", f"a: 1\nalpha: {text}\n") == (
        f"{tmp_path / 'f.yml'}: line 2: {text} is beyond the largest float (about 1.8e308); "
        "write .inf if infinity is meant"
    )


def test_infinity_written_as_such_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "inf.yml"
    path.write_text("a: .inf\nb: -.Inf\nc: !!float inf\nd: !!float -Infinity\ne: !!float INF\n")
    values = load_yaml(path)
    assert values == {"a": math.inf, "b": -math.inf, "c": math.inf, "d": -math.inf, "e": math.inf}


@dataclass
class _ThirdParty(Config):
    """A parent's field typed with a bare ``typing.List`` (no item type): checked, as every hinted field is."""

    names: typing.List = field(default_factory=list)  # noqa: UP006


def test_a_bare_list_hint_is_named_a_list() -> None:
    assert _ThirdParty().names == [] and _ThirdParty(names=("a", 1)).names == ["a", 1]  # a tuple becomes a list
    with pytest.raises(ConfigError) as err:
        _ThirdParty(names="a")
    assert str(err.value) == "_ThirdParty.names: expected a list, got 'a'"
