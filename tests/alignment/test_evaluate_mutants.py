"""rlsuite.alignment.evaluate, every measurement recomputed independently from the same draws on tiny random models
(no training: fast enough for mutation testing): the statistics at their edges, the documented defaults, the
reference samples, each field of ``evaluate_policy`` (plain and conversational prompts, a reward-model judge, a
pairwise judge), the pair sampling, and the two pair accuracies."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rlsuite.alignment.data import SentimentTask, label_pairs, text_of, to_conversational
from rlsuite.alignment.evaluate import (
    evaluate_policy,
    gold_judge,
    implicit_reward_accuracy,
    mean_sem,
    reference_samples,
    reward_model_accuracy,
    sample_pairs,
    win_rate,
)
from rlsuite.alignment.judge import agreement
from rlsuite.alignment.models import (
    build_tiny_causal_lm,
    build_tokenizer,
    completion_ids,
    decode,
    generate,
    load_causal_lm,
    load_reward_model,
    placement,
    reward_scores,
    sequence_logprobs,
)
from rlsuite.common.errors import UnsafeLoadError

TASK = SentimentTask()
PROMPTS = ["the hotel was", "my film is", "this book felt"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two random policies (a, b), a random reward model (rm), a pickled copy of a, a random chat model."""
    import torch
    from safetensors.torch import load_file
    from transformers import LlamaConfig, LlamaForSequenceClassification

    from rlsuite.testing.chat_models import build_chat_model

    root = tmp_path_factory.mktemp("evaluate")
    tok = build_tokenizer(TASK.vocabulary())
    for name, seed in (("a", 0), ("b", 1)):
        build_tiny_causal_lm(tok, "llama", hidden_size=32, layers=1, seed=seed).save_pretrained(root / name)
        tok.save_pretrained(root / name)
    torch.manual_seed(2)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, num_labels=1,
                         pad_token_id=tok.pad_token_id)  # fmt: skip
    LlamaForSequenceClassification(config).save_pretrained(root / "rm")
    tok.save_pretrained(root / "rm")
    shutil.copytree(root / "a", root / "pickled", ignore=shutil.ignore_patterns("*.safetensors"))
    torch.save(load_file(str(root / "a" / "model.safetensors")), root / "pickled" / "pytorch_model.bin")
    build_chat_model(root / "chat", hidden_size=32, layers=1, seed=3)
    build_chat_model(root / "chat2", hidden_size=32, layers=1, seed=4)
    return {name: root / name for name in ("a", "b", "rm", "pickled", "chat", "chat2")}


def _model(path: Path) -> tuple[Any, Any]:
    return load_causal_lm(path, where=placement())


