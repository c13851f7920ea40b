"""GridWorld: the book's example, the exact model, layouts, errors, rendering, determinism."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import rlsuite
from rlsuite.agents.tabular.dp import value_iteration
from rlsuite.envs.gridworld import FORBIDDEN, TARGET, GridWorldEnv, Layout
from rlsuite.envs.model import tabular_model

ALL_IDS = rlsuite.envs.registered_ids()


# SB3 has no Text spaces: its checker sees the goal env with the instruction as an index.
SB3_KWARGS = {"rlsuite/PixelGoalGridWorld-v0": {"instruction": "index"}}


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_check_env_every_registered_id(env_id: str) -> None:
    env = gym.make(env_id)
    gym_check_env(env.unwrapped, skip_render_check=False)
    sb3_check_env(gym.make(env_id, **SB3_KWARGS.get(env_id, {})).unwrapped, warn=False)
    for mode in env.unwrapped.metadata["render_modes"]:
        gym_check_env(gym.make(env_id, render_mode=mode).unwrapped)


@pytest.mark.filterwarnings("ignore:.*not having a spec")
@pytest.mark.parametrize("observation", ["index", "coords", "onehot"])
def test_observation_kinds_pass_checkers(observation: str) -> None:
    env = GridWorldEnv(observation=observation, start="random", slip_prob=0.1)
    gym_check_env(env)
    sb3_check_env(env, warn=False)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)


def test_book_layout_and_conventions() -> None:
    env = gym.make("rlsuite/GridWorld-v0").unwrapped
    assert (env.n_rows, env.n_cols, env.n_actions) == (5, 5, 5)
    forbidden = {env.to_cell(s, one_indexed=True) for s in range(25) if env.kinds.flat[s] == FORBIDDEN}
    assert forbidden == {(2, 2), (2, 3), (3, 3), (4, 2), (4, 4), (5, 2)}
    assert env.to_cell(env.target_state, one_indexed=True) == (4, 3)
    s11 = env.to_state((0, 0))
    # a1 = up off the grid: stay, r_boundary
    assert env.P[s11][0] == [(1.0, s11, -1.0, False)]
    # a2 = right into a free cell: r_other
    assert env.P[s11][1] == [(1.0, env.to_state((0, 1)), 0.0, False)]
    # entering a forbidden cell: the agent enters (book convention) and pays r_forbidden
    s21 = env.to_state((1, 0))
    assert env.P[s21][1] == [(1.0, env.to_state((1, 1)), -1.0, False)]
    # the target is not absorbing: staying there pays r_target again
    assert env.P[env.target_state][4] == [(1.0, env.target_state, 1.0, False)]


def test_companion_code_conventions_are_options() -> None:
    env = GridWorldEnv(forbidden_enterable=False, terminate_at_target=True)
    s21 = env.to_state((1, 0))
    assert env.P[s21][1] == [(1.0, s21, -1.0, False)]  # bounced off the forbidden cell
    above_target = env.to_state((2, 2))
    assert env.P[above_target][2][0][3] is True  # entering the target terminates
    assert env.P[env.target_state][0] == [(1.0, env.target_state, 0.0, True)]


BOOK_VALUES = {
    # Zhao, figure 3.4: optimal state values, gamma = 0.9
    -1.0: [[5.8, 5.6, 6.2, 6.5, 5.8], [6.5, 7.2, 8.0, 7.2, 6.5], [7.2, 8.0, 10.0, 8.0, 7.2],
           [8.0, 10.0, 10.0, 10.0, 8.0], [7.2, 9.0, 10.0, 9.0, 8.1]],
    -10.0: [[3.5, 3.9, 4.3, 4.8, 5.3], [3.1, 3.5, 4.8, 5.3, 5.9], [2.8, 2.5, 10.0, 5.9, 6.6],
            [2.5, 10.0, 10.0, 10.0, 7.3], [2.3, 9.0, 10.0, 9.0, 8.1]],
}


@pytest.mark.parametrize("r_forbidden", sorted(BOOK_VALUES))
def test_exact_model_reproduces_the_books_optimal_values(r_forbidden: float) -> None:
    env = gym.make("rlsuite/GridWorld-v0", r_forbidden=r_forbidden)
    v, _, _ = value_iteration(tabular_model(env), gamma=0.9)
    np.testing.assert_allclose(np.round(v, 1).reshape(5, 5), BOOK_VALUES[r_forbidden])


def test_dense_arrays_match_P() -> None:
    env = GridWorldEnv(slip_prob=0.2, random_layout=True, n_rows=4, n_cols=6, layout_seed=1)
    np.testing.assert_allclose(env.transition_probs.sum(axis=2), 1.0)
    for s in range(env.n_states):
        for a in range(env.n_actions):
            assert sum(p for p, *_ in env.P[s][a]) == pytest.approx(1.0)
            assert sum(p * r for p, _, r, _ in env.P[s][a]) == pytest.approx(env.expected_rewards[s, a])


# A sampled count n_k of an outcome with probability p out of n draws must lie within Z binomial
# standard deviations of n p (and be exactly 0 or n where p is 0 or 1). With 5 outcomes for each of
# 125 (s, a) pairs, Z = 4.5 leaves a chance of about 0.4% that a correct env fails a fixed seed.
Z = 4.5
DYNAMICS = [{"slip_prob": 0.3}, {"slip_prob": 0.2, "terminate_at_target": True, "forbidden_enterable": False}]


def assert_binomial(counts: np.ndarray, probs: np.ndarray, n: int) -> None:
    """``counts`` [S, A, S'] of ``n`` draws per (s, a) agree with ``probs`` [S, A, S'] everywhere."""
    np.testing.assert_array_equal(counts.sum(axis=2), n)
    np.testing.assert_array_equal(counts[probs == 0.0], 0)  # impossible outcomes never happen
    bound = Z * np.sqrt(n * probs * (1.0 - probs))
    off = np.abs(counts - n * probs) > bound + 1e-9
    assert not off.any(), f"(s, a, s') off the model: {np.argwhere(off)[:5].tolist()}"


@pytest.mark.parametrize("kwargs", DYNAMICS, ids=["slip", "slip-episodic-walls"])
def test_sampled_steps_agree_with_P_for_every_state_action_pair(kwargs: dict) -> None:
    env = GridWorldEnv(**kwargs)
    env.reset(seed=3)
    n, S, A = 300, env.n_states, env.n_actions
    counts = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            for _ in range(n):
                env.reset(options={"start": s})
                ns, r, term, _trunc, info = env.step(a)
                assert (info["prob"], ns, r, term) in env.P[s][a]  # every sampled outcome is one of P's
                counts[s, a, ns] += 1
    assert_binomial(counts, env.transition_probs, n)


@pytest.mark.parametrize("kwargs", DYNAMICS, ids=["slip", "slip-episodic-walls"])
def test_batched_steps_agree_with_the_model_for_every_state_action_pair(kwargs: dict) -> None:
    from rlsuite.envs.batched import GridWorldVectorEnv

    n = 2000
    vec = GridWorldVectorEnv(num_envs=25 * 5 * n, max_episode_steps=None, **kwargs)
    S, A = vec.single_env.n_states, vec.single_env.n_actions
    starts, actions = np.repeat(np.arange(S), A * n), np.tile(np.repeat(np.arange(A), n), S)
    vec.reset(seed=5, options={"start": starts})
    obs, reward, *_ = vec.step(actions)
    counts = np.zeros((S * A, S))
    np.add.at(counts, (starts * A + actions, obs), 1)
    assert_binomial(counts.reshape(S, A, S), vec.single_env.transition_probs, n)
    # every sampled (s', r) is one of the model's outcomes of its (s, a)
    P = vec.single_env.P
    seen = set(zip((starts * A + actions).tolist(), obs.tolist(), reward.tolist(), strict=True))
    assert all((ns, r) in {(o[1], o[2]) for o in P[sa // A][sa % A]} for sa, ns, r in seen)


def test_same_seed_same_trajectory() -> None:
    def rollout(seed: int) -> list[tuple[int, float]]:
        env = gym.make("rlsuite/GridWorld-v0", slip_prob=0.3, start="random")
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        out = [(int(obs), 0.0)]
        for _ in range(50):
            obs, r, *_ = env.step(env.action_space.sample())
            out.append((int(obs), float(r)))
        return out

    assert rollout(7) == rollout(7)
    assert rollout(7) != rollout(8)


def test_start_options() -> None:
    env = GridWorldEnv()
    assert env.reset(seed=0)[0] == 0
    assert env.reset(options={"start": 12})[0] == 12
    assert env.reset(options={"start": (2, 1)})[0] == 5  # 1-indexed (row, col)
    with pytest.raises(ValueError, match="outside"):
        env.reset(options={"start": 25})
    env = GridWorldEnv(start="random", terminate_at_target=True)
    starts = {int(env.reset(seed=i)[0]) for i in range(200)}
    assert env.target_state not in starts and len(starts) > 15


def test_ascii_map() -> None:
    env = GridWorldEnv(grid_map="""
        S..
        .#.
        ..T
    """)
    assert (env.n_rows, env.n_cols) == (3, 3)
    assert env.kinds[1, 1] == FORBIDDEN and env.kinds[2, 2] == TARGET
    assert env.reset()[0] == 0
    assert env.render_ansi().splitlines()[:3] == ["A..", ".#.", "..T"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": (6, 1)}, "target .* outside the 5x5 grid"),
        ({"target": (2, 2)}, "also listed as forbidden"),
        ({"n_rows": 0}, "n_rows must be a positive integer"),
        ({"n_rows": 1, "n_cols": 1, "forbidden": (), "target": (1, 1)}, "at least 2 cells"),
        ({"slip_prob": 1.5}, "slip_prob must be a probability"),
        ({"forbidden": [(1, 2), (2, 1)], "forbidden_enterable": False, "start": (1, 1)}, "no path from the start"),
        ({"grid_map": ["S.", "#"]}, "row 2 has 1 cells"),
        ({"grid_map": ["S.x"]}, "unknown cell 'x'"),
        ({"grid_map": ["S.."]}, "no target"),
        ({"r_target": float("nan")}, "r_target must be a finite number"),
        ({"observation": "pixels"}, "observation must be"),
        ({"render_mode": "human"}, "render_mode must be one of"),
        ({"random_layout": True, "forbidden_fraction": 1.2}, "forbidden_fraction must lie in"),
    ],
)
def test_bad_layouts_raise_clear_value_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GridWorldEnv(**kwargs)


def test_gym_make_passes_kwargs_and_reports_bad_ones() -> None:
    with pytest.raises(ValueError, match="slip_prob"):
        gym.make("rlsuite/GridWorld-v0", slip_prob=-0.1)
    with pytest.raises(gym.error.Error):
        gym.make("rlsuite/NoSuchEnv-v0")
    env = gym.make("rlsuite:rlsuite/GridWorld-v0", r_forbidden=-10.0)
    assert env.unwrapped.rewards["forbidden"] == -10.0


@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(1, 9),
    n_cols=st.integers(2, 9),
    frac=st.floats(0.0, 0.6),
    seed=st.integers(0, 10_000),
    walls=st.booleans(),
)
def test_random_layouts_are_solvable(n_rows: int, n_cols: int, frac: float, seed: int, walls: bool) -> None:
    try:
        layout = Layout.random(n_rows, n_cols, frac, np.random.default_rng(seed), max_tries=50)
    except ValueError as exc:
        assert "forbidden_fraction" in str(exc)
        return
    assert (layout.kinds == TARGET).sum() == 1
    reach = layout.reaches_target(walls=True)
    assert reach[layout.kinds != FORBIDDEN].all()
    env = GridWorldEnv(n_rows=n_rows, n_cols=n_cols, random_layout=True, forbidden_fraction=frac,
                       layout_seed=seed, forbidden_enterable=not walls, start="random")
    obs, _ = env.reset(seed=seed)
    # the exact optimal policy reaches the target from every start cell within S steps
    _, q, _ = value_iteration(tabular_model(env), gamma=0.9)
    s = int(obs)
    for _ in range(env.n_states):
        if s == env.target_state:
            break
        s = int(env.next_state_table[s, int(q[s].argmax())])
    assert s == env.target_state


@pytest.mark.parametrize("cell_px", [8, 32])
def test_rgb_render_shape_and_colours(cell_px: int) -> None:
    env = gym.make("rlsuite/GridWorld-v0", render_mode="rgb_array", cell_px=cell_px)
    env.reset(seed=0)
    img = env.render()
    assert img.shape == (5 * cell_px, 5 * cell_px, 3) and img.dtype == np.uint8
    centre = img[3 * cell_px + cell_px // 2, 2 * cell_px + cell_px // 2]  # the target cell (4, 3)
    assert tuple(centre) == (80, 200, 230)
    agent = img[cell_px // 2, cell_px // 2]
    assert tuple(agent) == (40, 70, 200)


def test_plot_grid_writes_png(tmp_path) -> None:
    from rlsuite.envs.plotting import plot_grid

    env = GridWorldEnv()
    v, q, _ = value_iteration(tabular_model(env))
    path = plot_grid(env, values=v, policy=q.argmax(1), path=tmp_path / "v.png", title="t")
    assert (tmp_path / "v.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path is not None


def test_large_grids_use_the_compact_model() -> None:
    env = GridWorldEnv(n_rows=100, n_cols=100, random_layout=True, forbidden_fraction=0.05, layout_seed=0)
    model = tabular_model(env)
    assert model.deterministic and model.next_states.shape == (1, 5, 10_000)
    v, q, _ = value_iteration(model, gamma=0.9, tol=1e-8)
    assert v[env.target_state] == pytest.approx(10.0, abs=1e-6)  # stay on the target forever: 1 / (1 - 0.9)
    np.testing.assert_allclose(q.max(axis=1), v, atol=1e-7)


@pytest.mark.parametrize("kwargs", [{}, {"slip_prob": 0.3}, {"slip_prob": 0.2, "terminate_at_target": True}])
def test_compact_and_dense_models_agree(kwargs: dict) -> None:
    env = GridWorldEnv(**kwargs)
    model = tabular_model(env)
    v = np.random.default_rng(0).normal(size=env.n_states)
    dense = env.expected_rewards + 0.9 * (env.transition_probs @ v)
    np.testing.assert_allclose(model.q_values(v, 0.9), dense)
    from_p = np.zeros_like(dense)
    for s in range(env.n_states):
        for a in range(env.n_actions):
            from_p[s, a] = sum(p * (r + (0.0 if d else 0.9 * v[ns])) for p, ns, r, d in env.P[s][a])
    if env.terminate_at_target:  # P drops the absorbing target's value; the dense model keeps v(target)
        from_p += 0.9 * env.transition_probs[:, :, env.target_state] * v[env.target_state]
    np.testing.assert_allclose(from_p, dense)
