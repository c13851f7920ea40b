"""Report writers: numbers as markdown a person reads, rounded to the precision that means something.

:func:`markdown` turns the nested results of a job (dicts of numbers, dicts of rows, value grids)
into markdown: a mapping of scalars becomes a two-column table, a mapping of flat mappings a table
with one row per key, a 2-D list of numbers a grid table with 1-based row and column headers (the
book's cell convention), and nested sections become headings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def fmt(x: Any, digits: int = 3) -> str:
    """A number as a person reads it: ``digits`` significant digits, exact zeros for round-off.

    Values within ``1e-9`` of zero print as ``0`` (``-8.577e-10`` is round-off, not a result);
    integers print whole; large and small magnitudes keep ``digits`` significant digits.
    """
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        x = float(x)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if abs(x) < 1e-9:
            return "0"
        if abs(x) >= 10 ** (digits + 2) or abs(x) < 10 ** (-digits):
            return f"{x:.{digits - 1}e}"
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
        text = f"{x:.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if x is None:
        return "-"
    return str(x).replace("|", "\\|").replace("\n", " ")


def _scalar(x: Any) -> bool:
    return x is None or isinstance(x, str | int | float | bool | np.generic)


def _grid(x: Any) -> bool:
    return (
        isinstance(x, Sequence)
        and not isinstance(x, str)
        and len(x) > 0
        and all(isinstance(row, Sequence) and not isinstance(row, str) for row in x)
        and all(_scalar(v) and not isinstance(v, str) for row in x for v in row)
        and len({len(row) for row in x}) == 1
    )


def grid_table(grid: Sequence[Sequence[Any]], digits: int = 3) -> str:
    """A 2-D list as a markdown table with 1-based row and column headers."""
    n_cols = len(grid[0])
    texts = [[fmt(v, digits) for v in row] for row in grid]
    # one number of decimals for the whole grid, so its columns line up (8.0 beside 7.2, not 8)
    decimals = max((len(t.split(".")[1]) for row in texts for t in row if "." in t and "e" not in t), default=0)
    if decimals:
        texts = [[f"{float(v):.{decimals}f}" if isinstance(v, float) and "e" not in t else t
                  for v, t in zip(row, trow, strict=True)] for row, trow in zip(grid, texts, strict=True)]  # fmt: skip
    lines = ["| row \\ col | " + " | ".join(str(c + 1) for c in range(n_cols)) + " |"]
    lines.append("|---|" + "---:|" * n_cols)
    for r, row in enumerate(texts, 1):
        lines.append(f"| {r} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def table(rows: Mapping[str, Mapping[str, Any]], first: str = "", digits: int = 3) -> str:
    """One row per key of ``rows``; the columns are the union of the rows' keys, in order."""
    columns: dict[str, None] = {}
    for row in rows.values():
        columns.update(dict.fromkeys(row))
    lines = ["| " + " | ".join([first, *columns]) + " |", "|---|" + "---:|" * len(columns)]
    for name, row in rows.items():
        lines.append("| " + " | ".join([fmt(name), *(fmt(row.get(c), digits) for c in columns)]) + " |")
    return "\n".join(lines)


def _inline(x: Any, digits: int) -> str:
    if _scalar(x):
        return fmt(x, digits)
    if isinstance(x, Sequence) and not isinstance(x, str) and all(_scalar(v) for v in x):
        return ", ".join(fmt(v, digits) for v in x)
    return fmt(str(x))  # (a mapping is never inline: markdown gives it a section)


def markdown(numbers: Mapping[str, Any], level: int = 2, digits: int = 3) -> str:
    """Render nested results as markdown (see the module docstring)."""
    out: list[str] = []
    scalars = {k: v for k, v in numbers.items() if not isinstance(v, Mapping) and not _grid(v)}
    if scalars:
        out.append("| | |\n|---|---:|")
        out.extend(f"| {fmt(k)} | {_inline(v, digits)} |" for k, v in scalars.items())
        out.append("")
    for key, value in numbers.items():
        if key in scalars:
            continue
        heading = "#" * min(level, 6)
        if _grid(value):
            out.append(f"{heading} {key}\n\n{grid_table(value, digits)}\n")
        elif value and all(isinstance(v, Mapping) and all(_scalar(x) for x in v.values()) for v in value.values()):
            out.append(f"{heading} {key}\n\n{table(value, digits=digits)}\n")
        else:
            out.append(f"{heading} {key}\n\n{markdown(value, level + 1, digits)}")
    return "\n".join(out).rstrip() + "\n"
