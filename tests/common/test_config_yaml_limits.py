"""YAML limits at their exact bounds (depth 50, 100,000 values once aliases are expanded, integers of 20 digits),
recursive aliases, bad YAML in one line, and bounds described in interval notation with whole numbers printed whole.
Only integer and float scalars are measured (a long quoted string, or a 1e400 that YAML reads as text, is no number);
floats that overflow are refused however they are written (with ``_`` where Python's float() refuses one), infinity
asked for by tag is kept."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rlsuite.common.config import MAX_INT_DIGITS, MAX_YAML_DEPTH, MAX_YAML_NODES, Bounds, load_yaml
from rlsuite.common.errors import ConfigError


def refused(path: Path, text: str) -> str:
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_yaml(path)
    return str(err.value)


def test_nesting_up_to_the_limit_is_read_one_more_level_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yml"
    assert MAX_YAML_DEPTH == 50
    path.write_text("a: " + "[" * 49 + "0" + "]" * 49)  # the mapping, then 49 lists: the 0 is at depth 50
    expected: object = 0
    for _ in range(49):
        expected = [expected]
    assert load_yaml(path) == {"a": expected}
    assert refused(path, "a: " + "[" * 50 + "0" + "]" * 50) == f"{path}: nested too deeply (more than 50 levels)"


def test_values_up_to_the_limit_are_read_one_more_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yml"
    assert MAX_YAML_NODES == 100_000
    block = "[" + ", ".join(["0"] * 999) + "]"  # 1,000 values with its list

    def text(zeros: int) -> str:  # the mapping, its key and list (3) + 99 copies of the block (99,000) + zeros
        return "a: [&s " + block + ", " + ", ".join(["*s"] * 98 + ["0"] * zeros) + "]"

    path.write_text(text(997))  # exactly 100,000 once expanded
    assert len(load_yaml(path)["a"]) == 99 + 997
    assert refused(path, text(998)) == (
        f"{path}: holds 100,001+ values once its aliases are expanded (at most 100,000); an alias bomb?"
    )


def test_a_shared_value_is_counted_at_every_use(tmp_path: Path) -> None:
    path = tmp_path / "shared.yml"
    path.write_text("a: &x [1, 2]\nb: *x\nc: *x\n")
    assert load_yaml(path) == {"a": [1, 2], "b": [1, 2], "c": [1, 2]}
    bomb = "a: &a [" + ", ".join(["0"] * 9) + "]\n"
    for level in "bcdef":
        bomb += f"{level}: &{level} [" + ", ".join([f"*{chr(ord(level) - 1)}"] * 10) + "]\n"
    assert refused(path, bomb).startswith(f"{path}: holds 1")  # 10**6 values from a few hundred bytes


def test_a_recursive_alias_is_named(tmp_path: Path) -> None:
    path = tmp_path / "loop.yml"
    assert refused(path, "a: &a [1, *a]\n") == (
        f"{path}: an alias refers to a value that holds it (a recursive document)"
    )


def test_bad_yaml_is_one_line_with_the_parser_s_reason(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    assert refused(path, "a: [1, 2\n") == (
        f'{path}: not valid YAML (while parsing a flow sequence in "<unicode string>", line 1, column 4: '
        "a: [1, 2 ^ expected ',' or ']', but got '<stream end>' in \"<unicode string>\", line 2, column 1: ^)"
    )


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


@pytest.mark.parametrize(
    ("bounds", "text"),
    [
        (Bounds(ge=0, le=1), "[0, 1]"),
        (Bounds(gt=0, lt=0.5), "(0, 0.5)"),
        (Bounds(ge=0, lt=1), "[0, 1)"),
        (Bounds(gt=-1, le=2.0), "(-1, 2]"),
        (Bounds(ge=2.5), ">= 2.5"),
        (Bounds(gt=999_999_999_999_999.0), "> 999999999999999"),
        (Bounds(gt=1e15), "> 1e+15"),
        (Bounds(le=-1e16), "<= -1e+16"),
        (Bounds(lt=3), "< 3"),
        (Bounds(), "any value"),
    ],
)
def test_bounds_are_described_in_interval_notation(bounds: Bounds, text: str) -> None:
    assert bounds.describe() == text


def test_a_long_float_beyond_the_largest_is_shown_by_its_first_24_characters(tmp_path: Path) -> None:
    text = "9" * 30 + ".0e+400"
    assert refused(tmp_path / "f.yml", f"alpha: {text}\n") == (
        f"{tmp_path / 'f.yml'}: line 1: {'9' * 24} is beyond the largest float (about 1.8e308); "
        "write .inf if infinity is meant"
    )
