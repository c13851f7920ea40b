"""safetensors headers that lie about shapes, offsets or overlap: each refused with its one-line reason."""

from __future__ import annotations

from typing import Any

import pytest

from rlsuite.common.safetensors_header import header_problem


def tensor(begin: int, end: int, shape: list[int], dtype: str = "F32") -> dict[str, Any]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def test_a_true_header_has_no_problem() -> None:
    header = {"__metadata__": {"format": "pt"}, "b": tensor(24, 26, [1], "BF16"), "a": tensor(0, 24, [2, 3]),
              "empty": tensor(26, 26, [0, 5], "I64"), "scalar": tensor(26, 27, [], "BOOL")}  # fmt: skip
    assert header_problem(header) is None
    assert header_problem({"x": tensor(0, 8, [1], "F64"), "y": tensor(8, 16, [2], "U32")}) is None  # touching


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ([], "its header is not a mapping"),
        ({"w": [0, 4]}, "tensor 'w' has no description"),
        ({"w": {"dtype": "F32", "shape": [1]}}, "tensor 'w' has no data offsets"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, "tensor 'w' has no data offsets"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}, "tensor 'w' has no data offsets"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.0]}}, "tensor 'w' has no data offsets"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": (0, 4)}}, "tensor 'w' has no data offsets"),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [True, 4]}}, "tensor 'w' has no data offsets"),
        ({"w": tensor(0, 4, [-1])}, "tensor 'w' has a bad shape [-1]"),
        ({"w": tensor(0, 4, [1.0])}, "tensor 'w' has a bad shape [1.0]"),
        ({"w": {"dtype": "F32", "shape": (1,), "data_offsets": [0, 4]}}, "tensor 'w' has a bad shape (1,)"),
        ({"w": tensor(0, 4, [1], "F33")}, "tensor 'w' has an unknown dtype 'F33'"),
        ({"w": tensor(8, 4, [1])}, "tensor 'w' has offsets that run backwards (8, 4)"),
        ({"w": tensor(-4, 0, [1])}, "tensor 'w' has offsets that run backwards (-4, 0)"),
        ({"w": tensor(0, 4, [2, 3])}, "tensor 'w': shape [2, 3] of F32 needs 24 bytes, its offsets give 4"),
        ({"a": tensor(0, 8, [2]), "b": tensor(4, 12, [2])}, "tensors 'a' and 'b' overlap"),
        ({"b": tensor(7, 15, [2]), "a": tensor(0, 8, [2])}, "tensors 'a' and 'b' overlap"),
    ],
)
def test_a_lying_header_is_named(header: Any, problem: str) -> None:
    assert header_problem(header) == problem


def test_every_dtype_has_its_size() -> None:
    sizes = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
             "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}  # fmt: skip
    for dtype, size in sizes.items():
        assert header_problem({"w": tensor(0, 3 * size, [3], dtype)}) is None


def test_the_metadata_entry_is_skipped_and_the_tensors_after_it_are_checked() -> None:
    assert header_problem({"__metadata__": {"format": "pt"}, "x": "bad"}) == "tensor 'x' has no description"


def test_a_size_mismatch_names_the_bytes_between_the_offsets() -> None:
    header = {"x": {"dtype": "F32", "shape": [2], "data_offsets": [8, 12]}}
    assert header_problem(header) == "tensor 'x': shape [2] of F32 needs 8 bytes, its offsets give 4"
