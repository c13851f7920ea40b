"""The CLI answers at once: the package, the env ids and the light commands load no heavy library.

Each case runs in a fresh interpreter and reads ``sys.modules`` afterwards; ``benchmarks/cli_startup.py``
measures the times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "trl", "stable_baselines3")
CLI = """
import contextlib, io
from rlsuite.app.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
"""


def loaded_after(code: str) -> list[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    report = f"\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code + report], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import rlsuite",
        "import rlsuite.envs",
        CLI.format(argv=["--help"]),
        CLI.format(argv=["envs"]),
        CLI.format(argv=["algos"]),
        CLI.format(argv=["train", "q_learning", "--help"]),
        CLI.format(argv=["train", "ppo", "--help"]),
        CLI.format(argv=["eval", "--help"]),
    ],
    ids=["import rlsuite", "import rlsuite.envs", "--help", "envs", "algos", "train q_learning --help",
         "train ppo --help", "eval --help"],  # fmt: skip
)
def test_imports_no_heavy_library(code: str) -> None:
    assert loaded_after(code) == []


def test_the_static_tables_match_the_registries() -> None:
    """``rlsuite algos`` reads the families' static tables: they name exactly the registered agents."""
    from rlsuite.agents.sb3_config import CONFIGS
    from rlsuite.agents.tabular import ALGORITHMS
    from rlsuite.app import train_sb3, train_tabular

    assert list(train_tabular.ALGOS) == list(ALGORITHMS)
    assert list(train_sb3.ALGOS) == list(CONFIGS)
