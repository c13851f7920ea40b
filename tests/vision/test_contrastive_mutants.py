"""evaluate_reward_rank_correlation against a computation of its own (issue 26, mutation testing).

The reward model is a small deterministic one written here: its reward is a fixed linear read-out of the frame's
pixels plus an offset of the goal's text, so every frame, every goal and every distance counts. The expected result
rolls the same episodes out again (the env reset with ``seed * 1000 + episode``, the epsilon-greedy optimal policy
drawing from ``default_rng(seed)``: ``random()``, then ``integers(5)`` when exploring) and ranks with scipy.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from recording import RecordingReporter, reporting_to
from scipy.stats import spearmanr

import rlsuite.envs  # noqa: F401
from rlsuite.agents.tabular.dp import value_iteration
from rlsuite.envs.model import tabular_model
from rlsuite.vision.contrastive import evaluate_reward_rank_correlation


class PixelReward:
    """Reward = frame pixels . w (w fixed, seeded) + the goal text's character sum; it records what it scored."""

    def __init__(self, goal: str = "start") -> None:
        self.goal, self.scored = goal, []

    def set_goal(self, goal: str) -> None:
        self.goal = goal

    def rewards(self, frames: np.ndarray) -> np.ndarray:
        flat = frames.reshape(len(frames), -1).astype(np.float64)
        w = np.random.default_rng(5).standard_normal(flat.shape[1])
        self.scored.append((self.goal, frames.copy()))
        return flat @ w / flat.shape[1] + sum(map(ord, self.goal))


def rollout(seed: int, episode: int, size: int, cell_px: int, epsilon: float, rng: np.random.Generator):
    """One episode's frames, agent-target Manhattan distances and the target cell (30 steps at most)."""
    env = gym.make("rlsuite/PixelGridWorldRandom-v0", n_rows=size, n_cols=size, cell_px=cell_px)
    obs, info = env.reset(seed=seed * 1000 + episode)
    world = env.unwrapped.world
    q = value_iteration(tabular_model(world), gamma=0.9)[1]
    target = np.array(world.to_cell(world.target_state))
    frames, cells = [obs], [world.to_cell(info["state"])]
    for _ in range(30):
        explore = rng.random() < epsilon
        action = int(rng.integers(5)) if explore else int(q[info["state"]].argmax())
        obs, _, terminated, _, info = env.step(action)
        frames.append(obs)
        cells.append(world.to_cell(info["state"]))
        if terminated:
            break
    return np.stack(frames), np.abs(np.array(cells) - target).sum(1), tuple(int(x) for x in target)


def expected(episodes: int, seed: int, size: int, cell_px: int, epsilon: float) -> tuple[dict[str, Any], list]:
    from rlsuite.vision.contrastive import cell_caption

    rng, model = np.random.default_rng(seed), PixelReward()
    all_r, all_d, per_episode, scored = [], [], [], []
    for ep in range(episodes):
        frames, dists, target = rollout(seed, ep, size, cell_px, epsilon, rng)
        model.set_goal(cell_caption(target))
        r = model.rewards(frames)
        scored.append((model.goal, frames))
        if len(set(dists.tolist())) > 1:
            per_episode.append(spearmanr(r, -dists).statistic)
        all_r.append(r)
        all_d.append(dists)
    result = {
        "spearman_pooled": float(spearmanr(np.concatenate(all_r), -np.concatenate(all_d)).statistic),
        "spearman_per_episode_mean": float(np.mean(per_episode)),
        "frames": sum(len(d) for d in all_d),
        "episodes": episodes,
    }
    return result, scored


def check(result: dict[str, Any], model: PixelReward, want: dict[str, Any], scored: list) -> None:
    assert result == want
    assert [g for g, _ in model.scored] == [g for g, _ in scored]
    for (_, got), (_, frames) in zip(model.scored, scored, strict=True):
        np.testing.assert_array_equal(got, frames)
    assert model.goal == "start"  # set back once measured


def test_the_defaults_40_episodes_of_5x5_at_16_px_seed_2024_epsilon_03() -> None:
    want, scored = expected(40, 2024, 5, 16, 0.3)
    reporter = RecordingReporter()
    model = PixelReward()
    with reporting_to(reporter):
        result = evaluate_reward_rank_correlation(model)
    check(result, model, want, scored)
    assert reporter.started == [("rank correlation episodes", 40, "episode")] and reporter.advances == [1] * 40
    assert scored[0][1].shape[1:3] == (80, 80)


def test_random_walks_of_30_steps_on_a_larger_grid() -> None:
    """epsilon 1 on 7x7: many episodes are cut at 30 steps (31 frames); one ends on the target."""
    want, scored = expected(6, 3, 7, 8, 1.0)
    model = PixelReward()
    check(evaluate_reward_rank_correlation(model, episodes=6, seed=3, size=7, cell_px=8, epsilon=1.0), model, want,
          scored)  # fmt: skip
    lengths = [len(f) for _, f in scored]
    assert 31 in lengths and min(lengths) < 31


def test_without_goal_from_target_the_reward_keeps_its_goal() -> None:
    model = PixelReward()
    evaluate_reward_rank_correlation(model, goal_from_target=False, episodes=2, size=3, cell_px=8)
    assert [g for g, _ in model.scored] == ["start", "start"]


def test_without_goal_from_target_a_reward_model_needs_no_goal() -> None:
    """A reward of the frame alone (no ``goal`` attribute, no ``set_goal``) is measured as it is."""

    class FrameReward:
        def __init__(self) -> None:
            self.scored = 0

        def rewards(self, frames: np.ndarray) -> np.ndarray:
            self.scored += 1
            return frames.reshape(len(frames), -1).mean(1)

    model = FrameReward()
    result = evaluate_reward_rank_correlation(model, goal_from_target=False, episodes=2, size=3, cell_px=8)
    assert result["episodes"] == 2 and model.scored == 2


@pytest.mark.parametrize("epsilon", [0.0])
def test_greedy_episodes_walk_straight_to_the_target(epsilon: float) -> None:
    want, scored = expected(5, 11, 4, 8, epsilon)
    model = PixelReward()
    check(evaluate_reward_rank_correlation(model, episodes=5, seed=11, size=4, cell_px=8, epsilon=epsilon), model,
          want, scored)  # fmt: skip


def test_the_goal_is_set_back_when_scoring_fails() -> None:
    class Failing(PixelReward):
        def rewards(self, frames: np.ndarray) -> np.ndarray:
            if len(self.scored) == 1:
                raise RuntimeError("scoring failed")
            return super().rewards(frames)

    model = Failing()
    with pytest.raises(RuntimeError, match="scoring failed"):
        evaluate_reward_rank_correlation(model, episodes=3, size=3, cell_px=8)
    assert len(model.scored) == 1 and model.goal == "start"
