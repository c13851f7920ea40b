"""``rlsuite align``'s wiring, to the letter and in seconds (mutation testing): what ``compare`` hands the library's
input check and run, and in which order against the folder. The library's own stages run in tests/alignment."""

from __future__ import annotations

import dataclasses
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


def test_quick_and_a_config_file_are_layers_named_where_they_came_from(tmp_path: Path) -> None:
    from rlsuite.app.args import parse
    from rlsuite.app.cli import build_parser

    config = tmp_path / "compare.yaml"
    config.write_text("seeds: 2\n")
    parsed = parse(build_parser("align"), ["align", "compare", "--quick", "--config", str(config)])
    assert parsed.get(CompareConfig) == dataclasses.replace(CompareConfig.quick(), seeds=2)
    assert parsed.sources["sft_examples"] == "--quick" and parsed.sources["seeds"] == str(config)
    plain = parse(build_parser("align"), ["align", "compare"])
    assert plain.get(CompareConfig) == CompareConfig() and plain.sources == {}


def test_the_command_hands_the_comparison_its_columns_and_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:  # fmt: skip
    seen: list[dict[str, Any]] = []

    def run_compare(folder: Path, cfg: CompareConfig, **kwargs: Any) -> None:
        seen.append({"cfg": cfg, **kwargs})
        raise Stop

    monkeypatch.setattr(library, "check_inputs", lambda *args: None)
    monkeypatch.setattr(library, "run_compare", run_compare)
    with pytest.raises(Stop):
        main(["--debug", "align", "compare", "--out", str(tmp_path / "c"), "--seeds", "2", "--prompt_column", "q"])
    assert seen[0]["cfg"] == CompareConfig(seeds=2) and seen[0]["columns"] == Columns(prompt_column="q")


@pytest.mark.parametrize("model", [None, "sft-model"])
def test_data_export_passes_every_setting_on_and_says_where_the_files_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], model: str | None
) -> None:
    import rlsuite.alignment.export as export
    import rlsuite.alignment.models as models

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(models, "check_causal_lm", lambda folder, **kw: calls.append(("check", folder, kw)))
    monkeypatch.setattr(export, "export_task", lambda out, **kw: calls.append(("export", out, kw)) or
                        {"train": 9, "test": 2})  # fmt: skip
    out = tmp_path / "data"
    argv = ["align", "data", "export", "--out", str(out), "--pair_copies", "3", "--seed", "4",
            "--heldout_fraction", "0.25", "--chat", "--trust_pickle"]  # fmt: skip
    argv += ["--model", model] if model else []
    assert main(argv) == 0
    settings = {"model": model, "pair_copies": 3, "seed": 4, "heldout_fraction": 0.25, "conversational": True,
                "trust_pickle": True}  # fmt: skip
    checks = [("check", model, {"trust_pickle": True})] if model else []
    assert calls == [*checks, ("export", out, settings)]
    assert capsys.readouterr().out == (
        f"9 train and 2 held-out pairs in {out} (train.jsonl, test.jsonl; the gold reward: "
        f"{out / 'gold_reward.json'}); datasets.load_dataset({str(out)!r}) reads them\n"
    )
