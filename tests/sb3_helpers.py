"""``rlsuite train`` / ``rlsuite eval`` for SB3 as the family dispatcher runs them (shared by the SB3 tests).

Until ``rlsuite/app/train.py`` dispatches to ``rlsuite.app.train_sb3``, its hand-written parser
knows neither ``--out`` nor the generated flags; :func:`cli` runs the same path the dispatcher
will: the parser generated from the config class + ``TrainOptions`` (or ``EvalOptions``), the
family's default layers, one-line errors for ``UsageError`` (exit 2), like ``rlsuite.app.cli.main``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlsuite.app import train_sb3
from rlsuite.app.args import ConfigParser, add_command, parse
from rlsuite.app.cli import one_line
from rlsuite.app.options import EvalOptions
from rlsuite.common.errors import UsageError

QUIET = ["torch_threads=1", "progress_bar=false"]


def _eval_parser() -> ConfigParser:
    parser = ConfigParser(prog="rlsuite")
    sub = parser.add_subparsers(dest="command", parser_class=ConfigParser)
    add_command(sub, "eval", help="eval", configs=[EvalOptions], run=lambda parsed: 0, config_file=False,
                arguments=lambda p: p.add_argument("run_dir"))  # fmt: skip
    return parser


def cli(argv: Sequence[str]) -> int:
    """``["train", ALGO, ...]`` or ``["eval", RUN, ...]``: 0, or 2 with one error line on stderr."""
    try:
        if argv[0] == "train":
            algo, config, opts = train_sb3.parse_train(argv[1:])
            train_sb3.train(algo, config, opts)
        elif argv[0] == "eval":
            parsed = parse(_eval_parser(), argv)
            report = train_sb3.evaluate(Path(parsed.args.run_dir), None, parsed.get(EvalOptions))
            print(json.dumps(report, default=str))
        else:
            raise AssertionError(argv)
    except UsageError as exc:
        print(f"rlsuite: error: {one_line(exc)}", file=sys.stderr)
        return 2
    return 0


def train(out: Path, algo: str, env_id: str, *settings: str, seed: int = 0, extra: Sequence[str] = ()) -> Path:
    """Train into ``out`` with ``--set settings`` (quiet, one torch thread); return ``out``."""
    argv = ["train", algo, "--env", env_id, "--seed", str(seed), "--out", str(out), "--device", "cpu", *extra,
            "--set", *QUIET, *settings]  # fmt: skip
    assert cli(argv) == 0
    return out


def evaluate(run_dir: Path, episodes: int = 5, *extra: str) -> dict[str, Any]:
    assert cli(["eval", str(run_dir), "--episodes", str(episodes), "--device", "cpu", *extra]) == 0
    return json.loads((run_dir / "eval.json").read_text())


def error_line(capsys: Any, argv: Sequence[str]) -> str:
    """The one error line of a refused command (exit 2, no traceback)."""
    capsys.readouterr()
    assert cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlsuite: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to check that nothing changed)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
