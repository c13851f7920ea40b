"""`rlsuite reproduce`: book figures as PNG + JSON, their levels against the books, figures fit for a report.

Each figure runs through the CLI at a small size (fewer runs where the book's 2000 x 1000 is slow) and its
numbers are checked against the book: Sutton & Barto (2nd ed.) figures 2.2-2.6 as read off the published
figures, Zhao's printed values (fig 3.4) and stated findings (ch. 5, ch. 6). The bands are wide enough for
the small size and tight enough that running one parameter for every curve (a bug the suite once missed)
fails. Every figure is also checked for a title, labelled axes, legends outside the data and no clipped text.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from figure_checks import check_report_figure

from rlsuite.app.cli import main
from rlsuite.app.reproduce import FIGURES, ReproduceOptions
from rlsuite.app.reproduce.zhao import ZHAO_FIG_3_4


# ----- figures fit for a report: check_report_figure (tests/figure_checks.py) -----
def describe(fig: Any) -> dict[str, Any]:
    """What a figure shows, as data: its size, layout and title, and per axes its title, labels, scales, grid,
    legend, lines (data and style) and scatters (points and style)."""
    from matplotlib.colors import to_hex

    def grid(ticks: list[Any]) -> tuple[bool, float | None] | None:
        return (ticks[0].gridline.get_visible(), ticks[0].gridline.get_alpha()) if ticks else None

    axes = []
    for ax in fig.axes:
        legend = ax.get_legend()
        axes.append({
            "geometry": ax.get_subplotspec().get_geometry(),
            "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "scale": (ax.get_xscale(), ax.get_yscale()),
            "aspect": (ax.get_aspect(), ax.get_adjustable()),
            "grid": {"major": grid(ax.xaxis.get_major_ticks()), "minor": grid(ax.xaxis.get_minor_ticks())},
            "legend": [t.get_text() for t in legend.get_texts()] if legend is not None else [],
            "lines": [{"label": ln.get_label(), "x": np.asarray(ln.get_xdata(), float),
                       "y": np.asarray(ln.get_ydata(), float), "ls": ln.get_linestyle(), "marker": ln.get_marker(),
                       "lw": ln.get_linewidth(), "color": to_hex(ln.get_color())} for ln in ax.get_lines()],
            "scatters": [{"label": c.get_label(), "xy": np.asarray(c.get_offsets(), float),
                          "vertices": len(c.get_paths()[0].vertices), "size": c.get_sizes().tolist(),
                          "color": to_hex(c.get_facecolor()[0]), "zorder": c.get_zorder()}
                         for ax_c in [ax] for c in ax_c.collections],
        })  # fmt: skip
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else None
    return {"size": tuple(float(x) for x in fig.get_size_inches()), "suptitle": suptitle, "axes": axes}


DRAWN: dict[str, dict[str, Any]] = {}  # {file name: describe(figure)} of the figures the `figures` fixture saw


@pytest.fixture
def figures(monkeypatch) -> dict[str, list[str]]:
    """Every figure `reproduce` saves, checked as it is saved: {file name: problems}; what it shows goes to DRAWN."""
    import rlsuite.common.plotting as plotting

    checked: dict[str, list[str]] = {}
    save = plotting.save_figure
    DRAWN.clear()

    def checking_save(fig, path):
        checked[str(path).rsplit("/", 1)[-1]] = check_report_figure(fig)
        DRAWN[str(path).rsplit("/", 1)[-1]] = describe(fig)
        return save(fig, path)

    monkeypatch.setattr(plotting, "save_figure", checking_save)
    return checked


def reproduce(tmp_path, name: str, *flags: str) -> dict[str, Any]:
    assert main(["reproduce", name, "--out", str(tmp_path), *flags]) == 0
    assert (tmp_path / f"{name}.png").stat().st_size > 20_000
    return json.loads((tmp_path / f"{name}.json").read_text())


def curves(data: dict[str, Any], column: str, last: int = 100) -> dict[str, float]:
    """Each curve's level over its last ``last`` steps."""
    return {e["curve"]: float(np.mean(e[column][-last:])) for e in data["entries"]}


