"""Memory estimates: exact byte counts from .npz headers, the unit formatting at whole values and bounds."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rlsuite.common import memory


def test_physical_memory_is_pages_times_page_size() -> None:
    assert memory.physical_memory() == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize(
    ("nbytes", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (1024**2 - 1, "1024.0 KiB"),
     (1024**2, "1.0 MiB"), (3 * 1024**3, "3.0 GiB"), (1024**4, "1.0 TiB"), (1024**5, "1.0 PiB"),
     (5 * 1024**6, "5120.0 PiB")],
)  # fmt: skip
def test_human_units_switch_at_1024(nbytes: int, text: str) -> None:
    assert memory.human(nbytes) == text


def test_fits_up_to_the_fraction_of_memory_exactly() -> None:
    limit = memory.FRACTION * memory.physical_memory()
    assert memory.fits(limit) and not memory.fits(limit + 1)
    memory.check_fits(limit, "the grid")
    with pytest.raises(OverflowError) as err:
        memory.check_fits(limit + 1, "the grid", OverflowError)
    assert str(err.value) == (
        f"the grid needs about {memory.human(limit + 1)} of memory; "
        f"this machine has {memory.human(memory.physical_memory())}"
    )
    with pytest.raises(ValueError, match=r"^a table needs about"):
        memory.check_fits(2 * memory.physical_memory(), "a table")


def test_npz_nbytes_adds_every_array_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    with zipfile.ZipFile(path, "w") as archive:  # a member that is no array does not count, first or not
        archive.writestr("notes.txt", "x" * 100)
    with zipfile.ZipFile(path, "a") as archive:
        for name, array in {"q": np.zeros((3, 5)), "n": np.zeros(7, dtype=np.int8), "e": np.zeros((0, 4))}.items():
            with archive.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, array)
    assert memory.npz_nbytes(path) == 3 * 5 * 8 + 7


def test_npz_nbytes_reads_version_2_headers_and_claims_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w") as archive, archive.open("w.npy", "w") as f:
        header = {"descr": "<f4", "fortran_order": False, "shape": (100_000, 100_000)}
        np.lib.format.write_array_header_2_0(f, header)
    assert memory.npz_nbytes(path) == 100_000 * 100_000 * 4
    with zipfile.ZipFile(path, "w") as archive, archive.open("w.npy", "w") as f:  # past int64: no wrap-around
        np.lib.format.write_array_header_2_0(f, {"descr": "<f8", "fortran_order": False, "shape": (2**32, 2**32)})
    assert memory.npz_nbytes(path) == 2**64 * 8
    with zipfile.ZipFile(path, "w") as archive, archive.open("v1.npy", "w") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<i2", "fortran_order": False, "shape": (6,)})
    assert memory.npz_nbytes(path) == 12


def test_npz_nbytes_refuses_a_member_that_is_no_npy(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("q.npy", b"not an array")
    with pytest.raises(ValueError):
        memory.npz_nbytes(path)


def test_npz_headers_names_each_array_as_np_load_does(tmp_path: Path) -> None:
    path = tmp_path / "named.npz"
    np.savez(path, q=np.zeros((3, 5)), counts=np.zeros(7, dtype=np.int8), npy=np.zeros(0, dtype="<u2"))
    headers = memory.npz_headers(path)
    assert headers == {"q": ((3, 5), np.dtype("<f8")), "counts": ((7,), np.dtype("i1")), "npy": ((0,), np.dtype("<u2"))}
    with np.load(path) as loaded:
        assert sorted(loaded.files) == sorted(headers)


@pytest.mark.parametrize(
    ("pages", "size", "total"),
    [(1, 4096, 4096), (5, 1, 5), (-1, 4096, None), (0, 4096, None), (5, 0, None), (5, -1, None)],
)
def test_physical_memory_is_unknown_unless_both_numbers_are_positive(
    monkeypatch: pytest.MonkeyPatch, pages: int, size: int, total: int | None
) -> None:
    """os.sysconf answers -1 for a value it does not know: the memory is then unknown, not negative or zero."""
    monkeypatch.setattr(memory.os, "sysconf", lambda name: {"SC_PHYS_PAGES": pages, "SC_PAGE_SIZE": size}[name])
    assert memory.physical_memory() == total
