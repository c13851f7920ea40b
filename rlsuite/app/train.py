"""``rlsuite train`` and ``rlsuite eval``: one front door for tabular and stable-baselines3 agents.

Each agent family is a module with:
- ``ALGOS: dict[str, str]``: algorithm name -> one-line description;
- ``train(args: argparse.Namespace) -> pathlib.Path``: train, write the run folder, return it;
- ``evaluate(run_dir: pathlib.Path, args: argparse.Namespace) -> dict``: replay a saved run.
A run folder's ``config.json`` names its ``family`` so ``rlsuite eval`` finds the right module.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from rlsuite.common.errors import UsageError

FAMILIES: dict[str, str] = {
    "tabular": "rlsuite.agents.tabular.runner",
    "sb3": "rlsuite.agents.sb3",
}


def _families() -> dict[str, ModuleType]:
    out = {}
    for family, module in FAMILIES.items():
        try:
            out[family] = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return out


def family_of(algo: str) -> ModuleType:
    families = _families()
    for module in families.values():
        if algo in module.ALGOS:
            return module
    known = sorted(a for m in families.values() for a in m.ALGOS)
    raise UsageError(f"unknown algorithm {algo!r} (known: {', '.join(known)})")


def add_train(subparsers: Any) -> None:
    p = subparsers.add_parser("train", help="train an agent on an env; writes runs/<env>__<algo>__<seed>__<time>/")
    p.add_argument("algo", help="algorithm name; `rlsuite algos` lists them")
    p.add_argument("--env", required=False, default=None, help="env id, e.g. rlsuite/GridWorld-v0")
    p.add_argument("--config", help="YAML file of hyperparameters")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override config fields")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--budget", type=int, default=None, help="iterations/episodes/steps (the algorithm's unit)")
    p.add_argument("--runs-dir", default="runs", help="parent folder of run folders (default: ./runs)")
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run from its last checkpoint")
    p.set_defaults(func=_train)


def add_eval(subparsers: Any) -> None:
    e = subparsers.add_parser("eval", help="replay a saved run and report its return (and gap to the optimum)")
    e.add_argument("run_dir")
    e.add_argument("--episodes", type=int, default=20)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", default="auto")
    e.add_argument("--video", action="store_true", help="record the evaluation episodes (SB3 runs; needs moviepy)")
    e.set_defaults(func=_eval)


def add_algos(subparsers: Any) -> None:
    a = subparsers.add_parser("algos", help="list the algorithms `rlsuite train` knows")
    a.set_defaults(func=_algos)


def _train(args: argparse.Namespace) -> int:
    module = family_of(args.algo)
    run_dir = module.train(args)
    print(f"run folder: {run_dir}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    config_file = run_dir / "config.json"
    if not config_file.is_file():
        raise UsageError(f"{run_dir}: not a run folder (no config.json)")
    try:
        family = json.loads(config_file.read_text())["family"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise UsageError(f"{config_file}: unreadable or has no 'family' key") from exc
    families = _families()
    if family not in families:
        raise UsageError(f"{config_file}: unknown family {family!r}")
    report = families[family].evaluate(run_dir, args)
    print(json.dumps(report, indent=2, default=str))
    return 0


def _algos(args: argparse.Namespace) -> int:
    for family, module in _families().items():
        for name, description in module.ALGOS.items():
            print(f"{name:<22} [{family}] {description}")
    return 0
