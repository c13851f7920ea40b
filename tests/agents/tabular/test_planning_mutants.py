"""Dyna-Q(+) and prioritized sweeping agents against the loops they are made of, the learner's queue by hand, and
the start value's stopping rule by hand (the survivors of the mutation run)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from recording import RecordingReporter

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.planning import (
    DynaQ,
    DynaQConfig,
    DynaQPlus,
    DynaQPlusConfig,
    PrioritizedSweeping,
    PrioritizedSweepingConfig,
    PrioritizedSweepingLearner,
    _greedy_start_value,
    dyna_runs,
    sim_schedule,
)


def dyna_agent_and_runs(cls, budget: int, log_every: int):
    env = gym.make("rlsuite/DynaMaze-v0")
    config_cls = DynaQPlusConfig if cls is DynaQPlus else DynaQConfig
    agent = cls(env, config_cls(runs=2, log_every=log_every, planning_steps=10))
    history = agent.learn(budget)  # seed 0 by default
    cfg = agent.config
    kappa = cfg.kappa if cls is DynaQPlus else 0.0
    runs = dyna_runs(sim_schedule(env), 2, 10, cfg.alpha, cfg.gamma, cfg.epsilon, np.random.default_rng(0),
                     kappa=kappa, total_steps=budget)  # fmt: skip
    return agent, history, runs


@pytest.mark.parametrize("cls", [DynaQ, DynaQPlus])
def test_dyna_agents_are_their_runs(cls, reporter: RecordingReporter) -> None:
    agent, history, runs = dyna_agent_and_runs(cls, 600, 1)
    np.testing.assert_array_equal(agent.q_values, runs.q.mean(axis=0))
    np.testing.assert_array_equal(agent.policy, np.eye(4)[runs.q.mean(axis=0).argmax(axis=1)])
    cumulative = runs.rewards.cumsum(axis=0).mean(axis=1)  # over the steps, then the mean of the runs
    assert history["steps"].tolist() == list(range(1, 601))
    assert history["cumulative_reward"].tolist() == cumulative.tolist()
    assert cumulative[-1] > 0.5 and runs.rewards[:, 0].sum() != runs.rewards[:, 1].sum()
    assert reporter.started == [(agent.name, 600, "step")]
    # a budget that ends on a goal, with no row before it: the one row is the last step's
    budget = int(np.flatnonzero(runs.rewards.sum(axis=1))[1]) + 1
    _, history, runs = dyna_agent_and_runs(cls, budget, budget + 1)
    cumulative = runs.rewards.cumsum(axis=0).mean(axis=1)
    assert history["steps"].tolist() == [budget] and history["cumulative_reward"].tolist() == [cumulative[-1]]
    assert cumulative[-1] > cumulative[-2] > cumulative[1]


def test_dyna_q_logs_no_extra_row_when_the_budget_is_a_multiple_of_log_every() -> None:
    history = DynaQ(gym.make("rlsuite/DynaMaze-v0"), DynaQConfig(log_every=50)).learn(200, seed=1)
    assert history["steps"].tolist() == [50, 100, 150, 200]


def prioritized_sweeping_by_hand(env, cfg: PrioritizedSweepingConfig, budget: int, seed: int):
    """The agent's loop (S&B 8.4's box, one real step at a time), its rows written out."""
    base = env.unwrapped
    learner = PrioritizedSweepingLearner(base.observation_space.n, base.action_space.n, cfg.planning_steps,
                                         cfg.alpha, cfg.gamma, cfg.epsilon, cfg.theta)  # fmt: skip
    rng = np.random.default_rng(seed)
    rows = []
    s, _ = env.reset(seed=seed)
    length = 0
    for t in range(1, budget + 1):
        a = learner.act(int(s), rng)
        s2, r, term, trunc, _ = env.step(a)
        learner.step(int(s), a, float(r), int(s2), bool(term))
        s, length = s2, length + 1
        if term or trunc or t == budget:
            rows.append((t, learner.backups, length))
            s, _ = env.reset()
            length = 0
    return learner, rows


def test_prioritized_sweeping_agent_is_its_learner(reporter: RecordingReporter) -> None:
    env = gym.make("rlsuite/DynaMaze-v0")
    agent = PrioritizedSweeping(env, PrioritizedSweepingConfig(planning_steps=3))
    history = agent.learn(3000)  # seed 0 by default
    learner, rows = prioritized_sweeping_by_hand(gym.make("rlsuite/DynaMaze-v0"), agent.config, 3000, 0)
    np.testing.assert_array_equal(agent.q_values, learner.q)
    assert list(zip(history["steps"], history["backups"], history["episode_length"], strict=True)) == rows
    assert len(rows) >= 3 and rows[-1][1] > 3000 and history.last()["value_error"] >= 0.0
    assert reporter.started == [("prioritized_sweeping", 3000, "step")] and reporter.advances == [1] * 3000


def test_prioritized_sweeping_takes_its_config() -> None:
    agent = PrioritizedSweeping(gym.make("rlsuite/DynaMaze-v0"), PrioritizedSweepingConfig(planning_steps=3))
    assert agent.config.planning_steps == 3


def test_learner_queues_only_priorities_above_theta() -> None:
    learner = PrioritizedSweepingLearner(2, 1, planning_steps=1, alpha=0.5, gamma=0.9, epsilon=0.0, theta=0.0)
    learner.step(0, 0, 0.0, 1, False)  # priority |0 + 0.9 * 0 - 0| = 0: not above theta 0, nothing planned
    assert learner.backups == 1 and learner.queue == []
    learner.step(0, 0, 1.0, 1, False)  # priority 1: queued, popped, updated; state 0 has no predecessor
    assert learner.backups == 1 + 2 and learner.q.tolist() == [[0.5], [0.0]]


def test_start_value_stops_when_a_sweep_changes_less_than_tol() -> None:
    """One state looping on itself with reward 1: v_k = 0.9 (1 + v_{k-1}) = 9 (1 - 0.9^k), a sweep changes v by
    0.9^k; the default tol 1e-2 stops at k = 44 (0.9^44 = 0.0097), tol 0.9 at k = 2 (the first change is 0.9)."""
    nxt = np.zeros((1, 1, 2, 1), dtype=np.int64)
    rew = np.ones((1, 1, 2, 1))
    q = np.zeros((1, 1, 2))
    v0, v = _greedy_start_value(q, nxt, rew, np.zeros((1, 1)))
    assert v0[0] == pytest.approx(9 * (1 - 0.9**44), rel=1e-12) and v.shape == (1, 1)
    v0, _ = _greedy_start_value(q, nxt, rew, np.zeros((1, 1)), tol=0.9)
    assert v0[0] == pytest.approx(0.9 + 0.81, rel=1e-12)


@pytest.mark.parametrize("compiled", [True, False])
def test_dyna_runs_stop_callback_and_episode_quota(compiled: bool) -> None:
    """A run stops for good at its quota of episodes even when stop says go on (checked first: a bug there would
    run the next call forever); ``stop(q, runs)`` sees the runs whose episode just ended, by index; the records
    end with the last run's last step."""
    env = gym.make("rlsuite/DynaMaze-v0")
    calls = []

    def go_on_at_first(q, runs):  # "go on" the first 4 times it is asked, then "stop"
        calls.append(len(runs))
        return np.full(len(runs), len(calls) > 4)

    quota = dyna_runs(sim_schedule(env), 2, 5, 0.1, 0.95, 0.1, np.random.default_rng(0), episodes=2,
                      stop=go_on_at_first, compiled=compiled)  # fmt: skip
    np.testing.assert_array_equal(quota.steps, quota.lengths.sum(axis=0))
    assert (quota.lengths > 0).all() and sum(calls) >= 4
    first_only = dyna_runs(sim_schedule(env), 2, 5, 0.1, 0.95, 0.1, np.random.default_rng(0), episodes=3,
                           stop=lambda q, runs: runs == 0, compiled=compiled)  # fmt: skip
    assert first_only.lengths.dtype == np.int64 and first_only.lengths.shape == (3, 2)
    assert first_only.lengths[1:, 0].tolist() == [0, 0] and (first_only.lengths[:, 1] > 0).all()
    np.testing.assert_array_equal(first_only.steps, first_only.lengths.sum(axis=0))
    always = dyna_runs(sim_schedule(env), 2, 5, 0.1, 0.95, 0.1, np.random.default_rng(0), total_steps=20_000,
                       stop=lambda q, runs: np.ones(len(runs), bool), compiled=compiled)  # fmt: skip
    assert always.rewards.shape == (always.steps.max(), 2) and always.steps.max() < 20_000
    assert always.rewards.sum(axis=0).tolist() == [1.0, 1.0]  # one episode each, its one reward at the goal


