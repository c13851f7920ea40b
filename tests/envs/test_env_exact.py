"""The envs' exact values: spaces, defaults, messages, rendered text and pixels, boxes, clipping,
and the laws of the random parts. Written against the mutants `make mutate` found surviving
(docs/mutation.md): each test fails on at least one of them."""

from __future__ import annotations

import re

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.error import ResetNeeded
from gymnasium.utils import seeding
from gymnasium.vector.vector_env import AutoresetMode

import rlsuite  # noqa: F401  (registers the ids)
from rlsuite.envs.bandit import BanditSpec, KArmedBanditEnv
from rlsuite.envs.batched import GridWorldVectorEnv, KArmedBanditVectorEnv
from rlsuite.envs.gridworld import COLORS, FORBIDDEN, FREE, TARGET, GridWorldEnv, Layout
from rlsuite.envs.pixels import (
    CLASS_NAMES,
    OBJECT_COLORS,
    PixelGoalGridWorldEnv,
    PixelGridWorldEnv,
    agent_box,
    cell_box,
    frame_annotations,
    layout_map,
)


def _z_ok(sample: np.ndarray, mean: float, std: float) -> bool:
    """Sample mean and standard deviation both within 4.5 standard errors of ``mean`` and ``std``."""
    n = sample.size
    return abs(sample.mean() - mean) < 4.5 * std / np.sqrt(n) and abs(sample.std() - std) < 4.5 * std / np.sqrt(2 * n)


# ----- the single bandit -----
def test_bandit_spaces_and_fixed_means_are_kept_exactly() -> None:
    env = KArmedBanditEnv(means=[0, 2, 1])  # integers: q* is float64 all the same
    assert env.observation_space == spaces.Discrete(1) and env.action_space == spaces.Discrete(3)
    _, info = env.reset(seed=0)
    assert info["q_star"].dtype == np.float64
    np.testing.assert_array_equal(info["q_star"], [0.0, 2.0, 1.0])


def test_bandit_reward_std_and_q_std_are_used() -> None:
    env = KArmedBanditEnv(means=[0.25, -0.5], reward_std=0.0)  # no noise: the reward is q*(a) itself
    env.reset(seed=0)
    assert [env.step(a)[1] for a in (0, 1, 1)] == [0.25, -0.5, -0.5]
    wide = KArmedBanditEnv(q_mean=1.0, q_std=2.0)
    qs = np.array([wide.reset(seed=i)[1]["q_star"] for i in range(300)])
    assert _z_ok(qs, 1.0, 2.0)
    noisy = KArmedBanditEnv(means=[0.0], reward_std=3.0)
    noisy.reset(seed=1)
    assert _z_ok(np.array([noisy.step(0)[1] for _ in range(3000)]), 0.0, 3.0)


def test_bandit_walk_has_the_default_step_size_of_exercise_2_5() -> None:
    env = KArmedBanditEnv(k=20_000, nonstationary=True)  # walk_std defaults to 0.01
    env.reset(seed=0)
    before = env.q_star.copy()
    env.step(0)
    assert _z_ok(env.q_star - before, 0.0, 0.01)


def test_bandit_walk_clips_bernoulli_arms_only() -> None:
    bern = KArmedBanditEnv(k=3000, arms="bernoulli", nonstationary=True, walk_std=0.5)
    bern.reset(seed=0)
    bern.step(0)
    q = bern.q_star
    assert q.min() == 0.0 and q.max() == 1.0 and ((q > 0.0) & (q < 1.0)).any()
    gauss = KArmedBanditEnv(k=3000, nonstationary=True, walk_std=0.5)
    gauss.reset(seed=0)
    gauss.step(0)
    assert gauss.q_star.min() < -1.0 and gauss.q_star.max() > 1.0


def test_bernoulli_arms_may_be_certain() -> None:
    env = KArmedBanditEnv(arms="bernoulli", means=[0.0, 1.0])  # probabilities 0 and 1 are allowed
    env.reset(seed=0)
    assert [env.step(0)[1] for _ in range(50)] == [0.0] * 50
    assert [env.step(1)[1] for _ in range(50)] == [1.0] * 50
    with pytest.raises(ValueError, match=r"^means of Bernoulli arms are probabilities and must lie in \[0, 1\]$"):
        KArmedBanditEnv(arms="bernoulli", means=[0.5, -0.1])


def test_bernoulli_rewards_are_drawn_per_arm() -> None:
    rewards = BanditSpec(arms="bernoulli").sample_rewards(np.random.default_rng(0), np.full(2000, 0.5))
    assert rewards.shape == (2000,) and abs(rewards.sum() - 1000) < 4.5 * np.sqrt(500)


