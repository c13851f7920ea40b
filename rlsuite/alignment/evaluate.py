"""Measurements of aligned policies: gold reward, win rate, Monte Carlo KL, pair accuracies.

Prompts are plain strings or conversations (chat-template models); see :mod:`rlsuite.alignment.models`.

- Reward: the gold reward of the synthetic task, or a judge (the trained reward model, when the
  data has no gold reward), of samples ``y ~ pi(.|x)`` at temperature 1.
- Win rate against the SFT policy: each policy sample against the SFT sample of the same prompt
  and draw; a tie counts one half.
- Sequence-level KL to the SFT reference, a Monte Carlo estimate: the mean over the policy's samples
  of ``log pi(y|x) - log pi_ref(y|x)`` summed over the completion tokens (eos included); the
  standard error is reported.

Every model runs where the training ran (:func:`~rlsuite.alignment.models.placement`: the GPU where
there is one, in bf16 where the GPU has it natively; ``where=`` to say otherwise).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rlsuite.alignment.data import SentimentTask, label_pairs, text_of, to_conversational
from rlsuite.alignment.models import (
    Placement,
    completion_ids,
    decode,
    generate,
    is_conversation,
    load_causal_lm,
    load_reward_model,
    placement,
    reward_scores,
    sequence_logprobs,
)

Judge = Callable[[list[Any], list[Any]], list[float]]


def mean_sem(x: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (0 for a single value)."""
    a = np.asarray(x, dtype=float)
    return float(a.mean()), float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0


def win_rate(rewards: Sequence[float], baseline: Sequence[float]) -> tuple[float, float]:
    """Fraction of paired samples where ``rewards`` beats ``baseline``, a tie counting one half; its SE."""
    r, b = np.asarray(rewards, dtype=float), np.asarray(baseline, dtype=float)
    return mean_sem((r > b) + 0.5 * (r == b))


def gold_judge(prompts: list[Any], completions: list[Any]) -> list[float]:
    """The synthetic task's gold reward as a judge."""
    return SentimentTask.gold_reward([text_of(c) for c in completions])


def sample_pairs(
    sft_path: str | os.PathLike[str],
    prompts: Sequence[Any],
    copies: int,
    rule: str = "margin",
    seed: int = 0,
    max_new_tokens: int = 12,
    where: Placement | None = None,
    trust_pickle: bool = False,
) -> list[dict[str, Any]]:
    """Preference pairs from two SFT samples per prompt (``copies`` rounds), labelled by the gold reward.

    Conversational prompts give conversational pairs (the completions as assistant replies).
    ``trust_pickle``: an SFT folder whose weights are only pickled is loaded, not refused.
    """
    model, tok = load_causal_lm(sft_path, where=where or placement(), trust_pickle=trust_pickle)
    ps = [p for _ in range(copies) for p in prompts]
    conv = is_conversation(ps[0])
    a = decode(tok, generate(model, tok, ps, max_new_tokens, seed=seed), conv)
    b = decode(tok, generate(model, tok, ps, max_new_tokens, seed=seed + 1), conv)
    if not conv:
        return label_pairs(ps, a, b, rule=rule, seed=seed)
    return to_conversational(label_pairs(ps, a, b, rule=rule, seed=seed))


def reference_samples(
    sft_path: str | os.PathLike[str],
    prompts: Sequence[Any],
    samples_per_prompt: int,
    judge: Judge | None = None,
    seed: int = 1234,
    max_new_tokens: int = 12,
    where: Placement | None = None,
) -> dict[str, Any]:
    """The SFT policy's samples on the held-out prompts and their rewards: every policy's baseline."""
    model, tok = load_causal_lm(sft_path, where=where or placement())
    ps = [p for p in prompts for _ in range(samples_per_prompt)]
    ids = generate(model, tok, ps, max_new_tokens, seed=seed + 7)
    texts = decode(tok, ids, is_conversation(ps[0]))
    return {"rewards": [float(x) for x in (judge or gold_judge)(ps, texts)], "texts": texts}


