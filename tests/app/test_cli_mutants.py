"""The CLI's own words to the letter: ``rlsuite envs``'s last line, the command list's help lines, an unknown
algorithm named whole, and the kept ``--help`` text of heavy commands (mutation testing)."""

from __future__ import annotations

import argparse
import locale
import os
from pathlib import Path

import pytest

from rlsuite.app.cli import build_parser, help_cache_file, main
from rlsuite.common.errors import UsageError


def test_envs_ends_with_how_to_make_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert out.endswith('\n\nUse: import rlsuite; gym.make(ID)  or, without the import, gym.make("rlsuite:" + ID)\n')


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("envs", "list the registered environment ids"),
        ("algos", "list the algorithms `rlsuite train` knows"),
        ("eval", "replay a saved run and report its return (and gap to the optimum)"),
    ],
)
def test_a_built_command_keeps_its_help_line(command: str, line: str) -> None:
    parser = build_parser(command)
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert [a.help for a in sub._choices_actions if a.dest == command] == [line]


@pytest.mark.parametrize(
    ("algo", "message"),
    [
        ("q learn", "unknown algorithm 'q learn' (did you mean 'q_learning'?); `rlsuite algos` lists them"),
        ("Xq(X", "unknown algorithm 'Xq(X'; `rlsuite algos` lists them"),
        ("invalid choice:x", "unknown algorithm 'invalid choice:x'; `rlsuite algos` lists them"),
        ("a (choose from b", "unknown algorithm 'a (choose from b'; `rlsuite algos` lists them"),
        ("zzzzzz", "unknown algorithm 'zzzzzz'; `rlsuite algos` lists them"),
    ],
)
def test_an_unknown_algorithm_is_named_whole(algo: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        main(["--debug", "train", algo])
    assert str(caught.value) == message


HELP = ["align", "dpo", "--help"]  # TRL's help strings hold non-ASCII characters


def _help(capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(HELP)
    assert info.value.code == 0
    return capsys.readouterr().out


def test_kept_help_is_utf8_whatever_the_locale(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path))
    text = _help(capsys)
    cached = help_cache_file(HELP)
    assert cached.read_text(encoding="utf-8") == text and not text.isascii()
    cached.unlink()
    old = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # an ASCII locale: open()'s default encoding is ascii now
    try:
        assert _help(capsys) == text
    finally:
        locale.setlocale(locale.LC_CTYPE, old)
    assert cached.read_text(encoding="utf-8") == text


def test_help_that_cannot_be_kept_is_still_printed(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path))
    cached = help_cache_file(HELP)
    cached.with_suffix(f".{os.getpid()}.tmp").mkdir()  # the temporary file cannot be written
    assert "--beta" in _help(capsys)
    assert not cached.exists()


def test_eval_checks_the_env_id_of_config_json_by_name(tmp_path: Path) -> None:
    """Only config.json names a module here (agent.json does not): eval refuses it, naming that file."""
    import json

    from rlsuite.common.errors import ModelFolderError

    run = tmp_path / "vi"
    assert main(["train", "value_iteration", "--out", str(run)]) == 0
    meta = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**meta, "env_id": "os:rlsuite/GridWorld-v0"}))
    with pytest.raises(ModelFolderError) as caught:
        main(["--debug", "eval", str(run)])
    assert str(caught.value).startswith(f"{run / 'config.json'}: env id 'os:rlsuite/GridWorld-v0' would import the ")
    assert main(["eval", str(run), "--trust_env_module"]) == 0  # "os" is harmless; agent.json names the grid world


def test_eval_names_its_run_folder_argument() -> None:
    (sub,) = [a for a in build_parser("eval")._actions if isinstance(a, argparse._SubParsersAction)]
    (run,) = [a for a in sub.choices["eval"]._actions if a.dest == "run_dir"]
    assert (run.metavar, run.help) == ("RUN", "a run folder written by rlsuite train")


def test_align_model_path_prints_the_folder_and_says_when_it_is_not_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rlsuite.alignment.embedded import model_folder

    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path))
    assert main(["align", "model-path"]) == 0
    folder = model_folder()
    assert folder.is_relative_to(tmp_path)
    assert capsys.readouterr() == (
        f"{folder}\n", "(not built yet in this cache: the first align command without --model builds it)\n"
    )
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert main(["align", "model-path"]) == 0
    assert capsys.readouterr() == (f"{folder}\n", "")
