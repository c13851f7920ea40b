"""rlsuite.alignment.embedded, built for real: folder names, the recipe, what the SFT'd model is, caching.

The session's cache (tests/conftest.py) may hold the embedded models already, and then nothing is built: the
module's fixture points ``RLSUITE_CACHE`` at a fresh folder, so every build here runs (the default recipe
in about 5 s, the shrunk ones in under a second each).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

import torch
from safetensors.torch import load_file

from rlsuite.alignment.configs import SFTConfig
from rlsuite.alignment.data import SentimentTask
from rlsuite.alignment.embedded import (
    DEFAULT_VERSION,
    default_base_dir,
    default_model_dir,
    default_recipe,
    is_built,
    model_folder,
)
from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer
from rlsuite.alignment.training import train_sft

TASK = SentimentTask()
# shrunk, and unlike the default (and SFTConfig's defaults) in every training value, so each one is seen
SMALL = {**default_recipe(), "hidden_size": 16, "layers": 1, "seed": 3, "sft_examples": 64, "sft_epochs": 2,
         "lr": 1e-2, "batch": 16}  # fmt: skip
TINY = {**default_recipe(), "hidden_size": 16, "layers": 1, "sft_examples": 64, "sft_epochs": 1, "batch": 32}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh rlsuite cache for this module."""
    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RLSUITE_CACHE", str(path))
        yield path


def _flags() -> tuple[Any, ...]:
    cudnn = torch.backends.cudnn
    return (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
            cudnn.deterministic, cudnn.benchmark)  # fmt: skip


@pytest.fixture(scope="module")
def small(cache: Path) -> dict[str, Any]:
    """SMALL built once: its folder, whether it was built before, and torch's flags/environment around it."""
    before, environ, built_before = _flags(), dict(os.environ), is_built(SMALL)
    folder = default_model_dir(SMALL)
    return {"folder": folder, "built_before": built_before, "flags": (before, _flags()),
            "environ": (environ, dict(os.environ))}  # fmt: skip


@pytest.fixture(scope="module")
def default(cache: Path) -> Path:
    """The default embedded model, built in the fresh cache."""
    return default_model_dir()


def _no_temporaries(cache: Path) -> None:
    """The atomic writes left no temporary folder (``.name.xxxx``) beside the finished ones."""
    assert [name for name in os.listdir(cache / "alignment") if name.startswith(".")] == []


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def _same_weights(saved: dict[str, torch.Tensor], other: dict[str, torch.Tensor]) -> bool:
    """Every saved tensor equals ``other``'s (a state dict also holds the tied lm_head, not saved)."""
    return all(torch.equal(saved[k], other[k]) for k in saved)


def test_the_default_recipe_is_pinned_with_its_version() -> None:
    """A change of the default recipe must bump DEFAULT_VERSION (a new cache folder): update both here."""
    assert (DEFAULT_VERSION, default_recipe()) == ("v1", {
        "version": "v1", "arch": "llama", "hidden_size": 64, "layers": 2, "seed": 0, "sft_examples": 2048,
        "sft_epochs": 3, "lr": 3e-3, "batch": 64})  # fmt: skip
    assert list(default_recipe()) == ["version", "arch", "hidden_size", "layers", "seed", "sft_examples",
                                      "sft_epochs", "lr", "batch"]  # fmt: skip


def test_model_folder_is_named_by_the_arch_and_a_hash_of_the_sorted_recipe(cache: Path) -> None:
    root = cache / "alignment"
    assert model_folder() == model_folder(None) == root / "tiny-llama-6e43edd742" / "sft" / "model"
    assert model_folder(default_recipe()) == model_folder()
    assert model_folder(TINY) == root / "tiny-llama-b587ac586a" / "sft" / "model"
    assert model_folder(SMALL) == root / "tiny-llama-6ad68d42aa" / "sft" / "model"
    # the keys' order does not matter, the arch names the folder
    assert model_folder(dict(reversed(list(TINY.items())))) == model_folder(TINY)
    assert model_folder({**TINY, "arch": "qwen2"}).parent.parent.name.startswith("tiny-qwen2-")


