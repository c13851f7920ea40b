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
    from rlsuite.alignment.models import decode, generate, load_causal_lm, placement, sequence_logprobs

    policy_path, ref_path = two_policies
    prompts, k = ["the hotel was", "my film is"], 6
    ref = reference_samples(ref_path, prompts, k, seed=11)
    result = evaluate_policy(policy_path, ref_path, prompts, k, seed=11, reference=ref)
    policy, tok = load_causal_lm(policy_path, where=placement())  # where the evaluation runs (CUDA: in bf16)
    reference, _ = load_causal_lm(ref_path, where=placement())
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


# --- the synthetic task's parts, exactly ------------------------------------------------------------


def test_prompts_split_holds_out_one_template_per_topic() -> None:
    prompts = TASK.all_prompts()
    assert len(prompts) == 32 and prompts[:5] == ["the hotel was", "my hotel is", "this hotel felt",
                                                  "that hotel seemed", "the film was"]  # fmt: skip
    train, held = TASK.split_prompts()
    assert held == ["the hotel was", "my film is", "this book felt", "that meal seemed", "the song was",
                    "my game is", "this trip felt", "that show seemed"]  # fmt: skip
    assert sorted(train + held) == sorted(prompts) and len(train) == 24
    vocabulary = TASK.vocabulary()
    assert len(vocabulary) == len(set(vocabulary)) == 8 + 8 + 20 + 8 + 8 - 3  # "the", "was", "is" once each
    assert vocabulary[:3] == ["good", "great", "nice"] and vocabulary[-5:] == ["my", "this", "that", "felt", "seemed"]


def test_gold_reward_counts_positive_minus_negative_words() -> None:
    assert TASK.gold_reward([" good great bad", " dull rude", "", " very nice nice", " goodbad"]) == [
        1.0, -2.0, 0.0, 2.0, 0.0]  # fmt: skip


def test_sft_completions_have_the_configured_lengths_and_word_odds() -> None:
    task = D.SentimentTask(min_words=2, max_words=4, p_positive=0.5, p_negative=0.1)
    rng = np.random.default_rng(0)
    texts = [task.sample_completion(rng) for _ in range(3000)]
    assert all(t.startswith(" ") and not t.startswith("  ") for t in texts)
    lengths = np.array([len(t.split()) for t in texts])
    assert sorted(set(lengths.tolist())) == [2, 3, 4]
    assert abs(lengths.mean() - 3.0) < 4 * np.sqrt((2 / 3) / len(texts))  # uniform on {2, 3, 4}: variance 2/3
    words = [w for t in texts for w in t.split()]
    n = len(words)
    for pool, p in ((D.POSITIVE, 0.5), (D.NEGATIVE, 0.1), (D.NEUTRAL, 0.4)):
        share = np.mean([w in pool for w in words])
        assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / n), (pool[0], share)
    assert set(words) == set(D.POSITIVE) | set(D.NEGATIVE) | set(D.NEUTRAL)  # every word of every pool is drawn
    records = task.sft_dataset(200, seed=3)
    train, _ = task.split_prompts()
    assert len(records) == 200 and {r["prompt"] for r in records} == set(train)
    assert records == task.sft_dataset(200, seed=3) != task.sft_dataset(200, seed=4)


def test_pairs_drop_identical_and_empty_samples_and_unknown_rules_are_refused() -> None:
    pairs = D.label_pairs(["p1", "p2", "p3", "p4"], [" good", " good ", "  ", " good"], [" bad", "good", " bad", " "])
    assert pairs == [{"prompt": "p1", "chosen": " good", "rejected": " bad"}]
    from rlsuite.common.errors import UsageError

    with pytest.raises(UsageError, match=r"^pair rule: 'elo' is not one of \['margin', 'bradley-terry'\]$"):
        D.label_pairs(["p"], [" good"], [" bad"], rule="elo")


def test_held_out_split_is_a_seeded_partition_with_one_pair_at_least_on_each_side() -> None:
    records = [{"i": i} for i in range(10)]
    train, held = D.split_heldout(records, 0.2, seed=0)
    order = np.random.default_rng(0).permutation(10)
    assert held == [records[i] for i in order[:2]] and train == [records[i] for i in order[2:]]
    assert [len(D.split_heldout(records, f, seed=1)[1]) for f in (0.0, 0.04, 0.26, 0.5, 0.99, 1.0)] == [
        1, 1, 3, 5, 9, 9]  # fmt: skip
    assert D.split_heldout(records[:2], 0.5, seed=0)[1] in ([records[0]], [records[1]])
    with pytest.raises(DataError, match=r"^need at least 2 preference pairs to hold some out, got 1$"):
        D.split_heldout(records[:1], 0.5, seed=0)


