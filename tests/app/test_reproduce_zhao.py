"""Zhao's chapters 2-7 figures (`rlsuite reproduce zhao-fig-C.N`): each checked against the book.

Against the numbers the book prints, to the printed digit, where it prints them (figs 2.7, 3.2, 3.5, 4.2-4.4,
5.3, 5.4, 5.6, 7.4's v*); else against the exact answer (v* from DP, the stationary distribution, the
closed-form recursion); else against the book's stated claims with fixed seeds (5.5, 7.2-7.5). Each figure
also passes the report checks of test_reproduce.py (title, labelled axes, legends outside the data).
The figures that sample a million steps or 100,000-step episodes run in the slow set.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_reproduce import figures, reproduce  # noqa: F401  (figures: the fixture)

from rlsuite.app.cli import main
from rlsuite.app.reproduce import ALIASES, FIGURES, figure_names
from rlsuite.app.reproduce.zhao_ch2_4 import FIG_2_7, FIG_3_5, FIG_4_4, TABLE_4_2, TABLE_4_3, TABLE_4_5
from rlsuite.app.reproduce.zhao_ch5_7 import FIG_5_6

# Every computed result figure of Zhao's chapters 2-7, by chapter.
CHAPTERS = {
    2: ["zhao-fig-2.7"],
    3: ["zhao-fig-3.2", "zhao-fig-3.3", "zhao-fig-3.4", "zhao-fig-3.5"],
    4: ["zhao-fig-4.2", "zhao-fig-4.3", "zhao-fig-4.4"],
    5: ["zhao-fig-5.2", "zhao-fig-5.3", "zhao-fig-5.4", "zhao-fig-5.5", "zhao-fig-5.6", "zhao-fig-5.7", "zhao-fig-5.8"],
    6: ["zhao-fig-6.3", "zhao-fig-6.4", "zhao-fig-6.5", "zhao-robbins-monro"],
    7: ["zhao-fig-7.2", "zhao-fig-7.3", "zhao-fig-7.4", "zhao-fig-7.5"],
}
GOOD_VALUES = FIG_2_7["good policy 1"][1]  # v* of the book's grid with r_forbidden = -10


def test_list_shows_every_figure_of_chapters_2_to_7_under_its_chapter(capsys) -> None:
    assert main(["reproduce", "--list"]) == 0
    groups: dict[str, list[str]] = {}
    for line in capsys.readouterr().out.splitlines():
        if line.startswith(" "):
            groups[header].append(line.split()[0])  # noqa: F821  (a header always comes first)
        else:
            header = line.rstrip(":")
            groups[header] = []
    for chapter, names in CHAPTERS.items():
        assert groups[f"Zhao, chapter {chapter}"][: len(names)] == names
    assert list(groups)[:6] == [f"Zhao, chapter {c}" for c in range(2, 8)]
    assert all(name in FIGURES for names in CHAPTERS.values() for name in names)


def test_the_old_names_still_make_their_figures(tmp_path) -> None:
    assert ALIASES == {"zhao-mc-basic-episode-length": "zhao-fig-5.4", "zhao-mc-epsilon-greedy": "zhao-fig-5.7",
                       "zhao-sgd-mean-estimation": "zhao-fig-6.5"}  # fmt: skip
    assert [figure_names(old) for old in ALIASES] == [[new] for new in ALIASES.values()]
    assert main(["reproduce", "zhao-sgd-mean-estimation", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["zhao-fig-6.5.json"]


# ----- chapters 2-4: exact, against the printed numbers -----
def test_fig_2_7_state_values_are_the_books(tmp_path, figures) -> None:  # noqa: F811
    data = reproduce(tmp_path, "zhao-fig-2.7")
    assert figures == {"zhao-fig-2.7.png": []}
    assert [e["panel"] for e in data["entries"]] == list(FIG_2_7)
    for e, (rows, book) in zip(data["entries"], FIG_2_7.values(), strict=True):
        assert e["policy"] == rows and e["values"] == book and e["matches_book"]


def test_fig_3_2_policy_improvement(tmp_path, figures) -> None:  # noqa: F811
    (e,) = reproduce(tmp_path, "zhao-fig-3.2")["entries"]
    assert figures == {"zhao-fig-3.2.png": []}
    assert e["values"] == [8.0, 10.0, 10.0, 10.0]  # v_pi(s1) = 8, the rest 10 (the book's solution)
    assert e["q_s1"] == [6.2, 8.0, 9.0, 6.2, 7.2]  # the book's q_pi(s1, a1..a5)
    assert e["improved_policy"][0].split()[0] == "D" and e["matches_book"]


def test_fig_3_3_both_policies_are_optimal(tmp_path, figures) -> None:  # noqa: F811
    data = reproduce(tmp_path, "zhao-fig-3.3")
    assert figures == {"zhao-fig-3.3.png": []}
    first, second = data["entries"]
    assert first["policy"] != second["policy"] and second["policy"][0] == [0.0, 0.5, 0.5, 0.0, 0.0]
    assert first["max_gap_to_v_star"] < 1e-9 and second["max_gap_to_v_star"] < 1e-9


def test_fig_3_5_detours_cost_through_the_discount(tmp_path, figures) -> None:  # noqa: F811
    data = reproduce(tmp_path, "zhao-fig-3.5")
    assert figures == {"zhao-fig-3.5.png": []}
    assert [e["values"] for e in data["entries"]] == [book for _, book in FIG_3_5.values()]


def test_fig_4_2_value_iteration_tables(tmp_path, figures) -> None:  # noqa: F811
    data = reproduce(tmp_path, "zhao-fig-4.2")
    assert figures == {"zhao-fig-4.2.png": []}
    k0, k1 = data["entries"]
    assert np.allclose(k0["q"], TABLE_4_2) and np.allclose(k1["q"], TABLE_4_3)
    assert np.allclose(k1["q"][0], [-1, -0.1, 0.9, -1, 0])  # table 4.3 at gamma = 0.9
    assert k0["policy"] == ["S D", "R S"] and k0["v_next"] == [0.0, 1.0, 1.0, 1.0]  # pi_1, v_1 of the book
    assert k1["policy"] == ["D D", "R S"] and k1["v_next"] == [0.9, 1.9, 1.9, 1.9]  # pi_2 (optimal), v_2


def test_fig_4_3_policy_iteration_on_two_states(tmp_path, figures) -> None:  # noqa: F811
    (e,) = reproduce(tmp_path, "zhao-fig-4.3")["entries"]
    assert figures == {"zhao-fig-4.3.png": []}
    assert e["v_pi0"] == [-10.0, -9.0] and e["first_sweeps"] == [[0, 0], [-1, 0], [-1.9, -0.9], [-2.71, -1.71]]
    assert np.allclose(e["q_pi0"], TABLE_4_5, atol=0.051) and e["pi1"] == ["right", "stay"]
    assert e["v_pi1"] == [10.0, 10.0]  # s1 enters the target: 1 + gamma * 10


def test_fig_4_4_data_policy_iteration_from_stay_everywhere() -> None:
    from rlsuite.app.reproduce.zhao_ch2_4 import _grid_env, policy_iteration_history

    history = policy_iteration_history(_grid_env(r_forbidden=-10.0))
    for k, book in FIG_4_4.items():
        assert np.round(history[k][1], 1).reshape(5, 5).tolist() == book
    assert np.round(history[-1][1], 1).reshape(5, 5).tolist() == GOOD_VALUES and len(history) == 16
    assert all((b[1] >= a[1] - 1e-9).all() for a, b in itertools.pairwise(history))


@pytest.mark.slow
def test_fig_4_4_policy_iteration_evolution(tmp_path, figures) -> None:  # noqa: F811
    data = reproduce(tmp_path, "zhao-fig-4.4")
    assert figures == {"zhao-fig-4.4.png": []}
    by_k = {e["k"]: e for e in data["entries"]}
    for k, book in FIG_4_4.items():  # the book's v_pi0, v_pi1, v_pi2
        assert by_k[k]["values"] == book
    assert by_k[0]["policy"] == ["S S S S S"] * 5
    assert data["entries"][-1]["values"] == GOOD_VALUES  # the last policy's values: v*
    assert data["values_never_fall"] and data["iterations"] == 15  # the book, with its tie-breaking: 10


# ----- chapter 5 -----
def test_fig_5_2_running_average(tmp_path, figures) -> None:  # noqa: F811
    (e,) = reproduce(tmp_path, "zhao-fig-5.2")["entries"]
    assert figures == {"zhao-fig-5.2.png": []}
    x = np.array(e["samples"])
    assert set(x) == {-1.0, 1.0} and len(x) == 200
    assert np.allclose(e["average"], np.cumsum(x) / np.arange(1, 201), atol=1e-6)
    assert abs(e["average"][-1]) < 3 / np.sqrt(200)  # within three standard errors of E[X] = 0 (seed 0)


def test_fig_5_3_mc_basic_one_iteration(tmp_path, figures) -> None:  # noqa: F811
    (e,) = reproduce(tmp_path, "zhao-fig-5.3")["entries"]
    assert figures == {"zhao-fig-5.3.png": []}
    g = 0.9
    assert np.allclose(e["q_s1"], [-1 / (1 - g), g**3 / (1 - g), g**3 / (1 - g), -1 / (1 - g), -g / (1 - g)])
    assert e["pi1"][0].split()[0] in ("R", "D")  # q(s1, a2) = q(s1, a3): the book takes either


def test_fig_5_4_data_mc_basic_matches_the_book_for_every_length() -> None:
    from rlsuite.app.reproduce.zhao import ZHAO_FIG_5_4, mc_basic_run
    from rlsuite.app.reproduce.zhao_ch2_4 import _grid_env

    env = _grid_env(r_forbidden=-10.0)
    for length, book in ZHAO_FIG_5_4.items():
        assert np.round(mc_basic_run(env, length).state_values, 1).reshape(5, 5).tolist() == book, length


@pytest.mark.slow
def test_fig_5_4_mc_basic_by_episode_length(tmp_path, figures) -> None:  # noqa: F811
    entries = reproduce(tmp_path, "zhao-fig-5.4")["entries"]
    assert figures == {"zhao-fig-5.4.png": []}
    assert [e["episode_length"] for e in entries] == [1, 2, 3, 4, 14, 15, 30, 100]
    assert all(e["matches_book"] for e in entries)  # every printed table of fig 5.4
    assert [e["states_with_nonzero_value"] for e in entries] == [5, 7, 8, 9, 24, 25, 25, 25]
    assert [e["greedy_optimal"] for e in entries][-2:] == [True, True]  # from length 30 on: optimal


def test_fig_5_6_data_values_fall_as_epsilon_grows() -> None:
    from rlsuite.app.reproduce.zhao_ch2_4 import _grid_env
    from rlsuite.app.reproduce.zhao_ch5_7 import epsilon_greedy_values

    env = _grid_env(r_forbidden=-10.0)
    values = [epsilon_greedy_values(env, eps)[1].reshape(5, 5) for eps in FIG_5_6]
    matching = [int((abs(v - np.array(b)) <= 0.051).sum()) for v, b in zip(values, FIG_5_6.values(), strict=True)]
    assert matching == [25, 24, 24, 3]  # to the printed digit
    assert np.round([values[1][4, 1], values[2][4, 1]], 1).tolist() == [2.8, -2.8]  # the book: 2.6, -3.2
    assert (np.diff(values, axis=0) < 0).all()
    # the cells that differ are the wall from (5, 2): the book charges r_boundary + r_forbidden for it
    from rlsuite.agents.tabular.solvers import policy_evaluation
    from rlsuite.app.reproduce.zhao_ch2_4 import book_bump_model

    model = book_bump_model(env)
    book_values = [policy_evaluation(model, epsilon_greedy_values(env, eps)[0], 0.9).reshape(5, 5) for eps in FIG_5_6]
    assert all((abs(v - np.array(b)) <= 0.051).all() for v, b in zip(book_values, FIG_5_6.values(), strict=True))


@pytest.mark.slow
def test_fig_5_6_epsilon_greedy_values(tmp_path, figures) -> None:  # noqa: F811
    entries = reproduce(tmp_path, "zhao-fig-5.6")["entries"]
    assert figures == {"zhao-fig-5.6.png": []}
    assert [e["epsilon"] for e in entries] == list(FIG_5_6)
    # epsilon 0, 0.1, 0.2: the book's tables but for one cell, (5, 2) (book 2.6 and -3.2); epsilon 0.5: the book's
    # table is another policy's (ours is within 1.5 of it, lower in 22 cells)
    assert [e["cells_matching_book"] for e in entries] == [25, 24, 24, 3]
    assert [e["book_wall_price"]["cells_matching_book"] for e in entries] == [25] * 4
    values = np.array([e["values"] for e in entries])
    assert (np.diff(values, axis=0) < 0).all()  # every state's value falls as epsilon grows (the book's claim)


# ----- chapter 6 -----
def test_fig_6_3_robbins_monro_with_noise(tmp_path, figures) -> None:  # noqa: F811
    (e,) = reproduce(tmp_path, "zhao-fig-6.3")["entries"]
    assert figures == {"zhao-fig-6.3.png": []}
    w, eta = np.array(e["w"]), np.array(e["noise"])
    k = np.arange(1, 51)
    assert np.allclose(w[1:], w[:-1] - 0.4 / k * (w[:-1] ** 3 - 5 + eta), atol=1e-5)  # (6.5), a_k = 0.4 / k
    assert abs(w[-1] - 5 ** (1 / 3)) < 0.1  # the root 1.71, despite N(0, 1) noise (seed 0)


def test_fig_6_4_robbins_monro_without_noise(tmp_path, figures) -> None:  # noqa: F811
    (e,) = reproduce(tmp_path, "zhao-fig-6.4")["entries"]
    assert figures == {"zhao-fig-6.4.png": []}
    w = [3.0]
    for k in range(1, 31):
        w.append(w[-1] - np.tanh(w[-1] - 1.0) / k)
    assert np.allclose(e["w"], w, atol=1e-8)
    assert (np.diff(e["w"]) < 0).all() and min(e["w"]) > 1.0  # every step moves toward the root from above


# ----- chapter 7: the book's claims with seeds -----
def test_sarsa_and_q_learning_find_a_path_from_the_start_for_most_seeds() -> None:
    """Figs 7.2, 7.3: after 500 episodes the greedy path from (1, 1) reaches the target (11 steps, the
    shortest that avoids forbidden cells); Q-learning for every seed 0..9, Sarsa for 8 of them."""
    import gymnasium as gym

    from rlsuite.agents.tabular.stream import StreamTDConfig, td_control_episodes
    from rlsuite.app.reproduce.zhao_ch5_7 import greedy_path

    env = gym.make("rlsuite/GridWorld-v0", r_target=0.0, r_forbidden=-10.0, r_boundary=-10.0, r_other=-1.0,
                   terminate_at_target=True).unwrapped  # fmt: skip
    steps = {}
    for method in ("sarsa", "q_learning"):
        steps[method] = []
        for seed in range(10):
            res = td_control_episodes(env.tabular_model, 0, env.target_state, StreamTDConfig(), method,
                                      np.random.default_rng(seed))  # fmt: skip
            path = greedy_path(env.tabular_model, res.q, 0, env.target_state)
            steps[method].append(len(path) - 1 if path[-1] == env.target_state else None)
            assert res.lengths[-50:].mean() < res.lengths[:50].mean() / 2  # episodes shorten
            assert res.total_rewards[-50:].mean() > res.total_rewards[:50].mean() / 2  # rewards rise
    assert steps["q_learning"] == [11] * 10
    assert steps["sarsa"] == [None, 11, None, 11, 11, 11, 11, 11, 11, 11]


@pytest.mark.slow
def test_fig_7_2_and_7_3_sarsa_and_q_learning(tmp_path, figures) -> None:  # noqa: F811
    sarsa = reproduce(tmp_path, "zhao-fig-7.2")["entries"][0]
    q_learning = reproduce(tmp_path, "zhao-fig-7.3")["entries"][0]
    assert figures == {"zhao-fig-7.2.png": [], "zhao-fig-7.3.png": []}
    for e in (sarsa, q_learning):
        assert len(e["lengths"]) == 500 and np.mean(e["lengths"][-50:]) < 15
    assert q_learning["greedy_path_reaches_target"] and len(q_learning["greedy_path"]) == 12


@pytest.mark.slow
def test_fig_5_5_mc_epsilon_greedy_from_single_episodes(tmp_path, figures) -> None:  # noqa: F811
    entries = reproduce(tmp_path, "zhao-fig-5.5")["entries"]
    assert figures == {"zhao-fig-5.5.png": []}
    gaps = [e["max_gap_to_optimal_eps_greedy"] for e in entries]
    # the book: the optimal 0.5-greedy policy after two iterations (here within 0.2 of its values, seed 0)
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.2


@pytest.mark.slow
def test_fig_5_8_visits_follow_the_stationary_distribution(tmp_path, figures) -> None:  # noqa: F811
    uniform, half = reproduce(tmp_path, "zhao-fig-5.8")["entries"]
    assert figures == {"zhao-fig-5.8.png": []}
    assert np.allclose(uniform["expected_visits"], 8000.0)  # uniform policy: d_pi uniform, 10^6 / 125 each
    assert np.allclose(uniform["visits"], 8000, rtol=0.07) and uniform["pairs_never_visited"] == 0
    busy = np.array(half["expected_visits"]) > 5000
    assert np.allclose(np.array(half["visits"])[busy], np.array(half["expected_visits"])[busy], rtol=0.1)
    assert max(half["visits"]) > 20 * min(half["visits"])  # epsilon = 0.5 visits some pairs rarely


@pytest.mark.slow
def test_fig_7_4_q_learning_from_a_uniform_behaviour_finds_the_optimum(tmp_path, figures) -> None:  # noqa: F811
    from rlsuite.app.reproduce.zhao import ZHAO_FIG_3_4

    v_star, *runs = reproduce(tmp_path, "zhao-fig-7.4")["entries"]
    assert figures == {"zhao-fig-7.4.png": []}
    assert v_star["matches_book"] and v_star["values"][0] == ZHAO_FIG_3_4["r_forbidden=-1"][0]
    assert [r["q0"] for r in runs] == [0.0, 10.0, 100.0]
    assert runs[0]["greedy_optimal_fraction"] == 1.0 and runs[0]["final_rmse"] < 0.01
    assert runs[1]["rmse"][runs[1]["steps"].index(10_000)] < 0.1  # q0 = 10: converged within ~10,000 steps
    assert runs[2]["rmse"][0] > 90 and runs[2]["final_rmse"] < 0.1  # q0 = 100: slower, still converges


@pytest.mark.slow
def test_fig_7_5_q_learning_from_a_non_exploratory_behaviour_does_not(tmp_path, figures) -> None:  # noqa: F811
    entries = reproduce(tmp_path, "zhao-fig-7.5")["entries"]
    assert figures == {"zhao-fig-7.5.png": []}
    start = entries[0]["rmse"][0]
    assert start == pytest.approx(7.93, abs=0.01)  # the RMSE of q = 0 against v*
    assert [e["final_rmse"] > 5.0 for e in entries] == [True] * 3  # the uniform behaviour of 7.4 reaches < 0.01
    assert entries[0]["final_rmse"] < start - 1.5  # epsilon = 0.5 still learns, slowly; epsilon = 0.1 hardly
    assert all(e["greedy_optimal_fraction"] < 1.0 for e in entries)
