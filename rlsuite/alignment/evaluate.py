"""Measurements of aligned policies: gold reward, win rate, Monte Carlo KL, pair accuracies.

Sequence-level KL to the SFT reference is a Monte Carlo estimate: sample ``y ~ pi(.|x)`` at
temperature 1 (no top-k/top-p), take ``log pi(y|x) - log pi_ref(y|x)`` summed over the completion
tokens (eos included), and average over prompts and samples; the standard error is reported.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from rlsuite.alignment.data import SentimentTask, label_pairs
from rlsuite.alignment.models import (
    decode,
    generate,
    load_causal_lm,
    load_reward_model,
    reward_scores,
    sequence_logprobs,
)


def _mean_sem(x: Sequence[float]) -> tuple[float, float]:
    a = np.asarray(x, dtype=float)
    return float(a.mean()), float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0


def sample_pairs(
    sft_path: str | os.PathLike[str],
    prompts: Sequence[str],
    copies: int,
    rule: str = "margin",
    seed: int = 0,
    max_new_tokens: int = 12,
) -> list[dict[str, str]]:
    """Preference pairs from two SFT samples per prompt (``copies`` rounds), gold-labelled."""
    model, tok = load_causal_lm(sft_path)
    ps = [p for _ in range(copies) for p in prompts]
    a = decode(tok, generate(model, tok, ps, max_new_tokens, seed=seed))
    b = decode(tok, generate(model, tok, ps, max_new_tokens, seed=seed + 1))
    return label_pairs(ps, a, b, rule=rule, seed=seed)


def evaluate_policy(
    policy_path: str | os.PathLike[str],
    sft_path: str | os.PathLike[str],
    prompts: Sequence[str],
    samples_per_prompt: int = 16,
    seed: int = 1234,
    judge: Any = None,
    max_new_tokens: int = 12,
) -> dict[str, Any]:
    """Gold reward (or judge score), win rate against SFT and MC sequence-level KL to SFT.

    Args:
        policy_path: the policy folder.
        sft_path: the SFT reference folder.
        prompts: held-out prompts; each is sampled ``samples_per_prompt`` times.
        seed: sampling seed (the same for every policy, so the SFT baseline is shared).
        judge: ``None`` for the gold reward, else a callable ``f(prompts, completions) -> scores``
            (the trained reward model, used when the data has no gold reward).
        max_new_tokens: completion length cap.
    """
    policy, tok = load_causal_lm(policy_path)
    ref, _ = load_causal_lm(sft_path)
    ps = [p for p in prompts for _ in range(samples_per_prompt)]
    ids = generate(policy, tok, ps, max_new_tokens, seed=seed)
    ref_ids = generate(ref, tok, ps, max_new_tokens, seed=seed + 7)
    texts, ref_texts = decode(tok, ids), decode(tok, ref_ids)
    score = judge or (lambda _p, c: SentimentTask.gold_reward(c))
    r, r_ref = np.asarray(score(ps, texts)), np.asarray(score(ps, ref_texts))
    kl = np.asarray(sequence_logprobs(policy, tok, ps, ids)) - np.asarray(
        sequence_logprobs(ref, tok, ps, ids)
    )
    wins = (r > r_ref) + 0.5 * (r == r_ref)
    reward_mean, reward_sem = _mean_sem(r)
    kl_mean, kl_sem = _mean_sem(kl)
    win, win_sem = _mean_sem(wins)
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
            p + t
            for p, t in zip(
                ps[:: max(1, samples_per_prompt)], texts[:: max(1, samples_per_prompt)], strict=True
            )
        ][:4],
    }


def _completion_ids(tok: Any, texts: Sequence[str]) -> list[list[int]]:
    return [tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for t in texts]


def reward_model_accuracy(rm_path: str | os.PathLike[str], pairs: Sequence[dict[str, str]]) -> float:
    """Fraction of held-out pairs where the reward model scores chosen above rejected."""
    rm, tok = load_reward_model(rm_path)
    prompts = [p["prompt"] for p in pairs]
    c = reward_scores(rm, tok, prompts, [p["chosen"] for p in pairs])
    r = reward_scores(rm, tok, prompts, [p["rejected"] for p in pairs])
    return float(np.mean(np.asarray(c) > np.asarray(r)))


def implicit_reward_accuracy(
    policy_path: str | os.PathLike[str], ref_path: str | os.PathLike[str], pairs: Sequence[dict[str, str]]
) -> float:
    """DPO's implicit-reward accuracy: ``log pi/pi_ref`` of chosen above that of rejected (beta cancels)."""
    policy, tok = load_causal_lm(policy_path)
    ref, _ = load_causal_lm(ref_path)
    prompts = [p["prompt"] for p in pairs]
    margins = []
    for key in ("chosen", "rejected"):
        ids = _completion_ids(tok, [p[key] for p in pairs])
        margins.append(
            np.asarray(sequence_logprobs(policy, tok, prompts, ids))
            - np.asarray(sequence_logprobs(ref, tok, prompts, ids))
        )
    return float(np.mean(margins[0] > margins[1]))
