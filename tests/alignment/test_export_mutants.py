"""rlsuite.alignment.export: the task's pairs are sample_pairs' then split_heldout's, with the documented defaults;
the export's files and answer; the gold reward's definition, pinned.

The policy is a tiny random-weight Llama over the task's words (built in the module's fixture, a second),
so sampling 32 rounds of the 24 train prompts takes about a second.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("transformers")

import torch
from safetensors.torch import load_file

from rlsuite.alignment import data as D
from rlsuite.alignment.embedded import default_model_dir
from rlsuite.alignment.evaluate import sample_pairs
from rlsuite.alignment.export import export_task, gold_reward_definition, task_pairs
from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer
from rlsuite.common.errors import UnsafeLoadError
from rlsuite.testing.chat_models import build_chat_model

TRAIN_PROMPTS, _ = D.SentimentTask().split_prompts()


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "policy"
    tok = build_tokenizer(D.SentimentTask.vocabulary())
    build_tiny_causal_lm(tok, hidden_size=16, layers=1, seed=5).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_gold_reward_definition() -> None:
    assert gold_reward_definition() == {
        "reward": "number of positive words minus number of negative words in the completion "
                  "(words split on whitespace)",
        "positive": ["good", "great", "nice", "happy", "lovely", "fine", "superb", "fun"],
        "negative": ["bad", "awful", "poor", "sad", "boring", "ugly", "rude", "dull"],
        "python": "sum(w in positive for w in text.split()) - sum(w in negative for w in text.split())",
    }  # fmt: skip


def test_task_pairs_defaults_are_32_rounds_seed_0_a_tenth_held_out_plain_12_tokens(policy: Path) -> None:
    train, held = task_pairs(policy)
    pairs = sample_pairs(policy, TRAIN_PROMPTS, 32, seed=0, max_new_tokens=12)
    # 32 rounds of the 24 prompts, less the ties the margin rule drops (how many: the device's sampling)
    assert {r["prompt"] for r in pairs} == set(TRAIN_PROMPTS)
    assert (train, held) == D.split_heldout(pairs, 0.1, seed=0)
    assert all(isinstance(r["prompt"], str) for r in train)


def test_task_pairs_passes_its_settings_on(policy: Path) -> None:
    train, held = task_pairs(policy, pair_copies=2, seed=3, heldout_fraction=0.25, max_new_tokens=4)
    pairs = sample_pairs(policy, TRAIN_PROMPTS, 2, seed=3, max_new_tokens=4)
    assert (train, held) == D.split_heldout(pairs, 0.25, seed=3)
    assert (len(train), len(held)) == (26, 9)


def test_task_pairs_without_a_model_samples_the_embedded_one() -> None:
    assert task_pairs(pair_copies=1, max_new_tokens=3) == task_pairs(default_model_dir(), pair_copies=1,
                                                                    max_new_tokens=3)  # fmt: skip


def test_conversational_pairs_have_user_turns(tmp_path: Path) -> None:
    chat = build_chat_model(tmp_path / "chat", hidden_size=16, layers=1)
    train, held = task_pairs(chat, pair_copies=1, max_new_tokens=3, conversational=True)
    shown = {p.strip() for p in TRAIN_PROMPTS}
    assert train and all(r["prompt"] == [{"role": "user", "content": r["prompt"][0]["content"]}] for r in train + held)
    assert all(r["prompt"][0]["content"] in shown for r in train + held)
    assert all(r["chosen"][0]["role"] == "assistant" for r in train + held)


def test_pickled_policies_are_refused_unless_trusted(policy: Path, tmp_path: Path) -> None:
    pickled = tmp_path / "pickled"
    shutil.copytree(policy, pickled, ignore=shutil.ignore_patterns("*.safetensors"))
    torch.save(load_file(str(policy / "model.safetensors")), pickled / "pytorch_model.bin")
    with pytest.raises(UnsafeLoadError, match="holds only pickled weights"):
        task_pairs(pickled, pair_copies=1, max_new_tokens=2)
    trusted = task_pairs(pickled, pair_copies=1, max_new_tokens=2, trust_pickle=True)
    assert trusted == task_pairs(policy, pair_copies=1, max_new_tokens=2)


def test_export_writes_the_split_and_the_gold_reward_into_a_new_or_existing_folder(
    policy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "a" / "b"  # parents made
    answer = export_task(out, model=policy, pair_copies=2, max_new_tokens=3)
    train, held = task_pairs(policy, pair_copies=2, max_new_tokens=3)
    assert answer == {"folder": str(out), "train": 23, "test": 3,
                      "files": ["train.jsonl", "test.jsonl", "gold_reward.json"]}  # fmt: skip
    assert (len(train), len(held)) == (23, 3)
    assert _read(out / "train.jsonl") == train and _read(out / "test.jsonl") == held
    assert json.loads((out / "gold_reward.json").read_text()) == gold_reward_definition()
    assert export_task(out, model=policy, pair_copies=2, max_new_tokens=3) == answer  # an existing folder
