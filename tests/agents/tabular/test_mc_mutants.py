"""The batched Monte Carlo control agents' loop to the letter (mutation testing): first visits are found in a
table sized by the state count (no read of the largest pair), and q holds the mean return of each pair seen (the
episodes of a torch run; the averages are kept on the host)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from cuda_sim import count_syncs, simulate_cuda

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


def test_first_visits_sized_by_the_state_count_read_nothing_on_the_host() -> None:
    import torch

    from rlsuite.agents.tabular.batch import first_visit_mask

    states, actions = [[0, 1], [0, 1], [1, 0]], [[1, 0], [1, 0], [1, 1]]  # the last pair of copy 1: new, not alive
    alive = [[True, True], [True, True], [True, False]]
    expected = [[True, True], [False, False], [True, False]]
    with simulate_cuda():
        s, a, live = (torch.tensor(x, device="cuda") for x in (states, actions, alive))
        with count_syncs() as syncs:
            first = first_visit_mask(s, a, 2, live, n_states=2)
        assert sum(syncs.values()) == 0 and first.cpu().tolist() == expected
        with count_syncs() as syncs:
            first = first_visit_mask(s, a, 2, live)  # the table sized by the largest pair: one read
        assert sum(syncs.values()) == 1 and first.cpu().tolist() == expected


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
