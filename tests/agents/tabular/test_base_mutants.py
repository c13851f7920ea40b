"""The agent contract of rlsuite.agents.base where the mutation run found it loose: what a saved agent's files
hold and how load reads them back (the class, the config, legacy keys, refusals), make_env / env_copies, the
registry of agent classes, redefault and numpy_backend."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest

import rlsuite.envs  # noqa: F401
from rlsuite.agents.base import (
    AGENTS,
    Agent,
    History,
    env_spec_of,
    greedy_optimal_fraction,
    numpy_backend,
    redefault,
    sample_actions,
)
from rlsuite.agents.tabular import EpsilonGreedyBandit, NStepTD
from rlsuite.agents.tabular.bandit import EpsilonGreedyBanditConfig
from rlsuite.agents.tabular.episodic import DoubleQLearningConfig, allowed_actions
from rlsuite.agents.tabular.prediction import NStepTDConfig
from rlsuite.agents.tabular.stream import EpisodicTDConfig
from rlsuite.common.config import Config, option
from rlsuite.common.errors import ConfigError, ModelFolderError


def saved_td(tmp_path) -> tuple[NStepTD, object]:
    agent = NStepTD(gym.make("rlsuite/RandomWalk-v0"), NStepTDConfig(alpha=0.3, n=2, runs=2))
    agent.learn(2, seed=0)
    agent.save(tmp_path / "agent")
    return agent, tmp_path / "agent.json"


def edit(meta_file, **changes) -> None:
    meta = json.loads(meta_file.read_text())
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    meta_file.write_text(json.dumps(meta))


def test_a_saved_agent_names_its_class_and_comes_back_with_its_config(tmp_path) -> None:
    agent, meta_file = saved_td(tmp_path)
    meta = json.loads(meta_file.read_text())
    assert meta["algo"] == "n_step_td" and meta["class"] == "NStepTD" and meta["env_id"] == "rlsuite/RandomWalk-v0"
    loaded = Agent.load(tmp_path / "agent")
    assert type(loaded) is NStepTD and loaded.config == agent.config != NStepTDConfig()
    np.testing.assert_array_equal(loaded.tables, agent.tables)


def test_load_refuses_an_algorithm_that_is_not_a_name(tmp_path) -> None:
    _, meta_file = saved_td(tmp_path)
    edit(meta_file, algo=["n_step_td"])
    known = ", ".join(sorted(AGENTS))
    with pytest.raises(ModelFolderError, match="^" + re.escape(f"{meta_file}: unknown algorithm ['n_step_td'] "
                                                             f"(known: {known})") + "$"):  # fmt: skip
        Agent.load(tmp_path / "agent")


def test_load_refuses_an_env_id_naming_a_module_unless_trusted(tmp_path) -> None:
    _, meta_file = saved_td(tmp_path)
    edit(meta_file, env_id="json:rlsuite/RandomWalk-v0")
    with pytest.raises(ModelFolderError, match="^" + re.escape(f"{meta_file}: env id 'json:rlsuite/RandomWalk-v0' "
                                                             "would import the module 'json'")):  # fmt: skip
        Agent.load(tmp_path / "agent")


def saved_bandit(tmp_path, runs: int) -> object:
    agent = EpsilonGreedyBandit(EpsilonGreedyBandit.make_env("rlsuite/KArmedBandit-v0", runs=runs),
                                EpsilonGreedyBanditConfig(epsilon=0.2))  # fmt: skip
    agent.save(tmp_path / f"bandit{runs}")
    return tmp_path / f"bandit{runs}.json"


def test_a_vector_agent_comes_back_with_its_runs_on_the_device_asked(tmp_path) -> None:
    meta_file = saved_bandit(tmp_path, 3)
    assert json.loads(meta_file.read_text())["runs"] == 3
    loaded = Agent.load(tmp_path / "bandit3", device="torch:cpu")
    assert loaded.env.num_envs == 3 and loaded.env.backend.is_torch and loaded.config.epsilon == 0.2
    edit(meta_file, runs=None, num_runs=3)  # the key older files wrote
    assert Agent.load(tmp_path / "bandit3").env.num_envs == 3
    edit(saved_bandit(tmp_path, 1), runs=None)  # neither: one copy
    assert Agent.load(tmp_path / "bandit1").env.num_envs == 1


def test_make_env_single_and_vector() -> None:
    env = NStepTD.make_env("rlsuite/MaximizationBias-v0", {"n_b_actions": 3})
    assert env.unwrapped.n_b_actions == 3
    vec = EpsilonGreedyBandit.make_env("rlsuite/KArmedBandit-v0")  # one copy, numpy, by default
    assert vec.num_envs == 1 and not vec.backend.is_torch
    assert EpsilonGreedyBandit.make_env("rlsuite/KArmedBandit-v0", runs=2, device="torch:cpu").backend.is_torch


@dataclass
class _CopiesConfig(Config):
    num_envs: int = option(7, help="env copies", ge=1)


def test_env_copies_reads_the_config_then_the_env() -> None:
    vec = EpsilonGreedyBandit.make_env("rlsuite/KArmedBandit-v0", runs=4)
    assert Agent.env_copies(_CopiesConfig(), vec) == 7
    assert Agent.env_copies(NStepTDConfig(), vec) == 4
    assert Agent.env_copies(NStepTDConfig(), gym.make("rlsuite/RandomWalk-v0")) == 1


def test_a_class_that_names_itself_is_registered_and_a_base_is_not() -> None:
    class _Base(Agent):  # no name: a base
        pass

    class _Concrete(_Base):
        name = "test_only_agent"

    try:
        assert AGENTS["test_only_agent"] is _Concrete and _Base not in AGENTS.values()
    finally:
        AGENTS.pop("test_only_agent", None)


def test_redefault_keeps_the_fields_help_and_bounds() -> None:
    @dataclass
    class _Halved(EpisodicTDConfig):
        gamma: float = redefault(EpisodicTDConfig, "gamma", 0.5)

    gamma = {f.name: f for f in dataclasses.fields(_Halved)}["gamma"]
    base = {f.name: f for f in dataclasses.fields(EpisodicTDConfig)}["gamma"]
    assert _Halved().gamma == 0.5 and gamma.metadata == base.metadata and gamma.metadata
    assert DoubleQLearningConfig().gamma == 1.0


def test_numpy_backend_draws_from_its_seed() -> None:
    np.testing.assert_array_equal(numpy_backend(5).uniform((4,)), np.random.default_rng(5).random(4))


def test_bad_config_and_budget_errors_name_their_field_and_value() -> None:
    wrong = EpsilonGreedyBanditConfig()
    with pytest.raises(ConfigError) as info:
        NStepTD.check_config(wrong)
    assert (str(info.value), info.value.field) == ("NStepTD: config must be a NStepTDConfig, got "
                                                   "EpsilonGreedyBanditConfig", "config")
    assert info.value.value is wrong
    for budget in (0, 2.5, True):
        with pytest.raises(ConfigError) as info:
            NStepTD.check_budget(budget)
        assert (info.value.field, info.value.value) == ("budget", budget)


def test_small_helpers_on_their_edges() -> None:
    assert env_spec_of(object()) == (None, {})  # built by hand, no spec attribute at all
    assert History().last() == {}
    # greedy is optimal when it is within tol of the best: at exactly tol it still counts
    assert greedy_optimal_fraction(np.array([[1.0, 0.0]]), np.array([[0.0, 0.5]]), tol=0.5) == 1.0

    class Plain:  # not a gymnasium env: no unwrapped
        allowed_actions = np.array([[True, False]])

    assert allowed_actions(Plain()) is Plain.allowed_actions


def test_sample_actions_is_inverse_cdf_of_each_rows_total() -> None:
    weights = np.array([[1.0, 3.0], [2.0, 0.0]])  # rows need not sum to 1: u is scaled by each row's total
    states = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    u = numpy_backend(5).uniform((8,))[:, None] * np.cumsum(weights[states], axis=1)[:, -1:]
    expected = (u >= np.cumsum(weights[states], axis=1)).sum(1)
    got = sample_actions(weights, states, numpy_backend(5))
    np.testing.assert_array_equal(got, expected)
    assert set(got[:6]) == {0, 1} and set(got[6:]) == {0}  # both actions of row 0 drawn; never row 1's empty one
