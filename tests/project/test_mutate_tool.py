"""tools/mutate.py and tools/mutmut_store.py: the test selection mutmut sees, and the store of caught verdicts."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("mutmut")
from mutmut import configuration
from mutmut.mutation.file_mutation import mutate_file_contents

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "def f(a, b):\n    x = a + 1\n    y = b * 2\n    return x - y\n"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look their module up by name
    spec.loader.exec_module(module)
    return module


mutate = _load("mutate")
store = _load("mutmut_store")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty mutmut work folder (its configuration names ``pkg``), the current folder."""
    (tmp_path / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["pkg"]\n')
    (tmp_path / "pkg").mkdir()
    (tmp_path / "mutants" / "pkg").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(configuration, "_config", None)  # mutmut reads its configuration once per process
    return tmp_path


def _mutants(source: str, covered: set[int] | None = None) -> dict[str, str]:
    """Write the mutated ``pkg/mod.py`` for ``source``; its mutants' names -> their keys."""
    mutated = mutate_file_contents("pkg/mod.py", source, covered_lines=covered)
    Path("mutants/pkg/mod.py").write_text(mutated.code)
    return {f"pkg.mod.{n}": store.mutant_key(f"pkg.mod.{n}", Path("pkg/mod.py")) for n in mutated.mutant_names}


def test_a_key_names_the_mutation_not_its_number(work: Path) -> None:
    every = _mutants(SOURCE)
    assert len(every) == 7 and len(set(every.values())) == 7
    fewer = _mutants(SOURCE, covered={2, 4})  # line 3 not covered: `return x + y` is now mutant 4, not 7
    assert list(fewer.values()) == [every[f"pkg.mod.x_f__mutmut_{i}"] for i in (1, 2, 3, 7)]
    assert fewer["pkg.mod.x_f__mutmut_4"] != every["pkg.mod.x_f__mutmut_4"]


def test_a_key_changes_with_the_rest_of_its_function(work: Path) -> None:
    before = _mutants(SOURCE)
    after = _mutants(SOURCE.replace("b * 2", "b * 3"))
    assert before["pkg.mod.x_f__mutmut_1"] != after["pkg.mod.x_f__mutmut_1"]  # the same change of `a + 1`
    elsewhere = _mutants("def g():\n    return 0\n\n\n" + SOURCE)  # another function before it: f is the same
    assert {k: v for k, v in elsewhere.items() if ".x_f_" in k} == before


class Data:
    """What the store reads of mutmut's ``SourceFileMutationData``."""

    def __init__(self, codes: dict[str, int | None]) -> None:
        self.path = Path("pkg/mod.py")
        self.exit_code_by_key: dict[str, Any] = codes
        self.saved = 0

    def save(self) -> None:
        self.saved += 1


def test_verdicts_are_stored_and_restored_and_a_kill_outranks_a_survival(work: Path) -> None:
    names = list(_mutants(SOURCE))
    killed, timed_out, survived, unchecked, later = names[:5]
    ran = Data({killed: 1, timed_out: 36, survived: 0, unchecked: None, later: 0})
    assert store.record([ran]) == 4
    assert store.record([ran]) == 0  # already there
    assert store.record([Data({later: 1, killed: 0})]) == 1  # killed by a newer test; a kill is not undone
    forgotten = Data(dict.fromkeys(names))
    assert store.restore([forgotten]) == {killed: 1, timed_out: 36, survived: 0, later: 1}
    assert forgotten.exit_code_by_key[unchecked] is None and forgotten.saved == 1
    checked = Data({killed: 3, timed_out: 0, survived: 0})  # a kill stands; a survival yields to a stored kill
    assert store.restore([checked]) == {timed_out: 36} and checked.exit_code_by_key == {killed: 3, timed_out: 36,
                                                                                         survived: 0}  # fmt: skip
    changed = _mutants(SOURCE.replace("b * 2", "b * 3"))  # the function changed: nothing of it is restored
    assert store.restore([Data(dict.fromkeys(changed))]) == {}


def test_a_copys_kills_merge_in_and_its_survivals_do_not_undo_kills(work: Path) -> None:
    keys = _mutants(SOURCE)
    a, b, c = list(keys)[:3]
    store.save_store({keys[a]: {"mutant": a, "exit_code": 1}, keys[b]: {"mutant": b, "exit_code": 0}})
    copy = {keys[a]: {"mutant": a, "exit_code": 0}, keys[b]: {"mutant": b, "exit_code": 1},
            keys[c]: {"mutant": c, "exit_code": 0}}  # fmt: skip
    assert store.merge(copy) == 2
    assert {e["mutant"]: e["exit_code"] for e in store.load_store().values()} == {a: 1, b: 1, c: 0}


def test_a_new_test_file_leaves_the_selection_unchanged(tmp_path: Path) -> None:
    """mutmut redoes every verdict when pytest's arguments change: a folder stays a folder, ``!`` an ignore."""
    patterns = mutate.GROUPS["common"][1]
    selection = mutate._selection(patterns)
    assert selection[:2] == ["tests/common/", "--ignore-glob=tests/common/test_processes.py"]
    files = mutate._test_files(patterns)
    assert "tests/common/test_processes.py" not in files and "tests/common/test_paths.py" in files
    assert mutate._selection(["tests/app/test_reports.py"]) == ["tests/app/test_reports.py"]
    assert mutate._selection(["tests/app/test_reproduce_z*.py"]) == [
        "tests/app/test_reproduce_zhao.py",
        "tests/app/test_reproduce_zhao_ch8_10.py",
    ]
    with pytest.raises(SystemExit, match="no file matches"):
        mutate._selection(["tests/no_such_folder_*/"])


def test_coverage_is_measured_only_for_a_file_to_mutate_afresh(work: Path) -> None:
    source, copy = Path("pkg/mod.py"), Path("mutants/pkg/mod.py")
    source.write_text(SOURCE)
    assert store.to_mutate(source)  # no mutated copy yet
    shutil.copy2(source, copy)  # what mutmut does with a missing file: the same time
    assert store.to_mutate(source)
    os.utime(copy, (source.stat().st_mtime + 5,) * 2)  # mutated since
    assert not store.to_mutate(source)
    os.utime(source, (source.stat().st_mtime + 10,) * 2)  # the source changed after
    assert store.to_mutate(source)


def test_a_row_keeps_the_group_that_measured_it_when_its_module_moves(tmp_path: Path, monkeypatch) -> None:
    """A module moved to a new group keeps the group and run that measured it (not a later run of that group) until
    the new group has run."""
    (tmp_path / "pkg").mkdir()
    for name in ("a", "b"):
        (tmp_path / "pkg" / f"{name}.py").write_text("x = 1\n")
    (tmp_path / "docs").mkdir()
    monkeypatch.setattr(mutate, "ROOT", tmp_path)
    monkeypatch.setattr(mutate, "_head", lambda: "abc1234")
    counts = {"killed": 3, "survived": 1}
    monkeypatch.setattr(mutate, "GROUPS", {"old": (["pkg/a.py", "pkg/b.py"], [])})
    mutate.write_report({"pkg/a.py": counts, "pkg/b.py": counts}, {"old": 10.0})
    monkeypatch.setattr(mutate, "GROUPS", {"old": (["pkg/a.py"], []), "new": (["pkg/b.py"], [])})
    mutate.write_report({"pkg/a.py": {"killed": 4}}, {"old": 5.0})
    rows = [line for line in (tmp_path / "docs" / "mutation.md").read_text().splitlines() if line.startswith("| `")]
    today = __import__("time").strftime("%Y-%m-%d")
    assert rows == [f"| `pkg/a.py` | old ({today} at abc1234, 5.0) | 4 | 4 | 0 | 0 | 0 | 0 | 0 | 100% |",
                    f"| `pkg/b.py` | old ({today} at abc1234, 10.0) | 4 | 3 | 1 | 0 | 0 | 0 | 0 | 75% |"]  # fmt: skip
    mutate.write_report({"pkg/b.py": {"killed": 2}}, {"new": 1.5})
    rows = [line for line in (tmp_path / "docs" / "mutation.md").read_text().splitlines() if line.startswith("| `")]
    assert rows[1] == f"| `pkg/b.py` | new ({today} at abc1234, 1.5) | 2 | 2 | 0 | 0 | 0 | 0 | 0 | 100% |"


def test_the_repositorys_file_keeps_every_verdict_and_a_fresh_store_starts_from_it(work: Path) -> None:
    keys = _mutants(SOURCE)
    a, b, c, d = list(keys)[:4]
    shared = work / "shared.json"
    first = {keys[a]: {"mutant": a, "exit_code": 1}, keys[b]: {"mutant": b, "exit_code": 0}}
    store.save_store(dict(sorted(first.items(), reverse=True)))  # given out of order: both files are written sorted
    assert store.export(shared) == 2 and store.export(shared) == 0
    assert shared.read_text() == "{\n" + ",\n".join(
        f'"{k}": {v}' for k, v in sorted({keys[a]: 1, keys[b]: 0}.items())) + "\n}\n"  # fmt: skip
    store.save_store({keys[a]: {"mutant": a, "exit_code": 0}, keys[b]: {"mutant": b, "exit_code": 36},
                      keys[c]: {"mutant": c, "exit_code": 0}})  # fmt: skip
    assert store.export(shared) == 2  # b's kill replaces its survival, c is new; a's survival does not undo a kill
    assert json.loads(shared.read_text()) == {keys[a]: 1, keys[b]: 36, keys[c]: 0}
    Path(store.STORE).unlink()  # a new machine: an empty work folder, then the repository's file
    assert store.merge(json.loads(shared.read_text())) == 3
    fresh = Data(dict.fromkeys([a, b, c, d]))
    assert store.restore([fresh]) == {a: 1, b: 36, c: 0} and fresh.exit_code_by_key[d] is None


def test_a_store_written_with_whole_digests_is_read_with_short_keys(work: Path) -> None:
    keys = _mutants(SOURCE)
    a = next(iter(keys))
    assert len(keys[a]) == store.KEY_LENGTH == 32
    Path(store.STORE).write_text(json.dumps({keys[a] + "f" * 32: {"mutant": a, "exit_code": 1}}))
    assert store.restore([Data({a: None})]) == {a: 1}


def test_a_reported_run_adds_its_verdicts_to_the_file_and_a_new_run_starts_with_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mutate, "VERDICTS", tmp_path / "verdicts-in-repo.json")
    ran, fresh = tmp_path / "ran", tmp_path / "fresh"
    ran.mkdir()
    fresh.mkdir()
    (ran / "verdicts.json").write_text(json.dumps({"a" * 32: {"mutant": "m.x_f__mutmut_1", "exit_code": 1}}))
    mutate._import_verdicts(fresh)  # no file yet: nothing to merge
    assert not (fresh / "verdicts.json").exists()
    mutate._export_verdicts(ran)
    assert json.loads(mutate.VERDICTS.read_text()) == {"a" * 32: 1}
    mutate._import_verdicts(fresh)
    assert json.loads((fresh / "verdicts.json").read_text()) == {"a" * 32: {"exit_code": 1}}