def test_a_build_writes_base_sft_and_recipe_atomically(cache: Path, small: dict[str, Any]) -> None:
    folder = default_model_dir(SMALL)  # each test calls the builder itself (built: it returns the folder), so
    final = folder.parent.parent  # that mutmut, which runs the tests that call a function, runs every one here
    assert folder == small["folder"]
    assert not small["built_before"] and is_built(SMALL) and not is_built(TINY)
    assert folder == model_folder(SMALL) == final / "sft" / "model"
    assert sorted(p.name for p in final.iterdir()) == ["base", "recipe.json", "sft"]
    assert json.loads((final / "recipe.json").read_text()) == SMALL
    assert sorted(p.name for p in (final / "sft").iterdir()) == ["metrics.json", "model"]  # no checkpoints
    assert sorted(p.name for p in (final / "base").iterdir()) == [
        "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    assert (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file()
    _no_temporaries(cache)


def test_full_determinism_is_put_back_after_a_build(small: dict[str, Any]) -> None:
    assert default_model_dir(SMALL) == small["folder"]
    before, after = small["flags"]
    assert after == before
    environ_before, environ_after = small["environ"]
    assert environ_after == environ_before  # no CUBLAS_WORKSPACE_CONFIG / CUDA_LAUNCH_BLOCKING left behind


def test_the_built_base_is_the_seeded_recipe_model_over_the_task_words(small: dict[str, Any]) -> None:
    base = default_model_dir(SMALL).parent.parent / "base"
    tok = build_tokenizer(TASK.vocabulary())
    config = json.loads((base / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("llama", 16, 1)
    assert json.loads((base / "tokenizer.json").read_text())["model"]["vocab"] == tok.get_vocab()
    assert _same_weights(_weights(base), build_tiny_causal_lm(tok, "llama", 16, 1, seed=3).state_dict())


def test_the_built_sft_model_is_the_recipe_sft_of_the_base(small: dict[str, Any], tmp_path: Path) -> None:
    """The SFT'd weights are exactly those of train_sft with the recipe's values (seed, data, epochs, lr, batch).

    The reproduction runs without full determinism: on the CPU it changes no bit (it is for CUDA kernels)."""
    folder = default_model_dir(SMALL)
    config = json.loads((folder / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("llama", 16, 1)
    metrics = json.loads((folder.parent / "metrics.json").read_text())
    assert (metrics["method"], metrics["global_steps"]) == ("sft", 8)  # 64 examples / 16 a batch * 2 epochs
    assert [e["learning_rate"] for e in metrics["log_history"] if "loss" in e] == [1e-2]  # logged at step 5
    tok = build_tokenizer(TASK.vocabulary())
    build_tiny_causal_lm(tok, "llama", 16, 1, seed=3).save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    again = SFTConfig(output_dir=str(tmp_path / "sft"), num_train_epochs=2, learning_rate=1e-2,
                      per_device_train_batch_size=16, seed=3, save_strategy="no")  # fmt: skip
    train_sft(tmp_path / "base", TASK.sft_dataset(64, seed=3), again)
    assert _same_weights(_weights(folder), _weights(tmp_path / "sft" / "model"))
    assert not _same_weights(_weights(folder), _weights(folder.parent.parent / "base"))


def test_a_built_model_is_reused_and_a_build_says_so_once(
    cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path))
    final = tmp_path / "alignment" / "tiny-llama-b587ac586a"
    with caplog.at_level(logging.INFO, logger="rlsuite.alignment.embedded"):
        assert not is_built(TINY)
        assert default_model_dir(TINY) == final / "sft" / "model"
        assert is_built(TINY)
        stamp = (final / "sft" / "model" / "model.safetensors").stat().st_mtime_ns
        assert default_model_dir(TINY) == final / "sft" / "model"
    assert (final / "sft" / "model" / "model.safetensors").stat().st_mtime_ns == stamp  # not built again
    messages = [r.getMessage() for r in caplog.records if r.name == "rlsuite.alignment.embedded"]
    assert messages == [f"building the embedded tiny model once (cached in {final})"]


def test_a_file_size_limit_is_an_os_error_naming_the_cache_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The weights' write fails with EFBIG (as under ``ulimit -f``): an OSError naming the model's folder,
    nothing left behind, nothing built."""
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4000, hard))  # the configs fit, the weights do not
    try:
        with pytest.raises(OSError) as caught:
            default_model_dir(TINY)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    final = tmp_path / "alignment" / "tiny-llama-b587ac586a"
    assert (caught.value.errno, caught.value.filename) == (errno.EFBIG, str(final))
    assert os.listdir(tmp_path / "alignment") == [] and not is_built(TINY)


def test_the_default_build_and_its_base(cache: Path, default: Path) -> None:
    final = cache / "alignment" / "tiny-llama-6e43edd742"
    assert default_model_dir() == default
    assert default == final / "sft" / "model" and is_built() and is_built(None)
    assert json.loads((final / "recipe.json").read_text()) == default_recipe()
    config = json.loads((default / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("llama", 64, 2)
    metrics = json.loads((final / "sft" / "metrics.json").read_text())
    assert metrics["global_steps"] == 96  # 2048 examples / 64 a batch * 3 epochs
    assert default_base_dir() == final / "base"
    tok = build_tokenizer(TASK.vocabulary())
    assert _same_weights(_weights(final / "base"), build_tiny_causal_lm(tok, "llama", 64, 2, seed=0).state_dict())
    _no_temporaries(cache)
