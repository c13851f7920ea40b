"""The numba-compiled numpy loops (rlsuite/agents/tabular/compiled.py) against the array code they stand for
(``compiled=False``, what torch runs): the same numbers bit for bit from the same seed, and the caller's
Generator left where the array code leaves it, on every kind of sim the loops read (deterministic tables,
several outcomes, noisy rewards, restricted actions, a drawn start state, a maze that changes)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.episodic import allowed_actions, episodic_control
from rlsuite.agents.tabular.planning import (
    PrioritizedSweepingLearner,
    dyna_runs,
    greedy_path_ok,
    prioritized_sweeping_until_optimal,
    sim_schedule,
)
from rlsuite.agents.tabular.prediction import n_step_updates, sample_episodes
from rlsuite.agents.tabular.sim import BatchSim, epsilon_greedy_actions


def both(run: Any) -> tuple[tuple[Any, float], tuple[Any, float]]:
    """``run(rng, compiled)`` both ways from seed 3, each with the Generator's next draw after it."""
    out = []
    for compiled in (True, False):
        rng = np.random.default_rng(3)
        out.append((run(rng, compiled), rng.random()))
    return out[0], out[1]


def assert_same(a: Any, b: Any) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


CONTROL = [
    ("rlsuite/WindyGridWorld-v0", "sarsa", 3, 30),  # deterministic, fixed start (figure 6.3)
    ("CliffWalking-v1", "expected_sarsa", 3, 30),  # figure 6.6
    ("CliffWalking-v1", "q_learning", 4, 30),
    ("rlsuite/MaximizationBias-v0", "double_q", 40, 40),  # noisy rewards, 2 of 10 actions allowed in A (fig 6.7)
    ("rlsuite/MaximizationBias-v0", "expected_sarsa", 20, 30),  # 10 actions: numpy's pairwise sum order
    ("FrozenLake-v1", "sarsa", 5, 50),  # three outcomes per action
    ("Taxi-v4", "q_learning", 2, 20),  # a drawn start state
]


@pytest.mark.parametrize(("env_id", "method", "runs", "episodes"), CONTROL)
def test_episodic_control_compiled_is_the_array_code(env_id: str, method: str, runs: int, episodes: int) -> None:
    env = gym.make(env_id)
    sim, ok = BatchSim.of(env), allowed_actions(env)
    alphas = np.linspace(0.1, 0.5, runs)  # one step size per run
    (a, ra), (b, rb) = both(lambda rng, c: episodic_control(sim, method, runs, episodes, alphas, 0.1, 0.9, rng, ok,
                                                             200, compiled=c))  # fmt: skip
    assert_same((a.returns, a.lengths, a.first_actions, a.q), (b.returns, b.lengths, b.first_actions, b.q))
    assert ra == rb
    assert a.lengths.min() > 0  # every episode was played


PREDICTION = [("rlsuite/RandomWalk-v0", 300, 1), ("rlsuite/RandomWalk-v0", 300, None),
              ("rlsuite/RandomWalk19-v0", 50, 4), ("FrozenLake-v1", 20, 2), ("Taxi-v4", 3, None)]  # fmt: skip


@pytest.mark.parametrize(("env_id", "runs", "n"), PREDICTION)
def test_prediction_compiled_is_the_array_code(env_id: str, runs: int, n: int | None) -> None:
    env = gym.make(env_id)
    sim = BatchSim.of(env)
    policy = np.full((sim.n_states, sim.n_actions), 1.0 / sim.n_actions)

    def run(rng: np.random.Generator, compiled: bool) -> Any:
        V = np.full((runs, sim.n_states), 0.5)
        for _ in range(10):
            ep = sample_episodes(sim, policy, runs, rng, 300, compiled=compiled)
            n_step_updates(V, ep, n, np.linspace(0.05, 0.2, runs), 0.9, compiled=compiled)
        return ep.states, ep.rewards, ep.lengths, V

    (a, ra), (b, rb) = both(run)
    assert_same(a, b)
    assert ra == rb


def _stop(env: Any, limit: float) -> Any:
    base = env.unwrapped
    return lambda q, idx: greedy_path_ok(base.next_state, base.terminal, base.start_state, q, limit)


@pytest.mark.parametrize("case", ["episodes", "changing maze, Dyna-Q+", "stop callback", "three outcomes",
                                  "continuing grid, every state seen"])  # fmt: skip
