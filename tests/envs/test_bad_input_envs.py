"""The envs' share of the bad-input catalogue: each bad argument or action raises the right error
type, the message names the culprit, and nothing was changed (the env steps on as before)."""

from __future__ import annotations

import math
import re
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import ResetNeeded

import rlsuite  # noqa: F401  (registers the ids)
from rlsuite.envs.bandit import KArmedBanditEnv
from rlsuite.envs.batched import GridWorldVectorEnv, KArmedBanditVectorEnv
from rlsuite.envs.gridworld import GridWorldEnv
from rlsuite.envs.pixels import PixelGridWorldEnv

NAN, INF = math.nan, math.inf

CONSTRUCTORS = [
    # (env class, kwargs, error type, what the message must name)
    (GridWorldEnv, {"forbidden": [(2.5, 2)]}, TypeError,
     "forbidden[0] must be a (row, col) pair of integers, got (2.5, 2)"),
    (GridWorldEnv, {"forbidden": [(2, 2), (3, "3")]}, TypeError, "forbidden[1] must be a (row, col) pair of integers"),
    (GridWorldEnv, {"forbidden": [(True, 2)]}, TypeError, "forbidden[0] must be a (row, col) pair of integers"),
    (GridWorldEnv, {"forbidden": [(1, 2, 3)]}, TypeError, "forbidden[0] must be a (row, col) pair of integers"),
    (GridWorldEnv, {"forbidden": "22"}, TypeError, "forbidden must be a list of (row, col) pairs"),
    (GridWorldEnv, {"target": (4.0, 3)}, TypeError, "target must be a (row, col) pair of integers, got (4.0, 3)"),
    (GridWorldEnv, {"start": (1.5, 1)}, TypeError, "start must be a (row, col) pair of integers"),
    (GridWorldEnv, {"start": "randm"}, TypeError, "start must be a (row, col) pair of integers, got 'randm'"),
    (GridWorldEnv, {"r_forbidden": NAN}, ValueError, "r_forbidden must be a finite number, got nan"),
    (GridWorldEnv, {"r_target": INF}, ValueError, "r_target must be a finite number, got inf"),
    (GridWorldEnv, {"r_boundary": -INF}, ValueError, "r_boundary must be a finite number, got -inf"),
    (GridWorldEnv, {"r_other": "1"}, TypeError, "r_other must be a number, got '1'"),
    (GridWorldEnv, {"slip_prob": NAN}, ValueError, "slip_prob must be a probability in [0, 1], got nan"),
    (GridWorldEnv, {"slip_prob": -0.1}, ValueError, "slip_prob must be a probability in [0, 1], got -0.1"),
    (GridWorldEnv, {"random_layout": True, "forbidden_fraction": NAN}, ValueError,
     "forbidden_fraction must be a finite"),
    (GridWorldEnv, {"random_layout": True, "forbidden_fraction": "0.2"}, TypeError,
     "forbidden_fraction must be a number"),
    (GridWorldEnv, {"random_layout": True, "layout_seed": 1.5}, TypeError, "layout_seed must be an integer, got 1.5"),
    (GridWorldEnv, {"random_layout": 1}, TypeError, "random_layout must be True or False, got 1"),
    (GridWorldEnv, {"terminate_at_target": "yes"}, TypeError, "terminate_at_target must be True or False, got 'yes'"),
    (GridWorldEnv, {"forbidden_enterable": None}, TypeError, "forbidden_enterable must be True or False, got None"),
    (GridWorldEnv, {"grid_map": [1, 2]}, TypeError, "grid_map must be a string or a list of strings"),
    (GridWorldEnv, {"n_rows": 2.5}, ValueError, "n_rows must be a positive integer, got 2.5"),
    (GridWorldEnv, {"cell_px": 2}, ValueError, "cell_px must be an integer >= 4, got 2"),
    (KArmedBanditEnv, {"means": [0.1, NAN]}, ValueError, "means[1] must be a finite number, got nan"),
    (KArmedBanditEnv, {"means": [INF, 0.1]}, ValueError, "means[0] must be a finite number, got inf"),
    (KArmedBanditEnv, {"means": ["a", 0.1]}, TypeError, "means[0] must be a number, got 'a'"),
    (KArmedBanditEnv, {"means": 0.5}, TypeError, "means must be a list of numbers, one per arm, got 0.5"),
    (KArmedBanditEnv, {"q_mean": NAN}, ValueError, "q_mean must be a finite number, got nan"),
    (KArmedBanditEnv, {"q_std": INF}, ValueError, "q_std must be a finite number, got inf"),
    (KArmedBanditEnv, {"reward_std": -1.0}, ValueError, "reward_std must be >= 0, got -1.0"),
    (KArmedBanditEnv, {"walk_std": NAN}, ValueError, "walk_std must be a finite number, got nan"),
    (KArmedBanditEnv, {"k": 2.5}, TypeError, "k must be an integer, got 2.5"),
    (KArmedBanditEnv, {"nonstationary": "no"}, TypeError, "nonstationary must be True or False, got 'no'"),
    (KArmedBanditVectorEnv, {"num_envs": 0}, ValueError, "num_envs must be an integer >= 1, got 0"),
    (KArmedBanditVectorEnv, {"means": [0.5, NAN]}, ValueError, "means[1] must be a finite number, got nan"),
    (GridWorldVectorEnv, {"num_envs": 2.0}, TypeError, "num_envs must be an integer, got 2.0"),
    (GridWorldVectorEnv, {"max_episode_steps": 0}, ValueError, "max_episode_steps must be an integer >= 1, got 0"),
    (GridWorldVectorEnv, {"forbidden": [(2.5, 2)]}, TypeError, "forbidden[0] must be a (row, col) pair of integers"),
]


