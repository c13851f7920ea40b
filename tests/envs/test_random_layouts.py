"""Random grid-world layouts at every size (issue 15, bug 4: 200x200 raised ValueError after minutes)."""

from __future__ import annotations

import hashlib
import time
from collections import deque

import numpy as np
import pytest

from rlsuite.envs.gridworld import FORBIDDEN, TARGET, GridWorldEnv, Layout

# sha1 of the kinds and the target of layouts drawn before the generator learned to repair large grids:
# the same layout_seed must keep giving the same layout (tests and benchmarks pin them).
PINNED = {
    (15, 20, 0.1, 1): ("fb31cfb319cb9d10a92322bc11a1d33cbe1c4500", (8, 7)),
    (12, 9, 0.2, 2): ("e931352f71c0df367fd2e6325e1dad4ed1726286", (7, 8)),
    (4, 6, 0.2, 1): ("9b0f3c1e45b996fddae004dc52164b3a4d4b5b66", (2, 5)),
    (8, 8, 0.2, 3): ("06ddb5da0a9a0303f95a26f4d9b8c837842c38a2", (2, 3)),
    (40, 40, 0.2, 0): ("b4f56b5a57e291ec787977ebf2a8e47c5a534a2d", (37, 34)),
    (100, 100, 0.05, 0): ("7eef8f5b26b42de2c31c24bdd03bb5e8cc6c8eac", (35, 77)),
}


def plain_bfs(layout: Layout, walls: bool) -> np.ndarray:
    """The textbook queue-based search, to check the vectorised one against."""
    n_rows, n_cols = layout.shape
    seen = np.zeros((n_rows, n_cols), dtype=bool)
    seen[layout.target] = True
    queue = deque([layout.target])
    while queue:
        r, c = queue.popleft()
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < n_rows and 0 <= nc < n_cols and not seen[nr, nc]:
                if walls and layout.kinds[nr, nc] == FORBIDDEN:
                    continue
                seen[nr, nc] = True
                queue.append((nr, nc))
    return seen


def assert_valid(layout: Layout, n_rows: int, n_cols: int, fraction: float) -> None:
    kinds = layout.kinds
    assert kinds.shape == (n_rows, n_cols) and (kinds == TARGET).sum() == 1 and kinds[layout.target] == TARGET
    assert (kinds == FORBIDDEN).sum() == min(round(fraction * n_rows * n_cols), n_rows * n_cols - 1)
    assert plain_bfs(layout, walls=True)[kinds != FORBIDDEN].all()  # every free cell reaches the target


@pytest.mark.parametrize(("key", "expected"), PINNED.items(), ids=str)
def test_layouts_drawn_before_are_unchanged(key: tuple, expected: tuple) -> None:
    n_rows, n_cols, fraction, seed = key
    layout = Layout.random(n_rows, n_cols, fraction, np.random.default_rng(seed))
    assert (hashlib.sha1(layout.kinds.tobytes()).hexdigest(), layout.target) == expected


def test_200x200_random_layout_with_the_default_fraction_is_drawn_in_seconds() -> None:
    t0 = time.perf_counter()
    env = GridWorldEnv(n_rows=200, n_cols=200, random_layout=True, layout_seed=0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 30.0, f"{elapsed:.1f} s"  # about 1 s; it used to search for minutes, then raise
    assert_valid(env.layout, 200, 200, 0.2)
    again = GridWorldEnv(n_rows=200, n_cols=200, random_layout=True, layout_seed=0)
    np.testing.assert_array_equal(again.kinds, env.kinds)  # same seed, same layout
    other = GridWorldEnv(n_rows=200, n_cols=200, random_layout=True, layout_seed=1)
    assert (other.kinds != env.kinds).any()


@pytest.mark.parametrize(
    ("n_rows", "n_cols", "fraction", "seed"), [(8, 8, 0.55, 0), (3, 8, 0.5702855173500504, 1899), (60, 70, 0.45, 3)]
)
def test_draws_rejection_cannot_find_are_repaired(n_rows: int, n_cols: int, fraction: float, seed: int) -> None:
    """These raised "could not draw a layout ..." before: the last draw is repaired instead."""
    layout = Layout.random(n_rows, n_cols, fraction, np.random.default_rng(seed), max_tries=50)
    assert_valid(layout, n_rows, n_cols, fraction)


def test_repair_keeps_the_count_and_grows_the_targets_region() -> None:
    kinds = np.array(
        [
            [2, 0, 1, 0],
            [0, 0, 1, 1],
            [1, 1, 1, 0],  # (2, 3) and (0, 3) are free but cut off from the target
        ],
        dtype=np.int8,
    )
    layout = Layout(kinds, (0, 0))
    fixed = layout._connected(layout.reaches_target(walls=True), np.random.default_rng(0))
    assert (fixed.kinds == FORBIDDEN).sum() == (kinds == FORBIDDEN).sum() == 6
    assert (fixed.kinds[:2, :2] != FORBIDDEN).all()  # the target's region stays free...
    assert (fixed.kinds[:2, :2] != layout.kinds[:2, :2]).sum() == 0
    assert (fixed.kinds[[0, 1, 2, 2], [2, 2, 0, 1]] == FORBIDDEN).sum() < 4  # ...and grows over its border
    assert plain_bfs(fixed, walls=True)[fixed.kinds != FORBIDDEN].all()


@pytest.mark.parametrize("walls", [True, False])
def test_vectorised_search_equals_the_plain_search(walls: bool) -> None:
    rng = np.random.default_rng(5)
    for _ in range(40):
        n_rows, n_cols = (int(x) for x in rng.integers(1, 30, size=2))
        kinds = (rng.random((n_rows, n_cols)) < rng.uniform(0.0, 0.7)).astype(np.int8)
        target = (int(rng.integers(n_rows)), int(rng.integers(n_cols)))
        kinds[target] = TARGET
        layout = Layout(kinds, target)
        np.testing.assert_array_equal(layout.reaches_target(walls), plain_bfs(layout, walls))
