"""mutmut with a store of verdicts: run by tools/mutate.py in a group's work folder.

mutmut keeps a mutant's verdict by its name (``module.xǁClassǁfunction__mutmut_7``) and drops it whenever
the function's file is mutated afresh or its configuration changes, so a rerun costs again every mutant that
was already caught. This store keeps, in the work folder's ``verdicts.json``, the verdict of every mutant
checked (killed, timed out or survived) under a key made of the function's name, its original source and the
mutated source: the same mutant, whatever its number, and restores the verdicts mutmut forgot. A kill stands while
tests are only added (the house rule for a work folder: delete ``verdicts.json`` after weakening or deleting a
test), so it outranks a survival; a restored survivor is rerun by ``--recheck``, as mutmut's own would be.
``merge`` brings in the store of a copy of the folder (e.g. one that rechecked its survivors against newer tests),
or the repository's ``tools/mutation_verdicts.json`` (``{key: exit code}``, every group's verdicts: what tools/mutate.py
keeps of a run when it writes the report, so a fresh machine's work folder starts with them); ``export`` adds this
store's verdicts to such a file.

    python tools/mutmut_store.py run [--max-children N] [NAMES ...]   # `mutmut run`, restoring first
    python tools/mutmut_store.py record [--caught-only]                # store the verdicts [only the kills]
    python tools/mutmut_store.py restore                               # restore them without running mutmut
    python tools/mutmut_store.py merge OTHER/verdicts.json             # add another store's verdicts
    python tools/mutmut_store.py export SHARED.json                    # add this store's verdicts to SHARED.json
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

STORE = Path("verdicts.json")
KEY_LENGTH = 32  # hex digits of the sha256 kept: 128 bits, short enough for a file in the repository
CAUGHT_CODES = {"killed", "timeout"}
log = logging.getLogger("mutmut_store")


def mutant_key(mutant: str, path: Path) -> str:
    """The mutant's identity: its function's name, original source and mutated source, hashed."""
    import libcst as cst
    from mutmut.mutation.diff_apply import (
        read_functions_from_index,
        read_mutant_function,
        read_mutants_module,
        read_original_function,
    )

    functions = read_functions_from_index(mutant, path)
    if functions is None:
        module = read_mutants_module(path)
        functions = (read_original_function(module, mutant), read_mutant_function(module, mutant))
    original, mutated = (cst.Module([f]).code.strip() for f in functions)
    function = mutant.rsplit("__mutmut_", 1)[0]
    return hashlib.sha256("\0".join((function, original, mutated)).encode()).hexdigest()[:KEY_LENGTH]


def load_store() -> dict[str, dict[str, Any]]:
    """The work folder's store (keys written before KEY_LENGTH, whole sha256 digests, shortened)."""
    store = json.loads(STORE.read_text()) if STORE.is_file() else {}
    return {key[:KEY_LENGTH]: entry for key, entry in store.items()}


def _write_sorted(path: Path, data: dict[str, Any]) -> None:
    """``data`` as JSON sorted by key, one entry per line, written whole or not at all."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(dict(sorted(data.items())), indent=0) + "\n")
    tmp.replace(path)


def save_store(store: dict[str, dict[str, Any]]) -> None:
    _write_sorted(STORE, store)


def _mutation_data() -> list[Any]:
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.utils.file_utils import walk_mutatable_files

    found = []
    for path in walk_mutatable_files():
        if (Path("mutants") / (str(path) + ".meta")).exists():
            data = SourceFileMutationData(path=path)
            data.load()
            found.append(data)
    return found


def _caught(code: int | None) -> bool:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[code] in CAUGHT_CODES


def _survived(code: int | None) -> bool:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[code] == "survived"


def _replaces(code: int | None, old: dict[str, Any] | None) -> bool:
    """Whether a verdict ``code`` goes into the store over its entry ``old``: where there is none, or a kill over a
    survival (tests are only added)."""
    return old is None or (_caught(code) and not _caught(old["exit_code"]))


def record(datas: list[Any] | None = None, survivals: bool = True) -> int:
    """Add the verdicts of the work folder to the store: a caught one always, a survival (unless not
    ``survivals``: a pre-pass's, run with some of the tests only) where the store has none (a stored kill stands:
    tests are only added); return how many entries changed."""
    store = load_store()
    new = 0
    for data in _mutation_data() if datas is None else datas:
        for mutant, code in data.exit_code_by_key.items():
            if not (_caught(code) or (survivals and _survived(code))):
                continue
            key = mutant_key(mutant, data.path)
            if _replaces(code, store.get(key)):
                store[key] = {"mutant": mutant, "exit_code": code}
                new += 1
    if new:
        save_store(store)
    return new


def merge(other: dict[str, Any]) -> int:
    """Add ``other``'s verdicts to the store (a kill outranks a survival); return how many entries changed.
    ``other``: another store, or a shared file's ``{key: exit code}``."""
    store = load_store()
    new = 0
    for key, entry in other.items():
        entry = {"exit_code": entry} if isinstance(entry, int) else entry
        if _replaces(entry["exit_code"], store.get(key[:KEY_LENGTH])):
            store[key[:KEY_LENGTH]] = entry
            new += 1
    if new:
        save_store(store)
    return new


