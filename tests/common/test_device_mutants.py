"""choose_threads' and available_cpus' exact answers at their bounds (a thread mask of one or two CPUs, OMP_NUM_THREADS
unset, 0, 1 or 2, one or two workers), and check_device_field's refusal naming the field."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from rlsuite.common.config import ConfigError
from rlsuite.common.device import available_cpus, check_device_field, choose_threads


def _cpus(n: int) -> Iterator[None]:
    """This thread runs on exactly ``n`` CPUs (its affinity mask) for the test, then on its old mask again."""
    mask = os.sched_getaffinity(0)
    if len(mask) < n:
        pytest.skip(f"needs {n} CPUs, this process has {len(mask)}")
    os.sched_setaffinity(0, sorted(mask)[:n])
    try:
        yield
    finally:
        os.sched_setaffinity(0, mask)


@pytest.fixture
def one_cpu() -> Iterator[None]:
    yield from _cpus(1)


@pytest.fixture
def two_cpus() -> Iterator[None]:
    yield from _cpus(2)


@pytest.fixture
def no_omp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("omp_num_threads", raising=False)


def test_available_cpus_is_the_mask_even_of_one(one_cpu: None) -> None:
    assert available_cpus() == 1


def test_available_cpus_of_two(two_cpus: None) -> None:
    assert available_cpus() == 2


def test_defaults_without_omp_give_one_thread(two_cpus: None, no_omp: None) -> None:
    assert choose_threads() == 1


def test_default_is_capped_by_the_cpus_split_between_workers(two_cpus: None, no_omp: None) -> None:
    n = choose_threads(default=4)
    assert n == 2 and type(n) is int  # an int, never 2.0
    assert choose_threads(default=2) == 2  # one worker by default: the two CPUs are its own
    assert choose_threads(workers=1, default=2) == 2
    assert choose_threads(workers=2, default=2) == 1
    assert choose_threads(workers=0, default=2) == 2  # no workers counts as one


def test_one_cpu_gives_one_thread_whatever_the_default(one_cpu: None, no_omp: None) -> None:
    assert choose_threads(default=4) == 1


def test_an_explicit_request_wins_even_one(two_cpus: None, no_omp: None) -> None:
    assert choose_threads(requested=1, default=2) == 1
    assert choose_threads(requested=5, default=2) == 5


@pytest.mark.parametrize(("omp", "default", "want"), [("2", 1, 2), ("1", 2, 1), ("0", 1, 1), ("0", 2, 2),
                                                      (" 2 ", 1, 2), ("two", 2, 2), ("", 2, 2), ("8", 1, 2)])
def test_omp_num_threads(two_cpus: None, monkeypatch: pytest.MonkeyPatch, omp: str, default: int, want: int) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", omp)
    monkeypatch.delenv("omp_num_threads", raising=False)
    assert choose_threads(default=default) == want


@dataclass
class Probe:
    device: str = "auto"
    where: str = "cpu"


def test_check_device_field_refuses_a_device_outside_the_vocabulary() -> None:
    check_device_field(Probe())
    check_device_field(Probe("cuda:1"), "device")
    with pytest.raises(ConfigError) as caught:
        check_device_field(Probe("gpu"))
    assert str(caught.value) == "Probe.device: 'gpu' is not one of auto, cpu, cuda, cuda:N"
    with pytest.raises(ConfigError) as caught:
        check_device_field(Probe(where="torch:cpu"), "where")
    assert str(caught.value) == (
        "Probe.where: 'torch:cpu' is not one of auto, cpu, cuda, cuda:N"
        " (torch on the CPU: --device cpu --backend torch)"
    )


def test_the_default_device_is_auto_the_gpu_where_there_is_one() -> None:
    import torch
    from cuda_sim import simulate_cuda

    from rlsuite.common.device import select_device

    assert select_device() == select_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with simulate_cuda():
        assert select_device() == torch.device("cuda")
        assert select_device(gpu_pays=False) == torch.device("cpu")


def test_cuda_asked_for_without_a_gpu_is_refused_not_replaced() -> None:
    import torch

    from rlsuite.common.device import select_device
    from rlsuite.common.errors import UsageError

    if torch.cuda.is_available():  # a (simulated) GPU session: nothing to refuse
        assert select_device("cuda:0") == torch.device("cuda", 0)
        return
    for asked in ("cuda", "cuda:0"):
        with pytest.raises(UsageError, match=rf"^device: '{asked}' asked for, but CUDA is not available here$"):
            select_device(asked)


@pytest.fixture
def torch_threads() -> Iterator[None]:
    """torch's thread count as it was before the test (a process-global setting)."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_set_torch_threads_by_default_chooses_for_one_process(
    two_cpus: None, torch_threads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing asked: OMP_NUM_THREADS (2) within the two CPUs of one worker; without it, one thread."""
    import torch

    from rlsuite.common.device import set_torch_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert set_torch_threads() == 2 == torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert set_torch_threads() == 1 == torch.get_num_threads()
