"""Mutation testing of rlsuite's core modules with mutmut: `make mutate` (or `python tools/mutate.py`).

Each group below pairs modules with the fast tests that are meant to catch their bugs. For each
group the script copies the repository (tracked and untracked-but-not-ignored files) to a
scratch folder, writes mutmut's configuration there, runs `mutmut run`, reads the result of
every mutant, and writes the score per module to ``docs/mutation.md`` (and the raw counts to
``docs/mutation.json``). The surviving mutants that are equivalent to the original (no test can
tell them apart) are listed, with why, in ``tools/equivalent_mutants.json`` and count as killed.

    python tools/mutate.py                  # every group
    python tools/mutate.py envs bandits     # some groups
    python tools/mutate.py --list           # the groups, their modules and tests
    python tools/mutate.py envs --survivors # list survivors (name and diff) of a group

It is slow (minutes to an hour per group on 2 cores): it is not part of CI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "envs": (
        ["rlsuite/envs/gridworld.py", "rlsuite/envs/bandit.py", "rlsuite/envs/batched.py", "rlsuite/envs/pixels.py"],
        ["tests/test_gridworld.py", "tests/test_bandit.py", "tests/test_batched.py", "tests/test_pixels.py"],
    ),
    "tabular": (
        ["rlsuite/agents/tabular/dp.py", "rlsuite/agents/tabular/mc.py", "rlsuite/agents/tabular/td.py",
         "rlsuite/agents/tabular/sa.py", "rlsuite/agents/tabular/batch.py"],
        ["tests/test_tabular_agents.py", "tests/test_tabular_sa.py"],
    ),
    "bandits": (["rlsuite/agents/tabular/bandit.py"], ["tests/test_bandit_agents.py"]),
    "reproduce": (["rlsuite/app/reproduce.py"], ["tests/test_reproduce.py"]),
    "alignment": (
        ["rlsuite/alignment/data.py", "rlsuite/alignment/evaluate.py"],
        ["tests/test_alignment_data.py", "tests/test_alignment_evaluate.py"],
    ),
    "vision": (
        ["rlsuite/vision/detection.py", "rlsuite/vision/rewards.py", "rlsuite/vision/policies.py"],
        ["tests/test_vision_detection.py", "tests/test_vision_rewards.py", "tests/test_vision_policies.py"],
    ),
}  # fmt: skip
STATUSES = ("killed", "survived", "no tests", "timeout", "suspicious", "skipped", "segfault", "not checked")


def _copy_repo(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in files:
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _config(modules: list[str], tests: list[str]) -> str:
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"

    return (
        "\n[tool.mutmut]\n"
        f"source_paths = {toml_list(sorted({str(Path(m).parts[0]) for m in modules}))}\n"
        f"only_mutate = {toml_list(modules)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list([*tests, '-m', 'not slow and not gpu'])}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-x", "-q"]\n'
        "mutate_only_covered_lines = true\n"
    )


def _results(work: Path) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=work, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    results: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"\s*([\w.]+__mutmut_\d+): (.+)$", line)
        if match:
            results[match.group(1)] = match.group(2).strip()
    return results


def _module_of(mutant: str, modules: list[str]) -> str:
    dotted = {m.removesuffix(".py").replace("/", "."): m for m in modules}
    prefix = mutant.split(".x_")[0].split(".x\u01c1")[0]
    for name in sorted(dotted, key=len, reverse=True):
        if prefix.startswith(name):
            return dotted[name]
    return "?"


def run_group(name: str, children: int, keep: bool) -> dict[str, dict[str, int]]:
    modules, tests = GROUPS[name]
    work = Path(tempfile.mkdtemp(prefix=f"rlsuite-mutate-{name}-"))
    try:
        _copy_repo(work)
        with open(work / "pyproject.toml", "a") as f:
            f.write(_config(modules, [t for t in tests if (ROOT / t).exists()]))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
        t0 = time.perf_counter()
        with open(work / "mutmut.log", "w") as log:
            subprocess.run(
                [sys.executable, "-m", "mutmut", "run", "--max-children", str(children)],
                cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
            )  # fmt: skip
        results = _results(work)
        equivalent = json.loads((ROOT / "tools" / "equivalent_mutants.json").read_text())
        scores: dict[str, dict[str, int]] = {m: dict.fromkeys((*STATUSES, "equivalent"), 0) for m in modules}
        for mutant, status in results.items():
            module = _module_of(mutant, modules)
            if module not in scores:
                continue
            if status == "survived" and mutant in equivalent:
                status = "equivalent"
            scores[module][status] = scores[module].get(status, 0) + 1
        print(f"{name}: {len(results)} mutants in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if keep:
            print(f"  kept: {work}", file=sys.stderr)
        return scores
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def survivors(name: str) -> None:
    """Run the group and print each survivor's diff (for writing the test that kills it)."""
    modules, tests = GROUPS[name]
    work = Path(tempfile.mkdtemp(prefix=f"rlsuite-mutate-{name}-"))
    _copy_repo(work)
    with open(work / "pyproject.toml", "a") as f:
        f.write(_config(modules, [t for t in tests if (ROOT / t).exists()]))
    subprocess.run([sys.executable, "-m", "mutmut", "run"], cwd=work, capture_output=True, check=False)
    for mutant, status in _results(work).items():
        if status == "survived":
            diff = subprocess.run(
                [sys.executable, "-m", "mutmut", "show", mutant], cwd=work, capture_output=True, text=True, check=False
            ).stdout
            print(f"### {mutant}\n{diff}")
    print(f"work folder: {work}", file=sys.stderr)