# --- the loaders' other inputs -----------------------------------------------------------------------


def test_loader_reads_conversations_skips_blank_lines_and_drops_extra_fields(tmp_path: Path) -> None:
    conv = {"prompt": [{"role": "user", "content": "hi"}], "chosen": [{"role": "assistant", "content": "good"}],
            "rejected": [{"role": "assistant", "content": "bad"}]}  # fmt: skip
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n" + json.dumps({**GOOD, "score": 3}) + "\n  \n" + json.dumps(GOOD) + "\n")
    assert D.load_preferences(path) == [GOOD, GOOD]
    path.write_text("\n" + json.dumps({**conv, "score": 3}) + "\n  \n" + json.dumps(conv) + "\n")
    assert D.load_preferences(path) == [conv, conv]
    assert D.write_jsonl(tmp_path / "again.jsonl", [conv, conv]) == tmp_path / "again.jsonl"
    assert D.load_preferences(tmp_path / "again.jsonl") == [conv, conv]
    # strings and conversations in one file cannot train (one Arrow column cannot hold both): refused
    D.write_jsonl(path, [GOOD, conv])
    with pytest.raises(DataError, match=r"pairs\.jsonl:2: conversational prompt/chosen/rejected pairs in a file of "
                       "string"):
        D.load_preferences(path)


EMPTY_CONTENT = "field '{}' message 0 has empty or non-string content"
NOT_A_MESSAGE = "field 'chosen' message {} is not a {{'role', 'content'}} mapping"


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"prompt": "x", "chosen": None, "rejected": " b"}, "missing field 'chosen'"),
        ({"prompt": "x", "chosen": " a"}, "missing field 'rejected'"),
        ({"chosen": " a", "rejected": " b"}, "missing field 'prompt'"),
        ({"prompt": " ", "chosen": " a", "rejected": " b"}, "field 'prompt' is empty"),
        ({"prompt": "x", "chosen": " a", "rejected": []}, "field 'rejected' is an empty list"),
        ({"prompt": [{"role": "user", "content": " "}], "chosen": [{"role": "assistant", "content": "a"}],
          "rejected": [{"role": "assistant", "content": "b"}]}, EMPTY_CONTENT.format("prompt")),
        ({"prompt": [{"role": "user", "content": "x"}], "chosen": [{"role": "assistant", "content": "a"}, "b"],
          "rejected": [{"role": "assistant", "content": "b"}]}, NOT_A_MESSAGE.format(1)),
        ({"prompt": [{"role": "user", "content": "x"}], "chosen": [{"role": 1, "content": "a"}],
          "rejected": [{"role": "assistant", "content": "b"}]}, NOT_A_MESSAGE.format(0)),
        ({"prompt": [{"role": "user", "content": "x"}], "chosen": [{"role": "assistant", "content": 2}],
          "rejected": [{"role": "assistant", "content": "b"}]}, EMPTY_CONTENT.format("chosen")),
        ({"prompt": "x", "chosen": " a", "rejected": 2.5}, "field 'rejected' must be a string or a list of messages, "
                                                           "got float"),
        ("x", "expected a JSON object, got str"),
    ],
)  # fmt: skip
def test_each_bad_record_is_named(record: object, message: str) -> None:
    with pytest.raises(DataError) as info:
        D.validate_record(record, "pairs.jsonl:7")
    assert str(info.value) == f"pairs.jsonl:7: {message}"


