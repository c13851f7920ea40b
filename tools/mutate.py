"""Mutation testing of every rlsuite module with mutmut: `make mutate` (or `python tools/mutate.py`).

Each group below pairs modules (paths, globs, or folders: their ``*.py`` at any depth) with the fast
tests (a folder: its ``test_*.py``) that are meant to catch their bugs; every module of the package
is in exactly one group (``--list`` says which are not). A module whose folder's tests are slow (they train
models, start Ray, run the whole tour) has a group of its own with the tests written to check it exactly
(``test_*_mutants.py``): its stats run takes seconds, and each mutant runs only those. mutmut 3.8.1 chooses the
tests per mutant by itself: it first runs the group's tests once under its trampoline ("stats"), records which
tests call each function, and then runs each mutant only against the tests that called the mutated function
(cheapest mutants first). So a group's test list costs one full run of those tests, not one per mutant,
and a mutant of a function that none of them calls is "no tests" (not checked). Calls made in a child Python
(a test that runs `rlsuite` in a child) are not seen by the stats run (a ``sitecustomize`` keeps the child out of
it: see CHILD_SITE), so such a test is run for a mutant only if the test's own process calls the function too;
the child then runs the mutant. Groups leave out tests whose code runs only in children. For each
group the script copies the repository (tracked and untracked-but-not-ignored files) to a
scratch folder, writes mutmut's configuration there (only the lines those tests run are
mutated), runs `mutmut run`, reads the result of every mutant, and writes the score per module
to ``docs/mutation.md`` (and the raw counts to ``docs/mutation.json``). Surviving mutants that
are equivalent to the original (no behaviour can tell them apart) are listed, with why, in
``tools/equivalent_mutants.json`` and count as caught. An entry is matched by its function and
its changed lines, not by mutmut's number alone, so it does not silently move to another mutant
when the function changes.

    python tools/mutate.py                      # every group (hours on 2 cores)
    python tools/mutate.py envs bandits         # some groups
    python tools/mutate.py --list               # the groups, their modules and tests
    python tools/mutate.py envs --survivors     # also print each survivor's diff
    python tools/mutate.py envs --work /tmp/mut # keep the scratch copy in /tmp/mut/envs ...
    python tools/mutate.py envs --work /tmp/mut --recheck  # ... and later rerun only its survivors
                                                # against the current tests and code
    python tools/mutate.py envs --work /tmp/mut --equivalent MUTANT "why"  # list a survivor as equivalent
    python tools/mutate.py envs --work /tmp/mut --report-only 45  # score that run (45 minutes) again
    python tools/mutate.py app --work /tmp/mut --only rlsuite/app/tour.py  # only that module's mutants
                                                # without a verdict (a big group, one module at a time)

mutmut keeps a verdict by the mutant's number and drops it when the mutant's file is mutated afresh (this script
drops a changed module's mutants: their numbers would shift) or when its configuration changes: before 2026-12-06 the
group's test files were listed one by one, so a new test file redid every verdict of its group. The tests are now
named by folder (``!GLOB`` leaves files out), and ``tools/mutmut_store.py`` runs mutmut: it keeps every caught verdict
in WORK/GROUP/verdicts.json under the mutant's identity (function, original and mutated source) and restores it where
mutmut forgot it, so a run checks only what is new. Such a verdict stands while tests are only added: delete
verdicts.json after weakening a test. A run that writes the report adds its store to ``tools/mutation_verdicts.json``
(committed: every group's verdicts, ``{key: exit code}``), and every run starts by merging that file into its store,
so a fresh clone on a new machine checks only what no earlier run checked. The same rule holds for it: a commit
that weakens or deletes a test deletes that file (or the entries of the functions the test checked).
mutmut records which functions a test calls only for test names it has not seen before (``mutants/mutmut-stats.json``):
a test whose body changed keeps its old record, so a mutant it now kills may stay "survived". Give such a test a new
name, or delete that file to redo the whole stats run.

It is slow (minutes to an hour per group on 2 cores): it is not part of CI.
"""

from __future__ import annotations

import argparse
import filecmp
import fnmatch
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ALSO_COPY = [".ci/", "LICENSE", "Makefile", "README.md", "benchmarks/", "docs/", "scripts/", "tools/",
             "sitecustomize.py"]  # fmt: skip
