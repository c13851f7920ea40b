"""Pairwise judges: the reward model's verdicts are its score order (and its agreement with the gold reward on
held-out pairs is its accuracy); a causal LM judge asked twice with the replies swapped is antisymmetric, so the
order the replies are shown in cannot decide; a folder that is no judge is one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")

from rlsuite.alignment.data import SentimentTask
from rlsuite.alignment.judge import LMJudge, RewardModelJudge, agreement, judge_kind, load_judge, verdicts
from rlsuite.common.errors import ModelFolderError
from rlsuite.testing import alignment as T


def test_verdicts_and_agreement_by_hand() -> None:
    assert verdicts([2.0, 1.0, 3.0], [1.0, 1.0, 4.0]) == [1.0, 0.5, 0.0]
    # gold prefers first, (tie: not counted), second; the judge: right, -, tie
    assert agreement([1.0, 0.0, 0.5], [2.0, 1.0, 0.0], [1.0, 1.0, 1.0]) == 0.75
    assert agreement([1.0], [1.0], [1.0]) is None


def test_the_reward_model_judge_agrees_with_gold_as_often_as_it_ranks_pairs() -> None:
    import torch

    from rlsuite.alignment.evaluate import reward_model_accuracy

    rm = T.tiny_reward_model()
    held = T.tiny_pairs()[1]
    fp32 = (torch.device("cpu"), torch.float32)  # on a GPU, bf16 scores can tie: a judge's tie counts one half,
    judge = load_judge(rm, fp32)  # the accuracy's as wrong
    assert isinstance(judge, RewardModelJudge)
    prompts, chosen, rejected = ([p[k] for p in held] for k in ("prompt", "chosen", "rejected"))
    judged = judge(prompts, chosen, rejected)
    gold = SentimentTask.gold_reward
    assert agreement(judged, gold(chosen), gold(rejected)) == reward_model_accuracy(rm, held, fp32)
    assert judge(prompts, rejected, chosen) == [1.0 - v for v in judged]


def test_a_causal_lm_judge_is_position_swapped(tmp_path: Path) -> None:
    judge = LMJudge(T.tiny_chat_base(), answers=("this", "that"))  # random weights: a judge with an order bias
    prompts = ["the hotel was", "my film is", "this song felt"] * 2
    first, second = [" good great", " dull", " fun"] * 2, [" bad", " lovely nice", " sad"] * 2
    shown_first, shown_second = judge.p_first(prompts, first, second), judge.p_first(prompts, second, first)
    assert not np.allclose(shown_first + shown_second, 1.0)  # asked once, the order the replies come in matters
    assert judge(prompts, first, second) == [1.0 - v for v in judge(prompts, second, first)]
    assert judge(prompts, first, first) == [0.5] * 6  # a reply against itself ties
    with pytest.raises(ModelFolderError, match="no single token for the answer 'A'"):
        LMJudge(T.tiny_chat_base())  # the tiny vocabulary has no "A"
    (tmp_path / "vit").mkdir()
    (tmp_path / "vit" / "config.json").write_text(json.dumps({"model_type": "vit"}))
    with pytest.raises(ModelFolderError, match="not a judge: neither a reward model nor a causal LM"):
        load_judge(tmp_path / "vit")


def test_the_judge_kind_names_what_the_folder_holds() -> None:
    """compare's results.json labels a --judge folder by what load_judge loads from it: a reward model given as
    --judge is a reward model (it was labelled a prompted causal LM whenever it was not compare's own)."""
    assert judge_kind(T.tiny_reward_model()) == "reward model"
    assert judge_kind(T.tiny_chat_base()) == "causal LM prompted as a judge, position-swapped"
