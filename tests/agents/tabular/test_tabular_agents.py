"""Tabular agents on Zhao's grid world, checked against exact dynamic programming."""

from __future__ import annotations

import json
import re

import gymnasium as gym
import numpy as np
import pytest
from agent_checks import assert_learned_the_optimum, wrong_greedy_states
from recording import RecordingReporter

import rlsuite.envs  # noqa: F401
from rlsuite.agents.approx import ApproxAgent
from rlsuite.agents.base import History
from rlsuite.agents.tabular import ALGORITHMS, BanditAgent, TabularAgent
from rlsuite.agents.tabular.dp import (
    PolicyIteration,
    TruncatedPolicyIteration,
    TruncatedPolicyIterationConfig,
    ValueIteration,
    _value_iteration_torch,
    policy_evaluation,
    policy_iteration,
    value_iteration,
)
from rlsuite.agents.tabular.mc import MCBasic, MCBasicConfig, MCEpsilonGreedy
from rlsuite.agents.tabular.td import TD0, TD0Config
from rlsuite.common.errors import ConfigError
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

# the grid-world agents: not Zhao ch. 8-10's function-approximation agents (tests/agents/approx), not the
# Blackjack agents (test_mc_prediction.py), not S&B's episodic ones (test_prediction.py, test_planning.py)
MC_PREDICTION = ("mc_prediction", "off_policy_mc_prediction", "mc_es_blackjack")
GRID = [
    n for n, c in ALGORITHMS.items()
    if issubclass(c, TabularAgent) and not issubclass(c, ApproxAgent) and n not in MC_PREDICTION
    and c.default_env == "rlsuite/GridWorld-v0"
]  # fmt: skip
TABULAR = {name: ALGORITHMS[name] for name in GRID}
CONTROL = [name for name in GRID if name != "td0"]


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
    wrong = wrong_greedy_states(agent)
    assert wrong == [], f"{name}: greedy action wrong in states {wrong}"
    assert agent.q_values.shape == (25, 5) and agent.state_values.shape == (25,)
    np.testing.assert_allclose(agent.policy.sum(axis=1), 1.0)
    assert history.last()["greedy_optimal"] == 1.0  # the README's claim, for every control algorithm
    action, _ = agent.predict(np.int64(0))
    assert action.shape == () and int(action) == int(agent.policy[0].argmax())
    np.testing.assert_array_equal(agent.predict(np.arange(25))[0], agent.policy.argmax(axis=1))


SAMPLE_BASED = [name for name in [*CONTROL, "td0"] if ALGORITHMS[name].uses_device]


@pytest.mark.parametrize("name", SAMPLE_BASED)
def test_sample_based_agents_learn_in_torch(env: gym.Env, name: str) -> None:
    """device="auto": the batched env copies, rollouts and (TD) tables in torch, on CUDA when present
    (on the CPU here); the learned tables come back as numpy and are as good as numpy's."""
    agent = ALGORITHMS[name](env, device="auto")
    history = agent.learn(seed=0)
    assert isinstance(agent.q, np.ndarray) and isinstance(agent.policy, np.ndarray)
    assert_learned_the_optimum(name, agent, history.last(), "in torch")


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


@pytest.mark.parametrize("name", GRID)
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
    if cls.uses_device:  # saved before the device left the MC/TD configs for the constructor: still loads
        meta = json.loads((tmp_path / "agent.json").read_text())
        (tmp_path / "agent.json").write_text(json.dumps({**meta, "config": {**meta["config"], "device": "cpu"}}))
        assert TabularAgent.load(tmp_path / "agent").config == agent.config


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


# ----- exact values on tiny grids, worked by hand -----
# 1x2 continuing grid, target on the right: from the left cell `right` earns r_target = 1, at the target
# `stay` earns 1 forever, so v* = [10, 10] at gamma 0.9 (2 at gamma 0.5); v_k after k sweeps from 0 is
# 1 + gamma + ... + gamma^(k-1) in both cells.
TINY = {"n_rows": 1, "n_cols": 2, "forbidden": [], "target": (1, 2)}
# 1x3 with a forbidden middle cell: the greedy-on-rewards start stays in the left cell (entering the
# forbidden cell costs -1), which is optimal at gamma 0.5 (-1 + 0.5 * 2 = 0 ties with 0) but not at 0.9.
DETOUR = {"n_rows": 1, "n_cols": 3, "forbidden": [(1, 2)], "target": (1, 3)}


@pytest.mark.parametrize("device", ["cpu", "torch:cpu"])
@pytest.mark.parametrize("dense", [False, True], ids=["shifts", "dense"])
def test_value_iteration_does_max_iters_sweeps_and_stops_only_below_tol(device: str, dense: bool) -> None:
    from rlsuite.envs.model import TabularModel

    if device != "cpu":
        pytest.importorskip("torch")
    model = tabular_model(gym.make("rlsuite/GridWorld-v0", **TINY))
    if dense:
        model = TabularModel(model.expected_rewards, transition_probs=model.transition_probs)
    for sweeps in (1, 2, 3):
        v, q, iters = value_iteration(model, 0.9, tol=0.0, max_iters=sweeps, device=device)
        v_k = sum(0.9**i for i in range(sweeps))
        assert iters == sweeps
        np.testing.assert_allclose(v, [v_k, v_k], rtol=1e-13)
        # q(s, a) = r(s, a) + 0.9 v(s'): left cell (up, right, down, left, stay), then the target
        np.testing.assert_allclose(q[0], [-1 + 0.9 * v_k, 1 + 0.9 * v_k, -1 + 0.9 * v_k, -1 + 0.9 * v_k, 0.9 * v_k])
        np.testing.assert_allclose(q[1], [-1 + 0.9 * v_k, -1 + 0.9 * v_k, -1 + 0.9 * v_k, 0.9 * v_k, 1 + 0.9 * v_k])
    # gamma = 0: exact after one sweep; the second changes nothing, which is below tol = 1e-12 but not below 0
    assert value_iteration(model, 0.0, tol=1e-12, max_iters=6, device=device)[2] == 2
    v, _, iters = value_iteration(model, 0.0, tol=0.0, max_iters=6, device=device)
    assert iters == 6
    np.testing.assert_array_equal(v, [1.0, 1.0])


