"""Exact checks of rlsuite.alignment.data that mutation testing found unchecked by the data's own tests: the synthetic
task's bounds at their edges, the text of a message list, unpaired and implicit-prompt records by their messages,
CSV cells holding line breaks, the integer limit at 20 digits, and files read as UTF-8 whatever the locale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rlsuite.alignment import data as D
from rlsuite.common.errors import DataError, UsageError


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"min_words": 0}, "SentimentTask.min_words: expected an integer >= 1, got 0"),
     ({"min_words": True}, "SentimentTask.min_words: expected an integer >= 1, got True"),
     ({"max_words": "9"}, "SentimentTask.max_words: expected an integer >= 1, got '9'"),
     ({"min_words": 3, "max_words": 2}, "SentimentTask.max_words: 2 is below min_words 3"),
     ({"p_positive": "x"}, "SentimentTask.p_positive: expected a probability in [0, 1], got 'x'"),
     ({"p_negative": False}, "SentimentTask.p_negative: expected a probability in [0, 1], got False"),
     ({"p_positive": 1.5, "p_negative": 0.0}, "SentimentTask.p_positive: expected a probability in [0, 1], got 1.5"),
     ({"p_positive": 0.7, "p_negative": 0.6}, "SentimentTask.p_positive + p_negative: 0.7 + 0.6 is over 1")],
)  # fmt: skip
def test_a_task_out_of_its_bounds_is_refused_in_one_line(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        D.SentimentTask(**settings)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "settings",
    [{"min_words": 1, "max_words": 1}, {"min_words": 2, "max_words": 2}, {"p_positive": 0.0, "p_negative": 1.0},
     {"p_positive": 1.0, "p_negative": 0.0}, {"p_positive": 0.5, "p_negative": 0.5}],
)  # fmt: skip
def test_a_task_at_its_bounds_is_accepted(settings: dict[str, Any]) -> None:
    task = D.SentimentTask(**settings)
    assert all(getattr(task, k) == v for k, v in settings.items())


def test_the_text_of_messages_is_their_contents_joined_by_spaces() -> None:
    assert D.text_of([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "x"}]) == "a b "
    assert D.text_of("plain") == "plain"


@pytest.mark.parametrize(
    ("record", "problem"),
    [({"prompt": "p", "completion": "c"}, "missing field 'label'"),
     ({"prompt": " ", "completion": "c", "label": True}, "field 'prompt' is empty"),
     ({"prompt": "p", "completion": "", "label": True}, "field 'completion' is empty"),
     ({"prompt": "p", "completion": "c", "label": "yes"}, "field 'label' must be true or false, got 'yes'")],
)  # fmt: skip
def test_an_unpaired_record_is_refused_naming_its_line(record: dict[str, Any], problem: str) -> None:
    with pytest.raises(DataError) as caught:
        D.validate_unpaired(record, "f.jsonl:3")
    assert str(caught.value) == f"f.jsonl:3: {problem}"


@pytest.mark.parametrize(("cell", "label"), [("1", True), (" TRUE ", True), ("0", False), ("false", False)])
def test_a_csv_label_cell_reads_as_a_boolean(cell: str, label: bool) -> None:
    assert D.validate_unpaired({"prompt": "p", "completion": "c", "label": cell}, "f.csv:2")["label"] is label


@pytest.mark.parametrize(
    ("record", "problem"),
    [({"chosen": "x a"}, "missing field 'rejected'"),
     ({"chosen": " ", "rejected": "x b"}, "field 'chosen' is empty"),
     ({"chosen": "x a", "rejected": ""}, "field 'rejected' is empty"),
     ({"chosen": "\n a", "rejected": "\n b"},
      "chosen and rejected share no beginning: no prompt to extract (give a prompt field)"),
     ({"chosen": "x a", "rejected": "x a"}, "'chosen' is identical to 'rejected'")],
)  # fmt: skip
def test_a_pair_without_a_prompt_is_refused_naming_its_line(record: dict[str, Any], problem: str) -> None:
    with pytest.raises(DataError) as caught:
        D.implicit_prompt(record, "hh.jsonl:7")
    assert str(caught.value) == f"hh.jsonl:7: {problem}"


def test_an_sft_record_with_an_empty_prompt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sft.jsonl"
    records = [{"prompt": "p", "completion": "c"}, {"prompt": "", "completion": "c"}]
    path.write_text("\n".join(json.dumps(r) for r in records))
    with pytest.raises(DataError) as caught:
        D.load_sft_records(path)
    assert str(caught.value) == f"{path}:2: field 'prompt' is empty"


def test_a_csv_cell_keeps_its_line_breaks(tmp_path: Path) -> None:
    """A quoted cell holding a Windows line break keeps it (the csv module reads the file with newline='')."""
    path = tmp_path / "pairs.csv"
    path.write_bytes(b'prompt,chosen,rejected\r\np,"a\r\nb",c\r\n')
    assert D.load_preferences(path) == [{"prompt": "p", "chosen": "a\r\nb", "rejected": "c"}]


@pytest.mark.parametrize(("digits", "ok"), [(20, True), (21, False)])
def test_an_integer_of_20_digits_is_read_and_one_of_21_is_refused(tmp_path: Path, digits: int, ok: bool) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(f'{{"prompt": "p", "chosen": "a", "rejected": "b", "id": {"9" * digits}}}\n')
    if ok:
        assert D.load_preferences(path) == [{"prompt": "p", "chosen": "a", "rejected": "b"}]
    else:
        with pytest.raises(DataError, match=r"an integer of 21 digits \(at most 20\)"):
            D.load_preferences(path)


def test_data_files_are_read_as_utf_8_never_in_the_locales_encoding(tmp_path: Path) -> None:
    """Under ``-X warn_default_encoding`` Python warns at every open() without an encoding (which would read a
    legacy locale's encoding): loading CSV pairs, unpaired records and SFT records warns nowhere."""
    files = {"pairs.csv": "prompt,chosen,rejected\np,a,b\n", "unpaired.csv": "prompt,completion,label\np,c,1\n",
             "sft.csv": "prompt,completion\np,c\n"}  # fmt: skip
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    code = ("import sys; from rlsuite.alignment import data as D; d = sys.argv[1]; "
            "D.load_preferences(d + '/pairs.csv'); D.load_preferences(d + '/unpaired.csv', unpaired=True); "
            "D.load_sft_records(d + '/sft.csv')")  # fmt: skip
    env = {**os.environ, "PYTHONWARNINGS": "error::EncodingWarning"}
    run = subprocess.run([sys.executable, "-X", "warn_default_encoding", "-c", code, str(tmp_path)], env=env,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]


FIRST, SECOND = ["good good", "good", "bad", "good bad good"], ["bad", "bad bad", "good", "bad bad bad"]
PROMPTS = ["p1", "p2", "p3", "p4"]


def test_bradley_terry_labels_draw_from_seed_0_by_default() -> None:
    many = (PROMPTS * 8, FIRST * 8, SECOND * 8)
    default = D.label_pairs(*many, rule="bradley-terry")
    assert default == D.label_pairs(*many, rule="bradley-terry", seed=0) != D.label_pairs(*many, rule="bradley-terry",
                                                                                          seed=1)  # fmt: skip


@pytest.mark.parametrize("name", ["prompts", "first", "second"])
def test_label_pairs_takes_lists_naming_the_one_that_is_not(name: str) -> None:
    given = {"prompts": PROMPTS, "first": FIRST, "second": SECOND, name: "good"}
    with pytest.raises(UsageError) as caught:
        D.label_pairs(given["prompts"], given["first"], given["second"])
    assert str(caught.value) == f"label_pairs: {name} must be a list (one entry per prompt), got str"


def test_label_pairs_needs_one_completion_of_each_per_prompt() -> None:
    with pytest.raises(ValueError, match="zip"):
        D.label_pairs(PROMPTS, FIRST[:3], SECOND)


def test_identical_samples_and_ties_are_skipped_and_the_pairs_after_them_kept() -> None:
    """The margin rule: "good" against "good" (identical) and "good bad" against "bad good" (a tie) are dropped,
    and the decisive pairs after each are kept."""
    first, second = ["good", "good", "good bad", "bad"], ["good", "bad", "bad good", "good"]
    pairs = D.label_pairs(["a", "b", "c", "d"], first, second)
    assert pairs == [{"prompt": "b", "chosen": "good", "rejected": "bad"},
                     {"prompt": "d", "chosen": "good", "rejected": "bad"}]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "kind"),
    [({"chosen": "x"}, "implicit"), ({"rejected": "x"}, "implicit"), ({}, "pairs"), ("text", "pairs"),
     ({"chosen": "x", "completion": "c"}, "implicit"), ({"rejected": "x", "completion": "c"}, "implicit"),
     ({"prompt": "p", "chosen": "a", "rejected": "b", "completion": "c"}, "pairs"),
     ({"prompt": "p", "completion": "c", "label": True}, "unpaired")],
)  # fmt: skip
def test_a_rows_format_is_told_by_its_fields(row: Any, kind: str) -> None:
    assert D._format_of(row) == kind