def test_bandit_draws_come_from_its_own_stream_in_order() -> None:
    """q* at reset (one problem), then one reward draw per pull, then the walk: all from np_random."""
    env = KArmedBanditEnv(k=4)
    env.reset(seed=5)
    rng = seeding.np_random(5)[0]
    q = rng.normal(0.0, 1.0, size=(1, 4))[0]
    np.testing.assert_array_equal(env.q_star, q)
    for a in (0, 2, 3):  # the pull draws the pulled arm's reward only
        assert env.step(a)[1] == rng.normal(q[a], 1.0)
    walker = KArmedBanditEnv(k=3, nonstationary=True, walk_std=0.1)
    walker.reset(seed=2)  # q* all equal: no draw
    rng = seeding.np_random(2)[0]
    assert walker.step(1)[1] == rng.normal(0.0, 1.0)
    np.testing.assert_array_equal(walker.q_star, 0.0 + rng.normal(0.0, 0.1, size=3))


def test_bernoulli_reward_is_one_exactly_when_the_uniform_draw_is_below_q() -> None:
    spec = BanditSpec(arms="bernoulli")
    u = np.random.default_rng(3).random(5)  # the draws sample_rewards will make
    np.testing.assert_array_equal(spec.sample_rewards(np.random.default_rng(3), u), np.zeros(5))  # U == q: 0
    np.testing.assert_array_equal(spec.sample_rewards(np.random.default_rng(3), np.nextafter(u, 1.0)), np.ones(5))


def test_bandit_ansi_render_is_exact() -> None:
    env = KArmedBanditEnv(render_mode="ansi", means=[-0.25, 0.5], reward_std=0.0)
    assert env.render() == "q* = [+0.00 +0.00] (best arm 0)\n"  # before any reset
    env.reset(seed=0)
    assert env.render() == "q* = [-0.25 +0.50] (best arm 1)\n"
    env.step(0)
    assert env.render() == "q* = [-0.25 +0.50] (best arm 1) | pulled arm 0: reward -0.250\n"


# ----- the batched envs -----
def test_vector_env_spaces_metadata_and_defaults() -> None:
    grid = GridWorldVectorEnv(num_envs=3)
    assert grid.single_action_space == spaces.Discrete(5)
    assert grid.action_space == spaces.MultiDiscrete([5, 5, 5])
    assert grid.single_observation_space == spaces.Discrete(25)
    assert grid.observation_space == spaces.MultiDiscrete([25, 25, 25])
    assert grid.metadata == {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}
    bandit = KArmedBanditVectorEnv(num_envs=2, k=4, render_mode="rgb_array", autoreset_mode="SameStep")
    assert bandit.action_space == spaces.MultiDiscrete([4, 4]) and bandit.single_observation_space == spaces.Discrete(1)
    assert bandit.observation_space == spaces.MultiDiscrete([1, 1])
    assert bandit.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP and bandit.render_mode == "rgb_array"
    assert GridWorldVectorEnv(num_envs=1, render_mode="rgb_array").render_mode == "rgb_array"
    with pytest.raises(ValueError, match="autoreset_mode must be NextStep or SameStep, got 'Disabled'"):
        GridWorldVectorEnv(num_envs=2, autoreset_mode="Disabled")
    assert (GridWorldVectorEnv().num_envs, KArmedBanditVectorEnv().num_envs) == (1, 1)


@pytest.mark.parametrize(("cls", "limit"), [(GridWorldVectorEnv, 100), (KArmedBanditVectorEnv, 1000)])
def test_vector_envs_truncate_at_their_default_limits(cls: type, limit: int) -> None:
    envs = cls(num_envs=2)
    obs, _ = envs.reset(seed=0)
    assert isinstance(obs, np.ndarray) and obs.dtype == np.int64 and obs.shape == (2,)
    zeros = np.zeros(2, dtype=np.int64)
    for _ in range(limit - 1):
        assert not envs.step(zeros)[3].any()
    assert envs.steps.dtype == np.int64 and envs.steps.tolist() == [limit - 1] * 2
    assert envs.step(zeros)[3].all()


def test_vector_actions_accept_lists_and_name_what_they_refuse() -> None:
    envs = GridWorldVectorEnv(num_envs=2)
    with pytest.raises(ResetNeeded, match=r"^GridWorldVectorEnv: call reset\(\) before step\(\)$"):
        envs.step([0, 1])
    envs.reset(seed=0, options={"start": [0, 3]})
    obs, *_ = envs.step([1, 2])  # a list of ints is fine
    assert obs.tolist() == [1, 8]
    with pytest.raises(TypeError, match=re.escape("actions must be integers in [0, 5), got ['a', 'b']")):
        envs.step(["a", "b"])
    with pytest.raises(ValueError, match=re.escape("actions must lie in [0, 5), got [5]")):
        envs.step(np.array([0, 5]))  # exactly n is out of range
    wide = GridWorldVectorEnv(num_envs=7)
    wide.reset(seed=0)
    with pytest.raises(ValueError, match=re.escape("actions must lie in [0, 5), got [5, 6, 7, 8, 9]") + "$"):
        wide.step(np.array([5, 6, 7, 8, 9, 10, 0]))  # at most five of the wrong ones are listed


def test_vector_actions_on_torch() -> None:
    torch = pytest.importorskip("torch")
    envs = GridWorldVectorEnv(num_envs=2, device="auto")
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=re.escape("actions must lie in [0, 5), got [5]")):
        envs.step(torch.tensor([0, 5]))
    with pytest.raises(TypeError, match=re.escape("actions must be integers in [0, 5), got dtype torch.bool")):
        envs.step(torch.tensor([True, False]))


