"""Alignment data and measurements: the preference loader, pair labelling, vocabulary coverage, chat
rendering, and the evaluation's win rate and KL checked against independent computations."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")

from rlsuite.alignment import data as D
from rlsuite.alignment.models import build_tokenizer
from rlsuite.common.errors import DataError

TASK = D.SentimentTask()


# --- the preference loader ---------------------------------------------------------------------


def test_loader_keeps_which_text_is_chosen(tmp_path: Path) -> None:
    rows = [
        {"prompt": "the hotel was", "chosen": " good great", "rejected": " bad awful"},
        {"prompt": "my film is", "chosen": " fun", "rejected": " dull"},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert D.load_preferences(path) == rows
    import datasets

    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "ds"))
    loaded = D.load_preferences(tmp_path / "ds")
    assert [(r["chosen"], r["rejected"]) for r in loaded] == [(" good great", " bad awful"), (" fun", " dull")]


GOOD = {"prompt": "the hotel was", "chosen": " good", "rejected": " bad"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"prompt": "x", "chosen": " a"', "bad JSON"),
        (json.dumps({"prompt": "x", "chosen": " a"}), "missing field 'rejected'"),
        (json.dumps({"prompt": "x", "chosen": "  ", "rejected": " b"}), "field 'chosen' is empty"),
        (json.dumps({"prompt": "x", "chosen": " a", "rejected": " a"}), "'chosen' is identical to 'rejected'"),
        (json.dumps({"prompt": "x", "chosen": 3, "rejected": " a"}), "must be a string or a list of messages, got int"),
        (json.dumps(["x", "a", "b"]), "expected a JSON object, got list"),
        (json.dumps({"prompt": [{"role": "user", "content": "hi"}], "chosen": " a", "rejected": " b"}), "mix strings"),
        (json.dumps({"prompt": [{"role": "user"}], "chosen": [], "rejected": []}), "not a {'role', 'content'}"),
    ],
)
def test_malformed_jsonl_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + line + "\n")
    with pytest.raises(DataError) as info:
        D.load_preferences(path)
    text = str(info.value)
    assert text.startswith(f"{path}:3: ") and message in text and "\n" not in text


# --- labelling pairs by the gold reward ----------------------------------------------------------


def test_margin_rule_prefers_the_higher_gold_reward_and_drops_ties() -> None:
    pairs = D.label_pairs(["p1", "p2", "p3"], [" bad", " good good", " fine"], [" good", " sad", " nice"])
    assert [(p["prompt"], p["chosen"], p["rejected"]) for p in pairs] == [
        ("p1", " good", " bad"),
        ("p2", " good good", " sad"),
    ]  # p3 is a tie (1 vs 1): dropped


def test_bradley_terry_rule_chooses_with_the_logistic_probability() -> None:
    n = 4000
    first, second = [" good good"] * n, [" bad"] * n  # gold rewards 2 and -1: P(first) = sigmoid(3)
    pairs = D.label_pairs(["p"] * n, first, second, rule="bradley-terry", seed=0)
    wins = np.mean([p["chosen"] == " good good" for p in pairs])
    p = 1 / (1 + np.exp(-3.0))
    assert abs(wins - p) < 4 * np.sqrt(p * (1 - p) / n), wins  # a binomial bound, not a range
    ties = D.label_pairs(["p"] * n, [" good"] * n, [" fine"] * n, rule="bradley-terry", seed=1)
    assert len(ties) == n and abs(np.mean([t["chosen"] == " good" for t in ties]) - 0.5) < 4 * np.sqrt(0.25 / n)


# --- vocabulary coverage -------------------------------------------------------------------------


def test_unknown_words_warn_with_their_rate_and_are_refused_above_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    from rlsuite.alignment.models import check_vocabulary

    tok = build_tokenizer(TASK.vocabulary())
    few = [{"prompt": "the hotel was", "chosen": " good great", "rejected": " bad zzz"}] * 3  # 1 unknown of 7
    with caplog.at_level(logging.WARNING):
        rate = check_vocabulary(tok, few, "pairs.jsonl", limit=0.2)
    assert rate == pytest.approx(1 / 7)
    expected = "pairs.jsonl: 14.3% of the tokens are outside the tokenizer's vocabulary (unknown token), e.g. 'zzz'"
    assert expected in caplog.text
    with pytest.raises(DataError, match=r"pairs.jsonl: 14.3% .* above the 5% limit"):
        check_vocabulary(tok, few, "pairs.jsonl", limit=0.05)
    collapsed = [{"prompt": "the hotel was", "chosen": " good qqq", "rejected": " good zzz"}]
    with pytest.raises(DataError, match=r"1 pair\(s\) have identical chosen and rejected tokens"):
        check_vocabulary(tok, collapsed + few * 10, "pairs.jsonl", limit=0.5)
    assert check_vocabulary(tok, [GOOD], "pairs.jsonl") == 0.0


# --- conversations through a chat template -------------------------------------------------------


def test_conversations_render_like_trl_expects() -> None:
    from rlsuite.alignment.models import completion_ids, prompt_ids, reward_input_ids
    from rlsuite.testing.chat_models import CHAT_TEMPLATE, IM_END, IM_START, ROLES

    tok = build_tokenizer([*ROLES, *TASK.vocabulary()], specials=[IM_START, IM_END], eos=IM_END,
                          chat_template=CHAT_TEMPLATE)
    [record] = D.to_conversational([{"prompt": "the hotel was", "chosen": " good", "rejected": " bad"}])
    assert record == {"prompt": [{"role": "user", "content": "the hotel was"}],
                      "chosen": [{"role": "assistant", "content": "good"}],
                      "rejected": [{"role": "assistant", "content": "bad"}]}
    prompt = prompt_ids(tok, record["prompt"])
    assert tok.convert_ids_to_tokens(prompt) == [IM_START, "user", "the", "hotel", "was", IM_END, IM_START, "assistant"]
    reply = completion_ids(tok, record["prompt"], record["chosen"])
    assert tok.convert_ids_to_tokens(reply) == ["good", IM_END]  # ends with eos: the end of the turn
    assert reward_input_ids(tok, record["prompt"], "good") == prompt + reply
    sft = TASK.sft_dataset(3, seed=0, conversational=True)
    plain = TASK.sft_dataset(3, seed=0)
    assert [r["completion"][0]["content"] for r in sft] == [r["completion"].strip() for r in plain]
    assert D.gold_reward_func([], [[{"role": "assistant", "content": "good great bad"}], " sad"]) == [1.0, -1.0]


# --- the measurements against independent computations -------------------------------------------


def test_win_rate_counts_ties_as_half() -> None:
    from rlsuite.alignment.evaluate import win_rate

    mean, sem = win_rate([2.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0])  # win, tie, loss, tie
    assert mean == 0.5  # (1 + 0.5 + 0 + 0.5) / 4; counting ties as wins would give 0.75
    assert sem == pytest.approx(np.std([1, 0.5, 0, 0.5], ddof=1) / 2)


@pytest.fixture(scope="module")
def two_policies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from rlsuite.alignment.models import build_tiny_causal_lm

    root = tmp_path_factory.mktemp("policies")
    tok = build_tokenizer(TASK.vocabulary())
    for name, seed in (("a", 0), ("b", 1)):
        build_tiny_causal_lm(tok, "llama", hidden_size=32, layers=1, seed=seed).save_pretrained(root / name)
        tok.save_pretrained(root / name)
    return root / "a", root / "b"


def test_sequence_logprobs_equal_a_token_by_token_computation(two_policies: tuple[Path, Path]) -> None:
    import torch

    from rlsuite.alignment.models import generate, load_causal_lm, sequence_logprobs

    model, tok = load_causal_lm(two_policies[0])
    prompts = ["the hotel was", "my song is a"]
    completions = generate(model, tok, prompts, max_new_tokens=5, seed=3)
    batched = sequence_logprobs(model, tok, prompts, completions)
    for prompt, ids, value in zip(prompts, completions, batched, strict=True):
        context = tok(prompt)["input_ids"]
        total = 0.0
        for t in ids:  # one forward pass per token, no padding
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([context])).logits[0, -1]
            total += float(torch.log_softmax(logits.double(), -1)[t])
            context = [*context, t]
        assert value == pytest.approx(total, abs=1e-4)


def test_evaluate_policy_agrees_with_an_independent_computation(two_policies: tuple[Path, Path]) -> None:
    from rlsuite.alignment.evaluate import evaluate_policy, reference_samples
    from rlsuite.alignment.models import decode, generate, load_causal_lm, sequence_logprobs

    policy_path, ref_path = two_policies
    prompts, k = ["the hotel was", "my film is"], 6
    ref = reference_samples(ref_path, prompts, k, seed=11)
    result = evaluate_policy(policy_path, ref_path, prompts, k, seed=11, reference=ref)
    policy, tok = load_causal_lm(policy_path)
    reference, _ = load_causal_lm(ref_path)
    ps = [p for p in prompts for _ in range(k)]
    ids = generate(policy, tok, ps, 12, seed=11)  # the same draw as the evaluation's
    gold = np.array(TASK.gold_reward(decode(tok, ids)))
    kl = np.array(sequence_logprobs(policy, tok, ps, ids)) - np.array(sequence_logprobs(reference, tok, ps, ids))
    base = np.array(ref["rewards"])
    wins = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(gold, base, strict=True)]
    assert result["reward"] == pytest.approx(gold.mean())
    assert result["kl_to_sft"] == pytest.approx(kl.mean())
    assert result["win_rate_vs_sft"] == pytest.approx(np.mean(wins))
    assert result["kl_sem"] == pytest.approx(kl.std(ddof=1) / np.sqrt(len(kl)))
    assert abs(result["kl_to_sft"]) > 0.1  # two different random models: the estimate is not trivially 0
