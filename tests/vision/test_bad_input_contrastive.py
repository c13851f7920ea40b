"""ContrastiveTrainConfig's cross-field check, word for word (mutation testing): the class, the field, the pixels."""

from __future__ import annotations

import pytest

from rlsuite.common.errors import ConfigError
from rlsuite.vision.contrastive import ContrastiveTrainConfig


@pytest.mark.parametrize(("size", "cell_px", "pixels"), [(5, 10, 50), (3, 5, 15)])
def test_a_frame_not_made_of_whole_patches_is_refused_with_its_size(size: int, cell_px: int, pixels: int) -> None:
    with pytest.raises(ConfigError) as caught:
        ContrastiveTrainConfig(size=size, cell_px=cell_px)
    want = f"ContrastiveTrainConfig.cell_px: size * cell_px = {pixels} pixels is not a multiple of 8"
    assert str(caught.value) == want
    assert (caught.value.field, caught.value.value) == ("cell_px", cell_px)
