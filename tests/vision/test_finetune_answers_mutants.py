"""``trained_answers`` on hand-written run folders (every way a folder is not a reasoning run), and ``weights_hash``
of a folder with only pickled weights: refused by default, fingerprinted by its bytes when trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlsuite.common.errors import ModelFolderError
from rlsuite.vision.adapters import weights_hash
from rlsuite.vision.finetune import trained_answers


@pytest.mark.parametrize(("content", "answers"), [
    ({"reasoning": {"reasoning": True, "think_tokens": 8}}, {"reasoning": True, "think_tokens": 8}),
    ({"reasoning": {"reasoning": False, "think_tokens": 8}}, None),  # a scoring run
    ({"reasoning": {"think_tokens": 8}}, None),
    ({"reasoning": [1, 2]}, None),
    ({"reasoning": None}, None),
    ({"Reasoning": {"reasoning": True}}, None),
    ({}, None),
    ([1, 2], None),  # not a mapping: .get fails
])  # fmt: skip
def test_trained_answers_of_a_folder(tmp_path: Path, content: object, answers: object) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps(content))
    assert trained_answers(tmp_path) == answers
    assert trained_answers(str(tmp_path)) == answers


def test_trained_answers_without_readable_metrics(tmp_path: Path) -> None:
    assert trained_answers(tmp_path) is None  # no metrics.json
    (tmp_path / "metrics.json").write_text("{not json")
    assert trained_answers(tmp_path) is None
    (tmp_path / "METRICS.JSON").write_text(json.dumps({"reasoning": {"reasoning": True}}))
    assert trained_answers(tmp_path) is None  # only metrics.json is read


def test_weights_hash_of_pickled_weights_only_when_trusted(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04pickled weights")
    with pytest.raises(ModelFolderError, match="holds only pickle weights"):
        weights_hash(tmp_path)
    first = weights_hash(tmp_path, trust_pickle=True)
    assert len(first) == 24 and first == weights_hash(str(tmp_path), trust_pickle=True)
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04other weights!")
    assert weights_hash(tmp_path, trust_pickle=True) != first
