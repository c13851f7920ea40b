"""Frames as the vision models take them, to the letter (mutation-testing survivors)."""

from __future__ import annotations

import numpy as np
import pytest

from rlsuite.vision.images import as_frames


def test_errors_name_the_argument_images_by_default() -> None:
    with pytest.raises(ValueError, match=r"^images: "):
        as_frames(np.zeros((2, 3)))


class _DeviceArray:
    """An array-like (``__array__``) that has a ``cpu`` attribute but is no torch tensor (no ``detach``)."""

    cpu = "the device it lives on"

    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        return self.data


def test_an_array_like_with_a_cpu_attribute_is_read_through_its_array_interface() -> None:
    frame = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    batch, single = as_frames(_DeviceArray(frame))
    assert single and batch.shape == (1, 4, 4, 3)
    np.testing.assert_array_equal(batch[0], frame)
