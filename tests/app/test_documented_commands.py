"""Every literal ``rlsuite ...`` command line in README.md and docs/ parses: its command, flags and values exist.

Each line of a code block that starts with ``rlsuite `` (continuation lines joined; synopsis lines with
``[...]``, ``|`` or ``...`` are patterns, not commands) is parsed by the real parser into the real configs,
without running it (``--help`` lines are parsed without their ``--help``). A flag renamed or refused (the old
``--device torch:cpu``) fails here with the file and line.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from rlsuite.app.args import parse
from rlsuite.app.cli import _command_of, _generated, build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
HEAVY = ("align", "vision")  # their parsers import transformers and TRL


def documented_commands() -> list[tuple[str, list[str]]]:
    """``(file:line, argv)`` of every literal command line in the docs' code blocks."""
    found: list[tuple[str, list[str]]] = []
    for doc in DOCS:
        lines = doc.read_text().splitlines()
        in_block, i = False, 0
        while i < len(lines):
            line, where = lines[i], f"{doc.relative_to(ROOT)}:{i + 1}"
            i += 1
            if line.startswith("```"):
                in_block = not in_block
                continue
            if not in_block or not line.strip().startswith("rlsuite "):
                continue
            text = line.strip()
            while text.endswith("\\") and i < len(lines):
                text = text[:-1] + " " + lines[i].strip()
                i += 1
            text = re.sub(r"\s#\s.*$", "", text)
            if re.search(r"\[|\||\.\.\.", text):
                continue
            argv = [a for a in shlex.split(text)[1:] if a != "--help"]
            found.append((where, argv))
    return found


COMMANDS = documented_commands()


def test_the_docs_hold_command_lines() -> None:
    assert len(COMMANDS) >= 40 and any(argv[:1] == ["align"] for _, argv in COMMANDS)


def _case(where: str, argv: list[str]) -> object:
    slow = [pytest.mark.slow] if _command_of(argv) in HEAVY else []  # about 10 s of imports
    return pytest.param(where, argv, id=where, marks=slow)


@pytest.mark.parametrize(("where", "argv"), [_case(w, a) for w, a in COMMANDS])
def test_documented_command_parses(
    where: str, argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    for k, arg in enumerate(argv[:-1]):
        if arg == "--config" and not Path(argv[k + 1]).is_file():  # the user's own file: an empty one stands in
            argv[k + 1] = str(tmp_path / "settings.yaml")
            Path(argv[k + 1]).write_text("{}\n")
    command = _command_of(argv)
    parser = build_parser(command)  # a fresh one: a --config file sets its defaults
    parsed = parse(parser, argv, expand_sets=_generated(parser, command))
    assert parsed.args.command == command, where
