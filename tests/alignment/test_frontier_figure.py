"""`align compare`'s frontier.png fit for a report: a title, labelled axes, a legend beside the plot that
says what each method's numbers are (beta or a KL coefficient), strength labels at the curves' end points
near their points and clear of each other (the crowded DPO/IPO/rDPO cluster of a full tour's numbers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from figure_checks import check_report_figure

from rlsuite.alignment.compare.report import plot_frontier

# (strength, kl, reward, kl_err, reward_err) of `rlsuite tour`'s alignment section (3 seeds, 2026-12-05)
TOUR = {
    "DPO": ("beta", [(0.03, 1.53, 2.41, 0.22, 0.12), (0.1, 1.46, 2.39, 0.14, 0.07), (0.3, 1.28, 2.31, 0.03, 0.02),
                     (1.0, 1.11, 2.23, 0.04, 0.05)]),
    "IPO": ("beta", [(0.03, 1.3, 2.23, 0.16, 0.13), (0.1, 1.24, 2.22, 0.1, 0.09), (0.3, 1.23, 2.26, 0.02, 0.02),
                     (1.0, 0.96, 2.1, 0.05, 0.04)]),
    "rDPO": ("beta", [(0.03, 1.54, 2.41, 0.23, 0.12), (0.1, 1.46, 2.38, 0.17, 0.08),
                      (0.3, 1.32, 2.32, 0.01, 0.01), (1.0, 1.22, 2.3, 0.01, 0.01)]),
    "RLOO": ("KL coef", [(0.01, 4.25, 2.09, 1.17, 0.13), (0.05, 2.12, 1.8, 0.56, 0.09), (0.5, 0.61, 1.48, 0.01, 0.01)]),
    "GRPO": ("KL coef", [(0.01, 3.73, 2.0, 0.84, 0.12), (0.05, 2.61, 1.83, 0.3, 0.04), (0.5, 0.55, 1.35, 0.06, 0.03)]),
    "PPO": ("KL coef", [(0.01, 1.52, 1.73, 0.17, 0.12), (0.05, 1.45, 1.7, 0.16, 0.12), (0.5, 0.56, 1.39, 0.04, 0.06)]),
}  # fmt: skip


def results(seeds: int) -> dict[str, Any]:
    frontier = {m: [{"kl_strength": s, "kl": k, "reward": r, "kl_err": ke, "reward_err": re, "seeds": seeds}
                    for s, k, r, ke, re in pts] for m, (_, pts) in TOUR.items()}  # fmt: skip
    methods: dict[str, Any] = {m: {"strength_name": name} for m, (name, _) in TOUR.items()}
    methods["SFT"] = {"reward": 0.23, "reward_sem": 0.12}
    return {"frontier": frontier, "methods": methods, "reward_kind": "gold (#positive - #negative words)"}


@pytest.mark.parametrize("seeds", [3, 1])
def test_frontier_figure_labels_its_strengths_clearly(tmp_path: Path, monkeypatch, seeds: int) -> None:
    import rlsuite.common.plotting as plotting

    drawn = []
    monkeypatch.setattr(plotting, "save_figure", lambda fig, path: drawn.append(fig))
    plot_frontier(results(seeds), tmp_path / "frontier.png")
    (fig,) = drawn
    assert check_report_figure(fig) == []
    (ax,) = fig.axes
    assert "KL strength" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:6] == ["DPO (numbers: beta)", "IPO (numbers: beta)", "rDPO (numbers: beta)",
                          "RLOO (numbers: KL coef)", "GRPO (numbers: KL coef)", "PPO (numbers: KL coef)"]  # fmt: skip
    renderer = fig.canvas.get_renderer()
    labels = ax.texts
    ends = sorted(f"{s:g}" for _, pts in TOUR.values() for s in (pts[0][0], pts[-1][0]))
    assert sorted(t.get_text() for t in labels) == ends  # the end points only
    boxes = [t.get_window_extent(renderer) for t in labels]
    for i, box in enumerate(boxes):
        assert not any(box.overlaps(other) for other in boxes[i + 1:]), labels[i].get_text()
        px, py = ax.transData.transform(labels[i].xy)  # near its point: within the outer ring (28 pt) and its size
        assert min(abs(px - box.x0), abs(px - box.x1), abs(px - (box.x0 + box.x1) / 2)) < 45
        assert min(abs(py - box.y0), abs(py - box.y1), abs(py - (box.y0 + box.y1) / 2)) < 45
