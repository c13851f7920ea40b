"""Pairwise judges: which of two completions of a prompt is better, where there is no gold reward.

A judge is called as ``judge(prompts, first, second)`` and returns one verdict per prompt: 1 when it
prefers ``first``, 0 when it prefers ``second``, 0.5 for a tie. Two local judges:

- :class:`RewardModelJudge`: a trained reward model (``align reward``) scores both; the higher wins.
- :class:`LMJudge`: a local causal LM prompted with both completions, labelled A and B, and asked
  which is better; its verdict compares the next-token probabilities of the two answer words. Each
  pair is asked twice, the completions swapped, and the two probabilities averaged
  (``(P(A | a, b) + 1 - P(A | b, a)) / 2``): a judge that always answers A ties, so the order the
  completions are shown in cannot decide (MT-Bench's position swapping).

:func:`agreement` measures a judge against the gold reward where the gold exists.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rlsuite.alignment.data import text_of
from rlsuite.alignment.models import Placement
from rlsuite.common.errors import ModelFolderError

JUDGE_PROMPT = "{prompt}\nA:{first}\nB:{second}\nWhich reply is better, A or B? Answer:"


class PairwiseJudge(Protocol):
    name: str

    def __call__(self, prompts: Sequence[Any], first: Sequence[Any], second: Sequence[Any]) -> list[float]: ...


def verdicts(first_scores: Sequence[float], second_scores: Sequence[float]) -> list[float]:
    """1 where the first score is higher, 0 where lower, 0.5 on a tie."""
    a, b = np.asarray(first_scores, dtype=float), np.asarray(second_scores, dtype=float)
    return [float(x) for x in (a > b) + 0.5 * (a == b)]


def agreement(judged: Sequence[float], gold_first: Sequence[float], gold_second: Sequence[float]) -> float | None:
    """How often the judge prefers what the gold reward prefers: the mean of ``1 - |verdict - gold verdict|``
    over the pairs the gold reward does not tie (a judge's tie counts one half); ``None`` if it ties them all."""
    gold = np.asarray(verdicts(gold_first, gold_second))
    strict = gold != 0.5
    if not strict.any():
        return None
    return float(np.mean(1.0 - np.abs(np.asarray(judged, dtype=float)[strict] - gold[strict])))


class RewardModelJudge:
    """A trained reward model as a pairwise judge: each completion scored, the higher one wins."""

    name = "reward model"

    def __init__(self, path: str | os.PathLike[str], where: Placement | None = None, trust_pickle: bool = False
                 ) -> None:  # fmt: skip
        from rlsuite.alignment.models import RewardModelFunc, placement

        self.path = str(path)
        self.score = RewardModelFunc.load(path, where or placement(), trust_pickle)

    def __call__(self, prompts: Sequence[Any], first: Sequence[Any], second: Sequence[Any]) -> list[float]:
        return verdicts(self.score(list(prompts), list(first)), self.score(list(prompts), list(second)))


class LMJudge:
    """A local causal LM prompted as a judge, with position swapping (see the module's docstring).

    Args:
        path: the model folder.
        answers: the two answer words (each must be one token of the judge's vocabulary, and distinct).
        template: the question, with ``{prompt}``, ``{first}`` and ``{second}``; sent through the chat
            template as a user turn when the tokenizer has one.
        where: the device and dtype it runs at (default: :func:`~rlsuite.alignment.models.placement`).
    """

    name = "causal LM (position-swapped)"

    def __init__(self, path: str | os.PathLike[str], answers: tuple[str, str] = ("A", "B"),
                 template: str = JUDGE_PROMPT, where: Placement | None = None, trust_pickle: bool = False) -> None:
        from rlsuite.alignment.models import load_causal_lm, placement

        self.path = str(path)
        self.model, self.tok = load_causal_lm(path, where=where or placement(), trust_pickle=trust_pickle)
        self.template = template
        unk = getattr(self.tok, "unk_token_id", None)
        ids = []
        for word in answers:
            found = self.tok(" " + word, add_special_tokens=False)["input_ids"]
            if len(found) != 1 or found[0] == unk:
                raise ModelFolderError(f"{path}: the judge's tokenizer has no single token for the answer {word!r}")
            ids.append(found[0])
        if ids[0] == ids[1]:
            raise ModelFolderError(f"{path}: the judge's answers {answers} are one token")
        self.answer_ids = ids

    def _question_ids(self, prompt: Any, first: Any, second: Any) -> list[int]:
        text = self.template.format(prompt=text_of(prompt), first=" " + text_of(first).strip(),
                                    second=" " + text_of(second).strip())
        if getattr(self.tok, "chat_template", None):
            out = self.tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                               tokenize=True, return_dict=True)
            return list(out["input_ids"])
        return list(self.tok(text)["input_ids"])

    def p_first(self, prompts: Sequence[Any], first: Sequence[Any], second: Sequence[Any],
                batch_size: int = 64) -> np.ndarray:
        """P(the judge answers the first answer word), over the two answer words, with ``first`` shown as A."""
        import torch

        rows = [self._question_ids(p, a, b) for p, a, b in zip(prompts, first, second, strict=True)]
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        out: list[float] = []
        device = next(self.model.parameters()).device
        self.model.eval()
        with torch.no_grad():
            for i in range(0, len(rows), batch_size):
                chunk = rows[i : i + batch_size]
                width = max(map(len, chunk))
                ids = torch.tensor([[pad] * (width - len(r)) + r for r in chunk])
                mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in chunk])
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                logits = self.model(input_ids=ids.to(device), attention_mask=mask.to(device),
                                    position_ids=positions.to(device)).logits[:, -1]
                two = logits[:, self.answer_ids].float().log_softmax(-1)
                out.extend(two[:, 0].exp().tolist())
        return np.asarray(out)

    def __call__(self, prompts: Sequence[Any], first: Sequence[Any], second: Sequence[Any]) -> list[float]:
        shown_first = self.p_first(prompts, first, second)
        shown_second = self.p_first(prompts, second, first)
        preference = (shown_first + 1.0 - shown_second) / 2.0
        return [1.0 if x > 0.5 else 0.0 if x < 0.5 else 0.5 for x in preference]


def judge_kind(path: str | os.PathLike[str]) -> str:
    """What :func:`load_judge` makes of a folder it has loaded: ``"reward model"`` or a prompted causal LM."""
    from rlsuite.alignment.models import check_reward_model

    try:
        check_reward_model(path, trust_pickle=True)  # reads the config and safetensors names; never unpickles
    except ModelFolderError:
        return "causal LM prompted as a judge, position-swapped"
    return "reward model"


def load_judge(path: str | os.PathLike[str], where: Placement | None = None, trust_pickle: bool = False
               ) -> PairwiseJudge:  # fmt: skip
    """The judge a folder holds: a reward model (a trained score head) or a causal LM prompted as a judge,
    at ``where`` (default: :func:`~rlsuite.alignment.models.placement`, where the training ran);
    ``trust_pickle``: a folder whose weights are only pickled is loaded, not refused.

    Raises:
        ModelFolderError: one line, when the folder is neither.
    """
    from rlsuite.alignment.models import check_causal_lm, check_reward_model

    try:
        check_reward_model(path, trust_pickle)
        return RewardModelJudge(path, where, trust_pickle)
    except ModelFolderError:
        pass
    try:
        check_causal_lm(path, trust_pickle=trust_pickle)
    except ModelFolderError as exc:
        raise ModelFolderError(f"{Path(path)}: not a judge: neither a reward model nor a causal LM ({exc})") from None
    return LMJudge(path, where=where, trust_pickle=trust_pickle)
