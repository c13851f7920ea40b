"""``rlsuite align``'s wiring, to the letter and in seconds (mutation testing): what ``compare`` hands the library's
input check and run, and in which order against the folder. The library's own stages run in tests/alignment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rlsuite.alignment.compare as library
from rlsuite.alignment.compare import CompareConfig
from rlsuite.alignment.data import Columns
from rlsuite.app.align import CompareOptions, compare
from rlsuite.app.cli import main


class Stop(Exception):
    """Raised by a spy: the call it records is as far as the test goes."""


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The arguments of every check_inputs call; the check stops the command."""
    seen: list[tuple[Any, ...]] = []

    def check_inputs(*args: Any) -> None:
        seen.append(args)
        raise Stop

    monkeypatch.setattr(library, "check_inputs", check_inputs)
    return seen


@pytest.mark.parametrize("quick", [False, True])
def test_compare_checks_every_input_before_the_folder(tmp_path: Path, checked: list, quick: bool) -> None:
    out = tmp_path / "cmp"
    opts = CompareOptions(out=str(out), model="m", data="d.jsonl", skip_sft=True, max_unknown_rate=0.25,
                          trust_pickle=True, quick=quick)  # fmt: skip
    columns = Columns(prompt_column="q")
    with pytest.raises(Stop):
        compare(out, None, opts, columns)
    config = CompareConfig.quick() if quick else CompareConfig()
    assert checked == [(config, "m", "d.jsonl", True, 0.25, columns, True)]
    assert not out.exists()


def test_compare_without_options_uses_the_default_ones_and_the_config_given(tmp_path: Path, checked: list) -> None:
    config = CompareConfig.quick()
    with pytest.raises(Stop):
        compare(tmp_path / "cmp", config)
    defaults = CompareOptions()
    assert checked == [(config, None, None, False, defaults.max_unknown_rate, None, False)]


def test_the_command_runs_the_comparison_into_its_out_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[Path] = []

    def run_compare(folder: Path, *args: Any, **kwargs: Any) -> None:
        ran.append(folder)
        raise Stop

    monkeypatch.setattr(library, "check_inputs", lambda *args: None)
    monkeypatch.setattr(library, "run_compare", run_compare)
    out = tmp_path / "cmp"
    with pytest.raises(Stop):
        main(["--debug", "align", "compare", "--quick", "--out", str(out)])
    assert ran == [out] and (out / "log.txt").is_file()
