"""`rlsuite align METHOD` ends torch.distributed's process group before the process exits (every rank of an
`accelerate launch`; a rank leaving a gloo group open can die of SIGABRT in interpreter teardown), on success
and on refusal alike. The success path under a real two-rank launch is the slow test in
tests/app/test_third_party_to_log.py; here a one-process gloo group stands in for the launcher's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

dist = pytest.importorskip("torch.distributed")

from rlsuite.app.align import end_process_group  # noqa: E402
from rlsuite.app.cli import main  # noqa: E402


@pytest.fixture
def gloo_group() -> Iterator[None]:
    if not dist.is_available():
        pytest.skip("torch without torch.distributed")
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_end_process_group_destroys_an_open_group(gloo_group: None) -> None:
    assert dist.is_initialized()
    end_process_group()
    assert not dist.is_initialized()
    end_process_group()  # nothing open: nothing to do, no error


def test_a_refused_align_run_still_ends_the_group(gloo_group: None, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "dpo"
    assert main(["align", "dpo", "--model", str(tmp_path / "no_such_model"), "--out", str(out)]) == 2
    assert "no_such_model" in capsys.readouterr().err
    assert not dist.is_initialized()
    assert not out.exists()
