"""``rlsuite reproduce NAME``: regenerate a book figure as ``NAME.png`` + ``NAME.json``.

``rlsuite reproduce --list`` lists the figures; ``rlsuite reproduce all`` makes every one. The
settings are the fields of :class:`ReproduceOptions` (``--runs``, ``--steps``, ``--seed``, ``--out``,
``--overwrite``, ``--episodes``; ``--help`` lists them). The JSON holds one entry per curve, table or
panel with the settings used; where a result depends on the random seed it says so, and where the
book's printed numbers are known here they are stored beside ours with the comparison.

Every figure has a title, labelled axes and its legend outside the data. The figures go into one
folder (default ``./figures``), locked while a process writes it (:class:`~rlsuite.common.io.OutputDir`);
each PNG and JSON is written atomically, the JSON last, and a figure already there is replaced only
with ``--overwrite``.

Figures live in one module per book (or chapter group), each with its own ``FIGURES`` table
(a :class:`~rlsuite.app.reproduce._common.FigureTable`: name -> (one-line description, function),
filled by ``@FIGURES.add(name, description)`` above each figure's function); :data:`FIGURE_MODULES`
lists the modules. A module may also hold
``ALIASES`` (an older name -> its figure's name; the old name still works) and ``GROUPS`` (a name that
is not ``BOOK-fig-C.N`` -> its ``--list`` group). ``--list`` shows the figures by book and chapter.
"""

from __future__ import annotations

import argparse
import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlsuite.app.reproduce._common import FigureFn, ReproduceOptions
from rlsuite.common.errors import OutputDirError, UsageError

# The figure modules, in --list order; each holds FIGURES: name -> (description, function).
FIGURE_MODULES = (
    "rlsuite.app.reproduce.zhao_ch2_4",
    "rlsuite.app.reproduce.zhao",
    "rlsuite.app.reproduce.zhao_ch5_7",
    "rlsuite.app.reproduce.zhao_ch8_10",
    "rlsuite.app.reproduce.sutton_barto",
    "rlsuite.app.reproduce.sutton_barto_ch3_5",
    "rlsuite.app.reproduce.sutton_barto_ch6_8",
)


BOOKS = {"zhao": "Zhao", "sb": "Sutton & Barto"}  # name prefix -> the book, in --list order
ALIASES: dict[str, str] = {}  # an older name -> the figure's name
GROUPS: dict[str, str] = {}  # a figure not named BOOK-fig-C.N -> its group, e.g. "Zhao, chapter 6"


def figure_group(name: str) -> tuple[tuple[int, int, float], str]:
    """(sort key, header) of figure ``name``'s --list group: its book and chapter ("Zhao, chapter 3")."""
    prefix = name.split("-", 1)[0]
    book = list(BOOKS).index(prefix) if prefix in BOOKS else len(BOOKS)
    m = re.fullmatch(r"[a-z]+-fig-(\d+)\.(\d+)", name)
    header = GROUPS.get(name) or (f"{BOOKS.get(prefix, prefix)}, chapter {m.group(1)}" if m else "other")
    chapter = re.search(r"chapter (\d+)", header)
    return (book, int(chapter.group(1)) if chapter else 99, float(m.group(2)) if m else 99.0), header


def _all_figures() -> dict[str, tuple[str, FigureFn]]:
    figures: dict[str, tuple[str, FigureFn]] = {}
    for module_name in FIGURE_MODULES:
        module = importlib.import_module(module_name)
        figures.update(module.FIGURES)
        ALIASES.update(getattr(module, "ALIASES", {}))
        GROUPS.update(getattr(module, "GROUPS", {}))
    order = sorted(figures, key=lambda n: figure_group(n)[0])  # stable: a chapter keeps its modules' order
    return {n: figures[n] for n in order}


FIGURES: dict[str, tuple[str, FigureFn]] = _all_figures()


def figure_names(name: str) -> list[str]:
    """The figures ``name`` stands for (``all``: every one); an unknown name is a one-line error."""
    if name == "all":
        return list(FIGURES)
    name = ALIASES.get(name, name)
    if name not in FIGURES:
        import difflib

        close = difflib.get_close_matches(name, list(FIGURES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown figure {name!r}{hint}; `rlsuite reproduce --list` lists them")
    return [name]


def reproduce(
    name: str,
    options: ReproduceOptions | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Make figure ``name`` (or ``all``) into ``options.out``; return each figure's JSON data.

    ``on_done(data)`` is called as each figure is written (the CLI prints its result line there).

    Everything a user can get wrong is checked before any work: the name, the folder (writable, not
    locked by another process), and figures already there (refused unless ``overwrite``).
    """
    from rlsuite.app import console
    from rlsuite.common.io import OutputDir, write_json

    opts = options or ReproduceOptions()
    names = figure_names(name)
    out = Path(opts.out)
    folder = OutputDir(out, resume=True)  # a figures folder collects figures: add to it, never empty it
    folder.check()
    if not opts.overwrite:
        for n in names:
            for path in (out / f"{n}.png", out / f"{n}.json"):
                if path.exists():
                    raise OutputDirError(f"{path}: exists; pass --overwrite to replace it (or choose another --out)")
    results = []
    with folder, console.Job(names) as job:
        console.log_to(out)
        for n in names:
            job.stage(n)
            data = {"name": n, **FIGURES[n][1](out, opts)}
            if n.startswith("sb-"):  # a figure module that sizes its own figures says so
                data.setdefault("size", {"runs": opts.runs, "steps": opts.steps, "book": {"runs": 2000, "steps": 1000}})
            write_json(out / f"{n}.json", data)  # last: a figure whose JSON exists is complete
            results.append(data)
            if on_done is not None:
                on_done(data)
    return results


# ----- the command -----
def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="figure name, or `all`; --list shows them")
    parser.add_argument("--list", action="store_true", help="list the figures and exit")


def add_subcommands(subparsers: Any) -> None:
    from rlsuite.app.args import add_command

    add_command(
        subparsers,
        "reproduce",
        help="regenerate a book figure (PNG + JSON of the plotted numbers)",
        description="Regenerate a figure of Zhao's or Sutton & Barto's book as NAME.png + NAME.json in --out. "
        "--list shows the figures; `all` makes every one.",
        configs=[ReproduceOptions],
        run=_run,
        arguments=_arguments,
    )


def _run(parsed: Any) -> int:
    args = parsed.args
    if args.list or not args.name:
        header = None
        for name, (description, _) in FIGURES.items():
            if figure_group(name)[1] != header:
                header = figure_group(name)[1]
                print(f"{header}:")
            print(f"  {name:<30} {description}")
        return 0
    opts: ReproduceOptions = parsed.get(ReproduceOptions)
    reproduce(args.name, opts, on_done=lambda data: print(f"{Path(opts.out) / data['name']}.png, .json: "
                                                          f"{data['summary']}", flush=True))  # fmt: skip
    return 0
