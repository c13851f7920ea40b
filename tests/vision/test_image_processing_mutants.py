"""The Kimi-K2.5 image processor's PIL port against transformers' own arithmetic (issue 26, mutation testing).

``navit_resize`` is compared with the function transformers ships (read from its source: the module imports
torchvision, which cannot be installed here) over a grid of sizes, patch budgets and per-side limits.
"""

from __future__ import annotations

import ast
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import transformers
from transformers.image_utils import PILImageResampling

from rlsuite.vision.image_processing import Kimi_K25ImageProcessorPil, navit_resize


def upstream_navit_resize():
    """transformers.models.kimi_k25.image_processing_kimi_k25.navit_resize, compiled from its source alone."""
    source = Path(transformers.__file__).parent / "models" / "kimi_k25" / "image_processing_kimi_k25.py"
    tree = ast.parse(source.read_text())
    (fn,) = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "navit_resize"]
    namespace: dict = {"math": math}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(source), "exec"), namespace)
    return namespace["navit_resize"]


def test_navit_resize_is_transformers_arithmetic_over_a_grid() -> None:
    reference = upstream_navit_resize()
    sizes = [1, 3, 13, 14, 15, 27, 28, 29, 55, 100, 223, 512, 1000]
    for h, w, patch, merge, budget, side in itertools.product(sizes, sizes, [4, 14], [1, 2], [1, 2, 6, 64, 16384],
                                                              [1, 3, 16]):  # fmt: skip
        assert navit_resize(h, w, patch, merge, budget, side) == reference(h, w, patch, merge, budget, side), (
            h, w, patch, merge, budget, side)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((20, 30, 4, 2, 16384, 8), ((20, 30), (24, 32))),  # within every budget: padded only
        ((20, 30, 4, 2, 6, 8), ((8, 12), (8, 16))),  # 5 x 7 patches over a budget of 6: scale sqrt(6/35)
        ((1, 1, 14, 2, 16384, 16), ((1, 1), (28, 28))),  # smaller than one patch: never upscaled
        ((600, 50, 14, 2, 16384, 16), ((224, 18), (224, 28))),  # the per-side limit: 16 patches of 14
    ],
)
def test_navit_resize_by_hand(args, expected) -> None:
    assert navit_resize(*args) == expected


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)


def processor() -> Kimi_K25ImageProcessorPil:
    return Kimi_K25ImageProcessorPil(patch_size=4, merge_size=2, size={"max_height": 8, "max_width": 8}, max_patches=6)


def test_the_resampling_asked_for_is_used(image) -> None:
    """Nearest-neighbour shrinking keeps input pixels: each value is one of the image's, rescaled and normalised."""
    nearest = processor()(images=[image], resample=PILImageResampling.NEAREST)
    bicubic = processor()(images=[image])
    assert nearest["pixel_values"].dtype == np.float32 and bicubic["pixel_values"].dtype == np.float32
    assert nearest["image_grid_thw"].tolist() == [[1, 2, 4]]  # navit_resize: 8 x 12 -> padded 8 x 16
    patches = nearest["pixel_values"]  # [8, 3, 4, 4]: rows of 4 patches
    frame = patches.reshape(2, 4, 3, 4, 4).transpose(2, 0, 3, 1, 4).reshape(3, 8, 16)
    resized = frame[:, :, :12]
    allowed = {round((v / 255 - 0.5) / 0.5, 5) for v in range(256)}
    assert {round(float(x), 5) for x in np.unique(resized)} <= allowed
    for c in range(3):  # nearest picks pixels of the same channel
        values = {round((v / 255 - 0.5) / 0.5, 5) for v in np.unique(image[..., c]).tolist()}
        assert {round(float(x), 5) for x in np.unique(resized[c])} <= values
    np.testing.assert_array_equal(frame[:, :, 12:], np.full((3, 8, 4), -1.0, np.float32))  # zero padding, normalised
    assert not np.array_equal(nearest["pixel_values"], bicubic["pixel_values"])


def test_unequal_max_sides_are_refused(image) -> None:
    with pytest.raises(ValueError, match="size must have equal 'max_height' and 'max_width'"):
        processor()(images=[image], size={"max_height": 8, "max_width": 16})


def test_the_base_checks_still_run(image) -> None:
    with pytest.raises(ValueError, match="rescale_factor"):
        processor()(images=[image], rescale_factor=None)
