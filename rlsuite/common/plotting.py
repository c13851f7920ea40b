"""Figures every layer may draw: learning curves, atomic PNG saving (grid-world pictures: ``rlsuite.envs.plotting``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.common.io import atomic_path


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files only, no window)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(
    curves: Mapping[str, Sequence[float] | np.ndarray],
    path: str | os.PathLike[str],
    xlabel: str = "step",
    ylabel: str = "",
    title: str | None = None,
    x: Sequence[float] | np.ndarray | None = None,
    references: Mapping[str, float] | None = None,
) -> Path:
    """Plot named curves on one axes and save a PNG; ``references`` (label -> level) are dashed
    horizontal lines (an optimum, say). The legend sits right of the axes, off the data."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for name, ys in curves.items():
        ys = np.asarray(ys, dtype=float)
        ax.plot(np.arange(1, len(ys) + 1) if x is None else x, ys, label=name, lw=1.2)
    for i, (name, level) in enumerate((references or {}).items()):
        ax.axhline(level, color="k", ls=("--", ":", "-.")[i % 3], lw=1.0, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    if len(curves) + len(references or {}) > 1:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    plt = pyplot()
    with atomic_path(path) as tmp:
        fig.tight_layout()
        fig.savefig(tmp, dpi=110, format="png", bbox_inches="tight", pad_inches=0.1)  # legends outside: kept
    plt.close(fig)
    return Path(path)