# Imported at start-up by every child Python of a run (mutmut runs with PYTHONPATH=its copy, which children inherit:
# tests that run `rlsuite` in a child, spawned multiprocessing workers): during mutmut's stats run the trampoline
# would record the child's calls, which needs mutmut's configuration in the child's working folder (a test's
# temporary folder has none: the stats run failed, "failed to collect stats. runner returned 1").
# The child runs the original code instead; the stats are the parent's. Under a mutant, the child runs the mutant.
CHILD_SITE = """import os

if os.environ.get("MUTANT_UNDER_TEST") == "stats":
    del os.environ["MUTANT_UNDER_TEST"]
"""
EQUIVALENT = ROOT / "tools" / "equivalent_mutants.json"
STORE = ROOT / "tools" / "mutmut_store.py"  # `mutmut run` that restores caught verdicts mutmut forgot (its docstring)
VERDICTS = ROOT / "tools" / "mutation_verdicts.json"  # every group's verdicts, kept in the repository (see above)
APP_FAST_TESTS = [
    "tests/app/", "tests/agents/sb3/",
    *(f"!tests/app/test_{name}*.py" for name in ("reproduce", "tour", "sweep", "tune", "vision", "faults",
                                                  "align_process_group", "console", "train_tabular")),
]  # fmt: skip
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "common": (
        ["rlsuite/common/"],
        # not test_processes.py: its drivers are child Pythons, which the stats run does not see (docstring);
        # test_processes_here.py runs the same functions in the test's own process
        ["tests/common/", "!tests/common/test_processes.py",
         "tests/agents/tabular/test_torch_backend.py", "tests/vision/test_devices.py"],
    ),
    "envs": (
        ["rlsuite/envs/gridworld.py", "rlsuite/envs/bandit.py", "rlsuite/envs/batched.py", "rlsuite/envs/pixels.py"],
        ["tests/envs/test_gridworld.py", "tests/envs/test_bandit.py", "tests/envs/test_batched.py",
         "tests/envs/test_pixels.py", "tests/envs/test_bad_input_envs.py", "tests/envs/test_env_exact.py",
         "tests/envs/test_batched_mutants.py", "tests/envs/test_gridworld_action_mask.py",
         "tests/envs/test_gridworld_mutants.py"],
    ),
    "envs_more": (
        ["rlsuite/envs/__init__.py", "rlsuite/envs/blackjack.py", "rlsuite/envs/car_rental.py",
         "rlsuite/envs/checks.py", "rlsuite/envs/max_bias.py", "rlsuite/envs/mazes.py", "rlsuite/envs/model.py",
         "rlsuite/envs/plotting.py", "rlsuite/envs/random_walk.py", "rlsuite/envs/sutton_barto.py",
         "rlsuite/envs/table.py", "rlsuite/envs/windy.py", "rlsuite/envs/wrappers.py"],
        # not tests/app/test_bad_input_run_folders.py: its eval commands run in child Pythons (docstring)
        ["tests/envs/", "tests/agents/tabular/test_mc_prediction.py"],
    ),
    "tabular": (
        ["rlsuite/agents/tabular/agent.py", "rlsuite/agents/tabular/solvers.py", "rlsuite/agents/tabular/dp.py",
         "rlsuite/agents/tabular/mc.py", "rlsuite/agents/tabular/td.py", "rlsuite/agents/tabular/sa.py",
         "rlsuite/agents/tabular/batch.py"],
        ["tests/agents/tabular/test_tabular_agents.py", "tests/agents/tabular/test_sa.py",
         "tests/agents/tabular/test_solvers_mutants.py", "tests/agents/tabular/test_td_mutants.py",
         "tests/agents/tabular/test_mc_mutants.py", "tests/agents/tabular/test_bad_input_sb_torch.py",
         "tests/agents/tabular/test_batch_mutants.py", "tests/agents/tabular/test_tabular_agent_mutants.py"],
    ),
    "tabular_more": (
        ["rlsuite/agents/__init__.py", "rlsuite/agents/base.py", "rlsuite/agents/tabular/__init__.py",
         "rlsuite/agents/tabular/episodic.py", "rlsuite/agents/tabular/mc_prediction.py",
         "rlsuite/agents/tabular/planning.py", "rlsuite/agents/tabular/prediction.py",
         "rlsuite/agents/tabular/sim.py", "rlsuite/agents/tabular/stream.py",
         "rlsuite/agents/tabular/compiled.py"],
        ["tests/agents/tabular/"],
    ),
    "bandits": (["rlsuite/agents/tabular/bandit.py"], ["tests/agents/tabular/test_bandit_agents.py"]),
    "approx": (["rlsuite/agents/approx/"], ["tests/agents/approx/"]),
    "sb3": (["rlsuite/agents/sb3*.py"], ["tests/agents/sb3/"]),
    "reproduce": (["rlsuite/app/reproduce/"], ["tests/app/test_reproduce*.py"]),
    "app": (
        ["rlsuite/*.py", "rlsuite/app/vision_tour.py"],
        ["tests/app/", "!tests/app/test_reproduce*.py"],  # all but the figure tests (group reproduce)
    ),
    # `rlsuite align` and `rlsuite vision`, through the tests that run their commands in-process (seconds each; in
    # the app group, whose tests take minutes per mutant, a 74-minute run reached a tenth of them)
    "app_align": (
        ["rlsuite/app/align.py"],
        ["tests/alignment/test_bad_input_alignment.py", "tests/alignment/test_compare_report.py",
         "tests/alignment/test_configs.py", "tests/alignment/test_methods.py", "tests/alignment/test_training.py",
         "tests/app/test_bad_input_catalogue.py", "tests/app/test_align_mutants.py",
         "tests/app/test_align_process_group.py", "tests/app/test_cli.py", "tests/app/test_cli_mutants.py",
         "tests/app/test_help.py"],
    ),
    "app_vision": (
        ["rlsuite/app/vision.py"],
        ["tests/app/test_vision_cli.py", "tests/app/test_vision_detector_mutants.py",
         "tests/vision/test_bad_input_vision.py", "tests/vision/test_bad_input_grpo.py",
         "tests/vision/test_bad_input_vlm_resume.py", "tests/vision/test_vlm_eval_reasoning.py",
         "tests/app/test_quick_defaults_mutants.py", "tests/app/test_vision_eval_mutants.py", "tests/app/test_cli.py",
         "tests/app/test_help.py"],
    ),
    # the command line's parsing and commands, through the in-process tests of tests/app and the sb3 runs (seconds
    # each): the whole folder runs the tour, the sweeps, the studies and the kill -9 faults (minutes per mutant)
    "app_args": (["rlsuite/app/args.py"], APP_FAST_TESTS),
    "app_cli": (
        ["rlsuite/app/cli.py", "rlsuite/app/envs.py", "rlsuite/app/evalreport.py", "rlsuite/app/plots.py",
         "rlsuite/app/reports.py", "rlsuite/app/train.py", "rlsuite/app/train_sb3.py"],
        APP_FAST_TESTS,
    ),
    "app_console": (["rlsuite/app/console.py"], ["tests/app/test_console*.py"]),  # what the user sees, in-process
    "app_tabular": (["rlsuite/app/train_tabular.py", "rlsuite/app/options.py"], ["tests/app/test_train_tabular*.py"]),
    "app_tune": (["rlsuite/app/tune.py"], ["tests/app/test_tune*.py"]),
    "app_sweep": (["rlsuite/app/sweep.py", "rlsuite/app/sweep_report.py"], ["tests/app/test_sweep*.py"]),
    # the tour's own code, through fast tests of its parts (the whole quick tour takes minutes per mutant)
    "app_tour": (["rlsuite/app/tour.py"], ["tests/app/test_tour_mutants.py"]),
    "vision": (
        ["rlsuite/vision/detection.py", "rlsuite/vision/rewards.py", "rlsuite/vision/policies.py",
         "rlsuite/vision/images.py"],
        ["tests/vision/test_detection.py", "tests/vision/test_rewards.py", "tests/vision/test_policies.py",
         "tests/vision/test_images.py", "tests/vision/test_bad_input_vision.py",
         "tests/vision/test_policies_mutants.py", "tests/vision/test_rewards_mutants.py",
         "tests/vision/test_detection_mutants.py", "tests/vision/test_images_mutants.py"],
    ),
    "vision_more": (
        ["rlsuite/vision/__init__.py", "rlsuite/vision/checkpoints.py", "rlsuite/vision/contrastive.py",
         "rlsuite/vision/defaults.py", "rlsuite/vision/grpo.py", "rlsuite/vision/image_processing.py",
         "rlsuite/vision/models.py", "rlsuite/vision/reasoning.py", "rlsuite/vision/runtime.py"],
        ["tests/vision/"],
    ),
    # the VLM policy's training and its LoRA adapters, through the tests that train tiny VLMs for a few steps (the
    # files run in 40 s together); in vision_more a 167-minute run reached a third of finetune.py's mutants
    "vision_finetune": (
        ["rlsuite/vision/finetune.py", "rlsuite/vision/adapters.py"],
        ["tests/vision/test_finetune*.py", "tests/vision/test_adapters*.py", "tests/vision/test_ppo_*.py",
         "tests/vision/test_train_vlm_policy_mutants.py", "tests/vision/test_load_policy_mutants.py",
         "tests/vision/test_vlm_resume.py", "tests/vision/test_bad_input_vlm_resume.py",
         "tests/vision/test_vlm_training.py", "tests/vision/test_vlm_archs.py", "tests/vision/test_vlm_syncs.py",
         "tests/vision/test_bc_replay.py"],
    ),
    # the model folders' checks, by their exact messages (the vision tests reach them only through loaders)
    "vision_folders": (["rlsuite/vision/folders.py"], ["tests/vision/test_folders*.py"]),
    # the data's own tests (seconds): the trainers' tests, which read data too, take minutes per mutant
    "alignment": (["rlsuite/alignment/data.py"],
                  ["tests/alignment/test_data*.py", "tests/alignment/test_bad_input_alignment.py"]),
    # its measurements recomputed on tiny random models (seconds), not through the trainers' tests (minutes each)
    "alignment_evaluate": (["rlsuite/alignment/evaluate.py"], ["tests/alignment/test_evaluate*.py"]),
    "alignment_more": (
        ["rlsuite/alignment/__init__.py", "rlsuite/alignment/compare/__init__.py",
         "rlsuite/alignment/embedded.py", "rlsuite/alignment/export.py", "rlsuite/alignment/judge.py",
         "rlsuite/alignment/methods.py"],
        # their own tests (half a minute together); all of tests/alignment took a 194-minute run to a fifth of them
        ["tests/alignment/test_embedded*.py", "tests/alignment/test_export*.py", "tests/alignment/test_judge*.py",
         "tests/alignment/test_methods*.py"],
    ),
    # the model folders and the trainers' set-up, through their own tests (a minute together); in alignment_more a
    # 194-minute run reached about a fifth of their mutants
    "alignment_training": (
        ["rlsuite/alignment/models.py", "rlsuite/alignment/training.py"],
        # the bad-input tests: the refusals of the loading checks (model folders, tokenizers, weights) are theirs
        ["tests/alignment/test_models_mutants.py", "tests/alignment/test_run_trainer_mutants.py",
         "tests/alignment/test_training*.py", "tests/alignment/test_bad_input_alignment.py"],
    ),
    # the same modules through the stages' wiring tests alone (seconds for all): a mutant these tests miss costs
    # alignment_compare up to test_compare.py's minute of real training, so it comes first; alignment_compare's run
    # merges its kills (from the work folder beside its own, or the repository's file) and runs only what is left
    "alignment_compare_wiring": (
        ["rlsuite/alignment/compare/plan.py", "rlsuite/alignment/compare/run.py"],
        ["tests/alignment/test_compare_mutants.py", "tests/alignment/test_compare_run_mutants.py",
         "tests/alignment/test_compare_stages_mutants.py", "tests/alignment/test_compare_plan_mutants.py"],
    ),
    # the comparison's plan and run, through the comparison's tests (two minutes together; the stages' wiring
    # with spies for trainers and evaluators in seconds, which mutmut runs first)
    "alignment_compare": (
        ["rlsuite/alignment/compare/plan.py", "rlsuite/alignment/compare/run.py"],
        ["tests/alignment/test_compare.py", "tests/alignment/test_compare_mutants.py",
         "tests/alignment/test_compare_run_mutants.py", "tests/alignment/test_compare_stages_mutants.py",
         "tests/alignment/test_compare_plan_mutants.py"],
    ),
    # pure functions (the comparison's report, the configs' checks) with fast exact tests of their own: their
    # stats run takes seconds, where the whole of tests/alignment (real TRL training) takes many minutes
    "alignment_report": (
        ["rlsuite/alignment/compare/report.py", "rlsuite/alignment/configs.py"],
        ["tests/alignment/test_compare_report*.py", "tests/alignment/test_configs*.py"],
    ),
    "alignment_workers": (["rlsuite/alignment/workers.py"], ["tests/alignment/test_workers*.py"]),
    "testing": (  # the package's helpers for tests (tiny models and data), run by the tests that use them
        ["rlsuite/testing/"],
        ["tests/testing/", "tests/alignment/test_data.py", "tests/alignment/test_judge.py",
         "tests/vision/test_images.py", "tests/vision/test_rewards.py"],
    ),
}  # fmt: skip
# A pre-pass runs its main group's modules against a quick part of its tests: its kills are the main group's (kept
# in the store, which the main group's run starts from), its survivors are not verdicts (the slower tests may catch
# them), so they are not stored and it writes no row.
PREPASSES = {"alignment_compare_wiring": "alignment_compare"}
STATUSES = ("killed", "survived", "no tests", "timeout", "suspicious", "skipped", "segfault", "not checked")
CAUGHT = ("killed", "timeout", "equivalent")  # a mutant that hangs the tests is caught by the time limit
UNCHECKED = ("no tests", "skipped", "not checked")


