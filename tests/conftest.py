"""Shared test set-up: offline Hugging Face, a private rlsuite cache, the gpu marker, simulated CUDA.

``pytest --simulate-cuda`` (or ``RLSUITE_SIMULATE_CUDA=1``) runs the session on a simulated CUDA
device (``tests/cuda_sim.py``): ``torch.cuda.is_available()`` is True, so ``device="auto"`` means
"cuda" and the ``gpu``-marked tests run; tensors placed on "cuda" raise where real CUDA raises.
The tests that touch torch devices carry the ``device`` marker (given here by name, see
``DEVICE_WORDS``): ``pytest --simulate-cuda -m "device and not slow"`` is the simulated-CUDA job.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRL_EXPERIMENTAL_SILENCE"] = "1"
os.environ.setdefault("RLSUITE_CACHE", tempfile.mkdtemp(prefix="rlsuite-test-cache-"))
if os.environ.get("PYTEST_XDIST_WORKER"):  # parallel workers (pytest -n N) each build their own defaults
    os.environ["RLSUITE_CACHE"] = os.path.join(os.environ["RLSUITE_CACHE"], os.environ["PYTEST_XDIST_WORKER"])
os.environ.setdefault("MPLBACKEND", "Agg")
# Ray clusters the tests start, and the heads they connect to, all without token authentication (Ray 2.60's default
# for a new local cluster): its state is per process, and a head started by a test then refused its driver's token
# (InvalidAuthToken, the same ~/.ray/auth_token) on a machine where it had worked an hour before
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
# SB3 models that learn without rlsuite's logger make a folder each; keep them in the test cache, not in /tmp
os.environ.setdefault("SB3_LOGDIR", os.path.join(os.environ["RLSUITE_CACHE"], "sb3-logs"))

# A test touches torch devices when its module, name or parameters say so (or it is marked gpu).
DEVICE_WORDS = re.compile(r"torch|cuda|gpu|device|backend")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--simulate-cuda",
        action="store_true",
        default=os.environ.get("RLSUITE_SIMULATE_CUDA", "") not in ("", "0"),
        help="run on a simulated CUDA device (tests/cuda_sim.py); also RLSUITE_SIMULATE_CUDA=1",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "device: touches torch devices; the simulated-CUDA job runs these")
    if config.getoption("--simulate-cuda"):
        from cuda_sim import simulate_cuda

        sim: Any = simulate_cuda()
        sim.__enter__()
        config.stash[_SIM] = sim


def pytest_unconfigure(config: pytest.Config) -> None:
    sim = config.stash.get(_SIM, None)
    if sim is not None:
        sim.__exit__(None, None, None)


def pytest_report_header(config: pytest.Config) -> str | None:
    return "CUDA: simulated on the CPU (tests/cuda_sim.py)" if config.getoption("--simulate-cuda") else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "gpu" in item.keywords or DEVICE_WORDS.search(item.nodeid.lower()):
            item.add_marker(pytest.mark.device)
    try:
        import torch

        has_cuda = torch.cuda.is_available()  # True under --simulate-cuda
    except ImportError:  # pragma: no cover
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs CUDA (or --simulate-cuda)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    """``rlsuite`` run in-process in an empty folder with an empty cache: ``cli(*argv)`` returns (exit code,
    stdout, stderr); the CLI's log handlers and progress reporter are undone afterwards."""
    import logging

    from recording import close_new_log_handlers

    from rlsuite.app.cli import main
    from rlsuite.common import progress

    monkeypatch.setenv("RLSUITE_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers = list(root.handlers)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()  # what the test printed or logged before: not this command's output
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    close_new_log_handlers(handlers)
    progress.set_reporter(None)


@pytest.fixture(autouse=True)
def _help_made_from_the_code_under_test() -> None:
    """Each test's ``--help`` text is made from the code it runs: the help an earlier test kept in the cache is
    dropped first. Its key is the source files' sizes and times, which mutation testing (one code on disk, the
    mutant chosen at run time) leaves unchanged, so a mutant's help was the first test's, not its own."""
    import shutil

    shutil.rmtree(os.path.join(os.environ["RLSUITE_CACHE"], "help"), ignore_errors=True)


_SIM = pytest.StashKey[Any]()


@pytest.fixture
def free_port() -> int:
    """A TCP port free on this machine now, for ``accelerate launch --main_process_port``: its default (29500) is
    the same for every launch on the machine, so two at once (a test run beside another) collide."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
