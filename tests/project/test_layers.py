"""The layer rules, read off the import graph (every import, also those inside functions).

envs -> common; agents -> envs, common; alignment -> common; vision -> envs, agents, common;
app -> everything; common -> nothing else; nothing imports app; no import cycles between modules.
Library code (everything but app) neither parses arguments nor prints.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "rlsuite"
ALLOWED = {
    "common": {"common"},
    "envs": {"envs", "common"},
    "agents": {"agents", "envs", "common"},
    "alignment": {"alignment", "common"},
    "vision": {"vision", "envs", "agents", "common"},
    "testing": {"testing", "vision", "alignment", "agents", "envs", "common"},
    "app": {"app", "testing", "vision", "alignment", "agents", "envs", "common"},
}
TOP_LEVEL_OK = {"rlsuite", "rlsuite.__main__"}  # the package registers the envs; __main__ runs the app


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    module = _module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = module.split(".")[: -node.level] if path.name != "__init__.py" else module.split(".")
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            for alias in node.names:  # `from rlsuite.agents import tabular` imports a module
                found.add(f"{name}.{alias.name}")
    return {name for name in found if name == "rlsuite" or name.startswith("rlsuite.")}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            while imported and imported not in modules:  # `from pkg.mod import name`: the module
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_layers_import_only_what_they_may() -> None:
    wrong = []
    for module, targets in _graph().items():
        if module in TOP_LEVEL_OK:
            continue
        layer = _layer(module)
        assert layer in ALLOWED, f"{module}: a module outside the known layers"
        for target in targets:
            if target == "rlsuite":
                continue
            if _layer(target) not in ALLOWED[layer]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layer rules:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in TOP_LEVEL_OK or nxt.startswith(f"{node}."):
                continue
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    # a package's __init__ importing its own submodules is not a cycle of ours
    real = [c for c in cycles if not all(c[0].startswith(part) or part.startswith(c[0]) for part in c)]
    assert not real, "import cycles:\n" + "\n".join(" -> ".join(c) for c in real)


@pytest.mark.parametrize("call", ["argparse", "print("])
def test_library_code_neither_parses_arguments_nor_prints(call: str) -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        if _layer(module) in ("app", None):
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if (call == "print(" and "print(" in code and "def print" not in code and ".print(" not in code) or (
                call == "argparse" and "argparse" in code
            ):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{lineno}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
