"""``Checkpoint.restore_rng`` round trips (mutation testing): every generator back, the CUDA one only when saved.

A checkpoint of a model on the CPU holds no CUDA generator state: restoring it for a run on a CUDA device
puts torch's, numpy's (global and named) and ``random``'s generators back and leaves CUDA's alone. On a real
GPU (the ``gpu`` job), a checkpoint of a CUDA model puts CUDA's generator back too. The model is a plain
``torch.nn.Linear`` with SGD: the checkpoint is the real one ``train-vlm-policy`` writes.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from rlsuite.vision.checkpoints import Checkpointer, VLMCheckpointOptions


def _draws(gen: np.random.Generator, device: str = "cpu") -> tuple:
    return (torch.rand(3).tolist(), torch.rand(3, device=device).tolist(), np.random.rand(3).tolist(),
            random.random(), gen.random(3).tolist())  # fmt: skip


def _save(folder: Path, device: str, gen: np.random.Generator) -> Checkpointer:
    model = torch.nn.Linear(2, 2).to(device)
    saver = Checkpointer(folder, VLMCheckpointOptions(), key="k")
    saver.save("bc", 1, model, {"bc": torch.optim.SGD(model.parameters(), lr=0.1)}, {"bc": gen}, {}, {})
    return saver


def _scramble(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


@pytest.mark.parametrize("run_on", ["cpu", "cuda"])
def test_a_cpu_checkpoint_puts_every_host_generator_back_for_a_run_on_either_device(tmp_path: Path, run_on) -> None:
    """Restored for a run on CUDA too: the checkpoint holds nothing of CUDA's to restore, and that is no error."""
    _scramble(5)
    gen = np.random.default_rng(7)
    saver = _save(tmp_path, "cpu", gen)
    expected = _draws(gen)
    _scramble(6)
    gen2 = np.random.default_rng(8)
    ckpt = saver.latest()
    assert ckpt is not None and "rng/cuda" not in ckpt.tensors
    ckpt.restore_rng({"bc": gen2}, torch.device(run_on))
    assert _draws(gen2) == expected


@pytest.mark.gpu
def test_a_cuda_checkpoint_puts_the_cuda_generator_back(tmp_path: Path) -> None:
    """Real CUDA: draws on the GPU after the restore repeat those after the save (simulated CUDA draws from the
    host generator, so there this checks the host's round trip only)."""
    _scramble(5)
    torch.cuda.manual_seed(5)
    gen = np.random.default_rng(7)
    saver = _save(tmp_path, "cuda", gen)
    expected = _draws(gen, "cuda")
    _scramble(6)
    torch.cuda.manual_seed(6)
    gen2 = np.random.default_rng(8)
    ckpt = saver.latest()
    assert "rng/cuda" in ckpt.tensors
    ckpt.restore_rng({"bc": gen2}, torch.device("cuda"))
    assert _draws(gen2, "cuda") == expected