@pytest.mark.parametrize("container", ["list", "dict"])
@pytest.mark.parametrize(("levels", "ok"), [(31, True), (32, False)])
def test_a_record_nested_32_levels_deep_is_read_and_33_is_refused(
    tmp_path: Path, container: str, levels: int, ok: bool
) -> None:
    """The record is level 1: a field holding ``levels`` nested lists (or objects) reaches level ``levels + 1``."""
    inner = "[" * levels + "]" * levels if container == "list" else '{"x": ' * (levels - 1) + "{}" + "}" * (levels - 1)
    path = tmp_path / "pairs.jsonl"
    path.write_text(f'{{"prompt": "p", "chosen": "a", "rejected": "b", "extra": {inner}}}\n')
    if ok:
        assert len(D.load_preferences(path)) == 1
    else:
        with pytest.raises(DataError) as caught:
            D.load_preferences(path)
        assert str(caught.value) == f"{path}:1: nested more than 32 levels deep"


@pytest.mark.parametrize(
    ("records", "fraction", "message"),
    [("ab", 0.5, "split_heldout: records must be a list of records, got str"),
     ([{}, {}], 1.5, "split_heldout: fraction must be a number in [0, 1], got 1.5"),
     ([{}, {}], True, "split_heldout: fraction must be a number in [0, 1], got True")],
)  # fmt: skip
def test_split_heldout_refuses_what_is_not_records_or_a_fraction(records: Any, fraction: Any, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        D.split_heldout(records, fraction, 0)
    assert str(caught.value) == message


def test_a_file_of_two_formats_is_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    chat = {"prompt": [{"role": "user", "content": "p"}], "chosen": [{"role": "assistant", "content": "a"}],
            "rejected": [{"role": "assistant", "content": "b"}]}  # fmt: skip
    path.write_text(json.dumps(chat) + "\n" + json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    with pytest.raises(DataError) as caught:
        D.load_preferences(path)
    assert str(caught.value) == (f"{path}:2: string prompt/chosen/rejected pairs in a file of conversational "
                                 f"prompt/chosen/rejected pairs (from {path}:1); one format per file")  # fmt: skip


def test_renamed_columns_replace_trls_fields_and_keep_the_others(tmp_path: Path) -> None:
    """--prompt_column q: q is the prompt (a field already called prompt is dropped), chosen and rejected stay."""
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"q": "p", "chosen": "a", "rejected": "b", "prompt": "not this"}) + "\n")
    assert D.load_preferences(path, columns=D.Columns(prompt_column="q")) == [
        {"prompt": "p", "chosen": "a", "rejected": "b"}]  # fmt: skip


@pytest.mark.parametrize("first", ["", "[1, 2]\n"])
def test_a_named_column_in_a_file_without_records_of_fields_lists_none(tmp_path: Path, first: str) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(first)
    with pytest.raises(DataError) as caught:
        D.load_preferences(path, columns=D.Columns(prompt_column="q"))
    assert str(caught.value) == f"{path}: no column 'q' (--prompt_column); its columns: "


def test_csv_files_are_opened_as_utf_8_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same as the subprocess check above, seen from inside: every text open of a CSV names UTF-8."""
    encodings: list[Any] = []
    real_open = Path.open

    def recording_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "b" not in mode:
            encodings.append(kwargs.get("encoding"))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", recording_open)
    path = tmp_path / "pairs.csv"
    path.write_bytes(b"prompt,chosen,rejected\np,a,b\n")
    assert D.load_preferences(path) == [{"prompt": "p", "chosen": "a", "rejected": "b"}]
    assert encodings == ["utf-8"]
