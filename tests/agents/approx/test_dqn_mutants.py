"""Deep Q-learning (rlsuite/agents/approx/dqn.py) where mutation testing found it unchecked: the behaviour
episode in the replay buffer, the target network's schedule, its metrics, the device, the config check."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from cuda_sim import simulate_cuda

import rlsuite.envs  # noqa: F401
from rlsuite.agents.approx import DeepQLearning
from rlsuite.agents.approx.dqn import DQNConfig

SMALL = {"episode_steps": 30, "replay_size": 30, "batch_size": 5, "hidden": 4}


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_a_replay_buffer_as_large_as_the_batch_is_allowed() -> None:
    cfg = DQNConfig(replay_size=100, batch_size=100)
    assert (cfg.replay_size, cfg.batch_size) == (100, 100)


def test_the_buffer_is_the_behaviour_episode_restarted_at_random_states_after_termination() -> None:
    """S . T, episodic: uniform actions from a random start; on entering T the next sample starts anew."""
    env = gym.make("rlsuite/GridWorld-v0", grid_map=["S.T"], terminate_at_target=True)
    agent = DeepQLearning(env, DQNConfig(**SMALL, start="random"))
    agent.learn(1, seed=2)
    base, draws = env.unwrapped, np.random.default_rng(2)
    rows, s = [], int(draws.choice(agent.starts))
    for _ in range(30):
        a = int(draws.integers(5))
        s2, r = int(base.next_state_table[s, a]), float(base.reward_table[s, a])
        rows.append((s, a, r, s2, s2 == base.target_state))
        s = int(draws.choice(agent.starts)) if s2 == base.target_state else s2
    buffer = agent.buffer
    got = list(zip(*(buffer[k].tolist() for k in ("s", "a", "r", "s2", "term")), strict=True))
    assert got == rows
    restarts = [rows[t + 1][0] for t in range(29) if rows[t][4]]
    assert rows[0][0] == 1 and 1 in restarts and 0 in restarts  # the premise: random starts, not always S


def test_a_fresh_agent_has_equal_main_and_target_networks_of_seed_0() -> None:
    agent = DeepQLearning(gym.make("rlsuite/GridWorld-v0"), DQNConfig(hidden=4))
    assert _same_weights(agent.net, agent.target) and _same_weights(agent.net, agent.make_net(0))


def test_the_target_network_is_copied_every_target_update_iterations() -> None:
    agent = DeepQLearning(gym.make("rlsuite/GridWorld-v0"), DQNConfig(**SMALL, target_update=2))
    agent.learn(1, seed=2)  # one step: the target is still the initial network
    assert _same_weights(agent.target, agent.make_net(2)) and not _same_weights(agent.target, agent.net)
    agent.learn(2, seed=2)
    assert _same_weights(agent.target, agent.net)
    agent.learn(3, seed=2)
    assert not _same_weights(agent.target, agent.net)


def test_dqn_metrics_are_those_of_max_q_against_v_star() -> None:
    agent = DeepQLearning(gym.make("rlsuite/GridWorld-v0"), DQNConfig(**SMALL))
    agent.learn(3, seed=0)
    err = agent.q_values.max(axis=1) - agent.v_star
    metrics = agent.truth_metrics()
    assert sorted(metrics) == ["gap_to_optimum", "greedy_optimal", "optimal_fraction", "rmse", "value_error"]
    assert metrics["rmse"] == float(np.sqrt(np.mean(err**2)))
    assert metrics["value_error"] == float(np.max(np.abs(err)))


def test_device_cpu_keeps_the_network_on_the_cpu_where_cuda_is_available() -> None:
    with simulate_cuda():
        agent = DeepQLearning(gym.make("rlsuite/GridWorld-v0"), DQNConfig(hidden=4), device="cpu")
        assert {p.device.type for p in agent.net.parameters()} == {"cpu"}
