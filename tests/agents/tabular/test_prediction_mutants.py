"""n-step TD and constant-alpha MC agents against their episodes replayed by hand: online updates, batch
updating's limits written out as loops, the history rows, cut episodes (the survivors of the mutation run)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from recording import RecordingReporter

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.prediction import (
    ConstantAlphaMC,
    ConstantAlphaMCConfig,
    NStepTD,
    NStepTDConfig,
    n_step_updates,
    sample_episodes,
)
from rlsuite.agents.tabular.sim import BatchSim

V_PI = np.array([0.0, 1, 2, 3, 4, 5, 0]) / 6  # the 5-state random walk (example 6.2), terminals at both ends
INNER = slice(1, 6)


def replayed_episodes(env, runs: int, episodes: int, seed: int, max_steps: int = 100_000):
    rng, sim, pi = np.random.default_rng(seed), BatchSim.of(env), np.full((7, 2), 0.5)
    return [sample_episodes(sim, pi, runs, rng, max_steps) for _ in range(episodes)]


def metrics(V: np.ndarray) -> tuple[float, float]:
    """(rms_error, value_error) by hand: the RMS over the 5 inner states per run, averaged; the mean table's max."""
    rms = [np.sqrt(np.mean((V[i, INNER] - V_PI[INNER]) ** 2)) for i in range(V.shape[0])]
    return float(np.mean(rms)), float(np.max(np.abs(V.mean(axis=0) - V_PI)))


@pytest.mark.parametrize(("cls", "n"), [(NStepTD, 2), (ConstantAlphaMC, None)])
def test_online_agents_replayed(cls, n, reporter: RecordingReporter) -> None:
    env = gym.make("rlsuite/RandomWalk-v0")
    config = NStepTDConfig(n=2, runs=2) if cls is NStepTD else ConstantAlphaMCConfig(runs=2)
    agent = cls(env, config)
    history = agent.learn(3)  # seed 0 by default
    V = np.tile([0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0], (2, 1))
    rows = [metrics(V)]
    for ep in replayed_episodes(env, 2, 3, 0):
        n_step_updates(V, ep, n, config.alpha, 1.0, compiled=False)
        rows.append(metrics(V))
    np.testing.assert_array_equal(agent.tables, V)
    assert history["episodes"].tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(history["rms_error"], [r[0] for r in rows], rtol=1e-12)
    np.testing.assert_allclose(history["value_error"], [r[1] for r in rows], rtol=1e-12)
    assert reporter.started == [(agent.name, 3, "episode")] and reporter.advances == [1, 1, 1]
    np.testing.assert_allclose(agent.rms_errors(), [np.sqrt(np.mean((V[i, INNER] - V_PI[INNER]) ** 2)) for i in (0, 1)])
    assert agent.rms_errors()[0] != agent.rms_errors()[1]


def test_episodes_are_cut_at_max_episode_steps() -> None:
    env = gym.make("rlsuite/RandomWalk-v0")
    agent = NStepTD(env, NStepTDConfig(runs=3, max_episode_steps=2, alpha=0.5))
    agent.learn(2, seed=4)
    V = np.tile([0.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0], (3, 1))
    for ep in replayed_episodes(env, 3, 2, 4, max_steps=2):
        assert ep.lengths.max() <= 2
        n_step_updates(V, ep, 1, 0.5, 1.0)
    np.testing.assert_array_equal(agent.tables, V)


