"""The batched Monte Carlo control agents' loop to the letter (mutation testing): first visits are found in a
table sized by the state count (no read of the largest pair), and q holds the mean return of each pair seen (the
episodes of a torch run; the averages are kept on the host)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.agents.tabular.mc as mc
import rlsuite.envs  # noqa: F401

SMALL = {"num_envs": 50, "episode_length": 30, "tail": 10}


def test_first_visits_are_found_in_a_table_sized_by_the_state_count(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[tuple[Any, ...]] = []
    real = mc.first_visit_mask
    monkeypatch.setattr(mc, "first_visit_mask", lambda *args: sizes.append(args[4:]) or real(*args))
    agent = mc.MCExploringStarts(gym.make("rlsuite/GridWorld-v0"), mc.MCExploringStartsConfig(**SMALL))
    agent.learn(100)
    assert sizes == [(25,), (25,)]


@pytest.mark.parametrize("visit", ["first", "every"])
def test_q_holds_the_mean_return_of_each_pair_seen(visit: str) -> None:
    config = mc.MCExploringStartsConfig(**SMALL, visit=visit, average="all")
    agent = mc.MCExploringStarts(gym.make("rlsuite/GridWorld-v0"), config, device="torch:cpu")
    agent.learn(100)
    q = np.asarray(agent.q)
    assert q.shape == (25, 5) and np.isfinite(q).all() and (q != 0).mean() > 0.5
    sums, counts = (np.asarray(x).reshape(-1) for x in (agent.returns_sum, agent.returns_count))  # [S * A]
    seen = counts > 0
    np.testing.assert_allclose(q.reshape(-1)[seen], sums[seen] / counts[seen])


def test_the_done_fraction_stops_at_one_when_the_last_batch_overshoots() -> None:
    agent = mc.MCExploringStarts(gym.make("rlsuite/GridWorld-v0"), mc.MCExploringStartsConfig(**SMALL))
    history = agent.learn(120)  # three batches of 50 episodes: 150
    assert agent.done_fraction == 1.0 and history.last()["episodes"] == 150
