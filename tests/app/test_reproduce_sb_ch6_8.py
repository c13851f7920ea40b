"""`rlsuite reproduce` for Sutton & Barto chapters 6-8: each figure's numbers against the reference implementation
(ShangtongZhang's scripts, run here with two seeds or more; the numbers and how they were obtained are in
docs/sutton_barto.md, "Bands from the reference implementation"), and against the book's stated claims.

The non-slow tests run small sizes (``--runs``) with the bands widened for them; the slow ones run the
figures' default sizes."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from rlsuite.app.cli import main
from rlsuite.app.reproduce import FIGURES
from rlsuite.app.reproduce.sutton_barto_ch6_8 import FIGURES as CH6_8

# Reference implementation, run here with numpy seeds 0 and 1 (docs/sutton_barto.md), the mean of the two:
# example 6.2's RMS error over episodes 91-100 (100 runs each), figure 6.7's % left (1000 runs each),
# figure 7.2's lowest RMS error over alpha per n (20 runs each).
REF_EX_6_2 = {"TD alpha=0.15": 0.0720, "TD alpha=0.1": 0.0555, "TD alpha=0.05": 0.0358, "MC alpha=0.01": 0.1047,
              "MC alpha=0.02": 0.0842, "MC alpha=0.03": 0.0894, "MC alpha=0.04": 0.1088}  # fmt: skip
REF_FIG_6_7 = {"q_peak": 95.6, "q_last50": 12.15, "dq_last50": 6.73}
REF_FIG_7_2_BEST = [0.3425, 0.273, 0.255, 0.2825, 0.326, 0.359, 0.4415, 0.536, 0.5475, 0.542]
# Figure 6.2 (100 runs per seed): batch TD's mean RMS error over walks 91-100; batch MC's from the reference's own
# walks (its monte_carlo) at 600 runs, averaged exactly (its repeated sweeps reach that average: docs).
REF_FIG_6_2 = {"batch TD": 0.0386, "batch MC": 0.0580}
# Example 6.5 (windy, Sarsa), 20, 20 and 100 runs (seeds 0-2), weighted by runs: total steps of 170 episodes and
# the last 10 episodes' mean length.
REF_FIG_6_3 = {"total": 8210, "last_10": 21.9}
# Example 6.6 (cliff), 50 runs per seed: mean sum of rewards over the last 100 and the first 50 episodes.
# Figure 8.2 (Dyna maze), 10 runs per seed: mean steps of episodes 2-10 (n = 0) or 2-5 (n = 5, 50), and of the
# last 10 episodes, per number of planning steps.
REF_FIG_8_2 = {0: (271, 17.3), 5: (63.2, 17.3), 50: (21.4, 16.7)}
# Figure 8.7, 100 runs per seed: RMS error after b sample updates, b = 2, 10, 100, 1000 (the reference's own
# b_steps; its picture draws the mean absolute error, which is about 0.8 x this for large b).
REF_FIG_8_7 = {2: 0.506, 10: 0.318, 100: 0.0965, 1000: 0.0325}
# The book's figure 6.3 (the reference's figure_6_6), 1 run per alpha and seed, mean of seeds 0 and 1: asymptotic
# (1000 episodes) mean sum of rewards for alpha = 0.1..1.0, and the interim (100 episodes) level averaged over alpha.
REF_FIG_6_6 = {
    "Sarsa": ([-37.1, -31.6, -30.8, -30.7, -29.8, -34.1, -41.7, -53.4, -67.7, -142.1], -83.0),
    "Expected Sarsa": ([-36.0, -29.4, -25.7, -24.8, -24.7, -24.3, -23.7, -23.2, -22.9, -23.5], -67.8),
    "Q-learning": ([-60.1, -58.3, -55.6, -52.4, -54.0, -56.0, -53.1, -52.4, -50.3, -55.8], -88.2),
}
# Figure 8.4 (blocking maze), 10 runs per seed, mean of seeds 0 and 1: cumulative reward when the maze changes
# (step 1000) and at step 3000.
REF_FIG_8_4 = {"Dyna-Q": (45.7, 92.9), "Dyna-Q+": (63.2, 137.0)}
# Figure 8.5 (shortcut maze), the reference's 5 runs per seed, mean of seeds 0 and 1: cumulative reward at the change
# (step 3000) and at 6000.
REF_FIG_8_5 = {"Dyna-Q": (136.4, 300.7), "Dyna-Q+": (136.7, 363.9)}
# Example 8.4, one run per seed (0, 1), the geometric mean: updates until the greedy path is within 1.2 x the
# shortest, on the Dyna maze scaled 1..5 times.
REF_EX_8_4 = {"prioritized sweeping": [986, 10203, 30153, 84422, 124843],
              "Dyna-Q": [6796, 21397, 70208, 137381, 240320]}
# Figure 8.8, 1000 states, b = 1, 30 tasks per seed (0, 1), the mean: start value after 20,001 expected updates.
REF_FIG_8_8 = {"on-policy": 6.90, "uniform": 7.71}
REF_FIG_6_4 = {"Sarsa": (-27.92, -108.4), "Q-learning": (-49.12, -112.0)}


def run(tmp_path: Any, name: str, *flags: str) -> dict[str, Any]:
    assert main(["reproduce", name, "--out", str(tmp_path), *flags]) == 0
    assert (tmp_path / f"{name}.png").stat().st_size > 20_000
    return json.loads((tmp_path / f"{name}.json").read_text())


def entry(data: dict[str, Any], curve: str) -> dict[str, Any]:
    return next(e for e in data["entries"] if e["curve"] == curve)


def test_list_names_the_chapter_6_8_figures(capsys) -> None:
    assert main(["reproduce", "--list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert sorted(n for n in listed if n in CH6_8) == sorted(CH6_8)  # --list orders them by chapter
    assert set(CH6_8) <= set(FIGURES)
    assert len(CH6_8) == 13


def test_ex_6_2_against_the_reference(tmp_path) -> None:
    """The book's 100 runs: each curve's mean over episodes 91-100 within 0.015 of the reference's (its two seeds
    differ by up to 0.007: a 100-run mean's s.d. is about 0.005, and 0.015 is 3 s.d. of a difference of two)."""
    data = run(tmp_path, "sb-ex-6.2")
    assert entry(data, "true values")["values"] == pytest.approx([1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6])
    assert entry(data, "values after 0 episodes")["values"] == [0.5] * 5
    for curve, level in REF_EX_6_2.items():
        got = float(np.mean(entry(data, curve)["rms_error"][-10:]))
        assert got == pytest.approx(level, abs=0.015), curve
    assert data["size"]["runs"] == 100


