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
        (100.0, "100"),  # whole, no decimals: its zeros stay
        (12340.0, "12340"),
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


def test_markdown_to_the_letter() -> None:
    numbers = {"runs": 3, "seeds": [0, 1.23456], "mixed": [{"a": 1}], "note": "a|b",
               "lr": {"a": 0.12345, "b": None}, "methods": {"PPO": {"reward": 1.23456}, "DPO": {"reward": 2}},
               "v": [[1.23456, 2.5]], "deep": {"x": {"y": {"z": {"w": {"v": {"u": {"t": 1}}}}}}},
               "gap": 1e-12}  # fmt: skip
    assert markdown(numbers, digits=2) == (
        "| | |\n|---|---:|\n| runs | 3 |\n| seeds | 0, 1.2 |\n| mixed | [{'a': 1}] |\n| note | a\\|b |\n"
        "| gap | 0 |\n\n"
        "## lr\n\n| | |\n|---|---:|\n| a | 0.12 |\n| b | - |\n\n"
        "## methods\n\n|  | reward |\n|---|---:|\n| PPO | 1.2 |\n| DPO | 2 |\n\n"
        "## v\n\n| row \\ col | 1 | 2 |\n|---|---:|---:|\n| 1 | 1.2 | 2.5 |\n\n"
        "## deep\n\n### x\n\n#### y\n\n##### z\n\n###### w\n\n###### v\n\n|  | t |\n|---|---:|\n| u | 1 |\n"
    )  # headings stop at six #
    # the defaults: three significant digits, sections from ##
    assert markdown({"x": 1.23456, "v": [[1.23456, 2]]}) == (
        "| | |\n|---|---:|\n| x | 1.23 |\n\n## v\n\n| row \\ col | 1 | 2 |\n|---|---:|---:|\n| 1 | 1.23 | 2 |\n"
    )
    assert grid_table([[1.23456]]) == "| row \\ col | 1 |\n|---|---:|\n| 1 | 1.23 |"
    assert grid_table([[1.23456]], digits=2) == "| row \\ col | 1 |\n|---|---:|\n| 1 | 1.2 |"
    assert markdown({}) == "\n"


def test_grid_table_keeps_scientific_and_whole_cells_as_they_are() -> None:
    text = grid_table([[1.5, 2.25, 3e-8, 12345678.0, 4]], digits=3)
    assert text.splitlines()[2] == "| 1 | 1.50 | 2.25 | 3.00e-08 | 1.23e+07 | 4 |"
    assert grid_table([[2.0, 3e-8]]).splitlines()[2] == "| 1 | 2 | 3.00e-08 |"  # no decimals to line up


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [(1e-9, 3, "1.00e-09"), (0.001, 3, "0.001"), (0.00099, 3, "9.90e-04"), (99999.0, 3, "99999"),
     (100000.0, 3, "1.00e+05"), (0.5, 1, "0.5"), (1.0, 3, "1"), (0.01, 2, "0.01"), (0.0099, 2, "9.9e-03")],
)  # fmt: skip
def test_fmt_at_the_edges_of_plain_notation(value: float, digits: int, text: str) -> None:
    """Plain from 10**-digits (included) up to 10**(digits + 2) (excluded); zero below 1e-9 (excluded)."""
    assert fmt(value, digits) == text