def test_vector_grid_world_start_options_are_checked() -> None:
    envs = GridWorldVectorEnv(num_envs=2)
    for bad in (25, -1, [0, 25]):
        with pytest.raises(ValueError, match=re.escape("options['start'] states must lie in [0, 25)")):
            envs.reset(seed=0, options={"start": bad})
    assert envs.reset(seed=0, options={"start": 24})[0].tolist() == [24, 24]


def test_same_step_autoreset_returns_the_reset_observation_and_the_last_one_in_info() -> None:
    envs = GridWorldVectorEnv(num_envs=3, grid_map=["S.T"], terminate_at_target=True, r_other=-0.5,
                              max_episode_steps=3, autoreset_mode="SameStep")  # fmt: skip
    envs.reset(seed=0)
    obs, reward, terminated, truncated, info = envs.step(np.array([1, 4, 3]))  # right, stay, left (a wall)
    assert (obs.tolist(), reward.tolist(), info) == ([1, 0, 0], [-0.5, -0.5, -1.0], {})
    obs, reward, terminated, truncated, info = envs.step(np.array([1, 4, 1]))  # copy 0 reaches the target
    assert (obs.tolist(), reward.tolist()) == ([0, 0, 1], [1.0, -0.5, -0.5])
    assert (terminated.tolist(), truncated.tolist()) == ([True, False, False], [False, False, False])
    assert info["final_obs"].tolist() == [2, 0, 1] and info["_final_obs"].tolist() == [True, False, False]
    assert envs.steps.tolist() == [0, 2, 2]
    obs, reward, terminated, truncated, info = envs.step(np.array([4, 4, 4]))  # copies 1 and 2 time out
    assert (obs.tolist(), reward.tolist()) == ([0, 0, 0], [-0.5, -0.5, -0.5])
    assert (terminated.tolist(), truncated.tolist()) == ([False, False, False], [False, True, True])
    assert info["final_obs"].tolist() == [0, 0, 1] and info["_final_obs"].tolist() == [False, True, True]
    assert envs.steps.tolist() == [1, 0, 0]


def test_vector_coords_observations_are_int64_cells() -> None:
    envs = GridWorldVectorEnv(num_envs=2, observation="coords")
    obs, _ = envs.reset(seed=0, options={"start": [0, 9]})
    assert obs.dtype == np.int64 and obs.tolist() == [[0, 0], [1, 4]]


def test_vector_bandit_draws_follow_its_stream_exactly() -> None:
    """numpy backend: q* at reset, then per step one reward draw per copy, then the walk (pinned seeds stay valid)."""
    n, k = 6, 4
    a = np.array([0, 1, 2, 3, 0, 1])
    envs = KArmedBanditVectorEnv(num_envs=n, k=k, reward_std=2.0)
    envs.reset(seed=7)
    rng = seeding.np_random(7)[0]
    q = rng.normal(0.0, 1.0, size=(n, k))
    np.testing.assert_array_equal(envs.q_star, q)
    q_a = q[np.arange(n), a]
    np.testing.assert_array_equal(envs.step(a)[1], q_a + 2.0 * rng.standard_normal(n))
    walker = KArmedBanditVectorEnv(num_envs=n, k=k, nonstationary=True, walk_std=0.1, q_mean=0.5)
    walker.reset(seed=8)  # q* all equal: no draw
    rng = seeding.np_random(8)[0]
    np.testing.assert_array_equal(walker.step(a)[1], 0.5 + 1.0 * rng.standard_normal(n))
    np.testing.assert_array_equal(walker.q_star, 0.5 + 0.1 * rng.standard_normal((n, k)))
    u = seeding.np_random(0)[0].random(3)  # the uniform draws of the first step after reset(seed=0)
    for means, want in ((u, [0.0, 0.0, 0.0]), (np.nextafter(u, 1.0), [1.0, 1.0, 1.0])):  # reward 1 iff U < q*
        bern = KArmedBanditVectorEnv(num_envs=3, arms="bernoulli", means=list(means))
        bern.reset(seed=0)
        assert bern.step(np.array([0, 1, 2]))[1].tolist() == want


