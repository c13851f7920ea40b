"""The tour's vision figure (issue 14): a title, pixel axes, a legend beside the image (covering no data),
score labels inside the image that overlap no other label."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from figure_checks import check_report_figure

import rlsuite.envs  # noqa: F401
from rlsuite.app.vision_tour import draw_detections, save_drawing
from rlsuite.envs.pixels import CLASS_NAMES
from rlsuite.vision.detection import Detections


def _check_figure(fig, n_labels: int) -> None:
    (ax,) = fig.axes
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    assert ax.get_title() and ax.get_xlabel() == "x (pixels)" and ax.get_ylabel() == "y (pixels)"
    legend = ax.get_legend()
    assert legend is not None and not legend.get_window_extent(renderer).overlaps(frame)
    labels = [t for t in ax.texts]
    assert len(labels) == n_labels and fig.rlsuite_unlabelled == 0
    extents = [t.get_window_extent(renderer) for t in labels]
    for e in extents:  # inside the image: not clipped
        assert frame.x0 <= e.x0 and e.x1 <= frame.x1 and frame.y0 <= e.y0 and e.y1 <= frame.y1
    boxes = [p.get_window_extent(renderer) for p in ax.patches]
    for e in extents:  # each label inside a box, off its edges (which lie on the cell borders)
        assert any(b.x0 + 2 < e.x0 and e.x1 < b.x1 - 2 and b.y0 + 2 < e.y0 and e.y1 < b.y1 - 2 for b in boxes)
    for i in range(len(extents)):  # no label over another
        for j in range(i + 1, len(extents)):
            assert not extents[i].overlaps(extents[j]), (labels[i].get_text(), labels[j].get_text())
    assert fig.get_figwidth() * fig.dpi >= frame.x1  # the image fits the figure


@pytest.mark.parametrize("seed", [7, 3, 11, 5])
def test_detections_figure_has_a_title_a_legend_and_clear_labels(tmp_path, seed):
    env = gym.make("rlsuite/PixelGridWorldRandom-v0", n_rows=6, n_cols=6, forbidden_fraction=0.3)
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    boxes = info["boxes"] + rng.normal(0, 0.8, info["boxes"].shape).astype(np.float32)  # as a detector draws them
    det = Detections(boxes, info["labels"], rng.uniform(0.3, 1.0, len(boxes)).astype(np.float32))
    fig = draw_detections(obs, det, list(CLASS_NAMES), title="grid detector on a random 6x6 layout")
    legend_names = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    classes = [n for n in CLASS_NAMES if n in {CLASS_NAMES[c] for c in info["labels"]}]
    agent_cell = tuple(info["boxes"][0][:2] // 16)  # the agent's box comes first; cells are 16 px
    on_forbidden = any(tuple(b[:2] // 16) == agent_cell for b, c in zip(info["boxes"], info["labels"], strict=True)
                       if c == 2)
    note = ["orange corners in the\nagent's box: the forbidden\ncell under its disk"] if on_forbidden else []
    assert legend_names == classes + note  # the orange around the agent's disk is explained when it shows
    _check_figure(fig, n_labels=len(boxes))
    assert check_report_figure(fig) == []
    assert sorted(t.get_text() for t in fig.axes[0].texts) == sorted(f"{s:.2f}" for s in det.scores)
    path = save_drawing(fig, tmp_path / "vision_detections.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_vision_section_of_the_quick_tour(tmp_path):
    from rlsuite.app.vision_tour import vision_section

    numbers = vision_section(tmp_path, quick=True)
    assert (tmp_path / "vision_detections.png").is_file() and numbers["figure"] == "vision_detections.png"
    assert set(numbers["AP50 per class"]) == set(CLASS_NAMES) and numbers["episodes"] == 30
