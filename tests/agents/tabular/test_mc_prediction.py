"""Monte Carlo prediction (S&B ch. 5): the estimators by hand, the agents against exact values, Blackjack-v1
through the index map, and the batched Blackjack games against gymnasium's own env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular import FirstVisitMCPrediction, OffPolicyMCPrediction, TabularAgent
from rlsuite.agents.tabular.mc_prediction import (
    MCPredictionConfig,
    OffPolicyMCPredictionConfig,
    first_visit_sums,
    importance_ratios,
    off_policy_sums,
)
from rlsuite.agents.tabular.solvers import greedy_policy, policy_evaluation
from rlsuite.envs import blackjack as bj
from rlsuite.envs.wrappers import DiscreteIndexObservation

# two episodes [T, N]: 0 -> 1 -> 0 (rewards 1, 2, 3) and 2 -> 1 (rewards 5, 7), gamma 0.5
STATES = np.array([[0, 2], [1, 1], [0, 0]])
ACTIONS = np.array([[1, 0], [0, 1], [1, 0]])
REWARDS = np.array([[1.0, 5.0], [2.0, 7.0], [3.0, 0.0]])
ALIVE = np.array([[True, True], [True, True], [True, False]])


def test_first_visit_sums_by_hand() -> None:
    sums, counts = first_visit_sums(STATES, REWARDS, ALIVE, 0.5, 3)
    # episode 1: G_0 = 1 + 0.5 * 2 + 0.25 * 3 = 2.75 (state 0, first visit), G_1 = 2 + 1.5 = 3.5 (state 1)
    # episode 2: G_0 = 5 + 3.5 = 8.5 (state 2), G_1 = 7 (state 1)
    np.testing.assert_allclose(sums, [2.75, 10.5, 8.5])
    np.testing.assert_array_equal(counts, [1, 2, 1])


def test_importance_sampling_sums_by_hand() -> None:
    target = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])  # state 0: action 1; state 1: action 0
    behaviour = np.full((3, 2), 0.5)
    rho = importance_ratios(STATES, ACTIONS, ALIVE, target, behaviour)
    # episode 1 follows the target at every step: rho_{t:T-1} = 2^(T - t); episode 2 leaves it at t = 1
    np.testing.assert_allclose(rho, [[8.0, 0.0], [4.0, 0.0], [2.0, 1.0]])
    weighted, rhos, counts = off_policy_sums(STATES, ACTIONS, REWARDS, ALIVE, target, behaviour, 0.5, 3)
    np.testing.assert_allclose(weighted, [8 * 2.75, 4 * 3.5, 0.0])
    np.testing.assert_allclose(rhos, [8.0, 4.0, 0.0])
    np.testing.assert_array_equal(counts, [1, 2, 1])


def test_first_visit_mc_of_a_deterministic_policy_is_exact() -> None:
    env = gym.make("rlsuite/SBGridWorld4x4-v0")
    agent = FirstVisitMCPrediction(env, MCPredictionConfig(policy="optimal", batch=50))
    history = agent.learn(200, seed=0)
    v_pi = policy_evaluation(env.unwrapped.tabular_model, greedy_policy(agent.q_star), 1.0)
    np.testing.assert_allclose(agent.state_values, v_pi, atol=1e-12)
    assert history.last()["value_error"] == 0.0 and history["episodes"].tolist() == [50, 100, 150, 200]


def test_weighted_importance_sampling_of_a_deterministic_target_is_exact_where_it_has_data() -> None:
    env = gym.make("rlsuite/SBGridWorld4x4-v0")
    agent = OffPolicyMCPrediction(env, OffPolicyMCPredictionConfig(policy="optimal", weighting="weighted"))
    agent.learn(300, seed=1)
    v_pi = policy_evaluation(env.unwrapped.tabular_model, agent.policy, 1.0)
    has_data = agent.rho_sum > 0
    assert has_data.sum() >= 12  # most states are followed by a target-policy tail at least once
    np.testing.assert_allclose(agent.state_values[has_data], v_pi[has_data], atol=1e-12)


def test_ordinary_importance_sampling_is_the_mean_of_rho_g_over_visits() -> None:
    env = gym.make("rlsuite/SBGridWorld4x4-v0")
    ordinary = OffPolicyMCPrediction(env, OffPolicyMCPredictionConfig(policy="optimal", weighting="ordinary"))
    weighted = OffPolicyMCPrediction(env, OffPolicyMCPredictionConfig(policy="optimal", weighting="weighted"))
    ordinary.learn(200, seed=2)
    weighted.learn(200, seed=2)  # the same episodes: the same sums, divided by counts or by sum rho
    seen = ordinary.returns_count > 0
    np.testing.assert_allclose(ordinary.returns_sum, weighted.returns_sum)
    np.testing.assert_allclose(ordinary.state_values[seen], ordinary.returns_sum[seen] / ordinary.returns_count[seen])
    np.testing.assert_allclose(ordinary.state_values[seen] * ordinary.returns_count[seen],
                               weighted.state_values[seen] * weighted.rho_sum[seen], atol=1e-9)  # fmt: skip


def test_the_index_map_flattens_blackjacks_tuple_and_multidiscrete() -> None:
    env = DiscreteIndexObservation(gym.make("Blackjack-v1"))
    assert env.observation_space == gym.spaces.Discrete(704)
    assert env.observation((14, 10, 0)) == 14 * 22 + 10 * 2 == bj.state_index(14, 10, 0)
    np.testing.assert_array_equal(env.components(bj.state_index(np.array([20, 13]), np.array([1, 7]), [1, 0])),
                                  [[20, 1, 1], [13, 7, 0]])  # fmt: skip
    coords = DiscreteIndexObservation(gym.make("rlsuite/GridWorld-v0", observation="coords"))
    coords.reset(seed=0, options={"start": 13})
    assert coords.observation(np.array([2, 3])) == 13 and coords.observation_space.n == 25


def test_a_tabular_agent_takes_blackjack_and_replays_it(tmp_path) -> None:
    agent = FirstVisitMCPrediction(gym.make("Blackjack-v1"))
    assert agent.n_states == 704 and isinstance(agent.env, DiscreteIndexObservation)
    agent.learn(300, seed=0)
    agent.save(tmp_path / "agent")
    loaded = TabularAgent.load(tmp_path / "agent")
    np.testing.assert_array_equal(loaded.state_values, agent.state_values)
    sums = agent.env.components(np.arange(704))[:, 0]
    np.testing.assert_array_equal(agent.predict(np.arange(704))[0], np.where(sums >= 20, bj.STICK, bj.HIT))


@pytest.mark.slow
def test_gymnasiums_blackjack_and_the_batched_games_give_the_same_values() -> None:
    """The agent on gymnasium's Blackjack-v1 against first-visit MC on 500,000 batched games: every state the
    agent saw 100 times or more agrees within 4 standard errors (returns lie in [-1, 1])."""
    from rlsuite.app.reproduce.sutton_barto_ch3_5 import blackjack_prediction

    agent = FirstVisitMCPrediction(gym.make("Blackjack-v1"), MCPredictionConfig(batch=1000))
    agent.learn(12_000, seed=0)
    batched = blackjack_prediction(500_000, np.random.default_rng(0))
    often = agent.returns_count >= 100
    sums = agent.env.components(np.arange(704))[:, 0]
    often &= sums >= 12  # the batched games deal up to 12
    assert often.sum() >= 40
    se = 1.0 / np.sqrt(agent.returns_count[often])
    assert np.all(np.abs(agent.state_values[often] - batched[often]) <= 4 * se)


def test_batched_blackjack_rules_by_hand() -> None:
    rng = np.random.default_rng(0)
    stick = np.zeros(bj.N_STATES, dtype=np.int64)
    games = bj.play(stick, 20_000, rng, initial=(21, 10, 0))  # stick on 21 vs a ten: win unless the dealer gets 21
    assert games.states.shape == (1, 20_000) and set(np.unique(games.reward)) <= {0.0, 1.0}
    # a draw when the dealer ends on 21: from a ten showing, 1/13 (a hidden ace) + 0.0345 (21 with 3+ cards)
    # = 0.1114 (the standard infinite-deck table, dealer standing on all 17s)
    assert (games.reward == 0).mean() == pytest.approx(0.1114, abs=4 * np.sqrt(0.1114 * 0.8886 / 20_000))
    hit = np.ones(bj.N_STATES, dtype=np.int64)
    busts = bj.play(hit, 1000, rng)
    assert np.all(busts.reward == -1.0)  # always hitting always busts
    assert np.all(busts.states[0] // 22 >= 12)  # dealt up to 12


def test_mc_es_on_blackjack_saves_loads_and_is_reproducible(tmp_path) -> None:
    from rlsuite.agents.tabular import BlackjackMCES
    from rlsuite.agents.tabular.mc_prediction import BlackjackMCESConfig

    runs = []
    for _ in range(2):
        agent = BlackjackMCES(gym.make("Blackjack-v1"), BlackjackMCESConfig(batch=1000))
        history = agent.learn(5000, seed=4)
        runs.append(agent.q_values)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert history["episodes"].tolist() == [1000, 2000, 3000, 4000, 5000]
    # every first visit counted: 5000 episodes start in a (state, action) pair each
    assert agent.returns_count.sum() >= 5000 and agent.returns_count[bj.state_index(21, 5, 0), bj.STICK] > 0
    np.testing.assert_allclose(agent.q_values[agent.returns_count > 0],
                               (agent.returns_sum / np.maximum(agent.returns_count, 1))[agent.returns_count > 0])
    agent.save(tmp_path / "agent")
    loaded = TabularAgent.load(tmp_path / "agent")
    np.testing.assert_array_equal(loaded.q_values, agent.q_values)
    np.testing.assert_array_equal(loaded.policy, agent.policy)
