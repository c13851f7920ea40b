"""The grid world to the letter (mutation testing): a deterministic step draws no random number; a random layout
keeps its first connected draw and tries 1000 draws by default before it repairs the last; the search back from the
target, the random starts, and the memory checks of a grid and of its frame at their bounds."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.envs.gridworld import FORBIDDEN, GridWorldEnv, Layout


def test_a_deterministic_step_draws_no_random_number() -> None:
    walked = gym.make("rlsuite/GridWorld-v0", start="random").unwrapped
    walked.reset(seed=3)
    for action in (0, 1, 2, 3, 4, 1, 1):
        walked.step(action)
    still = gym.make("rlsuite/GridWorld-v0", start="random").unwrapped
    still.reset(seed=3)
    assert walked.np_random.random() == still.np_random.random()


def _after(rng: np.random.Generator) -> float:
    return float(rng.random())


def test_a_random_layout_keeps_its_first_connected_draw() -> None:
    rng, again = np.random.default_rng(0), np.random.default_rng(0)
    layout = Layout.random(5, 5, 0.2, rng)
    cells = again.permutation(25)  # the first draw: connected for this seed
    assert layout.target == divmod(int(cells[0]), 5) and _after(rng) == _after(again)
    assert (layout.kinds.reshape(-1)[cells[1:6]] == FORBIDDEN).sum() == (layout.kinds == FORBIDDEN).sum() == 5


def test_a_random_layout_tries_1000_draws_by_default() -> None:
    """At 60% forbidden, no draw of a 10x10 grid is connected: every try is made, then the last is repaired."""
    default, thousand, more = (np.random.default_rng(1) for _ in range(3))
    Layout.random(10, 10, 0.6, default)
    Layout.random(10, 10, 0.6, thousand, max_tries=1000)
    Layout.random(10, 10, 0.6, more, max_tries=1001)
    assert _after(default) == _after(thousand) != _after(more)


def test_the_search_back_from_the_target_moves_up_from_the_second_rows_first_cell() -> None:
    layout = Layout.from_cells(2, 2, [(1, 2)], (2, 1))  # (1, 1) is reached only by moving up from the target
    assert layout.reaches_target(walls=True).reshape(-1).tolist() == [True, False, True, True]


def test_random_starts_are_the_cells_that_reach_the_target_and_are_not_walls() -> None:
    """Forbidden cells as walls: the free corner they cut off and the walls themselves are no start."""
    env = GridWorldEnv(n_rows=3, n_cols=3, forbidden=[(1, 2), (2, 1)], target=(3, 3), forbidden_enterable=False,
                       start="random")  # fmt: skip
    assert env.random_start_states.tolist() == [2, 4, 5, 6, 7, 8]


@pytest.fixture
def memory_of(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set the machine's memory (bytes) that the memory checks see."""
    import rlsuite.common.memory as memory

    return lambda nbytes: monkeypatch.setattr(memory, "physical_memory", lambda: nbytes)


def test_a_frame_that_does_not_fit_is_refused_naming_its_size(memory_of: Any) -> None:
    memory_of(937_500)  # 80% of it: 750,000 bytes, a 5x5 grid's frame at exactly 100 pixels per cell
    assert GridWorldEnv(cell_px=100).cell_px == 100
    with pytest.raises(ValueError, match=r"^cell_px 101 \(a 505x505 RGB frame\) needs about 747\.1 KiB of memory; "):
        GridWorldEnv(cell_px=101)


def test_a_grid_that_does_not_fit_is_refused_naming_its_size(memory_of: Any) -> None:
    memory_of(250_000)  # 80% of it: 200,000 bytes, 100 cells at 2,000 bytes each
    assert GridWorldEnv(n_rows=10, n_cols=10, forbidden=[], target=(1, 1), cell_px=4).n_states == 100
    with pytest.raises(ValueError, match=r"^a 10x11 grid needs about 214\.8 KiB of memory; this machine has "):
        GridWorldEnv(n_rows=10, n_cols=11, forbidden=[], target=(1, 1), cell_px=4)


def test_an_env_built_directly_renders_its_start_before_any_reset() -> None:
    """Outside gym.make (whose order checks refuse it) an env can be shown before its first reset: the agent on
    its start cell, with no last action named."""
    env = GridWorldEnv(render_mode="ansi", start=(1, 2))
    assert env.render() == ".A...\n.##..\n..#..\n.#T#.\n.#...\n"
    env.reset(seed=0)
    env.step(1)
    assert env.render().startswith("..A..\n") and "(right)" in env.render_ansi()
