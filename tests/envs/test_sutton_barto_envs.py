"""Sutton & Barto's chapter 3-5 envs: their exact models against the book's printed numbers and the policies
ShangtongZhang's reference code computes (run here once; see docs/sutton_barto.md)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.solvers import policy_evaluation, value_iteration
from rlsuite.app.reproduce.sutton_barto_ch3_5 import (
    BOOK_FIG_3_2,
    BOOK_FIG_3_5,
    BOOK_FIG_4_1,
    _printed,
    car_rental_policy_iteration,
    gambler_value_iteration,
    iterative_policy_evaluation,
)
from rlsuite.envs.model import tabular_model

IDS = ["rlsuite/SBGridWorld-v0", "rlsuite/SBGridWorld4x4-v0", "rlsuite/CarRental-v0", "rlsuite/Gambler-v0",
       "rlsuite/InfiniteVariance-v0"]  # fmt: skip

# pi_4 of figure 4.2 as chapter04/car_rental.py computes it (constant returns, Poisson tails dropped): cars
# moved from the first location to the second; row i = i cars at the first location, column j = j at the second.
REFERENCE_CAR_RENTAL_PI4 = [
    "+0 +0 +0 +0 +0 +0 +0 +0 -1 -1 -2 -2 -2 -3 -3 -3 -3 -3 -4 -4 -4",
    "+0 +0 +0 +0 +0 +0 +0 +0 +0 -1 -1 -1 -2 -2 -2 -2 -2 -3 -3 -3 -3",
    "+0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 -1 -1 -1 -1 -1 -2 -2 -2 -2 -2",
    "+0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 -1 -1 -1 -1 -1 -1",
    "+1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 -1",
    "+1 +1 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+2 +2 +1 +1 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+3 +2 +2 +2 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+3 +3 +3 +2 +1 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+4 +4 +3 +2 +2 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +4 +3 +3 +2 +1 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +4 +4 +3 +2 +2 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +5 +4 +3 +3 +2 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +5 +4 +4 +3 +2 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +5 +5 +4 +3 +2 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +5 +5 +4 +3 +2 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +5 +5 +4 +3 +2 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +5 +5 +4 +3 +2 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +5 +5 +4 +3 +2 +1 +1 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +5 +5 +4 +3 +2 +2 +1 +1 +1 +1 +1 +1 +0 +0 +0 +0 +0 +0 +0 +0",
    "+5 +5 +5 +4 +3 +3 +2 +2 +2 +2 +2 +2 +1 +1 +1 +1 +1 +1 +0 +0 +0",
]
# figure 4.3's final policy as chapter04/gamblers_problem.py computes it (stake per capital 0..100)
REFERENCE_GAMBLER_POLICY = (
    [0, *range(1, 13), *range(12, 0, -1), 25, *range(1, 13), *range(12, 0, -1), 50,
     *range(1, 13), *range(12, 0, -1), 25, *range(1, 13), *range(12, 0, -1), 0]
)  # fmt: skip


def _pi4(rows: list[str]) -> np.ndarray:
    return np.array([[int(x) for x in row.split()] for row in rows])


@pytest.mark.parametrize("env_id", IDS)
def test_the_model_is_a_distribution_and_matches_P(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    T = env._T
    np.testing.assert_allclose(T.sum(axis=2), 1.0, atol=1e-12)
    model = tabular_model(gym.make(env_id))
    s, a = env.n_states // 2, env.n_actions - 1
    outcomes = env.P[s][a]
    assert sum(p for p, *_ in outcomes) == pytest.approx(1.0)
    assert sum(p * r for p, _, r, _ in outcomes) == pytest.approx(model.expected_rewards[s, a])


@pytest.mark.parametrize("env_id", ["rlsuite/SBGridWorld4x4-v0", "rlsuite/Gambler-v0", "rlsuite/InfiniteVariance-v0"])
def test_P_read_as_gymnasiums_toy_text_gives_the_same_model(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    S, A = env.n_states, env.n_actions
    T, R = np.zeros((S, A, S)), np.zeros((S, A))
    for s in env.P:  # FrozenLake's reading: terminated outcomes lead nowhere
        for a, outcomes in env.P[s].items():
            for p, ns, r, done in outcomes:
                R[s, a] += p * r
                T[s, a, ns] += 0.0 if done else p
    np.testing.assert_allclose(T, env.tabular_model.transition_probs, atol=1e-15)
    np.testing.assert_allclose(R, env.tabular_model.expected_rewards, atol=1e-15)
    assert len(env.P) == S


def test_figure_3_2_and_3_5_values_are_the_books_to_the_printed_decimal() -> None:
    model = gym.make("rlsuite/SBGridWorld-v0").unwrapped.tabular_model
    v_random = policy_evaluation(model, np.full((25, 4), 0.25), 0.9)
    np.testing.assert_array_equal(_printed(v_random.reshape(5, 5)), BOOK_FIG_3_2)
    v_star, _, _ = value_iteration(model, gamma=0.9)
    np.testing.assert_array_equal(_printed(v_star.reshape(5, 5)), BOOK_FIG_3_5)


def test_the_teleports_and_the_edge() -> None:
    env = gym.make("rlsuite/SBGridWorld-v0").unwrapped
    assert env.P[1][0] == [(1.0, 21, 10.0, False)]  # A -> A' whatever the action
    assert env.P[3][2] == [(1.0, 13, 5.0, False)]  # B -> B'
    assert env.P[0][3] == [(1.0, 0, -1.0, False)]  # off the grid: stay, -1
    assert env.P[6][1] == [(1.0, 7, 0.0, False)]


def test_figure_4_1_values_are_the_books_to_the_printed_precision() -> None:
    history = iterative_policy_evaluation(gym.make("rlsuite/SBGridWorld4x4-v0").unwrapped, 1000)
    for label, k in {"0": 0, "1": 1, "2": 2, "3": 3, "10": 10}.items():
        np.testing.assert_array_equal(_printed(history[k].reshape(4, 4), 1), BOOK_FIG_4_1[label], err_msg=label)
    np.testing.assert_array_equal(_printed(history[-1].reshape(4, 4), 0), BOOK_FIG_4_1["inf"])
    model = gym.make("rlsuite/SBGridWorld4x4-v0").unwrapped.tabular_model
    np.testing.assert_allclose(policy_evaluation(model, np.full((16, 4), 0.25), 1.0), history[-1], atol=1e-9)


def test_car_rental_policy_iteration_gives_the_reference_codes_pi4_exactly() -> None:
    env = gym.make("rlsuite/CarRental-v0", constant_returns=True, poisson_tail="drop").unwrapped
    policies, _ = car_rental_policy_iteration(env)
    assert len(policies) == 5  # pi_0 .. pi_4, pi_4 stable
    np.testing.assert_array_equal(env.moves[policies[-1]].reshape(21, 21), _pi4(REFERENCE_CAR_RENTAL_PI4))


def test_car_rental_book_model_is_stable_after_four_improvements_and_moves_toward_the_second_location() -> None:
    env = gym.make("rlsuite/CarRental-v0").unwrapped
    policies, v = car_rental_policy_iteration(env)
    assert len(policies) == 5
    pi4 = env.moves[policies[-1]].reshape(21, 21)
    assert pi4[20, 0] == 5 and pi4[0, 20] == -4 and pi4[10, 10] == 0  # the corners and centre of the book's pi_4
    assert v.max() == pytest.approx(v.reshape(21, 21)[20, 20])


def test_car_rental_rows_are_the_outer_product_of_the_locations_and_step_earns_the_expected_income() -> None:
    env = gym.make("rlsuite/CarRental-v0").unwrapped
    s, a = env.to_state(7, 12), 5 + 2  # move 2 cars from the first location to the second
    (t1, rented1), (t2, rented2) = env._locations
    np.testing.assert_allclose(env.transition_probs[s, a].reshape(21, 21), np.outer(t1[5], t2[14]), atol=1e-15)
    assert env.expected_rewards[s, a] == pytest.approx(10 * (rented1[5] + rented2[14]) - 4)
    env.reset(seed=0)
    rewards = []
    for _ in range(4000):
        env.s = s
        rewards.append(env.step(a)[1])
    assert np.mean(rewards) == pytest.approx(env.expected_rewards[s, a], abs=4 * np.std(rewards) / np.sqrt(4000))


def test_gambler_value_iteration_gives_the_reference_codes_policy() -> None:
    env = gym.make("rlsuite/Gambler-v0").unwrapped
    sweeps, policy = gambler_value_iteration(env)
    assert policy.tolist() == REFERENCE_GAMBLER_POLICY
    assert sweeps[-1][50] == pytest.approx(0.4)  # all in at 50 wins with p_h
    assert sweeps[-1][25] == pytest.approx(0.4 * 0.4)


def test_infinite_variance_mdp_values_and_sampling() -> None:
    env = gym.make("rlsuite/InfiniteVariance-v0").unwrapped
    v_left = policy_evaluation(env.tabular_model, np.array([[1.0, 0.0], [1.0, 0.0]]), 1.0)
    assert v_left[0] == pytest.approx(1.0)
    env.reset(seed=3)
    lengths = []
    for _ in range(3000):
        env.reset()
        n, done = 0, False
        while not done:
            _, _, done, _, _ = env.step(0)
            n += 1
        lengths.append(n)
    assert np.mean(lengths) == pytest.approx(10.0, abs=4 * 9.5 / np.sqrt(3000))  # geometric, mean 1/0.1


@pytest.mark.parametrize("env_id", IDS)
def test_reset_start_option_and_seeded_episodes(env_id: str) -> None:
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0, options={"start": 1})
    assert int(obs) == 1
    a = [env.reset(seed=5)[0]] + [env.step(1)[0] for _ in range(3)]
    b = [env.reset(seed=5)[0]] + [env.step(1)[0] for _ in range(3)]
    assert a == b
