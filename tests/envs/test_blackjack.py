"""rlsuite.envs.blackjack's batched games: the deck, the deal, the hand values, the rules on sure cases,
the book's example 5.4 value, and the one-line messages."""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pytest

from rlsuite.envs.blackjack import HIT, N_STATES, STICK, _cards, _total, play, state_index, stick_on

CARD_P = {c: (4 if c == 10 else 1) / 13 for c in range(1, 11)}  # an infinite deck: 1-9 and four tens


def exactly(message: str) -> str:
    """A ``match=`` pattern for exactly this one-line message."""
    return f"^{re.escape(message)}$"


def close_to(freq: float, p: float, n: int) -> bool:
    """A sample frequency within 5 standard errors of the exact probability ``p``."""
    return abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 1e-12


def test_cards_are_an_infinite_deck_with_four_tens() -> None:
    n = 130_000
    cards = _cards(np.random.default_rng(0), n)
    assert set(np.unique(cards)) == set(range(1, 11))
    for c, p in CARD_P.items():
        assert close_to(float((cards == c).mean()), p, n), c


def test_hand_values() -> None:
    total, usable = _total(np.array([1, 11, 12, 12, 20]), np.array([True, True, True, False, False]))
    np.testing.assert_array_equal(total, [11, 21, 12, 12, 20])
    np.testing.assert_array_equal(usable, [True, True, False, False, False])


def dealt_distribution() -> dict[tuple[int, bool], float]:
    """Exact law of the player's dealt hand (hit while the total is below 12): (total, usable ace) -> p."""
    out: dict[tuple[int, bool], float] = defaultdict(float)
    todo = {(0, False): 1.0}
    while todo:
        nxt: dict[tuple[int, bool], float] = defaultdict(float)
        for (raw, ace), p in todo.items():
            for c, pc in CARD_P.items():
                r, a = raw + c, ace or c == 1
                total = r + 10 if a and r + 10 <= 21 else r
                (nxt if total < 12 else out)[(r, a) if total < 12 else (total, a and r + 10 <= 21)] += p * pc
        todo = nxt
    return out


def test_the_deal_follows_the_exact_law_of_the_hands_and_the_dealer_card() -> None:
    n = 200_000
    games = play(stick_on(20), n, np.random.default_rng(1))
    first = games.states[0]
    total, rest = np.divmod(first, 22)
    dealer, usable = np.divmod(rest, 2)
    law = dealt_distribution()
    assert sum(law.values()) == pytest.approx(1.0, abs=1e-12)
    assert set(zip(total.tolist(), usable.astype(bool).tolist(), strict=True)) == set(law)
    for (t, u), p in law.items():
        assert close_to(float(((total == t) & (usable == u)).mean()), p, n), (t, u)
    for c, p in CARD_P.items():
        assert close_to(float((dealer == c).mean()), p, n), c


def test_hitting_a_hard_21_always_busts() -> None:
    n = 50
    for policy, first in ((np.full(N_STATES, STICK), HIT), (np.tile([0.0, 1.0], (N_STATES, 1)), None)):
        games = play(policy, n, np.random.default_rng(2), initial=(21, 1, False), first_action=first)
        np.testing.assert_array_equal(games.states, np.full((1, n), state_index(21, 1, 0)))
        np.testing.assert_array_equal(games.actions, np.full((1, n), HIT))
        np.testing.assert_array_equal(games.reward, np.full(n, -1.0))


def test_example_5_4_state_value() -> None:
    """Example 5.4: player 13 with a usable ace, dealer showing 2, stick on 20 or 21: value -0.27726
    (the book's 100 million episodes). Returns lie in [-1, 1]: 5 standard errors of 200,000 games < 0.011."""
    n = 200_000
    games = play(stick_on(20), n, np.random.default_rng(3), initial=(13, 2, True))
    assert abs(float(games.reward.mean()) - -0.27726) < 5 / np.sqrt(n)
    assert stick_on_20_value(13, True, 2) == pytest.approx(-0.27726, abs=1e-4)  # the exact value agrees


def dealer_law(up: int) -> dict[int, float]:
    """Exact law of the dealer's final total (22 for any bust) showing ``up``: the hidden card, then hits
    below 17 (a soft 17 sticks)."""
    out: dict[int, float] = defaultdict(float)
    todo = {(up, up == 1, True): 1.0}  # (raw, ace, must draw the hidden card)
    while todo:
        nxt: dict[tuple[int, bool, bool], float] = defaultdict(float)
        for (raw, ace, hidden), p in todo.items():
            total = raw + 10 if ace and raw + 10 <= 21 else raw
            if not hidden and total >= 17:
                out[min(total, 22)] += p
                continue
            for c, pc in CARD_P.items():
                nxt[(raw + c, ace or c == 1, False)] += p * pc
        todo = nxt
    return out