def write_report(scores: dict[str, dict[str, int]], seconds: float) -> None:
    path_json = ROOT / "docs" / "mutation.json"
    old = json.loads(path_json.read_text()) if path_json.is_file() else {}
    old.update(scores)
    path_json.write_text(json.dumps(old, indent=2) + "\n")
    lines = [
        "# Mutation testing",
        "",
        "How many deliberately injected one-line bugs (mutants) the tests catch, per core module. Made by",
        "`make mutate` (`python tools/mutate.py`, mutmut 3.8.1, only the lines the group's tests cover),",
        f"{time.strftime('%Y-%m-%d')}, about {seconds / 60:.0f} minutes on 2 cores for the groups rerun.",
        "Score = (killed + timeout + equivalent) / all mutants checked. Equivalent mutants (no behaviour",
        "can tell them apart from the original) are listed with why in `tools/equivalent_mutants.json`.",
        "",
        "| module | mutants | killed | survived | equivalent | timeout | no tests | score |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for module, counts in sorted(old.items()):
        checked = sum(v for k, v in counts.items() if k not in ("no tests", "skipped", "not checked"))
        caught = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("equivalent", 0)
        score = f"{caught / checked:.0%}" if checked else "-"
        lines.append(
            f"| `{module}` | {checked} | {counts.get('killed', 0)} | {counts.get('survived', 0)} | "
            f"{counts.get('equivalent', 0)} | {counts.get('timeout', 0)} | {counts.get('no tests', 0)} | {score} |"
        )
    (ROOT / "docs" / "mutation.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"groups to run (default: all of {', '.join(GROUPS)})")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument("--survivors", action="store_true", help="print the surviving mutants' diffs")
    parser.add_argument("--children", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders")
    args = parser.parse_args()
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group {unknown[0]!r} (groups: {', '.join(GROUPS)})")
    if args.list:
        for name, (modules, tests) in GROUPS.items():
            print(f"{name}: {' '.join(modules)}\n    tests: {' '.join(tests)}")
        return 0
    groups = args.groups or list(GROUPS)
    if args.survivors:
        for name in groups:
            survivors(name)
        return 0
    t0 = time.perf_counter()
    scores: dict[str, dict[str, int]] = {}
    for name in groups:
        scores.update(run_group(name, args.children, args.keep))
    write_report(scores, time.perf_counter() - t0)
    print((ROOT / "docs" / "mutation.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
