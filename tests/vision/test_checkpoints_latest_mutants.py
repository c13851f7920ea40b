"""``Checkpointer.latest`` and ``.check`` (mutation testing): no folder, a killed save's leftovers, other settings.

The checkpoints are real ones of a ``torch.nn.Linear`` with SGD (test_checkpoints_rng_mutants.py's ``_save``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from test_checkpoints_rng_mutants import _save

from rlsuite.common.errors import OutputDirError
from rlsuite.vision.checkpoints import Checkpointer, VLMCheckpointOptions


def test_no_folder_has_no_checkpoint() -> None:
    assert Checkpointer(None).latest() is None and Checkpointer(None).check() is None


def test_a_killed_saves_leftovers_are_removed_and_one_that_is_no_folder_is_no_error(tmp_path: Path) -> None:
    _save(tmp_path, "cpu", np.random.default_rng(0))
    checkpoints = tmp_path / "checkpoints"
    (checkpoints / ".step_0000002.tmp").mkdir()
    (checkpoints / ".step_0000002.tmp" / "weights.safetensors").write_bytes(b"half written")
    (checkpoints / ".step_0000003.x").write_text("a file, not a folder")  # rmtree cannot remove it: ignored
    found = Checkpointer(tmp_path, VLMCheckpointOptions(), key="k").latest()
    assert found is not None and (found.path.name, found.stage, found.step) == ("step_0000001", "bc", 1)
    assert sorted(p.name for p in checkpoints.iterdir()) == [".step_0000003.x", "step_0000001"]


def test_a_checkpoint_of_other_settings_names_both_keys(tmp_path: Path) -> None:
    _save(tmp_path, "cpu", np.random.default_rng(0))
    path = tmp_path / "checkpoints" / "step_0000001"
    message = (f"{path}: a checkpoint of other settings (key k, these other); --resume continues a run with the "
               "settings it started with (or pass --overwrite)")  # fmt: skip
    with pytest.raises(OutputDirError, match="^" + re.escape(message) + "$"):
        Checkpointer(tmp_path, VLMCheckpointOptions(), key="other").check()
