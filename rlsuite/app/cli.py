"""The ``rlsuite`` console script: one parser built from the configs, thin handlers, one-line errors.

Commands are registered here by name; only the module of the command being run is imported
(``rlsuite train`` does not import transformers, ``rlsuite align`` does not import SB3).

Global switches, accepted anywhere on the line: ``--verbose`` (third-party logs and warnings on the
console too, not only in the output folder's ``log.txt``) and ``--debug`` (a traceback for user
errors too; also ``RLSUITE_DEBUG=1``).

``--help`` of ``align`` and ``vision``, whose parsers import TRL and transformers (seconds), is kept
in the rlsuite cache after the first time (:func:`help_cache_file`); every other command imports
only what it runs (``tests/app/test_cli_startup.py``).

Errors a user can cause (:class:`~rlsuite.common.errors.UsageError` and its kinds) are printed as
one line, exit status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import io
import itertools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rlsuite.app import console
from rlsuite.app.args import ConfigParser, Parsed, listed_help, only_requested, parse
from rlsuite.common.errors import UsageError

# name -> ("module:function that adds the subcommand", one line of help), in help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "envs": ("rlsuite.app.envs:add_subcommands", "list the registered environment ids"),
    "algos": ("rlsuite.app.train:add_algos", "list the algorithms `rlsuite train` knows"),
    "train": ("rlsuite.app.train:add_train", "train an agent on an env; writes a run folder"),
    "eval": ("rlsuite.app.train:add_eval", "replay a saved run and report its return (and gap to the optimum)"),
    "sweep": (
        "rlsuite.app.sweep:add_subcommands",
        "a grid of settings x seeds for train algorithms, with IQM and bootstrap intervals",
    ),
    "tune": (
        "rlsuite.app.tune:add_subcommands",
        "hyperparameter search with Optuna (TPE, median pruning); best.yaml and report.md",
    ),
    "plot": (
        "rlsuite.app.plots:add_subcommands",
        "learning curves of run folders (runs of one config: mean over seeds, 95% bootstrap CI band)",
    ),
    "reproduce": (
        "rlsuite.app.reproduce:add_subcommands",
        "regenerate a book figure (PNG + JSON of the plotted numbers)",
    ),
    "align": (
        "rlsuite.app.align:add_subcommands",
        "alignment with TRL on a local LLM: SFT, reward model, DPO, KTO, ORPO, SimPO, BCO, RLOO, GRPO, "
        "Online DPO, PPO, and a comparison",
    ),
    "vision": (
        "rlsuite.app.vision:add_subcommands",
        "vision models as policies and reward models on pixel grid worlds",
    ),
    "tour": (
        "rlsuite.app.tour:add_subcommands",
        "the tour of rlsuite on its embedded defaults (the README's main job)",
    ),
    "config-path": (
        "rlsuite.app.args:add_config_path",
        "print the path of a config file shipped with rlsuite (all: no NAME)",
    ),
}
GLOBAL_SWITCHES = ("--verbose", "--debug")


def _command_of(argv: Sequence[str]) -> str | None:
    """The first word that is not a switch and not a ``--set`` item (``KEY=VALUE``)."""
    return next((a for a in argv if not a.startswith("-") and "=" not in a), None)


def build_parser(command: str | None = None) -> ConfigParser:
    """The parser; only ``command``'s subcommands are built in full (the others are listed)."""
    parser = ConfigParser(
        prog="rlsuite",
        description="rlsuite: RL environments and agents, from Zhao's grid world to RLHF vs DPO.",
        epilog="Anywhere on the line: --verbose (third-party logs on the console), --debug (tracebacks).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ConfigParser)
    for name, (target, help_line) in COMMANDS.items():
        if name == command:
            module, _, function = target.partition(":")
            getattr(importlib.import_module(module), function)(sub)
        else:
            sub.add_parser(name, help=listed_help(help_line))
    return parser


def _generated(parser: ConfigParser, command: str | None) -> bool:
    """Whether ``command``'s flags are generated from configs (``add_command`` leaves) rather than
    hand-written argparse, whose own ``--set`` takes KEY=VALUE items (transitional)."""
    import argparse

    def leaves(p: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        return [p] if not subs else [leaf for s in subs for child in s.choices.values() for leaf in leaves(child)]

    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    child = actions[0].choices.get(command or "") if actions else None
    return child is not None and any("_run" in leaf._defaults for leaf in leaves(child))


def _split_switches(argv: Sequence[str]) -> tuple[list[str], set[str]]:
    rest, switches, passthrough = [], set(), False
    for token in argv:
        if token == "--":
            passthrough = True
        if not passthrough and token in GLOBAL_SWITCHES:
            switches.add(token)
        else:
            rest.append(token)
    return rest, switches


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def parse_line(argv: Sequence[str]) -> tuple[ConfigParser, Parsed]:
    """``argv`` (after ``rlsuite``, global switches removed) parsed into its command's configs, without
    running the command: every flag checked, every config built (``--help`` exits here). Returns the
    parser and the result."""
    command = _command_of(argv)
    with only_requested(argv):
        parser = build_parser(command)
    return parser, parse(parser, argv, expand_sets=_generated(parser, command))


# Commands whose parsers import heavy libraries (TRL's configs import torch and transformers: seconds):
# their --help text is kept in the rlsuite cache, keyed by everything it depends on.
HELP_CACHED = ("align", "vision")
_HELP_SOURCES = ("app", "alignment", "vision", "common")


def help_cache_file(argv: Sequence[str]) -> Path | None:
    """Where the ``--help`` text of ``argv``'s command is kept, or None when it is not kept.

    The key: the command's words (``align dpo``), the terminal width, the versions of rlsuite, TRL,
    transformers and torch, and the size and time of every source file the help is built from; a
    change to any of them is a new key (the old file is left, a few KiB).
    """
    words = list(itertools.takewhile(lambda a: not a.startswith("-"), argv))
    if not words or words[0] not in HELP_CACHED or not {"-h", "--help"} & set(argv):
        return None
    import hashlib
    import importlib.metadata
    import json
    import shutil

    from rlsuite.common.paths import cache_dir

    package = Path(__file__).resolve().parents[1]
    sources = sorted(f for part in _HELP_SOURCES for f in (package / part).rglob("*.py"))
    versions = []
    for dist in ("rlsuite", "trl", "transformers", "torch"):
        try:
            versions.append(importlib.metadata.version(dist))
        except importlib.metadata.PackageNotFoundError:
            versions.append(None)
    files = [(str(f.relative_to(package)), f.stat().st_size, f.stat().st_mtime_ns) for f in sources]
    key = json.dumps([words, shutil.get_terminal_size().columns, versions, files])
    try:
        folder = cache_dir("help")
    except OSError:  # no writable cache: the help is made each time
        return None
    return folder / f"{'-'.join(words)}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.txt"


def _print_help_cached(argv: Sequence[str], cached: Path) -> None:
    """Print the kept help text, or make it (by parsing ``argv``) and keep it; exit 0 as ``--help`` does.
    Returns only if ``argv`` turned out not to ask for help (``--help`` was a value)."""
    if cached.is_file():
        sys.stdout.write(cached.read_text(encoding="utf-8"))
        raise SystemExit(0)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            parse_line(argv)
            return
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise
    text = buffer.getvalue()
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    with contextlib.suppress(OSError):  # kept if it can be (a full disk only costs the next call time)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(cached)
    sys.stdout.write(text)
    raise SystemExit(0)


USER_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.ELOOP, errno.ENAMETOOLONG})


def main(argv: Sequence[str] | None = None) -> int:
    argv, switches = _split_switches(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in switches or bool(os.environ.get("RLSUITE_DEBUG"))
    console.setup(verbose="--verbose" in switches)
    try:
        if not argv:
            build_parser().print_help()
            return 2
        cached = help_cache_file(argv)
        if cached is not None:
            _print_help_cached(argv, cached)
        parser, parsed = parse_line(argv)
        ns = parsed.args
        if hasattr(ns, "_run"):
            return int(ns._run(parsed) or 0)
        if hasattr(ns, "func"):
            return int(ns.func(ns) or 0)
        parser.print_help()
        return 2
    except KeyboardInterrupt:
        print("rlsuite: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        if debug:
            raise
        print(f"rlsuite: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`rlsuite reproduce --list | head`): Python's advice
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 1
    except OSError as exc:  # the machine's limits, not a bug: a full disk, a file-size limit, a link loop
        if debug or exc.errno not in USER_ERRNOS:
            raise
        where = exc.filename or "a file"
        print(f"rlsuite: error: {where}: {exc.strerror or os.strerror(exc.errno)} "
              f"({errno.errorcode.get(exc.errno, exc.errno)}); nothing was marked finished", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
