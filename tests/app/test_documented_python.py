"""Every ```python block of README.md and docs/*.md runs as written (in a fresh folder, torch on 1 thread).

A line ``expression  # 1.0: ...`` (a comment that starts with a number) states a value: the test checks the
expression gives it (within 1e-3). Blocks preceded by ``<!-- doctest: slow -->`` (they train for a while)
run only in the slow test; ``<!-- doctest: cuda -->`` ones only where CUDA is available.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(?:<!-- doctest: (slow|cuda) -->\s*\n)?```python\n(.*?)```", re.S)
STATED = re.compile(r"^(?P<expr>[^#\n]*?\S)\s+#\s*(?P<value>-?\d+(?:\.\d+)?)(?=[\s:,)]|$)", re.M)


def _blocks() -> list[tuple[str, str, str]]:
    out = []
    for doc in DOCS:
        text = doc.read_text()
        for m in BLOCK.finditer(text):
            line = text[: m.start(2)].count("\n")
            out.append((f"{doc.name}:{line}", m.group(1) or "", m.group(2)))
    return out


BLOCKS = _blocks()


def _run(code: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    if kind == "cuda" and not torch.cuda.is_available():
        pytest.skip("the block uses CUDA (<!-- doctest: cuda -->)")
    monkeypatch.chdir(tmp_path)
    torch.set_num_threads(1)
    namespace: dict = {"__name__": "__doc_block__"}
    exec(compile(code, "<doc block>", "exec"), namespace)
    for m in STATED.finditer(code):
        value = eval(m.group("expr"), namespace)
        assert value == pytest.approx(float(m.group("value")), abs=1e-3), m.group(0)


@pytest.mark.parametrize(("where", "kind", "code"), [b for b in BLOCKS if b[1] != "slow"], ids=[b[0] for b in BLOCKS
                                                                                            if b[1] != "slow"])
def test_documented_python_block_runs(where: str, kind: str, code: str, tmp_path: Path, monkeypatch) -> None:
    _run(code, kind, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize(("where", "kind", "code"), [b for b in BLOCKS if b[1] == "slow"],
                         ids=[b[0] for b in BLOCKS if b[1] == "slow"])  # fmt: skip
def test_slow_documented_python_block_runs(where: str, kind: str, code: str, tmp_path: Path, monkeypatch) -> None:
    _run(code, kind, tmp_path, monkeypatch)


def test_the_blocks_are_found() -> None:
    assert len(BLOCKS) >= 6 and any(w.startswith("README.md") for w, _, _ in BLOCKS)
