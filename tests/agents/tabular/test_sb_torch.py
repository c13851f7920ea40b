"""The Sutton & Barto agents on torch (issue 21): the same numbers as numpy where the random streams can be
shared, the exact answer both ways where they cannot, and no host-device sync per step on (simulated) CUDA.

- The MC prediction agents and Monte Carlo ES play their episodes on the host with numpy's stream on every
  backend, so torch on the CPU equals numpy up to float32 rounding (tolerance 1e-6 on values in [-1, 1]).
- The sim-based agents (n-step TD, constant-alpha MC, Double Q-learning, Dyna-Q, Dyna-Q+) draw from a torch
  generator on torch: each backend must reach the exact answer (q* of value iteration, v_pi, the book's levels)
  within the same tolerance.
- On simulated CUDA (``tests/cuda_sim.py``, or a real GPU's absence of errors) every agent learns exactly what
  torch on the CPU learns (same arithmetic, same streams), and the syncs are counted.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from cuda_sim import count_syncs, cuda_or_simulated, is_simulated, simulate_cuda

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular import ALGORITHMS
from rlsuite.agents.tabular.episodic import allowed_actions, episodic_control
from rlsuite.agents.tabular.prediction import n_step_updates, sample_episodes
from rlsuite.agents.tabular.sim import BatchSim
from rlsuite.common.backend import ArrayBackend

needs_sim = pytest.mark.skipif(torch.cuda.is_available() and not is_simulated(), reason="counts simulated syncs")
TINY_MAZE = ["S..", ".#.", "..G"]  # value iteration's q* is exact; uniform exploration visits every pair fast
FLOAT32 = 1e-6  # torch's float32 tables against numpy's float64, on values in [-1, 1]


def learn(name: str, env: Any, budget: int, device: str, seed: int = 0, **config: Any) -> Any:
    cls = ALGORITHMS[name]
    agent = cls(env if not isinstance(env, str) else gym.make(env), cls.config_cls(**config), device=device)
    agent.history = agent.learn(budget, seed=seed)
    return agent


def seeded(device: str, seed: int = 0) -> ArrayBackend:
    backend = ArrayBackend(device)
    backend.seed(np.random.default_rng(seed))
    return backend


# ----- shared streams: the Blackjack agents -----

BLACKJACK = [
    ("mc_prediction", 300, {}),
    ("off_policy_mc_prediction", 300, {"weighting": "ordinary"}),
    ("off_policy_mc_prediction", 300, {"weighting": "weighted"}),
    ("mc_es_blackjack", 10_000, {"batch": 2500}),
]


@pytest.mark.parametrize(("name", "budget", "config"), BLACKJACK, ids=lambda x: str(x))
def test_blackjack_agents_on_torch_equal_numpy(name: str, budget: int, config: dict[str, Any]) -> None:
    numpy = learn(name, "Blackjack-v1", budget, "cpu", seed=4, **config)
    cpu = learn(name, "Blackjack-v1", budget, "torch:cpu", seed=4, **config)
    for key, value in numpy.arrays().items():
        assert isinstance(cpu.arrays()[key], np.ndarray)
        np.testing.assert_allclose(cpu.arrays()[key], value, rtol=0, atol=FLOAT32 * max(1.0, np.abs(value).max()))
    np.testing.assert_array_equal(cpu.policy, numpy.policy)
    assert cpu.history.rows == numpy.history.rows  # the returns played are the same games
    with cuda_or_simulated():
        cuda = learn(name, "Blackjack-v1", budget, "cuda", seed=4, **config)
    np.testing.assert_array_equal(cuda.state_values, cpu.state_values)
    np.testing.assert_array_equal(cuda.q_values, cpu.q_values)


def test_mc_prediction_on_torch_reaches_v_pi_of_the_random_walk() -> None:
    """With an exact model the history's value_error is against v_pi; numpy and torch get the same number."""
    rows = [learn("mc_prediction", "rlsuite/RandomWalk-v0", 400, d, policy="uniform").history.last() for d in
            ("cpu", "torch:cpu")]  # fmt: skip
    assert rows[0]["value_error"] == pytest.approx(rows[1]["value_error"], abs=FLOAT32)
    assert rows[0]["value_error"] < 0.05  # 400 episodes: about 0.02 from v_pi = (1/6, ..., 5/6)


