"""The flags the commands share, under one set of names.

Every command that trains takes ``--seed``, ``--budget`` and ``--out`` (alias ``--output_dir``, TRL's
name), ``--resume`` and ``--overwrite``; every command that computes takes ``--device``. Model and
data flags accept TRL's names as aliases (``--model`` / ``--model_name_or_path``, ``--data`` /
``--dataset_name``).

``rlsuite train`` and ``rlsuite eval`` dispatch to one module per agent family
(``rlsuite.app.train_tabular``, ``rlsuite.app.train_sb3``), each with:

- ``ALGOS: dict[str, str]``: algorithm name -> one-line description;
- ``config_class(algo) -> type``: the algorithm's own config dataclass, the library's class (its
  fields become the flags; the parser builds it once and ``train`` hands it to the agent as is);
- ``options_class(algo) -> type[TrainOptions]``: the run options of ``algo``'s command (the
  tabular family adds ``--backend``, and ``--runs`` for the bandits);
- ``config_defaults(algo, ns) -> list[(mapping, where)]``: default layers for the parser (the
  ``--config`` file; RL Zoo's file keyed by env id for SB3);
- ``help_defaults(algo) -> dict[str, str]``: the defaults ``--help`` shows where a plain run uses
  other values than the fields' (the budget and its unit, the shipped YAML's values);
- ``main(algo, parsed) -> int``: the command's handler: ``train`` with the parsed config and options;
- ``train(algo, config, opts: TrainOptions) -> Path``: train, write the run folder, return it;
- ``evaluate(run_dir, meta, opts: EvalOptions) -> dict``: replay a saved run, return the report.

A run folder's ``config.json`` names its ``family`` so ``rlsuite eval`` finds the right module.
"""

from __future__ import annotations

from dataclasses import dataclass

from rlsuite.common.config import Config, option
from rlsuite.common.device import DEVICE_HELP, check_device_field

MAX_SEED = 2**32 - 1  # numpy's legacy seed range; torch and gymnasium take it too
MAX_BUDGET = 10**10  # beyond any run this suite can finish; a typo such as 10**12 is refused before any folder


@dataclass
class RunOptions(Config):
    """Where a training command writes, how long it trains, and from which seed."""

    seed: int = option(0, help="random seed (random, numpy, torch and the env)", ge=0, le=MAX_SEED)
    budget: int | None = option(
        None, help="how long to train, in the algorithm's unit (default: the algorithm's own)", ge=1, le=MAX_BUDGET
    )
    out: str | None = option(
        None, help="output folder (default: a new folder under runs/)", aliases=["--output_dir", "--output-dir"]
    )
    resume: bool = option(False, help="continue the job in --out (a finished one only with a larger budget)")
    overwrite: bool = option(False, help="replace what --out holds, finished results included")
    trust_env_module: bool = option(
        False, help="with --resume: let the run's env id import the module it names (pkg:ns/Id-v0), if you trust it"
    )
    device: str = option("auto", help=DEVICE_HELP)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_device_field(self)


@dataclass
class TrainOptions(RunOptions):
    """``rlsuite train``: the env and its arguments, besides the shared run flags."""

    env: str | None = option(None, help="gymnasium env id (default: the family's own, e.g. rlsuite/GridWorld-v0)")
    env_kwargs: dict | None = option(
        None, help="keyword arguments of gym.make, e.g. '{r_forbidden: -10, slip_prob: 0.1}'"
    )


@dataclass
class EvalOptions(Config):
    """``rlsuite eval RUN``: how many episodes, from which seed, where."""

    episodes: int = option(20, help="evaluation episodes", ge=1)
    seed: int = option(0, help="seed of the first evaluation episode", ge=0, le=MAX_SEED)
    device: str = option("auto", help=DEVICE_HELP)
    video: bool = option(False, help="record the evaluation episodes (SB3 runs; needs moviepy)")
    trust_env_module: bool = option(
        False, help="let the run's env id import the module it names (pkg:ns/Id-v0); only for runs you trust"
    )
    trust_pickle: bool = option(
        False,
        help="load an SB3 .zip saved elsewhere, which unpickles objects and can run code: only for files you trust",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_device_field(self)