def test_dyna_runs_array_code_counts_in_integers() -> None:
    env = gym.make("rlsuite/DynaMaze-v0")
    res = dyna_runs(sim_schedule(env), 2, 5, 0.1, 0.95, 0.1, np.random.default_rng(0), episodes=1, compiled=False)
    assert res.lengths.dtype == np.int64 and res.steps.dtype == np.int64
    np.testing.assert_array_equal(res.steps, res.lengths[0])


def test_prioritized_sweeping_seeds_the_envs_start() -> None:
    """A grid world whose episodes start at random: the agent's reset(seed) fixes the starts it plays."""
    agent = PrioritizedSweeping(gym.make("rlsuite/SBGridWorld4x4-v0"), PrioritizedSweepingConfig(planning_steps=2))
    history = agent.learn(300, seed=7)
    learner, rows = prioritized_sweeping_by_hand(gym.make("rlsuite/SBGridWorld4x4-v0"), agent.config, 300, 7)
    np.testing.assert_array_equal(agent.q_values, learner.q)
    assert list(zip(history["steps"], history["backups"], history["episode_length"], strict=True)) == rows


def test_start_cdf_of_a_drawn_start_ends_at_one() -> None:
    """Ten equally likely starts: the CDF is Generator.choice's (cumulative sums over their last, which is
    0.9999999999999999 before the division), ending at 1.0 exactly."""
    from rlsuite.agents.tabular import compiled
    from rlsuite.agents.tabular.sim import BatchSim

    S = 10
    sim = BatchSim(np.zeros((S, 1, 1), np.int64), np.zeros((S, 1, 1)), np.ones((S, 1, 1), bool), np.ones((S, 1, 1)),
                   np.zeros((S, 1)), np.full(S, 0.1))  # fmt: skip
    cdf = compiled.start_cdf(sim)
    assert compiled.start_of(sim) == -1 and cdf[-1] == 1.0 and np.cumsum(np.full(S, 0.1))[-1] < 1.0
    np.testing.assert_array_equal(cdf, np.cumsum(np.full(S, 0.1)) / np.cumsum(np.full(S, 0.1))[-1])


def test_dyna_runs_on_torch_stop_at_their_episode_quota() -> None:
    """The torch array code asks the device whether every run is done only now and then (``time_to_ask``), and
    still stops at the quota: each run's two episodes played, one goal reward each."""
    from rlsuite.common.backend import ArrayBackend

    backend = ArrayBackend("torch:cpu")
    backend.seed(np.random.default_rng(0))
    res = dyna_runs(sim_schedule(gym.make("rlsuite/DynaMaze-v0")), 2, 5, 0.1, 0.95, 0.1, backend, episodes=2)
    lengths, steps, rewards = (np.asarray(x) for x in (res.lengths, res.steps, res.rewards))
    assert lengths.shape == (2, 2) and (lengths > 0).all()
    np.testing.assert_array_equal(steps, lengths.sum(axis=0))
    assert rewards.sum(axis=0).tolist() == [2.0, 2.0]
