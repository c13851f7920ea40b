"""The embedded task's data for other tools: its preference pairs in TRL's format, and its gold reward.

:func:`export_task` writes ``train.jsonl`` and ``test.jsonl`` (``prompt``/``chosen``/``rejected``, the
split ``align compare`` trains and measures on with the same settings), which ``datasets.load_dataset(DIR)``
reads as a ``train`` and a ``test`` split (so ``trl dpo --dataset_name DIR`` takes the folder as it is),
and ``gold_reward.json``, the gold reward's definition.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rlsuite.alignment import data as D

GOLD_REWARD_FILE = "gold_reward.json"


def gold_reward_definition() -> dict[str, Any]:
    """The synthetic task's gold reward, as data: the word lists and the formula."""
    return {
        "reward": "number of positive words minus number of negative words in the completion "
                  "(words split on whitespace)",
        "positive": list(D.POSITIVE),
        "negative": list(D.NEGATIVE),
        "python": "sum(w in positive for w in text.split()) - sum(w in negative for w in text.split())",
    }


def task_pairs(
    model: str | os.PathLike[str] | None = None,
    pair_copies: int = 32,
    seed: int = 0,
    heldout_fraction: float = 0.1,
    conversational: bool = False,
    max_new_tokens: int = 12,
    trust_pickle: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The embedded task's ``(train, held_out)`` pairs: two samples of the SFT ``model`` (default: the
    embedded one) per train prompt, ``pair_copies`` rounds, labelled by the gold reward, then split
    (``trust_pickle``: a ``model`` whose weights are only pickled is loaded, not refused)."""
    from rlsuite.alignment.embedded import default_model_dir
    from rlsuite.alignment.evaluate import sample_pairs

    prompts, _ = D.SentimentTask().split_prompts()
    shown: list[Any] = [D.user_turn(p) for p in prompts] if conversational else list(prompts)
    sft = Path(model) if model is not None else default_model_dir()
    pairs = sample_pairs(sft, shown, pair_copies, seed=seed, max_new_tokens=max_new_tokens, trust_pickle=trust_pickle)
    return D.split_heldout(pairs, heldout_fraction, seed=seed)


def export_task(out: str | os.PathLike[str], **settings: Any) -> dict[str, Any]:
    """Write the embedded task's pairs (``train.jsonl``, ``test.jsonl``) and ``gold_reward.json`` into
    ``out``; ``settings`` go to :func:`task_pairs`. Returns what was written."""
    from rlsuite.common.io import write_json

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    train, held = task_pairs(**settings)
    D.write_jsonl(root / "train.jsonl", train)
    D.write_jsonl(root / "test.jsonl", held)
    write_json(root / GOLD_REWARD_FILE, gold_reward_definition())
    return {"folder": str(root), "train": len(train), "test": len(held),
            "files": ["train.jsonl", "test.jsonl", GOLD_REWARD_FILE]}