def test_loader_errors_name_the_file_line_row_or_folder(tmp_path: Path) -> None:
    import datasets

    bad_bytes = tmp_path / "bytes.jsonl"
    bad_bytes.write_bytes(json.dumps(GOOD).encode() + b"\n{\"prompt\": \"caf\xe9\"}\n")
    with pytest.raises(DataError, match=rf"^{bad_bytes}:2: not UTF-8 text \(invalid continuation byte at byte 15\)$"):
        D.load_preferences(bad_bytes)
    bad_json = tmp_path / "json.jsonl"
    bad_json.write_text(json.dumps(GOOD) + "\n" + '{"prompt": x}\n')
    with pytest.raises(DataError, match=rf"^{bad_json}:2: bad JSON \(Expecting value at column 12\)$"):
        D.load_preferences(bad_json)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n \n")
    with pytest.raises(DataError, match=rf"^{empty}: no preference pairs found$"):
        D.load_preferences(empty)
    with pytest.raises(DataError, match=rf"^{tmp_path / 'nope'}: preference data not found$"):
        D.load_preferences(tmp_path / "nope")
    rows = [GOOD, {**GOOD, "rejected": GOOD["chosen"]}]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "flat"))
    with pytest.raises(DataError, match=rf"^{tmp_path / 'flat'}: row 1: 'chosen' is identical to 'rejected'$"):
        D.load_preferences(tmp_path / "flat")
    datasets.DatasetDict({"test": datasets.Dataset.from_list([GOOD])}).save_to_disk(str(tmp_path / "split"))
    no_train = rf"^{tmp_path / 'split'}: DatasetDict has no 'train' split \(splits: \['test'\]\)$"
    with pytest.raises(DataError, match=no_train):
        D.load_preferences(tmp_path / "split")
    (tmp_path / "plain").mkdir()
    with pytest.raises(FileNotFoundError) as datasets_error:  # what datasets says of it, in its own words
        datasets.load_from_disk(str(tmp_path / "plain"))
    with pytest.raises(DataError) as info:
        D.load_preferences(tmp_path / "plain")
    first_line = str(datasets_error.value).splitlines()[0]
    assert str(info.value) == f"{tmp_path / 'plain'}: not a datasets folder written by save_to_disk ({first_line})"


def test_sft_loader_reads_records_and_names_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "sft.jsonl"
    good = {"prompt": "the hotel was", "completion": " good"}
    conv = {"prompt": [{"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": "ok"}]}
    path.write_text(json.dumps({**good, "extra": 1}) + "\n\n" + json.dumps(conv) + "\n")
    assert D.load_sft_records(path) == [good, conv]
    cases = [
        (json.dumps([1]), "expected a JSON object, got list"),
        (json.dumps({"prompt": "x"}), "missing field 'completion'"),
        (json.dumps({"prompt": None, "completion": " a"}), "missing field 'prompt'"),
        (json.dumps({"prompt": "x", "completion": " "}), "field 'completion' is empty"),
        (json.dumps({"prompt": "x", "completion": conv["completion"]}), "prompt and completion mix strings and "
                                                                          "message lists"),
    ]  # fmt: skip
    for line, message in cases:
        path.write_text(json.dumps(good) + "\n" + line + "\n")
        with pytest.raises(DataError) as info:
            D.load_sft_records(path)
        assert str(info.value) == f"{path}:2: {message}"
    path.write_text("\n")
    with pytest.raises(DataError, match=rf"^{path}: no records$"):
        D.load_sft_records(path)
    with pytest.raises(DataError, match=rf"^{tmp_path / 'nope.jsonl'}: SFT data not found$"):
        D.load_sft_records(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match=rf"^{tmp_path}: not a datasets folder written by save_to_disk"):
        D.load_sft_records(tmp_path)  # a folder is not a file


def test_mean_and_standard_error_against_numpy() -> None:
    from rlsuite.alignment.evaluate import gold_judge, mean_sem, win_rate

    x = [0.5, -1.0, 2.0, 4.5]
    assert mean_sem(x) == (pytest.approx(1.5), pytest.approx(np.std(x, ddof=1) / 2))
    assert mean_sem([3.0]) == (3.0, 0.0)  # one value: no spread to estimate
    assert win_rate([1.0], [0.0]) == (1.0, 0.0) and win_rate([0.0], [1.0]) == (0.0, 0.0)
    assert win_rate([1.0, 1.0], [1.0, 1.0]) == (0.5, 0.0)
    assert gold_judge(["p", "p"], [" good nice", [{"role": "assistant", "content": "bad"}]]) == [2.0, -1.0]


# --- public formats: JSONL, Parquet, CSV, datasets folders; implicit prompts; unpaired; column names --------


PAIRS = [
    {"prompt": "the hotel was", "chosen": " good great", "rejected": " bad awful"},
    {"prompt": "my film is", "chosen": " fun", "rejected": " dull"},
]


def _write(path: Path, rows: list[dict]) -> Path:
    """``rows`` as JSONL, Parquet, CSV or a datasets folder, by the path's suffix."""
    import datasets

    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif path.suffix == ".parquet":
        datasets.Dataset.from_list(rows).to_parquet(str(path))
    elif path.suffix == ".csv":
        datasets.Dataset.from_list(rows).to_csv(str(path), index=False)
    else:
        datasets.Dataset.from_list(rows).save_to_disk(str(path))
    return path


