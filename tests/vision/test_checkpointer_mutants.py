"""``Checkpointer`` exactly (mutation testing): its defaults, ``due`` at its bounds, the folders it reads as
checkpoints, what ``save`` writes and logs, and the generator states it keeps.

The model is a plain ``torch.nn.Linear`` with SGD: the checkpoints are the real ones ``train-vlm-policy``
writes. Simulated CUDA (tests/cuda_sim.py) gives a model on a CUDA device without a GPU.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rlsuite.vision.checkpoints import Checkpointer, VLMCheckpointOptions


def save(saver: Checkpointer, stage: str, step: int, state: dict[str, Any] | None = None, device: str = "cpu") -> Path:
    model = torch.nn.Linear(2, 2).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return saver.save(stage, step, model, {stage: opt}, {}, state or {}, {})


def test_defaults_no_key_an_empty_report_and_no_cloning_steps_before_ppo(tmp_path: Path) -> None:
    saver = Checkpointer(tmp_path)
    assert (saver.key, saver.report, saver.bc_steps) == ("", {}, 0)
    path = save(saver, "ppo", 2)
    assert path == tmp_path / "checkpoints" / "step_0000002"
    state = json.loads((path / "state.json").read_text())
    assert (state["stage"], state["step"], state["key"], state["report"]) == ("ppo", 2, "", {})


DUE = [(3, 2, [3, 6, 7], [2, 4, 6, 7]), (0, 1, [], [1, 2, 3, 4, 5, 6, 7]), (1, 0, list(range(1, 8)), [])]


@pytest.mark.parametrize(("bc_every", "ppo_every", "bc_due", "ppo_due"), DUE)
def test_due_every_so_many_steps_and_at_the_last_and_never_at_zero(
    tmp_path: Path, bc_every: int, ppo_every: int, bc_due: list[int], ppo_due: list[int]
) -> None:
    saver = Checkpointer(tmp_path, VLMCheckpointOptions(bc_checkpoint_every=bc_every, checkpoint_every=ppo_every))
    assert [s for s in range(1, 8) if saver.due("bc", s, 7)] == bc_due
    assert [s for s in range(1, 8) if saver.due("ppo", s, 7)] == ppo_due
    assert not any(Checkpointer(None).due(stage, s, 7) for stage in ("bc", "ppo") for s in range(1, 8))


def test_the_newest_checkpoint_is_the_largest_step_number_and_odd_names_are_not_checkpoints(tmp_path: Path) -> None:
    saver = Checkpointer(tmp_path, VLMCheckpointOptions(keep_checkpoints=5), key="k")
    save(saver, "bc", 5)
    save(saver, "bc", 1_000_000)
    assert saver.latest().path.name == "step_1000000"
    shutil.copytree(tmp_path / "checkpoints" / "step_0000005", tmp_path / "checkpoints" / "step_x7")  # not a step
    assert saver.latest().path.name == "step_1000000"
    shutil.move(tmp_path / "checkpoints" / "step_1000000", tmp_path / "checkpoints" / "step_9")  # a step, unpadded
    assert saver.latest().path.name == "step_9"


def test_numpy_numbers_in_the_state_are_written_as_json_numbers(tmp_path: Path) -> None:
    path = save(Checkpointer(tmp_path), "bc", 1, {"n": np.int64(3), "x": np.float32(0.5), "b": np.bool_(True)})
    state = json.loads((path / "state.json").read_text())
    assert (state["n"], state["x"], state["b"]) == (3, 0.5, True)


def test_a_file_named_like_a_checkpoint_does_not_stop_the_older_ones_being_dropped(tmp_path: Path, caplog) -> None:
    """The stray file cannot be removed as a folder: ignored; the older checkpoint folder goes; one debug line."""
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "step_0000001").write_text("not a checkpoint")
    saver = Checkpointer(tmp_path)
    save(saver, "bc", 2)
    with caplog.at_level(logging.DEBUG, logger="rlsuite.vision.checkpoints"):
        path = save(saver, "bc", 3)
    assert sorted(p.name for p in path.parent.iterdir()) == ["step_0000001", "step_0000003"]
    assert caplog.messages == [f"checkpoint {path}"]


def test_numpys_global_key_is_saved_as_int64_exactly(tmp_path: Path) -> None:
    np.random.seed(4)
    keys = np.random.get_state()[1]
    save(Checkpointer(tmp_path), "bc", 1)
    saved = Checkpointer(tmp_path).latest().tensors["rng/numpy_global"]
    assert saved.dtype == torch.int64 and saved.tolist() == keys.tolist()


def test_a_model_on_cuda_has_the_cuda_generator_saved_and_one_on_the_cpu_not(tmp_path: Path) -> None:
    from cuda_sim import simulate_cuda

    with simulate_cuda():
        save(Checkpointer(tmp_path / "cuda"), "bc", 1, device="cuda")
        save(Checkpointer(tmp_path / "cpu"), "bc", 1)
    assert "rng/cuda" in Checkpointer(tmp_path / "cuda").latest().tensors
    assert "rng/cuda" not in Checkpointer(tmp_path / "cpu").latest().tensors