def test_vector_grid_world_slips_follow_its_stream_exactly() -> None:
    envs = GridWorldVectorEnv(num_envs=8, slip_prob=0.5)
    envs.reset(seed=3, options={"start": 12})
    rng = seeding.np_random(3)[0]
    a = np.array([0, 1, 2, 3, 4, 0, 1, 2])
    slip = rng.random(8) < 0.5
    other = rng.integers(4, size=8)
    taken = np.where(slip, other + (other >= a), a)  # one of the other four actions, uniformly
    assert slip.any() and not slip.all() and (taken[slip] != a[slip]).all()
    obs, reward, *_ = envs.step(a)
    table = envs.single_env
    np.testing.assert_array_equal(obs, table.next_state_table[12, taken])
    np.testing.assert_array_equal(reward, table.reward_table[12, taken])
    u = seeding.np_random(5)[0].random(2)
    edge = GridWorldVectorEnv(num_envs=2, slip_prob=float(u[0]))
    edge.reset(seed=5, options={"start": 12})
    assert edge.step(np.array([4, 4]))[0][0] == 12  # copy 0 draws U == slip_prob: it slips only when U < slip_prob
    steady = GridWorldVectorEnv(num_envs=5, start="random", max_episode_steps=1)  # slip_prob 0: no slip draws
    steady.reset(seed=4)
    rng = seeding.np_random(4)[0]
    starts = steady.random_start_states
    np.testing.assert_array_equal(steady.states, starts[rng.integers(starts.size, size=5)])
    steady.step(np.full(5, 4))  # every copy times out ...
    obs = steady.step(np.full(5, 4))[0]  # ... and starts afresh: the next draws of the same stream
    np.testing.assert_array_equal(obs, starts[rng.integers(starts.size, size=5)])


def test_vector_bandit_autoreset_draws_fresh_finite_problems() -> None:
    envs = KArmedBanditVectorEnv(num_envs=400, max_episode_steps=2)
    envs.reset(seed=0)
    old = envs.q_star.copy()
    for _ in range(3):  # the third step resets every copy
        envs.step(np.zeros(400, dtype=np.int64))
    q = envs.q_star
    assert np.isfinite(q).all() and (q != old).all() and _z_ok(q, 0.0, 1.0)


def test_vector_bandit_walk_steps_and_clipping() -> None:
    n, k = 400, 10
    envs = KArmedBanditVectorEnv(num_envs=n, k=k, nonstationary=True, walk_std=0.05)
    envs.reset(seed=0)
    before = envs.q_star.copy()
    envs.step(np.zeros(n, dtype=np.int64))
    assert _z_ok(envs.q_star - before, 0.0, 0.05)
    bern = KArmedBanditVectorEnv(num_envs=n, k=k, arms="bernoulli", nonstationary=True, walk_std=0.5)
    bern.reset(seed=0)
    bern.step(np.zeros(n, dtype=np.int64))
    assert bern.q_star.min() == 0.0 and bern.q_star.max() == 1.0
    gauss = KArmedBanditVectorEnv(num_envs=n, k=k, nonstationary=True, walk_std=0.5)
    gauss.reset(seed=0)
    gauss.step(np.zeros(n, dtype=np.int64))
    assert gauss.q_star.min() < -1.0 and gauss.q_star.max() > 1.0


def test_vector_bandit_on_torch_draws_the_right_problems() -> None:
    pytest.importorskip("torch")
    n = 3000

    def q_star(**kwargs: object) -> np.ndarray:
        envs = KArmedBanditVectorEnv(num_envs=n, device="auto", **kwargs)
        envs.reset(seed=0)
        return envs.q_star.cpu().numpy().astype(np.float64)

    assert _z_ok(q_star(q_mean=4.0, q_std=2.0), 4.0, 2.0)
    bern = q_star(arms="bernoulli")
    assert bern.min() >= 0.0 and bern.max() <= 1.0 and abs(bern.mean() - 0.5) < 4.5 * np.sqrt(1 / 12 / bern.size)
    assert (q_star(nonstationary=True, q_mean=0.5) == 0.5).all()  # exercise 2.5: all q* start equal
    envs = KArmedBanditVectorEnv(num_envs=50, device="auto")
    envs.reset(seed=0)
    q = envs.q_star.cpu().numpy()
    a = np.arange(50) % 10
    info = envs.step(a)[4]
    np.testing.assert_allclose(info["regret"].cpu().numpy(), q.max(1) - q[np.arange(50), a], rtol=1e-6)


# ----- the grid world -----
def test_grid_world_reward_table_at_every_edge() -> None:
    env = GridWorldEnv(grid_map=["S..", "...", "..T"], r_boundary=-7.0, r_other=0.5)
    assert env.next_state_table.dtype == np.int64
    for s in range(9):
        r, c = env.to_cell(s)
        for a, off in ((0, r == 0), (1, c == 2), (2, r == 2), (3, c == 0)):
            if off:
                assert (env.reward_table[s, a], env.next_state_table[s, a]) == (-7.0, s)


def test_map_start_and_messages() -> None:
    env = GridWorldEnv(grid_map=["#.", "ST"])
    assert env.start_state == 2 and env.layout.start == (1, 0) and env.layout.target == (1, 1)
    assert env.s == 2 and env.reset()[0] == 2  # an env sits on its start, reset or not
    with pytest.raises(ValueError, match=re.escape("grid_map row 2, column 3: unknown cell 'x' (use . # T S)")):
        GridWorldEnv(grid_map=["S..", "..x", "T.."])
    with pytest.raises(ValueError, match=r"^grid_map has no target cell 'T'$"):
        GridWorldEnv(grid_map=["S.."])
    with pytest.raises(ValueError, match=r"^n_cols must be a positive integer, got 0$"):
        GridWorldEnv(n_cols=0)
    with pytest.raises(TypeError, match=re.escape("start must be a (row, col) pair of integers, got 5")):
        GridWorldEnv(start=5)
    with pytest.raises(TypeError, match=re.escape("forbidden must be a list of (row, col) pairs, got 5")):
        GridWorldEnv(forbidden=5)
    with pytest.raises(ValueError, match=re.escape("no path from the start (1, 1) to the target")):
        GridWorldEnv(grid_map=["S#T"], forbidden_enterable=False)
    with pytest.raises(ValueError, match=re.escape("options['start'] (9, 9) is outside the 5x5 grid")):
        GridWorldEnv().reset(options={"start": (9, 9)})
    with pytest.raises(ValueError, match=re.escape("layout_seed must be an integer >= 0, got -1")):
        GridWorldEnv(random_layout=True, layout_seed=-1)
    with pytest.raises(ValueError, match=re.escape("cell_px must be an integer >= 4, got 8.0")):
        GridWorldEnv(cell_px=8.0)