# ----- the command -----
def test_list_names_every_figure(capsys) -> None:
    assert main(["reproduce", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines if line.startswith(" ")] == list(FIGURES)  # under chapter headers
    assert set(FIGURES) >= {
        "zhao-fig-3.4",
        "zhao-fig-5.4",
        "zhao-fig-5.7",
        "zhao-fig-6.5",
        "zhao-robbins-monro",
        "sb-fig-2.2",
        "sb-fig-2.3",
        "sb-fig-2.4",
        "sb-fig-2.5",
        "sb-fig-2.6",
        *("sb-fig-2.1", "sb-fig-3.2", "sb-fig-3.5", "sb-fig-4.1", "sb-fig-4.2", "sb-fig-4.3"),  # chapters 2-5
        *("sb-fig-5.1", "sb-fig-5.2", "sb-fig-5.3", "sb-fig-5.4"),
        *(f"zhao-fig-{n}" for n in ("8.5", "8.6", "8.7", "8.8", "8.9", "8.10", "8.11", "8.12", "10.2")),
        *("sb-ex-6.2", "sb-fig-6.2", "sb-fig-6.3", "sb-fig-6.4", "sb-fig-6.6", "sb-fig-6.7", "sb-fig-7.2"),
        *("sb-fig-8.2", "sb-fig-8.4", "sb-fig-8.5", "sb-ex-8.4", "sb-fig-8.7", "sb-fig-8.8"),
    }


def test_help_lists_every_option_with_its_range(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for flag in ("--runs RUNS", "--steps STEPS", "--episodes EPISODES", "--seed SEED", "--out OUT", "--output_dir",
                 "--overwrite", "--list", "--config FILE.yaml", "--set KEY=VALUE"):  # fmt: skip
        assert flag in out, flag
    assert "independent runs per bandit curve (the book: 2000) (range >= 1) (default: 2000)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fig-9.9"], "rlsuite: error: unknown figure 'fig-9.9' (did you mean 'zhao-fig-8.9'?); "
         "`rlsuite reproduce --list` lists them"),
        (["sb-fig-2.7"], "unknown figure 'sb-fig-2.7' (did you mean 'sb-fig-8.7'?)"),
        (["sb-fig-2.2", "--runs", "0"], "--runs: ReproduceOptions.runs: 0 is out of range (allowed: >= 1)"),
        (["sb-fig-2.2", "--set", "steps=abc"], "steps"),
        (["sb-fig-2.2", "--seed", "-1"], "ReproduceOptions.seed: -1 is out of range (allowed: >= 0)"),
        (["sb-fig-2.2", "--episodes", "0"], "ReproduceOptions.episodes: 0 is out of range"),
    ],
)
def test_bad_input_is_one_line_before_any_work(tmp_path, capsys, argv, message) -> None:
    assert main(["reproduce", *argv, "--out", str(tmp_path / "figs")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "figs").exists()


def test_a_figures_folder_collects_figures_and_replaces_one_only_with_overwrite(tmp_path, capsys) -> None:
    out = tmp_path / "figs"
    small = ["--runs", "20", "--steps", "50", "--out", str(out)]
    assert main(["reproduce", "sb-fig-2.4", *small]) == 0
    assert main(["reproduce", "sb-fig-2.3", *small]) == 0  # another figure joins the folder
    stdout = capsys.readouterr().out.splitlines()
    assert stdout[-1].startswith(f"{out / 'sb-fig-2.3'}.png, .json: last 100 steps: optimistic, greedy")
    before = (out / "sb-fig-2.4.json").read_text()
    assert main(["reproduce", "sb-fig-2.4", *small, "--seed", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"rlsuite: error: {out / 'sb-fig-2.4.png'}: exists; pass --overwrite to replace it (or choose " \
        "another --out)"
    assert (out / "sb-fig-2.4.json").read_text() == before
    assert main(["reproduce", "sb-fig-2.4", *small, "--seed", "1", "--overwrite"]) == 0
    assert json.loads((out / "sb-fig-2.4.json").read_text())["entries"][0]["seed"] == 1
    assert (out / "sb-fig-2.3.json").is_file()  # --overwrite replaced one figure, not the folder
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "log.txt", "sb-fig-2.3.json", "sb-fig-2.3.png", "sb-fig-2.4.json", "sb-fig-2.4.png"
    ]


def test_the_seed_reaches_the_sampled_figures(tmp_path) -> None:
    a = reproduce(tmp_path / "a", "sb-fig-2.4", "--runs", "30", "--steps", "40", "--seed", "3")
    b = reproduce(tmp_path / "b", "sb-fig-2.4", "--runs", "30", "--steps", "40", "--seed", "3")
    c = reproduce(tmp_path / "c", "sb-fig-2.4", "--runs", "30", "--steps", "40", "--seed", "4")
    assert a["entries"] == b["entries"] and a["entries"][0]["seed"] == 3
    assert a["entries"][0]["average_reward"] != c["entries"][0]["average_reward"]
    assert a["size"] == {"runs": 30, "steps": 40, "book": {"runs": 2000, "steps": 1000}}


# ----- Zhao -----
def test_zhao_fig_3_4_matches_the_book(tmp_path, figures) -> None:
    data = reproduce(tmp_path, "zhao-fig-3.4")
    assert figures == {"zhao-fig-3.4.png": []}
    panels = {e["panel"]: e for e in data["entries"]}
    assert list(panels) == [
        "gamma = 0.9, r_forbidden = -1",
        "gamma = 0.5, r_forbidden = -1",
        "gamma = 0, r_forbidden = -1",
        "gamma = 0.9, r_forbidden = -10",
    ]
    compared = [e for e in data["entries"] if "matches_book" in e]
    assert len(compared) == 2 and all(e["matches_book"] for e in compared)
    for rows, key in ((panels["gamma = 0.9, r_forbidden = -1"], "r_forbidden=-1"),
                      (panels["gamma = 0.9, r_forbidden = -10"], "r_forbidden=-10")):  # fmt: skip
        for r, values in ZHAO_FIG_3_4[key].items():
            assert rows["v_star"][r] == values
    # the target pays 1 per step: v*(target) = 1 / (1 - gamma)
    assert [e["v_star"][3][2] for e in panels.values()] == [10.0, 2.0, 1.0, 10.0]
    assert max(max(row) for row in panels["gamma = 0, r_forbidden = -1"]["v_star"]) == 1.0
    assert data["summary"] == "v* matches the book's printed values in 2 of 2 panels compared"
    assert data["figure"] == "Zhao, Mathematical Foundations of RL, figure 3.4"
    envs = [{}, {}, {}, {"r_forbidden": -10.0}]
    for e, gamma, env in zip(data["entries"], [0.9, 0.5, 0.0, 0.9], envs, strict=True):
        assert (e["gamma"], e["env"], e["seed_dependent"]) == (
            gamma, {"r_boundary": -1.0, "r_forbidden": -1.0, "r_target": 1.0, **env}, False)
        assert e["greedy_policy"][3][2] == "stay" and e["greedy_policy"][4][2] == "up"  # the target, below it
    assert [sorted(e) for e in compared] == [["book_rows", "env", "gamma", "greedy_policy", "matches_book", "panel",
                                              "seed_dependent", "v_star"]] * 2  # fmt: skip
    assert compared[1]["book_rows"] == {str(r): v for r, v in ZHAO_FIG_3_4["r_forbidden=-10"].items()}
    drawn = DRAWN["zhao-fig-3.4.png"]
    assert drawn["size"] == (16.0, 4.8) and drawn["suptitle"] == "Zhao fig. 3.4: optimal state values v* and " \
        "optimal actions (value iteration, exact); r_target = 1, r_boundary = -1"
    assert [(a["geometry"], a["title"]) for a in drawn["axes"]] == [((1, 4, i, i), p) for i, p in enumerate(panels)]


def test_zhao_fig_3_4_compares_with_the_book_to_its_printed_digit(tmp_path, monkeypatch) -> None:
    """A book value within half a printed digit (0.05) of ours matches; one further off does not."""
    from rlsuite.app.reproduce import zhao as R

    monkeypatch.setitem(ZHAO_FIG_3_4, "r_forbidden=-1", {0: [5.85, 5.6, 6.2, 6.5, 5.8]})  # ours: 5.8 (5.832)
    monkeypatch.setitem(ZHAO_FIG_3_4, "r_forbidden=-10", {4: [2.24, 9.0, 10.0, 9.0, 8.1]})  # ours: 2.3 (2.288)
    data = R.zhao_fig_3_4(tmp_path, ReproduceOptions(out=str(tmp_path)))
    compared = [e for e in data["entries"] if "matches_book" in e]
    assert [(e["book_rows"], e["matches_book"]) for e in compared] == [
        ({"0": [5.85, 5.6, 6.2, 6.5, 5.8]}, True), ({"4": [2.24, 9.0, 10.0, 9.0, 8.1]}, False)]
    assert data["summary"] == "v* matches the book's printed values in 1 of 2 panels compared"


def test_zhao_mc_epsilon_greedy_figure(tmp_path, figures) -> None:
    data = reproduce(tmp_path, "zhao-fig-5.7", "--episodes", "100000")
    assert figures == {"zhao-fig-5.7.png": []}
    exact, mc = data["entries"][:4], data["entries"][4]
    assert [e["epsilon"] for e in exact] == [0.0, 0.1, 0.2, 0.5]
    # epsilon = 0 is the optimal policy: its values are Zhao's fig 3.4 (r_forbidden = -10)
    assert exact[0]["values"] == [ZHAO_FIG_3_4["r_forbidden=-10"][r] for r in range(5)]
    # Zhao ch. 5: as epsilon grows the optimal epsilon-greedy values fall, and from 0.2 on (here) the greedy
    # actions are no longer the optimal ones
    assert [e["values"][3][2] for e in exact] == [10.0, 3.3, -2.6, -9.3]
    assert [e["greedy_consistent_with_optimal"] for e in exact] == [True, True, False, False]
    # the book's printed tables (fig 5.7), cells matched to the printed digit: with rlsuite's wall price, and with
    # the book's (walking into the wall from a forbidden cell costs r_boundary + r_forbidden; see docs/zhao.md)
    assert [(e["cells_matching_book"], e["book_wall_price"]["cells_matching_book"]) for e in exact] == [
        (25, 25), (24, 25), (22, 24), (16, 25)]
    assert exact[1]["greedy_policy"][0] == ["right", "right", "right", "right", "down"]
    # MC epsilon-greedy at eps = 0.1 (seed 0, 100k episodes) estimates the eps = 0.1 values
    assert mc["episodes"] == 100_000 and mc["seed"] == 0
    assert abs(mc["values"][3][2] - 3.3) < 0.5
    assert np.abs(np.array(mc["values"]) - np.array(exact[1]["values"])).mean() < 1.0
    assert mc["greedy_optimal_fraction"] >= 0.7


def test_zhao_sgd_mean_estimation_figure(tmp_path, figures) -> None:
    data = reproduce(tmp_path, "zhao-fig-6.5")
    assert figures == {"zhao-fig-6.5.png": []}
    methods = {e["method"]: e for e in data["entries"]}
    assert [(m, e["batch_size"]) for m, e in methods.items()] == [
        ("SGD (m=1)", 1), ("MBGD (m=5)", 5), ("MBGD (m=50)", 50), ("BGD (m=n)", 100)
    ]
    dist = {m: np.array(e["distance_to_sample_mean"]) for m, e in methods.items()}
    assert dist["SGD (m=1)"][0] == pytest.approx(np.hypot(50, 50), abs=2.0)  # w1 = (50, 50), mean near 0
    assert dist["BGD (m=n)"][1] < 1e-9  # BGD with a_1 = 1 jumps to the sample mean and stays
    assert np.all(dist["BGD (m=n)"][1:] < 1e-9)
    assert dist["SGD (m=1)"][1] < 15  # one sample's pull brings SGD from ~70 away into the square
    # Zhao: larger batches end closer; SGD keeps wandering around the mean
    assert dist["MBGD (m=50)"][-1] < dist["SGD (m=1)"][-1] and dist["MBGD (m=5)"][-1] < dist["SGD (m=1)"][-1]
    assert 0.5 < dist["SGD (m=1)"][-1] < 3.0
    # the numbers from an independent computation: the data from the seed, each method from seed + 1 with its m
    from rlsuite.agents.tabular.sa import gradient_mean_estimation

    samples = np.random.default_rng(0).uniform(-10.0, 10.0, size=(100, 2))
    mean = samples.mean(axis=0)
    runs = {m: gradient_mean_estimation(samples, np.array([50.0, 50.0]), 30, method, np.random.default_rng(1),
                                        batch_size=e["batch_size"])
            for (m, e), method in zip(methods.items(), ("sgd", "mbgd", "mbgd", "bgd"), strict=True)}  # fmt: skip
    assert np.allclose(runs["BGD (m=n)"][1:], mean)  # BGD with a_1 = 1 sits on the sample mean
    for m, e in methods.items():
        d = np.linalg.norm(runs[m] - mean, axis=1)
        assert e == {"method": m, "batch_size": e["batch_size"], "step_size": "1/k",
                     "estimates": runs[m].round(4).tolist(), "distance_to_sample_mean": d.round(4).tolist(),
                     "seed": 1, "seed_dependent": m != "BGD (m=n)"}  # fmt: skip
    assert data["figure"] == "Zhao ch. 6: SGD, BGD and MBGD on the mean-estimation example"
    assert data["settings"] == {
        "X": "uniform on [-10.0, 10.0]^2", "n_samples": 100, "w1": [50.0, 50.0], "data_seed": 0,
        "note": "the book's setup (uniform on the square of side 20 at the origin, 100 samples, a_k = 1/k); it "
        "prints no numbers for this figure; w1 is rlsuite's choice of a far initial guess"}  # fmt: skip
    finals = ", ".join(f"{m} {np.linalg.norm(runs[m][-1] - mean).round(4):.2g}" for m in methods)
    assert data["summary"] == f"distance to the sample mean after 30 iterations: {finals}"
    # the figure: the samples, each method's path and the sample mean on the left; distances on the right
    drawn = DRAWN["zhao-fig-6.5.png"]
    assert drawn["size"] == (13.0, 5.0)
    assert drawn["suptitle"] == "Zhao ch. 6: SGD, MBGD and BGD (a_k = 1/k) estimating E[X], X uniform on " \
        "[-10, 10]^2, 100 samples"
    left, right = drawn["axes"]
    assert (left["geometry"], right["geometry"]) == ((1, 2, 0, 0), (1, 2, 1, 1))
    assert (left["title"], left["xlabel"], left["ylabel"], left["aspect"]) == (
        "estimates w_k of E[X], from w_1 = (50.0, 50.0)", "first coordinate of x and w",
        "second coordinate of x and w", (1.0, "datalim"))  # fmt: skip
    dots, star = left["scatters"]
    assert np.array_equal(dots["xy"], samples) and np.array_equal(star["xy"], [mean])
    # style: small grey dots for the samples, a large black star drawn over the paths for the mean
    assert (dots["label"], dots["size"], dots["color"]) == ("samples x_i", [6.0], "#999999")
    assert (star["label"], star["size"], star["color"], star["zorder"]) == ("sample mean", [160.0], "#000000", 5)
    assert dots["vertices"] != star["vertices"] == 11  # a five-pointed star: 10 corners and the closing one
    assert left["legend"] == ["samples x_i", *methods, "sample mean"]
    for line, (m, run) in zip(left["lines"], runs.items(), strict=True):
        assert (line["label"], line["marker"], line["lw"]) == (m, ".", 1.0)
        assert np.allclose(line["x"], run[:, 0]) and np.allclose(line["y"], run[:, 1])
    assert (right["title"], right["xlabel"], right["ylabel"], right["grid"]["major"]) == (
        "distance to the sample mean", "iteration k",
        "distance |w_k - sample mean| (units of X;\nlog scale, linear below 0.01)", (True, 0.3))
    assert right["scale"] == ("linear", "symlog")  # a linear axis to 70 would squash every method to 0 after k=3
    assert right["legend"] == list(methods)
    for line, (m, run) in zip(right["lines"], runs.items(), strict=True):
        assert line["label"] == m and np.array_equal(line["x"], np.arange(1, 32))
        assert np.allclose(line["y"], np.linalg.norm(run - mean, axis=1))


def test_zhao_robbins_monro_figure(tmp_path, figures) -> None:
    data = reproduce(tmp_path, "zhao-robbins-monro")
    assert figures == {"zhao-robbins-monro.png": []}
    rm, mean = data["entries"]
    w = np.array(rm["w"])
    assert w[0] == 3.0 and len(w) == 51
    assert abs(w[-1] - 1.0) < 0.05 and abs(w[10] - 1.0) < abs(w[1] - 1.0) < abs(w[0] - 1.0)
    # the incremental mean's error falls as sqrt(2 / pi) / sqrt(k) (200 runs: a few % of noise)
    assert mean["k"] == [1, 10, 100, 1000, 10000]
    ratio = np.array(mean["mean_abs_error"]) / np.array(mean["theory"])
    assert np.all(np.abs(ratio[2:] - 1) < 0.12), ratio
    # the same numbers from an independent computation: w_{k+1} = w_k - (1/k) (tanh(w_k - 1) + 0.1 n_k), then
    # 200 runs of 10000 samples of N(1, 1) from the same generator, their running means' mean absolute error
    from rlsuite.agents.tabular.sa import robbins_monro

    rng = np.random.default_rng(0)
    expected_w = robbins_monro(lambda v, r: np.tanh(v - 1.0) + 0.1 * r.standard_normal(), 3.0, 50, rng)
    x = rng.normal(1.0, 1.0, size=(10_000, 200))
    err = np.abs(np.cumsum(x, axis=0) / np.arange(1, 10_001)[:, None] - 1.0).mean(axis=1)
    assert rm == {"curve": "robbins-monro", "w": expected_w.round(4).tolist(), "noise_std": 0.1, "seed": 0,
                  "seed_dependent": True}  # fmt: skip
    assert mean["mean_abs_error"] == pytest.approx([err[k - 1] for k in mean["k"]], rel=1e-9)
    theory = [float(np.sqrt(2 / np.pi / k)) for k in mean["k"]]
    assert {key: v for key, v in mean.items() if key != "mean_abs_error"} == {
        "curve": "incremental-mean error", "k": [1, 10, 100, 1000, 10000], "theory": theory, "runs": 200,
        "seed": 0, "seed_dependent": True}  # fmt: skip
    assert data["figure"] == "Zhao ch. 6: Robbins-Monro and incremental mean estimation"
    assert data["summary"] == f"Robbins-Monro w_51 = {expected_w[-1]:.3f} (root 1); incremental-mean error at " \
        f"k = 10000: {err[-1]:.4f} (theory 0.0080)"
    # the figure plots those numbers, labelled, side by side
    drawn = DRAWN["zhao-robbins-monro.png"]
    assert drawn["size"] == (13.0, 4.6) and drawn["suptitle"] == "Zhao ch. 6: stochastic approximation"
    left, right = drawn["axes"]
    assert (left["geometry"], right["geometry"]) == ((1, 2, 0, 0), (1, 2, 1, 1))
    assert (left["title"], left["xlabel"], left["ylabel"]) == (
        "Robbins-Monro: the root of g(w) = tanh(w - 1)\nfrom g(w_k) + N(0, 0.1^2) noise, w_1 = 3, a_k = 1/k",
        "iteration k", "estimate w_k")  # fmt: skip
    path, root = left["lines"]
    assert (path["label"], path["marker"]) == ("w_k", ".") and np.array_equal(path["x"], np.arange(1, 52))
    assert np.array_equal(path["y"], expected_w)
    assert (root["label"], root["ls"], root["color"], root["y"].tolist()) == ("root w* = 1", "--", "#808080", [1, 1])
    assert left["legend"] == ["w_k", "root w* = 1"] and left["grid"]["major"] == (True, 0.3)
    assert (right["title"], right["xlabel"], right["ylabel"], right["scale"]) == (
        "incremental mean: w_k, the mean of k samples\nof X ~ N(1, 1), estimates E[X] = 1", "number of samples k",
        "mean absolute error |w_k - E[X]|", ("log", "log"))  # fmt: skip
    measured, rate = right["lines"]
    assert right["legend"] == ["mean |w_k - E[X]|, 200 runs", "sqrt(2/pi) / sqrt(k)"]
    assert np.array_equal(measured["x"], np.arange(1, 10_001)) and measured["y"] == pytest.approx(err, rel=1e-9)
    assert np.array_equal(rate["x"], np.arange(1, 10_001)) and rate["ls"] == "--"
    assert rate["y"] == pytest.approx(np.sqrt(2 / np.pi) / np.sqrt(np.arange(1, 10_001)), rel=1e-12)
    assert right["grid"] == {"major": (True, 0.3), "minor": (True, 0.3)}  # log axes: the minor grid too


def test_zhao_robbins_monro_reports_the_error_at_the_last_sample(tmp_path) -> None:
    """Seed 22: the error at k = 10000 (0.0073) differs from that at k = 9999 (0.0072) in the printed digits."""
    from rlsuite.app.reproduce import zhao as R

    data = R.zhao_robbins_monro(tmp_path, ReproduceOptions(seed=22, out=str(tmp_path)))
    assert data["entries"][0]["seed"] == data["entries"][1]["seed"] == 22
    assert data["summary"].endswith("incremental-mean error at k = 10000: 0.0073 (theory 0.0080)")


# ----- Sutton & Barto, chapter 2 (bands read off the book's figures; 400 runs here, the book 2000) -----
def test_sb_fig_2_2_levels(tmp_path, figures) -> None:
    data = reproduce(tmp_path, "sb-fig-2.2", "--runs", "400")
    assert figures == {"sb-fig-2.2.png": []}
    reward, optimal = curves(data, "average_reward"), curves(data, "optimal_action")
    assert list(reward) == ["epsilon=0.0", "epsilon=0.01", "epsilon=0.1"]
    assert [e["config"]["epsilon"] for e in data["entries"]] == [0.0, 0.01, 0.1]
    # the book at step 1000: greedy ~1.0 and ~1/3 optimal; eps = 0.01 ~55% optimal, still rising;
    # eps = 0.1 ~1.35-1.4 and ~80% optimal
    assert 0.95 < reward["epsilon=0.0"] < 1.12 and 0.30 < optimal["epsilon=0.0"] < 0.42
    assert 1.18 < reward["epsilon=0.01"] < 1.40 and 0.50 < optimal["epsilon=0.01"] < 0.68
    assert 1.30 < reward["epsilon=0.1"] < 1.45 and 0.74 < optimal["epsilon=0.1"] < 0.86
    e01 = np.array(data["entries"][1]["optimal_action"])
    assert e01[-100:].mean() > e01[400:500].mean() + 0.04  # eps = 0.01 still learning at 1000
    assert data["summary"].startswith("last 100 steps: epsilon=0.0: 3")
    assert data["figure"] == "Sutton & Barto fig 2.2: epsilon-greedy, sample averages"
    [top, bottom] = DRAWN["sb-fig-2.2.png"]["axes"]
    assert top["title"] == "Sutton & Barto fig 2.2: epsilon-greedy, sample averages\n10-armed testbed, 400 runs, seed 0"
    assert (top["ylabel"], bottom["ylabel"]) == ("average reward (reward units)", "optimal action (% of runs)")


def test_sb_fig_2_3_levels(tmp_path, figures) -> None:
    data = reproduce(tmp_path, "sb-fig-2.3", "--runs", "400")
    assert figures == {"sb-fig-2.3.png": []}
    optimistic, realistic = (np.array(e["optimal_action"]) for e in data["entries"])
    assert [(e["config"]["epsilon"], e["config"]["initial_value"]) for e in data["entries"]] == [(0.0, 5.0), (0.1, 0.0)]
    # the book: optimistic greedy ends higher (~85%) than realistic epsilon-greedy (~75-80%) ...
    assert 0.80 < optimistic[-100:].mean() < 0.93 and 0.70 < realistic[-100:].mean() < 0.84
    assert optimistic[-100:].mean() > realistic[-100:].mean() + 0.03
    # ... after a worse start: its first 10 pulls try every arm once (~10% optimal), then the spike at step 11
    assert abs(optimistic[:10].mean() - 0.1) < 0.03 and optimistic[10] > 0.35 > optimistic[11]
    assert optimistic[20:100].mean() < realistic[20:100].mean() - 0.1


def test_sb_fig_2_4_levels(tmp_path, figures) -> None:
    data = reproduce(tmp_path, "sb-fig-2.4", "--runs", "400")
    assert figures == {"sb-fig-2.4.png": []}
    ucb, eps = (np.array(e["average_reward"]) for e in data["entries"])
    assert data["entries"][0]["config"] == {"c": 2.0, "step_size": None}
    # the book: UCB c = 2 ~1.5 above epsilon-greedy 0.1 ~1.35-1.4 after the first steps
    assert 1.42 < ucb[-100:].mean() < 1.56 and 1.30 < eps[-100:].mean() < 1.45
    assert ucb[100:].mean() > eps[100:].mean() + 0.07
    # the spike at step 11, once every arm was tried (about 1.1: the best of ten one-sample estimates)
    assert abs(ucb[:10].mean()) < 0.1 and 0.9 < ucb[10] < 1.25 and ucb[11] < ucb[10]


def test_sb_fig_2_5_levels(tmp_path, figures) -> None:
    data = reproduce(tmp_path, "sb-fig-2.5", "--runs", "400")
    assert figures == {"sb-fig-2.5.png": []}
    optimal = curves(data, "optimal_action")
    assert [(e["config"]["alpha"], e["config"]["baseline"]) for e in data["entries"]] == [
        (0.1, True), (0.4, True), (0.1, False), (0.4, False)
    ]
    assert all(e["env"] == {"k": 10, "q_mean": 4.0} for e in data["entries"])
    title = "Sutton & Barto fig 2.5: gradient bandit with and without baseline, q* ~ N(+4, 1)"
    assert data["figure"] == title and "average_reward" not in data["entries"][0]  # one panel: % optimal
    [panel] = DRAWN["sb-fig-2.5.png"]["axes"]
    assert panel["title"] == f"{title}\n10-armed testbed, 400 runs, seed 0"
    # the book at step 1000: with baseline alpha 0.1 ~80-85%, alpha 0.4 ~75%; without: ~50% and ~30%
    assert 0.78 < optimal["alpha=0.1, with baseline"] < 0.92
    assert 0.66 < optimal["alpha=0.4, with baseline"] < 0.82
    assert 0.40 < optimal["alpha=0.1, without baseline"] < 0.60
    assert 0.18 < optimal["alpha=0.4, without baseline"] < 0.36
    early = {e["curve"]: np.mean(e["optimal_action"][50:150]) for e in data["entries"]}
    assert early["alpha=0.4, with baseline"] > early["alpha=0.1, with baseline"] + 0.1  # 0.4 rises faster


def test_sb_fig_2_6_parameter_study(tmp_path, figures) -> None:
    data = reproduce(tmp_path, "sb-fig-2.6", "--runs", "200")
    assert figures == {"sb-fig-2.6.png": []}
    study = {e["curve"]: e for e in data["entries"]}
    assert {name: e["parameter_label"] for name, e in study.items()} == {
        "epsilon-greedy (epsilon)": ["1/128", "1/64", "1/32", "1/16", "1/8", "1/4"],
        "gradient bandit (alpha)": ["1/32", "1/16", "1/8", "1/4", "1/2", "1", "2"],
        "UCB (c)": ["1/16", "1/8", "1/4", "1/2", "1", "2", "4"],
        "greedy with optimistic initialization, alpha=0.1 (Q0)": ["1/4", "1/2", "1", "2", "4"],
    }
    keys = {"epsilon-greedy (epsilon)": "epsilon", "gradient bandit (alpha)": "alpha", "UCB (c)": "c",
            "greedy with optimistic initialization, alpha=0.1 (Q0)": "initial_value"}  # fmt: skip
    for name, e in study.items():  # each point ran its own parameter
        assert [c[keys[name]] for c in e["configs"]] == e["parameter_value"]
    # the book's shapes: every method peaks inside its range and falls off at the large end; the peaks
    # (about 1.3 epsilon-greedy at 1/16, 1.4 gradient at 1/4 to 1/2, 1.5 UCB at 1 to 2, 1.45 optimistic
    # at 1) are ordered UCB > optimistic > gradient > epsilon-greedy
    bands = {
        "epsilon-greedy (epsilon)": ({"1/32", "1/16", "1/8"}, 1.24, 1.38),
        "gradient bandit (alpha)": ({"1/8", "1/4", "1/2"}, 1.32, 1.46),
        "UCB (c)": ({"1/2", "1", "2"}, 1.40, 1.55),
        "greedy with optimistic initialization, alpha=0.1 (Q0)": ({"1/2", "1", "2"}, 1.37, 1.52),
    }
    for name, (where, low, high) in bands.items():
        rewards = np.array(study[name]["average_reward_first_steps"])
        assert study[name]["best"]["parameter_label"] in where, (name, rewards)
        assert low < rewards.max() < high, (name, rewards)
        assert rewards[-1] < rewards.max() - 0.1, (name, rewards)
        if name != "UCB (c)":  # UCB's small-c end stays high: it tries every arm first
            assert rewards[0] < rewards.max() - 0.1, (name, rewards)
    peaks = [study[name]["best"]["average_reward"] for name in bands]
    assert peaks[2] > peaks[3] > peaks[1] > peaks[0]