def _files(patterns: list[str], in_folder: str) -> list[str]:
    """The files that ``patterns`` (paths or globs; a folder means its ``in_folder`` files, at any depth) name
    now, sorted. An empty answer is an error: no test file would make pytest run the whole suite."""
    found = {
        str(q.relative_to(ROOT))
        for pattern in patterns
        for p in ROOT.glob(pattern)
        for q in (sorted(p.rglob(in_folder)) if p.is_dir() else [p])
        if q.is_file()
    }
    if not found:
        raise SystemExit(f"no file matches {patterns}")
    return sorted(found)


def _test_files(patterns: list[str]) -> list[str]:
    """The test files a group names (globs and folders allowed; ``!GLOB``: leave out the files it matches) that exist
    now, sorted."""
    left_out = [p[1:] for p in patterns if p.startswith("!")]
    found = _files([p for p in patterns if not p.startswith("!")], "test_*.py")
    return [f for f in found if not any(fnmatch.fnmatch(f, glob) for glob in left_out)]


def _selection(patterns: list[str]) -> list[str]:
    """pytest's arguments for a group's tests: folders and files as named, globs as the files they match now,
    ``!GLOB`` as ``--ignore-glob``. mutmut redoes every verdict of a group when these arguments change (its
    "test_selection" fingerprint), so a new test file in a named folder must not change them: mutmut finds the
    new tests by itself and keeps the verdicts."""
    _test_files(patterns)  # an error if they name no test file (pytest would run the whole suite)
    args: list[str] = []
    for pattern in patterns:
        if pattern.startswith("!"):
            args.append(f"--ignore-glob={pattern[1:]}")
        elif (ROOT / pattern).exists():
            args.append(pattern)
        else:
            args += _files([pattern], "test_*.py")
    return args