def test_start_cells_and_random_start_candidates() -> None:
    assert GridWorldEnv(start=(1, 5)).reset()[0] == 4  # the last column is inside the grid
    assert GridWorldEnv(start=(1, 5)).s == 4
    assert GridWorldEnv().reset(options={"start": (5, 5)})[1] == {"state": 24, "prob": 1.0}
    enterable = GridWorldEnv(start="random")
    np.testing.assert_array_equal(enterable.random_start_states, np.arange(25))
    walled = GridWorldEnv(start="random", forbidden_enterable=False)
    np.testing.assert_array_equal(walled.random_start_states, np.flatnonzero(walled.kinds.reshape(-1) != FORBIDDEN))
    one = GridWorldEnv(grid_map=["ST"], start="random", terminate_at_target=True)  # one candidate is enough
    np.testing.assert_array_equal(one.random_start_states, [0])


def test_random_layouts_follow_their_seed_and_fraction() -> None:
    a = GridWorldEnv(random_layout=True, layout_seed=3, n_rows=6, n_cols=6)
    b = GridWorldEnv(random_layout=True, layout_seed=3, n_rows=6, n_cols=6)
    c = GridWorldEnv(random_layout=True, layout_seed=4, n_rows=6, n_cols=6)
    np.testing.assert_array_equal(a.kinds, b.kinds)
    assert not np.array_equal(a.kinds, c.kinds)
    rng = np.random.default_rng(0)
    assert int((Layout.random(4, 5, 0.25, rng).kinds == FORBIDDEN).sum()) == 5
    assert int((Layout.random(2, 2, 0.99, rng).kinds == FORBIDDEN).sum()) == 3  # all but the target
    with pytest.raises(ValueError, match=re.escape("forbidden_fraction must lie in [0, 1), got 1.0")):
        Layout.random(3, 3, 1.0, rng)


def test_layouts_are_int8_and_a_second_target_is_named_by_its_cell() -> None:
    assert Layout.from_cells(2, 2, [], (1, 1)).kinds.dtype == np.int8
    assert Layout.from_map(["ST"]).kinds.dtype == np.int8
    assert Layout.random(3, 3, 0.2, np.random.default_rng(0)).kinds.dtype == np.int8
    assert Layout.random(20, 20, 0.35, np.random.default_rng(0), max_tries=1).kinds.dtype == np.int8  # repaired
    with pytest.raises(ValueError, match=r"^grid_map has more than one target \(row 2, column 3\)$"):
        Layout.from_map(["T..", "..T"])


@pytest.mark.parametrize(("n_rows", "n_cols", "fraction", "seed"),
                         [(20, 20, 0.35, 0), (20, 20, 0.35, 1), (12, 30, 0.45, 2), (6, 6, 0.4, 3)])  # fmt: skip
