"""The ``rlsuite`` console script: one parser built from the configs, thin handlers, one-line errors.

Commands are registered here by name; only the module of the command being run is imported
(``rlsuite train`` does not import transformers, ``rlsuite align`` does not import SB3).

Global switches, accepted anywhere on the line: ``--verbose`` (third-party logs and warnings on the
console too, not only in the output folder's ``log.txt``) and ``--debug`` (a traceback for user
errors too; also ``RLSUITE_DEBUG=1``).

Errors a user can cause (:class:`~rlsuite.common.errors.UsageError` and its kinds) are printed as
one line, exit status 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from rlsuite.app import console
from rlsuite.app.args import ConfigParser, parse
from rlsuite.common.errors import UsageError

# name -> ("module:function that adds the subcommand", one line of help), in help order.
COMMANDS: dict[str, tuple[str, str]] = {
    "envs": ("rlsuite.app.envs:add_subcommands", "list the registered environment ids"),
    "algos": ("rlsuite.app.train:add_algos", "list the algorithms `rlsuite train` knows"),
    "train": ("rlsuite.app.train:add_train", "train an agent on an env; writes a run folder"),
    "eval": ("rlsuite.app.train:add_eval", "replay a saved run and report its return (and gap to the optimum)"),
    "sweep": ("rlsuite.app.sweep:add_subcommands", "a grid of settings x seeds for train algorithms, with IQM and CIs"),
    "plot": ("rlsuite.app.plots:add_subcommands", "learning curves of run folders (seeds as a mean and a band)"),
    "reproduce": ("rlsuite.app.reproduce:add_subcommands", "reproduce a figure of Zhao's or Sutton & Barto's book"),
    "align": ("rlsuite.app.align:add_subcommands", "RLHF and DPO with TRL on a local LLM; compare them"),
    "vision": ("rlsuite.app.vision:add_subcommands", "vision models as policies and reward models"),
    "tour": ("rlsuite.app.tour:add_subcommands", "the tour of rlsuite on its embedded defaults (the main job)"),
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
            sub.add_parser(name, help=help_line)
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


def main(argv: Sequence[str] | None = None) -> int:
    argv, switches = _split_switches(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in switches or bool(os.environ.get("RLSUITE_DEBUG"))
    console.setup(verbose="--verbose" in switches)
    try:
        parser = build_parser(_command_of(argv))
        if not argv:
            parser.print_help()
            return 2
        parsed = parse(parser, argv, expand_sets=_generated(parser, _command_of(argv)))
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
