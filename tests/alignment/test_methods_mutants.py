"""rlsuite.alignment.methods: what a method needs of its reward (the exact one-line errors, the field they name,
trusted pickles passed on), the data it loads (columns passed on) and what it trains on (the user's records, an
online method's unique prompts, the synthetic task's records, prompts and sampled pairs with the seed and trust
given); training.losses of metrics without a log.

A tiny random-weight Llama (width 16, one layer) over the task's words, and a reward model made from it, each also
as a folder whose only weights are pickled (built in the module's fixture); no training.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

from model_folders import pickled_copy

from rlsuite.alignment.data import Columns, SentimentTask, user_turn
from rlsuite.alignment.evaluate import sample_pairs
from rlsuite.alignment.methods import METHODS, load_data, training_data
from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer
from rlsuite.alignment.training import losses
from rlsuite.common.errors import ConfigError, UnsafeLoadError

TASK = SentimentTask()
TRAIN_PROMPTS, _ = TASK.split_prompts()
GOLD_HINT = ("{}: --reward_model must be a reward-model folder (its value model starts from it); for the gold reward "
             "use rloo, grpo or online_dpo")  # fmt: skip


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``policy`` (safetensors) and ``pickled`` (the same weights, pickled) causal LMs; ``rm``: a one-output
    sequence classifier made from the policy, its weights pickled."""
    from transformers import AutoModelForSequenceClassification

    root = tmp_path_factory.mktemp("methods")
    tok = build_tokenizer(TASK.vocabulary())
    build_tiny_causal_lm(tok, "llama", hidden_size=16, layers=1, seed=0).save_pretrained(root / "policy")
    tok.save_pretrained(root / "policy")
    rm = AutoModelForSequenceClassification.from_pretrained(str(root / "policy"), num_labels=1)
    rm.save_pretrained(root / "rm-safe")
    tok.save_pretrained(root / "rm-safe")
    return {"policy": root / "policy", "pickled": pickled_copy(root / "policy", root / "pickled"),
            "rm": pickled_copy(root / "rm-safe", root / "rm")}


@pytest.mark.parametrize(("name", "hint"), [("grpo", ", or gold"), ("rloo", ", or gold"), ("online_dpo", ", or gold"),
                                            ("ppo", "")])  # fmt: skip