def test_a_repaired_random_layout_keeps_its_count_and_connects_every_free_cell(
    n_rows: int, n_cols: int, fraction: float, seed: int
) -> None:
    n = n_rows * n_cols
    cells = np.random.default_rng(seed).permutation(n)  # the first (and, with max_tries=1, only) draw
    drawn = np.zeros(n, dtype=np.int8)
    drawn[cells[1 : 1 + round(fraction * n)]] = FORBIDDEN
    drawn[cells[0]] = TARGET
    draw = Layout(drawn.reshape(n_rows, n_cols), (int(cells[0] // n_cols), int(cells[0] % n_cols)))
    region = draw.reaches_target(walls=True)
    assert not region[draw.kinds != FORBIDDEN].all()  # the draw has cut-off cells: the repair runs
    layout = Layout.random(n_rows, n_cols, fraction, np.random.default_rng(seed), max_tries=1)
    assert layout.target == draw.target and layout.kinds[layout.target] == TARGET
    assert int((layout.kinds == FORBIDDEN).sum()) == round(fraction * n)  # as many forbidden cells as drawn
    assert layout.reaches_target(walls=True)[layout.kinds != FORBIDDEN].all()
    kept = region & (draw.kinds != FORBIDDEN)  # the target's region stays as drawn, and grows
    np.testing.assert_array_equal(layout.kinds[kept], draw.kinds[kept])
    assert not np.array_equal(layout.kinds, draw.kinds)


def test_reaches_target_starts_from_the_target() -> None:
    layout = Layout.from_map(["T#."])
    np.testing.assert_array_equal(layout.reaches_target(walls=True), [[True, False, False]])
    np.testing.assert_array_equal(layout.reaches_target(walls=False), [[True, True, True]])


def test_large_index_grids_still_observe_indices() -> None:
    env = GridWorldEnv(n_rows=257, n_cols=256, forbidden=(), target=(257, 256))  # more states than the cache
    obs, _ = env.reset(options={"start": 65_000})
    assert type(obs) is np.int64 and obs == 65_000
    assert env.step(1)[0] == 65_001


def test_spaces_and_absorbing_target_with_slip() -> None:
    env = GridWorldEnv(observation="onehot")
    assert env.observation_space == spaces.Box(0.0, 1.0, shape=(25,), dtype=np.float32)
    slip = GridWorldEnv(slip_prob=0.2, terminate_at_target=True)
    p = slip.transition_probs
    np.testing.assert_array_equal(p[slip.target_state, :, slip.target_state], np.ones(5))
    np.testing.assert_allclose(p.sum(-1), np.ones((25, 5)))


def test_two_outcomes_are_both_sampled() -> None:
    # from S, "right" reaches T (prob 0.5) or stays with -1 (off the grid or stay: merged): two outcomes
    env = GridWorldEnv(grid_map=["ST"], slip_prob=0.5, r_boundary=-1.0, r_other=-1.0, terminate_at_target=True)
    assert len(env.P[0][1]) == 2
    env.reset(seed=0)
    seen = set()
    for _ in range(60):
        env.reset(options={"start": 0})
        seen.add(env.step(1)[1])
    assert seen == {1.0, -1.0}


def test_ansi_render_is_exact() -> None:
    env = GridWorldEnv(grid_map=["S.#", "..T"], render_mode="ansi")
    env.reset()
    assert env.render() == "A.#\n..T\n"
    env.step(1)
    assert env.render() == ".A#\n..T  (right)\n"
    assert env.render_ansi(state=3) == "..#\nA.T  (right)\n"


def test_rgb_render_border_disk_and_arguments() -> None:
    env = GridWorldEnv(grid_map=["ST"], cell_px=25)
    img = env.render_rgb()
    assert img.shape == (25, 50, 3) and GridWorldEnv().render_rgb().shape == (160, 160, 3)  # cell_px 32 by default
    line = np.array(COLORS["line"], dtype=np.uint8)
    assert (img[-1] == line).all() and (img[:, -1] == line).all()
    assert not (img[-2, 1:24] == line).all() and not (img[1:24, -2] == line).all()
    agent = np.array(COLORS["agent"], dtype=np.uint8)
    assert (img[12, 20] == agent).all()  # radius 0.32 * 25 = 8: the rim (12, 12 + 8) is part of the disk
    assert (env.render_rgb(state=1)[12, 37] == agent).all() and not (env.render_rgb(state=1)[12, 12] == agent).all()
    assert env.render_rgb(cell_px=8).shape == (8, 16, 3)
    assert GridWorldEnv(cell_px=4).cell_px == 4


# ----- the pixel grid worlds -----
def test_layout_map_marks_the_start_unless_it_is_the_target() -> None:
    layout = Layout.from_map(["..", ".T"])
    assert layout_map(layout, start=(0, 1)) == [".S", ".T"]
    assert layout_map(layout, start=(1, 1)) == ["..", ".T"]


def test_boxes_are_float32_and_follow_the_state() -> None:
    world = GridWorldEnv(grid_map=["S..", "..T", "#.."], cell_px=16)
    assert agent_box((2, 1), 16).dtype == np.float32 and cell_box((2, 1), 16).dtype == np.float32
    img = world.render_rgb(state=world.to_state((2, 1)))
    ys, xs = np.nonzero((img == np.array(COLORS["agent"], dtype=np.uint8)).all(-1))
    np.testing.assert_array_equal(agent_box((2, 1), 16), [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    boxes, labels = frame_annotations(world, state=world.to_state((2, 1)))
    assert boxes.dtype == np.float32 and labels.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(boxes[0], agent_box((2, 1), 16))
    np.testing.assert_array_equal(boxes[2], [0, 32, 16, 48])


def test_pixel_env_defaults_and_checks() -> None:
    env = PixelGridWorldEnv()
    assert env.observation_space == spaces.Box(0, 255, shape=(80, 80, 3), dtype=np.uint8)
    assert env.class_names == CLASS_NAMES == ("agent", "target", "forbidden")
    with pytest.raises(
        ValueError, match=r"^PixelGridWorldEnv: the observation is always the RGB image; drop 'observation'$"
    ):
        PixelGridWorldEnv(observation="index")
    with pytest.raises(ValueError, match=re.escape("render_mode must be one of ['rgb_array', 'ansi'], got 'human'")):
        PixelGridWorldEnv(render_mode="human")
    with pytest.raises(TypeError, match=re.escape("layout_per_episode must be True or False, got 'yes'")):
        PixelGridWorldEnv(layout_per_episode="yes")
    with pytest.raises(ValueError, match=r"^layout_seed fixes one layout, but with layout_per_episode=True every "):
        PixelGridWorldEnv(layout_per_episode=True, layout_seed=3)  # not silently dropped
    assert PixelGridWorldEnv(layout_per_episode=True, layout_seed=None).world.layout.shape == (5, 5)


def test_pixel_env_per_episode_layouts_keep_a_given_start() -> None:
    env = PixelGridWorldEnv(layout_per_episode=True, forbidden_fraction=0.0, start=(1, 1))
    assert [env.reset(seed=s)[1]["state"] for s in range(5)] == [0] * 5
    for _ in range(30):  # without a start the first layout's top-left cell may be a wall: start anywhere
        PixelGridWorldEnv(layout_per_episode=True, forbidden_fraction=0.5, forbidden_enterable=False)


def test_goal_env_defaults_and_arguments() -> None:
    env = PixelGoalGridWorldEnv(render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    assert obs["image"].shape == (80, 80, 3) and len(env.objects) == 3
    np.testing.assert_array_equal(env.render(), obs["image"])
    assert env.class_names == CLASS_NAMES + tuple(f"{name} square" for name, _ in OBJECT_COLORS)
    assert info["boxes"].dtype == np.float32
    for seed in range(10):  # no forbidden cells unless asked
        assert 2 not in env.reset(seed=seed)[1]["labels"]
    assert any(2 in PixelGoalGridWorldEnv(forbidden_fraction=0.2).reset(seed=s)[1]["labels"] for s in range(5))
    small = PixelGoalGridWorldEnv(n_rows=4, n_cols=6, cell_px=8)
    assert small.reset(seed=0)[0]["image"].shape == (32, 48, 3)
    assert PixelGoalGridWorldEnv().reset(seed=0, options={"start": 7})[1]["state"] == 7


def test_goal_env_before_its_first_reset_and_its_fixed_random_start() -> None:
    env = PixelGoalGridWorldEnv(render_mode="rgb_array")
    assert env.objects == [] and env.goal == 0 and env.instruction == "go to the red square"
    assert env.render().shape == (80, 80, 3)  # the first layout, no squares yet
    with pytest.raises(TypeError, match="start"):  # the start is always random (never the goal)
        PixelGoalGridWorldEnv(start=(1, 1))


def test_goal_env_object_count_and_room() -> None:
    for n in (2, 5):
        env = PixelGoalGridWorldEnv(n_objects=n)
        env.reset(seed=0)
        assert len(env.objects) == n
    with pytest.raises(ValueError, match=re.escape("n_objects must be an integer in [2, 5], got 3.0")):
        PixelGoalGridWorldEnv(n_objects=3.0)
    PixelGoalGridWorldEnv(n_rows=2, n_cols=2, forbidden_fraction=0.25, n_objects=2).reset(seed=0)  # 3 cells: enough
    with pytest.raises(
        ValueError, match=re.escape("a 2x2 grid with forbidden_fraction=0.25 has no room for 3 objects")
    ):
        PixelGoalGridWorldEnv(n_rows=2, n_cols=2, forbidden_fraction=0.25, n_objects=3)


def test_goal_env_objects_are_distinct_and_the_goal_is_drawn_on_the_target() -> None:
    env = PixelGoalGridWorldEnv(n_rows=3, n_cols=3, n_objects=5)
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        colours = [k for k, _ in env.objects]
        cells = [cell for _, cell in env.objects]
        assert len(set(colours)) == 5 and len(set(cells)) == 5
        assert colours[0] == info["goal"]
        tr, tc = env.world.to_cell(env.world.target_state)
        corner = obs["image"][tr * 16 + 3, tc * 16 + 3]  # inside the square, outside the agent's disk
        np.testing.assert_array_equal(corner, OBJECT_COLORS[info["goal"]][1])


@pytest.mark.parametrize("cell_px", [8, 16])
def test_goal_env_frame_is_the_grid_with_squares_drawn_where_the_boxes_say(cell_px: int) -> None:
    env = PixelGoalGridWorldEnv(n_rows=3, n_cols=4, n_objects=4, cell_px=cell_px)
    px, inset = cell_px, max(1, round(0.15 * cell_px))
    agent_rgb = np.array(COLORS["agent"], dtype=np.uint8)
    for seed in range(12):
        obs, info = env.reset(seed=seed)
        img, base = obs["image"], env.world.render_rgb()
        free = np.ones(img.shape[:2], dtype=bool)  # pixels that must look as in the plain grid world
        tr, tc = env.world.to_cell(env.world.target_state)
        free[tr * px + 1 : (tr + 1) * px, tc * px + 1 : (tc + 1) * px] = False
        free[-1, :] = free[:, -1] = True  # the outer border is redrawn after the target is cleared ...
        labels = info["labels"]
        for k, (r, c) in env.objects:
            box = info["boxes"][labels == len(CLASS_NAMES) + k][0]
            np.testing.assert_array_equal(box, [c * px + inset, r * px + inset, (c + 1) * px - inset + 1,
                                                (r + 1) * px - inset + 1])  # fmt: skip
            ys, xs = np.nonzero((img == np.array(OBJECT_COLORS[k][1], dtype=np.uint8)).all(-1))
            np.testing.assert_array_equal([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], box)
            x0, y0, x1, y1 = box.astype(int)
            free[y0:y1, x0:x1] = False  # ... and under the squares
        np.testing.assert_array_equal(img[free], base[free])
        inside = img[tr * px + 1 : (tr + 1) * px, tc * px + 1 : (tc + 1) * px].reshape(-1, 3)
        goal_rgb = np.array(OBJECT_COLORS[info["goal"]][1], dtype=np.uint8)
        white = np.array(COLORS["free"], dtype=np.uint8)
        line = np.array(COLORS["line"], dtype=np.uint8)
        ok = (inside == white).all(-1) | (inside == goal_rgb).all(-1) | (inside == agent_rgb).all(-1)
        ok |= (inside == line).all(-1)  # where the target touches the outer border
        assert ok.all()


def test_same_step_autoreset_keeps_the_steps_own_info_beside_final_obs() -> None:
    """Copies timing out in SameStep mode: info keeps the pull's regret/optimal and the reset's optimal_arm."""
    envs = KArmedBanditVectorEnv(num_envs=2, k=3, means=[0.0, 1.0, 0.5], max_episode_steps=1, autoreset_mode="SameStep")
    envs.reset(seed=0)
    _, _, terminated, truncated, info = envs.step(np.array([0, 1]))
    assert (terminated.tolist(), truncated.tolist()) == ([False, False], [True, True])
    assert set(info) == {"optimal_arm", "regret", "optimal", "final_obs", "_final_obs"}
    assert info["regret"].tolist() == [1.0, 0.0] and info["optimal"].tolist() == [False, True]
    assert info["optimal_arm"].tolist() == [1, 1] and info["_final_obs"].tolist() == [True, True]


def test_one_start_state_in_a_one_element_array_starts_every_copy_there() -> None:
    envs = GridWorldVectorEnv(num_envs=3)
    assert envs.reset(seed=0, options={"start": np.array([7])})[0].tolist() == [7, 7, 7]
    assert envs.reset(seed=0, options={"start": [3]})[0].tolist() == [3, 3, 3]


def test_torch_actions_are_judged_by_their_own_dtype_and_same_step_copies_stay_tensors() -> None:
    """bfloat16 actions (which numpy cannot even read) are refused by their torch dtype; final_obs is a tensor copy."""
    torch = pytest.importorskip("torch")
    envs = GridWorldVectorEnv(num_envs=2, grid_map=["S.T"], terminate_at_target=True, autoreset_mode="SameStep",
                              device="torch:cpu")  # fmt: skip
    envs.reset(seed=0)
    with pytest.raises(TypeError, match=r"actions must be integers in \[0, 5\), got dtype torch.bfloat16"):
        envs.step(torch.tensor([1, 1], dtype=torch.bfloat16))
    envs.step(torch.tensor([1, 1]))
    obs, _, terminated, _, info = envs.step(torch.tensor([1, 4]))
    assert terminated.tolist() == [True, False] and obs.tolist() == [0, 1]
    assert isinstance(info["final_obs"], torch.Tensor) and info["final_obs"].tolist() == [2, 1]


def test_next_to_marks_exactly_the_four_neighbours_of_a_mask() -> None:
    from rlsuite.envs.gridworld import _next_to

    rng = np.random.default_rng(0)
    for shape in ((1, 1), (1, 5), (4, 1), (4, 6)):
        mask = rng.random(shape) < 0.3
        expected = np.zeros(shape, dtype=bool)
        for r, c in zip(*np.nonzero(mask), strict=True):
            for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                if 0 <= nr < shape[0] and 0 <= nc < shape[1]:
                    expected[nr, nc] = True
        assert _next_to(mask).tolist() == expected.tolist(), shape


@pytest.mark.parametrize("vertical", [True, False])
def test_repair_frees_a_chain_of_forbidden_cells_in_every_direction(vertical: bool) -> None:
    """Two cut-off free cells force the repair to free two forbidden cells in a row: up a column, right along a row."""
    if vertical:  # a column: two free cells on top, two forbidden ones, the target at the bottom
        kinds, target = np.array([[FREE], [FREE], [FORBIDDEN], [FORBIDDEN], [FREE]], dtype=np.int8), (4, 0)
    else:  # a row: the target on the left, two forbidden cells, two free ones
        kinds, target = np.array([[FREE, FORBIDDEN, FORBIDDEN, FREE, FREE]], dtype=np.int8), (0, 0)
    layout = Layout(kinds, target)
    reach = layout.reaches_target(walls=True)
    assert int(reach.sum()) == 1  # only the target reaches itself
    repaired = layout._connected(reach, np.random.default_rng(0))
    flat = repaired.kinds.reshape(-1).tolist()
    assert flat == ([1, 1, 0, 0, 0] if vertical else [0, 0, 0, 1, 1])
    assert repaired.reaches_target(walls=True).reshape(-1).tolist() == [f == 0 for f in flat]