def _margins(policy: Any, ref: Any, tok: Any, pairs: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """log pi/pi_ref of each pair's chosen and of its rejected completion, summed over its tokens."""
    prompts = [p["prompt"] for p in pairs]
    margins = []
    for key in ("chosen", "rejected"):
        ids = [completion_ids(tok, p["prompt"], p[key]) for p in pairs]
        margins.append(np.array(sequence_logprobs(policy, tok, prompts, ids))
                       - np.array(sequence_logprobs(ref, tok, prompts, ids)))  # fmt: skip
    return margins[0], margins[1]


# --- statistics ------------------------------------------------------------------------------------


def test_mean_sem_exactly() -> None:
    x = [1.0, 2.0, 4.0, 9.0]
    assert mean_sem(x) == (4.0, pytest.approx(np.std(x, ddof=1) / 2.0, rel=1e-12))
    assert mean_sem([1.0, 3.0]) == (2.0, pytest.approx(1.0, rel=1e-12))  # two values: an SE (ddof=1)
    assert mean_sem([5.0]) == (5.0, 0.0)
    assert mean_sem([2, 2]) == (2.0, 0.0) and all(type(v) is float for v in mean_sem([1, 2]))


def test_win_rate_counts_a_tie_one_half() -> None:
    rate, sem = win_rate([1.0, 2.0, 3.0, 0.0], [1.0, 3.0, 2.0, -1.0])  # tie, loss, win, win
    assert rate == 0.625 and sem == pytest.approx(np.std([0.5, 0.0, 1.0, 1.0], ddof=1) / 2.0, rel=1e-12)
    assert win_rate([2, 2], [2, 2]) == (0.5, 0.0)
    assert win_rate([0.0], [1.0]) == (0.0, 0.0)


def test_gold_judge_reads_plain_and_conversational_completions() -> None:
    plain = [" good great", " bad"]
    assert gold_judge(["p", "q"], plain) == TASK.gold_reward(plain) == [2.0, -1.0]
    turns = [[{"role": "assistant", "content": "good nice"}], [{"role": "assistant", "content": "awful"}]]
    assert gold_judge(["p", "q"], turns) == TASK.gold_reward([text_of(t) for t in turns]) == [2.0, -1.0]


# --- the SFT policy's reference samples -------------------------------------------------------------------


def test_reference_samples_with_its_defaults(folders: dict[str, Path]) -> None:
    model, tok = _model(folders["a"])
    got = reference_samples(folders["a"], PROMPTS[:2], 3)
    ps = [p for p in PROMPTS[:2] for _ in range(3)]  # each prompt's samples together
    texts = decode(tok, generate(model, tok, ps, 12, seed=1234 + 7))
    assert got == {"rewards": TASK.gold_reward(texts), "texts": texts}
    assert all(type(r) is float for r in got["rewards"]) and got["texts"][0].startswith(" ")


def test_reference_samples_with_a_judge_seed_and_length(folders: dict[str, Path]) -> None:
    model, tok = _model(folders["a"])
    judge = lambda ps, cs: [float(len(c)) + 0.5 * len(p) for p, c in zip(ps, cs, strict=True)]  # noqa: E731
    got = reference_samples(folders["a"], PROMPTS, 2, judge=judge, seed=5, max_new_tokens=4, where=placement())
    ps = [p for p in PROMPTS for _ in range(2)]
    texts = decode(tok, generate(model, tok, ps, 4, seed=12))
    assert got == {"texts": texts, "rewards": judge(ps, texts)}


# --- evaluate_policy ------------------------------------------------------------------------------------


def _expected(policy: Path, ref: Path, prompts: list[Any], k: int, seed: int, tokens: int,
              judge: Any = None) -> dict[str, Any]:  # fmt: skip
    """evaluate_policy's documented fields, computed here step by step."""
    model, tok = _model(policy)
    reference, _ = _model(ref)
    ps = [p for p in prompts for _ in range(k)]
    conv = not isinstance(ps[0], str)
    ref_texts = decode(tok, generate(reference, tok, ps, tokens, seed=seed + 7), conv)
    ids = generate(model, tok, ps, tokens, seed=seed)
    texts = decode(tok, ids, conv)
    score = judge or (lambda _, cs: TASK.gold_reward([text_of(c) for c in cs]))
    r, base = np.array(score(ps, texts), dtype=float), np.array(score(ps, ref_texts), dtype=float)
    kl = np.array(sequence_logprobs(model, tok, ps, ids)) - np.array(sequence_logprobs(reference, tok, ps, ids))
    wins = np.where(r > base, 1.0, np.where(r == base, 0.5, 0.0))

    def sem(x: np.ndarray) -> float:
        return float(x.std(ddof=1) / np.sqrt(len(x)))

    return {
        "reward": float(r.mean()), "reward_sem": sem(r), "reward_kind": "gold" if judge is None else "reward model",
        "win_rate_vs_sft": float(wins.mean()), "win_rate_sem": sem(wins),
        "kl_to_sft": float(kl.mean()), "kl_sem": sem(kl),
        "mean_completion_tokens": float(np.mean([len(x) for x in ids])), "n_samples": len(ps),
        "texts": texts, "ref_texts": ref_texts, "r": r, "base": base, "ps": ps,
    }  # fmt: skip


NUMBERS = ("reward", "reward_sem", "win_rate_vs_sft", "win_rate_sem", "kl_to_sft", "kl_sem", "mean_completion_tokens")


def test_evaluate_policy_with_its_defaults(folders: dict[str, Path]) -> None:
    got = evaluate_policy(folders["a"], folders["b"], PROMPTS[:2])
    want = _expected(folders["a"], folders["b"], PROMPTS[:2], 16, 1234, 12)
    assert sorted(got) == sorted([*NUMBERS, "reward_kind", "n_samples", "examples"])
    for key in NUMBERS:
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
    assert got["reward_kind"] == "gold" and got["n_samples"] == 32
    assert got["examples"] == [want["ps"][0] + want["texts"][0], want["ps"][16] + want["texts"][16]]
    assert abs(got["kl_to_sft"]) > 0.1 and got["win_rate_sem"] > 0 and got["kl_sem"] > 0


def test_evaluate_policy_examples_are_each_prompts_first_four_at_most(folders: dict[str, Path]) -> None:
    prompts = [*PROMPTS, "that meal seemed", "the song was"]
    got = evaluate_policy(folders["b"], folders["a"], prompts, samples_per_prompt=1, seed=3, max_new_tokens=3)
    want = _expected(folders["b"], folders["a"], prompts, 1, 3, 3)
    assert got["examples"] == [p + t for p, t in zip(prompts[:4], want["texts"][:4], strict=True)]
    assert got["n_samples"] == 5 and got["reward_sem"] == pytest.approx(want["reward_sem"], rel=1e-9)
    assert got["mean_completion_tokens"] == want["mean_completion_tokens"] <= 3


def test_evaluate_policy_with_a_reward_model_judge_and_a_given_reference(folders: dict[str, Path]) -> None:
    rm, rm_tok = load_reward_model(folders["rm"], where=placement())

    def judge(ps: list[Any], cs: list[Any]) -> list[float]:
        return reward_scores(rm, rm_tok, ps, cs)

    ref = reference_samples(folders["b"], PROMPTS[:2], 4, judge=judge, seed=9, max_new_tokens=5)
    got = evaluate_policy(folders["a"], folders["b"], PROMPTS[:2], 4, seed=9, judge=judge, max_new_tokens=5,
                          reference=ref, where=placement())  # fmt: skip
    want = _expected(folders["a"], folders["b"], PROMPTS[:2], 4, 9, 5, judge=judge)
    assert got["reward_kind"] == "reward model"
    for key in NUMBERS:
        assert got[key] == pytest.approx(want[key], rel=1e-6, abs=1e-9), key
    # a reference that is not the SFT policy's own samples is used as given, not recomputed
    other = {"rewards": [want["r"].max() + 1.0] * 8, "texts": ref["texts"]}
    assert evaluate_policy(folders["a"], folders["b"], PROMPTS[:2], 4, seed=9, judge=judge, max_new_tokens=5,
                           reference=other)["win_rate_vs_sft"] == 0.0  # fmt: skip


def test_evaluate_policy_with_a_pairwise_judge(folders: dict[str, Path]) -> None:
    calls: list[tuple[list[Any], list[Any], list[Any]]] = []

    def pairwise(ps: list[Any], first: list[Any], second: list[Any]) -> list[float]:
        calls.append((ps, first, second))
        return [
            1.0 if len(a) > len(b) else 0.5 if len(a) == len(b) else 0.0 for a, b in zip(first, second, strict=True)
        ]

    got = evaluate_policy(folders["a"], folders["b"], PROMPTS[:2], 5, seed=4, max_new_tokens=6, pairwise=pairwise)
    want = _expected(folders["a"], folders["b"], PROMPTS[:2], 5, 4, 6)
    assert calls == [(want["ps"], want["texts"], want["ref_texts"])]
    verdicts = np.array(pairwise(want["ps"], want["texts"], want["ref_texts"]))
    assert got["judge_win_rate_vs_sft"] == pytest.approx(verdicts.mean(), rel=1e-12)
    assert got["judge_win_rate_sem"] == pytest.approx(verdicts.std(ddof=1) / np.sqrt(10), rel=1e-12)
    assert got["judge_agreement_with_gold"] == agreement(list(verdicts), list(want["r"]), list(want["base"]))
    # with a reward-model judge there is no gold verdict to agree with
    scored = evaluate_policy(folders["a"], folders["b"], PROMPTS[:2], 5, seed=4, max_new_tokens=6, pairwise=pairwise,
                             judge=lambda ps, cs: [0.0] * len(cs))  # fmt: skip
    assert "judge_win_rate_vs_sft" in scored and "judge_agreement_with_gold" not in scored


def test_evaluate_policy_on_conversations(folders: dict[str, Path]) -> None:
    prompts = [[{"role": "user", "content": p}] for p in PROMPTS[:2]]
    got = evaluate_policy(folders["chat"], folders["chat2"], prompts, 2, seed=6, max_new_tokens=4)
    want = _expected(folders["chat"], folders["chat2"], prompts, 2, 6, 4)
    for key in NUMBERS:
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
    assert got["examples"] == [f"{PROMPTS[0]} -> {want['texts'][0]}", f"{PROMPTS[1]} -> {want['texts'][2]}"]
    assert not want["texts"][0].startswith(" ") or want["texts"][0] == ""


# --- pairs and pair accuracies ----------------------------------------------------------------------


def test_sample_pairs_with_its_defaults(folders: dict[str, Path]) -> None:
    model, tok = _model(folders["a"])
    ps = [p for _ in range(4) for p in PROMPTS]  # copies rounds of every prompt
    a = decode(tok, generate(model, tok, ps, 12, seed=0))
    b = decode(tok, generate(model, tok, ps, 12, seed=1))
    pairs = sample_pairs(folders["a"], PROMPTS, 4)
    assert pairs == label_pairs(ps, a, b, rule="margin", seed=0) and pairs


def test_sample_pairs_rule_seed_and_length(folders: dict[str, Path]) -> None:
    model, tok = _model(folders["b"])
    ps = [p for _ in range(3) for p in PROMPTS]
    a = decode(tok, generate(model, tok, ps, 5, seed=7))
    b = decode(tok, generate(model, tok, ps, 5, seed=8))
    pairs = sample_pairs(folders["b"], PROMPTS, 3, rule="bradley-terry", seed=7, max_new_tokens=5, where=placement())
    assert pairs == label_pairs(ps, a, b, rule="bradley-terry", seed=7) and pairs


def test_sample_pairs_of_conversations_are_conversational(folders: dict[str, Path]) -> None:
    model, tok = _model(folders["chat"])
    prompts = [[{"role": "user", "content": p}] for p in PROMPTS]
    ps = [p for _ in range(2) for p in prompts]
    a = decode(tok, generate(model, tok, ps, 6, seed=2), True)
    b = decode(tok, generate(model, tok, ps, 6, seed=3), True)
    pairs = sample_pairs(folders["chat"], prompts, 2, rule="bradley-terry", seed=2, max_new_tokens=6)
    assert pairs == to_conversational(label_pairs(ps, a, b, rule="bradley-terry", seed=2))
    assert pairs and all(isinstance(p["chosen"], list) for p in pairs)
    assert not any(p["chosen"][0]["content"].startswith(" ") for p in pairs)  # replies, not text after a prompt


def test_sample_pairs_loads_a_pickled_sft_folder_only_when_trusted(folders: dict[str, Path]) -> None:
    with pytest.raises(UnsafeLoadError, match="holds only pickled weights"):
        sample_pairs(folders["pickled"], PROMPTS, 1)
    assert sample_pairs(folders["pickled"], PROMPTS, 2, trust_pickle=True) == sample_pairs(folders["a"], PROMPTS, 2)


def test_reward_model_accuracy_is_the_share_scored_chosen_over_rejected(folders: dict[str, Path]) -> None:
    rm, tok = load_reward_model(folders["rm"], where=placement())
    words = TASK.vocabulary()
    pairs = [{"prompt": PROMPTS[i % 3], "chosen": f" {words[i]}", "rejected": f" {words[-1 - i]}"} for i in range(9)]
    prompts = [p["prompt"] for p in pairs]
    c = np.array(reward_scores(rm, tok, prompts, [p["chosen"] for p in pairs]))
    r = np.array(reward_scores(rm, tok, prompts, [p["rejected"] for p in pairs]))
    got = reward_model_accuracy(folders["rm"], pairs)
    assert got == float(np.mean(c > r)) and 0.0 < got < 1.0 and type(got) is float
    swapped = [{**p, "chosen": p["rejected"], "rejected": p["chosen"]} for p in pairs]
    assert reward_model_accuracy(folders["rm"], swapped, where=placement()) == float(np.mean(r > c))


def test_implicit_reward_accuracy_compares_the_log_ratio_margins(folders: dict[str, Path]) -> None:
    policy, tok = _model(folders["a"])
    ref, _ = _model(folders["b"])
    words = TASK.vocabulary()
    pairs = [{"prompt": PROMPTS[i % 3], "chosen": f" {words[i]} {words[i + 1]}", "rejected": f" {words[-1 - i]}"}
             for i in range(10)]  # fmt: skip
    chosen, rejected = _margins(policy, ref, tok, pairs)
    got = implicit_reward_accuracy(folders["a"], folders["b"], pairs)
    assert got == float(np.mean(chosen > rejected)) and 0.0 < got < 1.0 and type(got) is float
    assert implicit_reward_accuracy(folders["a"], folders["a"], pairs, where=placement()) == 0.0  # equal margins


def test_one_prompt_sampled_once(folders: dict[str, Path]) -> None:
    """The smallest evaluation: a single sample (the kind of prompt is read from it)."""
    model, tok = _model(folders["a"])
    got = evaluate_policy(folders["a"], folders["b"], ["my film is"], 1, seed=8, max_new_tokens=4)
    want = _expected(folders["a"], folders["b"], ["my film is"], 1, 8, 4)
    assert got["n_samples"] == 1 and got["reward_sem"] == 0.0 and got["examples"] == ["my film is" + want["texts"][0]]
    assert got["reward"] == want["reward"] and got["kl_to_sft"] == pytest.approx(want["kl_to_sft"], rel=1e-9)
    texts = decode(tok, generate(model, tok, ["my film is"], 4, seed=15))
    assert reference_samples(folders["a"], ["my film is"], 1, seed=8, max_new_tokens=4)["texts"] == texts
    prompts = [[{"role": "user", "content": "my film is"}]]
    chat, chat_tok = _model(folders["chat"])
    replies = decode(chat_tok, generate(chat, chat_tok, prompts, 4, seed=15), True)
    assert reference_samples(folders["chat"], prompts, 1, seed=8, max_new_tokens=4)["texts"] == replies
    first = decode(chat_tok, generate(chat, chat_tok, prompts, 5, seed=1), True)
    second = decode(chat_tok, generate(chat, chat_tok, prompts, 5, seed=2), True)
    assert sample_pairs(folders["chat"], prompts, 1, rule="bradley-terry", seed=1, max_new_tokens=5) == (
        to_conversational(label_pairs(prompts, first, second, rule="bradley-terry", seed=1)))  # fmt: skip


def test_a_judge_also_scores_the_reference_it_samples(folders: dict[str, Path]) -> None:
    """Without a given reference, the SFT samples it draws are scored by the same judge as the policy's."""
    judge = lambda ps, cs: [float(len(c)) for c in cs]  # noqa: E731
    got = evaluate_policy(folders["a"], folders["b"], PROMPTS[:2], 3, seed=5, judge=judge, max_new_tokens=6)
    want = _expected(folders["a"], folders["b"], PROMPTS[:2], 3, 5, 6, judge=judge)
    assert got["win_rate_vs_sft"] == want["win_rate_vs_sft"] and got["reward"] == want["reward"]
    gold = _expected(folders["a"], folders["b"], PROMPTS[:2], 3, 5, 6)
    assert win_rate(want["r"], gold["base"]) != (got["win_rate_vs_sft"], got["win_rate_sem"])


def test_a_pair_scored_the_same_both_ways_counts_as_a_miss(folders: dict[str, Path]) -> None:
    same = [{"prompt": p, "chosen": " good", "rejected": " good"} for p in PROMPTS]
    assert reward_model_accuracy(folders["rm"], same) == 0.0
    assert implicit_reward_accuracy(folders["a"], folders["b"], same) == 0.0


def test_implicit_reward_accuracy_of_conversations(folders: dict[str, Path]) -> None:
    """Conversational pairs: each completion's ids follow its prompt's chat template."""
    policy, tok = _model(folders["chat"])
    ref, _ = _model(folders["chat2"])
    words = TASK.vocabulary()
    pairs = [{"prompt": [{"role": "user", "content": PROMPTS[i % 3]}],
              "chosen": [{"role": "assistant", "content": f"{words[i]} {words[i + 2]}"}],
              "rejected": [{"role": "assistant", "content": words[-1 - i]}]} for i in range(12)]  # fmt: skip
    chosen, rejected = _margins(policy, ref, tok, pairs)
    want = float(np.mean(chosen > rejected))
    assert implicit_reward_accuracy(folders["chat"], folders["chat2"], pairs) == want and 0.0 < want < 1.0


def test_every_model_runs_where_placement_says(folders: dict[str, Path]) -> None:
    """On a GPU with native bf16 (simulated), every model of every measurement loads there, in bf16: the policy's
    numbers are the bf16 model's, and each measurement puts its models on the GPU."""
    import torch
    from cuda_sim import simulate_cuda

    if torch.cuda.is_available():
        pytest.skip("CUDA is here (real or simulated): the tests above already run every model there")
    cpu = (torch.device("cpu"), torch.float32)
    words = TASK.vocabulary()
    pairs = [{"prompt": PROMPTS[i % 3], "chosen": f" {words[i]}", "rejected": f" {words[-1 - i]}"} for i in range(6)]
    with simulate_cuda():
        assert placement()[1] == torch.bfloat16
        got = evaluate_policy(folders["a"], folders["b"], PROMPTS[:2], 4, seed=2, max_new_tokens=5)
        want = _expected(folders["a"], folders["b"], PROMPTS[:2], 4, 2, 5)  # models loaded at placement()
        float32 = evaluate_policy(folders["a"], folders["b"], PROMPTS[:2], 4, seed=2, max_new_tokens=5, where=cpu)
        for key in NUMBERS:
            assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
        assert got["kl_to_sft"] != pytest.approx(float32["kl_to_sft"], rel=1e-4)
        # a policy against itself: exactly 0 only where both copies run alike (one on the CPU in float32: not 0)
        assert evaluate_policy(folders["a"], folders["a"], PROMPTS[:2], 2, max_new_tokens=4)["kl_to_sft"] == 0.0
        assert implicit_reward_accuracy(folders["a"], folders["a"], pairs) == 0.0
        for measure in (
            lambda: reference_samples(folders["b"], PROMPTS, 1),
            lambda: sample_pairs(folders["a"], PROMPTS, 1),
            lambda: reward_model_accuracy(folders["rm"], pairs),
            lambda: implicit_reward_accuracy(folders["a"], folders["b"], pairs),
        ):
            torch.cuda.reset_peak_memory_stats()
            measure()
            assert torch.cuda.max_memory_allocated() > 0  # its models' weights went to the (simulated) GPU


def test_a_given_placement_reaches_every_model(folders: dict[str, Path]) -> None:
    """``where`` is passed to every model a measurement loads: on the meta device (no data) none of them can run,
    and a policy in bf16 against itself in bf16 (not as loaded, in float32) has a KL and margins of exactly 0."""
    import torch

    bf16 = (torch.device("cpu"), torch.bfloat16)
    words = TASK.vocabulary()
    many = [{"prompt": PROMPTS[i % 3], "chosen": f" {words[i]}", "rejected": f" {words[-1 - i]}"} for i in range(8)]
    assert evaluate_policy(folders["a"], folders["a"], PROMPTS[:2], 2, max_new_tokens=4, where=bf16)["kl_to_sft"] == 0
    assert implicit_reward_accuracy(folders["a"], folders["a"], many, where=bf16) == 0.0
    assert implicit_reward_accuracy(folders["a"], folders["a"], many) == 0.0

    meta = (torch.device("meta"), torch.float32)
    pairs = [{"prompt": "my film is", "chosen": " good", "rejected": " bad"}]
    for measure in (
        lambda: reference_samples(folders["b"], PROMPTS, 1, where=meta),
        lambda: sample_pairs(folders["a"], PROMPTS, 1, where=meta),
        lambda: reward_model_accuracy(folders["rm"], pairs, where=meta),
        lambda: implicit_reward_accuracy(folders["a"], folders["b"], pairs, where=meta),
        lambda: evaluate_policy(
            folders["a"], folders["b"], PROMPTS[:1], 1, where=meta, reference={"rewards": [0.0], "texts": [" good"]}
        ),
    ):
        with pytest.raises((NotImplementedError, RuntimeError, ValueError)):
            measure()


def test_the_reference_a_measurement_samples_runs_where_placement_says(folders: dict[str, Path]) -> None:
    """With a GPU there (simulated), ``where`` on the CPU keeps every model of ``evaluate_policy`` on the CPU: the
    SFT model it loads to sample the reference too (no weight reaches the GPU), and the reference equals the one
    ``reference_samples`` draws on the CPU."""
    import torch
    from cuda_sim import simulate_cuda

    if torch.cuda.is_available():
        pytest.skip("CUDA is here (real or simulated): the simulated GPU's memory counters are not ours to read")
    cpu = (torch.device("cpu"), torch.float32)
    with simulate_cuda():
        torch.cuda.reset_peak_memory_stats()
        got = evaluate_policy(folders["a"], folders["b"], PROMPTS[:2], 2, seed=3, max_new_tokens=4, where=cpu)
        assert torch.cuda.max_memory_allocated() == 0
    reference = reference_samples(folders["b"], PROMPTS[:2], 2, seed=3, max_new_tokens=4, where=cpu)
    given = evaluate_policy(folders["a"], folders["b"], PROMPTS[:2], 2, seed=3, max_new_tokens=4, where=cpu,
                            reference=reference)  # fmt: skip
    assert got == given
