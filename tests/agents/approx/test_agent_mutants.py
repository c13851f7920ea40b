"""The chapter 8-10 agents' shared loop (rlsuite/agents/approx/agent.py) pinned down where mutation testing
found it unchecked: history rows and progress, seeding, episode starts and ends, the exact metrics, saved keys."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from recording import RecordingReporter, reporting_to

import rlsuite.envs  # noqa: F401
from rlsuite.agents.approx import LinearSarsa, TDLinear
from rlsuite.agents.approx.linear import LinearControlConfig, TDLinearConfig
from rlsuite.common.errors import UsageError


@pytest.fixture(scope="module")
def env() -> gym.Env:
    return gym.make("rlsuite/GridWorld-v0")


def test_history_rows_every_log_every_and_at_the_end_with_one_advance_per_episode(env: gym.Env) -> None:
    agent = TDLinear(env, TDLinearConfig(features="onehot", episode_length=5, log_every=3))
    with reporting_to(RecordingReporter()) as recording:
        history = agent.learn(7, seed=2)
    assert history["episode"].tolist() == [3, 6, 7]
    assert recording.started == [("td_linear", 7, "episode")]
    assert recording.advances == [1] * 7 and recording.stopped == 1


def test_learn_without_a_seed_is_seed_0_and_a_fresh_agent_draws_as_seed_0(env: gym.Env) -> None:
    cfg = TDLinearConfig(features="onehot", episode_length=5)
    fresh = TDLinear(env, cfg)
    assert fresh.run_seed == 0
    draws = np.random.default_rng(0)
    assert [fresh.start("random") for _ in range(6)] == [int(draws.choice(fresh.starts)) for _ in range(6)]
    first, second = TDLinear(env, cfg), TDLinear(env, cfg)
    assert first.learn(4).rows == second.learn(4, seed=0).rows


def test_learn_seeds_the_env_so_slips_repeat() -> None:
    """Two agents on two envs with random slips, one seed: the same transitions, so the same weights."""

    def learned() -> np.ndarray:
        agent = TDLinear(gym.make("rlsuite/GridWorld-v0", slip_prob=0.5), TDLinearConfig(episode_length=30))
        agent.learn(3, seed=4)
        return agent.w

    np.testing.assert_array_equal(learned(), learned())


def test_epsilon_greedy_explores_only_below_epsilon(env: gym.Env) -> None:
    agent = LinearSarsa(env)
    q_row = np.array([0.0, 0.0, 0.0, 5.0, 0.0])
    assert agent.epsilon_greedy_action(q_row, 0.0) == 3
    draw = float(np.random.default_rng(0).random())
    agent.rng = np.random.default_rng(0)  # its first draw equals epsilon: not below it, so greedy
    assert agent.epsilon_greedy_action(q_row, draw) == 3
    agent.rng = np.random.default_rng(0)
    explore = np.random.default_rng(0)
    explore.random()
    expected = int(explore.integers(5))
    assert expected != 3  # the premise: exploring picks another action
    assert agent.epsilon_greedy_action(q_row, np.nextafter(draw, 1.0)) == expected


def _greedy_path(env: gym.Env, q: np.ndarray, start: int) -> tuple[int, float]:
    """Steps and total reward of following argmax q from ``start`` into the target."""
    base = env.unwrapped
    s, steps, total = start, 0, 0.0
    while s != base.target_state:
        a = int(q[s].argmax())
        s, total, steps = int(base.next_state_table[s, a]), total + float(base.reward_table[s, a]), steps + 1
    return steps, total


def test_a_control_episode_ends_on_reaching_the_target(env: gym.Env) -> None:
    cfg = LinearControlConfig(features="onehot", epsilon=0.0, alpha=1e-12, episode_length=50, log_every=1)
    agent = LinearSarsa(env, cfg)
    agent.W = agent.q_star.copy()  # the greedy policy is optimal: it walks from the top-left to the target
    steps, total = _greedy_path(env, agent.q_star, 0)
    assert steps == 5 and total == 0.0  # down, down, right, right through a forbidden cell (-1), down (+1)
    row = agent.learn(1, seed=0).last()
    assert (row["length"], row["return"]) == (steps, total)
    assert row["greedy_optimal"] == 1.0 and abs(row["gap_to_optimum"]) < 1e-9  # v* from value iteration
    cfg_on = LinearControlConfig(**{**cfg.__dict__, "stop_at_target": False})
    agent = LinearSarsa(env, cfg_on)
    agent.W = agent.q_star.copy()  # without the stop: 50 steps, staying on the target after reaching it
    row = agent.learn(1, seed=0).last()
    assert (row["length"], row["return"]) == (50, total + (50 - steps) * 1.0)


def test_an_env_without_a_target_ends_episodes_only_on_termination() -> None:
    """FrozenLake has no ``target_state``: S F G walked right, 2 steps into the goal (terminal, reward 1)."""
    env = gym.make("FrozenLake-v1", desc=["SFG"], is_slippery=False)
    agent = LinearSarsa(env, LinearControlConfig(features="onehot", epsilon=0.0, alpha=0.5, episode_length=10))
    W = np.zeros((3, 4))
    W[:, 2] = [1.0, 2.0, 4.0]  # right is greedy everywhere; q(G, right) = 4 is not bootstrapped from (terminal)
    agent.W = W.copy()
    row = agent.learn(1, seed=0).last()
    assert (row["return"], row["length"]) == (1.0, 2)
    expected = W.copy()
    expected[0, 2] += 0.5 * (0.0 + 0.9 * 2.0 - 1.0)
    expected[1, 2] += 0.5 * (1.0 - 2.0)  # terminal: r only
    np.testing.assert_allclose(agent.W, expected)


def test_random_starts_on_frozenlake_put_the_env_at_the_drawn_state() -> None:
    """FrozenLake's reset ignores options["start"]: the agent puts it at the drawn state through ``unwrapped.s``
    (as the tabular agents do), so the step that follows moves from that state, as ``P`` says."""
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = TDLinear(env, TDLinearConfig(features="onehot", start="random"))
    agent.seed(0)
    P = env.unwrapped.P
    drawn = []
    for _ in range(12):
        s = agent.start("random")
        drawn.append(s)
        assert env.unwrapped.s == s
        ((_, s_next, r, term),) = P[s][2]  # right
        assert agent.step(2) == (s_next, r, term)
    assert len(set(drawn)) > 1 and set(drawn) <= set(range(16))
    assert agent.learn(3, seed=0).last()["episode"] == 3.0


class _Stubborn(gym.Env):
    """An exact model (P) whose reset ignores options["start"] and whose state the agent cannot set."""

    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)
    P = {s: {a: [(1.0, (s + a) % 2, float(a), False)] for a in range(2)} for s in range(2)}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.where = 0
        return self.where, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        self.where = (self.where + int(action)) % 2
        return self.where, float(action), False, False, {}


class _Obliging(_Stubborn):
    """The same model, with a reset that starts where ``options["start"]`` says (and no ``s`` to set)."""

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.where = int((options or {}).get("start", 0))
        return self.where, {}


def test_random_starts_ask_the_env_to_start_at_the_drawn_state() -> None:
    """An env that honours ``reset(options={"start": s})`` is asked for each drawn state (no other way
    could put it there: it has no ``s``)."""
    agent = TDLinear(_Obliging(), TDLinearConfig(features="onehot", start="random", episode_length=2))
    agent.seed(3)
    drawn = [agent.start("random") for _ in range(8)]
    assert set(drawn) == {0, 1} and agent.base.where == drawn[-1]
    assert agent.learn(20, seed=1).last()["episode"] == 20.0


def test_random_starts_on_an_env_whose_state_cannot_be_set_are_refused() -> None:
    """Learning from a random start on an env that stays at its own start would record transitions from a
    state the env is not in: refused in one line naming the agent, the env and the way out."""
    agent = TDLinear(_Stubborn(), TDLinearConfig(features="onehot", start="random", episode_length=2))
    with pytest.raises(UsageError) as info:
        agent.learn(20, seed=1)
    text = str(info.value)
    assert text.startswith("TDLinear cannot start episodes at random states on _Stubborn") and "\n" not in text
    assert text.endswith("its reset ignores options['start'] and its state cannot be set; use start='env'")


def test_control_metrics_evaluate_the_greedy_policy_at_the_configured_gamma(env: gym.Env) -> None:
    agent = LinearSarsa(env, LinearControlConfig(features="onehot", gamma=0.5))
    T, r = agent.model.policy_matrices(np.eye(5)[np.zeros(25, dtype=int)])  # W = 0: greedy is "up" everywhere
    v_up = np.linalg.solve(np.eye(25) - 0.5 * T, r)
    metrics = agent.truth_metrics()
    assert metrics["gap_to_optimum"] == pytest.approx(float(np.max(agent.v_star - v_up)), abs=1e-12)
    assert metrics["greedy_optimal"] == 0.0 and metrics["optimal_fraction"] < 1.0
    agent.W = agent.q_star.copy()
    agent.refresh_tables()
    assert agent.truth_metrics()["greedy_optimal"] == 1.0


def test_saved_arrays_are_the_parameters_with_q_and_pi(env: gym.Env) -> None:
    agent = LinearSarsa(env, LinearControlConfig(features="onehot"))
    arrays = agent.arrays()
    assert sorted(arrays) == ["W", "pi", "q"]
    np.testing.assert_array_equal(arrays["q"], agent.q)
    np.testing.assert_array_equal(arrays["pi"], agent.pi)


def test_a_refused_env_is_named_with_the_agent_and_the_space_types() -> None:
    from rlsuite.envs.gridworld import GridWorldEnv

    with pytest.raises(UsageError) as info:
        TDLinear(GridWorldEnv(observation="onehot"))  # made directly: no spec, named by its class
    text = str(info.value)
    assert text.startswith("TDLinear cannot learn on GridWorldEnv:")
    assert "(got Box observations / Discrete actions)" in text
