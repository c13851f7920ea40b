"""Shipped configs by name, from any folder: ``--config NAME`` reads the package's file when no file of
that name is in the current folder; ``rlsuite config-path NAME`` prints its path (for rl_zoo3's ``-conf``
and accelerate's ``--config_file``); an unknown name is refused in one line listing the shipped names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlsuite.app.args import SHIPPED_CONFIGS, resolve_config, shipped_configs
from rlsuite.app.cli import main, parse_line
from rlsuite.common.config import load_yaml
from rlsuite.common.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def test_every_shipped_file_has_a_name() -> None:
    names = shipped_configs()
    assert {"ppo", "ppo_pixels", "qrdqn", "alignment/dpo", "accelerate/multi_cpu"} <= set(names)
    assert sorted(names.values()) == sorted(SHIPPED_CONFIGS.rglob("*.y*ml"))


def test_config_by_name_from_an_empty_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _, parsed = parse_line(["train", "ppo", "--env", "rlsuite/GridWorldEpisodic-v0", "--config", "ppo_pixels"])
    assert parsed.args.config == SHIPPED_CONFIGS / "ppo_pixels.yml"
    assert resolve_config("dpo", folder="alignment") == SHIPPED_CONFIGS / "alignment" / "dpo.yaml"
    assert resolve_config("ppo", folder="alignment") == SHIPPED_CONFIGS / "alignment" / "ppo.yaml"
    assert resolve_config("ppo") == SHIPPED_CONFIGS / "ppo.yml"


def test_a_file_in_the_current_folder_wins(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ppo_pixels").write_text("{}\n")
    assert resolve_config("ppo_pixels") == Path("ppo_pixels")


def test_an_unknown_name_is_one_line_listing_the_shipped_ones(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", "ppo", "--config", "ppo_pixel"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ppo_pixel: no such file here, nor a config shipped with rlsuite" in err
    assert "(shipped: a2c, " in err and ", ppo_pixels, " in err
    with pytest.raises(UsageError, match="not a shipped config"):
        main(["--debug", "config-path", "nope"])


def test_config_path_prints_the_installed_file(capsys) -> None:
    assert main(["config-path", "ppo"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == SHIPPED_CONFIGS / "ppo.yml" and "rlsuite/GridWorld-v0" in load_yaml(path)
    assert main(["config-path"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert len(listing) == len(shipped_configs()) and listing[0].split() == ["a2c", str(SHIPPED_CONFIGS / "a2c.yml")]


@pytest.mark.slow
def test_rl_zoo_reads_the_path_config_path_prints(tmp_path: Path) -> None:
    """README's rl_zoo3 line, as a shell runs it, from an empty folder (a tiny budget)."""
    pytest.importorskip("rl_zoo3")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": f"{Path(sys.executable).parent}:"
           f"{os.environ['PATH']}"}  # fmt: skip
    line = ('python -m rl_zoo3.train --algo ppo --env rlsuite/GridWorld-v0 --gym-packages rlsuite '
            '-conf "$(rlsuite config-path ppo)" -n 64 --log-folder logs --eval-freq -1')  # fmt: skip
    readme = (ROOT / "README.md").read_text()
    assert line.split(" -n ")[0] in readme
    done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list((tmp_path / "logs" / "ppo").glob("rlsuite-GridWorld-v0_1/*.zip"))
