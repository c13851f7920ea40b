"""Many Blackjack games at once, in numpy: the batched counterpart of gymnasium's ``Blackjack-v1``.

Sutton & Barto's figures 5.1-5.3 need up to 500,000 episodes; gymnasium's env (reused as is for
``rlsuite train``) plays one card per Python call. :func:`play` plays ``n`` games in array operations
under the same rules: an infinite deck (1-9 and four tens), the dealer hits below 17 and sticks on
soft 17, no bonus for a natural (gymnasium's defaults ``natural=False, sab=False``, and
ShangtongZhang's code). As in the book, the player's hand is dealt up to a sum of at least 12 (below
12 the player always hits). States are gymnasium's observation ``(player_sum, dealer_card,
usable_ace)`` flattened to ``player_sum * 22 + dealer_card * 2 + usable_ace``, as
:class:`rlsuite.envs.wrappers.DiscreteIndexObservation` flattens it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlsuite.envs import checks

STICK, HIT = 0, 1  # gymnasium's actions
N_STATES = 32 * 11 * 2  # Tuple(Discrete(32), Discrete(11), Discrete(2)), flattened


def state_index(player_sum: np.ndarray, dealer_card: np.ndarray, usable_ace: np.ndarray) -> np.ndarray:
    """Flat state index of ``(player_sum, dealer_card, usable_ace)``."""
    return (np.asarray(player_sum) * 11 + np.asarray(dealer_card)) * 2 + np.asarray(usable_ace, dtype=np.int64)


def stick_on(threshold: int = 20) -> np.ndarray:
    """The book's example policy as a table [N_STATES]: stick on ``threshold`` or more, else hit."""
    checks.integer("threshold", threshold)
    player_sum = np.arange(N_STATES) // 22
    return np.where(player_sum >= threshold, STICK, HIT)


@dataclass
class Games:
    """``n`` played games: ``states``/``actions`` [T, n] (``alive`` marks the real steps), ``reward`` [n]."""

    states: np.ndarray
    actions: np.ndarray
    alive: np.ndarray
    reward: np.ndarray


def _cards(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.minimum(rng.integers(1, 14, n), 10)


def _total(raw: np.ndarray, ace: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hand value and whether an ace counts 11, from the sum with aces as 1 and whether it holds an ace."""
    usable = ace & (raw + 10 <= 21)
    return raw + 10 * usable, usable


def play(
    policy: np.ndarray,
    n: int,
    rng: np.random.Generator,
    initial: tuple[np.ndarray | int, np.ndarray | int, np.ndarray | bool] | None = None,
    first_action: np.ndarray | int | None = None,
) -> Games:
    """Play ``n`` games; the player's action in state ``s`` is ``policy[s]`` (0 stick, 1 hit), or sampled
    from ``policy[s]`` when it is a [N_STATES, 2] array of probabilities.

    Args:
        policy: [N_STATES] actions or [N_STATES, 2] probabilities.
        n: games.
        rng: the random numbers.
        initial: ``(player_sum in 12..21, dealer_card in 1..10, usable_ace)`` to start from (scalars or
            [n] arrays; the dealer's hidden card is drawn), else dealt (the player hits up to 12).
        first_action: the first action of each game (exploring starts), else the policy's.
    """
    policy = checks.policy_table("policy", policy, N_STATES, 2)
    checks.integer("n", n, 1)
    if initial is None:
        raw, ace = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        total = raw
        while (low := total < 12).any():
            c = _cards(rng, int(low.sum()))
            raw[low] += c
            ace[low] |= c == 1
            total, _ = _total(raw, ace)
        dealer = _cards(rng, n)
    else:
        total0, dealer, usable0 = (np.broadcast_to(np.asarray(x), (n,)).astype(np.int64) for x in initial)
        ace = usable0.astype(bool)
        raw = total0 - 10 * ace
    dealer_hidden = _cards(rng, n)
    stochastic = policy.ndim == 2
    states, actions, alive = [], [], []
    live = np.ones(n, dtype=bool)
    reward = np.zeros(n)
    stuck = np.zeros(n, dtype=bool)
    t = 0
    while live.any():
        total, usable = _total(raw, ace)
        s = state_index(total, dealer, usable)
        if t == 0 and first_action is not None:
            a = np.broadcast_to(np.asarray(first_action, dtype=np.int64), (n,)).copy()
        elif stochastic:
            a = (rng.random(n) < policy[s, HIT]).astype(np.int64)
        else:
            a = policy[s].astype(np.int64)
        states.append(s)
        actions.append(a)
        alive.append(live.copy())
        hit = live & (a == HIT)
        stuck |= live & (a == STICK)
        c = _cards(rng, n)
        raw = np.where(hit, raw + c, raw)
        ace = ace | (hit & (c == 1))
        bust = hit & (_total(raw, ace)[0] > 21)
        reward[bust] = -1.0
        live = hit & ~bust
        t += 1
    # the dealer plays out the hands of the players who stuck
    d_raw = dealer + dealer_hidden
    d_ace = (dealer == 1) | (dealer_hidden == 1)
    while (draw := stuck & (_total(d_raw, d_ace)[0] < 17)).any():
        c = _cards(rng, n)
        d_raw = np.where(draw, d_raw + c, d_raw)
        d_ace = d_ace | (draw & (c == 1))
    d_total = _total(d_raw, d_ace)[0]
    p_total = _total(raw, ace)[0]
    score = np.where(d_total > 21, 1.0, np.sign(p_total - d_total))
    reward[stuck] = score[stuck]
    return Games(np.array(states), np.array(actions), np.array(alive), reward)
