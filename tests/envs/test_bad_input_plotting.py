"""``plot_grid`` refuses a policy that is not action probabilities, in one line, before drawing anything."""

from __future__ import annotations

import numpy as np
import pytest

from rlsuite.agents.tabular.solvers import value_iteration
from rlsuite.envs.gridworld import GridWorldEnv
from rlsuite.envs.model import tabular_model
from rlsuite.envs.plotting import plot_grid


def test_q_values_are_refused_with_the_fix() -> None:
    env = GridWorldEnv()
    _, q, _ = value_iteration(tabular_model(env))
    with pytest.raises(ValueError) as info:
        plot_grid(env, policy=q)
    message = str(info.value)
    assert message.startswith("policy: row 0 is not a probability distribution (entries in [0, 1] summing to 1)")
    assert "pass the greedy actions q.argmax(axis=1) instead" in message and "\n" not in message


@pytest.mark.parametrize(
    ("row", "shown"),
    [([0.5, 0.6, 0.0, 0.0, 0.0], "sum 1.1"), ([1.5, -0.5, 0.0, 0.0, 0.0], "sum 1"), ([np.nan, 1, 0, 0, 0], "sum nan")],
)
def test_rows_outside_0_1_or_not_summing_to_1_are_refused(row: list[float], shown: str) -> None:
    env = GridWorldEnv()
    policy = np.full((env.n_states, 5), 0.2)
    policy[3] = row
    with pytest.raises(ValueError, match=rf"^policy: row 3 is not a probability distribution .*{shown}; q-values\?"):
        plot_grid(env, policy=policy)