def test_a_changed_test_makes_mutmut_take_every_tests_stats_again(tmp_path: Path) -> None:
    stats = tmp_path / "mutants" / "mutmut-stats.json"
    stats.parent.mkdir()
    stats.write_text("{}")
    mutate._drop_stale_stats(tmp_path, ["rlsuite/envs/bandit.py", "docs/mutation.md"])
    assert stats.is_file()  # no test changed: the stats stand
    mutate._drop_stale_stats(tmp_path, ["rlsuite/envs/bandit.py", "tests/envs/test_bandit.py"])
    assert not stats.exists()
    mutate._drop_stale_stats(tmp_path, ["tests/envs/test_bandit.py"])  # none left to drop: nothing to do


def test_each_mutants_tests_run_quickest_first(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mutmut's fork server hands pytest a set of tests; `mutmut_store.py run` sorts them by their measured time
    (then by name), so `pytest -x` stops at the first quick test that catches the mutant."""
    import mutmut.__main__ as mutmut_main
    from mutmut.state import state
    from mutmut.workers.isolation import ForkServerRunner

    handed: list[tuple[str, list[str], int, float]] = []
    monkeypatch.setattr(ForkServerRunner, "submit", lambda self, *args: handed.append(args))
    for name in ("collect_source_file_mutation_data", "store_lines_covered_by_tests"):
        monkeypatch.setattr(mutmut_main, name, getattr(mutmut_main, name))  # run() replaces them: put them back
    monkeypatch.setattr(
        state(), "duration_by_test", {"t::slow": 9.0, "t::quick": 0.5, "t::b_mid": 2.0, "t::a_mid": 2.0}
    )
    argv: list[list[str]] = []

    def cli(args: list[str]) -> None:
        argv.append(args)
        ForkServerRunner.submit(
            None, "pkg.mod.x__mutmut_1", ["t::slow", "t::new", "t::b_mid", "t::quick", "t::a_mid"], 7, 3.5
        )  # type: ignore[arg-type]

    monkeypatch.setattr(mutmut_main, "cli", cli)
    store.run(["--max-children", "1"])
    assert argv == [["run", "--max-children", "1"]]
    assert handed == [("pkg.mod.x__mutmut_1", ["t::new", "t::quick", "t::a_mid", "t::b_mid", "t::slow"], 7, 3.5)]


def test_a_recheck_leaves_out_the_survivors_listed_as_equivalent(tmp_path: Path, monkeypatch) -> None:
    diffs = {"pkg.mod.x_f__mutmut_1": "--- a\n+++ b\n-x = a + 1\n+x = a - 1\n",
             "pkg.mod.x_f__mutmut_2": "--- a\n+++ b\n-y = b * 2\n+y = b * 3\n",
             "pkg.mod.x_g__mutmut_1": "--- a\n+++ b\n-x = a + 1\n+x = a - 1\n"}  # fmt: skip
    monkeypatch.setattr(mutate, "_diffs", lambda work, mutants: {m: diffs[m] for m in mutants})
    listed = tmp_path / "equivalent.json"
    listed.write_text(json.dumps({"pkg.mod.x_f__mutmut_9": {"why": "-", "change": "-x = a + 1\n+x = a - 1"}}))
    monkeypatch.setattr(mutate, "EQUIVALENT", listed)
    assert mutate._unlisted(tmp_path, list(diffs)) == ["pkg.mod.x_f__mutmut_2", "pkg.mod.x_g__mutmut_1"]
    assert mutate._unlisted(tmp_path, []) == []


def test_a_prepass_stores_its_kills_only_and_its_main_group_starts_from_them(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pre-pass (the main group's modules, a quick part of its tests) keeps no survival: the main group's slower
    tests may still catch it. The main group's run merges the pre-pass's kills from the folder beside its own."""
    names = list(_mutants(SOURCE))
    killed, survived = names[:2]
    assert store.record([Data({killed: 1, survived: 0})], survivals=False) == 1
    assert [e["mutant"] for e in store.load_store().values()] == [killed]

    monkeypatch.setattr(mutate, "VERDICTS", work / "none.json")
    monkeypatch.setattr(mutate, "PREPASSES", {"quick": "full"})
    (work / "quick").mkdir()
    shutil.copy(store.STORE, work / "quick" / "verdicts.json")
    for name in ("full", "other"):
        (work / name).mkdir()
        mutate._import_verdicts(work / name)
    assert [e["exit_code"] for e in json.loads((work / "full" / "verdicts.json").read_text()).values()] == [1]
    assert not (work / "other" / "verdicts.json").exists()  # not the pre-pass's main group


def test_a_prepass_is_in_no_row_and_its_modules_are_in_one_group(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert mutate.PREPASSES == {"alignment_compare_wiring": "alignment_compare"}
    main, prepass = (mutate.GROUPS[g][0] for g in ("alignment_compare", "alignment_compare_wiring"))
    assert main == prepass and list(mutate.GROUPS).index("alignment_compare_wiring") < list(mutate.GROUPS).index(
        "alignment_compare")  # all groups in order: the pre-pass first  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["mutate.py", "--list"])
    assert mutate.main() == 0 and "in two groups" not in capsys.readouterr().out


def test_a_prepass_run_is_recorded_kills_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(mutate.subprocess, "run", lambda args, **kw: calls.append(args[2:]))
    for name in ("alignment_compare_wiring", "alignment_compare"):
        (tmp_path / name / "mutants").mkdir(parents=True)
        mutate._record(tmp_path / name)
    assert calls == [["record", "--caught-only"], ["record"]]


def test_only_reruns_the_mutants_without_a_verdict_including_those_no_test_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mutant "no tests" ran (its line was not covered) is rerun by --only: a test written since may cover it."""
    (tmp_path / "mutants").mkdir()
    results = {"pkg.mod.x_f__mutmut_1": "no tests", "pkg.mod.x_f__mutmut_2": "killed",
               "pkg.mod.x_f__mutmut_3": "not checked", "pkg.mod.x_f__mutmut_4": "survived",
               "pkg.other.x_g__mutmut_1": "not checked"}  # fmt: skip
    monkeypatch.setattr(mutate, "_results", lambda work: results)
    assert mutate._unchecked(tmp_path, ["pkg/mod.py", "pkg/other.py"], ["pkg/mod.py"]) == [
        "pkg.mod.x_f__mutmut_1", "pkg.mod.x_f__mutmut_3"]  # fmt: skip


def test_only_runs_every_mutant_of_a_module_changed_since_the_last_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A changed module's mutants were dropped before the run (none known): --only names all of them by glob,
    and the store restores the verdicts of its unchanged functions; with every module changed, mutmut's results
    fail and each chosen module is named so."""
    (tmp_path / "mutants").mkdir()
    results = {"pkg.mod.x_f__mutmut_1": "killed", "pkg.other.x_g__mutmut_1": "not checked"}
    monkeypatch.setattr(mutate, "_results", lambda work: results)
    modules = ["pkg/mod.py", "pkg/new.py", "pkg/other.py"]
    assert mutate._unchecked(tmp_path, modules, ["pkg/new.py", "pkg/other.py"]) == [
        "pkg.other.x_g__mutmut_1", "pkg.new.x*"]  # fmt: skip
    assert mutate._unchecked(tmp_path, modules, ["pkg/mod.py"]) == []

    def nothing_known(work: Path) -> dict[str, str]:
        raise RuntimeError("mutmut results failed")

    monkeypatch.setattr(mutate, "_results", nothing_known)
    assert mutate._unchecked(tmp_path, modules, ["pkg/*.py"]) == ["pkg.mod.x*", "pkg.new.x*", "pkg.other.x*"]
