"""Preference data: the synthetic sentiment task with a gold reward, and loading/validating user data.

The synthetic task follows the DPO paper's controlled-sentiment generation in miniature: a prompt
names a thing ("the hotel was"), a completion is a short review, and the programmatic gold reward
is ``#positive words - #negative words`` in the completion (the paper used a sentiment classifier).

User preference data is TRL's format: ``prompt`` / ``chosen`` / ``rejected``, either strings
(standard) or lists of ``{"role", "content"}`` messages (conversational), from a JSONL file or a
local ``datasets`` folder (``save_to_disk``). Every malformed record is reported as one line naming
the file and line (or row) before any training starts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.common.errors import UsageError

POSITIVE: tuple[str, ...] = ("good", "great", "nice", "happy", "lovely", "fine", "superb", "fun")
NEGATIVE: tuple[str, ...] = ("bad", "awful", "poor", "sad", "boring", "ugly", "rude", "dull")
NEUTRAL: tuple[str, ...] = (
    "and",
    "but",
    "very",
    "quite",
    "so",
    "the",
    "it",
    "was",
    "is",
    "a",
    "bit",
    "really",
    "staff",
    "food",
    "room",
    "plot",
    "music",
    "view",
    "price",
    "ending",
)
TOPICS: tuple[str, ...] = ("hotel", "film", "book", "meal", "song", "game", "trip", "show")
TEMPLATES: tuple[str, ...] = ("the {} was", "my {} is", "this {} felt", "that {} seemed")
PROMPT_WORDS: tuple[str, ...] = ("the", "my", "this", "that", "was", "is", "felt", "seemed")


@dataclass
class SentimentTask:
    """The synthetic task: prompts, a gold reward, an SFT dataset and held-out prompts.

    Args:
        min_words: shortest SFT completion, in words.
        max_words: longest SFT completion, in words.
        p_positive: probability that an SFT completion word is positive.
        p_negative: probability that an SFT completion word is negative.
    """

    min_words: int = field(default=3, metadata={"help": "shortest SFT completion, in words"})
    max_words: int = field(default=8, metadata={"help": "longest SFT completion, in words"})
    p_positive: float = field(default=0.2, metadata={"help": "chance an SFT word is positive"})
    p_negative: float = field(default=0.2, metadata={"help": "chance an SFT word is negative"})

    @staticmethod
    def vocabulary() -> list[str]:
        """Every word the task uses (the embedded tokenizer's vocabulary, specials aside)."""
        words = [*POSITIVE, *NEGATIVE, *NEUTRAL, *TOPICS, *PROMPT_WORDS]
        return list(dict.fromkeys(words))

    @staticmethod
    def all_prompts() -> list[str]:
        """All 32 prompts, in a fixed order."""
        return [t.format(topic) for topic in TOPICS for t in TEMPLATES]

    def split_prompts(self) -> tuple[list[str], list[str]]:
        """Train and held-out prompts: one template per topic is held out (8 held-out prompts)."""
        train, held = [], []
        for i, topic in enumerate(TOPICS):
            for j, t in enumerate(TEMPLATES):
                (held if j == i % len(TEMPLATES) else train).append(t.format(topic))
        return train, held

    @staticmethod
    def gold_reward(completions: Sequence[str]) -> list[float]:
        """Gold reward of each completion: number of positive minus number of negative words."""
        pos, neg = set(POSITIVE), set(NEGATIVE)
        out = []
        for text in completions:
            words = text.split()
            out.append(float(sum(w in pos for w in words) - sum(w in neg for w in words)))
        return out

    def sample_completion(self, rng: np.random.Generator) -> str:
        """One SFT completion: random review words, starting with a space (see FIELD_NOTES)."""
        n = int(rng.integers(self.min_words, self.max_words + 1))
        kinds = rng.choice(
            3, size=n, p=[self.p_positive, self.p_negative, 1 - self.p_positive - self.p_negative]
        )
        pools = (POSITIVE, NEGATIVE, NEUTRAL)
        return " " + " ".join(pools[k][int(rng.integers(len(pools[k])))] for k in kinds)

    def sft_dataset(self, n: int, seed: int) -> list[dict[str, str]]:
        """``n`` prompt/completion records (TRL's prompt-completion format) over the train prompts."""
        rng = np.random.default_rng(seed)
        train, _ = self.split_prompts()
        return [
            {"prompt": train[int(rng.integers(len(train)))], "completion": self.sample_completion(rng)}
            for _ in range(n)
        ]


def gold_reward_func(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
    """The gold reward in TRL's reward-function signature ``f(prompts, completions, **kw)``."""
    texts = [c if isinstance(c, str) else " ".join(m["content"] for m in c) for c in completions]
    return SentimentTask.gold_reward(texts)


def label_pairs(
    prompts: Sequence[str],
    first: Sequence[str],
    second: Sequence[str],
    rule: str = "margin",
    seed: int = 0,
) -> list[dict[str, str]]:
    """Turn two samples per prompt into preference pairs, labelled by the gold reward.

    Args:
        prompts: the prompts.
        first: one completion per prompt.
        second: another completion per prompt.
        rule: ``"margin"`` keeps pairs whose gold rewards differ and prefers the higher one
            (deterministic); ``"bradley-terry"`` prefers ``first`` with probability
            ``sigmoid(r_first - r_second)``.
        seed: seed of the Bradley-Terry draws.

    Returns:
        ``prompt`` / ``chosen`` / ``rejected`` records; identical samples are dropped.
    """
    if rule not in ("margin", "bradley-terry"):
        raise UsageError(f"pair rule: {rule!r} is not one of ['margin', 'bradley-terry']")
    rng = np.random.default_rng(seed)
    ra, rb = SentimentTask.gold_reward(first), SentimentTask.gold_reward(second)
    pairs = []
    for p, a, b, x, y in zip(prompts, first, second, ra, rb, strict=True):
        if a.strip() == b.strip() or not a.strip() or not b.strip():
            continue
        if rule == "margin":
            if x == y:
                continue
            a_wins = x > y
        else:
            a_wins = rng.random() < 1.0 / (1.0 + np.exp(-(x - y)))
        pairs.append({"prompt": p, "chosen": a if a_wins else b, "rejected": b if a_wins else a})
    return pairs


# ---------------------------------------------------------------------------------------------
# Loading and validating preference data


def _check_field(value: Any, key: str, where: str) -> None:
    if isinstance(value, str):
        if not value.strip():
            raise UsageError(f"{where}: field {key!r} is empty")
        return
    if isinstance(value, list):
        if not value:
            raise UsageError(f"{where}: field {key!r} is an empty list")
        for i, msg in enumerate(value):
            if not isinstance(msg, dict) or not isinstance(msg.get("role"), str) or "content" not in msg:
                raise UsageError(f"{where}: field {key!r} message {i} is not a {{'role', 'content'}} mapping")
            if not isinstance(msg["content"], str) or not msg["content"].strip():
                raise UsageError(f"{where}: field {key!r} message {i} has empty or non-string content")
        return
    raise UsageError(
        f"{where}: field {key!r} must be a string or a list of messages, got {type(value).__name__}"
    )


def validate_record(record: Any, where: str) -> dict[str, Any]:
    """Check one preference record; raise a one-line ``UsageError`` naming ``where`` if it is bad."""
    if not isinstance(record, dict):
        raise UsageError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for key in ("prompt", "chosen", "rejected"):
        if key not in record or record[key] is None:
            raise UsageError(f"{where}: missing field {key!r}")
        _check_field(record[key], key, where)
    kinds = {key: isinstance(record[key], str) for key in ("prompt", "chosen", "rejected")}
    if len(set(kinds.values())) != 1:
        raise UsageError(f"{where}: prompt, chosen and rejected mix strings and message lists")
    if record["chosen"] == record["rejected"]:
        raise UsageError(f"{where}: 'chosen' is identical to 'rejected'")
    return {key: record[key] for key in ("prompt", "chosen", "rejected")}


def load_preferences(path: str | Path) -> list[dict[str, Any]]:
    """Load and validate preference pairs from a JSONL file or a local ``datasets`` folder.

    Args:
        path: a ``.jsonl`` file (one JSON object per line; blank lines are skipped) or a folder
            written by ``datasets.Dataset.save_to_disk`` (or a ``DatasetDict`` with a ``train`` split).

    Returns:
        The records, each with ``prompt``, ``chosen`` and ``rejected``.

    Raises:
        UsageError: naming the file and line (or row) of the first malformed record.
    """
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{p}: preference data not found")
    records: list[dict[str, Any]] = []
    if p.is_dir():
        import datasets

        try:
            ds = datasets.load_from_disk(str(p))
        except Exception as exc:
            raise UsageError(f"{p}: not a datasets folder written by save_to_disk ({exc})") from exc
        if isinstance(ds, datasets.DatasetDict):
            if "train" not in ds:
                raise UsageError(f"{p}: DatasetDict has no 'train' split (splits: {list(ds)})")
            ds = ds["train"]
        for i, row in enumerate(ds):
            records.append(validate_record(row, f"{p}: row {i}"))
    else:
        with p.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                where = f"{p}:{lineno}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{where}: bad JSON ({exc.msg} at column {exc.colno})") from exc
                records.append(validate_record(obj, where))
    if not records:
        raise UsageError(f"{p}: no preference pairs found")
    return records


def write_jsonl(path: str | Path, records: Sequence[dict[str, Any]]) -> Path:
    """Write records as JSONL, atomically."""
    from rlsuite.common.io import write_text

    return write_text(path, "".join(json.dumps(r) + "\n" for r in records))


def split_heldout(records: list[dict[str, Any]], fraction: float, seed: int) -> tuple[list, list]:
    """Shuffle ``records`` and split off a held-out fraction (at least one pair on each side)."""
    if len(records) < 2:
        raise UsageError(f"need at least 2 preference pairs to hold some out, got {len(records)}")
    order = np.random.default_rng(seed).permutation(len(records))
    n_held = min(max(1, round(fraction * len(records))), len(records) - 1)
    held = [records[i] for i in order[:n_held]]
    train = [records[i] for i in order[n_held:]]
    return train, held
