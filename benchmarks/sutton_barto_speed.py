"""Speed of ``rlsuite reproduce`` for Sutton & Barto's figures 3.2-5.4 against the reference scripts.

    git clone https://github.com/ShangtongZhang/reinforcement-learning-an-introduction /tmp/sb-reference
    PYTHONPATH=. python benchmarks/sutton_barto_speed.py --reference /tmp/sb-reference [--quick]

The reference (ShangtongZhang's *reinforcement-learning-an-introduction*, one script per example) is not
shipped: clone it as above (any commit; the scripts used are chapter03/grid_world.py, chapter04/grid_world.py,
chapter04/car_rental.py, chapter04/gamblers_problem.py, chapter05/blackjack.py and
chapter05/infinite_variance.py). Its computation
is timed without its plotting: each script's source is loaded with its ``seaborn``/``tqdm`` imports and
``np.int`` patched out (neither is needed to compute), then the figure's loop runs at the same size as
rlsuite's figure, in CPU seconds. rlsuite's time is the figure's computation, as the reference's (no plots;
4.2: the model built from the env's arguments included, with the reference's constant returns; 4.3: the env and
its model built, value iteration and the policy). Without ``--reference`` only rlsuite's times are printed.

``--quick`` runs the sampled figures at a tenth of the book's episodes on both sides (the ratio holds: both
scale linearly). Figure 5.2 runs Monte Carlo ES for 500,000 episodes (50,000 with ``--quick``) on both sides.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def load_reference(root: Path, script: str) -> dict[str, Any]:
    """The namespace of a reference script, plotting imports patched out."""
    source = (root / script).read_text()
    source = source.replace("import seaborn as sns", "sns = None").replace("from tqdm import tqdm", "tqdm = iter")
    source = source.replace("dtype=np.int)", "dtype=int)").replace("matplotlib.use('Agg')", "")
    namespace: dict[str, Any] = {"__name__": "reference"}
    exec(compile(source, str(root / script), "exec"), namespace)  # the user's own clone
    return namespace


def reference_grid_world(ns: dict[str, Any], optimal: bool) -> None:
    """figure_3_2's (``optimal``: figure_3_5's) sweeps until convergence, without the table image."""
    size = ns["WORLD_SIZE"]
    value = np.zeros((size, size))
    while True:
        new = np.zeros_like(value)
        for i in range(size):
            for j in range(size):
                backups = []
                for action in ns["ACTIONS"]:
                    (ni, nj), reward = ns["step"]([i, j], action)
                    backups.append(reward + ns["DISCOUNT"] * value[ni, nj])
                new[i, j] = np.max(backups) if optimal else ns["ACTION_PROB"] * np.sum(backups)
        if np.sum(np.abs(new - value)) < 1e-4:
            return
        value = new


def reference_car_rental(ns: dict[str, Any]) -> None:
    """figure_4_2's loop (constant returns, the script's default) without the heat maps."""
    value = np.zeros((21, 21))
    policy = np.zeros(value.shape, dtype=int)
    while True:
        while True:
            old = value.copy()
            for i in range(21):
                for j in range(21):
                    value[i, j] = ns["expected_return"]([i, j], policy[i, j], value, True)
            if abs(old - value).max() < 1e-4:
                break
        stable = True
        for i in range(21):
            for j in range(21):
                returns = [ns["expected_return"]([i, j], a, value, True) if (0 <= a <= i) or (-j <= a <= 0)
                           else -np.inf for a in ns["actions"]]  # fmt: skip
                new = ns["actions"][int(np.argmax(returns))]
                stable &= new == policy[i, j]
                policy[i, j] = new
        if stable:
            return


def reference_gambler(ns: dict[str, Any]) -> None:
    """figure_4_3's value iteration and policy, without the plot."""
    v = np.zeros(101)
    v[100] = 1.0
    while True:
        old = v.copy()
        for s in range(1, 100):
            v[s] = max(0.4 * v[s + a] + 0.6 * v[s - a] for a in range(min(s, 100 - s) + 1))
        if abs(v - old).max() < 1e-9:
            break
    policy = np.zeros(101)
    for s in range(1, 100):
        returns = [0.4 * v[s + a] + 0.6 * v[s - a] for a in range(min(s, 100 - s) + 1)]
        policy[s] = 1 + np.argmax(np.round(returns[1:], 5))


def reference_infinite_variance(ns: dict[str, Any], runs: int, episodes: int) -> None:
    """figure_5_4's loop without the plot."""
    for _ in range(runs):
        rewards = []
        for _ in range(episodes):
            reward, trajectory = ns["play"]()
            rho = 0 if trajectory[-1] == ns["ACTION_END"] else 1.0 / pow(0.5, len(trajectory))
            rewards.append(rho * reward)
        np.add.accumulate(rewards)


