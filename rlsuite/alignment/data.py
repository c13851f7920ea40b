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

from rlsuite.common.config import Config, option
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


def _require(record: Any, keys: Sequence[str], where: str, texts: Sequence[str]) -> None:
    """A JSON object with every one of ``keys``; those in ``texts`` non-empty strings or message lists."""
    if not isinstance(record, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for key in keys:
        if key not in record or record[key] is None:
            raise DataError(f"{where}: missing field {key!r}")
        if key in texts:
            _check_field(record[key], key, where)


def validate_record(record: Any, where: str) -> dict[str, Any]:
    """Check one preference record; raise a one-line ``DataError`` naming ``where`` if it is bad."""
    keys = ("prompt", "chosen", "rejected")
    _require(record, keys, where, keys)
    kinds = {key: isinstance(record[key], str) for key in ("prompt", "chosen", "rejected")}
    if len(set(kinds.values())) != 1:
        raise DataError(f"{where}: prompt, chosen and rejected mix strings and message lists")
    if record["chosen"] == record["rejected"]:
        raise DataError(f"{where}: 'chosen' is identical to 'rejected'")
    return {key: record[key] for key in ("prompt", "chosen", "rejected")}


def validate_unpaired(record: Any, where: str) -> dict[str, Any]:
    """Check one unpaired record (KTO's format: ``prompt``, ``completion``, boolean ``label``)."""
    _require(record, ("prompt", "completion", "label"), where, ("prompt", "completion"))
    if isinstance(record["prompt"], str) != isinstance(record["completion"], str):
        raise DataError(f"{where}: prompt and completion mix strings and message lists")
    label = record["label"]
    if isinstance(label, str) and label.strip().lower() in ("true", "false", "1", "0"):  # CSV cells are text
        label = label.strip().lower() in ("true", "1")
    if not isinstance(label, bool):
        raise DataError(f"{where}: field 'label' must be true or false, got {label!r}")
    return {"prompt": record["prompt"], "completion": record["completion"], "label": label}


def implicit_prompt(record: dict[str, Any], where: str) -> dict[str, Any]:
    """A pair whose prompt is the shared beginning of ``chosen`` and ``rejected`` (whole dialogues, as in
    Anthropic's HH-RLHF), split as TRL's ``extract_prompt`` splits it: the longest common prefix (of
    characters, or of messages) is the prompt; a space before the first difference stays with the replies."""
    from trl.data_utils import extract_prompt

    _require(record, ("chosen", "rejected"), where, ("chosen", "rejected"))
    if isinstance(record["chosen"], str) != isinstance(record["rejected"], str):
        raise DataError(f"{where}: chosen and rejected mix strings and message lists")
    split = extract_prompt({"chosen": record["chosen"], "rejected": record["rejected"]})
    if not split["prompt"] or (isinstance(split["prompt"], str) and not split["prompt"].strip()):
        raise DataError(f"{where}: chosen and rejected share no beginning: no prompt to extract (give a prompt field)")
    return validate_record(split, where)


@dataclass
class Columns(Config):
    """Where the fields of a data file are, when its column names differ from TRL's."""

    prompt_column: str = option("prompt", help="the data's prompt column (absent: the prompt is the shared "
                                "beginning of chosen and rejected, as in HH-RLHF)")
    chosen_column: str = option("chosen", help="the data's preferred-completion column")
    rejected_column: str = option("rejected", help="the data's dispreferred-completion column")
    completion_column: str = option("completion", help="the data's completion column (SFT; unpaired KTO/BCO data)")
    label_column: str = option("label", help="the data's desirable-or-not column (unpaired KTO/BCO data)")

    def mapping(self) -> dict[str, str]:
        """TRL's field name -> the data's column name, for the columns named otherwise."""
        return {f: getattr(self, f"{f}_column") for f in FIELDS if getattr(self, f"{f}_column") != f}


FIELDS = ("prompt", "chosen", "rejected", "completion", "label")
FORMATS = {"pairs": "prompt/chosen/rejected pairs", "implicit": "implicit-prompt pairs (chosen/rejected only)",
           "unpaired": "unpaired prompt/completion/label records"}


def _format_of(row: Any) -> str:
    if isinstance(row, dict) and "chosen" not in row and "rejected" not in row and "completion" in row:
        return "unpaired"
    if isinstance(row, dict) and "prompt" not in row and ("chosen" in row or "rejected" in row):
        return "implicit"
    return "pairs"


def load_preferences(path: str | Path, unpaired: bool = False, columns: Columns | None = None) -> list[dict[str, Any]]:
    """Load and validate preference data in TRL's public formats.

    Formats (one per file): ``prompt``/``chosen``/``rejected`` pairs, as strings or as lists of
    ``{"role", "content"}`` messages; implicit-prompt pairs (``chosen``/``rejected`` whole dialogues with
    a shared beginning, HH-RLHF's layout: the prompt is extracted as TRL's ``extract_prompt`` does); and,
    with ``unpaired``, KTO's ``prompt``/``completion``/``label`` records.

    Args:
        path: a ``.jsonl`` file (one JSON object per line; blank lines are skipped), a ``.parquet`` or
            ``.csv`` file, or a folder written by ``datasets`` ``save_to_disk`` (a ``DatasetDict``: its
            ``train`` split).
        unpaired: accept unpaired records (KTO, BCO).
        columns: the data's column names where they differ from TRL's.

    Returns:
        The records: pairs with ``prompt``, ``chosen`` and ``rejected``; unpaired records with
        ``prompt``, ``completion`` and ``label``.

    Raises:
        DataError: naming the file and line (or row) of the first malformed record, a column that is not
        there, or a file that mixes formats.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: preference data not found")
    records: list[dict[str, Any]] = []
    first: tuple[str, str, bool] | None = None  # (format, where, conversational) of the first record
    for where, obj in _rows(p, columns):
        kind = _format_of(obj)
        if kind == "unpaired" and not unpaired:
            raise DataError(f"{where}: an unpaired prompt/completion/label record; only kto and bco train on "
                            "unpaired data (the others need prompt/chosen/rejected pairs)")
        record = (validate_unpaired(obj, where) if kind == "unpaired" else implicit_prompt(obj, where)
                  if kind == "implicit" else validate_record(obj, where))
        conversational = not isinstance(record["prompt"], str)
        if first is None:
            first = (kind, where, conversational)
        elif (kind, conversational) != (first[0], first[2]):
            style = ("conversational " if conversational else "string ")
            was = ("conversational " if first[2] else "string ") + FORMATS[first[0]]
            raise DataError(f"{where}: {style}{FORMATS[kind]} in a file of {was} (from {first[1]}); "
                            "one format per file")
        records.append(record)
    if not records:
        raise DataError(f"{p}: no preference pairs found")
    return records


def _rows(p: Path, columns: Columns | None = None) -> list[tuple[str, Any]]:
    """``(where, row)`` of every record of a JSONL, Parquet or CSV file or a ``datasets`` folder, with the
    columns renamed to TRL's names (a named column that is not there: one line naming it and the flag)."""
    if p.is_dir():
        rows = _dataset_rows(p)
    elif p.suffix == ".parquet":
        rows = _parquet_rows(p)
    elif p.suffix == ".csv":
        rows = _csv_rows(p)
    else:
        rows = _jsonl(p)
    mapping = columns.mapping() if columns is not None else {}
    if not mapping:
        return rows
    present = set(rows[0][1]) if rows and isinstance(rows[0][1], dict) else set()
    for name, column in mapping.items():
        if column not in present:
            raise DataError(f"{p}: no column {column!r} (--{name}_column); its columns: {', '.join(sorted(present))}")
    renamed = []
    for where, row in rows:
        if isinstance(row, dict):
            row = {k: v for k, v in row.items() if k not in mapping or k in mapping.values()}  # replaced fields
            row = {next((f for f, c in mapping.items() if c == k), k): v for k, v in row.items()}
        renamed.append((where, row))
    return renamed


def _dataset_rows(p: Path) -> list[tuple[str, Any]]:
    import datasets

    try:
        ds = datasets.load_from_disk(str(p))
    except (FileNotFoundError, ValueError, OSError) as exc:  # datasets' "not a saved dataset" errors
        raise DataError(f"{p}: not a datasets folder written by save_to_disk ({str(exc).splitlines()[0]})") from exc
    if isinstance(ds, datasets.DatasetDict):
        if "train" not in ds:
            raise DataError(f"{p}: DatasetDict has no 'train' split (splits: {list(ds)})")
        ds = ds["train"]
    return [(f"{p}: row {i}", row) for i, row in enumerate(ds)]


def _parquet_rows(p: Path) -> list[tuple[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(str(p))
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{p}: not a Parquet file ({str(exc).splitlines()[0]})") from exc
    return [(f"{p}: row {i}", row) for i, row in enumerate(table.to_pylist())]


def _csv_rows(p: Path) -> list[tuple[str, Any]]:
    """CSV rows (a header line first); a row is named by the line it ends on."""
    import csv

    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            return [(f"{p}:{reader.line_num}", {k: v for k, v in row.items() if v not in (None, "")})
                    for row in reader]
    except UnicodeDecodeError as exc:
        raise DataError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise DataError(f"{p}: bad CSV ({exc})") from exc


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


def unpair(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Preference pairs as KTO's unpaired format, as TRL's ``unpair_preference_dataset`` makes it: each
    pair gives ``{prompt, completion: chosen, label: True}`` and ``{prompt, completion: rejected, label: False}``
    (here one after the other, so that every batch holds both labels). Unpaired records pass as they are."""
    out: list[dict[str, Any]] = []
    for r in records:
        if "completion" in r:
            out.append(dict(r))
            continue
        out.append({"prompt": r["prompt"], "completion": r["chosen"], "label": True})
        out.append({"prompt": r["prompt"], "completion": r["rejected"], "label": False})
    return out


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


def load_sft_records(path: str | Path, columns: Columns | None = None) -> list[dict[str, Any]]:
    """Load prompt/completion records (strings, or message lists) from a JSONL, Parquet or CSV file or a
    ``datasets`` folder (``columns``: the data's column names where they differ).

    Raises:
        DataError: naming the file and line of the first malformed record.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: SFT data not found")
    records = []
    for where, obj in _rows(p, columns):
        _require(obj, ("prompt", "completion"), where, ("prompt", "completion"))
        if isinstance(obj["prompt"], str) != isinstance(obj["completion"], str):
            raise DataError(f"{where}: prompt and completion mix strings and message lists")
        records.append({"prompt": obj["prompt"], "completion": obj["completion"]})
    if not records:
        raise DataError(f"{p}: no records")
    return records
