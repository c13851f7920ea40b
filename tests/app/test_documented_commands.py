"""Every ``rlsuite ...`` line in README.md's and docs/*.md's code blocks is accepted by the CLI.

A runnable example is parsed as the CLI would parse it, without running it: every flag must exist,
every value must be valid and every config must build (``parse_line``), and ``--help`` appended
must exit 0. A synopsis line (``[--model PATH] [--budget STEPS] ...``) is not runnable: each flag
it names must be one the command accepts. So a documented flag that does not exist fails here.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from rlsuite.app.cli import build_parser, parse_line

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# documented lines that wait on another change, with the reason (none today)
PENDING: dict[str, str] = {}


def documented_lines() -> list[tuple[str, list[str], bool]]:
    """``(where, argv after rlsuite, is_synopsis)`` for each ``rlsuite`` command in a code block."""
    found = []
    for path in DOCS:
        inside, pending = False, ""
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("```"):
                inside, pending = not inside, ""
                continue
            if not inside:
                continue
            line = pending + line
            if line.rstrip().endswith("\\"):
                pending = line.rstrip()[:-1] + " "
                continue
            pending = ""
            synopsis = bool(re.search(r"\[--|\.\.\.|\|", line.split("#")[0]))
            try:
                words = shlex.split(line, comments=True) if not synopsis else line.split("#")[0].split()
            except ValueError:
                continue
            starts = [i for i, w in enumerate(words) if w == "rlsuite" and (i == 0 or words[i - 1] == "-m")]
            if starts and len(words) > starts[0] + 1:
                found.append((f"{path.name}:{number}", words[starts[0] + 1 :], synopsis))
    return found


LINES = documented_lines()


def test_the_docs_have_command_lines() -> None:
    assert len([line for line in LINES if not line[2]]) >= 40 and len([line for line in LINES if line[2]]) >= 10


def _leaf(argv: list[str]) -> argparse.ArgumentParser:
    """The parser of the (sub)command that ``argv``'s leading words name."""
    parser: argparse.ArgumentParser = build_parser(argv[0])
    for word in argv:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            break
        parser = subs[0].choices[word]
    return parser


def _file(word: str, tmp_path: Path) -> str:
    """A YAML file the line names: the user's own (``my.yaml``), given as an empty stand-in. A path into
    the source checkout fails: after a wheel install it does not exist (``--config NAME`` does)."""
    if not word.endswith((".yaml", ".yml")):
        return word
    assert not (ROOT / word).is_file(), f"{word}: a path of the source checkout; name the shipped config instead"
    (tmp_path / Path(word).name).write_text("{}\n")
    return str(tmp_path / Path(word).name)


@pytest.mark.parametrize(("where", "argv"), [(w, a) for w, a, synopsis in LINES if not synopsis],
                         ids=[w for w, _, synopsis in LINES if not synopsis])  # fmt: skip
def test_documented_command_parses(where: str, argv: list[str], tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # from any folder, as README promises (shipped configs by name)
    if " ".join(argv) in PENDING:
        pytest.xfail(PENDING[" ".join(argv)])
    argv = [_file(word, tmp_path) for word in argv]
    try:
        parse_line(argv)
    except SystemExit as exc:  # `--help` and `--list` lines
        assert exc.code == 0, where
    with pytest.raises(SystemExit) as info:
        parse_line([*argv, "--help"])
    assert info.value.code == 0, where


@pytest.mark.parametrize(("where", "argv"), [(w, a) for w, a, synopsis in LINES if synopsis],
                         ids=[w for w, _, synopsis in LINES if synopsis])  # fmt: skip
def test_documented_synopsis_names_real_flags(where: str, argv: list[str]) -> None:
    accepted = {s for a in _leaf(argv)._actions for s in a.option_strings}
    named = [w.strip("[]()|,") for w in argv if w.lstrip("[(").startswith("--")]
    unknown = [flag.split("=")[0] for flag in named if flag.split("=")[0] not in accepted]
    assert not unknown, f"{where}: rlsuite {' '.join(argv[:2])} does not take {unknown}"
