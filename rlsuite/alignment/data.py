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

from rlsuite.common.errors import DataError, UsageError

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

    def __post_init__(self) -> None:
        for name in ("min_words", "max_words"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"SentimentTask.{name}: expected an integer >= 1, got {value!r}")
        if self.max_words < self.min_words:
            raise UsageError(f"SentimentTask.max_words: {self.max_words} is below min_words {self.min_words}")
        for name in ("p_positive", "p_negative"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise UsageError(f"SentimentTask.{name}: expected a probability in [0, 1], got {value!r}")
        if self.p_positive + self.p_negative > 1.0:
            raise UsageError(
                f"SentimentTask.p_positive + p_negative: {self.p_positive} + {self.p_negative} is over 1"
            )

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

    def sft_dataset(self, n: int, seed: int, conversational: bool = False) -> list[dict[str, Any]]:
        """``n`` prompt/completion records (TRL's prompt-completion format) over the train prompts;
        ``conversational``: as a user turn and an assistant reply (see :func:`to_conversational`)."""
        rng = np.random.default_rng(seed)
        train, _ = self.split_prompts()
        records = [
            {"prompt": train[int(rng.integers(len(train)))], "completion": self.sample_completion(rng)}
            for _ in range(n)
        ]
        return to_conversational(records) if conversational else records


def user_turn(prompt: str) -> list[dict[str, str]]:
    """A plain prompt as a conversation: one user message."""
    return [{"role": "user", "content": prompt.strip()}]


def assistant_turn(text: str) -> list[dict[str, str]]:
    """A plain completion as the assistant's reply."""
    return [{"role": "assistant", "content": text.strip()}]


def to_conversational(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plain records (prompt + completion, or prompt + chosen + rejected) rendered as conversations:
    the prompt a user turn, each completion an assistant reply. Conversational records pass as they are."""
    out = []
    for r in records:
        row = dict(r)
        if isinstance(row.get("prompt"), str):
            row["prompt"] = user_turn(row["prompt"])
        for key in ("completion", "chosen", "rejected"):
            if isinstance(row.get(key), str):
                row[key] = assistant_turn(row[key])
        out.append(row)
    return out


def text_of(x: str | list[dict[str, Any]]) -> str:
    """The text of a completion: the string, or the contents of its messages."""
    return x if isinstance(x, str) else " ".join(str(m.get("content", "")) for m in x)


def gold_reward_func(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
    """The gold reward in TRL's reward-function signature ``f(prompts, completions, **kw)``."""
    return SentimentTask.gold_reward([text_of(c) for c in completions])


def label_pairs(
    prompts: Sequence[Any],
    first: Sequence[str],
    second: Sequence[str],
    rule: str = "margin",
    seed: int = 0,
) -> list[dict[str, Any]]:
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
    for name, value in (("prompts", prompts), ("first", first), ("second", second)):
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise UsageError(f"label_pairs: {name} must be a list (one entry per prompt), got {type(value).__name__}")
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
            raise DataError(f"{where}: field {key!r} is empty")
        return
    if isinstance(value, list):
        if not value:
            raise DataError(f"{where}: field {key!r} is an empty list")
        for i, msg in enumerate(value):
            if not isinstance(msg, dict) or not isinstance(msg.get("role"), str) or "content" not in msg:
                raise DataError(f"{where}: field {key!r} message {i} is not a {{'role', 'content'}} mapping")
            if not isinstance(msg["content"], str) or not msg["content"].strip():
                raise DataError(f"{where}: field {key!r} message {i} has empty or non-string content")
        return
    raise DataError(
        f"{where}: field {key!r} must be a string or a list of messages, got {type(value).__name__}"
    )


def validate_record(record: Any, where: str) -> dict[str, Any]:
    """Check one preference record; raise a one-line ``DataError`` naming ``where`` if it is bad."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for key in ("prompt", "chosen", "rejected"):
        if key not in record or record[key] is None:
            raise DataError(f"{where}: missing field {key!r}")
        _check_field(record[key], key, where)
    kinds = {key: isinstance(record[key], str) for key in ("prompt", "chosen", "rejected")}
    if len(set(kinds.values())) != 1:
        raise DataError(f"{where}: prompt, chosen and rejected mix strings and message lists")
    if record["chosen"] == record["rejected"]:
        raise DataError(f"{where}: 'chosen' is identical to 'rejected'")
    return {key: record[key] for key in ("prompt", "chosen", "rejected")}


def load_preferences(path: str | Path) -> list[dict[str, Any]]:
    """Load and validate preference pairs from a JSONL file or a local ``datasets`` folder.

    Args:
        path: a ``.jsonl`` file (one JSON object per line; blank lines are skipped) or a folder
            written by ``datasets.Dataset.save_to_disk`` (or a ``DatasetDict`` with a ``train`` split).

    Returns:
        The records, each with ``prompt``, ``chosen`` and ``rejected``.

    Raises:
        DataError: naming the file and line (or row) of the first malformed record.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: preference data not found")
    records: list[dict[str, Any]] = []
    if p.is_dir():
        import datasets

        try:
            ds = datasets.load_from_disk(str(p))
        except (FileNotFoundError, ValueError, OSError) as exc:  # datasets' "not a saved dataset" errors
            raise DataError(f"{p}: not a datasets folder written by save_to_disk ({str(exc).splitlines()[0]})") from exc
        if isinstance(ds, datasets.DatasetDict):
            if "train" not in ds:
                raise DataError(f"{p}: DatasetDict has no 'train' split (splits: {list(ds)})")
            ds = ds["train"]
        for i, row in enumerate(ds):
            records.append(validate_record(row, f"{p}: row {i}"))
    else:
        for where, obj in _jsonl(p):
            records.append(validate_record(obj, where))
    if not records:
        raise DataError(f"{p}: no preference pairs found")
    return records


def _jsonl(p: Path) -> list[tuple[str, Any]]:
    """``(file:line, object)`` for every non-blank line of a JSONL file; bad JSON or bytes name the line."""
    out = []
    with p.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            where = f"{p}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
            if not line.strip():
                continue
            out.append((where, _json_line(line, where)))
    return out


MAX_JSON_DEPTH = 32  # nesting of one record (a message list is 3 deep)
MAX_INT_DIGITS = 20  # a 64-bit integer


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise DataError(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _json_line(line: str, where: str) -> Any:
    """One JSON value, with integers of at most ``MAX_INT_DIGITS`` digits and ``MAX_JSON_DEPTH`` levels."""
    try:
        value = json.loads(line, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: bad JSON ({exc.msg} at column {exc.colno})") from exc
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    except RecursionError:
        raise DataError(f"{where}: nested more than {MAX_JSON_DEPTH} levels deep") from None
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            raise DataError(f"{where}: nested more than {MAX_JSON_DEPTH} levels deep")
        level = [c for v in level if isinstance(v, dict | list) for c in (v.values() if isinstance(v, dict) else v)]
    return value


def write_jsonl(path: str | Path, records: Sequence[dict[str, Any]]) -> Path:
    """Write records as JSONL, atomically."""
    from rlsuite.common.io import write_text

    return write_text(path, "".join(json.dumps(r) + "\n" for r in records))


def split_heldout(records: list[dict[str, Any]], fraction: float, seed: int) -> tuple[list, list]:
    """Shuffle ``records`` and split off a held-out fraction (at least one pair on each side)."""
    if isinstance(records, str) or not isinstance(records, Sequence):
        raise UsageError(f"split_heldout: records must be a list of records, got {type(records).__name__}")
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0.0 <= fraction <= 1.0:
        raise UsageError(f"split_heldout: fraction must be a number in [0, 1], got {fraction!r}")
    if len(records) < 2:
        raise DataError(f"need at least 2 preference pairs to hold some out, got {len(records)}")
    order = np.random.default_rng(seed).permutation(len(records))
    n_held = min(max(1, round(fraction * len(records))), len(records) - 1)
    held = [records[i] for i in order[:n_held]]
    train = [records[i] for i in order[n_held:]]
    return train, held


def load_sft_records(path: str | Path) -> list[dict[str, Any]]:
    """Load prompt/completion records (strings, or message lists) from a JSONL file.

    Raises:
        DataError: naming the file and line of the first malformed record.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: SFT data not found")
    records = []
    for where, obj in _jsonl(p):
        if not isinstance(obj, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        for key in ("prompt", "completion"):
            if key not in obj or obj[key] is None:
                raise DataError(f"{where}: missing field {key!r}")
            _check_field(obj[key], key, where)
        if isinstance(obj["prompt"], str) != isinstance(obj["completion"], str):
            raise DataError(f"{where}: prompt and completion mix strings and message lists")
        records.append({"prompt": obj["prompt"], "completion": obj["completion"]})
    if not records:
        raise DataError(f"{p}: no records")
    return records
