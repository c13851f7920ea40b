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
HEAVY = ("torch", "transformers", "trl", "stable_baselines3", "numba")
CLI = """
import contextlib, io
from rlsuite.app.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
"""


def loaded_after(code: str, env: dict[str, str] | None = None, expect_output: str | None = None) -> list[str]:
    """The heavy modules in ``sys.modules`` after running ``code`` in a fresh interpreter (with ``env``
    added to the environment; ``expect_output``: what it must print first)."""
    report = f"\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, **(env or {})}
    proc = subprocess.run([sys.executable, "-c", code + report], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    *printed, last = proc.stdout.splitlines()
    if expect_output is not None:
        assert printed == [expect_output]
    return json.loads(last)


CASES = {
    "import rlsuite": "import rlsuite",
    "import rlsuite.envs": "import rlsuite.envs",
    **{
        "rlsuite " + " ".join(argv): CLI.format(argv=argv)
        for argv in (
            ["--help"],
            ["envs"],
            ["algos"],
            ["train", "q_learning", "--help"],
            ["train", "ppo", "--help"],
            ["eval", "--help"],
        )
    },
}


@pytest.mark.parametrize("code", CASES.values(), ids=CASES.keys())
def test_imports_no_heavy_library(code: str) -> None:
    assert loaded_after(code) == []


def test_the_static_tables_match_the_registries() -> None:
    """``rlsuite algos`` reads the families' static tables: they name exactly the registered agents."""
    from rlsuite.agents.sb3_config import CONFIGS
    from rlsuite.agents.tabular import ALGORITHMS
    from rlsuite.app import train_sb3, train_tabular

    assert list(train_tabular.ALGOS) == list(ALGORITHMS)
    assert list(train_sb3.ALGOS) == list(CONFIGS)


def test_kept_align_help_answers_without_trl(tmp_path: Path) -> None:
    """``align METHOD --help`` prints the text kept in the rlsuite cache, importing no heavy library."""
    setup = (
        "from rlsuite.app.cli import help_cache_file\nhelp_cache_file(['align', 'dpo', '--help']).write_text('KEPT\\n')"
    )
    ask = "from rlsuite.app.cli import main\ntry:\n    main(['align', 'dpo', '--help'])\nexcept SystemExit:\n    pass"
    env = {"RLSUITE_CACHE": str(tmp_path)}
    assert loaded_after(setup, env) == []
    assert loaded_after(ask, env, expect_output="KEPT") == []


@pytest.mark.slow
def test_kept_help_is_the_help(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    from rlsuite.app.cli import help_cache_file, main

    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path))
    argv = ["align", "grpo", "--help"]
    for _ in range(2):  # made and kept, then read back
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
        text = capsys.readouterr().out
        assert help_cache_file(argv).read_text() == text and "--reward_model" in text
    # another method, or a changed source file, is another key
    assert help_cache_file(["align", "dpo", "--help"]) != help_cache_file(argv)
    assert help_cache_file(["align", "grpo", "--beta", "2"]) is None  # not a help request
