"""Monte Carlo prediction and Monte Carlo ES, pinned where the mutation run found them loose: Monte Carlo ES
replayed by hand from the same random draws, the batches, the history rows, the progress reports, the refusals."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from recording import RecordingReporter

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular import BlackjackMCES, FirstVisitMCPrediction, OffPolicyMCPrediction
from rlsuite.agents.tabular.mc_prediction import (
    BlackjackMCESConfig,
    MCPredictionConfig,
    OffPolicyMCPredictionConfig,
    ratio,
)
from rlsuite.common.backend import ArrayBackend
from rlsuite.common.errors import UsageError
from rlsuite.envs import blackjack as bj
from rlsuite.envs.random_walk import RandomWalkEnv


def mc_es_by_hand(seed: int, budget: int, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    """Monte Carlo ES (S&B 5.3) one game and one step at a time, drawing what the agent draws in its order."""
    rng = np.random.default_rng(seed)
    S = bj.N_STATES
    sums, counts, policy = np.zeros((S, 2)), np.zeros((S, 2)), bj.stick_on(20)
    done, mean_returns = 0, []
    while done < budget:
        n = min(batch, budget - done)
        initial = (rng.integers(12, 22, n), rng.integers(1, 11, n), rng.integers(0, 2, n))
        games = bj.play(policy, n, rng, initial=initial, first_action=rng.integers(0, 2, n))
        for j in range(n):
            seen = set()
            for t in range(games.states.shape[0]):
                pair = (int(games.states[t, j]), int(games.actions[t, j]))
                if games.alive[t, j] and pair not in seen:  # first visit; gamma 1: G is the final reward
                    seen.add(pair)
                    sums[pair] += games.reward[j]
                    counts[pair] += 1
        q = np.zeros((S, 2))
        np.divide(sums, counts, out=q, where=counts > 0)
        coins = rng.integers(0, 2, S)
        policy = np.array([coins[s] if np.isclose(q[s, 0], q[s, 1]) else int(q[s, 1] > q[s, 0]) for s in range(S)])
        done += n
        mean_returns.append(float(games.reward.mean()))
    return q, np.eye(2)[policy], counts, mean_returns


def test_mc_es_is_the_book_algorithm_on_the_same_draws(reporter: RecordingReporter) -> None:
    agent = BlackjackMCES(gym.make("Blackjack-v1"), BlackjackMCESConfig(batch=400))
    np.testing.assert_array_equal(agent.policy, np.eye(2)[bj.stick_on(20)])  # starts as stick on 20
    history = agent.learn(1000, seed=3)  # batches of 400, 400, 200
    q, pi, counts, mean_returns = mc_es_by_hand(3, 1000, 400)
    np.testing.assert_allclose(agent.q_values, q, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(agent.returns_count, counts)
    np.testing.assert_array_equal(agent.policy, pi)
    assert history["episodes"].tolist() == [400, 800, 1000]
    assert history["mean_return"].tolist() == mean_returns
    assert reporter.started == [("mc_es_blackjack", 1000, "episode")] and reporter.advances == [400, 400, 200]
    # the tie breaks fell both ways, and some pairs tie at values other than 0
    ties = np.isclose(q[:, 0], q[:, 1])
    assert {0, 1} <= set(pi[ties].argmax(1).tolist()) and (ties & (q[:, 0] != 0)).any()


def test_mc_es_learns_with_seed_0_by_default() -> None:
    runs = [BlackjackMCES(gym.make("Blackjack-v1"), BlackjackMCESConfig(batch=300)) for _ in range(2)]
    runs[0].learn(300)
    runs[1].learn(300, seed=0)
    np.testing.assert_array_equal(runs[0].q_values, runs[1].q_values)
    np.testing.assert_array_equal(runs[0].policy, runs[1].policy)


def test_mc_es_refuses_two_action_envs_that_are_not_blackjack() -> None:
    with pytest.raises(UsageError, match=r"^BlackjackMCES: plays Blackjack \(Blackjack-v1\), not RandomWalkEnv$"):
        BlackjackMCES(RandomWalkEnv())  # no spec: the class names it
    with pytest.raises(UsageError, match=r"not rlsuite/RandomWalk-v0$"):
        BlackjackMCES(gym.make("rlsuite/RandomWalk-v0"))


class _ThreeActionTuple(gym.Env):
    """Blackjack's observation space with three actions (a double-down, say)."""

    observation_space = gym.spaces.Tuple((gym.spaces.Discrete(32), gym.spaces.Discrete(11), gym.spaces.Discrete(2)))
    action_space = gym.spaces.Discrete(3)


