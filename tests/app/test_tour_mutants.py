"""rlsuite.app.tour's parts, exactly and fast: each section's headline and table from given numbers, the fallback
line, the figures found in the numbers and their captions, the options' checks, the tour's run of its sections
(files, resume, --only, what it prints), and the three sections it defines itself (grid world, bandit, approx) with
their numbers recomputed independently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from figure_checks import record_saved_figures

from rlsuite.app import console, tour
from rlsuite.app.tour import (
    CAPTIONS,
    HEADLINES,
    SECTIONS,
    TourOptions,
    _align_headline,
    _approx_headline,
    _bandit_headline,
    _captions,
    _figures,
    _gridworld_headline,
    _headline,
    _sb3_headline,
    _tabular_headline,
    _vision_headline,
    _zero,
)
from rlsuite.common.errors import ConfigError


def test_sections_and_headlines_are_named_in_order() -> None:
    assert list(SECTIONS) == ["gridworld", "bandit", "tabular", "approx", "sb3", "align", "vision"]
    assert SECTIONS["tabular"] == ("tabular agents", "rlsuite.app.train_tabular:tour_section")
    assert SECTIONS["gridworld"] == ("grid world, solved exactly", "rlsuite.app.tour:gridworld_section")
    assert list(HEADLINES) == list(SECTIONS)
    for key, (_, target) in SECTIONS.items():
        assert callable(tour._load(target)), key
    assert tour._load("rlsuite.app.tour:_zero") is _zero


def test_zero_rounds_below_a_millionth() -> None:
    assert [_zero(x) for x in (0.0, 9.99e-7, -9.99e-7, 1e-6, -2e-6, 0.123456, 1234.5)] == [
        "0", "0", "0", "1e-06", "-2e-06", "0.123", "1.23e+03"]  # fmt: skip


def test_figures_are_found_at_any_depth_once_each_in_order() -> None:
    numbers = {"a": "x.png", "b": ["y.png", {"c": "z.png", "d": 3}], "e": "not a figure", "f": ("t.png",),
               "g": 1.5, "h": None, "i": ["x.png"]}  # fmt: skip
    assert _figures(numbers) == ["x.png", "y.png", "z.png", "x.png"]
    assert _figures("only.png") == ["only.png"] and _figures("only.txt") == [] and _figures(7) == []
    assert _captions({"s": numbers}) == (
        "\n## Figures\n\n"
        "- `x.png`: figure of the section above.\n"
        "- `y.png`: figure of the section above.\n"
        "- `z.png`: figure of the section above.\n"
    )
    assert _captions({"s": {"figure": "gridworld_frame.png"}}) == (
        f"\n## Figures\n\n- `gridworld_frame.png`: {CAPTIONS['gridworld_frame.png']}\n"
    )
    assert _captions({"s": {"n": 1}}) == ""


def test_gridworld_headline() -> None:
    numbers = {"r=-1": {"v*": [[5.8, 1.0]], "sweeps": 12}, "other": 3, "r=-10": {"v*": [[3.5]], "sweeps": 7},
               "no v": {"sweeps": 1}}  # fmt: skip
    assert _gridworld_headline(numbers) == ("value iteration: v*(start) 5.8 at r=-1 (12 sweeps); v*(start) 3.5 at "
                                            "r=-10 (7 sweeps)", [])  # fmt: skip


def test_bandit_headline() -> None:
    numbers = {"runs": 20, "final average reward (last 100 steps)": {"epsilon=0.0": 1.0, "epsilon=0.1": 1.314,
                                                                     "epsilon=0.01": 1.2}}  # fmt: skip
    assert _bandit_headline(numbers) == (
        "reward per step over the last 100 steps by epsilon (20 runs) 0.0: 1.00, 0.1: 1.31, 0.01: 1.20; "
        "best epsilon=0.1", [])  # fmt: skip
    numbers["final average reward (last 100 steps)"] = {"epsilon=0.1": 0.5, "epsilon=0.0": 1.5, "epsilon=0.01": 0.9}
    assert _bandit_headline(numbers)[0].endswith("; best epsilon=0.0")  # the highest reward, not the last name


def test_tabular_headline_and_table() -> None:
    numbers = {
        "Q-learning": {"budget": "2000 steps", "max |v - v*|": 0.5, "states with an optimal greedy action": "96%"},
        "policy iteration": {"budget": "5 iterations", "max |v - v*|": 1e-9,
                             "states with an optimal greedy action": "100%"},
        "figures": ["a.png"], "seconds": 2.0,
    }  # fmt: skip
    head, table = _tabular_headline(numbers)
    assert head == "policy iteration: optimal in 5 iterations, max |v - v*| 0"
    widths = "{:<16}  {:>18}  {:>12}  {:>14}"  # the longest agent name: 16 characters
    assert table == [
        "agent" + " " * 11 + "  " + " " * 9 + "work done  max |v - v*|  optimal states",
        widths.format("Q-learning", "2000 steps", "0.5", "96%"),
        widths.format("policy iteration", "5 iterations", "0", "100%"),
    ]
    assert table[2] == "policy iteration" + " " * 8 + "5 iterations" + " " * 13 + "0" + " " * 12 + "100%"
    del numbers["policy iteration"]
    assert _tabular_headline(numbers)[0] == "tabular agents against the exact optimum"
    assert (
        _tabular_headline(numbers)[1][0]
        == "agent" + " " * 5 + "  " + " " * 9 + "work done  max |v - v*|  optimal states"
    )


def test_approx_headline_names_the_closest() -> None:
    gap = "gap to v* (max_s v* - v_pi)"
    numbers = {"a": {gap: 0.3}, "b": {gap: -2e-9}, "c": {gap: 0.1}, "TD": {"RMSE": 1.0}, "figures": ["x.png"]}
    assert _approx_headline(numbers) == ("closest to v*: b, max_s v* - v_pi 0 (3 agents)", [])
    assert _approx_headline({"a": {gap: 0.25}})[0] == "closest to v*: a, max_s v* - v_pi 0.25 (1 agents)"


def test_sb3_headline() -> None:
    run = {"return_mean": 4.26, "optimal_return_mean": 5.84, "optimal_action_fraction": 0.875}
    assert _sb3_headline({"budget": 4096, "ppo": run, "dqn": {**run, "return_mean": -1.0}}) == (
        "after 4096 env steps: PPO greedy return 4.3 (optimal 5.8), optimal actions in 88% of states; DQN greedy "
        "return -1.0 (optimal 5.8), optimal actions in 88% of states", [])  # fmt: skip
    assert _sb3_headline({"budget": 8, "dqn": run})[0].startswith("after 8 env steps: DQN greedy return 4.3")


def test_align_headline_and_table() -> None:
    numbers = {"methods": {"dpo": {"reward": 1.234, "win_rate_vs_sft": 0.5, "kl_to_sft": 2.345},
                           "rlhf_ppo": {"reward": -0.5, "win_rate_vs_sft": 0.25, "kl_to_sft": 10.0}},
               "reward_kind": "gold reward", "report": "align/report.md"}  # fmt: skip
    assert _align_headline(numbers) == (
        "2 methods on the embedded model, scored by the gold reward; report align/report.md",
        ["method     reward  win vs SFT  KL to SFT", "dpo         +1.23        0.50       2.35",
         "rlhf_ppo    -0.50        0.25      10.00"],
    )  # fmt: skip


def test_vision_headline() -> None:
    numbers = {"AP50 (held-out random layouts)": 0.875, "DetectionPolicy success (random solvable layouts)": 1.0}
    assert _vision_headline(numbers) == ("grid detector AP50 0.88 held out; DetectionPolicy success 1.00", [])


def test_headline_adds_the_seconds_and_falls_back_to_the_figures() -> None:
    assert _headline("vision", {"AP50 (held-out random layouts)": 0.5,
                                "DetectionPolicy success (random solvable layouts)": 0.25, "seconds": 12.6}) == (
        "grid detector AP50 0.50 held out; DetectionPolicy success 0.25 (13 s)", [])  # fmt: skip
    assert _headline("vision", {"figures": ["a.png", "b.png", "a.png"], "seconds": 3.4}) == (
        "done, 2 figures (3 s)",
        [],
    )
    assert _headline("bandit", {"figure": "a.png"}) == ("done, 1 figure (0 s)", [])
    assert _headline("sb3", {"budget": 1, "ppo": "not a mapping"}) == ("done (0 s)", [])  # TypeError
    assert _headline("approx", {"seconds": 1.0}) == ("done (1 s)", [])  # ValueError: min() of nothing
    assert _headline("gridworld", {"r": {"v*": "x", "sweeps": 1}, "seconds": 0}) == (
        "value iteration: v*(start) x at r (1 sweeps) (0 s)", [])  # fmt: skip
    assert _headline("align", {"methods": {"m": {"reward": None}}}) == ("done (0 s)", [])  # TypeError in a format
    with pytest.raises(KeyError):
        HEADLINES["nothing"]


def test_tour_options_are_checked() -> None:
    opts = TourOptions()
    assert (opts.out, opts.quick, opts.only, opts.resume, opts.overwrite) == ("tour", False, None, False, False)
    assert TourOptions(only=["bandit", "gridworld"]).only == ["bandit", "gridworld"]
    with pytest.raises(ConfigError) as info:
        TourOptions(only=["maze"])
    sections = "gridworld, bandit, tabular, approx, sb3, align, vision"
    assert str(info.value) == f"TourOptions.only: unknown section 'maze' (sections: {sections})"
    assert (info.value.field, info.value.value) == ("only", ["maze"])
    with pytest.raises(ConfigError) as info:
        TourOptions(only=[])
    assert (str(info.value), info.value.field, info.value.value) == ("TourOptions.only: names no section", "only", [])
    with pytest.raises(ConfigError, match=r"only.*unknown section 'maze' \(sections: gridworld, bandit, tabular, "
                                          r"approx, sb3, align, vision\)"):  # fmt: skip
        TourOptions(only=["bandit", "maze", "nope"])
    with pytest.raises(ConfigError, match=r"only.*names no section"):
        TourOptions(only=[])


# --- the tour's run of its sections ------------------------------------------------------------------------

CALLS: list[tuple[str, Path, bool]] = []


def _grid(out: Path, quick: bool) -> dict[str, Any]:
    CALLS.append(("gridworld", out, quick))
    (out / "g.png").write_bytes(b"png")
    return {"r=-1": {"v*": [[5.8]], "sweeps": 3}, "figures": ["g.png"]}


def _bandit(out: Path, quick: bool) -> dict[str, Any]:
    CALLS.append(("bandit", out, quick))
    return {"runs": 2, "final average reward (last 100 steps)": {"epsilon=0.1": 1.5}, "figure": "gridworld_frame.png"}


@pytest.fixture
def two_sections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Path, bool]]:
    """The tour with two fast sections of this module in the places of gridworld and bandit."""
    monkeypatch.setitem(SECTIONS, "gridworld", ("grid section", f"{__name__}:_grid"))
    monkeypatch.setitem(SECTIONS, "bandit", ("bandit section", f"{__name__}:_bandit"))
    CALLS.clear()
    return CALLS


def test_the_tour_command_line(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli("--help")
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "the tour of rlsuite on its embedded defaults (the README's main job)" in " ".join(out.split())
    with pytest.raises(SystemExit):
        cli("tour", "--help")
    out = capsys.readouterr().out
    assert (
        "Solve Zhao's grid world exactly, play the 10-armed testbed, train tabular and SB3 agents against the exact "
        "optimum, compare RLHF with DPO, and run the vision defaults; figures and numbers go to --out."
    ) in " ".join(out.split())
    assert "--config" not in out  # the tour takes no config file
    code, _, err = cli("tour", "--config", "x.yaml")
    assert code == 2 and "--config" in err


def test_the_tour_runs_its_sections_and_writes_its_files(cli: Any, tmp_path: Path, two_sections: list[Any]) -> None:
    code, out, err = cli("tour", "--quick", "--out", "t", "--only", "bandit", "gridworld")
    assert "grid section    value iteration: v*(start) 5.8 at r=-1 (3 sweeps) (0 s)" in err.splitlines()
    folder = (tmp_path / "t").resolve()
    assert code == 0 and two_sections == [("gridworld", folder, True), ("bandit", folder, True)]  # the tour's order
    results = json.loads((folder / "results.json").read_text())
    assert list(results) == ["grid section", "bandit section"]
    assert results["grid section"]["figures"] == ["g.png"] and results["grid section"]["seconds"] >= 0
    for key, title in (("gridworld", "grid section"), ("bandit", "bandit section")):
        assert json.loads((folder / "sections" / f"{key}.json").read_text()) == results[title]
    summary = (folder / "summary.md").read_text()
    assert summary.startswith("# rlsuite tour\n\n(quick budgets)\n\n")
    assert summary.endswith("\n## Figures\n\n- `g.png`: figure of the section above.\n"
                            f"- `gridworld_frame.png`: {CAPTIONS['gridworld_frame.png']}\n")  # fmt: skip
    finished = json.loads((folder / "finished.json").read_text())
    assert finished["sections"] == ["gridworld", "bandit"] and finished["quick"] is True
    text = " ".join((out + err).split())
    assert "value iteration: v*(start) 5.8 at r=-1 (3 sweeps) (0 s)" in text
    assert "by epsilon (2 runs) 0.1: 1.50; best epsilon=0.1 (0 s)" in text
    assert f"The tour's results (summary.md, results.json, PNG figures) are in {folder}" in " ".join(out.split())
    assert (folder / "log.txt").is_file()


def test_a_tour_resumes_after_its_finished_sections(cli: Any, tmp_path: Path, two_sections: list[Any]) -> None:
    folder = (tmp_path / "t").resolve()
    (folder / "sections").mkdir(parents=True)
    (folder / "sections" / "gridworld.json").write_text(json.dumps({"kept": 1}))
    code, _, err = cli("tour", "--out", "t", "--only", "gridworld", "bandit", "--resume")
    assert code == 0 and [c[0] for c in two_sections] == ["bandit"]
    results = json.loads((folder / "results.json").read_text())
    assert results["grid section"] == {"kept": 1}
    assert "grid section    finished earlier, kept" in err.splitlines()
    from rlsuite.app.reports import markdown

    assert (folder / "summary.md").read_text().startswith("# rlsuite tour\n\n" + markdown(results))
    assert json.loads((folder / "finished.json").read_text())["quick"] is False
    # a finished tour is not run again over itself
    code, _, err = cli("tour", "--out", "t", "--only", "gridworld", "bandit")
    assert code != 0 and [c[0] for c in two_sections] == ["bandit"]
    code, _, _ = cli("tour", "--out", "t", "--only", "bandit", "--overwrite")
    assert code == 0 and [c[0] for c in two_sections] == ["bandit", "bandit"]
    assert list(json.loads((folder / "results.json").read_text())) == ["bandit section"]


def test_a_tour_without_resume_runs_a_section_saved_before(cli: Any, tmp_path: Path, two_sections: list[Any]) -> None:
    folder = (tmp_path / "t").resolve()
    (folder / "sections").mkdir(parents=True)
    (folder / "sections" / "gridworld.json").write_text(json.dumps({"kept": 1}))
    code, _, _ = cli("tour", "--out", "t", "--only", "gridworld", "--overwrite")
    assert code == 0 and [c[0] for c in two_sections] == ["gridworld"]
    assert json.loads((folder / "sections" / "gridworld.json").read_text())["figures"] == ["g.png"]


# --- the sections defined in tour.py -----------------------------------------------------------------------


def test_gridworld_section(tmp_path: Path) -> None:
    import gymnasium as gym

    from rlsuite.agents.tabular.dp import value_iteration
    from rlsuite.envs.model import tabular_model

    numbers = tour.gridworld_section(tmp_path, quick=True)
    assert list(numbers) == ["r_forbidden=-1", "r_forbidden=-10"]
    for name, kwargs in (("r_forbidden=-1", {}), ("r_forbidden=-10", {"r_forbidden": -10.0})):
        v, _, sweeps = value_iteration(tabular_model(gym.make("rlsuite/GridWorld-v0", **kwargs)), gamma=0.9)
        assert numbers[name]["v*"] == np.round(v.reshape(5, 5), 1).tolist() and numbers[name]["sweeps"] == sweeps
    assert numbers["r_forbidden=-1"]["v*"][0][0] == 5.8 and numbers["r_forbidden=-10"]["v*"][0][0] == 3.5
    assert numbers["r_forbidden=-1"]["figures"] == ["gridworld_optimal_r_forbiddenm1.png", "gridworld_frame.png"]
    assert numbers["r_forbidden=-10"]["figures"] == ["gridworld_optimal_r_forbiddenm10.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["gridworld_optimal_r_forbiddenm1.png", "gridworld_frame.png", "gridworld_optimal_r_forbiddenm10.png"]
    )


def test_gridworld_frame_is_the_envs_render_at_seed_0(tmp_path: Path) -> None:
    import gymnasium as gym
    import matplotlib.image

    from rlsuite.common import plotting

    drawn: list[Any] = []
    save = plotting.save_figure
    tour.gridworld_section(tmp_path, quick=False)
    env = gym.make("rlsuite/GridWorld-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    try:
        plotting.save_figure = lambda fig, path: (drawn.append(fig), save(fig, path))[1]
        tour._frame(frame, tmp_path / "again.png")
    finally:
        plotting.save_figure = save
    (ax,) = drawn[0].axes
    assert np.array_equal(ax.images[0].get_array(), frame)
    assert ax.get_xlabel() == "x (pixels)" and ax.get_ylabel() == "y (pixels)"
    assert ax.get_title().startswith("rlsuite/GridWorld-v0 render() at reset(seed=0)\n")
    assert tuple(drawn[0].get_size_inches()) == (4.2, 4.6)
    assert matplotlib.image.imread(tmp_path / "again.png").shape == matplotlib.image.imread(
        tmp_path / "gridworld_frame.png").shape  # fmt: skip


def test_bandit_section_quick(tmp_path: Path) -> None:
    import gymnasium as gym

    from rlsuite.agents.tabular.bandit import EpsilonGreedyBandit, EpsilonGreedyBanditConfig

    numbers = tour.bandit_section(tmp_path, quick=True)
    finals = {}
    for eps in (0.0, 0.01, 0.1):
        envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=200, vectorization_mode="vector_entry_point")
        history = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=eps)).learn(500, seed=0)
        finals[f"epsilon={eps}"] = round(float(history["average_reward"][-100:].mean()), 3)
    assert numbers == {"runs": 200, "steps": 500, "final average reward (last 100 steps)": finals,
                       "figure": "bandit_average_reward.png"}  # fmt: skip
    assert (tmp_path / "bandit_average_reward.png").is_file()


def test_approx_section_quick(tmp_path: Path) -> None:
    import gymnasium as gym

    from rlsuite.agents.approx import QAC, TDLinear
    from rlsuite.agents.approx.linear import TDLinearConfig

    numbers = tour.approx_section(tmp_path, quick=True)
    gap = "gap to v* (max_s v* - v_pi)"
    assert {k: v["budget"] for k, v in numbers.items() if isinstance(v, dict)} == {
        "Q-learning, linear (one-hot), uniform behaviour": "100 episodes",
        "deep Q-learning, one 1000-step episode": "500 iterations",
        "off-policy actor-critic": "150 episodes",
        "QAC": "150 episodes",
        "TD-Linear, Fourier q = 3": "100 episodes",
    }
    assert numbers["figures"] == ["approx_gap_to_optimum.png"] and (tmp_path / "approx_gap_to_optimum.png").is_file()
    env = gym.make("rlsuite/GridWorld-v0")
    last = QAC(env, QAC.config_cls(log_every=10)).learn(150, seed=0).last()
    assert numbers["QAC"] == {"budget": "150 episodes", gap: float(f"{last['gap_to_optimum']:.3g}"),
                              "states with an optimal greedy action": f"{last['optimal_fraction']:.0%}"}  # fmt: skip
    rmse = TDLinear(env, TDLinearConfig(features="fourier", order=3)).learn(100, seed=0)["rmse"]
    assert numbers["TD-Linear, Fourier q = 3"] == {"budget": "100 episodes", "RMSE to v_pi first": round(
        float(rmse[0]), 3), "RMSE to v_pi last": round(float(rmse[-1]), 3)}  # fmt: skip
    for label in ("Q-learning, linear (one-hot), uniform behaviour", "deep Q-learning, one 1000-step episode",
                  "off-policy actor-critic"):  # fmt: skip
        assert abs(numbers[label][gap]) < 1e-6 and numbers[label]["states with an optimal greedy action"] == "100%"


def test_gridworld_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gymnasium as gym

    from rlsuite.agents.tabular.dp import value_iteration
    from rlsuite.envs.model import tabular_model
    from rlsuite.envs.plotting import plot_grid

    drawn = record_saved_figures(monkeypatch)
    tour.gridworld_section(tmp_path, quick=False)
    (ax,) = drawn["gridworld_frame.png"].axes
    assert ax.get_title() == ("rlsuite/GridWorld-v0 render() at reset(seed=0)\n(agent at the start; the same layout "
                              "for any r_forbidden)")  # fmt: skip
    assert ax.title.get_fontsize() == 8
    env = gym.make("rlsuite/GridWorld-v0", render_mode="rgb_array", r_forbidden=-10.0)
    v, q, _ = value_iteration(tabular_model(env), gamma=0.9)
    plot_grid(env, values=v, policy=q.argmax(axis=1), path=tmp_path / "again.png",
              title="optimal v* and greedy policy\n(value iteration, gamma 0.9, r_forbidden=-10)")  # fmt: skip
    got, want = drawn["gridworld_optimal_r_forbiddenm10.png"].axes[0], drawn["again.png"].axes[0]
    assert (
        got.get_title()
        == want.get_title()
        == "optimal v* and greedy policy\n(value iteration, gamma 0.9, r_forbidden=-10)"
    )
    assert [t.get_text() for t in got.texts] == [t.get_text() for t in want.texts] and got.texts  # the values
    assert len(got.patches) == len(want.patches) and len(got.collections) == len(want.collections)  # the arrows
    assert [type(p).__name__ for p in got.patches] == [type(p).__name__ for p in want.patches]


def test_the_full_budgets_of_the_bandit_and_approx_sections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gymnasium as gym

    from rlsuite.agents.approx import QAC, DeepQLearning, LinearQLearning, OffPolicyAC, TDLinear
    from rlsuite.agents.approx.linear import LinearQLearningConfig, TDLinearConfig
    from rlsuite.agents.tabular.bandit import EpsilonGreedyBandit, EpsilonGreedyBanditConfig

    drawn = record_saved_figures(monkeypatch)
    numbers = tour.bandit_section(tmp_path, quick=False)
    assert (numbers["runs"], numbers["steps"]) == (2000, 1000)
    (ax,) = drawn["bandit_average_reward.png"].axes
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "step (pulls per run)", "average reward per step\n(mean over runs)",
        "10-armed testbed: epsilon-greedy, sample averages (2000 runs, seed 0)")  # fmt: skip
    envs = gym.make_vec("rlsuite/KArmedBandit-v0", num_envs=2000, vectorization_mode="vector_entry_point")
    history = EpsilonGreedyBandit(envs, EpsilonGreedyBanditConfig(epsilon=0.1)).learn(1000, seed=0)
    assert numbers["final average reward (last 100 steps)"]["epsilon=0.1"] == round(
        float(history["average_reward"][-100:].mean()), 3)  # fmt: skip

    numbers = tour.approx_section(tmp_path, quick=False)
    assert {k: v["budget"] for k, v in numbers.items() if isinstance(v, dict)} == {
        "Q-learning, linear (one-hot), uniform behaviour": "200 episodes",
        "deep Q-learning, one 1000-step episode": "1000 iterations",
        "off-policy actor-critic": "300 episodes",
        "QAC": "300 episodes",
        "TD-Linear, Fourier q = 3": "200 episodes",
    }
    fig = drawn["approx_gap_to_optimum.png"]
    assert fig._suptitle.get_text() == "Zhao ch. 8-10 agents on the grid world vs the exact optimum (gamma = 0.9)"
    assert fig.axes[-1].get_xlabel() == "fraction of the budget"
    env = gym.make("rlsuite/GridWorld-v0")
    onehot = LinearQLearningConfig(features="onehot", alpha=0.1, behavior="uniform", start="random",
                                   stop_at_target=False, episode_length=100, log_every=10)  # fmt: skip
    agents = {"Q-learning, linear (one-hot), uniform behaviour": (LinearQLearning(env, onehot), 200),
              "deep Q-learning, one 1000-step episode": (DeepQLearning(env), 1000),
              "off-policy actor-critic": (OffPolicyAC(env, OffPolicyAC.config_cls(log_every=10)), 300),
              "QAC": (QAC(env, QAC.config_cls(log_every=10)), 300)}  # fmt: skip
    from rlsuite.app.plots import METRICS as PANELS

    lines = {(line.get_label(), ax.get_ylabel()): line for ax in fig.axes for line in ax.lines}
    for label, (agent, budget) in agents.items():
        history = agent.learn(budget, seed=0)
        x = history[history.columns[0]] / history[history.columns[0]].max()
        for metric in ("gap_to_optimum", "optimal_fraction"):
            line = lines[(label, PANELS[metric][0])]
            assert np.array_equal(line.get_xdata(), x) and np.array_equal(line.get_ydata(), history[metric]), label
    rmse = TDLinear(env, TDLinearConfig(features="fourier", order=3)).learn(200, seed=0)["rmse"]
    assert numbers["TD-Linear, Fourier q = 3"]["RMSE to v_pi last"] == round(float(rmse[-1]), 3)


SEEN: list[str] = []


def _watched(out: Path, quick: bool) -> dict[str, Any]:
    """A section that notes what the live display shows while it runs, logs a line and a warning, takes 0.13 s."""
    import logging
    import time

    from rlsuite.common import progress

    reporter = progress.get_reporter()
    SEEN.append(reporter._progress.tasks[0].description if isinstance(reporter, console.RichReporter) else "none")
    logging.getLogger("rlsuite.agents.test").info("a line of the section's own")
    logging.getLogger("rlsuite.agents.test").warning("a warning of the section's own")
    time.sleep(0.13)
    return {"figures": []}


def test_a_sections_own_lines_and_the_display(cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a section runs, the live display (on a terminal) names it by its title, and its own INFO lines go to
    log.txt only; its time is kept to a tenth of a second."""
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    SEEN.clear()
    monkeypatch.setitem(SECTIONS, "gridworld", ("grid section", f"{__name__}:_watched"))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code, _, _ = cli("tour", "--out", "t", "--only", "gridworld")
    assert code == 0 and SEEN == ["stage 1/1: grid section"]
    text = terminal.getvalue()
    assert "a warning of the section's own" in text and "a line of the section's own" not in text
    assert "a line of the section's own" in (tmp_path / "t" / "log.txt").read_text()
    seconds = json.loads((tmp_path / "t" / "sections" / "gridworld.json").read_text())["seconds"]
    assert type(seconds) is float and seconds >= 0.1 and round(seconds, 1) == seconds
