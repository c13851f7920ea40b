"""The embedded default model: a tiny Llama with a word-level tokenizer, SFT'd on the synthetic task.

It needs no network: the tokenizer is built with ``tokenizers`` over the task's vocabulary, the
model from a config, and TRL's ``SFTTrainer`` fine-tunes it deterministically. The result is cached
under ``$RLSUITE_CACHE/alignment/tiny-llama-<hash of the recipe>/`` and reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from rlsuite.alignment.configs import SFTConfig
from rlsuite.alignment.data import SentimentTask
from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer
from rlsuite.alignment.training import train_sft
from rlsuite.common.io import atomic_path, safetensors_os_errors, write_json
from rlsuite.common.paths import cache_dir
from rlsuite.common.seeding import torch_globals_kept

log = logging.getLogger(__name__)

DEFAULT_VERSION = "v1"  # bump when the embedded default's recipe changes


def default_recipe() -> dict[str, Any]:
    """The embedded default's recipe; its hash names the cache folder."""
    return {
        "version": DEFAULT_VERSION,
        "arch": "llama",
        "hidden_size": 64,
        "layers": 2,
        "seed": 0,
        "sft_examples": 2048,
        "sft_epochs": 3,
        "lr": 3e-3,
        "batch": 64,
    }


def model_folder(recipe: dict[str, Any] | None = None) -> Path:
    """Where the embedded SFT'd tiny model is (or will be, once built): ``.../tiny-llama-<hash>/sft/model``."""
    recipe = default_recipe() if recipe is None else recipe
    key = hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:10]
    return cache_dir("alignment") / f"tiny-{recipe['arch']}-{key}" / "sft" / "model"


def is_built(recipe: dict[str, Any] | None = None) -> bool:
    """Whether the embedded model has been built in this cache."""
    return (model_folder(recipe) / "config.json").is_file()


def default_model_dir(recipe: dict[str, Any] | None = None) -> Path:
    """Build (once) and return the folder of the embedded SFT'd tiny model (``.../sft/model``).

    ``recipe`` (default: :func:`default_recipe`) may shrink the build, as tests do. The SFT runs with
    transformers' ``full_determinism``, which turns on torch's deterministic mode process-wide and writes
    ``CUBLAS_WORKSPACE_CONFIG`` and ``CUDA_LAUNCH_BLOCKING`` into the environment: both are put back
    afterwards (``torch_globals_kept``), so later CUDA work in this process and its children is unaffected.
    """
    recipe = default_recipe() if recipe is None else recipe
    final = model_folder(recipe).parent.parent
    if is_built(recipe):
        return model_folder(recipe)
    log.info("building the embedded tiny model once (cached in %s)", final)
    task = SentimentTask()
    with safetensors_os_errors(final), atomic_path(final) as tmp:  # a full disk: one line naming the cache
        tok = build_tokenizer(task.vocabulary())
        base = build_tiny_causal_lm(tok, recipe["arch"], recipe["hidden_size"], recipe["layers"], recipe["seed"])
        base.save_pretrained(tmp / "base")
        tok.save_pretrained(tmp / "base")
        config = SFTConfig(
            output_dir=str(tmp / "sft"),
            num_train_epochs=recipe["sft_epochs"],
            learning_rate=recipe["lr"],
            per_device_train_batch_size=recipe["batch"],
            seed=recipe["seed"],
            save_strategy="no",
            data_seed=recipe["seed"],
            full_determinism=True,
        )
        with torch_globals_kept():
            train_sft(tmp / "base", task.sft_dataset(recipe["sft_examples"], seed=recipe["seed"]), config)
        write_json(tmp / "recipe.json", recipe)
    return final / "sft" / "model"


def default_base_dir() -> Path:
    """The embedded model before SFT (random weights), for ``align sft`` without ``--model``."""
    return default_model_dir().parent.parent / "base"
