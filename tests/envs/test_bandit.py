"""Bandit envs: the testbed's statistics, variants, info, errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401
from rlsuite.envs.bandit import KArmedBanditEnv


def test_testbed_statistics() -> None:
    env = gym.make("rlsuite/KArmedBandit-v0")
    qs = np.array([env.reset(seed=i)[1]["q_star"] for i in range(400)])
    assert qs.shape == (400, 10)
    # q*(a) ~ N(0, 1): mean and spread within 4.5 standard errors
    assert abs(qs.mean()) < 4.5 / np.sqrt(qs.size) and abs(qs.std() - 1.0) < 4.5 / np.sqrt(2 * qs.size)
    _, info = env.reset(seed=0)
    noise = np.array([env.step(3)[1] for _ in range(4000)]) - info["q_star"][3]  # reward ~ N(q*(a), 1)
    assert abs(noise.mean()) < 4.5 / np.sqrt(4000) and abs(noise.std() - 1.0) < 4.5 / np.sqrt(8000)


def test_info_reports_optimal_arm_and_regret() -> None:
    env = KArmedBanditEnv(means=[0.1, 0.5, 0.2])
    _, info = env.reset(seed=0)
    assert info["optimal_arm"] == 1
    _, _, term, trunc, info = env.step(0)
    assert info["regret"] == pytest.approx(0.4) and not term and not trunc
    assert env.step(1)[4]["regret"] == 0.0


def test_offset_bernoulli_and_nonstationary() -> None:
    env = gym.make("rlsuite/KArmedBandit-v0", q_mean=4.0)
    assert np.mean([env.reset(seed=i)[1]["q_star"].mean() for i in range(100)]) == pytest.approx(4.0, abs=0.2)
    b = gym.make("rlsuite/BernoulliBandit-v0", k=5)
    qs = np.array([b.reset(seed=i)[1]["q_star"] for i in range(400)])  # q*(a) ~ U(0, 1)
    assert qs.shape == (400, 5)
    assert abs(qs.mean() - 0.5) < 4.5 * np.sqrt(1 / 12 / qs.size) and abs(qs.var() - 1 / 12) < 0.006
    _, info = b.reset(seed=1)
    pulls = np.array([b.step(0)[1] for _ in range(4000)])  # reward 1 with probability q*(0)
    p = info["q_star"][0]
    assert set(np.unique(pulls).tolist()) == {0.0, 1.0}
    assert abs(pulls.sum() - 4000 * p) <= 4.5 * np.sqrt(4000 * p * (1 - p))
    ns = gym.make("rlsuite/NonstationaryBandit-v0", walk_std=0.1)
    _, info = ns.reset(seed=2)
    assert np.all(info["q_star"] == 0.0)  # all q* start equal
    for _ in range(100):
        info = ns.step(0)[4]
    assert np.std(ns.unwrapped.q_star) > 0.1  # and then wander apart


def test_seeded_determinism() -> None:
    def run(seed: int) -> list[float]:
        env = gym.make("rlsuite/KArmedBandit-v0")
        env.reset(seed=seed)
        return [env.step(a % 10)[1] for a in range(20)]

    assert run(1) == run(1) and run(1) != run(2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be an integer >= 1, got 0"),
        ({"arms": "poisson"}, "arms must be"),
        ({"reward_std": -1.0}, "reward_std must be"),
        ({"k": 3, "means": [0.1, 0.2]}, "one value per arm"),
        ({"arms": "bernoulli", "k": 2, "means": [0.1, 1.5]}, "must lie in"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        KArmedBanditEnv(**kwargs)
    with pytest.raises(ValueError, match=r"action must be in \[0, 3\), got 3"):
        env = KArmedBanditEnv(k=3)
        env.reset(seed=0)
        env.step(3)


def test_ansi_render() -> None:
    env = gym.make("rlsuite/KArmedBandit-v0", render_mode="ansi", k=3)
    env.reset(seed=0)
    env.step(1)
    assert "pulled arm 1" in env.render()