# ----- own streams: the exact answer both ways -----


@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
@pytest.mark.parametrize("name", ["dyna_q", "dyna_q_plus"])
def test_dyna_reaches_q_star_on_numpy_and_torch(name: str, device: str) -> None:
    """alpha = 1 on a deterministic maze with every pair tried: the planning updates are value iteration on the
    learned model, so q equals value iteration's q* (Dyna-Q+ with a negligible bonus, kappa = 1e-9)."""
    extra = {"kappa": 1e-9} if name == "dyna_q_plus" else {}
    agent = learn(name, gym.make("rlsuite/DynaMaze-v0", layout=TINY_MAZE), 500, device, alpha=1.0, epsilon=1.0,
                  planning_steps=5, **extra)  # fmt: skip
    cells = np.array(list("".join(TINY_MAZE)))
    free = (cells != "#") & (cells != "G")  # the wall is never visited; the goal ends the episode
    np.testing.assert_allclose(agent.q_values[free], agent.q_star[free], rtol=0, atol=1e-5)


@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
@pytest.mark.parametrize("name", ["n_step_td", "constant_alpha_mc"])
def test_batch_updating_reaches_v_pi_on_numpy_and_torch(name: str, device: str) -> None:
    """Batch updating (S&B 6.3) solves each run's fixed point; over 32 runs x 60 episodes the mean table is
    within 0.02 of v_pi = (1/6, ..., 5/6) on both backends (measured: VALUE_ERRORS)."""
    agent = learn(name, "rlsuite/RandomWalk-v0", 60, device, runs=32, batch=True)
    assert agent.history.last()["value_error"] < 0.02


@pytest.mark.slow
@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
def test_random_walk_rms_errors_reach_the_books_levels(device: str) -> None:
    """Example 6.2 (right), 100 runs x 100 episodes: TD(0) alpha = 0.1 ends near 0.055, constant-alpha MC
    alpha = 0.02 near 0.08 (numpy seeds 0, 1: 0.056, 0.057 and 0.082, 0.082; torch: 0.055, 0.053 and 0.085, 0.080)."""
    td = learn("n_step_td", "rlsuite/RandomWalk-v0", 100, device, runs=100).history.last()["rms_error"]
    mc = learn("constant_alpha_mc", "rlsuite/RandomWalk-v0", 100, device, runs=100).history.last()["rms_error"]
    assert abs(td - 0.055) < 0.01 and abs(mc - 0.082) < 0.01


@pytest.mark.slow
@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
def test_double_q_learning_reaches_the_books_level(device: str) -> None:
    """Figure 6.5, 1000 runs x 300 episodes: Double Q-learning's share of "left" over episodes 201-300 is about
    0.07 on both backends (numpy 0.072, 0.072; torch 0.073, 0.071 for seeds 0, 1), approaching the optimal 5%
    from above as in the book's figure; in episodes 1-20 it is about 0.42."""
    history = learn("double_q_learning", "rlsuite/MaximizationBias-v0", 300, device, runs=1000).history
    left = history["first_action_1"]
    assert abs(left[-100:].mean() - 0.072) < 0.01 and abs(left[:20].mean() - 0.42) < 0.04


def test_prioritized_sweeping_stays_on_numpy() -> None:
    agent = learn("prioritized_sweeping", gym.make("rlsuite/DynaMaze-v0", layout=TINY_MAZE), 200, "cpu")
    assert agent.history.last()["steps"] == 200


# ----- simulated CUDA: what torch on the CPU learns, and the syncs -----

SIM_CASES = [
    ("n_step_td", "rlsuite/RandomWalk-v0", 6, {"runs": 5, "n": 3}),
    ("n_step_td", "rlsuite/RandomWalk-v0", 4, {"runs": 5, "batch": True}),
    ("constant_alpha_mc", "rlsuite/RandomWalk-v0", 6, {"runs": 5}),
    ("double_q_learning", "rlsuite/MaximizationBias-v0", 20, {"runs": 8}),
    ("dyna_q", "rlsuite/DynaMaze-v0", 60, {"runs": 3}),
    ("dyna_q_plus", "rlsuite/BlockingMaze-v0", 60, {"runs": 3, "planning_steps": 3}),
]