def test_stick_20_needs_blackjacks_two_actions() -> None:
    with pytest.raises(UsageError, match=r"^FirstVisitMCPrediction: policy 'stick_20' is Blackjack's \(Blackjack-v1\); "
                       r"on this env choose policy 'uniform'$"):  # no exact model: not 'optimal'  # fmt: skip
        FirstVisitMCPrediction(_ThreeActionTuple())


def grid_agent(cls=FirstVisitMCPrediction, device: str = "cpu", **config) -> FirstVisitMCPrediction:
    config_cls = OffPolicyMCPredictionConfig if cls is OffPolicyMCPrediction else MCPredictionConfig
    return cls(gym.make("rlsuite/SBGridWorld4x4-v0"), config_cls(policy="optimal", **config), device=device)


def test_first_visit_mc_batches_rows_and_progress(reporter: RecordingReporter) -> None:
    agent = grid_agent(batch=4)
    np.testing.assert_array_equal(agent.state_values, np.zeros(16))  # nothing learned yet
    history = agent.learn(10, seed=5)
    assert history["episodes"].tolist() == [4, 8, 10]
    assert reporter.started == [("mc_prediction", 10, "episode")] and reporter.advances == [4, 4, 2]
    # the optimal policy is deterministic: every visited state's estimate is exact from the first batch on
    assert history["value_error"].tolist() == [0.0, 0.0, 0.0]
    # the rows' mean returns: the episodes replayed under the same seeds (the env's reset seeded once)
    replay = grid_agent(batch=4)
    backend = ArrayBackend("cpu")
    backend.seed(np.random.default_rng(5))
    means = []
    for n, first_seed in ((4, 5), (4, None), (2, None)):
        states, _, rewards, alive = replay.play(n, replay.pi, backend, first_seed)
        assert states.dtype == np.int64 and alive.dtype == bool and rewards.dtype == np.float64
        np.testing.assert_array_equal(rewards.sum(0), replay.v_pi[states[0]])  # gamma 1: G_0 = v_pi(S_0)
        means.append(float(rewards.sum(0).mean()))
    assert history["mean_return"].tolist() == means
    assert len(set(history["mean_return"].tolist())) > 1


def test_first_visit_mc_value_error_counts_states_seen_once() -> None:
    agent = grid_agent(batch=1)
    history = agent.learn(1, seed=0)  # one episode: each state it visits is seen once, the rest never
    assert history["value_error"].tolist() == [0.0]
    assert 0 < (agent.returns_count > 0).sum() < 16 and np.abs(agent.v_pi).max() > 0


def test_episodes_are_cut_at_max_steps() -> None:
    agent = FirstVisitMCPrediction(
        gym.make("rlsuite/SBGridWorld4x4-v0"), MCPredictionConfig(policy="uniform", max_steps=3)
    )
    backend = ArrayBackend("cpu")
    backend.seed(np.random.default_rng(0))
    states, actions, _, alive = agent.play(20, agent.pi, backend, 0)
    assert states.shape == (3, 20) and actions.dtype == np.int64 and alive[2].any()


def test_first_visit_mc_starts_each_episode_where_the_env_puts_it() -> None:
    agent = grid_agent()
    backend = ArrayBackend("cpu")
    backend.seed(np.random.default_rng(0))
    states, *_ = agent.play(5, agent.pi, backend, 7)
    env, starts = gym.make("rlsuite/SBGridWorld4x4-v0"), []
    for i in range(5):  # the env seeded once, then stepped along the (deterministic) policy
        obs, _ = env.reset(seed=7 if i == 0 else None)
        starts.append(int(obs))
        done = False
        while not done:
            obs, _, term, trunc, _ = env.step(int(agent.pi[int(obs)].argmax()))
            done = term or trunc
    assert states[0].tolist() == starts and len(set(starts)) > 1