def test_fig_8_7_follows_the_books_formula(tmp_path) -> None:
    data = run(tmp_path, "sb-fig-8.7", "--runs", "400")
    for e in data["entries"]:
        # after b sample updates the RMS error is sqrt((b - 1) / b^2); 400 runs: within 10%
        assert e["at_b"] == pytest.approx(np.sqrt(e["b"] - 1) / e["b"], rel=0.1), e["curve"]
        if e["b"] in REF_FIG_8_7:  # the reference's 2 x 100 runs lie within 7% of the formula: 15% for both
            assert e["at_b"] == pytest.approx(REF_FIG_8_7[e["b"]], rel=0.15), e["curve"]


def test_fig_6_2_against_the_reference(tmp_path) -> None:
    """The book's 100 runs: batch TD's and batch MC's mean RMS error over walks 91-100 within 0.01 of the
    reference's (a 100-run mean varies by about 0.003); batch TD below batch MC from walk 20 on (the book)."""
    data = run(tmp_path, "sb-fig-6.2")
    td, mc = (np.array(entry(data, c)["rms_error"]) for c in ("batch TD", "batch MC"))
    for curve, y in (("batch TD", td), ("batch MC", mc)):
        assert y[90:].mean() == pytest.approx(REF_FIG_6_2[curve], abs=0.01), curve
    assert (td[19:] < mc[19:]).all()


def test_fig_6_3_against_the_reference(tmp_path) -> None:
    """20 runs, as the reference's band: 170 episodes within 300 steps of the reference's total (its 20-run means
    differ by 76; one run's total varies by about 230), the last 10 episodes within 2.5 steps of its mean length,
    at least 3x shorter than the first 10 and never below the optimal 15 (exact by value iteration)."""
    windy = run(tmp_path, "sb-fig-6.3", "--runs", "20")
    steps = np.diff([0.0, *windy["entries"][0]["cumulative_steps"]])
    assert steps.sum() == pytest.approx(REF_FIG_6_3["total"], abs=300)
    last = windy["entries"][0]["last_10_episode_length"]
    assert last == pytest.approx(REF_FIG_6_3["last_10"], abs=2.5)
    assert 15 <= last < steps[:10].mean() / 3