@pytest.mark.parametrize("up", [1, 2, 6])
def test_a_hand_that_stuck_is_scored_against_the_exact_dealer_law_while_others_play_on(up: int) -> None:
    """Even games stick on a hard 20 against the dealer's ``up`` card; odd ones hold a soft 12 (two aces)
    and hit, so they are still playing after the first step. Each 20 wins when the dealer ends under 20
    or busts, ties a 20 and loses to a 21, with the exact probabilities of the dealer's play."""
    n = 200_000
    odd = np.arange(n) % 2 == 1
    games = play(stick_on(20), n, np.random.default_rng(4 + up), initial=(np.where(odd, 12, 20), up, odd))
    assert games.actions[0, ~odd].tolist() == [STICK] * (n // 2) and games.alive[1, odd].all()
    law = dealer_law(up)
    assert sum(law.values()) == pytest.approx(1.0, abs=1e-12)
    stuck = games.reward[~odd]
    for value, p in ((1.0, law[17] + law[18] + law[19] + law[22]), (0.0, law[20]), (-1.0, law[21])):
        assert close_to(float((stuck == value).mean()), p, n // 2), value


def test_stick_on_table() -> None:
    policy = stick_on()
    np.testing.assert_array_equal(policy, stick_on(20))
    assert policy.shape == (N_STATES,)
    for total in range(32):
        want = STICK if total >= 20 else HIT
        assert policy[state_index(total, 10, 1)] == want and policy[state_index(total, 1, 0)] == want, total
    np.testing.assert_array_equal(stick_on(17)[state_index(17, np.arange(1, 11), 0)], [STICK] * 10)
    with pytest.raises(TypeError, match=exactly("threshold must be an integer, got 20.0 (float)")):
        stick_on(20.0)  # type: ignore[arg-type]


def test_play_messages() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=exactly("policy must have shape (704,) or (704, 2), got (3,)")):
        play(np.zeros(3, dtype=np.int64), 1, rng)
    with pytest.raises(ValueError, match=exactly("n must be an integer >= 1, got 0")):
        play(stick_on(), 0, rng)
    with pytest.raises(TypeError, match=exactly("n must be an integer, got 1.0 (float)")):
        play(stick_on(), 1.0, rng)  # type: ignore[arg-type]
    one = play(stick_on(), 1, rng, initial=(20, 5, False))
    assert one.reward.shape == (1,) and one.actions.tolist() == [[STICK]]


def stick_on_20_value(total: int, usable: bool, up: int) -> float:
    """Exact expected reward of stick-on-20 from a hand (``total``, ``usable`` ace) against the dealer's ``up``."""
    law = dealer_law(up)

    def value(raw: int, ace: bool) -> float:
        t = raw + 10 if ace and raw + 10 <= 21 else raw
        if t > 21:
            return -1.0
        if t >= 20:
            return sum(p * (1.0 if d == 22 or d < t else 0.0 if d == t else -1.0) for d, p in law.items())
        return sum(pc * value(raw + c, ace or c == 1) for c, pc in CARD_P.items())

    return value(total - 10 * usable, usable)


@pytest.mark.parametrize(("total", "up"), [(13, 2), (12, 6), (15, 10)])
def test_hard_hands_hitting_to_20_match_their_exact_values(total: int, up: int) -> None:
    """Hands without an ace that hit (aces drawn then count 11 when they fit) against a dealer who may draw
    aces too: the mean reward of 200,000 games within 5 standard errors (returns in [-1, 1]) of the exact value."""
    n = 200_000
    games = play(stick_on(20), n, np.random.default_rng(total), initial=(total, up, False))
    assert abs(float(games.reward.mean()) - stick_on_20_value(total, False, up)) < 5 / np.sqrt(n)


def test_the_dealer_law_showing_7_to_a_tenth_of_a_percent() -> None:
    """A million hard 20s stick against a 7: the tie rate is the dealer's exact P(20) within 5 standard
    errors (0.0016): fine enough to see an ace drawn late counted wrong (which moves it by 0.004)."""
    n = 1_000_000
    games = play(stick_on(20), n, np.random.default_rng(7), initial=(20, 7, False))
    law = dealer_law(7)
    for value, p in ((1.0, law[17] + law[18] + law[19] + law[22]), (0.0, law[20]), (-1.0, law[21])):
        assert close_to(float((games.reward == value).mean()), p, n), value


def test_actions_are_int64_and_sampled_per_game() -> None:
    """Whatever the first actions' integer type (sticking at once: no action of the policy) or the policy's kind,
    the actions are int64 indices; a stochastic policy draws each game's action apart (hit with probability 1/2:
    about half the games hit)."""
    n = 2000
    coin = np.full((N_STATES, 2), 0.5)
    for policy, first in ((np.full(N_STATES, HIT), np.full(n, STICK, dtype=np.int32)), (coin, None)):
        games = play(policy, n, np.random.default_rng(3), initial=(12, 5, False), first_action=first)
        assert games.actions.dtype == np.int64
    assert close_to(float(games.actions[0].mean()), 0.5, n)