def batch_limits_by_hand(episodes, runs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch MC (the mean return after every visit) and batch TD(0) (the certainty-equivalence values) of all the
    episodes, run by run, one step at a time (gamma 1, inner states never visited keep 0.5); and the visit counts."""
    mc, td, counts = np.zeros((runs, 7)), np.zeros((runs, 7)), np.zeros((runs, 7))
    for i in range(runs):
        returns = {s: [] for s in range(7)}
        trans, rew = np.zeros((7, 7)), np.zeros(7)
        for ep in episodes:
            T = int(ep.lengths[i])
            for t in range(T):
                s = int(ep.states[t, i])
                returns[s].append(float(ep.rewards[t:T, i].sum()))
                trans[s, int(ep.states[t + 1, i])] += 1
                rew[s] += ep.rewards[t, i]
        counts[i] = [len(returns[s]) for s in range(7)]
        mc[i] = [np.mean(returns[s]) if returns[s] else (0.0 if s in (0, 6) else 0.5) for s in range(7)]
        A, b = np.eye(7), np.zeros(7)
        for s in range(1, 6):
            if counts[i, s]:
                A[s] -= trans[s] / counts[i, s] * [0, 1, 1, 1, 1, 1, 0]  # terminal values are 0
                b[s] = rew[s] / counts[i, s]
            else:
                b[s] = 0.5
        td[i] = np.linalg.solve(A, b)
    return mc, td, counts


def test_batch_updating_limits_replayed() -> None:
    env = gym.make("rlsuite/RandomWalk-v0")
    mc_agent = ConstantAlphaMC(env, ConstantAlphaMCConfig(runs=3, batch=True))
    td_agent = NStepTD(env, NStepTDConfig(runs=3, batch=True))
    mc_agent.learn(2, seed=3)
    td_agent.learn(2, seed=3)
    mc, td, counts = batch_limits_by_hand(replayed_episodes(env, 3, 2, 3), 3)
    np.testing.assert_allclose(mc_agent.tables, mc, rtol=1e-12)
    np.testing.assert_allclose(td_agent.tables, td, rtol=1e-12, atol=1e-15)
    inner = counts[:, INNER]
    assert (inner == 0).any() and (inner == 1).any() and (inner > 1).any()  # unseen, seen once, seen more
    assert not np.allclose(mc, td)


def test_an_env_without_terminal_states() -> None:
    """Zhao's grid world (P, no ``terminal``): every state non-terminal, the episodes cut at max_episode_steps."""
    agent = NStepTD(gym.make("rlsuite/GridWorld-v0"), NStepTDConfig(gamma=0.9, max_episode_steps=3, initial_value=0.0))
    assert agent.terminal.dtype == bool and not agent.terminal.any() and agent.terminal.shape == (25,)
    history = agent.learn(2, seed=0)
    assert history["episodes"].tolist() == [0, 1, 2]


def test_prediction_agents_keep_their_device() -> None:
    assert NStepTD(gym.make("rlsuite/RandomWalk-v0"), device="torch:cpu").device == "torch:cpu"


def test_batch_updating_limits_of_discounted_cut_episodes() -> None:
    """Windy grid world (-1 a step) at gamma 0.9, the episodes cut at 12 steps (none reaches the goal): the returns
    are discounted sums over the steps before the cut, and a cut run's last state is not terminal."""
    env = gym.make("rlsuite/WindyGridWorld-v0")
    base = env.unwrapped
    S, terminal = base.observation_space.n, base.terminal
    cfg = {"runs": 2, "batch": True, "gamma": 0.9, "max_episode_steps": 12, "initial_value": 0.25}
    mc_agent = ConstantAlphaMC(env, ConstantAlphaMCConfig(**cfg))
    td_agent = NStepTD(env, NStepTDConfig(**cfg))
    mc_agent.learn(2, seed=1)
    td_agent.learn(2, seed=1)
    rng, sim, pi = np.random.default_rng(1), BatchSim.of(env), np.full((S, 4), 0.25)
    episodes = [sample_episodes(sim, pi, 2, rng, 12) for _ in range(2)]
    assert all(ep.lengths.tolist() == [12, 12] for ep in episodes)
    for i in range(2):
        returns = {s: [] for s in range(S)}
        trans, rew = np.zeros((S, S)), np.zeros(S)
        for ep in episodes:
            for t in range(12):
                s = int(ep.states[t, i])
                returns[s].append(sum(0.9**k * ep.rewards[t + k, i] for k in range(12 - t)))
                trans[s, int(ep.states[t + 1, i])] += 1
                rew[s] += ep.rewards[t, i]
        counts = np.array([len(returns[s]) for s in range(S)])
        mc = [np.mean(returns[s]) if returns[s] else (0.0 if terminal[s] else 0.25) for s in range(S)]
        np.testing.assert_allclose(mc_agent.tables[i], mc, rtol=1e-12)
        A, b = np.eye(S), np.where(terminal, 0.0, 0.25)
        for s in np.flatnonzero(counts):
            A[s] -= 0.9 * trans[s] / counts[s] * ~terminal
            b[s] = rew[s] / counts[s]
        np.testing.assert_allclose(td_agent.tables[i], np.linalg.solve(A, b), rtol=1e-10)
