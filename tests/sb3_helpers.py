"""``rlsuite train`` / ``rlsuite eval`` of SB3 runs, through the real command line (shared by the SB3 tests)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlsuite.agents.sb3_config import SB3RunConfig
from rlsuite.app.args import parse
from rlsuite.app.cli import build_parser, main
from rlsuite.app.options import TrainOptions

QUIET = ["torch_threads=1", "progress_bar=false"]


def cli(argv: Sequence[str]) -> int:
    """``rlsuite ARGV``: 0, or 2 with one error line on stderr."""
    return main(list(argv))


def parse_train(argv: Sequence[str]) -> tuple[str, SB3RunConfig, TrainOptions]:
    """``ALGO [flags]`` -> the algorithm, its config and the run options, as ``rlsuite train`` parses them."""
    parsed = parse(build_parser("train"), ["train", *argv])
    return parsed.args.algo, parsed.get(SB3RunConfig), parsed.get(TrainOptions)


def train(out: Path, algo: str, env_id: str, *settings: str, seed: int = 0, extra: Sequence[str] = ()) -> Path:
    """Train into ``out`` with ``--set settings`` (quiet, one torch thread); return ``out``."""
    argv = ["train", algo, "--env", env_id, "--seed", str(seed), "--out", str(out), "--device", "cpu", *extra,
            "--set", *QUIET, *settings]  # fmt: skip
    assert cli(argv) == 0
    return out


def a2c_run(out: Path, budget: int, *settings: str, extra: Sequence[str] = ()) -> Path:
    """A small A2C run on the grid world (2 envs x 64 steps an update, a checkpoint every 128 steps) up to
    ``budget`` steps, with ``--set settings`` and the extra flags."""
    return train(out, "a2c", "rlsuite/GridWorld-v0", "n_envs=2", "n_steps=64", "checkpoint_freq=128", *settings,
                 extra=["--budget", str(budget), *extra])  # fmt: skip


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
