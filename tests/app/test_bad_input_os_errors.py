"""OS errors while writing run folders, checkpoints and figures (issue 26, point 4): a full disk (ENOSPC),
a file-size limit (EFBIG) and a symbolic-link loop (ELOOP) end in one line naming the file, a non-zero
exit, and nothing half-written: no ``finished.json``, no temporary left beside its target.

ENOSPC uses a small tmpfs mounted in a private mount namespace (``unshare -m``; skipped where that is not
allowed); EFBIG runs the command with ``RLIMIT_FSIZE`` and SIGXFSZ ignored, as ``ulimit -f`` does.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from rlsuite.app.cli import main

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
PPO = ["train", "ppo", "--budget", "512", "--set", "n_steps=32", "batch_size=32", "n_epochs=1", "progress_bar=false",
       "checkpoint_freq=256"]  # fmt: skip


def _one_line(stderr: str, *needles: str) -> None:
    errors = [line for line in stderr.splitlines() if line.startswith("rlsuite: error: ")]
    assert len(errors) == 1 and all(n in errors[0] for n in needles), stderr
    assert "Traceback" not in stderr, stderr


def _nothing_half_written(out: Path) -> None:
    assert not (out / "finished.json").exists()
    assert not [p for p in out.rglob(".*") if p.name != ".lock"], list(out.rglob(".*"))  # no temporaries


def _file_limit(nbytes: int) -> Callable[[], None]:
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return limit


# ----- EFBIG: checkpoints and weights (safetensors' Rust writer keeps only the errno: the run folder is named)
# and figures (matplotlib) -----
@pytest.mark.slow
@pytest.mark.parametrize(("argv", "limit", "named"), [
    (PPO, 20_000, "checkpoints/step_256"),
    (["reproduce", "zhao-fig-3.2"], 20_000, "zhao-fig-3.2"),
    (["align", "sft", "--model", "{tiny}", "--budget", "4", "--set", "save_strategy=steps", "save_steps=2"], 200_000,
     ""),
    (["vision", "train-detector", "--budget", "5", "--eval_frames", "4", "--eval_episodes", "2"], 20_000, ""),
], ids=["sb3 checkpoint", "book figure", "align checkpoint", "detector weights"])  # fmt: skip
def test_a_file_size_limit_names_the_file(tmp_path: Path, argv: list[str], limit: int, named: str) -> None:
    if "{tiny}" in argv:  # built here, without the limit (building the embedded model would name the cache)
        from rlsuite.testing.alignment import tiny_base

        argv = [str(tiny_base()) if a == "{tiny}" else a for a in argv]
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "rlsuite", *argv, "--out", str(out)], capture_output=True, text=True,
                          timeout=300, env=ENV, cwd=tmp_path, preexec_fn=_file_limit(limit))  # fmt: skip
    assert proc.returncode == 2
    _one_line(proc.stderr, "(EFBIG)", str(out / named))
    _nothing_half_written(out)


# ----- ENOSPC: a small tmpfs -----
def _unshare() -> str | None:
    tool = shutil.which("unshare")
    if tool is None or os.geteuid() != 0:
        return None
    probe = subprocess.run([tool, "-m", "true"], capture_output=True)
    return tool if probe.returncode == 0 else None


@pytest.mark.slow
@pytest.mark.parametrize(("size", "named"), [("8k", "config.json"), ("40k", "learning_curve.png")],
                         ids=["run folder", "figure"])  # fmt: skip
def test_a_full_disk_names_the_file(tmp_path: Path, size: str, named: str) -> None:
    tool = _unshare()
    if tool is None:
        pytest.skip("no private mount namespace here (unshare -m needs root)")
    disk = tmp_path / "disk"
    disk.mkdir()
    out = disk / "run"
    script = (f"mount -t tmpfs -o size={size} tmpfs {disk} && {sys.executable} -m rlsuite train q_learning "
              f"--budget 10 --out {out}; rc=$?; ls -A {out} > {tmp_path}/left.txt; "
              f"test -e {out}/finished.json && echo finished >> {tmp_path}/left.txt; exit $rc")  # fmt: skip
    proc = subprocess.run([tool, "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300, env=ENV)
    assert proc.returncode == 2
    _one_line(proc.stderr, "No space left on device (ENOSPC)", str(out / named))
    left = (tmp_path / "left.txt").read_text().split()
    assert "finished" not in left and not [n for n in left if n.startswith(".") and n != ".lock"], left


# ----- ELOOP: a link loop as --out, on the way to --out, inside a run folder -----
def test_a_link_loop_as_out_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    assert main(["train", "q_learning", "--budget", "10", "--out", str(tmp_path / "loop")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a symbolic link" in err[0] and str(tmp_path / "loop") in err[0], err


def test_a_link_loop_above_out_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    os.symlink(tmp_path / "a", tmp_path / "b")
    os.symlink(tmp_path / "b", tmp_path / "a")
    out = tmp_path / "a" / "run"
    assert main(["train", "q_learning", "--budget", "10", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "(ELOOP)" in err[0] and str(out) in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_link_loop_inside_a_run_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    argv = ["train", "q_learning", "--budget", "10", "--out", str(out)]
    assert main(argv) == 0
    os.symlink(out / "loop", out / "loop")
    capsys.readouterr()
    assert main([*argv, "--overwrite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a symbolic link inside the output folder" in err[0] and str(out / "loop") in err[0]
    assert (out / "finished.json").is_file()  # what was there is kept