@needs_sim
@pytest.mark.parametrize(("name", "env", "budget", "config"), SIM_CASES, ids=lambda x: str(x))
def test_sim_agents_on_simulated_cuda_learn_what_torch_on_the_cpu_learns(name: str, env: str, budget: int,
                                                                       config: dict[str, Any]) -> None:  # fmt: skip
    cpu = learn(name, env, budget, "torch:cpu", **config)
    with simulate_cuda():
        cuda = learn(name, env, budget, "cuda", **config)
    np.testing.assert_array_equal(cuda.q_values, cpu.q_values)
    np.testing.assert_array_equal(cuda.state_values, cpu.state_values)
    assert cuda.history.rows == cpu.history.rows


def sync_counts(run: Any, sizes: tuple[int, ...]) -> list[int]:
    """The host-device syncs of ``run(size)`` on simulated CUDA, per size."""
    counts = []
    with simulate_cuda():
        for size in sizes:
            with count_syncs() as syncs:
                run(size)
            counts.append(sum(syncs.values()))
    return counts


@needs_sim
@pytest.mark.parametrize("name", ["dyna_q", "dyna_q_plus"])
def test_dyna_steps_without_syncs(name: str) -> None:
    """A fixed number of real steps: nothing is asked of the device until the tables come back at the end."""
    run = lambda steps: learn(name, "rlsuite/DynaMaze-v0", steps, "cuda", runs=3, planning_steps=2)  # noqa: E731
    assert sync_counts(run, (20, 80)) == [2, 2]  # q and the rewards, copied once


@needs_sim
@pytest.mark.parametrize("name", ["mc_prediction", "off_policy_mc_prediction"])
def test_blackjack_prediction_episodes_without_syncs(name: str) -> None:
    """Blackjack has no model (no value_error row): the tables stay on the device for the whole run."""
    few, many = sync_counts(lambda episodes: learn(name, "Blackjack-v1", episodes, "cuda", batch=50), (100, 400))
    assert few == many


@needs_sim
def test_mc_es_reads_its_policy_once_per_batch() -> None:
    run = lambda batches: learn("mc_es_blackjack", "Blackjack-v1", 500 * batches, "cuda", batch=500)  # noqa: E731
    few, many = sync_counts(run, (1, 4))
    assert many - few == 3


@needs_sim
def test_episodes_of_unknown_length_ask_the_device_log2_times() -> None:
    """sample_episodes asks whether every run has ended at steps 1, 2, 4, 8, ... only; n_step_updates and
    episodic_control's updates never ask (their records are masked writes)."""
    with simulate_cuda():
        backend = seeded("cuda")
        env = gym.make("rlsuite/RandomWalk-v0", n_states=19)  # episodes of about 100 steps
        sim = BatchSim.of(env).to(backend)
        with count_syncs() as syncs:
            ep = sample_episodes(sim, backend.asarray(np.full((21, 2), 0.5)), 8, backend)
        T = int(ep.rewards.shape[0])
        longest = int(ep.lengths.cpu().max())
        assert sum(syncs.values()) == int(math.log2(T - 1)) + 2 and longest <= T - 1 < 2 * longest
        V = backend.zeros((8, 21))
        with count_syncs() as syncs:
            n_step_updates(V, ep, 4, 0.1, 1.0)
        assert not syncs, syncs
        mdp = gym.make("rlsuite/MaximizationBias-v0")
        with count_syncs() as syncs:
            out = episodic_control(BatchSim.of(mdp), "double_q", 8, 30, 0.1, 0.1, 1.0, backend, allowed_actions(mdp))
        steps = int(out.lengths.cpu().sum(0).max())
        assert sum(syncs.values()) <= math.ceil(math.log2(steps)) + 2 < steps / 4  # t = 0, 1, 2, 4, ... past the end
