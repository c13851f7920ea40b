"""Run folders are data, never code (issue 26): a crafted folder cannot import a module, nor make rlsuite
write through a symbolic link to a file outside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlsuite.app.cli import main
from rlsuite.common.errors import ModelFolderError, OutputDirError
from rlsuite.common.io import OutputDir
from rlsuite.envs.checks import env_id_from_file

EVIL = 'import pathlib; pathlib.Path("IMPORTED").write_text("the module ran")\n'


@pytest.fixture(scope="module")
def q_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "q"
    assert main(["train", "q_learning", "--budget", "2560", "--out", str(run)]) == 0
    return run


def _craft(run: Path, folder: Path, env_id: str) -> Path:
    """A copy of ``run`` whose config.json and agent.json name ``env_id``."""
    import shutil

    crafted = folder / "crafted"
    shutil.copytree(run, crafted)
    for name in ("config.json", "agent.json"):
        meta = json.loads((crafted / name).read_text())
        meta["env_id"] = env_id
        (crafted / name).write_text(json.dumps(meta))
    return crafted


def test_an_env_id_that_names_a_module_is_refused_before_anything_is_imported(q_run: Path, tmp_path: Path) -> None:
    """`rlsuite eval` of a folder whose env id is "evilmod:rlsuite/GridWorld-v0", run from the folder that
    holds evilmod.py: one line, exit 2, and the module never ran."""
    crafted = _craft(q_run, tmp_path, "evilmod:rlsuite/GridWorld-v0")
    (tmp_path / "evilmod.py").write_text(EVIL)
    proc = subprocess.run(
        [sys.executable, "-m", "rlsuite", "eval", str(crafted)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])},
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"rlsuite: error: {crafted / 'config.json'}: env id 'evilmod:rlsuite/GridWorld-v0' would import the module "
        "'evilmod'; a run folder is data, not code: refused (pass --trust_env_module if you trust that module)"
    ]
    assert not (tmp_path / "IMPORTED").exists()


def test_the_saved_agent_file_is_checked_too(q_run: Path, tmp_path: Path) -> None:
    """The library's own loader refuses the module prefix in agent.json, unless the caller trusts it."""
    from rlsuite.agents.tabular import TabularAgent

    crafted = _craft(q_run, tmp_path, "os:rlsuite/GridWorld-v0")
    with pytest.raises(ModelFolderError, match=r"agent\.json: env id 'os:rlsuite/GridWorld-v0' would import"):
        TabularAgent.load(crafted / "agent")
    agent = TabularAgent.load(crafted / "agent", trust_env_module=True)  # "os" is harmless: it imports
    assert agent.env.spec.id == "rlsuite/GridWorld-v0"


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        ("rlsuite/NoSuchEnv-v0", "env id 'rlsuite/NoSuchEnv-v0' is not registered"),
        ("", "env_id must be a non-empty string, got ''"),
        (None, "env_id must be a non-empty string, got None"),
        (["rlsuite/GridWorld-v0"], "env_id must be a non-empty string, got ['rlsuite/GridWorld-v0']"),
    ],
)
def test_env_ids_from_files_must_be_registered_strings(env_id: object, message: str) -> None:
    with pytest.raises(ModelFolderError) as info:
        env_id_from_file(env_id, "run/config.json")
    assert str(info.value) == f"run/config.json: {message}" + ("" if "registered" not in message else
                                                                " (`rlsuite envs` lists rlsuite's ids)")  # fmt: skip


def test_registered_ids_pass_unchanged() -> None:
    assert env_id_from_file("rlsuite/GridWorld-v0", "x") == "rlsuite/GridWorld-v0"
    assert env_id_from_file("FrozenLake-v1", "x") == "FrozenLake-v1"
    assert env_id_from_file("pkg:ns/Id-v0", "x", trust_module=True) == "pkg:ns/Id-v0"


def test_a_lock_file_that_links_elsewhere_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    """The lock was opened through a link: `rlsuite eval` truncated and overwrote the file it pointed at."""
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").symlink_to(victim)
    with pytest.raises(OutputDirError, match=r"\.lock: a symbolic link inside the output folder; refused"):
        OutputDir(run, resume=True).open()
    with pytest.raises(OutputDirError, match=r"\.lock: is a symbolic link; refused"):
        OutputDir(run, resume=True)._lock()  # the lock itself never opens through a link
    assert victim.read_text() == "keep me"


def test_links_inside_an_output_folder_are_refused_before_any_write(tmp_path: Path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").symlink_to(victim)
    with pytest.raises(OutputDirError, match=r"metrics\.csv: a symbolic link inside the output folder; refused"):
        OutputDir(run, overwrite=True).check()
    assert victim.read_text() == "keep me"


def test_an_output_folder_that_is_a_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(OutputDirError, match=r"link: is a symbolic link; rlsuite writes only into real folders"):
        OutputDir(tmp_path / "link").check()