def test_a_missing_reward_is_one_line_naming_the_field(name: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        METHODS[name].check_reward(None)
    assert str(info.value) == f"{name}: --reward_model is required (a reward-model folder{hint})"
    assert info.value.field == "reward_model_path"


def test_ppo_refuses_the_gold_reward_but_not_a_reward_function_named_gold() -> None:
    with pytest.raises(ConfigError) as info:
        METHODS["ppo"].check_reward("gold")
    assert str(info.value) == GOLD_HINT.format("ppo")
    assert info.value.field == "reward_model_path"

    class Gold:  # a reward function whose name prints as the word: a function, not the gold reward's spelling
        def __call__(self, completions: list[str]) -> list[float]:
            return [0.0] * len(completions)

        def __str__(self) -> str:
            return "gold"

    METHODS["ppo"].check_reward(Gold())
    METHODS["grpo"].check_reward("gold")
    METHODS["dpo"].check_reward(None)  # offline: no reward to check


@pytest.mark.parametrize("name", ["grpo", "ppo"])
def test_a_pickled_reward_model_needs_trust(name: str, folders: dict[str, Path]) -> None:
    with pytest.raises(UnsafeLoadError, match="holds only pickled weights"):
        METHODS[name].check_reward(folders["rm"])
    METHODS[name].check_reward(folders["rm"], trust_pickle=True)


def test_sft_data_is_read_through_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "sft.jsonl"
    path.write_text("\n".join(json.dumps({"question": p, "answer": " good"}) for p in TRAIN_PROMPTS[:3]) + "\n")
    records = load_data(METHODS["sft"], path, Columns(prompt_column="question", completion_column="answer"))
    assert records == [{"prompt": p, "completion": " good"} for p in TRAIN_PROMPTS[:3]]


@pytest.mark.parametrize("conversational", [False, True])
def test_sft_trains_on_the_users_records_else_the_tasks(conversational: bool, folders: dict[str, Path]) -> None:
    mine = [{"prompt": "a", "completion": " b"}]
    assert training_data(METHODS["sft"], mine, folders["policy"], conversational, seed=5) == mine
    assert training_data(METHODS["sft"], None, folders["policy"], conversational, seed=5) == \
        TASK.sft_dataset(2048, seed=5, conversational=conversational)
    assert TASK.sft_dataset(2048, seed=5) != TASK.sft_dataset(2048, seed=6)  # the seed matters


def test_an_online_method_trains_on_the_unique_prompts(folders: dict[str, Path]) -> None:
    assert training_data(METHODS["grpo"], None, folders["policy"], False, seed=0) == TRAIN_PROMPTS
    assert training_data(METHODS["ppo"], None, folders["policy"], True, seed=0) == [user_turn(p) for p in TRAIN_PROMPTS]
    records = [{"prompt": "x", "chosen": " a", "rejected": " b"}, {"prompt": user_turn("y"), "completion": " c"},
               {"prompt": "z", "chosen": " a", "rejected": " b"}, {"prompt": "x", "chosen": " c", "rejected": " d"},
               {"prompt": user_turn("y"), "completion": " d"}]  # fmt: skip
    for conversational in (False, True):
        assert training_data(METHODS["rloo"], records, folders["policy"], conversational, seed=0) == \
            ["x", user_turn("y"), "z"]


def test_offline_methods_train_on_the_users_pairs_else_pairs_sampled_with_seed_and_trust(
        folders: dict[str, Path]) -> None:
    pairs = [{"prompt": "x", "chosen": " a", "rejected": " b"}]
    assert training_data(METHODS["dpo"], pairs, folders["pickled"], False, seed=0) == pairs  # not loaded
    with pytest.raises(UnsafeLoadError, match="holds only pickled weights"):
        training_data(METHODS["dpo"], None, folders["pickled"], False, seed=3)
    sampled = training_data(METHODS["dpo"], None, folders["pickled"], False, seed=3, trust_pickle=True)
    expected = sample_pairs(folders["policy"], TRAIN_PROMPTS, 24, seed=3)
    assert sampled == expected and sampled != sample_pairs(folders["policy"], TRAIN_PROMPTS, 24, seed=0)


def test_losses_of_metrics_without_a_log() -> None:
    assert losses({}) == []
    assert losses({"log_history": [{"loss": 1.5}, {"eval_loss": 2.0}, {"loss": 0.5}]}) == [1.5, 0.5]
    metrics: dict[str, Any] = {"log_history": [{"loss": 1.5}, {"eval_loss": 2.0}]}
    assert losses(metrics, "eval_loss") == [2.0]


def test_train_passes_the_model_config_and_resume_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import dataclasses

    from rlsuite.alignment import methods as M
    from rlsuite.alignment.configs import DPOConfig, ModelConfig

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setitem(M.METHODS, "dpo", dataclasses.replace(
        M.METHODS["dpo"], train=lambda *a, **kw: calls.append((a, kw)) or {"done": True}))  # fmt: skip
    config, model_config, pairs = DPOConfig(output_dir=str(tmp_path)), ModelConfig(), [{"prompt": "p"}]
    assert M.train(config, "/m", pairs, model_config=model_config) == {"done": True}
    M.train(config, "/m", pairs, resume=True)
    assert calls == [(("/m", pairs, config), {"model_config": model_config, "resume": False}),
                     (("/m", pairs, config), {"model_config": None, "resume": True})]  # fmt: skip


def test_unpaired_records_are_data_for_kto_only_and_columns_are_read(tmp_path: Path) -> None:
    from rlsuite.common.errors import DataError

    path = tmp_path / "unpaired.jsonl"
    path.write_text(json.dumps({"q": "p", "completion": " good", "label": True}) + "\n")
    columns = Columns(prompt_column="q")
    assert load_data(METHODS["kto"], path, columns) == [{"prompt": "p", "completion": " good", "label": True}]
    with pytest.raises(DataError, match="an unpaired prompt/completion/label record; only kto and bco train on"):
        load_data(METHODS["dpo"], path, columns)
    with pytest.raises(DataError, match=r"no column 'y' \(--label_column\)"):
        load_data(METHODS["kto"], tmp_path / "unpaired.jsonl", Columns(prompt_column="q", label_column="y"))


def test_an_online_method_is_given_its_reward_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import dataclasses

    from rlsuite.alignment import methods as M
    from rlsuite.alignment.configs import GRPOConfig, ModelConfig

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setitem(M.METHODS, "grpo", dataclasses.replace(
        M.METHODS["grpo"], train=lambda *a, **kw: calls.append((a, kw)) or {"done": True}))  # fmt: skip
    config, model_config = GRPOConfig(output_dir=str(tmp_path)), ModelConfig()
    assert M.train(config, "/m", ["p"], reward="gold", model_config=model_config, resume=True) == {"done": True}
    assert calls == [(("/m", ["p"], config, "gold"), {"model_config": model_config, "resume": True})]


def test_a_given_model_is_the_start_whatever_the_method(tmp_path: Path) -> None:
    from rlsuite.alignment.methods import start_model

    assert start_model(METHODS["sft"], tmp_path / "mine") == tmp_path / "mine"
    assert start_model(METHODS["dpo"], str(tmp_path / "mine")) == tmp_path / "mine"
