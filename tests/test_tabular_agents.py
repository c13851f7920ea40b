"""Tabular agents on Zhao's grid world, checked against exact dynamic programming."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.base import History, unique_optimal_actions
from rlsuite.agents.tabular import ALGORITHMS, BanditAgent, TabularAgent
from rlsuite.agents.tabular.dp import (
    PolicyIteration,
    TruncatedPolicyIteration,
    TruncatedPolicyIterationConfig,
    ValueIteration,
    policy_evaluation,
    policy_iteration,
    value_iteration,
)
from rlsuite.agents.tabular.mc import MCBasic, MCBasicConfig, MCEpsilonGreedy
from rlsuite.agents.tabular.td import TD0, TD0Config
from rlsuite.envs.model import tabular_model

# Zhao, figure 3.4 (gamma = 0.9), rows of v* on the 5x5 grid.
FIG_3_4_R1 = {0: [5.8, 5.6, 6.2, 6.5, 5.8], 4: [7.2, 9.0, 10.0, 9.0, 8.1]}
FIG_3_4_R10 = [
    [3.5, 3.9, 4.3, 4.8, 5.3],
    [3.1, 3.5, 4.8, 5.3, 5.9],
    [2.8, 2.5, 10.0, 5.9, 6.6],
    [2.5, 10.0, 10.0, 10.0, 7.3],
    [2.3, 9.0, 10.0, 9.0, 8.1],
]

CONTROL = [name for name, cls in ALGORITHMS.items() if issubclass(cls, TabularAgent) and name != "td0"]


@pytest.fixture(scope="module")
def env() -> gym.Env:
    return gym.make("rlsuite/GridWorld-v0")


@pytest.mark.parametrize(
    ("kwargs", "rows"), [({}, FIG_3_4_R1), ({"r_forbidden": -10.0}, dict(enumerate(FIG_3_4_R10)))]
)
@pytest.mark.parametrize("solver", ["value_iteration", "policy_iteration", "truncated_policy_iteration"])
def test_dp_reproduces_zhao_figure_3_4(kwargs: dict, rows: dict, solver: str) -> None:
    agent = ALGORITHMS[solver](gym.make("rlsuite/GridWorld-v0", **kwargs))
    history = agent.learn()
    v = agent.state_values.reshape(5, 5)
    for r, expected in rows.items():
        np.testing.assert_allclose(np.round(v[r], 1), expected, atol=0.051)
    assert history.last()["greedy_optimal"] == 1.0


def test_policy_iteration_needs_fewer_iterations_than_value_iteration(env: gym.Env) -> None:
    model = tabular_model(env)
    v_vi, _, vi_iters = value_iteration(model, 0.9, tol=1e-8)
    v_pi, pi, pi_iters = policy_iteration(model, 0.9)
    np.testing.assert_allclose(v_pi, v_vi, atol=1e-6)
    np.testing.assert_allclose(policy_evaluation(model, pi, 0.9), v_vi, atol=1e-6)
    assert (pi_iters, vi_iters) == (5, 176)  # the book's grid: deterministic counts
    iters = [
        len(TruncatedPolicyIteration(env, TruncatedPolicyIterationConfig(eval_sweeps=j)).learn())
        for j in (1, 5, 50)
    ]
    # between value iteration (j = 1 is value iteration, sweep for sweep) and policy iteration (j large)
    assert iters == [len(ValueIteration(env).learn()), 30, 6] == [133, 30, 6]
    assert len(PolicyIteration(env).learn()) == 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_rows": 15, "n_cols": 20, "random_layout": True, "forbidden_fraction": 0.1, "layout_seed": 1},
        {"n_rows": 12, "n_cols": 9, "random_layout": True, "slip_prob": 0.2, "layout_seed": 2},
        {"n_rows": 1, "n_cols": 7, "target": (1, 5), "forbidden": [(1, 2)]},
    ],
    ids=["deterministic", "slippery", "one-row"],
)
def test_value_iteration_fast_paths_do_the_textbook_sweeps(kwargs: dict) -> None:
    from rlsuite.agents.tabular.dp import _value_iteration_torch
    from rlsuite.envs.gridworld import GridWorldEnv
    from rlsuite.envs.model import TabularModel

    torch = pytest.importorskip("torch")
    model = tabular_model(GridWorldEnv(**kwargs))
    dense = TabularModel(model.expected_rewards, transition_probs=model.transition_probs)
    for sweeps in (1, 7):  # the same iterates, sweep by sweep, as the plain dense backup
        v = np.zeros(model.n_states)
        for _ in range(sweeps):
            v = dense.q_values(v, 0.9).max(axis=1)
        np.testing.assert_allclose(value_iteration(model, 0.9, tol=0.0, max_iters=sweeps)[0], v, atol=1e-12)
    v, q, iters = value_iteration(dense, 0.9, tol=1e-9)
    for form in (model, dense):  # the torch sweeps (run on the CPU here; on CUDA with device="cuda")
        v_t, q_t, iters_t = _value_iteration_torch(form, 0.9, 1e-9, 100_000, torch.device("cpu"))
        np.testing.assert_allclose(v_t, v, atol=1e-9)
        np.testing.assert_allclose(q_t, q, atol=1e-9)
        assert abs(iters_t - iters) <= 1


def test_value_iteration_history_tracks_the_truth(env: gym.Env) -> None:
    history = ValueIteration(env).learn()
    err = history["value_error"]
    assert err[0] > 5 and err[-1] < 1e-4
    assert np.all(np.diff(err) <= 1e-12)  # the contraction: the error never grows


@pytest.mark.parametrize("name", CONTROL)
def test_control_reaches_the_optimal_greedy_policy(env: gym.Env, name: str) -> None:
    agent = ALGORITHMS[name](env)
    history = agent.learn(seed=0)
    assert isinstance(history, History) and len(history) > 0
    unique = unique_optimal_actions(agent.q_star)
    greedy = agent.q_values.argmax(axis=1)
    wrong = np.flatnonzero((unique >= 0) & (greedy != unique))
    assert len(wrong) == 0, f"{name}: greedy action wrong in states {wrong.tolist()}"
    assert agent.q_values.shape == (25, 5) and agent.state_values.shape == (25,)
    np.testing.assert_allclose(agent.policy.sum(axis=1), 1.0)
    assert history.last()["greedy_optimal"] == 1.0  # the README's claim, for every control algorithm
    action, _ = agent.predict(np.int64(0))
    assert action.shape == () and int(action) == int(agent.policy[0].argmax())
    np.testing.assert_array_equal(agent.predict(np.arange(25))[0], agent.policy.argmax(axis=1))


SAMPLE_BASED = [name for name in [*CONTROL, "td0"] if "device" in ALGORITHMS[name].config_cls.__dataclass_fields__]


@pytest.mark.parametrize("name", SAMPLE_BASED)
def test_sample_based_agents_learn_in_torch(env: gym.Env, name: str) -> None:
    """device="auto": the batched env copies, rollouts and (TD) tables in torch, on CUDA when present
    (on the CPU here); the learned tables come back as numpy and are as good as numpy's."""
    import dataclasses

    agent = ALGORITHMS[name](env, dataclasses.replace(ALGORITHMS[name].config_cls(), device="auto"))
    history = agent.learn(seed=0)
    assert isinstance(agent.q, np.ndarray) and isinstance(agent.policy, np.ndarray)
    if name == "td0":
        assert history.last()["value_error"] < 0.2
        return
    unique = unique_optimal_actions(agent.q_star)
    wrong = np.flatnonzero((unique >= 0) & (agent.q_values.argmax(axis=1) != unique))
    assert len(wrong) == 0, f"{name} in torch: greedy action wrong in states {wrong.tolist()}"