def _modules(patterns: list[str]) -> list[str]:
    """The modules a group names (globs and folders allowed) that exist now, sorted."""
    return _files(patterns, "*.py")


def _mutmut(*args: str) -> list[str]:
    """A mutmut command: its console script beside this interpreter (`python -m mutmut` re-imports its main)."""
    script = Path(sys.executable).parent / "mutmut"
    return [str(script), *args] if script.is_file() else [sys.executable, "-m", "mutmut", *args]


def _env() -> dict[str, str]:
    """The tests' environment: one thread, offline, no PYTHONPATH (mutmut puts its mutated copy first)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}


def _head() -> str:
    """The repository's HEAD commit, short ("" outside git)."""
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=False).stdout.strip()  # fmt: skip


def _sync_repo(dest: Path) -> list[str]:
    """Copy the repository's files (tracked and untracked, not ignored) into ``dest``; return those that changed."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    changed = []
    for name in files:
        src, dst = ROOT / name, dest / name
        if src.is_file() and not (dst.is_file() and filecmp.cmp(src, dst, shallow=False)):
            dst.parent.mkdir(parents=True, exist_ok=True)
            # a fresh mtime, not the source's (copy2): mutmut re-mutates a file only when it is newer than
            # its mutated copy, and a change made before the last run's copy would otherwise be ignored
            shutil.copy(src, dst)
            changed.append(name)
    return changed


def _config(modules: list[str], selection: list[str]) -> str:
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    return (
        "\n[tool.mutmut]\n"
        f"source_paths = {toml_list(sorted({str(Path(m).parts[0]) for m in modules}))}\n"
        f"only_mutate = {toml_list(modules)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list([*selection, '-m', 'not slow and not gpu'])}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"]\n'
        # tests read the docs, the README and the scripts beside the package (mutmut copies only tests/ by itself)
        f"also_copy = {toml_list(ALSO_COPY)}\n"
        "mutate_only_covered_lines = true\n"
        # mutmut stops a mutant's tests after (estimate + constant) x multiplier x 2 seconds of CPU, or half that of
        # wall time. Its estimate is the tests' call phase alone (a module fixture that trains or runs the CLI is left
        # out), and wall time grows on a loaded, shared machine: with mutmut's constant of 1 s such tests "timed out"
        # (counted as caught) under mutants that changed nothing. 20 s covers both, so a timeout is a mutant that
        # hangs (each costs a minute or two). A changed timeout makes mutmut's next run redo the earlier timeouts.
        "timeout_multiplier = 4.0\n"
        "timeout_constant = 20.0\n"
        # Forked straight from mutmut's main process (which ran the tests: torch's, tqdm's and the tests' threads),
        # a mutant's child could wait for ever on a lock a thread held at the fork (0 CPU, then "timeout", counted as
        # caught): config.option's and TqdmReporter.start's "timeouts" were such hangs, and run from a fork server some
        # of them survive. mutmut's fork server is a clean process that only imports and forks.
        'process_isolation = "forkserver"\n'
        'on_dependency_change = "ignore"\n'
    )


def _prepare(name: str, work: Path) -> None:
    """Bring ``work`` up to date with the repository and write the group's mutmut configuration."""
    modules, tests = _modules(GROUPS[name][0]), GROUPS[name][1]
    work.mkdir(parents=True, exist_ok=True)
    changed_files = _sync_repo(work)
    for changed in changed_files:
        # mutmut copies a source file into mutants/ only when it is missing there; a changed module would
        # otherwise keep its old copy, whose coverage then maps onto the new lines (a partial, shifted
        # set of mutants). Dropping the copy (and its results) makes mutmut copy, measure and mutate it afresh.
        if changed.endswith(".py") and not changed.startswith("tests/"):
            for stale in (work / "mutants" / changed, *(work / "mutants").glob(changed + ".*")):
                stale.unlink(missing_ok=True)
    _drop_stale_stats(work, changed_files)
    (work / "commit.txt").write_text(_head() + "\n")  # the commit whose code and tests this run uses (the report's)
    text = (ROOT / "pyproject.toml").read_text() + _config(modules, _selection(tests))
    (work / "pyproject.toml").write_text(text)
    (work / "sitecustomize.py").write_text(CHILD_SITE)