@pytest.mark.slow
def test_fig_6_7_against_the_reference(tmp_path) -> None:
    """Default 10,000 runs vs the reference's 2 x 1000: peak within 5 points, the last 50 episodes within 1.5
    (the reference's two seeds differ by 0.2 to 0.6 there)."""
    data = run(tmp_path, "sb-fig-6.7")
    q, dq = entry(data, "Q-learning"), entry(data, "Double Q-learning")
    assert q["peak"] == pytest.approx(REF_FIG_6_7["q_peak"], abs=5)
    assert q["last_50"] == pytest.approx(REF_FIG_6_7["q_last50"], abs=1.5)
    assert dq["last_50"] == pytest.approx(REF_FIG_6_7["dq_last50"], abs=1.5)
    assert dq["peak"] < 55 < q["peak"]  # the book: Double Q stays near 5%, Q-learning goes left far more


@pytest.mark.slow
def test_fig_7_2_against_the_reference(tmp_path) -> None:
    """Lowest RMS error per n within 0.025 of the reference's (its two 20-run seeds differ by up to 0.02);
    intermediate n (4 or 8) best, as the book says."""
    data = run(tmp_path, "sb-fig-7.2")
    best = [e["best"] for e in data["entries"]]
    np.testing.assert_allclose(best, REF_FIG_7_2_BEST, atol=0.025)
    assert data["entries"][int(np.argmin(best))]["n"] in (4, 8)


@pytest.mark.slow
def test_fig_6_4_against_the_reference(tmp_path) -> None:
    """The reference's 50 runs: the mean sum of rewards over the last 100 episodes within 2.5 of the reference's
    (Sarsa near -25 and Q-learning near -50, as the book says; the reference's two seeds differ by 0.7) and over the
    first 50 episodes within 6."""
    cliff = run(tmp_path, "sb-fig-6.4")
    for curve, (last, first) in REF_FIG_6_4.items():
        y = np.array(entry(cliff, curve)["sum_of_rewards"])
        assert entry(cliff, curve)["last_100"] == pytest.approx(last, abs=2.5), curve
        assert y[:50].mean() == pytest.approx(first, abs=6), curve


@pytest.mark.slow
def test_fig_6_6_against_the_reference(tmp_path) -> None:
    """The book's figure 6.3 at the reference's 10 runs per alpha: asymptotic levels per alpha within 2.5 of the
    reference's (Expected Sarsa: its seeds differ by 1.6 at most), 5 (Q-learning: 5.7) and 8 (Sarsa up to alpha 0.9:
    its seeds differ by 12 at 0.7; at alpha 1 Sarsa collapses, by 40 more in one seed: within 45 and below -100);
    the interim level averaged over alpha within 5; Expected Sarsa at least as good as Sarsa (the book)."""
    data = run(tmp_path, "sb-fig-6.6")
    for curve, (asymptotic, interim) in REF_FIG_6_6.items():
        ours = np.array(entry(data, curve)["asymptotic"])
        tol = {"Sarsa": 8.0, "Expected Sarsa": 2.5, "Q-learning": 5.0}[curve]
        np.testing.assert_allclose(ours[:9], asymptotic[:9], atol=tol, err_msg=curve)
        assert ours[9] == pytest.approx(asymptotic[9], abs=45 if curve == "Sarsa" else tol), curve
        assert np.mean(entry(data, curve)["interim"]) == pytest.approx(interim, abs=5), curve
    sarsa, exp = entry(data, "Sarsa"), entry(data, "Expected Sarsa")
    assert np.all(np.array(exp["asymptotic"]) >= np.array(sarsa["asymptotic"]) - 2)
    assert sarsa["asymptotic"][-1] < -100


