"""The embedded default model: built with transformers' full determinism, which must not leak (issue 22)."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("trl")

from rlsuite.alignment.embedded import default_model_dir, default_recipe

# the embedded recipe, shrunk to a seconds-long build
TINY = {**default_recipe(), "hidden_size": 16, "layers": 1, "sft_examples": 64, "sft_epochs": 1, "batch": 32}


def test_building_the_embedded_model_leaves_torch_and_the_environment_as_they_were() -> None:
    import torch

    def flags() -> tuple[bool, bool, bool]:
        cudnn = torch.backends.cudnn
        return torch.are_deterministic_algorithms_enabled(), cudnn.deterministic, cudnn.benchmark

    before, environ = flags(), dict(os.environ)
    folder = default_model_dir(TINY)
    assert (folder / "config.json").is_file() and (folder.parent.parent / "recipe.json").is_file()
    # no deterministic mode, no CUBLAS_WORKSPACE_CONFIG / CUDA_LAUNCH_BLOCKING for later work and children
    assert flags() == before and dict(os.environ) == environ