def _drop_stale_stats(work: Path, changed: list[str]) -> None:
    """After a test changed, make mutmut take every test's stats again (which tests call which function). mutmut
    itself keeps the old ones and takes only new tests', so a changed test keeps the calls it no longer makes (or
    lacks new ones: the help cache hid ``add_subcommands``' callers), and a group's clean run failed after such a
    partial stats run (alignment_training, 2026-12-07) where it passed after a whole one."""
    if any(name.startswith("tests/") for name in changed):
        (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)


def _run_mutmut(work: Path, children: int, names: list[str] | None = None, minutes: float | None = None) -> None:
    """Run mutmut in ``work``; after ``minutes`` stop it (its workers too): the mutants left are "not checked"."""
    # mutants/ must exist before mutmut starts: Python caches a PYTHONPATH folder that is missing at start-up as
    # having no modules, so in a fresh work folder the tests imported the repository's own rlsuite, coverage saw
    # none of the copy's lines, and mutmut stopped with "could not find any test case for any mutant"
    (work / "mutants").mkdir(exist_ok=True)
    with open(work / "mutmut.log", "a") as log:  # mutmut's progress is one very long line: a file, not a terminal
        proc = subprocess.Popen(
            [sys.executable, str(STORE), "run", "--max-children", str(children), *(names or [])],
            # PYTHONPATH: every child Python the tests start (a subprocess, a spawned multiprocessing worker in a
            # test's own folder) imports CHILD_SITE, so none runs mutmut's stats trampoline without its config
            cwd=work, env={**_env(), "PYTHONPATH": str(work / "mutants")}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        stopped = False
        try:
            proc.wait(timeout=None if minutes is None else minutes * 60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
            stopped = True
            print(f"stopped after {minutes:g} minutes; the mutants left are counted as not checked", file=sys.stderr)
    if proc.returncode != 0 and not stopped:  # e.g. a test failing without any mutant: no verdict to trust
        raise SystemExit(f"mutmut failed (exit {proc.returncode}) in {work}; see the end of {work / 'mutmut.log'}")
    _record(work)


def _record(work: Path) -> None:
    """Add the caught verdicts of the run in ``work`` to its store (tools/mutmut_store.py), which the next run
    restores where mutmut forgot them (a module changed, a changed configuration)."""
    if (work / "mutants").is_dir():
        caught_only = ["--caught-only"] if work.name in PREPASSES else []
        subprocess.run([sys.executable, str(STORE), "record", *caught_only], cwd=work, env=_env(), check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip


def _import_verdicts(work: Path) -> None:
    """Merge the repository's verdicts (tools/mutation_verdicts.json) into the store of ``work``, and the kills of
    its group's pre-pass run beside it (``WORK/PREPASS``), if any."""
    prepasses = [work.parent / pre / "verdicts.json" for pre, main in PREPASSES.items() if main == work.name]
    for shared in [VERDICTS, *prepasses]:
        if shared.is_file():
            subprocess.run([sys.executable, str(STORE), "merge", str(shared)], cwd=work, env=_env(), check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip


def _export_verdicts(work: Path) -> None:
    """Add the verdicts of the runs in ``work`` (recorded in its store: run_group records them) to the repository's
    tools/mutation_verdicts.json."""
    if (work / "verdicts.json").is_file():
        subprocess.run([sys.executable, str(STORE), "export", str(VERDICTS)], cwd=work, env=_env(), check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip


def _results(work: Path) -> dict[str, str]:
    out = subprocess.run(
        _mutmut("results", "--all", "true"), cwd=work, env=_env(), capture_output=True, text=True, check=False
    ).stdout
    results: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"\s*([\w.]+__mutmut_\d+): (.+)$", line)
        if match:
            results[match.group(1)] = match.group(2).strip()
    if not results:
        raise RuntimeError(f"mutmut reported no mutants in {work}; see {work / 'mutmut.log'}")
    return results


# Run by _diffs in the work folder: every asked-for mutant's diff (what `mutmut show` prints after its first line),
# read with mutmut's own functions in one process (a `mutmut show` per mutant costs seconds each: hundreds of
# survivors took half an hour to score).
DIFFS = """import json, sys
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.utils.file_utils import walk_mutatable_files

wanted, out = set(json.load(sys.stdin)), {}
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path)
    data.load()
    for name in wanted.intersection(data.exit_code_by_key):
        out[name] = get_diff_for_mutant(name, path=path)
json.dump(out, sys.stdout)
"""


def _diffs(work: Path, mutants: list[str]) -> dict[str, str]:
    """The diff of each of ``mutants`` of the run in ``work`` (a mutant mutmut does not know: absent)."""
    if not mutants:
        return {}
    proc = subprocess.run([sys.executable, "-c", DIFFS], cwd=work, env=_env(), input=json.dumps(mutants),
                          capture_output=True, text=True, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"reading the mutants' diffs in {work} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def _function(mutant: str) -> str:
    """The mutated function's name: ``rlsuite.envs.bandit.xǁBanditSpecǁwalk`` from ``...walk__mutmut_2``."""
    return re.sub(r"__mutmut_\d+$", "", mutant)


def _change(diff: str) -> str:
    """The changed lines of a mutant's diff, stripped: what identifies it across renumbering."""
    lines = [ln for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("---", "+++"))]
    return "\n".join(ln[0] + ln[1:].strip() for ln in lines)


def _dotted(module: str) -> str:
    """A module path's dotted name, mutmut's prefix of its mutants' names (a package: its ``__init__.py``)."""
    return module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _module_of(mutant: str, modules: list[str]) -> str:
    dotted = {_dotted(m): m for m in modules}
    prefix = re.split(r"\.x[_\u01c1]", mutant, maxsplit=1)[0]
    return dotted.get(prefix, "?")


def _equivalent() -> dict[tuple[str, str], str]:
    """``(function, change) -> why`` from tools/equivalent_mutants.json."""
    entries = json.loads(EQUIVALENT.read_text()) if EQUIVALENT.is_file() else {}
    return {(_function(name), e["change"]): e["why"] for name, e in entries.items()}


def _unlisted(work: Path, survivors: list[str]) -> list[str]:
    """The survivors not listed as equivalent: those a recheck reruns (a listed one would only survive again, each
    costing every test that runs its function)."""
    diffs, equivalent = _diffs(work, survivors), _equivalent()
    return [m for m in survivors if (_function(m), _change(diffs.get(m, ""))) not in equivalent]


def add_equivalent(work: Path, mutant: str, why: str) -> None:
    """Record a surviving mutant of the run in ``work`` as equivalent, with its changed lines and why."""
    diff = _diffs(work, [mutant]).get(mutant, "")
    if not _change(diff):
        raise SystemExit(f"no mutant {mutant!r} in {work}")
    entries = json.loads(EQUIVALENT.read_text()) if EQUIVALENT.is_file() else {}
    entries[mutant] = {"why": why, "change": _change(diff)}
    EQUIVALENT.write_text(json.dumps(dict(sorted(entries.items())), indent=1, ensure_ascii=False) + "\n")


def _known_results(work: Path) -> dict[str, str]:
    """``_results``, or none where mutmut knows no mutant: every module of the group changed since the last run
    (``_prepare`` dropped their mutants)."""
    try:
        return _results(work)
    except RuntimeError:
        return {}


def _unchecked(work: Path, modules: list[str], only: list[str]) -> list[str]:
    """The mutants of the modules matching ``only`` (path globs) that have no verdict in ``work``: mutmut reruns
    every mutant it is given by name, so the names, not the globs, are given (before any run: the globs, as names)."""
    chosen = [m for m in modules if any(fnmatch.fnmatch(m, pattern) for pattern in only)]
    if not chosen:
        raise SystemExit(f"--only {' '.join(only)}: no module of the group matches (see --list)")
    if not (work / "mutants").is_dir():  # a first run: every mutant of those modules
        return [_dotted(m) + ".x*" for m in chosen]
    known = _known_results(work)
    present = {_module_of(mutant, modules) for mutant in known}
    return [
        mutant
        for mutant, status in known.items()
        if status in UNCHECKED and _module_of(mutant, modules) in chosen  # "no tests": a test may cover it now
    ] + [_dotted(m) + ".x*" for m in chosen if m not in present]  # changed since (mutants dropped): all, by glob


def run_group(
    name: str,
    children: int,
    work: Path,
    recheck: bool,
    show: bool,
    minutes: float | None = None,
    run: bool = True,
    only: list[str] | None = None,
) -> dict[str, dict[str, int]]:
    """Run (``run``; else only read the results of the last run in ``work``) and score one group; ``only``: run
    just the unchecked mutants of the modules matching those globs."""
    modules = _modules(GROUPS[name][0])
    t0 = time.perf_counter()
    # before _prepare drops the mutants of changed modules (their unchanged functions' verdicts), and for a report of
    # a run stopped from outside, whose verdicts _run_mutmut did not record
    _record(work)
    if run:
        _prepare(name, work)
        _import_verdicts(work)
    if run and recheck:  # only the survivors of the last run, against today's tests and code
        known = _known_results(work)  # none: a plain run
        survived = _unlisted(work, [m for m, s in known.items() if s == "survived"])
        if survived or not known:
            _run_mutmut(work, children, survived or None, minutes)
    elif run and only:
        names = _unchecked(work, modules, only)
        if names:
            _run_mutmut(work, children, names, minutes)
    elif run:
        _run_mutmut(work, children, minutes=minutes)
    results = _results(work)
    equivalent = _equivalent()
    scores: dict[str, dict[str, int]] = {m: dict.fromkeys((*STATUSES, "equivalent"), 0) for m in modules}
    left: list[tuple[str, str]] = []
    module_of = {mutant: _module_of(mutant, modules) for mutant in results}
    diffs = _diffs(work, [m for m, s in results.items() if s == "survived" and module_of[m] in scores])
    for mutant, status in sorted(results.items()):
        module = module_of[mutant]
        if module not in scores:
            continue
        if status == "survived":
            diff = diffs[mutant]
            if (_function(mutant), _change(diff)) in equivalent:
                status = "equivalent"
            else:
                left.append((mutant, diff))
        scores[module][status] = scores[module].get(status, 0) + 1
    with open(work / "survivors.txt", "w") as f:
        for mutant, diff in left:
            f.write(f"### {mutant}\n{diff}\n")
    print(f"{name}: {len(results)} mutants, {len(left)} surviving, {time.perf_counter() - t0:.0f} s; "
          f"survivors' diffs in {work / 'survivors.txt'}", file=sys.stderr)  # fmt: skip
    if show:
        print((work / "survivors.txt").read_text())
    return scores


def score(counts: dict[str, int]) -> tuple[int, float | None]:
    """Mutants checked, and the share of them caught (killed, timed out, or equivalent)."""
    checked = sum(v for k, v in counts.items() if k not in UNCHECKED)
    caught = sum(counts.get(k, 0) for k in CAUGHT)
    return checked, (caught / checked if checked else None)


def percent(share: float | None) -> str:
    """A score rounded down to a whole percent (89.6% is not shown as 90%, the bar), "-" for none checked."""
    return "-" if share is None else f"{math.floor(share * 100 + 1e-9)}%"


def write_report(
    scores: dict[str, dict[str, int]], minutes: dict[str, float], commits: dict[str, str] | None = None
) -> None:
    """Merge ``scores`` into docs/mutation.json and rewrite the table in docs/mutation.md (``commits``: a group's
    run's commit where it is not the repository's HEAD).

    Text in docs/mutation.md after the line ``<!-- notes -->`` (why a module stays under 80%) is kept.
    """
    path_json, path_md = ROOT / "docs" / "mutation.json", ROOT / "docs" / "mutation.md"
    old = json.loads(path_json.read_text()) if path_json.is_file() else {}
    modules = old.get("modules", {})
    runs = old.get("runs", {})
    measured_by = old.get("measured_by", {})  # module -> the group and run that gave its row (groups get split)
    today = time.strftime("%Y-%m-%d")
    modules.update(scores)
    for stale in [m for m in modules if m.endswith("/") and any(k.startswith(m) for k in scores)]:
        del modules[stale]  # a module measured when it was one file, now a package whose modules were run
    head = _head()
    for group, mins in minutes.items():
        runs[group] = {"date": today, "minutes": round(mins, 1), "commit": (commits or {}).get(group, head or "?")}
        measured_by.update({m: {"group": group, **runs[group]} for m in _modules(GROUPS[group][0]) if m in scores})
    measured_by = {m: run for m, run in measured_by.items() if m in modules}
    path_json.write_text(
        json.dumps({"measured_by": measured_by, "modules": modules, "runs": runs}, indent=2, sort_keys=True) + "\n"
    )
    notes = ""
    if path_md.is_file() and "<!-- notes -->" in path_md.read_text():
        notes = path_md.read_text().split("<!-- notes -->", 1)[1].strip("\n")
    group_of = {m: g for g, (ms, _) in GROUPS.items() for m in _modules(ms)}

    def at(run: dict[str, Any]) -> str:
        return f" at {run['commit']}" if run.get("commit") else ""

    lines = [
        "# Mutation testing",
        "",
        "How many deliberately injected one-line bugs (mutants) the fast tests catch, per module.",
        "Made by `make mutate` (`python tools/mutate.py [GROUP ...]`, mutmut 3.8.1 on the lines the group's",
        "tests run; `python tools/mutate.py --list` names each group's modules and tests).",
        "Score = (killed + timeout + equivalent) / mutants checked, rounded down. Equivalent mutants (no",
        "behaviour can tell them apart from the original) are listed with why in `tools/equivalent_mutants.json`.",
        'Crashed: the test process died by a signal (mutmut\'s "segfault"; also a mutant in flight when a',
        "group's `--max-minutes` ran out); counted as not caught. Not checked: not reached within the group's",
        "time limit (`--max-minutes`), or no test runs the line. Timeout: the mutant's tests ran past",
        "(their estimate + 20 s) x 4 of wall time, in a child of mutmut's fork server. Rows without a commit,",
        "or at one before c6caaf3, come from runs that forked from mutmut's main process with a 1 s",
        "constant: some of their timeouts were deadlocked children, not caught mutants (see the notes). The",
        "commit is the one whose tests the run (or its last recheck) used. Since 050b877 a run restores the caught",
        "verdicts mutmut forgot (a changed module, a changed configuration) from its work folder's store",
        "(`tools/mutmut_store.py`): killed counts mutants caught at that commit or earlier, by tests still there.",
        "The verdicts are also kept in the repository (`tools/mutation_verdicts.json`), and a run",
        "on a new machine starts from them: a restored survivor counts as survived until `--recheck` reruns it.",
        "A pre-pass group (`alignment_compare_wiring`) runs a group's modules against its quick tests first: its",
        "kills are stored for the main group's run, and it writes no row.",
        "",
        "| module | group (run on, at commit, minutes) | mutants checked | killed | survived | equivalent | timeout "
        "| crashed | not checked | score |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for module, counts in sorted(modules.items()):
        checked, share = score(counts)
        if module in measured_by:
            run = measured_by[module]
            group = run["group"]
        else:
            group = group_of.get(module) or next((g for m, g in group_of.items() if m.startswith(module)), "?")
            run = runs.get(group, {})
        lines.append(
            f"| `{module}` | {group} ({run.get('date', '?')}{at(run)}, {run.get('minutes', '?')}) | {checked} | "
            f"{counts.get('killed', 0)} | {counts.get('survived', 0)} | {counts.get('equivalent', 0)} | "
            f"{counts.get('timeout', 0)} | {counts.get('segfault', 0)} | {sum(counts.get(k, 0) for k in UNCHECKED)} | "
            f"{percent(share)} |"
        )
    lines += ["", "<!-- notes -->", notes] if notes else ["", "<!-- notes -->"]
    path_md.write_text("\n".join(lines).rstrip("\n") + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"groups to run (default: all of {', '.join(GROUPS)})")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument("--survivors", action="store_true", help="print the surviving mutants' diffs")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--work", type=Path, help="keep the scratch copies in WORK/GROUP (reused by --recheck)")
    parser.add_argument("--recheck", action="store_true", help="rerun only the last run's survivors (needs --work)")
    parser.add_argument(
        "--equivalent",
        nargs=2,
        action="append",
        metavar=("MUTANT", "WHY"),
        default=[],
        help="list a survivor of the --work run as equivalent (repeatable); runs nothing",
    )
    parser.add_argument(
        "--max-minutes", type=float, help="stop each group after this long; its unrun mutants count as not checked"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="MODULE",
        help="run only the mutants without a verdict of the group's modules matching this path glob (repeatable)",
    )
    parser.add_argument("--no-report", action="store_true", help="print the scores; do not touch docs/mutation.*")
    parser.add_argument(
        "--report-only",
        type=float,
        metavar="MINUTES",
        help="run nothing: score the last run in --work and record it as MINUTES long (e.g. after a stopped run)",
    )
    args = parser.parse_args()
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group {unknown[0]!r} (groups: {', '.join(GROUPS)})")
    earlier = args.work and all((args.work / g / "mutants").is_dir() for g in args.groups or GROUPS)
    if args.only and args.recheck:
        parser.error("--only runs the mutants without a verdict, --recheck the survivors: give one of them")
    if (args.recheck or args.report_only is not None) and not earlier:
        parser.error("--recheck and --report-only use an earlier run: give that run's --work folder")
    if args.equivalent:
        if not (args.work and len(args.groups) == 1):
            parser.error("--equivalent needs one group and the --work folder of its run")
        for mutant, why in args.equivalent:
            add_equivalent(args.work / args.groups[0], mutant, why)
        return 0
    if args.list:
        for name, (modules, tests) in GROUPS.items():
            print(f"{name}: {' '.join(_modules(modules))}\n    tests: {' '.join(_test_files(tests))}")
        grouped = [m for g, (ms, _) in GROUPS.items() if g not in PREPASSES for m in _modules(ms)]
        missing = sorted(set(_modules(["rlsuite/"])) - set(grouped))
        twice = sorted({m for m in grouped if grouped.count(m) > 1})
        if missing or twice:
            print(f"in no group: {' '.join(missing) or '-'}\nin two groups: {' '.join(twice) or '-'}")
            return 1
        return 0
    scores: dict[str, dict[str, int]] = {}
    minutes: dict[str, float] = {}
    for name in args.groups or list(GROUPS):
        t0 = time.perf_counter()
        work = args.work / name if args.work else Path(tempfile.mkdtemp(prefix=f"rlsuite-mutate-{name}-"))
        try:
            result = run_group(name, args.children, work, args.recheck, args.survivors, args.max_minutes,
                               run=args.report_only is None, only=args.only)  # fmt: skip
            if not args.no_report:
                _export_verdicts(work)
        finally:
            if not args.work:
                shutil.rmtree(work, ignore_errors=True)
        if name in PREPASSES:  # its survivors are for the main group's tests to judge: printed, not reported
            print_scores(result)
            continue
        scores.update(result)
        if args.report_only is not None:
            minutes[name] = args.report_only
        elif not args.recheck:
            minutes[name] = (time.perf_counter() - t0) / 60
    if not args.no_report:
        commits = {}
        for name in minutes:  # the commit each group's work folder was last brought up to
            stamp = args.work / name / "commit.txt" if args.work else None
            if stamp is not None and stamp.is_file():
                commits[name] = stamp.read_text().strip()
        write_report(scores, minutes, commits)
        print((ROOT / "docs" / "mutation.md").read_text())
    else:  # the scores on the console only
        print_scores(scores)
    return 0


def print_scores(scores: dict[str, dict[str, int]]) -> None:
    for module, counts in sorted(scores.items()):
        checked, share = score(counts)
        found = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        print(f"{module}: {percent(share)} of {checked} checked ({found or 'no mutants'})")


if __name__ == "__main__":
    raise SystemExit(main())
