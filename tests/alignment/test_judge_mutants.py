"""rlsuite.alignment.judge.LMJudge, exactly: the question's ids, and P(first) of a left-padded batch equal to each
question asked alone.

The judge here is a tiny GPT-2 (learned absolute positions, so a wrong position id changes the answer; large
initial weights, so the answer words' probabilities are far from one half), built in the module's fixture.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("transformers")

import torch
from model_folders import pickled_copy

from rlsuite.alignment.judge import LMJudge
from rlsuite.alignment.models import build_tokenizer
from rlsuite.common.errors import ModelFolderError, UnsafeLoadError
from rlsuite.testing.chat_models import build_chat_model

WORDS = ["the", "hotel", "was", "my", "film", "is", "good", "great", "bad", "dull", "fun", "A", "B", "A:", "B:",
         "Which", "reply", "better,", "or", "B?", "Answer:"]  # fmt: skip
PROMPTS = ["the hotel was", "my film is", "the film"]
FIRST, SECOND = [" good great", "dull ", "fun"], ["bad", " great good great", "A"]


def _save_gpt2(folder: Path, tok: Any) -> Path:
    from transformers import AutoModelForCausalLM, GPT2Config

    config = GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=16, n_layer=1, n_head=2, initializer_range=0.5,
                        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=None)  # fmt: skip
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save_gpt2(tmp_path_factory.mktemp("judge") / "gpt2", build_tokenizer(WORDS))


@pytest.fixture(scope="module")
def judge(folder: Path) -> LMJudge:
    # float32 on the CPU everywhere: on a GPU the judge runs in bfloat16, where a padded batch and the
    # question asked alone differ by rounding, and these tests compare them to float32 precision
    return LMJudge(folder, where=(torch.device("cpu"), torch.float32))


def _alone(judge: LMJudge, prompt: str, first: str, second: str) -> float:
    """P(first answer word) for one question, unpadded, straight from the model."""
    ids = torch.tensor([judge._question_ids(prompt, first, second)], device=judge.model.device)
    with torch.no_grad():
        logits = judge.model(input_ids=ids).logits[0, -1]
    return float(logits[judge.answer_ids].softmax(-1)[0])


def test_the_judge_keeps_its_folder_and_answer_ids(judge: LMJudge, folder: Path) -> None:
    assert judge.path == str(folder)
    assert judge.answer_ids == [judge.tok.convert_tokens_to_ids("A"), judge.tok.convert_tokens_to_ids("B")] == [14, 15]


def test_the_question_is_the_template_with_each_reply_after_one_space(judge: LMJudge) -> None:
    text = "the hotel was\nA: good great\nB: bad\nWhich reply is better, A or B? Answer:"
    ids = judge._question_ids("the hotel was", " good great ", "bad")
    assert ids == judge.tok(text)["input_ids"]
    assert judge.tok.unk_token_id not in ids and len(ids) == 16


def test_p_first_of_a_padded_batch_is_each_question_asked_alone(judge: LMJudge) -> None:
    widths = [len(judge._question_ids(*q)) for q in zip(PROMPTS, FIRST, SECOND, strict=True)]
    assert len(set(widths)) == 3  # three widths: the batch is left-padded
    alone = [_alone(judge, *q) for q in zip(PROMPTS, FIRST, SECOND, strict=True)]
    assert max(abs(p - 0.5) for p in alone) > 0.1  # answers far from a coin toss
    np.testing.assert_allclose(judge.p_first(PROMPTS, FIRST, SECOND), alone, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(judge.p_first(PROMPTS, FIRST, SECOND, batch_size=2), alone, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="zip"):
        judge.p_first(PROMPTS, FIRST, SECOND[:2])


def test_the_answer_words_are_looked_up_without_special_tokens(tmp_path: Path) -> None:
    """A tokenizer that puts a BOS before every text still has one token for " A" (the BOS is not part of it)."""
    from tokenizers import processors

    tok = build_tokenizer(WORDS, specials=["<s>"])
    tok._tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 3)])
    judge = LMJudge(_save_gpt2(tmp_path / "bos", tok))
    assert judge.tok(" A")["input_ids"] == [3, 15]
    assert judge.answer_ids == [15, 16]
    assert judge._question_ids("the film", "good", "bad")[0] == 3  # the question itself gets its BOS


def test_a_chat_judge_asks_as_a_user_turn_with_the_generation_prompt(tmp_path: Path) -> None:
    judge = LMJudge(build_chat_model(tmp_path / "chat", hidden_size=16, layers=1), answers=("good", "bad"))
    question = "the hotel was\nA: good\nB: bad\nWhich reply is better, A or B? Answer:"
    rendered = f"<|im_start|> user {question} <|im_end|> <|im_start|> assistant "
    assert judge._question_ids("the hotel was", "good", "bad") == judge.tok(rendered)["input_ids"]


def test_pickled_weights_are_refused_unless_trusted(folder: Path, tmp_path: Path) -> None:
    pickled = pickled_copy(folder, tmp_path / "pickled")
    with pytest.raises(UnsafeLoadError, match="holds only pickled weights"):
        LMJudge(pickled)
    trusted = LMJudge(pickled, trust_pickle=True)
    assert trusted.answer_ids == [14, 15]
    with pytest.raises(ModelFolderError, match="no single token for the answer 'yes'"):
        LMJudge(pickled, answers=("yes", "no"), trust_pickle=True)


# ----- the reward-model judge, load_judge and judge_kind: settings passed on, pickles only when trusted
@pytest.fixture(scope="module")
def rm(tmp_path_factory: pytest.TempPathFactory, folder: Path) -> Path:
    """A reward model on the judge's tiny GPT-2 (a seeded score head), and a copy with only pickled weights."""
    from transformers import AutoModelForSequenceClassification

    path = tmp_path_factory.mktemp("rm") / "rm"
    torch.manual_seed(0)
    AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=1).save_pretrained(path)
    shutil.copy(folder / "tokenizer.json", path)
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (folder / name).is_file():
            shutil.copy(folder / name, path)
    return path