@pytest.mark.parametrize(("cls", "kwargs", "error", "message"), CONSTRUCTORS,
                         ids=[f"{c.__name__}-{'-'.join(k)}" for c, k, *_ in CONSTRUCTORS])  # fmt: skip
def test_bad_arguments_name_the_argument(cls: type, kwargs: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        cls(**kwargs)


def test_gym_make_reports_bad_kwargs_the_same_way() -> None:
    with pytest.raises(TypeError, match=re.escape("forbidden[0] must be a (row, col) pair of integers")):
        gym.make("rlsuite/GridWorld-v0", forbidden=[(2.5, 2)])
    with pytest.raises(ValueError, match=re.escape("means[0] must be a finite number, got nan")):
        gym.make("rlsuite/KArmedBandit-v0", means=[NAN, 0.0])


BAD_ACTIONS = [
    (2.5, TypeError, "action must be an integer in [0, 5), got 2.5 (float)"),
    ("1", TypeError, "action must be an integer in [0, 5), got '1' (str)"),
    (None, TypeError, "action must be an integer in [0, 5), got None (NoneType)"),
    (True, TypeError, "action must be an integer in [0, 5), got True (bool)"),
    (np.float64(1.0), TypeError, "got np.float64(1.0) (float64)"),
    (np.array([1, 2]), TypeError, "action must be an integer in [0, 5), got array([1, 2])"),
    (5, ValueError, "action must be in [0, 5), got 5"),
    (-1, ValueError, "action must be in [0, 5), got -1"),
    (np.int64(7), ValueError, "action must be in [0, 5), got np.int64(7)"),
]


MAKERS = {
    "GridWorldEnv": GridWorldEnv,
    "gym.make": lambda: gym.make("rlsuite/GridWorld-v0").unwrapped,
    "PixelGridWorld": PixelGridWorldEnv,
}


@pytest.mark.parametrize("make", MAKERS.values(), ids=list(MAKERS))
@pytest.mark.parametrize(("action", "error", "message"), BAD_ACTIONS, ids=[repr(a) for a, *_ in BAD_ACTIONS])
def test_bad_actions_are_refused_and_change_nothing(make: Any, action: Any, error: type, message: str) -> None:
    env = make()
    env.reset(seed=0, options={"start": 12})
    world = getattr(env, "world", env)
    with pytest.raises(error, match=re.escape(message)):
        env.step(action)
    assert world.s == 12 and world.last_action is None  # the state did not move
    _, reward, *_ = env.step(1)  # and a good action still works: right of (3, 3) is the free (3, 4)
    assert (world.s, reward) == (13, 0.0)


def test_bandit_step_refuses_bad_arms() -> None:
    env = KArmedBanditEnv(means=[0.0, 1.0, 2.0])
    env.reset(seed=0)
    with pytest.raises(TypeError, match=re.escape("action must be an integer in [0, 3), got 1.0 (float)")):
        env.step(1.0)
    with pytest.raises(ValueError, match=re.escape("action must be in [0, 3), got 3")):
        env.step(3)
    assert env.step(np.int64(2))[4]["regret"] == 0.0


@pytest.mark.parametrize("device", ["cpu", "auto"])
@pytest.mark.parametrize("cls", [GridWorldVectorEnv, KArmedBanditVectorEnv])
def test_batched_envs_refuse_bad_actions_and_change_nothing(cls: type, device: str) -> None:
    torch = pytest.importorskip("torch")
    envs = cls(num_envs=4, device=device)
    n = envs.n_actions
    with pytest.raises(ResetNeeded, match="call reset\\(\\) before step\\(\\)"):
        envs.step(np.zeros(4, dtype=np.int64))
    envs.reset(seed=0)
    def state() -> np.ndarray:
        return np.array((envs.states if hasattr(envs, "states") else envs.q_star).tolist())

    states = state()
    steps = np.array(envs.steps.tolist())
    cases = [
        (np.array([0, 1, -1, 2]), ValueError, f"actions must lie in [0, {n}), got [-1]"),  # -1 is not "stay"
        (np.array([0, n, n + 3, 0]), ValueError, f"actions must lie in [0, {n}), got [{n}, {n + 3}]"),
        (np.array([0.0, 1.0, 2.0, 1.0]), TypeError, f"actions must be integers in [0, {n}), got dtype float64"),
        (np.array([True, False, True, False]), TypeError, "got dtype bool"),
        (torch.tensor([0.5, 1.0, 2.0, 1.0]), TypeError, "got dtype torch.float32"),
        (["1", "2", "0", "1"], TypeError, "actions must be integers"),
        (np.array([0, 1]), ValueError, "actions must have shape (4,), got (2,)"),
        (np.zeros((4, 1), dtype=np.int64), ValueError, "actions must have shape (4,), got (4, 1)"),
    ]
    for actions, error, message in cases:
        with pytest.raises(error, match=re.escape(message)):
            envs.step(actions)
    np.testing.assert_array_equal(state(), states)
    np.testing.assert_array_equal(np.array(envs.steps.tolist()), steps)
    envs.step(np.array([0, 1, 2, 0]))
    assert envs.steps.tolist() == [1, 1, 1, 1]