def test_policy_evaluation_and_policy_iteration_default_to_gamma_0_9() -> None:
    model = tabular_model(gym.make("rlsuite/GridWorld-v0", **TINY))
    np.testing.assert_allclose(policy_evaluation(model, np.array([1, 4])), [10.0, 10.0])  # right, then stay
    np.testing.assert_allclose(policy_evaluation(model, np.array([4, 4])), [0.0, 10.0])  # stay put
    np.testing.assert_allclose(policy_evaluation(model, np.eye(5)[[1, 4]], 0.5), [2.0, 2.0])
    v, pi, iters = policy_iteration(model)
    assert iters == 1  # greedy on the rewards is already optimal here: one improvement finds it stable
    np.testing.assert_allclose(v, [10.0, 10.0])
    np.testing.assert_array_equal(pi.argmax(axis=1), [1, 4])


@pytest.mark.parametrize("gamma", [0.5, 0.9])
def test_policy_iteration_stopped_after_k_improvements_is_the_agent_after_k_steps(env: gym.Env, gamma: float) -> None:
    from rlsuite.agents.tabular.dp import PolicyIterationConfig

    model = tabular_model(env)
    previous = -np.inf
    for k in (1, 2, 3):
        v, pi, iters = policy_iteration(model, gamma, max_iters=k)
        agent = PolicyIteration(env, PolicyIterationConfig(gamma=gamma))
        agent.learn(k)
        assert iters == k
        np.testing.assert_array_equal(pi, agent.pi)
        np.testing.assert_allclose(v, policy_evaluation(model, pi, gamma), atol=1e-12)
        assert v.sum() > previous + 0.1  # each improvement is a real one (none is done twice or skipped)
        previous = v.sum()
    v, pi, _ = policy_iteration(model, gamma)
    np.testing.assert_allclose(v, value_iteration(model, gamma, tol=1e-12)[0], atol=1e-9)


def test_policy_iteration_agent_deltas_and_ties_by_hand(reporter: RecordingReporter) -> None:
    from rlsuite.agents.tabular.dp import PolicyIterationConfig

    env = gym.make("rlsuite/GridWorld-v0", **DETOUR)
    agent = PolicyIteration(env)
    history = agent.learn()
    # v_0 = [0, 10, 10] (stay left, right, stay at the target); then right from the left: -1 + 0.9 * 10 = 8
    np.testing.assert_allclose(history["iteration"], [1, 2])
    np.testing.assert_allclose(history["delta"], [10.0, 8.0])
    np.testing.assert_allclose(agent.state_values, [8.0, 10.0, 10.0])
    assert reporter.started == [("policy_iteration", 100, "iteration")] and reporter.stopped == 1
    assert reporter.advances == [1, 1]
    # gamma 0.5: right from the left is worth -1 + 0.5 * 2 = 0, a tie with staying: the current action is kept
    agent = PolicyIteration(env, PolicyIterationConfig(gamma=0.5))
    history = agent.learn()
    np.testing.assert_allclose(history["delta"], [2.0])
    np.testing.assert_allclose(agent.state_values, [0.0, 2.0, 2.0])
    np.testing.assert_array_equal(agent.pi.argmax(axis=1), [4, 1, 4])


