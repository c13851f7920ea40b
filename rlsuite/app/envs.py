"""``rlsuite envs``: list the registered environment ids."""

from __future__ import annotations

import argparse
from typing import Any


def add_subcommands(subparsers: Any) -> None:
    p = subparsers.add_parser("envs", help="list the registered environment ids")
    p.set_defaults(func=_list_envs)


def _list_envs(args: argparse.Namespace) -> int:
    from rlsuite.envs import ENV_TABLE

    width = max(len(k) for k in ENV_TABLE)
    for env_id, (*_, description) in ENV_TABLE.items():
        print(f"{env_id:<{width}}  {description}")
    print('\nUse: import rlsuite; gym.make(ID)  or, without the import, gym.make("rlsuite:" + ID)')
    return 0
