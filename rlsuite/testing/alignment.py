"""Tiny alignment models for rlsuite's tests, built once per cache and reused across test modules.

Each builder writes its folder atomically under ``$RLSUITE_CACHE/testing/alignment/`` (the tests'
conftest points ``RLSUITE_CACHE`` at a fresh temporary folder per session) and returns it when it
exists already, so several test modules share one SFT model, one reward model, one chat model.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rlsuite.alignment.configs import RewardConfig, SFTConfig
from rlsuite.alignment.data import SentimentTask, split_heldout
from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer
from rlsuite.common.io import atomic_path, write_json
from rlsuite.common.paths import cache_dir

TASK = SentimentTask()


def _root() -> Path:
    return cache_dir("testing", "alignment")


def tiny_base() -> Path:
    """A tiny Llama (random weights, 2 layers, width 64) with the task's word-level tokenizer."""
    path = _root() / "base"
    if not (path / "config.json").is_file():
        with atomic_path(path) as tmp:
            tok = build_tokenizer(TASK.vocabulary())
            build_tiny_causal_lm(tok, "llama", hidden_size=64, layers=2, seed=0).save_pretrained(tmp)
            tok.save_pretrained(tmp)
    return path


def tiny_sft() -> Path:
    """:func:`tiny_base` after 2 epochs of SFT on 768 synthetic records (``.../sft/model``, ``metrics.json``)."""
    from rlsuite.alignment.training import train_sft

    path = _root() / "sft"
    if not (path / "metrics.json").is_file():
        with atomic_path(path) as tmp:
            config = SFTConfig(output_dir=str(tmp), num_train_epochs=2, save_strategy="no", logging_steps=2)
            train_sft(tiny_base(), TASK.sft_dataset(768, seed=0), config)
    return path / "model"


def tiny_pairs() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Gold-labelled pairs sampled from :func:`tiny_sft` on the train prompts: ``(train, held_out)``."""
    import json

    from rlsuite.alignment.evaluate import sample_pairs

    path = _root() / "pairs.json"
    if not path.is_file():
        train_prompts, _ = TASK.split_prompts()
        train, held = split_heldout(sample_pairs(tiny_sft(), train_prompts, copies=24, seed=0), 0.1, seed=0)
        write_json(path, {"train": train, "held": held})
    data = json.loads(path.read_text())
    return data["train"], data["held"]


def tiny_reward_model() -> Path:
    """A reward model trained from :func:`tiny_sft` on :func:`tiny_pairs` (4 epochs)."""
    from rlsuite.alignment.training import train_reward

    path = _root() / "rm"
    if not (path / "metrics.json").is_file():
        with atomic_path(path) as tmp:
            config = RewardConfig(output_dir=str(tmp), num_train_epochs=4, logging_steps=4, save_strategy="no")
            train_reward(tiny_sft(), tiny_pairs()[0], config)
    return path / "model"


def tiny_chat_base() -> Path:
    """The tiny Qwen2 chat model of :mod:`rlsuite.testing.chat_models` (random weights)."""
    from rlsuite.testing.chat_models import build_chat_model

    path = _root() / "chat-base"
    if not (path / "config.json").is_file():
        with atomic_path(path) as tmp:
            build_chat_model(tmp)
    return path


def with_changes(config: Any, **changes: Any) -> Any:
    """A copy of a trainer config with ``changes``, built (and checked) again."""
    given = getattr(config, "_given", None)
    if given is None:
        given = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.init}
    values = dict(given)
    values.update(changes)
    return type(config)(**values)
