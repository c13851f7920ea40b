"""Dyna-Q, Dyna-Q+, prioritized sweeping, figures 8.7 / 8.8's experiments: exact answers and the book's claims."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.planning import (
    TERMINATION_PROB,
    DynaQ,
    DynaQConfig,
    PrioritizedSweeping,
    _greedy_start_value,
    dyna_runs,
    expected_vs_sample,
    greedy_path_ok,
    sim_schedule,
)
from rlsuite.agents.tabular.solvers import value_iteration
from rlsuite.envs.model import tabular_model


def _greedy_path_length(env: gym.Env, q: np.ndarray, limit: int = 100) -> int:
    base = env.unwrapped
    s, steps = base.start_state, 0
    while not base.terminal[s] and steps < limit:
        s = base.next_state[s, q[s].argmax()]
        steps += 1
    return steps


@pytest.mark.slow
def test_dyna_q_learns_the_14_step_path() -> None:
    env = gym.make("rlsuite/DynaMaze-v0")
    agent = DynaQ(env, DynaQConfig(planning_steps=50, epsilon=0.1))
    agent.learn(3000, seed=0)
    assert _greedy_path_length(env, agent.q_values) == 14


@pytest.mark.slow
def test_dyna_q_values_stay_below_the_exact_ones_and_reach_them_at_the_start() -> None:
    """With alpha = 1 on a deterministic maze, every update is a Bellman backup of the learned model from 0:
    Q never exceeds q*, and once the greedy path is optimal Q at the start equals v*(start) = 0.95^13."""
    env = gym.make("rlsuite/DynaMaze-v0")
    _, q_star, _ = value_iteration(tabular_model(env), gamma=0.95, tol=1e-12, max_iters=10_000)
    res = dyna_runs(sim_schedule(env), 2, 50, 1.0, 0.95, 0.1, np.random.default_rng(0), total_steps=1500)
    assert (res.q <= q_star + 1e-12).all()
    start = env.unwrapped.start_state
    paths = [_greedy_path_length(env, q) for q in res.q]
    assert 14 in paths
    for q, steps in zip(res.q, paths, strict=True):
        assert q[start].max() == pytest.approx(0.95 ** (steps - 1), rel=1e-9)  # the value of the path it takes


def test_planning_makes_the_second_episode_short() -> None:
    """Figure 8.2's claim: with n = 50 the second episode is far shorter than without planning."""
    env = gym.make("rlsuite/DynaMaze-v0")
    lengths = {n: dyna_runs(sim_schedule(env), 10, n, 0.1, 0.95, 0.1, np.random.default_rng(n), episodes=3).lengths
               for n in (0, 50)}  # fmt: skip
    assert lengths[50][1].mean() < 100 < lengths[0][1].mean()


@pytest.mark.slow
def test_dyna_q_plus_finds_the_shortcut_and_dyna_q_does_not() -> None:
    """Figure 8.5's claim (5 seeded runs each, the reference's settings): after the wall opens at 3000 steps,
    Dyna-Q+ takes the 10-step path and Dyna-Q keeps the old 16-step one within the book's 6000 steps."""
    env = gym.make("rlsuite/ShortcutMaze-v0")
    runs = 5
    res = dyna_runs(sim_schedule(env), 2 * runs, 50, 1.0, 0.95, 0.1, np.random.default_rng(0),
                    kappa=np.repeat([0.0, 1e-3], runs), total_steps=6000)  # fmt: skip
    after = env.unwrapped.phases()[1][1]
    paths = [_greedy_path_length(after, q) for q in res.q]
    assert paths[:runs] == [16] * runs
    assert paths[runs:] == [10] * runs


def test_prioritized_sweeping_agent_learns_the_14_step_path() -> None:
    env = gym.make("rlsuite/DynaMaze-v0")
    agent = PrioritizedSweeping(env)
    history = agent.learn(3000, seed=0)
    assert _greedy_path_length(env, agent.q_values) == 14
    assert history["backups"][-1] <= 3000 * 6


def test_greedy_path_check_counts_steps() -> None:
    env = gym.make("rlsuite/DynaMaze-v0")
    base = env.unwrapped
    _, q_star = value_iteration(tabular_model(env), gamma=0.95)[:2]
    ok = greedy_path_ok(base.next_state, base.terminal, base.start_state, np.stack([q_star, 0 * q_star]), 14)
    assert ok.tolist() == [True, False]
    assert not greedy_path_ok(base.next_state, base.terminal, base.start_state, q_star[None], 13)[0]


@pytest.mark.parametrize("b", [2, 10, 100])
def test_sample_updates_error_follows_the_books_formula(b: int) -> None:
    """Figure 8.7's curves are sqrt((b - 1) / (b t)); 4000 runs put the RMS within 5% of it."""
    err = expected_vs_sample(b, 4000, np.random.default_rng(b))
    t = np.arange(1, 2 * b + 1)
    np.testing.assert_allclose(err, np.sqrt((b - 1) / (b * t)), rtol=0.06)


def test_start_value_evaluation_solves_the_linear_system() -> None:
    rng = np.random.default_rng(0)
    n, b = 30, 3
    nxt = rng.integers(n, size=(1, n, 2, b))
    rew = rng.standard_normal((1, n, 2, b))
    q = rng.standard_normal((1, n, 2))
    v0, _ = _greedy_start_value(q, nxt, rew, np.zeros((1, n)), tol=1e-12)
    pi = q[0].argmax(axis=1)
    P = np.zeros((n, n))
    for s in range(n):
        for k in range(b):
            P[s, nxt[0, s, pi[s], k]] += (1 - TERMINATION_PROB) / b
    r = (1 - TERMINATION_PROB) * rew[0, np.arange(n), pi].mean(axis=1)
    assert v0[0] == pytest.approx(np.linalg.solve(np.eye(n) - P, r)[0], abs=1e-9)


@pytest.mark.parametrize(
    ("name", "budget"),
    [("n_step_td", 5), ("constant_alpha_mc", 5), ("double_q_learning", 20), ("dyna_q", 300), ("dyna_q_plus", 300),
     ("prioritized_sweeping", 300)],
)
def test_sb_agents_save_load_round_trip(name: str, budget: int, tmp_path) -> None:
    from rlsuite.agents.tabular import ALGORITHMS, TabularAgent

    cls = ALGORITHMS[name]
    agent = cls(gym.make(cls.default_env))
    agent.learn(budget, seed=1)
    agent.save(tmp_path / "agent")
    loaded = TabularAgent.load(tmp_path / "agent")
    assert type(loaded) is cls and loaded.config == agent.config
    for key, value in agent.arrays().items():
        np.testing.assert_array_equal(loaded.arrays()[key], value)
