"""The figure modules' helpers called at tiny sizes and read back exactly (mutation testing, issue #26): value
tables and surfaces as drawn, the book rounding, the JSON pieces, the random-walk and control helpers."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex
from test_reproduce_mutants import ax, texts  # noqa: F401  (ax: the fixture)

from rlsuite.app.reproduce import sutton_barto_ch3_5 as ch3_5
from rlsuite.app.reproduce import sutton_barto_ch6_8 as ch6_8
from rlsuite.app.reproduce._common import ReproduceOptions, _grid_env, _plt


# ----- sutton_barto_ch3_5 -----
def test_value_table_prints_each_value_as_the_book_rounds_it(ax) -> None:  # noqa: F811
    from matplotlib.patches import Rectangle

    values = np.array([[-1.75, 0.125, 2.0], [3.04, -0.05, 1.0], [0.0, 7.25, -2.5]])
    terminal = np.array([False, False, True, False, False, False, False, False, False])
    ch3_5._value_table(ax, values, "V", terminal=terminal)
    assert ax.get_xlim() == (0, 3) and ax.get_ylim() == (3, 0)
    assert ax.get_xticks().tolist() == ax.get_yticks().tolist() == [0, 1, 2, 3]
    assert [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()] == [""] * 8
    line = ax.xaxis.get_major_ticks()[0].gridline
    assert line.get_visible() and to_hex(line.get_color()) == "#4c4c4c"  # "0.3"
    assert ax.get_title() == "V" and ax.title.get_fontsize() == 9
    assert texts(ax) == [(0.5, 0.5, "-1.7", "center", "center", 8), (1.5, 0.5, "0.1", "center", "center", 8),
                         (2.5, 0.5, "2.0", "center", "center", 8), (0.5, 1.5, "3.0", "center", "center", 8),
                         (1.5, 1.5, "0.0", "center", "center", 8), (2.5, 1.5, "1.0", "center", "center", 8),
                         (0.5, 2.5, "0.0", "center", "center", 8), (1.5, 2.5, "7.3", "center", "center", 8),
                         (2.5, 2.5, "-2.5", "center", "center", 8)]  # fmt: skip
    (cell,) = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert cell.get_xy() == (2, 0) and to_hex(cell.get_facecolor()) == "#cccccc"


def test_value_table_with_another_format_prints_the_values_unrounded(ax) -> None:  # noqa: F811
    ch3_5._value_table(ax, np.array([[0.125, -1.75], [2.0, 1.0]]), "V", fmt="{:.2f}")
    assert [t[2] for t in texts(ax)] == ["0.12", "-1.75", "2.00", "1.00"]


def test_printed_rounds_halves_up_to_the_given_decimals() -> None:
    assert ch3_5._printed(np.array([-1.75, 0.25, 1.04])).tolist() == [-1.7, 0.3, 1.0]
    assert ch3_5._printed(np.array([0.125, -0.125]), 2).tolist() == [0.13, -0.12]
    assert ch3_5._printed(np.array([1.5, 2.5]), 0).tolist() == [2.0, 3.0]


def test_compare_stores_the_book_beside_our_printed_values() -> None:
    assert ch3_5._compare(np.array([[1.04, -1.75]]), [[1.0, -1.7]]) == {
        "book": [[1.0, -1.7]],
        "ours_printed": [[1.0, -1.7]],
        "matches_book": True,
    }
    assert ch3_5._compare(np.array([[0.125]]), [[0.13]], 2)["matches_book"] is True
    assert ch3_5._compare(np.array([[0.125]]), [[0.1]], 2)["matches_book"] is False


def test_env_and_uniform_values_take_their_arguments() -> None:
    env = ch3_5._env("rlsuite/GridWorld-v0", n_rows=1, n_cols=2, forbidden=[], target=(1, 2))
    assert env.n_states == 2
    # the equiprobable policy on 1x2 (target right): solved with the given discount
    v = ch3_5.grid_values_uniform(env, gamma=0.0)
    # (up, right, down, left, stay) from the left cell: -1 + 1 - 1 - 1 + 0; at the target: -1 - 1 - 1 + 0 + 1
    assert v.tolist() == pytest.approx([-0.4, -0.4])


# ----- sutton_barto_ch6_8 -----
def test_size_names_the_books_runs_and_their_source() -> None:
    assert ch6_8._size("sb-fig-6.3", 2, episodes=5) == {
        "runs": 2,
        "book": {"runs": 1, "source": "book: one run"},
        "episodes": 5,
    }


def test_axes_label_grid_and_legend(ax) -> None:  # noqa: F811
    ax.plot([0, 1], [0, 1], label="a")
    ch6_8._axes(ax, "x", "y")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x", "y")
    assert ax.xaxis.get_major_ticks()[0].gridline.get_alpha() == 0.3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a"]


def test_rng_and_make_follow_their_arguments() -> None:
    opts = ReproduceOptions(seed=4)
    assert ch6_8._rng(opts).random() == np.random.default_rng([4, 0]).random()
    assert ch6_8._rng(opts, 2).random() == np.random.default_rng([4, 2]).random()
    assert ch6_8._make("rlsuite/GridWorld-v0", n_rows=1, n_cols=2, forbidden=[], target=(1, 2)).unwrapped.n_states == 2


@pytest.mark.parametrize("n", [5, 19])
def test_walk_is_the_random_walk_of_n_states(n: int) -> None:
    env, _, policy, truth = ch6_8._walk(n)
    assert env.unwrapped.n_states == n + 2 and policy.tolist() == [[0.5, 0.5]] * (n + 2)
    inside = np.arange(1, 6) / 6 if n == 5 else np.arange(-18, 19, 2) / 20  # rewards 0, 1 / -1, 1 at the ends
    assert truth.tolist() == pytest.approx([0.0, *inside, 0.0])


def test_prediction_curves_start_from_zero_at_both_ends() -> None:
    """Terminal values 0, the others ``initial``: the first error is that of ``initial`` everywhere inside."""
    opts = ReproduceOptions(seed=0)
    for batch in (False, True):
        rms = ch6_8._prediction_curves([("TD", 1, 0.1), ("MC", None, 0.1)], 2, 2, opts, 0.5, batch=batch)
        truth = np.arange(1, 6) / 6
        assert rms["TD"][0] == pytest.approx(np.sqrt(((0.5 - truth) ** 2).mean()))
        again = ch6_8._prediction_curves([("TD", 1, 0.1), ("MC", None, 0.1)], 2, 2, opts, 0.5, batch=batch, salt=0)
        assert {k: v.tolist() for k, v in rms.items()} == {k: v.tolist() for k, v in again.items()}
        salted = ch6_8._prediction_curves([("TD", 1, 0.1), ("MC", None, 0.1)], 2, 2, opts, 0.5, batch=batch, salt=1)
        assert salted["TD"].tolist() != rms["TD"].tolist()  # another salt, other episodes


def test_control_takes_only_the_actions_a_state_offers() -> None:
    """The maximization-bias MDP's A offers 2 of B's 10 actions: the first action is always one of them."""
    env = ch6_8._make("rlsuite/MaximizationBias-v0")
    res = ch6_8._control(env, "q_learning", 20, 5, 0.1, np.random.default_rng(0))
    assert set(np.unique(res.first_actions).tolist()) == {0, 1}


# ----- zhao_ch8_10, zhao_ch5_7, zhao -----
def test_surface_draws_the_values_over_column_and_row() -> None:
    from rlsuite.app.reproduce.zhao_ch8_10 import _sampled, _surface

    plt = _plt()
    fig = plt.figure()
    ax3 = fig.add_subplot(projection="3d")
    _surface(ax3, np.array([[1.0, 2.0, 3.0], [4.0, 5.0, -6.0]]), "S")
    assert (ax3.get_xlabel(), ax3.get_ylabel(), ax3.get_zlabel()) == ("column", "row", "state value")
    assert ax3.get_title() == "S" and ax3.title.get_fontsize() == 9 and ax3.yaxis_inverted()
    assert ax3.xy_dataLim.intervalx.tolist() == [1, 3] and ax3.xy_dataLim.intervaly.tolist() == [1, 2]
    assert ax3.zz_dataLim.intervalx.tolist() == [-6, 5]
    (surface,) = ax3.collections
    assert surface.get_cmap().name == "viridis" and surface.get_linewidth().tolist() == [0.3]
    assert to_hex(surface.get_edgecolor()[0]) == "#000000"
    plt.close(fig)
    assert _sampled(ReproduceOptions(seed=7)) == {"seed": 7, "seed_dependent": True}


def test_optimal_epsilon_greedy_uses_the_given_discount() -> None:
    from rlsuite.agents.tabular.solvers import policy_evaluation
    from rlsuite.app.reproduce.zhao_ch5_7 import _optimal_epsilon_greedy

    model = _grid_env(n_rows=1, n_cols=2, forbidden=[], target=(1, 2)).unwrapped.tabular_model
    pi, v = _optimal_epsilon_greedy(model, 0.5, gamma=0.5)
    assert pi.argmax(axis=1).tolist() == [1, 4]  # right, then stay at the target
    assert v.tolist() == pytest.approx(policy_evaluation(model, pi, 0.5).tolist())
    assert pi.max() == pytest.approx(0.5 + 0.5 / 5)
    # 1x3, forbidden middle (r = -1), target right, gamma 0.3: the walk through the forbidden cell costs
    # -1 + 0.3 / 0.7 < 0, so the left cell stays (with gamma 0.9 it would walk)
    model = _grid_env(n_rows=1, n_cols=3, forbidden=[(1, 2)], target=(1, 3), r_forbidden=-1.0).unwrapped.tabular_model
    pi, v = _optimal_epsilon_greedy(model, 0.0, gamma=0.3)
    assert pi.argmax(axis=1).tolist() == [4, 1, 4] and v.tolist() == pytest.approx([0.0, 1 / 0.7, 1 / 0.7])
    # on 2x2 (target bottom right) right and down tie from the top left: a tie keeps the action it has (down)
    model = _grid_env(n_rows=2, n_cols=2, forbidden=[], target=(2, 2)).unwrapped.tabular_model
    assert _optimal_epsilon_greedy(model, 0.1)[0].argmax(axis=1).tolist() == [2, 2, 1, 4]


def test_greedy_path_stops_at_the_target_or_after_max_steps() -> None:
    from rlsuite.app.reproduce.zhao_ch5_7 import greedy_path

    model = _grid_env(n_rows=1, n_cols=4, forbidden=[], target=(1, 4)).unwrapped.tabular_model
    right = np.tile(np.eye(5)[1], (4, 1))  # right everywhere, the target too (it bumps into the wall there)
    assert greedy_path(model, right, 0, 3) == [0, 1, 2, 3]
    assert greedy_path(model, right, 0, 2) == [0, 1, 2]  # the target ends it, though its action moves on
    assert greedy_path(model, right, 0, 3, max_steps=2) == [0, 1, 2]


def test_mc_basic_run_learns_for_the_given_iterations() -> None:
    from rlsuite.agents.tabular.mc import MCBasic, MCBasicConfig
    from rlsuite.app.reproduce.zhao import mc_basic_run

    env = _grid_env(n_rows=2, n_cols=2, forbidden=[(1, 2)], target=(2, 2))
    agent = mc_basic_run(env, 2, iterations=1)
    once = MCBasic(env, MCBasicConfig(episode_length=2))
    once.learn(1)
    assert agent.state_values.tolist() == once.state_values.tolist()
    assert agent.policy.tolist() == once.policy.tolist()
    assert agent.state_values.round(6).tolist() == [0.0, 0.1, 0.1, 0.1]  # one iteration: 2 steps seen, not yet v*
