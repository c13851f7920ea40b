"""What every figure module of ``rlsuite reproduce`` shares: the options, the grid panels, saving."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.common.config import Config, option


@dataclass
class ReproduceOptions(Config):
    """How large the sampled figures are, from which seed, and where they go."""

    runs: int = option(2000, help="independent runs per bandit curve (the book: 2000)", ge=1)
    steps: int = option(1000, help="pulls per bandit run (the book: 1000)", ge=1)
    episodes: int | None = option(
        None,
        help="MC epsilon-greedy episodes in zhao-fig-5.7 (None: the agent's 300000); episodes per run "
        "in sb-fig-5.4 (None: 1000000)",
        ge=1,
    )
    seed: int = option(0, help="random seed of every sampled figure (the testbeds, MC, SGD, Robbins-Monro)", ge=0)
    out: str = option(
        "figures", help="output folder; NAME.png and NAME.json go there", aliases=["--output_dir", "--output-dir"]
    )
    overwrite: bool = option(False, help="replace NAME.png and NAME.json when --out holds them already")



GRID_NOTE = "grid world: r_boundary = -1, r_target = 1, gamma = 0.9"


def _plt() -> Any:
    from rlsuite.common.plotting import pyplot

    return pyplot()


def _save(fig: Any, path: Path) -> None:
    from rlsuite.common.plotting import save_figure

    save_figure(fig, path)


def _legend_outside(ax: Any, **kwargs: Any) -> None:
    """The legend to the right of the axes, where it covers no data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, **kwargs)


def _grid_env(**kwargs: Any) -> Any:
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401

    return gym.make("rlsuite/GridWorld-v0", **kwargs)


def _grid_panel(env: Any, values: np.ndarray, greedy: np.ndarray, ax: Any, title: str) -> None:
    """A grid-world panel: the cells, the state value at the foot of each cell and one arrow (a circle:
    stay) for its greedy action above it, so that neither covers the other."""
    from matplotlib.patches import Circle

    from rlsuite.envs.gridworld import MOVES
    from rlsuite.envs.plotting import plot_grid

    plot_grid(env, ax=ax, title=title)  # the cells: free, forbidden, target
    base = env.unwrapped
    for r in range(base.n_rows):
        for c in range(base.n_cols):
            s = base.to_state((r, c))
            ax.text(c + 0.5, r + 0.84, f"{values[s]:.1f}", ha="center", va="center", fontsize=8)
            a = int(greedy[s])
            if a == 4:
                ax.add_patch(Circle((c + 0.5, r + 0.4), 0.13, fill=False, color="tab:green", lw=1.6))
            else:
                dr, dc = MOVES[a]
                ax.arrow(c + 0.5 - 0.16 * dc, r + 0.4 - 0.16 * dr, 0.32 * dc, 0.32 * dr, head_width=0.12,
                         length_includes_head=True, color="tab:green", lw=1.6)  # fmt: skip
    ax.set_xlabel("column")
    ax.set_ylabel("row")


def _action_names(policy: np.ndarray) -> list[list[str]]:
    from rlsuite.envs.gridworld import ACTION_NAMES

    greedy = np.asarray(policy).argmax(axis=1)
    return [[ACTION_NAMES[a] for a in row] for row in greedy.reshape(5, 5)]



FigureFn = Callable[[Path, ReproduceOptions], dict[str, Any]]


class FigureTable(dict[str, tuple[str, FigureFn]]):
    """A figure module's figures, name -> (one-line description, function), filled by :meth:`add`."""

    def add(self, name: str, description: str) -> Callable[[FigureFn], FigureFn]:
        """A decorator that lists the function below it as figure ``name``."""

        def register(fn: FigureFn) -> FigureFn:
            if name in self:
                raise ValueError(f"figure {name!r} is listed twice")
            self[name] = (description, fn)
            return fn

        return register