@pytest.mark.parametrize("name", ["pairs.jsonl", "pairs.parquet", "pairs.csv", "pairs_folder"])
def test_every_file_kind_loads_the_same_pairs(tmp_path: Path, name: str) -> None:
    assert D.load_preferences(_write(tmp_path / name, PAIRS)) == PAIRS


def test_implicit_prompt_pairs_are_split_as_trl_splits_them(tmp_path: Path) -> None:
    from trl.data_utils import extract_prompt

    hh = [{"chosen": "\n\nHuman: the hotel was\n\nAssistant: good great",
           "rejected": "\n\nHuman: the hotel was\n\nAssistant: bad"}]
    [pair] = D.load_preferences(_write(tmp_path / "hh.jsonl", hh))
    assert pair == {"prompt": "\n\nHuman: the hotel was\n\nAssistant:", "chosen": " good great", "rejected": " bad"}
    assert pair == extract_prompt(hh[0])
    user = {"role": "user", "content": "the hotel was"}
    conv = [{"chosen": [user, {"role": "assistant", "content": "good"}],
             "rejected": [user, {"role": "assistant", "content": "bad"}]}]
    [pair] = D.load_preferences(_write(tmp_path / "conv.parquet", conv))
    assert pair == {"prompt": [user], "chosen": [{"role": "assistant", "content": "good"}],
                    "rejected": [{"role": "assistant", "content": "bad"}]}


def test_unpaired_records_load_for_kto_and_bco_only(tmp_path: Path) -> None:
    rows = [{"prompt": "the hotel was", "completion": " good", "label": True},
            {"prompt": "the hotel was", "completion": " bad", "label": False}]
    assert D.load_preferences(_write(tmp_path / "u.jsonl", rows), unpaired=True) == rows
    assert D.load_preferences(_write(tmp_path / "u.csv", rows), unpaired=True) == rows  # "True"/"False" cells
    with pytest.raises(DataError, match=r"u\.jsonl:1: an unpaired prompt/completion/label record; only kto and bco"):
        D.load_preferences(tmp_path / "u.jsonl")


def test_columns_named_otherwise_are_mapped(tmp_path: Path) -> None:
    rows = [{"question": r["prompt"], "good": r["chosen"], "bad": r["rejected"], "chosen": "ignored"} for r in PAIRS]
    columns = D.Columns(prompt_column="question", chosen_column="good", rejected_column="bad")
    assert D.load_preferences(_write(tmp_path / "c.parquet", rows), columns=columns) == PAIRS
    sft = [{"q": "the hotel was", "a": " good"}]
    assert D.load_sft_records(_write(tmp_path / "s.csv", sft), D.Columns(prompt_column="q", completion_column="a")) \
        == [{"prompt": "the hotel was", "completion": " good"}]


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        ([PAIRS[0], {"chosen": "the hotel was good", "rejected": "the hotel was bad"}], {},
         "x.jsonl:2: string implicit-prompt pairs (chosen/rejected only) in a file of string "
         "prompt/chosen/rejected pairs (from {path}:1); one format per file"),
        ([PAIRS[0], {"prompt": [{"role": "user", "content": "x"}], "chosen": [{"role": "assistant", "content": "a"}],
                     "rejected": [{"role": "assistant", "content": "b"}]}], {},
         "x.jsonl:2: conversational prompt/chosen/rejected pairs in a file of string"),
        ([PAIRS[0], {"prompt": "x", "completion": " a", "label": True}], {"unpaired": True},
         "x.jsonl:2: string unpaired prompt/completion/label records in a file of string prompt/chosen/rejected"),
        ([{"chosen": "good", "rejected": "bad"}], {}, "x.jsonl:1: chosen and rejected share no beginning"),
        ([{"prompt": "x", "completion": " a", "label": "maybe"}], {"unpaired": True},
         "x.jsonl:1: field 'label' must be true or false, got 'maybe'"),
        (PAIRS, {"columns": D.Columns(chosen_column="good")}, "x.jsonl: no column 'good' (--chosen_column)"),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path: Path, rows: list[dict], kwargs: dict, message: str) -> None:
    path = _write(tmp_path / "x.jsonl", rows)
    with pytest.raises(DataError) as info:
        D.load_preferences(path, **kwargs)
    assert message.format(path=path) in str(info.value) and len(str(info.value).splitlines()) == 1, str(info.value)


def test_a_bad_csv_row_is_named_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('prompt,chosen,rejected\nthe hotel was, good, bad\n"my film is",,  dull\n')
    with pytest.raises(DataError, match=r"x\.csv:3: missing field 'chosen'"):
        D.load_preferences(path)