def test_mc_epsilon_greedy_is_optimal_with_a_harsh_forbidden_penalty() -> None:
    # r_forbidden = -10: the optimal 0.1-greedy policy still has the optimal greedy actions (Zhao ch. 5.4)
    agent = MCEpsilonGreedy(gym.make("rlsuite/GridWorld-v0", r_forbidden=-10.0))
    assert agent.learn(seed=1).last()["optimal_fraction"] == 1.0


def test_q_learning_off_policy_learns_q_star(env: gym.Env) -> None:
    from rlsuite.agents.tabular.td import QLearning, QLearningConfig

    agent = QLearning(env, QLearningConfig(behavior="uniform"))
    agent.learn(1_000_000, seed=1)
    np.testing.assert_allclose(agent.q_values, agent.q_star, atol=0.05)


def test_td0_converges_to_v_pi(env: gym.Env) -> None:
    agent = TD0(env, TD0Config(policy="uniform"))
    history = agent.learn(seed=0)
    assert history["value_error"][0] > 1.0
    assert history.last()["value_error"] < 0.3
    np.testing.assert_allclose(agent.state_values, agent.v_pi, atol=0.3)


def test_mc_basic_episode_length_leaves_far_states_unvalued() -> None:
    env = gym.make("rlsuite/GridWorld-v0")
    target = env.unwrapped.target_state
    rows, cols = np.divmod(np.arange(25), 5)
    dist = np.abs(rows - target // 5) + np.abs(cols - target % 5)
    valued = []
    for length in (1, 2, 3, 4):
        agent = MCBasic(env, MCBasicConfig(episode_length=length))
        agent.learn(10)
        v = agent.state_values
        assert np.all(v[dist > length] == 0.0)  # the reward is more than an episode away
        valued.append(int((v > 0).sum()))
    assert valued == sorted(valued) and valued[0] < valued[-1]
    for length in (8, 14, 30):  # docs/tabular.md: from L = 8 on, every state valued, the policy optimal
        long = MCBasic(env, MCBasicConfig(episode_length=length))
        long.learn(10)
        assert np.all(long.state_values > 0.0)
        assert long.truth_metrics()["greedy_optimal"] == 1.0


@pytest.mark.parametrize("name", [n for n, c in ALGORITHMS.items() if issubclass(c, TabularAgent)])
def test_save_load_round_trips_exactly(env: gym.Env, name: str, tmp_path) -> None:
    cls = ALGORITHMS[name]
    agent = cls(env)
    small = {"iterations": 3, "episodes": 1000, "steps": 20_000}[cls.budget_unit]
    agent.learn(small if name != "mc_basic" else 2, seed=3)
    agent.save(tmp_path / "agent")
    assert not list(tmp_path.glob("*.pkl"))
    loaded = TabularAgent.load(tmp_path / "agent")
    assert type(loaded) is cls and loaded.config == agent.config
    for key, value in agent.arrays().items():
        np.testing.assert_array_equal(loaded.arrays()[key], value)
    np.testing.assert_array_equal(loaded.predict(np.arange(25))[0], agent.predict(np.arange(25))[0])


def test_every_algorithm_is_registered_with_a_config() -> None:
    for name, cls in ALGORITHMS.items():
        assert cls.name == name
        assert issubclass(cls, TabularAgent | BanditAgent)
        cls.config_cls()  # defaults build


def test_bad_inputs_fail_with_one_clear_error(env: gym.Env) -> None:
    with pytest.raises(ValueError, match="budget"):
        ValueIteration(env).learn(0)
    with pytest.raises(ValueError, match="eval_sweeps"):
        TruncatedPolicyIterationConfig(eval_sweeps=0)
    with pytest.raises(ValueError, match="Discrete"):
        MCEpsilonGreedy(gym.make("rlsuite/GridWorld-v0", observation="coords"))


def test_gamma_one_is_solved_on_episodic_tasks_and_refused_on_continuing_ones() -> None:
    from rlsuite.agents.tabular.dp import ValueIterationConfig
    from rlsuite.common.errors import ConfigError

    episodic = gym.make("rlsuite/GridWorldEpisodic-v0")
    agent = ValueIteration(episodic, ValueIterationConfig(gamma=1.0))
    agent.learn()
    target = episodic.unwrapped.target_state
    # undiscounted: every cell reaches the target around the forbidden cells, worth r_target = 1
    np.testing.assert_allclose(np.delete(agent.state_values, target), 1.0, atol=1e-6)
    message = "ValueIterationConfig.gamma: 1.0 leaves the values of this continuing task infinite"
    with pytest.raises(ConfigError, match=re.escape(message)):
        ValueIteration(gym.make("rlsuite/GridWorld-v0"), ValueIterationConfig(gamma=1.0))


def test_predict_refuses_what_is_not_a_state(env: gym.Env) -> None:
    agent = ValueIteration(env)
    for obs in (2.5, 25, -1, "3", np.array([1.0])):
        with pytest.raises(ValueError, match=r"obs must be state indices in \[0, 25\)"):
            agent.predict(obs)


def test_load_names_the_bad_file(env: gym.Env, tmp_path) -> None:
    from rlsuite.common.errors import ConfigError, ModelFolderError

    agent = PolicyIteration(env)
    agent.learn()
    npz, meta = agent.save(tmp_path / "agent")
    meta.write_text(meta.read_text().replace('"policy_iteration"', '"nope"', 1))
    with pytest.raises(ModelFolderError, match=re.escape(f"{meta}: unknown algorithm 'nope'")):
        TabularAgent.load(tmp_path / "agent")
    agent.save(tmp_path / "agent")
    with pytest.raises(ModelFolderError, match=re.escape(f"{meta}: holds a PolicyIteration, not a MCBasic")):
        MCBasic.load(tmp_path / "agent")
    meta.write_text(meta.read_text().replace('"gamma": 0.9', '"gamma": 9'))
    with pytest.raises(ConfigError, match=re.escape(f"{meta}: PolicyIterationConfig.gamma: 9 is out of range")):
        TabularAgent.load(tmp_path / "agent")
    agent.save(tmp_path / "agent")
    np.savez(npz, q=np.zeros((3, 5)), pi=np.zeros((3, 5)))
    with pytest.raises(ModelFolderError, match=re.escape(f"{npz}: does not hold the tables of a PolicyIteration")):
        TabularAgent.load(tmp_path / "agent")
    np.savez(npz, q=np.array([object()], dtype=object))
    with pytest.raises(ModelFolderError, match=re.escape(f"{npz}: holds data that needs pickle to load; refused")):
        TabularAgent.load(tmp_path / "agent")
    npz.unlink()
    with pytest.raises(ModelFolderError, match=re.escape(f"{npz}: missing")):
        TabularAgent.load(tmp_path / "agent")
