"""What a safetensors header may claim: each tensor's bytes match its dtype and shape, none overlap.

A header that lies (a shape larger than its bytes, two tensors over the same bytes, offsets that run
backwards) makes safetensors or torch fail deep inside with a traceback, or read garbage; checked
here from the header alone, with a one-line reason.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}  # fmt: skip


def header_problem(header: Any) -> str | None:
    """Why a parsed safetensors header cannot be right, or None when it can."""
    if not isinstance(header, dict):
        return "its header is not a mapping"
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict):
            return f"tensor {name!r} has no description"
        offsets, shape, dtype = info.get("data_offsets"), info.get("shape"), info.get("dtype")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            return f"tensor {name!r} has no data offsets"
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
            return f"tensor {name!r} has a bad shape {shape!r}"
        if dtype not in DTYPE_BYTES:
            return f"tensor {name!r} has an unknown dtype {dtype!r}"
        begin, end = offsets
        if not 0 <= begin <= end:
            return f"tensor {name!r} has offsets that run backwards ({begin}, {end})"
        if math.prod(shape) * DTYPE_BYTES[dtype] != end - begin:
            return f"tensor {name!r}: shape {shape} of {dtype} needs {math.prod(shape) * DTYPE_BYTES[dtype]} bytes, " \
                   f"its offsets give {end - begin}"  # fmt: skip
        spans.append((begin, end, name))
    spans.sort()
    for (_, end_a, a), (begin_b, _, b) in itertools.pairwise(spans):
        if begin_b < end_a:
            return f"tensors {a!r} and {b!r} overlap"
    return None
