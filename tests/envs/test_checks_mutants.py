"""Exact answers and one-line messages of rlsuite.envs.checks, the argument checks every env shares."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rlsuite.common.errors import ModelFolderError
from rlsuite.envs import checks


def exactly(message: str) -> str:
    """A ``match=`` pattern for exactly this one-line message."""
    return f"^{re.escape(message)}$"


def test_action_takes_a_0d_integer_array_and_refuses_a_0d_float_one() -> None:
    assert checks.action(np.array(2), 3) == 2
    assert checks.action(np.array(2, dtype=np.uint8), 3) == 2
    with pytest.raises(TypeError, match=exactly("action must be an integer in [0, 3), got array(1.) (ndarray)")):
        checks.action(np.array(1.0), 3)


def test_type_messages_name_the_value_type() -> None:
    with pytest.raises(TypeError, match=exactly("k must be True or False, got 1 (int)")):
        checks.flag("k", 1)
    with pytest.raises(TypeError, match=exactly("n must be an integer, got 1.5 (float)")):
        checks.integer("n", 1.5)
    with pytest.raises(TypeError, match=exactly("x must be a number, got '1' (str)")):
        checks.number("x", "1")


def test_number_bounds_closed_and_half_open() -> None:
    assert checks.number("x", 1.0, low=0.0, high=1.0) == 1.0
    with pytest.raises(ValueError, match=exactly("x must lie in [0, 1], got 2.0")):
        checks.number("x", 2.0, low=0.0, high=1.0)
    with pytest.raises(ValueError, match=exactly("x must lie in [0, 1), got 1.0")):
        checks.number("x", 1.0, low=0.0, high=1.0, high_open=True)
    assert checks.number("x", 0.5, low=0.0, high=1.0, high_open=True) == 0.5
    with pytest.raises(ValueError, match=exactly("x must lie in [0, 1], got -1")):
        checks.number("x", -1, low=0.0, high=1.0)


def test_probability_takes_one_and_refuses_a_bool() -> None:
    assert checks.probability("p", 1.0) == 1.0
    assert checks.probability("p", 0) == 0.0
    with pytest.raises(ValueError, match=exactly("p must be a probability in [0, 1], got True")):
        checks.probability("p", True)
    with pytest.raises(ValueError, match=exactly("p must be a probability in [0, 1], got 'x'")):
        checks.probability("p", "x")


def test_policy_table_of_actions() -> None:
    np.testing.assert_array_equal(checks.policy_table("pi", [0, 1], 2, 2), [0, 1])
    with pytest.raises(TypeError, match=exactly("pi must be an array of actions or probabilities, got int")):
        checks.policy_table("pi", 3, 2, 2)
    for bad in ([0, 2], [-1, 0], [0.0, 1.0]):
        with pytest.raises(ValueError, match=exactly("pi: actions must be integers in [0, 2)")):
            checks.policy_table("pi", bad, 2, 2)


def test_policy_table_of_probabilities() -> None:
    np.testing.assert_array_equal(checks.policy_table("pi", [[1, 0], [0, 1]], 2, 2), [[1, 0], [0, 1]])
    message = exactly("pi: probabilities must be finite numbers in [0, 1]")
    for bad in ([[-0.1, 0.6, 0.5]], [[2.0, 0.0, 0.0]], [[np.nan, 1.0, 0.0]], [[True, False, False]]):
        with pytest.raises(ValueError, match=message):
            checks.policy_table("pi", bad, 1, 3)
    with pytest.raises(ValueError, match=exactly("pi: each row's probabilities must sum to 1 (off by up to 0.1)")):
        checks.policy_table("pi", [[0.5, 0.6]], 1, 2)


def test_env_id_from_file_messages() -> None:
    with pytest.raises(ModelFolderError, match=exactly("f.json: env_id must be a non-empty string, got ''")):
        checks.env_id_from_file("", "f.json")
    with pytest.raises(ModelFolderError, match=re.escape("env id 'a.b:c:X-v0' would import the module 'a.b';")):
        checks.env_id_from_file("a.b:c:X-v0", "f.json")
    assert checks.env_id_from_file("a.b:X-v0", "f.json", trust_module=True) == "a.b:X-v0"
