"""The ``rlsuite`` console script: parses arguments, then calls library functions.

Each layer adds its own subcommands through ``add_subcommands(subparsers)`` in its
``cli`` module, which imports heavy libraries only inside the handlers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from rlsuite.common.errors import UsageError

# Modules that contribute subcommands, in help order.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "rlsuite.envs.cli",
    "rlsuite.agents.cli",
    "rlsuite.agents.tabular.reproduce",
    "rlsuite.alignment.cli",
    "rlsuite.tour",
    "rlsuite.vision.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rlsuite",
        description="rlsuite: RL environments and agents, from Zhao's grid world to RLHF vs DPO.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).add_subcommands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("rlsuite: interrupted", file=sys.stderr)
        return 130
    except (UsageError, FileNotFoundError, NotADirectoryError) as exc:
        if args.debug or os.environ.get("RLSUITE_DEBUG"):
            raise
        print(f"rlsuite: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # gymnasium reports unknown ids and bad env kwargs with its own error types.
        import gymnasium as gym

        if isinstance(exc, gym.error.Error | ValueError) and not (
            args.debug or os.environ.get("RLSUITE_DEBUG")
        ):
            print(f"rlsuite: error: {exc}", file=sys.stderr)
            return 2
        raise
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