def evaluate_policy(
    policy_path: str | os.PathLike[str],
    sft_path: str | os.PathLike[str],
    prompts: Sequence[Any],
    samples_per_prompt: int = 16,
    seed: int = 1234,
    judge: Judge | None = None,
    max_new_tokens: int = 12,
    reference: dict[str, Any] | None = None,
    pairwise: Callable[[list[Any], list[Any], list[Any]], list[float]] | None = None,
    where: Placement | None = None,
) -> dict[str, Any]:
    """Reward (gold, or the judge's), win rate against SFT and MC sequence-level KL to SFT; with a
    ``pairwise`` judge (:mod:`rlsuite.alignment.judge`) also its win rate against SFT on the same sample
    pairs, and (with the gold reward) its agreement with the gold verdicts.

    Args:
        policy_path: the policy folder.
        sft_path: the SFT reference folder.
        prompts: held-out prompts (plain or conversations); each is sampled ``samples_per_prompt`` times.
        seed: sampling seed (the same for every policy).
        judge: ``None`` for the gold reward, else ``f(prompts, completions) -> scores``.
        max_new_tokens: completion length cap.
        reference: :func:`reference_samples` of the SFT policy (computed here when not given).
        pairwise: ``f(prompts, first, second) -> verdicts`` (1: first better, 0: second, 0.5: tie).
        where: the device and dtype the policies run at (default: :func:`~rlsuite.alignment.models.placement`).
    """
    policy, tok = load_causal_lm(policy_path, where=where or placement())
    ref, _ = load_causal_lm(sft_path, where=where or placement())
    ps = [p for p in prompts for _ in range(samples_per_prompt)]
    conv = is_conversation(ps[0])
    if reference is None:
        reference = reference_samples(sft_path, prompts, samples_per_prompt, judge, seed, max_new_tokens, where)
    ids = generate(policy, tok, ps, max_new_tokens, seed=seed)
    texts = decode(tok, ids, conv)
    r = np.asarray((judge or gold_judge)(ps, texts), dtype=float)
    kl = np.asarray(sequence_logprobs(policy, tok, ps, ids)) - np.asarray(sequence_logprobs(ref, tok, ps, ids))
    reward_mean, reward_sem = mean_sem(r)
    kl_mean, kl_sem = mean_sem(kl)
    win, win_sem = win_rate(r, reference["rewards"])
    step = max(1, samples_per_prompt)
    judged: dict[str, Any] = {}
    if pairwise is not None:
        from rlsuite.alignment.judge import agreement

        verdicts = pairwise(ps, texts, reference["texts"])
        judged["judge_win_rate_vs_sft"], judged["judge_win_rate_sem"] = mean_sem(verdicts)
        if judge is None:
            judged["judge_agreement_with_gold"] = agreement(verdicts, r, reference["rewards"])
    return {
        "reward": reward_mean,
        "reward_sem": reward_sem,
        "reward_kind": "gold" if judge is None else "reward model",
        "win_rate_vs_sft": win,
        "win_rate_sem": win_sem,
        "kl_to_sft": kl_mean,
        "kl_sem": kl_sem,
        "mean_completion_tokens": float(np.mean([len(x) for x in ids])),
        "n_samples": len(ps),
        "examples": [
            f"{text_of(p)} -> {t}" if conv else p + t for p, t in zip(ps[::step], texts[::step], strict=True)
        ][:4],
        **judged,
    }


def reward_model_accuracy(
    rm_path: str | os.PathLike[str], pairs: Sequence[dict[str, Any]], where: Placement | None = None
) -> float:
    """Fraction of held-out pairs where the reward model scores chosen above rejected."""
    rm, tok = load_reward_model(rm_path, where=where or placement())
    prompts = [p["prompt"] for p in pairs]
    c = reward_scores(rm, tok, prompts, [p["chosen"] for p in pairs])
    r = reward_scores(rm, tok, prompts, [p["rejected"] for p in pairs])
    return float(np.mean(np.asarray(c) > np.asarray(r)))


def implicit_reward_accuracy(
    policy_path: str | os.PathLike[str],
    ref_path: str | os.PathLike[str],
    pairs: Sequence[dict[str, Any]],
    where: Placement | None = None,
) -> float:
    """DPO's implicit-reward accuracy: ``log pi/pi_ref`` of chosen above that of rejected (beta cancels)."""
    policy, tok = load_causal_lm(policy_path, where=where or placement())
    ref, _ = load_causal_lm(ref_path, where=where or placement())
    prompts = [p["prompt"] for p in pairs]
    margins = []
    for key in ("chosen", "rejected"):
        ids = [completion_ids(tok, p["prompt"], p[key]) for p in pairs]
        margins.append(
            np.asarray(sequence_logprobs(policy, tok, prompts, ids))
            - np.asarray(sequence_logprobs(ref, tok, prompts, ids))
        )
    return float(np.mean(margins[0] > margins[1]))
