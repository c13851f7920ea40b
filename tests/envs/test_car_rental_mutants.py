"""Jack's car rental (rlsuite.envs.car_rental): exact Poisson probabilities, the exact one-location
transitions on a tiny instance, deterministic days, and the one-line messages."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from rlsuite.envs.car_rental import CarRentalEnv, poisson_pmf

E1, E2 = math.exp(-1), math.exp(-2)


def exactly(message: str) -> str:
    """A ``match=`` pattern for exactly this one-line message."""
    return f"^{re.escape(message)}$"


def test_poisson_pmf_exact_values() -> None:
    np.testing.assert_allclose(poisson_pmf(2.0, 3), [E2, 2 * E2, 2 * E2, 1 - 5 * E2], rtol=1e-14)
    np.testing.assert_allclose(poisson_pmf(2.0, 3, lump_tail=False), [E2, 2 * E2, 2 * E2, 4 / 3 * E2], rtol=1e-14)
    np.testing.assert_allclose(poisson_pmf(0.5, 1, lump_tail=False), [math.exp(-0.5), 0.5 * math.exp(-0.5)])
    np.testing.assert_array_equal(poisson_pmf(0.0, 2), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(poisson_pmf(0.0, 2, lump_tail=False), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(poisson_pmf(1.0, 0), [1.0])
    np.testing.assert_allclose(poisson_pmf(1.0, 0, lump_tail=False), [E1], rtol=1e-14)


def test_poisson_pmf_messages() -> None:
    with pytest.raises(ValueError, match=exactly("lam must be >= 0, got -1.0")):
        poisson_pmf(-1.0, 3)
    with pytest.raises(ValueError, match=exactly("upper must be an integer >= 0, got -1")):
        poisson_pmf(1.0, -1)
    with pytest.raises(TypeError, match=exactly("upper must be an integer, got 1.0 (float)")):
        poisson_pmf(1.0, 1.0)  # type: ignore[arg-type]


def test_tiny_rental_transitions_with_the_tails_dropped() -> None:
    """One car per location at most, Poisson(1) requests and returns cut at 1 (P(1) = e^-1 kept, the
    tail dropped): from 0 cars each location ends at 0 or 1 with 2e^-2 each; from 1 car at 0 with e^-2
    (rented, none back) and at 1 with 3e^-2."""
    env = CarRentalEnv(max_cars=1, max_move=0, rent_means=(1.0, 1.0), return_means=(1.0, 1.0),
                       poisson_upper=1, poisson_tail="drop")  # fmt: skip
    one = np.array([[2 * E2, 2 * E2], [E2, 3 * E2]])
    want = (one[:, None, :, None] * one[None, :, None, :]).reshape(4, 4)  # state n1 * 2 + n2
    np.testing.assert_allclose(env.transition_probs[:, 0, :], want, rtol=1e-14)


def test_a_day_without_rentals_is_deterministic_with_constant_returns() -> None:
    env = CarRentalEnv(max_cars=5, max_move=2, rent_means=(0.0, 0.0), return_means=(1.0, 2.0),
                       constant_returns=True, move_cost=3.0, render_mode="ansi")  # fmt: skip
    env.reset(seed=0, options={"start": env.to_state(4, 0)})
    assert env.render() == f"state {env.to_state(4, 0)}\n"
    state, reward, terminated, truncated, info = env.step(4)  # move 2 cars to the second location
    assert (int(state), reward, terminated, truncated, info) == (env.to_state(3, 4), -6.0, False, False,
                                                                 {"state": env.to_state(3, 4)})  # fmt: skip
    state, reward, *_ = env.step(0)  # move 2 back
    assert (int(state), reward) == (env.to_state(5, 4), -6.0)  # 3 + 2 + 1 back, capped at 5


def test_rented_cars_leave_the_location() -> None:
    """Requests only at the first location and no returns: each day's income is 10 per car rented
    there, and exactly those cars are gone."""
    env = CarRentalEnv(max_cars=20, rent_means=(3.0, 0.0), return_means=(0.0, 0.0), constant_returns=True)
    env.reset(seed=1, options={"start": env.to_state(20, 7)})
    n1, rented = 20, 0
    for _ in range(6):
        state, reward, *_ = env.step(5)  # no move
        rented += round(reward / 10)
        n1 = 20 - rented
        assert int(state) == env.to_state(n1, 7)
    assert rented > 0


def test_random_returns_are_poisson_draws_not_their_mean() -> None:
    env = CarRentalEnv(max_cars=20, rent_means=(0.0, 0.0), return_means=(1.0, 0.0))
    back = []
    for seed in range(30):
        env.reset(seed=seed, options={"start": env.to_state(0, 0)})
        back.append(divmod(int(env.step(5)[0]), 21)[0])
    assert set(back) >= {0, 1, 2}


def test_defaults_and_edge_arguments() -> None:
    env = CarRentalEnv()
    assert (env.constant_returns, env.poisson_tail, env.max_move, env.poisson_upper) == (False, "lump", 5, 10)
    assert CarRentalEnv(max_cars=2, max_move=2).n_actions == 5
    assert CarRentalEnv(max_cars=2, max_move=0).n_actions == 1
    assert CarRentalEnv(max_cars=2, max_move=1, poisson_upper=1).poisson_upper == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_move": -1}, ValueError, "max_move must be an integer >= 0, got -1"),
        ({"max_move": 1.0}, TypeError, "max_move must be an integer, got 1.0 (float)"),
        ({"rent_credit": "x"}, TypeError, "rent_credit must be a number, got 'x' (str)"),
        ({"move_cost": "x"}, TypeError, "move_cost must be a number, got 'x' (str)"),
        ({"poisson_upper": 0}, ValueError, "poisson_upper must be an integer >= 1, got 0"),
        ({"poisson_upper": 1.0}, TypeError, "poisson_upper must be an integer, got 1.0 (float)"),
    ],
)
def test_messages(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=exactly(message)):
        CarRentalEnv(**{"max_cars": 2, "max_move": 1, **kwargs})