def timer(fn: Callable[[], Any]) -> float:
    """CPU seconds of ``fn`` (``time.process_time``: steadier than wall time on a shared machine); under a second:
    the best of three (the first call pays one-off imports)."""
    times: list[float] = []
    while not times or (len(times) < 3 and times[0] < 1.0):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path,
                        help="a clone of ShangtongZhang/reinforcement-learning-an-introduction")
    parser.add_argument("--quick", action="store_true", help="a tenth of the sampled figures' episodes, both sides")
    parser.add_argument("--only", action="append", help="time only the figures whose name starts with this")
    args = parser.parse_args()

    import gymnasium as gym

    import rlsuite.envs  # noqa: F401
    from rlsuite.app.reproduce import sutton_barto_ch3_5 as figs

    scale = 10 if args.quick else 1

    def env(env_id: str, **kwargs: Any) -> Any:
        return gym.make(env_id, **kwargs).unwrapped

    def car_rental() -> Any:
        return env("rlsuite/CarRental-v0", constant_returns=True)

    def ours_5_1() -> None:
        rng = np.random.default_rng(0)
        figs.blackjack_prediction(10_000, rng)
        figs.blackjack_prediction(500_000 // scale, rng)

    def ours_3_5() -> None:
        from rlsuite.agents.tabular.solvers import value_iteration

        value_iteration(env("rlsuite/SBGridWorld-v0").tabular_model, gamma=0.9, tol=1e-12)

    def ours_5_2() -> None:
        from rlsuite.agents.tabular.mc_prediction import BlackjackMCES, BlackjackMCESConfig

        BlackjackMCES(gym.make("Blackjack-v1"), BlackjackMCESConfig(batch=5_000)).learn(500_000 // scale, seed=0)

    def ours_5_4() -> None:
        figs.infinite_variance_estimates(10, 100_000 // scale, np.random.default_rng(0))

    ours: dict[str, tuple[Callable[[], Any], str]] = {  # figure -> (rlsuite's computation, the reference script)
        "sb-fig-3.2": (lambda: figs.grid_values_uniform(env("rlsuite/SBGridWorld-v0")), "chapter03/grid_world.py"),
        "sb-fig-3.5": (ours_3_5, "chapter03/grid_world.py"),
        "sb-fig-4.1": (lambda: figs.iterative_policy_evaluation(env("rlsuite/SBGridWorld4x4-v0"), 1000),
                       "chapter04/grid_world.py"),
        "sb-fig-4.2": (lambda: figs.car_rental_policy_iteration(car_rental()), "chapter04/car_rental.py"),
        "sb-fig-4.3": (lambda: figs.gambler_value_iteration(env("rlsuite/Gambler-v0")),
                       "chapter04/gamblers_problem.py"),
        "sb-fig-5.1": (ours_5_1, "chapter05/blackjack.py"),
        f"sb-fig-5.2 ({500_000 // scale:,} episodes)": (ours_5_2, "chapter05/blackjack.py"),
        "sb-fig-5.3": (lambda: figs.blackjack_off_policy(100 // scale, 10_000, np.random.default_rng(0)),
                       "chapter05/blackjack.py"),
        "sb-fig-5.4 (10 x 100,000)": (ours_5_4, "chapter05/infinite_variance.py"),
    }
    references: dict[str, Callable[[dict[str, Any]], Any]] = {
        "sb-fig-3.2": lambda ns: reference_grid_world(ns, optimal=False),
        "sb-fig-3.5": lambda ns: reference_grid_world(ns, optimal=True),
        "sb-fig-4.1": lambda ns: [ns["compute_state_value"](in_place=p) for p in (True, False)],  # figure_4_1's
        "sb-fig-4.2": reference_car_rental,
        "sb-fig-4.3": reference_gambler,
        "sb-fig-5.1": lambda ns: [ns["monte_carlo_on_policy"](n) for n in (10_000, 500_000 // scale)],
        f"sb-fig-5.2 ({500_000 // scale:,} episodes)": lambda ns: ns["monte_carlo_es"](500_000 // scale),
        "sb-fig-5.3": lambda ns: [ns["monte_carlo_off_policy"](10_000) for _ in range(100 // scale)],
        "sb-fig-5.4 (10 x 100,000)": lambda ns: reference_infinite_variance(ns, 10, 100_000 // scale),
    }
    print(f"{'figure':<28}{'rlsuite (s)':>12}{'reference (s)':>15}{'ratio':>8}")
    for name, (fn, script) in ours.items():
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        t_ours = timer(fn)
        if args.reference is None:
            print(f"{name:<28}{t_ours:>12.3f}")
            continue
        np.random.seed(0)
        ref = timer(lambda script=script, name=name: references[name](load_reference(args.reference, script)))
        print(f"{name:<28}{t_ours:>12.3f}{ref:>15.3f}{ref / t_ours:>7.1f}x", flush=True)


if __name__ == "__main__":
    main()
