"""`rlsuite reproduce`: book figures as PNG + JSON."""

from __future__ import annotations

import json

from rlsuite.app.cli import main


def test_list_names_every_figure(capsys) -> None:
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    for name in (
        "zhao-fig-3.4",
        "zhao-mc-basic-episode-length",
        "zhao-mc-epsilon-greedy",
        "zhao-sgd-mean-estimation",
        "sb-fig-2.2",
        "sb-fig-2.3",
        "sb-fig-2.4",
        "sb-fig-2.5",
        "sb-fig-2.6",
    ):
        assert name in out


def test_zhao_fig_3_4_matches_the_book(tmp_path) -> None:
    assert main(["reproduce", "zhao-fig-3.4", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "zhao-fig-3.4.png").stat().st_size > 10_000
    data = json.loads((tmp_path / "zhao-fig-3.4.json").read_text())
    assert len(data["entries"]) == 4
    compared = [e for e in data["entries"] if "matches_book" in e]
    assert len(compared) == 2 and all(e["matches_book"] for e in compared)
    gamma0 = next(e for e in data["entries"] if e["gamma"] == 0.0)
    assert max(max(row) for row in gamma0["v_star"]) == 1.0  # gamma = 0: only the immediate reward counts


def test_mc_basic_episode_length_figure(tmp_path) -> None:
    assert main(["reproduce", "zhao-mc-basic-episode-length", "--out", str(tmp_path)]) == 0
    entries = json.loads((tmp_path / "zhao-mc-basic-episode-length.json").read_text())["entries"]
    valued = [e["states_with_nonzero_value"] for e in entries]
    assert valued == sorted(valued) and valued[0] < 10 and valued[-1] == 25
    assert entries[-1]["greedy_optimal"] and not entries[0]["greedy_optimal"]


def test_bandit_figure_at_a_small_size(tmp_path) -> None:
    assert main(["reproduce", "sb-fig-2.2", "--out", str(tmp_path), "--runs", "200", "--steps", "300"]) == 0
    data = json.loads((tmp_path / "sb-fig-2.2.json").read_text())
    assert data["size"] == {"runs": 200, "steps": 300, "book": {"runs": 2000, "steps": 1000}}
    assert [e["curve"] for e in data["entries"]] == ["epsilon=0.0", "epsilon=0.01", "epsilon=0.1"]
    assert all(e["seed_dependent"] and len(e["average_reward"]) == 300 for e in data["entries"])
    assert (tmp_path / "sb-fig-2.2.png").is_file()


def test_unknown_figure_is_one_line(tmp_path, capsys) -> None:
    assert main(["reproduce", "fig-9.9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown figure 'fig-9.9'" in err and len(err.splitlines()) == 1
