"""The grid world to the letter (mutation testing): a deterministic step draws no random number, and a random
layout keeps its first connected draw and tries 1000 draws by default before it repairs the last."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import rlsuite.envs  # noqa: F401
from rlsuite.envs.gridworld import FORBIDDEN, Layout


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
