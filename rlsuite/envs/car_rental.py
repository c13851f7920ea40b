"""Jack's car rental (Sutton & Barto, example 4.2), with its exact model computed in array operations."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from rlsuite.envs import checks
from rlsuite.envs.sutton_barto import FiniteMDPEnv


def poisson_pmf(lam: float, upper: int, lump_tail: bool = True) -> np.ndarray:
    """``P(N = n)`` for ``n = 0..upper`` of a Poisson(``lam``), the tail ``n >= upper`` lumped into ``upper``
    (``lump_tail=False``: ``P(N = upper)`` alone, the tail dropped, as ShangtongZhang's code)."""
    checks.number("lam", lam, 0.0)
    checks.integer("upper", upper, 0)
    n = np.arange(upper + 1)
    logs = n * math.log(lam) - lam - np.array([math.lgamma(k + 1) for k in n]) if lam > 0 else None
    pmf = np.exp(logs) if logs is not None else (n == 0).astype(float)
    if lump_tail:
        pmf[upper] = max(0.0, 1.0 - pmf[:upper].sum())
    return pmf


def _location(max_cars: int, rent_lam: float, return_lam: float, constant_returns: bool,
              upper: int, lump: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One location overnight: ``p(n' | m)`` [M+1, M+1] from ``m`` cars in the morning, and the expected
    number of cars rented ``E[min(req, m)]`` [M+1]."""
    M = max_cars
    req = poisson_pmf(rent_lam, upper, lump)  # [K]
    m = np.arange(M + 1)[:, None]
    rented = np.minimum(np.arange(upper + 1)[None, :], m)  # [M+1, K]
    expected_rented = (req[None, :] * rented).sum(axis=1)
    left = m - rented  # [M+1, K]
    if constant_returns:  # the reference code's simplification: exactly E[returns] come back
        ret_probs, ret_counts = np.ones(1), np.array([round(return_lam)])
    else:
        ret_probs, ret_counts = poisson_pmf(return_lam, upper, lump), np.arange(upper + 1)
    after = np.minimum(left[:, :, None] + ret_counts[None, None, :], M)  # [M+1, K, J]
    probs = req[None, :, None] * ret_probs[None, None, :]
    trans = np.zeros((M + 1, M + 1))
    np.add.at(trans, (np.broadcast_to(m[:, :, None], after.shape), after), np.broadcast_to(probs, after.shape))
    return trans, expected_rented


class CarRentalEnv(FiniteMDPEnv):
    """Jack's car rental, Sutton & Barto's example 4.2 (figure 4.2).

    ## Description
    Jack manages two locations of a car rental company, each holding at most ``max_cars`` (20)
    cars. Each day customers ask for Poisson(3) and Poisson(4) cars at the first and second location
    and return Poisson(3) and Poisson(2) cars (returned cars can be rented the next day); each car
    rented earns 10. Overnight Jack may move up to ``max_move`` (5) cars between the locations at
    a cost of 2 per car. Cars beyond ``max_cars`` at a location disappear (as in the book). The task
    is continuing, discounted by gamma = 0.9.

    ## Action Space
    ``Discrete(2 * max_move + 1)``: action ``i`` moves ``i - max_move`` cars from the first location
    to the second (negative: from the second to the first). Moving more cars than a location holds
    moves all it has and still pays for the number asked (so such an action is never better than
    the legal one, and the greedy policy never picks it).

    ## Observation Space
    ``Discrete((max_cars + 1) ** 2)``: ``n1 * (max_cars + 1) + n2``, the cars at each location at
    the end of the day.

    ## Starting State
    A uniformly random state; ``reset(options={"start": s})`` picks one.

    ## Rewards
    ``10 * cars rented - 2 * |cars moved|`` per day.

    ## Episode End
    Never terminates; the registered id truncates after 100 days.

    ## Exact model
    ``P``, ``transition_probs`` [S, A, S], ``expected_rewards`` [S, A] and ``tabular_model``: the two
    locations are independent given the morning counts, so ``p(s'|s, a)`` is the outer product of two
    [21, 21] matrices, built in array operations (about 30 ms). Poisson counts above
    ``poisson_upper`` (10, as ShangtongZhang's code) count as ``poisson_upper`` (that code drops them), so
    that each distribution sums to 1; ``poisson_tail="drop"`` drops them instead, as that code does (its
    rows then sum to about 0.997: the model of the reference's figure, for comparisons with it). ``P`` lists
    ``(prob, s', E[r | s, a, s'], False)``; ``step`` draws the
    actual Poisson counts, so its reward is the day's real income.

    ## Arguments
    ``gym.make("rlsuite/CarRental-v0", max_cars=20, max_move=5, rent_means=(3, 4), return_means=(3, 2),
    rent_credit=10.0, move_cost=2.0, constant_returns=False, poisson_upper=10,
    poisson_tail="lump")``.
    ``constant_returns=True`` returns exactly the mean number of cars each day (the simplification of
    ShangtongZhang's chapter04/car_rental.py, whose figure it reproduces).

    ## Version History
    * v0: initial version, following the book.
    """

    def __init__(
        self,
        max_cars: int = 20,
        max_move: int = 5,
        rent_means: tuple[float, float] = (3.0, 4.0),
        return_means: tuple[float, float] = (3.0, 2.0),
        rent_credit: float = 10.0,
        move_cost: float = 2.0,
        constant_returns: bool = False,
        poisson_upper: int = 10,
        poisson_tail: Literal["lump", "drop"] = "lump",
        render_mode: str | None = None,
    ) -> None:
        M = checks.integer("max_cars", max_cars, 1)
        K = checks.integer("max_move", max_move, 0)
        if K > M:
            raise ValueError(f"max_move must be at most max_cars ({M}), got {max_move!r}")
        means = {}
        for name, pair in (("rent_means", rent_means), ("return_means", return_means)):
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(f"{name} must be a pair (first location, second location), got {pair!r}")
            means[name] = tuple(checks.number(f"{name}[{i}]", x, 0.0) for i, x in enumerate(pair))
        self.rent_means, self.return_means = means["rent_means"], means["return_means"]
        self.rent_credit = checks.number("rent_credit", rent_credit)
        self.move_cost = checks.number("move_cost", move_cost)
        self.constant_returns = checks.flag("constant_returns", constant_returns)
        self.poisson_upper = checks.integer("poisson_upper", poisson_upper, 1)
        if poisson_tail not in ("lump", "drop"):
            raise ValueError(f"poisson_tail must be 'lump' or 'drop', got {poisson_tail!r}")
        self.poisson_tail = poisson_tail
        self.max_cars, self.max_move = M, K
        self.moves = np.arange(-K, K + 1)
        S, A, L = (M + 1) ** 2, 2 * K + 1, M + 1
        locations = [_location(M, self.rent_means[i], self.return_means[i], self.constant_returns,
                               self.poisson_upper, poisson_tail == "lump") for i in range(2)]  # fmt: skip
        (t1, rented1), (t2, rented2) = locations
        n1, n2 = np.divmod(np.arange(S), L)
        m1, m2 = self.morning(n1[:, None], n2[:, None], self.moves[None, :])  # [S, A]
        T = (t1[m1][:, :, :, None] * t2[m2][:, :, None, :]).reshape(S, A, S)
        income = self.rent_credit * (rented1[m1] + rented2[m2]) - self.move_cost * np.abs(self.moves)[None, :]
        R = np.broadcast_to(income[:, :, None], (S, A, S))
        self._locations = locations
        self._set_model(T, R, np.zeros(S, dtype=bool), np.ones(S), render_mode)

    def morning(self, n1: Any, n2: Any, move: Any) -> tuple[np.ndarray, np.ndarray]:
        """Cars at each location after moving ``move`` cars overnight (capped: at most what is there
        moves, at most ``max_cars`` stay)."""
        moved = np.where(move >= 0, np.minimum(move, n1), -np.minimum(-move, n2))
        return np.minimum(n1 - moved, self.max_cars), np.minimum(n2 + moved, self.max_cars)

    def to_state(self, n1: int, n2: int) -> int:
        return int(n1) * (self.max_cars + 1) + int(n2)

    def step(self, action: Any) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
        a = checks.action(action, self.n_actions)
        n1, n2 = divmod(self.s, self.max_cars + 1)
        m = self.morning(np.array(n1), np.array(n2), np.array(self.moves[a]))
        cap = self.poisson_upper
        rented_total, after = 0, []
        for i in range(2):
            req = min(int(self.np_random.poisson(self.rent_means[i])), cap)
            rented = min(req, int(m[i]))
            ret = round(self.return_means[i]) if self.constant_returns else min(
                int(self.np_random.poisson(self.return_means[i])), cap)  # fmt: skip
            rented_total += rented
            after.append(min(int(m[i]) - rented + ret, self.max_cars))
        reward = self.rent_credit * rented_total - self.move_cost * abs(int(self.moves[a]))
        self.s = self.to_state(*after)
        return np.int64(self.s), float(reward), False, False, {"state": self.s}
