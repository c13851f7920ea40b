"""Report writers: rounding to what means something, markdown tables and grids."""

from __future__ import annotations

import numpy as np
import pytest

from rlsuite.app.reports import fmt, grid_table, markdown, table


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-8.577e-10, "0"),
        (0.123456, "0.123"),
        (1.5, "1.5"),
        (2.0, "2"),
        (123.456, "123"),
        (12345678.0, "1.23e+07"),
        (0.00012345, "1.23e-04"),
        (7, "7"),
        (True, "yes"),
        (False, "no"),
        (np.bool_(False), "no"),
        (np.int64(-3), "-3"),
        (np.float32(0.25), "0.25"),
        (-1234.5, "-1234"),
        (None, "-"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        ("two\nlines", "two lines"),
        ("a|b", "a\\|b"),
    ],
)
def test_numbers_are_rounded_to_significant_digits(value, text) -> None:
    assert fmt(value) == text


def test_value_grid_is_a_numbered_table_with_one_precision() -> None:
    text = grid_table([[1.25, 8.0], [-0.5, 3.0]])
    assert text.splitlines() == [
        "| row \\ col | 1 | 2 |",
        "|---|---:|---:|",
        "| 1 | 1.25 | 8.00 |",
        "| 2 | -0.50 | 3.00 |",
    ]


def test_rows_of_mappings_become_one_table() -> None:
    text = table({"PPO": {"reward": 4.123, "kl": 0.5}, "DPO": {"reward": 5.0, "win": 0.75}}, first="method")
    assert text.splitlines() == [
        "| method | reward | kl | win |",
        "|---|---:|---:|---:|",
        "| PPO | 4.12 | 0.5 | - |",
        "| DPO | 5 | - | 0.75 |",
    ]


def test_nested_results_render_as_headings_tables_and_grids() -> None:
    text = markdown({"runs": 3, "methods": {"PPO": {"reward": 1.0}}, "v*": [[1.0, 2.0]], "gap": 1e-12})
    assert "| runs | 3 |" in text and "| gap | 0 |" in text
    assert "## methods\n\n|  | reward |" in text
    assert "## v*\n\n| row \\ col | 1 | 2 |" in text
    assert "{" not in text and "[" not in text


def test_scalars_and_grids_are_told_apart() -> None:
    from rlsuite.app.reports import _grid, _scalar

    for x in (None, "a", 1, 1.5, True, np.float32(1.0), np.int64(2)):
        assert _scalar(x), x
    for x in ([1], (1,), {"a": 1}, {1}, object()):
        assert not _scalar(x), x
    assert _grid([[1, 2], [3, 4]]) and _grid(((1.5,),)) and _grid([[None, True]])
    for x in ([], "ab", [1, 2], [[1, 2], [3]], [["a", "b"]], [{1, 2}, {3, 4}], [[[1], [2]]], ["ab", "cd"]):
        assert not _grid(x), x
