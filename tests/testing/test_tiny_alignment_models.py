"""rlsuite.testing.alignment: what each cached tiny model promises (folders, sizes, training records, caching).

The module's fixture points ``RLSUITE_CACHE`` at a fresh folder, so every builder here builds for real
(the session's shared cache may hold the models already); the whole chain takes a few seconds.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rlsuite.alignment.configs import SFTConfig
from rlsuite.alignment.data import SentimentTask, split_heldout
from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer
from rlsuite.common.errors import ConfigError
from rlsuite.testing import alignment as T

TASK = SentimentTask()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh rlsuite cache for this module: its ``testing/alignment`` folder."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RLSUITE_CACHE", str(cache))
        yield cache / "testing" / "alignment"


def _stamp(path: Path) -> tuple[int, int]:
    """A file's inode and mtime: a rebuild (atomic replace) changes both."""
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def _weights_equal(folder: Path, model: torch.nn.Module) -> bool:
    saved, built = load_file(str(folder / "model.safetensors")), model.state_dict()
    return all(torch.equal(saved[k], built[k]) for k in saved)


def _no_temporaries(root: Path) -> None:
    """The atomic writes left no temporary folder (``.name.xxxx``) beside the finished ones."""
    assert [name for name in os.listdir(root) if name.startswith(".")] == []


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def _loss_logs(metrics: dict) -> list[dict]:
    return [e for e in metrics["log_history"] if "loss" in e]


def test_tiny_base_is_a_seeded_two_layer_llama_over_the_task_words_built_once(root: Path) -> None:
    path = T.tiny_base()
    assert path == root / "base"
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    config = json.loads((path / "config.json").read_text())
    tok = build_tokenizer(TASK.vocabulary())
    assert (config["architectures"], config["model_type"]) == (["LlamaForCausalLM"], "llama")
    assert (config["hidden_size"], config["num_hidden_layers"]) == (64, 2)
    assert config["vocab_size"] == len(tok) == len(TASK.vocabulary()) + 3  # <pad>, <eos>, <unk>
    saved = json.loads((path / "tokenizer.json").read_text())["model"]["vocab"]
    assert saved == tok.get_vocab()
    assert _weights_equal(path, build_tiny_causal_lm(tok, "llama", hidden_size=64, layers=2, seed=0))
    assert not _weights_equal(path, build_tiny_causal_lm(tok, "llama", hidden_size=64, layers=2, seed=1))
    before = _stamp(path / "model.safetensors")
    assert T.tiny_base() == path
    assert _stamp(path / "model.safetensors") == before  # cached: not built again
    _no_temporaries(root)


def test_tiny_sft_trains_the_base_two_epochs_on_768_records_and_keeps_no_checkpoints(root: Path) -> None:
    model = T.tiny_sft()
    assert model == root / "sft" / "model"
    assert sorted(p.name for p in (root / "sft").iterdir()) == ["metrics.json", "model"]  # save_strategy "no"
    base = json.loads((T.tiny_base() / "config.json").read_text())
    assert json.loads((model / "config.json").read_text())["architectures"] == base["architectures"]
    metrics = _metrics(root / "sft")
    assert metrics["method"] == "sft"
    assert metrics["global_steps"] == 2 * 768 // 64  # 2 epochs of 768 records in batches of 64
    assert metrics["log_history"][-1]["epoch"] == 2.0
    assert [e["step"] for e in _loss_logs(metrics)] == list(range(2, 25, 2))  # logged every 2 steps
    tok = build_tokenizer(TASK.vocabulary())
    records = TASK.sft_dataset(768, seed=0)  # the records themselves: their tokens (with eos), twice
    assert metrics["tokens"] == 2 * sum(len(tok(r["prompt"] + r["completion"]).input_ids) + 1 for r in records)
    before = _stamp(root / "sft" / "metrics.json")
    assert T.tiny_sft() == model
    assert _stamp(root / "sft" / "metrics.json") == before
    _no_temporaries(root)


def test_tiny_pairs_are_gold_labelled_sft_samples_on_the_train_prompts_with_a_tenth_held_out(root: Path) -> None:
    from rlsuite.alignment.evaluate import sample_pairs

    train, held = T.tiny_pairs()
    assert json.loads((root / "pairs.json").read_text()) == {"train": train, "held": held}
    assert len(held) == round(0.1 * (len(train) + len(held))) and len(train) > len(held)
    train_prompts, _ = TASK.split_prompts()
    for pair in train + held:
        assert pair["prompt"] in train_prompts
        chosen, rejected = TASK.gold_reward([pair["chosen"], pair["rejected"]])
        assert chosen > rejected
    pairs = sample_pairs(T.tiny_sft(), train_prompts, copies=24, seed=0)  # 24 rounds over the train prompts
    assert (train, held) == split_heldout(pairs, 0.1, seed=0)
    before = _stamp(root / "pairs.json")
    assert T.tiny_pairs() == (train, held)
    assert _stamp(root / "pairs.json") == before
    _no_temporaries(root)


def test_tiny_reward_model_trains_four_epochs_on_the_train_pairs(root: Path) -> None:
    model = T.tiny_reward_model()
    assert model == root / "rm" / "model"
    assert sorted(p.name for p in (root / "rm").iterdir()) == ["metrics.json", "model"]
    config = json.loads((model / "config.json").read_text())
    assert config["architectures"] == ["LlamaForSequenceClassification"]
    assert config["id2label"] == {"0": "LABEL_0"}  # one output
    metrics = _metrics(root / "rm")
    steps_per_epoch = math.ceil(len(T.tiny_pairs()[0]) / 32)  # the train pairs, not the held-out ones
    assert metrics["method"] == "reward" and metrics["global_steps"] == 4 * steps_per_epoch
    assert metrics["log_history"][-1]["epoch"] == 4.0
    assert [e["step"] for e in _loss_logs(metrics)] == list(range(4, 4 * steps_per_epoch + 1, 4))
    before = _stamp(root / "rm" / "metrics.json")
    assert T.tiny_reward_model() == model
    assert _stamp(root / "rm" / "metrics.json") == before
    _no_temporaries(root)


def test_tiny_chat_base_is_build_chat_model_cached(root: Path, tmp_path: Path) -> None:
    from rlsuite.testing.chat_models import build_chat_model

    path = T.tiny_chat_base()
    assert path == root / "chat-base"
    reference = build_chat_model(tmp_path / "chat")
    assert sorted(p.name for p in path.iterdir()) == sorted(p.name for p in reference.iterdir())
    for name in ("config.json", "tokenizer.json", "chat_template.jinja"):
        assert (path / name).read_text() == (reference / name).read_text()
    before = _stamp(path / "model.safetensors")
    assert T.tiny_chat_base() == path
    assert _stamp(path / "model.safetensors") == before
    _no_temporaries(root)


def test_with_changes_builds_and_checks_the_config_again(tmp_path: Path) -> None:
    config = SFTConfig(output_dir=str(tmp_path), num_train_epochs=2, logging_steps=2)
    changed = T.with_changes(config, logging_steps=3)
    assert type(changed) is SFTConfig and changed is not config
    assert (changed.output_dir, changed.num_train_epochs, changed.logging_steps) == (str(tmp_path), 2, 3)
    assert config.logging_steps == 2
    with pytest.raises(ConfigError, match="num_train_epochs"):
        T.with_changes(config, num_train_epochs=0)
