"""``rlsuite train ALGO``, ``rlsuite eval RUN`` and ``rlsuite algos``: one front door for every agent family.

``rlsuite train`` has one subcommand per algorithm, its flags generated from the algorithm's config
(``rlsuite train q_learning --help`` lists every setting with its help, default and range) and
from :class:`~rlsuite.app.options.TrainOptions`. The families are modules that meet the contract
in :mod:`rlsuite.app.options` (``ALGOS``, ``config_class``, ``options_class``, ``config_defaults``,
``train``, ``evaluate``): ``rlsuite.app.train_tabular`` and ``rlsuite.app.train_sb3``. A run folder's
``config.json`` names its ``family`` so ``rlsuite eval`` finds the right module.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from pathlib import Path
from typing import Any, NoReturn

from rlsuite.app.args import ConfigParser, Parsed, add_command
from rlsuite.app.options import EvalOptions
from rlsuite.common.errors import ModelFolderError, UsageError
from rlsuite.common.io import read_json

FAMILIES: dict[str, str] = {
    "tabular": "rlsuite.app.train_tabular",
    "sb3": "rlsuite.app.train_sb3",
}


@functools.cache
def families() -> dict[str, Any]:
    """family name -> its module."""
    return {family: importlib.import_module(module) for family, module in FAMILIES.items()}


def _known_algos() -> list[str]:
    return [a for m in families().values() for a in m.ALGOS]


def _suggest(algo: str) -> str:
    close = difflib.get_close_matches(algo, _known_algos(), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _AlgoChooser(ConfigParser):
    """``rlsuite train``: its one positional is the algorithm; an unknown one is named with a suggestion."""

    def error(self, message: str) -> NoReturn:
        if "invalid choice" in message:
            # argparse: "argument ALGO: invalid choice: 'NAME' (choose from ...)"; NAME may hold "(" itself
            algo = message.split("invalid choice:", 1)[1].rsplit(" (choose from", 1)[0].strip().strip("'\"")
            raise UsageError(f"unknown algorithm {algo!r}{_suggest(algo)}; `rlsuite algos` lists them")
        super().error(message)


def _add_parser_of(subparsers: Any, parser_class: type, name: str, **kwargs: Any) -> Any:
    """``subparsers.add_parser`` with another parser class for this one child."""
    default = subparsers._parser_class
    subparsers._parser_class = parser_class
    try:
        return subparsers.add_parser(name, **kwargs)
    finally:
        subparsers._parser_class = default


def add_train(subparsers: Any) -> None:
    train = _add_parser_of(
        subparsers,
        _AlgoChooser,
        "train",
        help="train an agent on an env; writes a run folder",
        description="Train an agent on an env and write a run folder (runs/<env>__<algo>__<seed>__<time>/, "
        "or --out). `rlsuite train ALGO --help` lists ALGO's settings.",
    )
    algos = train.add_subparsers(dest="algo", metavar="ALGO", parser_class=ConfigParser, title="algorithms")
    train.set_defaults(func=lambda ns: train.print_help() or 2)
    for family, module in families().items():
        for algo, description in module.ALGOS.items():
            add_command(
                algos,
                algo,
                help=f"[{family}] {description}",
                description=f"{description}. Settings: flags, --config FILE.yaml or --set KEY=VALUE.",
                configs=[module.config_class(algo), module.options_class(algo)],
                run=functools.partial(module.main, algo),
                defaults=functools.partial(module.config_defaults, algo),
                shown_defaults=functools.partial(module.help_defaults, algo),
            )


def add_eval(subparsers: Any) -> None:
    add_command(
        subparsers,
        "eval",
        help="replay a saved run and report its return (and gap to the optimum)",
        configs=[EvalOptions],
        run=_eval,
        arguments=lambda p: p.add_argument("run_dir", metavar="RUN", help="a run folder written by rlsuite train"),
        config_file=False,
    )


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """A run folder's ``config.json``; a missing or corrupt one is a one-line error naming it."""
    config_file = run_dir / "config.json"
    if not run_dir.is_dir():
        raise ModelFolderError(f"{run_dir}: not a run folder (no such folder)")
    if not config_file.is_file():
        raise ModelFolderError(f"{run_dir}: not a run folder (no config.json)")
    meta = read_json(config_file)
    if "family" not in meta:
        raise ModelFolderError(f"{config_file}: has no 'family' key (not written by rlsuite train?)")
    return meta


def _eval(parsed: Parsed) -> int:
    run_dir = Path(parsed.args.run_dir)
    meta = read_run_config(run_dir)
    module = families().get(meta["family"])
    if module is None:
        raise ModelFolderError(f"{run_dir / 'config.json'}: unknown family {meta['family']!r}")
    from rlsuite.envs.checks import env_id_from_file

    opts = parsed.get(EvalOptions)
    if "env_id" in meta:  # before anything imports it
        env_id_from_file(meta["env_id"], str(run_dir / "config.json"), opts.trust_env_module)
    report = module.evaluate(run_dir, meta, opts)
    from rlsuite.app.evalreport import summary

    print("\n".join(summary(report, str(run_dir / "eval.json"))))  # the full report is in eval.json
    return 0


def add_algos(subparsers: Any) -> None:
    add_command(subparsers, "algos", help="list the algorithms `rlsuite train` knows", run=_algos, config_file=False)


def _algos(parsed: Parsed) -> int:
    for family, module in families().items():
        for name, description in module.ALGOS.items():
            print(f"{name:<28} [{family}] {description}")
    return 0