def test_value_iteration_agent_deltas_by_hand_and_tol_zero_runs_the_budget(reporter: RecordingReporter) -> None:
    from rlsuite.agents.tabular.dp import ValueIterationConfig

    env = gym.make("rlsuite/GridWorld-v0", **TINY)
    history = ValueIteration(env, ValueIterationConfig(gamma=0.5, tol=0.0)).learn(4)
    np.testing.assert_allclose(history["iteration"], [1, 2, 3, 4])
    np.testing.assert_allclose(history["delta"], [1.0, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(history["value_error"], [1.0, 0.5, 0.25, 0.125])  # v* = [2, 2]
    assert reporter.started == [("value_iteration", 4, "iteration")] and reporter.advances == [1] * 4
    # gamma 0: exact after one sweep, every later delta is 0.0, and tol = 0 means "run the whole budget"
    history = ValueIteration(env, ValueIterationConfig(gamma=0.0, tol=0.0)).learn(5)
    np.testing.assert_array_equal(history["delta"], [1.0, 0.0, 0.0, 0.0, 0.0])
    assert len(ValueIteration(env, ValueIterationConfig(gamma=0.0, tol=1e-9)).learn(5)) == 2


def _td_agent(cls_name: str, **config):
    """A TD agent on the episodic 1x2 grid (the target ends the episode), step size 0.5, gamma 0.5."""
    from rlsuite.agents.tabular import td

    cls = getattr(td, cls_name)
    agent = cls(gym.make("rlsuite/GridWorldEpisodic-v0", **TINY), cls.config_cls(gamma=0.5, **config))
    agent.alpha = 0.5
    return agent


# One batched step of 4 copies, all from the left cell (state 0); actions: 1 right (reaches the target,
# which ends the episode), 4 stay. Copy 2 ended earlier (not live): it must change nothing.
S, A_, R = np.array([0, 0, 0, 0]), np.array([1, 4, 4, 4]), np.array([1.0, 0.0, 0.0, 0.0])
S2, A2 = np.array([1, 0, 0, 0]), np.array([0, 1, 4, 0])
LIVE, TERM = np.array([True, True, False, True]), np.array([True, False, False, False])
Q0 = np.array([[0.2, 0.4, 0.0, 0.0, 0.6], [0.8, 0.0, 0.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    ("name", "bootstrap"),
    [
        # Sarsa: copies 1 and 3 bootstrap q(0, 1) = 0.4 and q(0, 0) = 0.2
        ("Sarsa", [0.4, 0.2]),
        # Expected Sarsa, epsilon 0.5: pi(.|0) = 0.1 each, 0.6 on the greedy `stay`: 0.1 * 0.6 + 0.6 * 0.6
        ("ExpectedSarsa", [0.42, 0.42]),
        # Q-learning: max_a q(0, a) = 0.6
        ("QLearning", [0.6, 0.6]),
    ],
)
def test_td_control_update_by_hand(name: str, bootstrap: list) -> None:
    agent = _td_agent(name, epsilon=0.5)
    agent.q = Q0.copy()
    agent.update(S, A_, R, S2, A2, LIVE, TERM)
    want = Q0.copy()
    # copy 0 ends at the target: target 1, no bootstrap from q(1, 0) = 0.8; q(0, 1) = 0.4 + 0.5 (1 - 0.4)
    want[0, 1] = 0.7
    # q(0, 4) moves by alpha times the MEAN of its two TD errors 0.5 * b - 0.6 (copy 2 is not live)
    want[0, 4] = 0.6 + 0.5 * np.mean([0.5 * b - 0.6 for b in bootstrap])
    np.testing.assert_allclose(agent.q, want, rtol=1e-12)


def test_td0_update_by_hand() -> None:
    agent = _td_agent("TD0")
    agent.v = np.array([0.6, 0.8])
    agent.update(S, A_, R, S2, A2, LIVE, TERM)
    # v(0): errors 1 - 0.6 (ends, no bootstrap of v(1) = 0.8), and twice 0.5 * 0.6 - 0.6 = -0.3: mean -1/15
    np.testing.assert_allclose(agent.v, [0.6 + 0.5 * (0.4 - 0.3 - 0.3) / 3, 0.8], rtol=1e-12)


def test_n_step_sarsa_update_by_hand() -> None:
    agent = _td_agent("NStepSarsa", n=2)
    q = np.array([[0.0, 0.4, 0.0, 0.0, 0.6], [0.8, 0.3, 0.0, 0.0, 0.0]])
    agent.q = q.copy()
    one = np.array([True, True, True])
    # copy 0: stay, then right (ends at t = 1); copy 1: right (ends at t = 0), then not live, reward 5 ignored;
    # copy 2: stay, stay, never ends
    agent.update(np.array([0, 0, 0]), np.array([4, 1, 4]), np.array([0.0, 1.0, 0.0]), np.array([0, 1, 0]),
                 np.array([1, 0, 4]), one, np.array([False, True, False]))  # fmt: skip
    np.testing.assert_array_equal(agent.q, q)  # n = 2: nothing to update after one step
    agent.update(np.array([0, 1, 0]), np.array([1, 0, 4]), np.array([1.0, 5.0, 0.0]), np.array([1, 1, 0]),
                 np.array([1, 1, 4]), np.array([True, False, True]), np.array([True, False, False]))  # fmt: skip
    # the t = 0 entries: copy 0 (0, 4): 0 + 0.5 * 1, ended (no bootstrap); copy 1 (0, 1): 1, ended;
    # copy 2 (0, 4): 0 + 0.5 * 0 + 0.25 * q(0, 4) = 0.15. q(0, 4) moves by half the mean error of copies 0, 2
    want = q.copy()
    want[0, 1] = 0.4 + 0.5 * (1.0 - 0.4)
    want[0, 4] = 0.6 + 0.5 * ((0.5 - 0.6) + (0.15 - 0.6)) / 2
    np.testing.assert_allclose(agent.q, want, rtol=1e-12)
    # a restart flushes the t = 1 entries with the rewards they have: copy 0 (0, 1): 1, ended; copy 1 is
    # not live; copy 2 (0, 4): 0 + 0.5 * q(0, 4) bootstrapped from the last (s', a') = (0, 4)
    agent.begin_episode()
    q1 = want.copy()
    want[0, 1] = q1[0, 1] + 0.5 * (1.0 - q1[0, 1])
    want[0, 4] = q1[0, 4] + 0.5 * (0.5 * q1[0, 4] - q1[0, 4])
    np.testing.assert_allclose(agent.q, want, rtol=1e-12)
    assert not agent.buffer
    agent.begin_episode()  # nothing pending: nothing changes
    np.testing.assert_allclose(agent.q, want, rtol=1e-12)


def test_q_learning_behaviour_and_learned_policy() -> None:
    from rlsuite.agents.tabular.td import QLearning, QLearningConfig

    env = gym.make("rlsuite/GridWorld-v0", **TINY)
    agent = QLearning(env, QLearningConfig(epsilon=0.5))
    agent.q = Q0.copy()
    np.testing.assert_allclose(agent.behaviour(), [[0.1, 0.1, 0.1, 0.1, 0.6], [0.6, 0.1, 0.1, 0.1, 0.1]])
    np.testing.assert_array_equal(agent.learned_policy(), np.eye(5)[[4, 0]])
    uniform = QLearning(env, QLearningConfig(epsilon=0.5, behavior="uniform"))
    uniform.q = Q0.copy()
    np.testing.assert_allclose(uniform.behaviour(), np.full((2, 5), 0.2))


@pytest.mark.parametrize("gamma", [0.5, 0.9])
def test_td0_evaluates_the_policy_it_is_given(gamma: float) -> None:
    env = gym.make("rlsuite/GridWorld-v0", **TINY)
    optimal = TD0(env, TD0Config(policy="optimal", gamma=gamma))
    np.testing.assert_array_equal(optimal.policy, np.eye(5)[[1, 4]])
    np.testing.assert_allclose(optimal.v_pi, [1 / (1 - gamma)] * 2)
    uniform = TD0(env, TD0Config(policy="uniform", gamma=gamma))
    np.testing.assert_array_equal(uniform.policy, np.full((2, 5), 0.2))
    # uniform: v = 0.2 (r(s, .) summed) + gamma (0.2 * sum of next values): solve the 2x2 system by hand
    # left: r sums to -2, next states 0 (x4) and 1; target: r sums to -2, next 1 (x4) and 0
    a = np.array([[1 - gamma * 0.8, -gamma * 0.2], [-gamma * 0.2, 1 - gamma * 0.8]])
    np.testing.assert_allclose(uniform.v_pi, np.linalg.solve(a, [-0.4, -0.4]), rtol=1e-12)


def test_n_step_sarsa_needs_n_below_the_episode_length() -> None:
    from rlsuite.agents.tabular.td import NStepSarsaConfig
    from rlsuite.common.errors import ConfigError

    assert NStepSarsaConfig(n=9, episode_length=10).n == 9
    with pytest.raises(ConfigError, match=re.escape("NStepSarsaConfig.n: 10 must be below episode_length (10)")):
        NStepSarsaConfig(n=10, episode_length=10)


# MC on the 1x2 grid, 3-step episodes, gamma 0.9. The first policy is greedy on q = 0: `up` everywhere (a
# boundary bump, -1, in either cell). Returns of (s, a) then `up` twice: -1 - 0.9 - 0.81 = -2.71 for a bump
# first, -0.71 for right from the left cell / stay at the target (+1 first), -1.71 for the moves worth 0.
# Greedy on that: right, then stay, and under it the returns are 2.71, 1.71 and 0.71.
MC_Q1 = [[-2.71, -0.71, -2.71, -2.71, -1.71], [-2.71, -2.71, -2.71, -1.71, -0.71]]
MC_Q2 = [[0.71, 2.71, 0.71, 0.71, 1.71], [0.71, 0.71, 0.71, 1.71, 2.71]]


def test_mc_basic_by_hand(reporter: RecordingReporter) -> None:
    env = gym.make("rlsuite/GridWorld-v0", **TINY)
    agent = MCBasic(env, MCBasicConfig(episode_length=3, episodes_per_pair=2))
    history = agent.learn(1)
    np.testing.assert_allclose(agent.q_values, MC_Q1, rtol=1e-12)
    np.testing.assert_array_equal(agent.policy.argmax(axis=1), [1, 4])
    history = agent.learn(3)
    np.testing.assert_allclose(agent.q_values, MC_Q2, rtol=1e-12)
    np.testing.assert_array_equal(history["iteration"], [1, 2, 3])
    np.testing.assert_array_equal(history["episodes"], [20, 40, 60])  # 2 states x 5 actions x 2 episodes
    assert reporter.started == [("mc_basic", 1, "iteration"), ("mc_basic", 3, "iteration")]
    assert reporter.advances == [1] * 4 and reporter.stopped == 2
    assert len(MCBasic(env, MCBasicConfig(episode_length=3)).learn()) == 10  # the default budget


def test_mc_basic_follows_the_policy_it_holds_reproducibly() -> None:
    env = gym.make("rlsuite/GridWorld-v0", **TINY)
    results = []
    for seed in (None, 0, 1):
        agent = MCBasic(env, MCBasicConfig(episode_length=4))
        agent.pi = np.full((2, 5), 0.2)  # evaluate the uniform policy: its actions are random draws
        agent.learn(1) if seed is None else agent.learn(1, seed=seed)
        results.append(agent.q_values)
    np.testing.assert_array_equal(results[0], results[1])  # the default seed is 0
    assert not np.array_equal(results[1], results[2])


def test_mc_exploring_starts_by_hand(reporter: RecordingReporter) -> None:
    from rlsuite.agents.tabular.mc import MCExploringStarts, MCExploringStartsConfig

    env = gym.make("rlsuite/GridWorld-v0", **TINY)
    # tail = 2 of 3 steps: only the first step of each episode is averaged, with its whole 3-step return
    config = MCExploringStartsConfig(num_envs=200, episode_length=3, tail=2, average="batch")
    agent = MCExploringStarts(env, config)
    history = agent.learn(300)
    np.testing.assert_allclose(agent.q_values, MC_Q2, rtol=1e-12)  # batch 2 evaluates the greedy policy of batch 1
    assert agent.returns_count.sum() == 200  # average="batch": only the last batch counts
    np.testing.assert_array_equal(history["episodes"], [200, 400])
    assert reporter.started == [("mc_exploring_starts", 300, "episode")] and reporter.advances == [200, 200]


@pytest.mark.parametrize(("average", "counts"), [("all", [60, 90]), ("recent", [45, 75])])
def test_mc_averages_fade_by_keep_ramped_over_each_learn_call(average: str, counts: list) -> None:
    from rlsuite.agents.tabular.mc import MCEpsilonGreedyConfig

    env = gym.make("rlsuite/GridWorld-v0", **TINY)
    # every-visit, no tail: each batch of 10 episodes adds 30 visits. recent: keep ramps from 1 to 0 over the
    # budget of each learn call, so batch 2 of 2 keeps half the old weight (15 + 30), and the first batch of
    # the next call keeps all of it (45 + 30)
    config = MCEpsilonGreedyConfig(num_envs=10, episode_length=3, tail=0, visit="every", average=average, keep=1.0,
                                   keep_final=0.0, epsilon=0.5, epsilon_final=0.1)  # fmt: skip
    agent = MCEpsilonGreedy(env, config)
    np.testing.assert_allclose(agent.policy, np.full((2, 5), 0.1) + 0.5 * np.eye(5)[[0, 0]])  # epsilon 0.5 at first
    agent.learn(20)
    assert agent.returns_count.sum() == counts[0]
    assert agent.epsilon == pytest.approx(0.1)  # the end of the budget: epsilon_final
    agent.learn(10)
    assert agent.returns_count.sum() == counts[1]


def test_first_visit_mask_by_hand() -> None:
    from rlsuite.agents.tabular.batch import first_visit_mask

    # columns are episodes, 2 actions. Episode 0 visits (0, 1), (2, 0), (0, 1), (0, 1); episode 1 (1, 0) twice,
    # then (1, 1), then (0, 0) after its end; episode 2 stays on (0, 0)
    states = np.array([[0, 1, 0], [2, 1, 0], [0, 1, 0], [0, 0, 0]])
    actions = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 0], [1, 0, 0]])
    alive = np.array([[True] * 3, [True] * 3, [True] * 3, [True, False, True]])
    want = np.array([[True, True, True], [True, False, False], [False, True, False], [False, False, False]])
    np.testing.assert_array_equal(first_visit_mask(states, actions, 2, alive), want)
    torch = pytest.importorskip("torch")
    mask = first_visit_mask(torch.as_tensor(states), torch.as_tensor(actions), 2, torch.as_tensor(alive))
    np.testing.assert_array_equal(mask.numpy(), want)


def test_set_arrays_names_the_table_of_the_wrong_shape(env: gym.Env) -> None:
    agent = ValueIteration(env)
    good = {"q": np.ones((25, 5)), "pi": np.full((25, 5), 0.2), "v": np.arange(25)}
    for name, bad, want in (("q", (3, 5), (25, 5)), ("pi", (25, 4), (25, 5)), ("v", (24,), (25,))):
        with pytest.raises(ValueError, match=re.escape(f"{name} has shape {bad}, the env needs {want}")):
            agent.set_arrays({**good, name: np.zeros(bad)})
    agent.set_arrays(good)
    assert agent.v.dtype == np.float64
    np.testing.assert_array_equal(agent.state_values, np.arange(25))
    agent.set_arrays({"q": good["q"], "pi": good["pi"]})
    assert agent.v is None
    np.testing.assert_allclose(agent.state_values, 1.0)  # sum_a pi(a|s) q(s, a)


def test_td_learning_loop_by_hand(reporter: RecordingReporter) -> None:
    # the episodic 1x2 grid starts only in the left cell; TD(0) of the optimal policy (right, which ends the
    # episode with reward 1): an episode of 2 steps updates v(0) once, by its step size then, toward 1.
    # budget 16 in 3 copies: 5 batched steps, restarts at t = 0, 2, 4, step size 0.5 -> 0.1 linearly:
    # 0.5, 0.3, 0.1 at the updates. v(0) = 0.5, then 0.5 + 0.3 * 0.5 = 0.65, then 0.65 + 0.1 * 0.35 = 0.685
    env = gym.make("rlsuite/GridWorldEpisodic-v0", **TINY)
    config = TD0Config(policy="optimal", alpha=0.5, alpha_final=0.1, num_envs=3, episode_length=2, log_every=2)
    agent = TD0(env, config)
    np.testing.assert_array_equal(agent.v_pi, [1.0, 0.0])
    history = agent.learn(16)
    np.testing.assert_allclose(agent.state_values, [0.685, 0.0], rtol=1e-12)
    np.testing.assert_array_equal(history["steps"], [6, 12, 15])  # every log_every batched steps, and the last
    np.testing.assert_allclose(history["value_error"], [0.5, 0.35, 0.315], rtol=1e-12)
    assert reporter.started == [("td0", 15, "step")] and reporter.advances == [3] * 5
    assert len(TD0(env, config).learn(2)) == 1  # a budget below num_envs still runs one batched step


@pytest.mark.parametrize("name", SAMPLE_BASED)
def test_sample_based_agents_are_reproducible_per_seed(name: str) -> None:
    # a slippery 1x2 grid: the env's and the agent's random numbers both matter
    env = gym.make("rlsuite/GridWorld-v0", **TINY, slip_prob=0.3)
    cls = ALGORITHMS[name]
    small = {"num_envs": 8, "episode_length": 4}
    if name == "mc_basic":
        small = {"episode_length": 4}
    elif name.startswith("mc_"):
        small["tail"] = 1
    elif name == "n_step_sarsa":
        small["n"] = 2
    budget = {"iterations": 1, "episodes": 16, "steps": 64}[cls.budget_unit]
    results = []
    for seed in (None, 0, 1):
        agent = cls(env, cls.config_cls(**small))
        if name == "mc_basic":
            agent.pi = np.full((2, 5), 0.2)
        agent.learn(budget) if seed is None else agent.learn(budget, seed=seed)
        results.append(agent.state_values if name == "td0" else agent.q_values)
    np.testing.assert_array_equal(results[0], results[1])  # the default seed is 0, and it fixes everything
    assert not np.array_equal(results[1], results[2])


class Chain(gym.Env):
    """Two states, two actions, no exact model: action 1 moves to the other state and earns 1, action 0 stays."""

    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.s = 0
        return self.s, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        self.s = (self.s + int(action)) % 2
        return self.s, float(action), False, False, {}


def test_sample_based_agents_run_on_envs_without_start_states_or_a_model() -> None:
    if "rlsuite_test/Chain-v0" not in gym.registry:
        gym.register("rlsuite_test/Chain-v0", entry_point=Chain)
    chain = gym.make("rlsuite_test/Chain-v0")
    agent = TD0(chain, TD0Config(num_envs=4, episode_length=2, log_every=1))  # uniform: v = 0.5 + 0.9 v = 5
    assert agent.v_pi is None and agent.truth_metrics() == {}
    history = agent.learn(8)
    assert history.last() == {"steps": 8.0}
    assert np.all(agent.state_values > 0.0)  # rewards of 1 half the time: both values rose from 0
    every3 = TD0(chain, TD0Config(num_envs=4, episode_length=2, log_every=3)).learn(28)  # 7 batched steps
    assert [row["steps"] for row in every3.rows] == [12.0, 24.0, 28.0]  # after steps 3 and 6, and the last
    with pytest.raises(ValueError, match="ValueIteration needs an env with an exact model"):
        ValueIteration(chain)
    with pytest.raises(ConfigError) as info:
        TD0(chain, TD0Config(policy="optimal"))
    assert str(info.value) == "TD0Config.policy: 'optimal' needs an env with an exact model"
    assert (info.value.field, info.value.value) == ("policy", "optimal")
    # FrozenLake has a model (P) but no list of start states: episodes may start anywhere
    lake = gym.make("FrozenLake-v1", is_slippery=False)
    from rlsuite.agents.tabular.mc import MCExploringStarts, MCExploringStartsConfig

    es = MCExploringStarts(lake, MCExploringStartsConfig(num_envs=4, episode_length=3, tail=0))
    assert len(es.learn(8)) == 2


def test_torch_work_stays_on_the_given_device_whatever_torch_s_default_device() -> None:
    """A user's default device (``torch.set_default_device("cuda")``; "meta" here, where nothing can be read
    back) must not pull the sweeps or the first-visit mask off the device they are given."""
    from rlsuite.agents.tabular.batch import first_visit_mask
    from rlsuite.envs.model import TabularModel

    torch = pytest.importorskip("torch")
    model = tabular_model(gym.make("rlsuite/GridWorld-v0", **TINY))
    dense = TabularModel(model.expected_rewards, transition_probs=model.transition_probs)
    cpu = torch.device("cpu")
    states = torch.tensor([[0, 1], [0, 1]], device=cpu)
    alive = torch.ones((2, 2), dtype=torch.bool, device=cpu)
    with torch.device("meta"):
        for form in (model, dense):
            v, _, iters = _value_iteration_torch(form, 0.9, 0.0, 3, cpu)
            assert iters == 3
            np.testing.assert_allclose(v, [2.71, 2.71], rtol=1e-12)
        mask = first_visit_mask(states, states, 2, alive)
    assert mask.device == cpu
    np.testing.assert_array_equal(mask.numpy(), [[True, True], [False, False]])


def test_agent_basics_on_the_1x2_grid() -> None:
    from rlsuite.agents.tabular.agent import exact_optimum
    from rlsuite.agents.tabular.td import Sarsa, SarsaConfig
    from rlsuite.common.errors import UsageError

    env = gym.make("rlsuite/GridWorld-v0", **TINY)
    agent = Sarsa(env, SarsaConfig(gamma=0.5))
    np.testing.assert_array_equal(agent.policy, np.full((2, 5), 0.2))  # uniform before learning
    np.testing.assert_allclose(agent.v_star, [2.0, 2.0], atol=1e-9)  # value iteration to tol 1e-10
    np.testing.assert_allclose(agent.q_star, [[0.0, 2.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0, 2.0]], atol=1e-9)
    agent.q = Q0 + np.eye(5)[[4, 4]] * [[0.0], [0.9]]
    # greedy: stay (optimal at the target, not on the left), max_a q = [0.6, 0.9] against v* = [2, 2]
    metrics = {"value_error": 1.4, "optimal_fraction": 0.5, "greedy_optimal": 0.0}
    assert agent.truth_metrics() == pytest.approx(metrics, abs=1e-9)
    agent.pi = np.eye(5)[[1, 4]]
    policy = agent.policy
    policy[:] = 0.0  # a copy: the agent's policy is not changed through it
    np.testing.assert_array_equal(agent.policy, np.eye(5)[[1, 4]])
    np.testing.assert_allclose(agent.state_values, [0.4, 0.9])  # sum_a pi(a|s) q(s, a)
    actions, state = agent.predict(np.array([[0, 1], [1, 0]]))
    assert state is None
    np.testing.assert_array_equal(actions, [[1, 4], [4, 1]])  # the shape of obs
    np.testing.assert_array_equal(agent.predict(np.array([0, 1, 1]), deterministic=False)[0], [1, 4, 4])
    with pytest.raises(ValueError, match=re.escape("obs must be state indices in [0, 2), got array([], dtype=int64)")):
        agent.predict(np.array([], dtype=np.int64))
    # gamma = 1 on a continuing task, without a config to name: the message still names gamma
    model = tabular_model(env)
    with pytest.raises(UsageError, match=r"^gamma: 1.0 leaves the values of this continuing task infinite"):
        exact_optimum(model, 1.0)
    v, _ = exact_optimum(tabular_model(gym.make("rlsuite/GridWorldEpisodic-v0", **TINY)), 1.0)
    np.testing.assert_array_equal(v, [1.0, 0.0])  # undiscounted, episodic: one step right, reward 1


def test_the_agents_refuse_non_discrete_envs_naming_the_spaces() -> None:
    message = (
        "MCEpsilonGreedy needs Discrete observations and actions (got MultiDiscrete / Discrete); "
        "use observation='index'"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        MCEpsilonGreedy(gym.make("rlsuite/GridWorld-v0", observation="coords"))


def test_batched_episodes_by_hand() -> None:
    from rlsuite.agents.tabular.batch import Rollout, backend_of, discounted_returns, pair_means, rollout

    rewards = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 0.0]])
    # G_2 = r_2, G_1 = r_1 + 0.5 G_2, G_0 = r_0 + 0.5 G_1
    np.testing.assert_allclose(discounted_returns(rewards, 0.5), [[1.5, 0.5], [1.0, 1.0], [2.0, 0.0]])
    sums, counts = pair_means(np.array([3, 0, 3, 3]), np.array([1.0, 2.0, 3.0, 5.0]), 5)
    np.testing.assert_array_equal(sums, [2.0, 0.0, 0.0, 9.0, 0.0])
    np.testing.assert_array_equal(counts, [1.0, 0.0, 0.0, 3.0, 0.0])
    assert sums.dtype == counts.dtype == np.float64
    # the episodic 1x2 grid: from the left cell, `stay` (0), then `right` (1, ends), then after the end
    venv = gym.make_vec("rlsuite/GridWorldEpisodic-v0", num_envs=2, vectorization_mode="vector_entry_point", **TINY)
    backend = backend_of(venv, 0)
    plan = iter([np.array([1, 4]), np.array([3, 1]), np.array([4, 4])])
    venv.reset(seed=0, options={"start": np.array([0, 0])})
    out = rollout(venv, np.array([0, 0]), 3, lambda s: next(plan), backend, first_actions=np.array([4, 1]))
    assert isinstance(out, Rollout)
    np.testing.assert_array_equal(out.states, [[0, 0], [0, 1], [1, 0]])  # copy 1 restarts after its end
    np.testing.assert_array_equal(out.actions, [[4, 1], [1, 4], [3, 1]])  # choose is not asked at t = 0
    np.testing.assert_array_equal(out.alive, [[True, True], [True, False], [False, False]])
    np.testing.assert_array_equal(out.rewards, [[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])  # none after the end
    venv.close()


def test_sample_based_agents_name_what_they_cannot_run_on() -> None:
    from rlsuite.agents.tabular.mc import MCExploringStarts, MCExploringStartsConfig
    from rlsuite.agents.tabular.td import Sarsa
    from rlsuite.common.errors import UsageError
    from rlsuite.envs.gridworld import GridWorldEnv

    grid = gym.make("rlsuite/GridWorld-v0", **TINY)
    for ok in ("cpu", "auto", "cuda", "cuda:1", "torch:cpu", "torch:cuda:0", "torch:auto"):
        assert Sarsa(grid, device=ok).device == ok
    for bad in ("gpu", "cuda:", "torch:", "cpu0", "torch:gpu"):
        message = f"device: {bad!r} is not one of cpu, auto, cuda, cuda:N, torch:cpu"
        with pytest.raises(UsageError, match=re.escape(message)):
            Sarsa(grid, device=bad)
    lake = gym.make("FrozenLake-v1", is_slippery=False)
    config = MCExploringStartsConfig(num_envs=2, episode_length=3, tail=0)
    message = "device 'torch:cpu': FrozenLake-v1 has no batched version; only rlsuite's batched envs run there"
    with pytest.raises(UsageError, match=re.escape(message)):
        MCExploringStarts(lake, config, device="torch:cpu")  # refused when built, before any learning
    with pytest.raises(UsageError, match=re.escape(message.replace("'torch:cpu'", "'auto'"))):
        Sarsa(lake, device="auto")
    assert Sarsa(lake).device == "cpu" and Sarsa(GridWorldEnv(**TINY), device="torch:cpu").device == "torch:cpu"
    message = "sample-based tabular agents need a registered env (made with gym.make(ID, ...))"
    with pytest.raises(UsageError, match=re.escape(message)):
        TD0(GridWorldEnv(**TINY)).learn(2)


def test_mc_greedy_batches_on_the_episodic_grid_by_hand() -> None:
    from rlsuite.agents.tabular.mc import MCEpsilonGreedyConfig

    # episodes start in the left cell only. Batch 1, greedy on q = 0: `up` three times (-1 each), returns
    # G_0 = -2.71, G_1 = -1.9, G_2 = -1, every-visit mean -1.87 for (0, up). Batch 2, greedy: `right`, reward 1
    # and the end: G_0 = 1, later steps not alive. average="batch" forgets only the pairs seen again.
    env = gym.make("rlsuite/GridWorldEpisodic-v0", **TINY)
    config = MCEpsilonGreedyConfig(num_envs=4, episode_length=3, tail=0, visit="every", average="batch", epsilon=0.0)
    agent = MCEpsilonGreedy(env, config)
    history = agent.learn(8)
    np.testing.assert_allclose(history["mean_return"], [-2.71, 1.0], rtol=1e-12)
    np.testing.assert_allclose(agent.q_values[0], [-1.87, 1.0, 0.0, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_array_equal(agent.returns_count.reshape(2, 5)[0], [12, 4, 0, 0, 0])
    np.testing.assert_allclose(agent.returns_sum.reshape(2, 5)[0], [-4 * 5.61, 4.0, 0.0, 0.0, 0.0], rtol=1e-12)
    # first-visit: (0, up) counts once per episode, with its first return
    agent = MCEpsilonGreedy(env, config.replace(visit="first"))
    agent.learn(4)
    np.testing.assert_allclose(agent.q_values[0], [-2.71, 0.0, 0.0, 0.0, 0.0], rtol=1e-12)
    np.testing.assert_array_equal(agent.returns_count.reshape(2, 5)[0], [4, 0, 0, 0, 0])


def test_mc_batch_average_keeps_only_each_pair_s_latest_episode() -> None:
    from rlsuite.agents.tabular.mc import MCExploringStarts, MCExploringStartsConfig

    # one episode per batch: each batch sees one pair once; average="batch" replaces that pair's returns, so
    # after 20 episodes every pair holds one return, the one under the final greedy policy (right, stay)
    env = gym.make("rlsuite/GridWorld-v0", **TINY)
    config = MCExploringStartsConfig(num_envs=1, episode_length=3, tail=2, average="batch")
    agent = MCExploringStarts(env, config)
    agent.learn(20)
    np.testing.assert_array_equal(agent.returns_count, np.ones(10))
    np.testing.assert_allclose(agent.q_values, MC_Q2, rtol=1e-12)


@pytest.mark.parametrize("name", SAMPLE_BASED)
def test_sample_based_agents_run_on_the_device_they_are_given(name: str) -> None:
    """torch:cpu runs the rollouts in torch, which draws from its own generator: the same seed gives another
    (reproducible) run than numpy's; and cuda where there is none is an error, not a quiet run on the CPU."""
    from rlsuite.common.errors import UsageError

    torch = pytest.importorskip("torch")
    env = gym.make("rlsuite/GridWorld-v0", **TINY)
    cls = ALGORITHMS[name]
    small = {"episode_length": 4} if name == "mc_basic" else {"num_envs": 8, "episode_length": 4}
    if name.startswith("mc_") and name != "mc_basic":
        small["tail"] = 1
    if name == "n_step_sarsa":
        small["n"] = 2
    budget = {"iterations": 1, "episodes": 16, "steps": 64}[cls.budget_unit]
    results = {}
    for device in ("cpu", "torch:cpu", "torch:cpu"):
        agent = cls(env, cls.config_cls(**small), device=device)
        if name == "mc_basic":
            agent.pi = np.full((2, 5), 0.2)  # a random policy to follow
        agent.learn(budget, seed=0)
        values = agent.state_values if name == "td0" else agent.q_values
        if device in results:
            np.testing.assert_array_equal(values, results[device])
        results[device] = values
    assert not np.array_equal(results["cpu"], results["torch:cpu"])
    if not torch.cuda.is_available():
        agent = cls(env, cls.config_cls(**small), device="cuda")
        with pytest.raises(UsageError, match=re.escape("device: 'cuda' asked for, but CUDA is not available here")):
            agent.learn(budget)


def test_random_restarts_start_where_asked_on_gymnasium_toy_text_envs(caplog: pytest.LogCaptureFixture) -> None:
    """FrozenLake's reset ignores ``options["start"]``: the copies are put at the chosen states through
    its ``s`` (the episodes used to start at state 0 whatever was asked); an env with no such state starts
    where it starts, and a warning says so once."""
    from rlsuite.agents.tabular.batch import make_batched, reset_to

    lake = gym.make("FrozenLake-v1", is_slippery=False)
    venv = make_batched(lake, 4)
    starts, actions = np.array([3, 6, 9, 14]), np.array([1, 2, 1, 2])  # down, right, down, right
    assert reset_to(venv, starts, seed=0).tolist() == [3, 6, 9, 14]
    obs, reward, term, _, _ = venv.step(actions)
    expected = [lake.unwrapped.P[s][a][0] for s, a in zip(starts, actions, strict=True)]  # (1.0, s', r, done)
    assert obs.tolist() == [7, 7, 13, 15] == [e[1] for e in expected]
    assert reward.tolist() == [0.0, 0.0, 0.0, 1.0] and term.tolist() == [True, True, False, True]
    assert not caplog.records

    fixed = gym.vector.SyncVectorEnv([Chain, Chain])  # starts at 0, keeps an `s` but has no model P
    assert reset_to(fixed, np.array([0, 0])).tolist() == [0, 0]  # where it starts anyway: nothing to say
    assert not caplog.records
    for _ in range(2):
        assert reset_to(fixed, np.array([0, 1])).tolist() == [0, 0]
    assert [r.getMessage() for r in caplog.records] == [
        "Chain cannot be put at a chosen start state (no state index s beside P): episodes start where the env "
        "starts them, not at the random states these agents restart from (the states it never starts near may "
        "never be visited)"
    ]


def test_a_sync_vector_env_put_at_its_starts_is_seeded_as_asked() -> None:
    """reset_to's seed reaches the copies' own randomness: the slippery lake's moves repeat under one seed."""
    from rlsuite.agents.tabular.batch import reset_to

    def walk(seed: int) -> list[list[int]]:
        venv = gym.vector.SyncVectorEnv([lambda: gym.make("FrozenLake-v1", is_slippery=True)] * 4)
        seen = [reset_to(venv, np.array([0, 1, 2, 4]), seed=seed).tolist()]
        for _ in range(6):
            seen.append(venv.step(np.array([1, 2, 1, 2]))[0].tolist())
        return seen

    assert walk(3) == walk(3) != walk(4)


def test_copies_of_an_env_that_reads_one_start_option_are_each_put_at_their_own() -> None:
    """S&B's 4x4 grid reads ``options["start"]`` as one state: a sync vector env must not hand every copy all
    the starts (a TypeError once), and each copy then steps from its own start."""
    from rlsuite.agents.tabular.batch import reset_to

    venv = gym.vector.SyncVectorEnv([lambda: gym.make("rlsuite/SBGridWorld4x4-v0")] * 3)
    assert reset_to(venv, np.array([5, 6, 14]), seed=0).tolist() == [5, 6, 14]
    obs, reward, term, _, _ = venv.step(np.array([0, 1, 1]))  # up, right, right
    assert obs.tolist() == [1, 7, 15] and reward.tolist() == [-1.0, -1.0, -1.0]
    assert term.tolist() == [False, False, True]


@pytest.mark.parametrize("registered", [True, False])
def test_the_start_warning_names_a_single_copys_env_id_or_class(registered: bool, caplog: pytest.LogCaptureFixture
                                                                 ) -> None:  # fmt: skip
    from rlsuite.agents.tabular.batch import place_at, reset_to

    if "rlsuite_test/Chain-v0" not in gym.registry:
        gym.register("rlsuite_test/Chain-v0", entry_point=Chain)
    venv = gym.vector.SyncVectorEnv([lambda: gym.make("rlsuite_test/Chain-v0")] if registered else [Chain])
    assert reset_to(venv, np.array([1])).tolist() == [0]
    name = "rlsuite_test/Chain-v0" if registered else "Chain"
    assert [r.getMessage().split(" cannot be put ")[0] for r in caplog.records] == [name]
    assert not place_at(venv.envs[0].unwrapped, 1) and venv.envs[0].unwrapped.s == 0
    lake = gym.make("FrozenLake-v1").unwrapped
    lake.reset(seed=0)
    kind = type(lake.s)  # numpy's int64: kept
    assert place_at(lake, 5) is True and lake.s == 5 and type(lake.s) is kind
