"""n-step TD / constant-alpha MC / batch updating, and episodic control with Double Q-learning, checked
against a plain one-run implementation of the book's algorithms and against the book's exact values."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.episodic import DoubleQLearning, DoubleQLearningConfig, allowed_actions, episodic_control
from rlsuite.agents.tabular.prediction import (
    BatchFixedPoint,
    ConstantAlphaMC,
    ConstantAlphaMCConfig,
    NStepTD,
    NStepTDConfig,
    n_step_updates,
    sample_episodes,
)
from rlsuite.agents.tabular.sim import BatchSim
from rlsuite.common.errors import ConfigError


def _walk(n: int = 5) -> tuple[BatchSim, np.ndarray]:
    env = gym.make("rlsuite/RandomWalk-v0" if n == 5 else "rlsuite/RandomWalk19-v0")
    return BatchSim.of(env), np.full((n + 2, 2), 0.5)


def _one_run_n_step(v: np.ndarray, states: list[int], rewards: list[float], n: int | None, alpha: float,
                    gamma: float) -> None:  # fmt: skip
    """The book's n-step TD (section 7.1) for one episode, written out: update tau at time tau + n."""
    T = len(rewards)
    n = T if n is None else n
    for tau in range(T):
        end = min(tau + n, T)
        G = sum(gamma ** (k - tau) * rewards[k] for k in range(tau, end))
        if tau + n < T:
            G += gamma**n * v[states[tau + n]]
        v[states[tau]] += alpha * (G - v[states[tau]])


@pytest.mark.parametrize(("n", "gamma"), [(1, 1.0), (3, 1.0), (4, 0.9), (None, 1.0), (None, 0.8)])
def test_n_step_updates_match_the_books_algorithm_run_by_run(n: int | None, gamma: float) -> None:
    sim, policy = _walk(19)
    rng = np.random.default_rng(0)
    R = 8
    alphas = np.linspace(0.05, 0.8, R)
    V = rng.normal(size=(R, 21)) * 0.1
    V[:, [0, 20]] = 0.0
    expected = V.copy()
    for _ in range(3):
        ep = sample_episodes(sim, policy, R, rng)
        n_step_updates(V, ep, n, alphas, gamma)
        for r in range(R):
            L = int(ep.lengths[r])
            _one_run_n_step(expected[r], list(ep.states[: L + 1, r]), list(ep.rewards[:L, r]), n, alphas[r], gamma)
    np.testing.assert_allclose(V, expected, atol=1e-12)


def _iterative_batch(states: list[list[int]], rewards: list[list[float]], method: str, v0: np.ndarray) -> np.ndarray:
    """The reference's batch updating: sweep all episodes with alpha = 0.001 until the updates vanish."""
    v = v0.copy()
    for _ in range(200_000):
        updates = np.zeros_like(v)
        for traj, rew in zip(states, rewards, strict=True):
            G = np.cumsum(rew[::-1])[::-1]
            for i in range(len(traj) - 1):
                if method == "TD":
                    updates[traj[i]] += rew[i] + v[traj[i + 1]] * (i + 1 < len(traj) - 1) - v[traj[i]]
                else:
                    updates[traj[i]] += G[i] - v[traj[i]]
        if np.abs(updates).sum() < 1e-10:
            return v
        v += 0.01 * updates
    raise AssertionError("no convergence")


@pytest.mark.parametrize("method", ["TD", "MC"])
def test_batch_fixed_point_is_the_limit_of_repeated_batch_updates(method: str) -> None:
    sim, policy = _walk()
    rng = np.random.default_rng(1)
    terminal = np.arange(7) % 6 == 0
    v0 = np.where(terminal, 0.0, -1.0)
    fixed = BatchFixedPoint(1, 7, v0[None].copy(), terminal, 1.0)
    trajs, rews = [], []
    for _ in range(4):
        ep = sample_episodes(sim, policy, 1, rng)
        fixed.add(ep)
        L = int(ep.lengths[0])
        trajs.append(list(ep.states[: L + 1, 0]))
        rews.append(list(ep.rewards[:L, 0]))
    got = (fixed.td() if method == "TD" else fixed.mc())[0]
    np.testing.assert_allclose(got, _iterative_batch(trajs, rews, method, v0), atol=1e-7)


def test_td0_and_mc_reach_the_true_values_on_average() -> None:
    env = gym.make("rlsuite/RandomWalk-v0")
    td = NStepTD(env, NStepTDConfig(alpha=0.05, runs=200))
    mc = ConstantAlphaMC(env, ConstantAlphaMCConfig(alpha=0.02, runs=200))
    h_td, h_mc = td.learn(100, seed=0), mc.learn(100, seed=0)
    # averaged over 200 runs TD's tables sit on 1/6..5/6 (alpha's fluctuation shrinks as 1/sqrt(200));
    # MC with alpha 0.02 still carries part of its start at 0.5 after 100 walks (the book's slower curve)
    np.testing.assert_allclose(td.state_values[1:6], np.arange(1, 6) / 6, atol=0.03)
    assert h_td["rms_error"][0] == pytest.approx(np.sqrt(np.mean((0.5 - np.arange(1, 6) / 6) ** 2)))
    # example 6.2's ordering after 100 walks: TD(alpha 0.05) below MC(alpha 0.02)
    assert h_td["rms_error"][-1] < h_mc["rms_error"][-1]


def test_batch_with_n_above_one_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"NStepTDConfig\.batch: batch updating is TD"):
        NStepTDConfig(batch=True, n=2)


def test_double_q_learning_escapes_the_maximization_bias() -> None:
    """The book's claim (example 6.7): Q-learning goes left far more often early on; Double Q-learning
    settles near the epsilon-greedy optimum of 5%."""
    env = gym.make("rlsuite/MaximizationBias-v0")
    sim = BatchSim.of(env)
    left = {}
    for method in ("q_learning", "double_q"):
        res = episodic_control(sim, method, 600, 300, 0.1, 0.1, 1.0, np.random.default_rng(0), allowed_actions(env))
        left[method] = (res.first_actions == 1).mean(axis=1) * 100
    assert left["q_learning"][:50].max() > 70  # the reference's peak: about 75-90% near episode 10-20
    assert left["double_q"][:50].max() < 55
    assert abs(left["double_q"][-50:].mean() - 5.0) < 3.0
    assert left["q_learning"][-50:].mean() > left["double_q"][-50:].mean()


def test_double_q_agent_learns_right_in_a() -> None:
    agent = DoubleQLearning(gym.make("rlsuite/MaximizationBias-v0"), DoubleQLearningConfig(runs=50))
    history = agent.learn(300, seed=0)
    assert agent.predict(np.array([0]))[0].tolist() == [0]  # right
    assert history["first_action_1"][-50:].mean() < 0.1


def test_sarsa_on_windy_grid_world_finds_the_15_step_path() -> None:
    env = gym.make("rlsuite/WindyGridWorld-v0")
    res = episodic_control(BatchSim.of(env), "sarsa", 20, 300, 0.5, 0.0, 1.0, np.random.default_rng(0))
    assert (res.lengths[-1] == 15).all()  # greedy (epsilon 0) at the end: the optimal 15 steps
