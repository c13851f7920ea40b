"""rlsuite.agents.tabular.agent to the letter (mutation testing): the undiscounted optimum's tolerance and sweep
limit, a Tuple observation flattened for the agents that step their own env, no optimum without a model."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.agents.tabular.agent import UNDISCOUNTED_SWEEPS, exact_optimum
from rlsuite.agents.tabular.dp import ValueIteration
from rlsuite.agents.tabular.td import QLearning
from rlsuite.common.errors import UsageError
from rlsuite.envs.model import TabularModel


def _ends_with_probability(p: float) -> TabularModel:
    """State 0 pays 1 and ends (state 1, absorbing, pays 0) with probability ``p``, else stays: v*(0) = 1 at
    gamma = 1, reached geometrically (sweep k changes v(0) by (1 - p)**k)."""
    transitions = np.array([[[1 - p, p]], [[0.0, 1.0]]])  # [S, A, S]
    return TabularModel(np.array([[p], [0.0]]), transition_probs=transitions)


def test_undiscounted_values_stop_at_the_first_change_below_1e_8() -> None:
    v, q = exact_optimum(_ends_with_probability(0.5), 1.0)
    assert v.tolist() == [1 - 0.5**27, 0.0]  # 0.5**27 < 1e-8 < 0.5**26: not the default tol's 0.5**34
    assert q.tolist() == [[1 - 0.5**27], [0.0]]


def test_undiscounted_values_give_up_after_the_sweep_limit() -> None:
    """Ending with probability 0.001 settles below 1e-8 only after about 18,400 sweeps: past the limit of 10,000,
    so gamma = 1 is refused."""
    assert UNDISCOUNTED_SWEEPS == 10_000 and 0.999**10_000 > 1e-8 > 0.999**20_000
    with pytest.raises(UsageError) as info:
        exact_optimum(_ends_with_probability(0.001), 1.0)
    assert str(info.value) == (
        "gamma: 1.0 leaves the values of this continuing task infinite (no convergence); use gamma < 1"
    )


def test_an_exact_agent_flattens_a_tuple_observation_before_it_asks_for_the_model() -> None:
    """Blackjack's Tuple observation becomes one index (so the agent goes on to ask for the model it lacks),
    rather than being refused as not Discrete."""
    with pytest.raises(UsageError) as info:
        ValueIteration(gym.make("Blackjack-v1"))
    assert str(info.value) == "ValueIteration needs an env with an exact model (P or transition_probs)"


def test_an_env_without_a_model_has_no_optimum_and_no_truth_metrics() -> None:
    agent = QLearning(gym.make("rlsuite/KArmedBandit-v0"))
    assert agent.model is None and agent.v_star is None and agent.q_star is None and agent.truth_metrics() == {}