@pytest.mark.slow
def test_dyna_figures_claims(tmp_path) -> None:
    """Figure 8.2 against the reference (30 runs vs its 2 x 10; steps per episode are heavy-tailed: one run's early
    episode varies about as much as its mean): the early episodes' mean within 100 steps (n = 0), 15 (n = 5),
    4 (n = 50), the last 10 episodes' mean within 1.5 steps of the reference's; the second
    episode takes about 800 / 160 / 40 steps (read off the book). 8.4: Dyna-Q+ gathers more reward on the blocking
    maze; 8.5: after the shortcut opens Dyna-Q+ earns faster."""
    d = run(tmp_path, "sb-fig-8.2")
    for e in d["entries"]:
        n, y = e["planning_steps"], np.array(e["steps_per_episode"])
        early, last = REF_FIG_8_2[n]
        assert y[1 : 10 if n == 0 else 5].mean() == pytest.approx(early, abs={0: 100, 5: 15, 50: 4}[n]), n
        assert e["last_10"] == pytest.approx(last, abs=1.5), n
    ep2 = {e["planning_steps"]: e["episode_2"] for e in d["entries"]}
    assert ep2[0] > 500 and 80 < ep2[5] < 300 and ep2[50] < 80
    b = run(tmp_path, "sb-fig-8.4")
    assert entry(b, "Dyna-Q+")["final"] > entry(b, "Dyna-Q")["final"]
    # the reference's 2 x 10 runs: Dyna-Q+ within 10 at the change and 15 at the end; Dyna-Q's recovery after the block
    # depends on when exploration finds the new path (rlsuite's seeds 0 and 1 differ by 25 at the end): 15 and 40
    for curve, (at_change, final) in REF_FIG_8_4.items():
        near = 10 if curve == "Dyna-Q+" else 15
        assert entry(b, curve)["at_change"] == pytest.approx(at_change, abs=near), curve
        assert entry(b, curve)["final"] == pytest.approx(final, abs=near + 5 if curve == "Dyna-Q+" else 40), curve
    s = run(tmp_path, "sb-fig-8.5")
    assert entry(s, "Dyna-Q+")["after_change_per_1000"] > entry(s, "Dyna-Q")["after_change_per_1000"] + 10
    # against the reference's 2 x 5 runs (rlsuite's 20-run means of Dyna-Q for seeds 0 and 1 differ by 10 at the
    # change; below the reference's by 10-20, not explained: docs): Dyna-Q within 25 and 30, Dyna-Q+ within 10 and 15
    for curve, (at_change, final) in REF_FIG_8_5.items():
        near = 10 if curve == "Dyna-Q+" else 25
        assert entry(s, curve)["at_change"] == pytest.approx(at_change, abs=near), curve
        assert entry(s, curve)["final"] == pytest.approx(final, abs=near + 5), curve


@pytest.mark.slow
def test_fig_8_8_claims(tmp_path) -> None:
    """The book: with 10,000 states on-policy sampling is far ahead early; with 1000 states and b = 1 uniform
    updating ends higher."""
    data = run(tmp_path, "sb-fig-8.8", "--runs", "10")
    v = {e["curve"]: e["start_value"] for e in data["entries"]}
    assert v["10000 states, b = 1, on-policy"][5] > v["10000 states, b = 1, uniform"][5] + 2
    assert v["1000 states, b = 1, uniform"][-1] > v["1000 states, b = 1, on-policy"][-1]
    # against the reference's 2 x 30 tasks: the value over tasks has s.d. about 1.3, so a 10-task mean is within 1.3
    for how, level in REF_FIG_8_8.items():
        assert v[f"1000 states, b = 1, {how}"][-1] == pytest.approx(level, abs=1.3), how


@pytest.mark.slow
def test_ex_8_4_prioritized_sweeping_needs_fewer_updates(tmp_path) -> None:
    """Example 8.4: prioritized sweeping reaches the (relaxed) optimal path with fewer updates than Dyna-Q; at the
    reference's 5 runs (seed 0: 4.5x and 3.7x fewer) the two smallest mazes show it clearly; the larger ones gain less
    (1.2-2x here) and are left to the picture."""
    data = run(tmp_path, "sb-ex-8.4")
    ps, dyna = entry(data, "prioritized sweeping")["updates"], entry(data, "Dyna-Q")["updates"]
    assert ps[0] < dyna[0] / 2 and ps[1] < dyna[1]
    # the reference's two single runs differ by up to 2.8x at one size: the 5-run mean within 2.5x of their mean
    for curve, ref in REF_EX_8_4.items():
        ratio = np.array(entry(data, curve)["updates"]) / ref
        assert ((ratio > 1 / 2.5) & (ratio < 2.5)).all(), (curve, ratio)