CPU64 = (torch.device("cpu"), torch.float64)


def test_a_reward_model_judge_keeps_its_folder_and_runs_where_asked(rm: Path) -> None:
    from rlsuite.alignment.judge import RewardModelJudge, load_judge

    judge = RewardModelJudge(rm, where=CPU64)
    assert judge.path == str(rm) and next(judge.score.model.parameters()).dtype == torch.float64
    loaded = load_judge(rm, where=CPU64)
    assert isinstance(loaded, RewardModelJudge) and next(loaded.score.model.parameters()).dtype == torch.float64
    assert load_judge(rm)(["the film"], ["good"], ["bad"]) == judge(["the film"], ["good"], ["bad"])


def test_an_lm_judge_runs_where_asked(folder: Path) -> None:
    from rlsuite.alignment.judge import load_judge

    judge = load_judge(folder, where=CPU64)
    assert isinstance(judge, LMJudge) and judge.model.dtype == torch.float64


def test_judges_default_to_the_trainings_placement_and_ask_on_their_device(rm: Path, folder: Path) -> None:
    """On a (simulated) GPU the judges load there, and a question's ids, mask and positions go there too."""
    from cuda_sim import simulate_cuda

    from rlsuite.alignment.judge import RewardModelJudge

    with simulate_cuda(native_bf16=False):  # float32 on the GPU
        reward_judge, lm_judge = RewardModelJudge(rm), LMJudge(folder)
        assert next(reward_judge.score.model.parameters()).device.type == "cuda"
        assert lm_judge.model.device.type == "cuda"
        p = lm_judge.p_first(PROMPTS, FIRST, SECOND)
    on_cpu = LMJudge(folder, where=(torch.device("cpu"), torch.float32)).p_first(PROMPTS, FIRST, SECOND)
    np.testing.assert_allclose(p, on_cpu, rtol=1e-5)


def test_pickled_judges_load_only_when_trusted(rm: Path, folder: Path, tmp_path: Path) -> None:
    from rlsuite.alignment.judge import RewardModelJudge, judge_kind, load_judge

    pickled_rm, pickled_lm = pickled_copy(rm, tmp_path / "rm"), pickled_copy(folder, tmp_path / "lm")
    assert judge_kind(pickled_rm) == "reward model"  # names the folder without unpickling it
    assert judge_kind(pickled_lm) == "causal LM prompted as a judge, position-swapped"
    for path in (pickled_rm, pickled_lm):
        with pytest.raises(UnsafeLoadError, match="holds only pickled weights"):
            load_judge(path)
    with pytest.raises(UnsafeLoadError, match="holds only pickled weights"):
        RewardModelJudge(pickled_rm)
    assert isinstance(RewardModelJudge(pickled_rm, trust_pickle=True), RewardModelJudge)
    assert isinstance(load_judge(pickled_rm, trust_pickle=True), RewardModelJudge)
    assert isinstance(load_judge(pickled_lm, trust_pickle=True), LMJudge)
