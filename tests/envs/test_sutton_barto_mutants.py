"""The finite MDPs of rlsuite.envs.sutton_barto: exact moves, start laws, resets, renders, the compact
gambler model and the one-line messages that the broader tests leave open."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rlsuite.envs.sutton_barto import GamblerEnv, InfiniteVarianceEnv, ShortestPathGridEnv, TeleportGridWorldEnv


def exactly(message: str) -> str:
    """A ``match=`` pattern for exactly this one-line message."""
    return f"^{re.escape(message)}$"


def test_grid_moves_up_right_down_left() -> None:
    env = ShortestPathGridEnv()
    assert env.size == 4
    assert [env.P[5][a] for a in range(4)] == [[(1.0, s, -1.0, False)] for s in (1, 6, 9, 4)]
    assert [env.P[4][a][0][1] for a in range(4)] == [0, 5, 8, 4]  # left off the edge stays
    for missing in (16, -1):
        with pytest.raises(KeyError) as caught:
            env.P[missing]
        assert caught.value.args == (missing,)  # names the state asked for, as a dict's KeyError does
    assert TeleportGridWorldEnv().size == 5


def test_starts_resets_and_terminal_steps() -> None:
    env = ShortestPathGridEnv(size=3, render_mode="ansi")
    np.testing.assert_array_equal(env.random_start_states, np.arange(1, 8))
    np.testing.assert_allclose(env.start_probs, [0.0, *[1 / 7] * 7, 0.0])
    assert env.s == 1  # the first start state, before any reset
    assert env.reset(seed=0, options={"start": 0}) == (0, {"state": 0})
    assert env.render() == "state 0\n"
    assert env.step(1) == (0, 0.0, True, False, {"state": 0})
    env.reset(seed=0, options={"start": 1})
    assert env.step(3) == (0, -1.0, True, False, {"state": 0})
    assert ShortestPathGridEnv().render() is None
    with pytest.raises(ValueError, match=exactly("options['start'] must be an integer >= 0, got -1")):
        env.reset(options={"start": -1})
    with pytest.raises(TypeError, match=exactly("options['start'] must be an integer, got 1.0 (float)")):
        env.reset(options={"start": 1.0})


def test_named_states_render_by_name() -> None:
    env = InfiniteVarianceEnv(render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "state s\n"
    env.reset(seed=0, options={"start": 1})
    assert env.render() == "state terminal\n"


def test_renders_of_the_grid_worlds() -> None:
    for env in (TeleportGridWorldEnv(render_mode="ansi"), GamblerEnv(goal=4, render_mode="ansi")):
        env.reset(seed=0, options={"start": 2})
        assert env.render() == "state 2\n"


def test_gambler_start_law_and_compact_model() -> None:
    env = GamblerEnv(goal=4)
    np.testing.assert_allclose(env.start_probs, [0.0, 1 / 3, 1 / 3, 1 / 3, 0.0])
    np.testing.assert_array_equal(GamblerEnv(goal=4, start_capital=1).start_probs, [0.0, 1.0, 0.0, 0.0, 0.0])
    assert GamblerEnv(goal=4, start_capital=1).s == 1
    assert GamblerEnv(goal=100).tabular_model.next_states.shape == (2, 51, 101)
    np.testing.assert_array_equal(GamblerEnv(goal=10).max_stake(np.arange(11)), [0, 1, 2, 3, 4, 5, 4, 3, 2, 1, 0])


def test_gambler_coin_lands_heads_with_p_h() -> None:
    """From capital 3 staking 2 (goal 10): heads (5) with p_h = 0.4, tails (1) otherwise; 4000 flips,
    within 5 standard errors of 0.4."""
    env = GamblerEnv(goal=10)
    env.reset(seed=0)
    heads = 0
    for _ in range(4000):
        env.reset(options={"start": 3})
        ns = int(env.step(2)[0])
        assert ns in (1, 5)
        heads += ns == 5
    assert abs(heads / 4000 - 0.4) <= 5 * np.sqrt(0.24 / 4000)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: GamblerEnv(start_capital=1.5), TypeError, "start_capital must be an integer, got 1.5 (float)"),
        (lambda: GamblerEnv(goal=4, start_capital=4), ValueError, "start_capital must lie in [1, 3], got 4"),
        (lambda: ShortestPathGridEnv(step_reward="x"), TypeError, "step_reward must be a number, got 'x' (str)"),
        (lambda: TeleportGridWorldEnv(b_reward="x"), TypeError, "b_reward must be a number, got 'x' (str)"),
        (lambda: TeleportGridWorldEnv(off_grid_reward=None), TypeError,
         "off_grid_reward must be a number, got None (NoneType)"),
    ],
)  # fmt: skip
def test_messages(make, error: type, message: str) -> None:
    with pytest.raises(error, match=exactly(message)):
        make()