@pytest.mark.parametrize("cls", [FirstVisitMCPrediction, OffPolicyMCPrediction])
def test_the_batch_size_only_changes_when_the_tables_are_updated(cls) -> None:
    """The episodes do not depend on the batch (a fixed behaviour policy), so the sums and counts after all of
    them do not either: a batch's update adds to them."""
    one, four = grid_agent(cls, batch=40), grid_agent(cls, batch=10)
    one.learn(40, seed=6)
    four.learn(40, seed=6)
    for name in ("returns_sum", "returns_count", *(("rho_sum",) if cls is OffPolicyMCPrediction else ())):
        np.testing.assert_allclose(getattr(four, name), getattr(one, name), rtol=1e-12)
    np.testing.assert_allclose(four.state_values, one.state_values, rtol=1e-12)


def test_ordinary_importance_sampling_divides_by_the_visits() -> None:
    agent = grid_agent(OffPolicyMCPrediction, weighting="ordinary", batch=10)
    np.testing.assert_array_equal(agent.behaviour(), np.full((16, 4), 0.25))  # uniformly random
    agent.learn(30, seed=2)
    seen = agent.returns_count > 0
    np.testing.assert_allclose(agent.state_values[seen], agent.returns_sum[seen] / agent.returns_count[seen])


def test_an_agent_keeps_the_device_it_was_given() -> None:
    for cls in (FirstVisitMCPrediction, OffPolicyMCPrediction):
        assert grid_agent(cls, device="torch:cpu").device == "torch:cpu"


def test_ratio_by_hand_in_numpy_and_torch() -> None:
    np.testing.assert_array_equal(ratio(np.array([[3.0, 4.0, 5.0], [6.0, 8.0, 1.0]]), np.array([1.5, 0.5, 0.0])),
                                  [[2.0, 8.0, 0.0], [4.0, 16.0, 0.0]])  # fmt: skip
    np.testing.assert_array_equal(ratio(np.array([3.0, 4.0, 5.0]), np.array([[1.5, 0.5, 0.0], [3.0, 2.0, 0.0]])),
                                  [[2.0, 8.0, 0.0], [1.0, 2.0, 0.0]])  # fmt: skip
    out = ratio(torch.tensor([3.0, 4.0, 5.0], dtype=torch.float64), torch.tensor([1.5, 0.5, 0.0], dtype=torch.float64))
    assert out.tolist() == [2.0, 8.0, 0.0]


def test_first_visit_mc_learns_with_seed_0_by_default() -> None:
    runs = [grid_agent(batch=5) for _ in range(2)]
    runs[0].learn(10)
    runs[1].learn(10, seed=0)
    np.testing.assert_array_equal(runs[0].returns_sum, runs[1].returns_sum)
    assert grid_agent(batch=5).learn(10, seed=1)["mean_return"].tolist() != runs[0].learn(10)["mean_return"].tolist()


def test_off_policy_mc_of_the_behaviour_policy_itself_is_first_visit_mc() -> None:
    """Target = behaviour = uniform: rho is 1 everywhere, the episodes are the same, and so are the sums and counts."""
    env = gym.make("rlsuite/SBGridWorld4x4-v0")
    on = FirstVisitMCPrediction(env, MCPredictionConfig(policy="uniform", batch=10, max_steps=30))
    off = OffPolicyMCPrediction(env, OffPolicyMCPredictionConfig(policy="uniform", batch=10, max_steps=30,
                                                                 weighting="ordinary"))  # fmt: skip
    on.learn(30, seed=4)
    off.learn(30, seed=4)
    np.testing.assert_array_equal(off.returns_count, on.returns_count)
    np.testing.assert_array_equal(off.rho_sum, on.returns_count)
    np.testing.assert_allclose(off.returns_sum, on.returns_sum, rtol=1e-12)
    np.testing.assert_allclose(off.state_values, on.state_values, rtol=1e-12)
    assert on.returns_count.sum() > 30