def export(shared: Path) -> int:
    """Add the store's verdicts to the shared file ``shared`` (``{key: exit code}``, sorted, one per line; a kill
    outranks a survival, as in the store); return how many entries changed there."""
    verdicts: dict[str, int] = json.loads(shared.read_text()) if shared.is_file() else {}
    new = 0
    for key, entry in load_store().items():
        old = verdicts.get(key)
        if _replaces(entry["exit_code"], None if old is None else {"exit_code": old}):
            verdicts[key] = entry["exit_code"]
            new += 1
    if new:
        _write_sorted(shared, verdicts)
    return new


def restore(datas: list[Any]) -> dict[str, int]:
    """Give every mutant without a verdict its stored one, and a "survived" one a stored kill (saved in mutmut's
    files); return the names and verdicts given. A stored kill outranks a survival: tests are only added (a
    survival is from older tests, e.g. a copy of this folder rechecked its survivors against newer ones and its
    store was merged here)."""
    store = load_store()
    restored: dict[str, int] = {}
    if not store:
        return restored
    for data in datas:
        changed = False
        for mutant, code in data.exit_code_by_key.items():
            if code is None or _survived(code):
                entry = store.get(mutant_key(mutant, data.path))
                if entry is not None and (code is None or _caught(entry["exit_code"])):
                    data.exit_code_by_key[mutant] = restored[mutant] = entry["exit_code"]
                    changed = True
        if changed:
            data.save()
    return restored


def to_mutate(path: Path) -> bool:
    """Whether mutmut will mutate ``path`` afresh: its copy in mutants/ is missing or not newer than it (mutmut
    copies a missing file with its time, and writes the mutated copy later)."""
    copy = Path("mutants") / path
    return not copy.is_file() or path.stat().st_mtime >= copy.stat().st_mtime


def fastest_first(tests: Iterable[str], duration_by_test: dict[str, float]) -> list[str]:
    """The tests in the order to run them for a mutant: the quickest first (by the stats run's durations, then by
    name), so that `pytest -x` stops at the first quick test that catches it. mutmut's fork server hands pytest its
    set of tests in no particular order, so a mutant that a one-second test catches could wait on minutes of slow
    tests before it (mutmut's plain fork runner sorts them this way; its fork server does not)."""
    return sorted(tests, key=lambda test: (duration_by_test.get(test, 0.0), test))


def run(argv: list[str]) -> None:
    """`mutmut run ARGV`, with the stored verdicts restored after mutmut made its mutants and before it runs them,
    without mutmut's coverage run when no file is to be mutated afresh, and with each mutant's tests run quickest
    first."""
    import mutmut.__main__ as mutmut_main
    from mutmut.state import state
    from mutmut.workers.isolation import ForkServerRunner

    collect = mutmut_main.collect_source_file_mutation_data

    def collect_and_restore(*, mutant_names: tuple[str, ...] | list[str]) -> Any:
        mutants, by_path = collect(mutant_names=mutant_names)
        restored = restore(list(by_path.values()))
        caught = {name for name, code in restored.items() if _caught(code)}
        if restored:
            survived = len(restored) - len(caught)
            print(f"    restored {len(caught)} caught and {survived} surviving verdicts from {STORE}", flush=True)
        # a mutant named to mutmut runs whatever its verdict: not one known to be caught (a survivor does: --recheck)
        return [(d, name, d.exit_code_by_key.get(name)) for d, name, _ in mutants if name not in caught], by_path

    measure = mutmut_main.store_lines_covered_by_tests

    def measure_if_mutating() -> None:
        """mutmut runs every test under coverage at each start, to mutate only covered lines; the result is used
        only for files it mutates afresh (a mutated copy older than its source). None: skip that whole test run."""
        from mutmut.configuration import config
        from mutmut.utils.file_utils import walk_mutatable_files

        if any(to_mutate(path) for path in walk_mutatable_files()):
            measure()
        elif config().mutate_only_covered_lines:
            print("    no file to mutate afresh: coverage not measured", flush=True)

    submit = ForkServerRunner.submit

    def submit_fastest_first(
        self: ForkServerRunner, mutant_name: str, tests: list[str], cpu_time_limit: int, estimated_time: float
    ) -> None:
        submit(self, mutant_name, fastest_first(tests, state().duration_by_test), cpu_time_limit, estimated_time)

    ForkServerRunner.submit = submit_fastest_first  # type: ignore[method-assign]
    mutmut_main.collect_source_file_mutation_data = collect_and_restore
    mutmut_main.store_lines_covered_by_tests = measure_if_mutating
    mutmut_main.cli(["run", *argv])


if __name__ == "__main__":
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]  # tools/ is not the tests' to import from (mutmut puts its own paths first)
    if sys.argv[1:] == ["record"]:
        print(f"{record()} verdicts added to {STORE}")
    elif sys.argv[1:] == ["record", "--caught-only"]:
        print(f"{record(survivals=False)} verdicts added to {STORE}")
    elif sys.argv[1:2] == ["merge"] and len(sys.argv) == 3:
        print(f"{merge(json.loads(Path(sys.argv[2]).read_text()))} verdicts merged into {STORE}")
    elif sys.argv[1:2] == ["export"] and len(sys.argv) == 3:
        print(f"{export(Path(sys.argv[2]))} verdicts exported to {sys.argv[2]}")
    elif sys.argv[1:2] == ["restore"]:
        print(f"{len(restore(_mutation_data()))} verdicts restored from {STORE}")
    elif sys.argv[1:2] == ["run"]:
        run(sys.argv[2:])
    else:
        raise SystemExit(__doc__)
