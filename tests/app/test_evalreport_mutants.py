"""rlsuite.app.evalreport.from_sb3 to the letter: the SB3 report in the shared keys (mutation testing)."""

from __future__ import annotations

import math

from rlsuite.app.evalreport import GAP_TOLERANCE, from_sb3

REPORT = {"algo": "ppo", "env_id": "E-v0", "episodes": 5, "return_mean": 1.5, "return_std": 2.0,
          "returns": [1.0] * 5, "lengths": [3] * 5}  # fmt: skip


def test_returns_and_lengths_are_left_out_and_the_se_uses_n_minus_one() -> None:
    assert from_sb3(REPORT) == {"algo": "ppo", "env_id": "E-v0", "episodes": 5, "return_mean": 1.5,
                                "return_std": 2.0, "return_se": 1.0}  # fmt: skip
    assert from_sb3({**REPORT, "episodes": 2})["return_se"] == 2.0
    assert from_sb3({**REPORT, "episodes": 3})["return_se"] == 2.0 / math.sqrt(2)


def test_one_episode_has_no_se() -> None:
    assert from_sb3({**REPORT, "episodes": 1, "return_std": 0.0})["return_se"] is None


def test_the_optimum_is_flattened() -> None:
    optimum = {"gamma": 0.9, "optimal_return_mean": 7.0, "max_value_gap": 0.25, "optimal_action_fraction": 0.75,
               "v_star_start": 5.0, "v_pi_start": 4.5, "value_gap_start": 1e-9}  # fmt: skip
    out = from_sb3({**REPORT, "optimum": optimum})
    assert out == {"algo": "ppo", "env_id": "E-v0", "episodes": 5, "return_mean": 1.5, "return_std": 2.0,
                   "return_se": 1.0, "gamma": 0.9, "optimal_return_mean": 7.0, "gap_to_optimum_max": 0.25,
                   "v_star_start": 5.0, "v_pi_start": 4.5, "gap_to_optimum_start": 0.0,
                   "gap_tolerance": GAP_TOLERANCE, "optimal_action_fraction": 0.75}  # fmt: skip
    assert GAP_TOLERANCE == 1e-6


def test_the_printed_summary_of_one_episode_to_the_letter() -> None:
    """One episode (no standard error), the optimal policy's return, a gap of 0 printed as 0 and one of 0.25."""
    from rlsuite.app.evalreport import summary

    report = {"algo": "ppo", "env_id": "rlsuite/GridWorld-v0", "run_dir": "runs/a", "timesteps": 2048,
              "return_mean": 1.5, "return_se": None, "episodes": 1, "optimal_return_mean": 2.0,
              "gap_to_optimum_max": 0.25, "gap_to_optimum_mean": 0.0, "gamma": 0.9, "gap_tolerance": 1e-6}  # fmt: skip
    assert [" ".join(line.split()) for line in summary(report, "runs/a/eval.json")] == [
        "ppo on rlsuite/GridWorld-v0, run runs/a (2048 env steps)",
        "greedy return 1.500 (one episode: no SE) over 1 episodes; the optimal policy 2.000",
        "gap to the optimum v* - v_pi (exact, gamma 0.9): max over states 0.25, mean 0 (0 means below 1e-06)",
        "full report: runs/a/eval.json"]  # fmt: skip


def test_a_negative_zero_gap_prints_as_0() -> None:
    from rlsuite.app.evalreport import _num

    assert (_num(-0.0), _num(0.0), _num(0.000123456)) == ("0", "0", "0.0001235")