def test_dyna_compiled_is_the_array_code(case: str) -> None:
    env_id, kwargs, runs, n, kappa = {
        "episodes": ("rlsuite/DynaMaze-v0", {"episodes": 20}, 3, 5, 0.0),
        "changing maze, Dyna-Q+": ("rlsuite/BlockingMaze-v0", {"total_steps": 1500}, 4, 10, np.array([0, 1e-3] * 2)),
        "stop callback": ("rlsuite/DynaMaze-v0", {"episodes": 10_000}, 2, 5, 0.0),
        "three outcomes": ("FrozenLake-v1", {"episodes": 30}, 3, 3, 0.01),
        # no terminal state: every state is acted from, and the list of seen states fills up
        "continuing grid, every state seen": ("rlsuite/GridWorld-v0", {"total_steps": 2000}, 3, 5, 0.0),
    }[case]
    env = gym.make(env_id)
    if case == "stop callback":
        kwargs["stop"] = _stop(env, 14 * 1.2)
    (a, ra), (b, rb) = both(lambda rng, c: dyna_runs(sim_schedule(env), runs, n, 0.5, 0.95, 0.1, rng, kappa=kappa,
                                                      compiled=c, **kwargs))  # fmt: skip
    assert_same((a.rewards, a.lengths, a.steps, a.q), (b.rewards, b.lengths, b.steps, b.q))
    assert ra == rb
    if case == "changing maze, Dyna-Q+":
        assert len(sim_schedule(env)) == 2 and a.rewards.shape == (1500, runs)


def test_prioritized_sweeping_acts_from_the_array_codes_draws() -> None:
    """The learner's scalar epsilon-greedy act draws what ``epsilon_greedy_actions`` draws and picks the same
    action, ties included (rows of equal values)."""
    learner = PrioritizedSweepingLearner(6, 4, 5, 0.5, 0.95, 0.3, 1e-4)
    learner.rows = [[0.0] * 4, [1.0, 2.0, 2.0, 0.5], [-1.0] * 4, [3.0, 0.0, 0.0, 3.0], [0.0, 0.0, 1.0, 0.0], [5.0] * 4]
    mine, theirs = np.random.default_rng(1), np.random.default_rng(1)
    picked = set()
    for t in range(600):
        s = t % 6
        a = learner.act(s, mine)
        assert a == int(epsilon_greedy_actions(learner.q[s][None], 0.3, theirs)[0])
        picked.add((s, a))
    assert mine.random() == theirs.random()
    assert {(1, 1), (1, 2), (3, 0), (3, 3)} <= picked  # both of each tie taken


def test_prioritized_sweeping_reaches_the_short_path_with_the_reference_count() -> None:
    """Example 8.4 on the Dyna maze (scale 1, seed 1): the greedy path within 1.2 x 14 steps after 849 updates
    (the count this learner gave before its tables became Python lists; the reference's seeds: 711-1895)."""
    env = gym.make("rlsuite/DynaMaze-v0")
    base = env.unwrapped
    learner = PrioritizedSweepingLearner(base.n_states, 4, 5, 0.5, 0.95, 0.1, 1e-4)
    assert prioritized_sweeping_until_optimal(env, learner, np.random.default_rng(1), 14 * 1.2) == 849
    assert greedy_path_ok(base.next_state, base.terminal, base.start_state, learner.q[None], 14 * 1.2)[0]


def test_without_numba_the_array_code_runs_and_says_so(monkeypatch, caplog) -> None:
    """numba missing (a bare machine given rlsuite without its dependencies): one warning, then the array code,
    the same numbers."""
    from rlsuite.agents.tabular import sim as sim_module

    env = gym.make("rlsuite/WindyGridWorld-v0")
    sim = BatchSim.of(env)
    expected = episodic_control(sim, "sarsa", 2, 10, 0.5, 0.1, 1.0, np.random.default_rng(0), compiled=False)
    monkeypatch.setitem(__import__("sys").modules, "numba", None)  # `import numba` raises ImportError
    sim_module.numba_missing.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="rlsuite.agents.tabular.sim"):
            got = episodic_control(sim, "sarsa", 2, 10, 0.5, 0.1, 1.0, np.random.default_rng(0))
            episodic_control(sim, "sarsa", 2, 10, 0.5, 0.1, 1.0, np.random.default_rng(0))
    finally:
        sim_module.numba_missing.cache_clear()
    assert [r.message.split(" (")[0] for r in caplog.records] == ["numba cannot be imported"]  # once
    assert_same((got.returns, got.q), (expected.returns, expected.q))
