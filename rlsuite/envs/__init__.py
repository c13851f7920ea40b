"""rlsuite's environments, registered with gymnasium on import.

gymnasium 1.x has no plugin entry points: an id exists once the package that registers it
is imported. Either ``import rlsuite`` first, or name the module in the id, which makes
gymnasium import it: ``gym.make("rlsuite:rlsuite/GridWorld-v0")``.
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import register, registry

from rlsuite.envs.bandit import KArmedBanditEnv
from rlsuite.envs.gridworld import GridWorldEnv

NAMESPACE = "rlsuite"

# id -> (entry point, vector entry point or None, max_episode_steps, kwargs, one-line description)
ENV_TABLE: dict[str, tuple[str, str | None, int | None, dict[str, Any], str]] = {
    "rlsuite/GridWorld-v0": (
        "rlsuite.envs.gridworld:GridWorldEnv",
        "rlsuite.envs.batched:GridWorldVectorEnv",
        100,
        {},
        "Zhao's 5x5 grid world (forbidden cells, target, boundary penalty), exact model in P",
    ),
    "rlsuite/GridWorldEpisodic-v0": (
        "rlsuite.envs.gridworld:GridWorldEnv",
        "rlsuite.envs.batched:GridWorldVectorEnv",
        100,
        {"terminate_at_target": True, "start": "random"},
        "the book's grid world as an episodic task: random start, ends on reaching the target",
    ),
    "rlsuite/KArmedBandit-v0": (
        "rlsuite.envs.bandit:KArmedBanditEnv",
        "rlsuite.envs.batched:KArmedBanditVectorEnv",
        1000,
        {},
        "Sutton & Barto's 10-armed testbed: q*(a) ~ N(0, 1), reward ~ N(q*(a), 1)",
    ),
    "rlsuite/BernoulliBandit-v0": (
        "rlsuite.envs.bandit:KArmedBanditEnv",
        "rlsuite.envs.batched:KArmedBanditVectorEnv",
        1000,
        {"arms": "bernoulli"},
        "k-armed bandit with Bernoulli arms, success probabilities ~ U(0, 1)",
    ),
    "rlsuite/NonstationaryBandit-v0": (
        "rlsuite.envs.bandit:KArmedBanditEnv",
        "rlsuite.envs.batched:KArmedBanditVectorEnv",
        10000,
        {"nonstationary": True},
        "10-armed bandit whose q*(a) take independent random walks (S&B exercise 2.5)",
    ),
    "rlsuite/PixelGridWorld-v0": (
        "rlsuite.envs.pixels:PixelGridWorldEnv",
        None,
        100,
        {},
        "the book's grid world as an RGB image; info has exact boxes of agent, target, forbidden cells",
    ),
    "rlsuite/PixelGridWorldRandom-v0": (
        "rlsuite.envs.pixels:PixelGridWorldEnv",
        None,
        100,
        {"layout_per_episode": True, "terminate_at_target": True},
        "pixel grid world with a new random solvable layout and start every episode, ends at the target",
    ),
    "rlsuite/PixelGoalGridWorld-v0": (
        "rlsuite.envs.pixels:PixelGoalGridWorldEnv",
        None,
        100,
        {},
        "goal-conditioned pixel grid world: coloured squares, a text instruction ('go to the blue square')",
    ),
    "rlsuite/SBGridWorld-v0": (
        "rlsuite.envs.sutton_barto:TeleportGridWorldEnv",
        None,
        100,
        {},
        "Sutton & Barto's 5x5 grid world of example 3.5: A -> A' pays +10, B -> B' pays +5, off-grid -1",
    ),
    "rlsuite/SBGridWorld4x4-v0": (
        "rlsuite.envs.sutton_barto:ShortestPathGridEnv",
        None,
        200,
        {},
        "Sutton & Barto's 4x4 grid world of example 4.1: terminal corners, -1 per step, undiscounted",
    ),
    "rlsuite/CarRental-v0": (
        "rlsuite.envs.car_rental:CarRentalEnv",
        None,
        100,
        {},
        "Jack's car rental (S&B example 4.2): two locations, Poisson rentals and returns, move up to 5 cars",
    ),
    "rlsuite/Gambler-v0": (
        "rlsuite.envs.sutton_barto:GamblerEnv",
        None,
        1000,
        {},
        "the gambler's problem (S&B example 4.3): stake on coin flips, p_h = 0.4, win at 100",
    ),
    "rlsuite/InfiniteVariance-v0": (
        "rlsuite.envs.sutton_barto:InfiniteVarianceEnv",
        None,
        1000,
        {},
        "the one-state MDP of S&B figure 5.4: left loops (p 0.9) or ends with +1, right ends with 0",
    ),
    "rlsuite/RandomWalk-v0": (
        "rlsuite.envs.random_walk:RandomWalkEnv",
        None,
        None,
        {},
        "S&B example 6.2: 5-state random walk (move = action; uniform policy = the book's walk), +1 on the right",
    ),
    "rlsuite/RandomWalk19-v0": (
        "rlsuite.envs.random_walk:RandomWalkEnv",
        None,
        None,
        {"n_states": 19, "left_reward": -1.0},
        "S&B chapter 7: 19-state random walk, -1 on the left, +1 on the right",
    ),
    "rlsuite/WindyGridWorld-v0": (
        "rlsuite.envs.windy:WindyGridWorldEnv",
        None,
        10000,
        {},
        "S&B example 6.5: 7x10 windy grid world, -1 per step (king_moves=True: 8 actions)",
    ),
    "rlsuite/MaximizationBias-v0": (
        "rlsuite.envs.max_bias:MaximizationBiasEnv",
        None,
        None,
        {},
        "S&B example 6.7: A -> right (0) or left to B, whose 10 actions pay N(-0.1, 1)",
    ),
    "rlsuite/DynaMaze-v0": (
        "rlsuite.envs.mazes:MazeEnv",
        None,
        10000,
        {},
        "S&B figure 8.2: the 6x9 Dyna maze, reward 1 at the goal (shortest path 14 steps)",
    ),
    "rlsuite/BlockingMaze-v0": (
        "rlsuite.envs.mazes:MazeEnv",
        None,
        10000,
        {"layout": "blocking", "change_at": 1000},
        "S&B figure 8.4: the wall's gap moves from right to left after 1000 steps",
    ),
    "rlsuite/ShortcutMaze-v0": (
        "rlsuite.envs.mazes:MazeEnv",
        None,
        10000,
        {"layout": "shortcut", "change_at": 3000},
        "S&B figure 8.5: a shorter path opens on the right after 3000 steps",
    ),
}


def _register_all() -> None:
    for env_id, (entry, vector_entry, steps, kwargs, _) in ENV_TABLE.items():
        if env_id in registry:
            continue
        register(
            id=env_id,
            entry_point=entry,
            vector_entry_point=vector_entry,
            max_episode_steps=steps,
            kwargs=kwargs,
        )


def registered_ids() -> list[str]:
    """The ids rlsuite registers, in table order."""
    return list(ENV_TABLE)


_register_all()

__all__ = ["ENV_TABLE", "GridWorldEnv", "KArmedBanditEnv", "registered_ids"]
