"""The tour's drawn frame in detail (issue 26, mutation testing of rlsuite/app/vision_tour.py): the settings
passed to each matplotlib call (figure size, image extent and interpolation, limits, title, legend, boxes,
labels), the order the boxes are drawn and labelled in (by area, ties in input order), the exact spot of each
score label (corners inset, then the centre; frame and box edges included), and when the agent counts as
standing on a forbidden cell.

Expected values are written out by hand (positions, colours) or computed here from the boxes."""

from __future__ import annotations

import struct

import gymnasium as gym
import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

import rlsuite.envs  # noqa: F401
from rlsuite.app.vision_tour import _agent_on_forbidden, draw_detections, save_drawing
from rlsuite.common.plotting import pyplot
from rlsuite.envs.pixels import CLASS_NAMES
from rlsuite.vision.detection import Detections

GREEN, RED, MAGENTA = to_rgba("#008f00"), to_rgba("#c00000"), to_rgba("#d000d0")
BLACK, NONE, WHITE = (0.0, 0.0, 0.0, 1.0), (0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0)
NOTE = "orange corners in the\nagent's box: the forbidden\ncell under its disk"


@pytest.fixture(scope="module")
def layout():
    """The tour's drawn layout: a random 6x6 grid (seed 7), its frame and exact boxes (the agent's first)."""
    env = gym.make("rlsuite/PixelGridWorldRandom-v0", n_rows=6, n_cols=6, forbidden_fraction=0.25)
    obs, info = env.reset(seed=7)
    env.close()
    return obs, info["boxes"], info["labels"]


def _draw(frame, boxes, labels, scores=None, class_names=CLASS_NAMES, title="a title"):
    boxes = np.asarray(boxes, dtype=np.float32)
    if scores is None:
        scores = np.linspace(0.99, 0.5, len(boxes)).astype(np.float32)
    det = Detections(boxes, np.asarray(labels, dtype=np.int64), np.asarray(scores, dtype=np.float32))
    return draw_detections(frame, det, list(class_names), title)


def _labels(fig) -> list[tuple[float, float, str, str, str]]:
    return [(*(float(v) for v in t.get_position()), t.get_ha(), t.get_va(), t.get_text()) for t in fig.axes[0].texts]


def _close(fig) -> None:
    pyplot().close(fig)


def test_frame_image_limits_and_title(layout):
    frame, boxes, labels = layout
    fig = _draw(frame, boxes, labels, title="Grid detector on a random 6x6 layout")
    (ax,) = fig.axes
    assert tuple(fig.get_size_inches()) == (6.4, 4.8)
    (image,) = ax.images
    assert tuple(image.get_extent()) == (0, 96, 96, 0) and image.get_interpolation() == "nearest"
    assert np.array_equal(image.get_array(), frame)
    assert ax.get_xlim() == (0, 96) and ax.get_ylim() == (96, 0)
    assert ax.get_title() == "Grid detector on a random 6x6 layout" and ax.title.get_fontsize() == 10
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x (pixels)", "y (pixels)")
    _close(fig)


def test_figure_and_title_size_whatever_the_rc_settings(layout):
    """A user's matplotlibrc (another default figure size or font size) changes neither."""
    frame, boxes, labels = layout
    with matplotlib.rc_context({"figure.figsize": (8.0, 6.0), "font.size": 12.0}):
        fig = _draw(frame, boxes, labels)
    assert tuple(fig.get_size_inches()) == (6.4, 4.8) and fig.axes[0].title.get_fontsize() == 10
    _close(fig)


def test_save_drawing_writes_a_png_at_110_dpi_and_closes_only_its_figure(layout, tmp_path):
    frame, boxes, labels = layout
    fig = _draw(frame, boxes, labels)
    other = pyplot().figure()  # the current figure now: it stays open
    path = save_drawing(fig, tmp_path / "frame.svg")  # a PNG whatever the name says
    data = path.read_bytes()
    assert path == tmp_path / "frame.svg" and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (704, 528)  # 6.4 x 4.8 inches at 110 dpi
    assert fig.number not in pyplot().get_fignums() and other.number in pyplot().get_fignums()
    _close(other)


def test_boxes_drawn_biggest_first_ties_in_input_order(layout):
    """The cells (16x16, all tied) in their input order, then the agent's 10x10 box; each box's outline
    in its class's colour, 2 wide, not filled."""
    frame, boxes, labels = layout
    fig = _draw(frame, boxes, labels)
    rects = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    order = [*range(1, len(boxes)), 0]
    assert [(r.get_x(), r.get_y(), r.get_width(), r.get_height()) for r in rects] == [
        (boxes[i][0], boxes[i][1], boxes[i][2] - boxes[i][0], boxes[i][3] - boxes[i][1]) for i in order
    ]
    colours = {0: MAGENTA, 1: GREEN, 2: RED}
    assert [r.get_edgecolor() for r in rects] == [colours[int(labels[i])] for i in order]
    assert all(r.get_fill() is False and r.get_linewidth() == 2 for r in rects)
    # the labels follow the same order: each one's score is its box's
    scores = np.linspace(0.99, 0.5, len(boxes)).astype(np.float32)
    assert [t.get_text() for t in fig.axes[0].texts] == [f"{scores[i]:.2f}" for i in order]
    _close(fig)


def test_boxes_of_different_sizes_in_area_order(layout):
    frame = layout[0]
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 60, (9, 2))
    wh = rng.uniform(4, 36, (9, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    fig = _draw(frame, boxes, [1] * len(boxes))
    sizes = [float((b[2] - b[0]) * (b[3] - b[1])) for b in boxes]
    order = sorted(range(len(boxes)), key=lambda i: -sizes[i])
    rects = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert [(r.get_x(), r.get_y()) for r in rects] == [(boxes[i][0], boxes[i][1]) for i in order]
    _close(fig)


def test_legend_beside_the_image_with_the_note(layout):
    """The agent stands on a forbidden cell in this layout: the legend explains the orange with an
    invisible (alpha 0) patch; the class patches are outlines 2 wide in the class colours."""
    frame, boxes, labels = layout
    fig = _draw(frame, boxes, labels)
    (ax,) = fig.axes
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "class (label: score)" and legend.get_title().get_fontsize() == 8
    assert [t.get_text() for t in legend.get_texts()] == ["agent", "target", "forbidden", NOTE]
    assert [t.get_fontsize() for t in legend.get_texts()] == [8] * 4
    handles = legend.legend_handles
    assert [h.get_edgecolor() for h in handles[:3]] == [MAGENTA, GREEN, RED]
    assert [h.get_facecolor() for h in handles[:3]] == [NONE] * 3
    assert [h.get_linewidth() for h in handles[:3]] == [2] * 3
    assert handles[3].get_facecolor() == (*RED[:3], 0.0) and handles[3].get_alpha() == 0.0
    renderer = fig.canvas.get_renderer()
    frame_box, box = ax.get_window_extent(renderer), legend.get_window_extent(renderer)
    # its top left corner on the anchor (1.02, 1.0) in axes fractions: no pad between
    assert box.x0 == pytest.approx(frame_box.x0 + 1.02 * frame_box.width, abs=1e-6)
    assert box.y1 == pytest.approx(frame_box.y1, abs=1e-6)
    _close(fig)


def test_a_class_without_a_colour_is_drawn_black(layout):
    frame = layout[0]
    boxes = [[16, 16, 48, 48], [48, 48, 64, 64]]
    fig = _draw(frame, boxes, [3, 0], class_names=[*CLASS_NAMES, "wall"])
    (ax,) = fig.axes
    assert [p.get_edgecolor() for p in ax.patches if isinstance(p, Rectangle)] == [BLACK, MAGENTA]
    assert [t.get_bbox_patch().get_facecolor() for t in ax.texts] == [BLACK, MAGENTA]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["agent", "wall"]
    assert [h.get_edgecolor() for h in legend.legend_handles] == [MAGENTA, BLACK]
    _close(fig)


def test_labels_take_the_corners_then_the_centre(layout):
    """Six equal boxes over each other: the labels go top left, bottom right, top right, bottom left (each
    inset 2 pixels of the frame), then the centre; the sixth finds no free spot."""
    frame = layout[0]
    scores = [0.91, 0.92, 0.93, 0.94, 0.95, 0.96]
    fig = _draw(frame, [[16, 32, 64, 80]] * 6, [1] * 6, scores=scores)
    assert _labels(fig) == [
        (18.0, 34.0, "left", "top", "0.91"),
        (62.0, 78.0, "right", "bottom", "0.92"),
        (62.0, 34.0, "right", "top", "0.93"),
        (18.0, 78.0, "left", "bottom", "0.94"),
        (40.0, 56.0, "center", "center", "0.95"),
    ]
    assert fig.rlsuite_unlabelled == 1
    for text in fig.axes[0].texts:
        assert text.get_fontsize() == 7 and to_rgba(text.get_color()) == WHITE
        patch = text.get_bbox_patch()
        assert type(patch.get_boxstyle()).__name__ == "Square" and patch.get_boxstyle().pad == 0.15
        assert patch.get_facecolor() == GREEN and patch.get_edgecolor() == NONE
    _close(fig)


def test_a_box_narrower_than_its_label_stays_unlabelled(layout):
    fig = _draw(layout[0], [[41, 8, 43, 80]], [2])
    assert len(fig.axes[0].texts) == 0 and fig.rlsuite_unlabelled == 1
    assert len([p for p in fig.axes[0].patches if isinstance(p, Rectangle)]) == 1
    _close(fig)


@pytest.mark.parametrize(
    ("box", "label"),
    [
        ([-2, 40, 30, 70], (0.0, 42.0, "left", "top")),  # touches the frame's left edge
        ([40, -2, 70, 30], (42.0, 0.0, "left", "top")),  # its top edge
        ([66, -30, 98, 30], (96.0, 28.0, "right", "bottom")),  # its right edge (top left is off the frame)
        ([-30, 66, 30, 98], (28.0, 96.0, "right", "bottom")),  # its bottom edge
    ],
)
def test_a_label_touching_the_frame_edge_is_inside(layout, box, label):
    """A box sticking out of the frame: its label may end exactly on the frame's edge (still inside)."""
    fig = _draw(layout[0], [box], [1], scores=[0.5])
    assert _labels(fig) == [(*label, "0.50")] and fig.rlsuite_unlabelled == 0
    _close(fig)


def _det(boxes, labels):
    return Detections(np.asarray(boxes, dtype=np.float32), np.asarray(labels), np.ones(len(labels), np.float32))


def test_agent_on_forbidden_centre_inside_edges_included():
    forbidden = [16, 32, 32, 48]
    assert _agent_on_forbidden(_det([[20, 40, 30, 50], forbidden], [0, 2]), list(CLASS_NAMES))  # centre (25, 45)
    assert _agent_on_forbidden(_det([[10, 40, 22, 52], forbidden], [0, 2]), list(CLASS_NAMES))  # (16, 46): left edge
    assert not _agent_on_forbidden(_det([[20, 56, 30, 66], forbidden], [0, 2]), list(CLASS_NAMES))  # (25, 61)
    assert _agent_on_forbidden(_det([[26, 40, 38, 52], forbidden], [0, 2]), list(CLASS_NAMES))  # (32, 46): right edge
    assert _agent_on_forbidden(_det([[20, 26, 30, 38], forbidden], [0, 2]), list(CLASS_NAMES))  # (25, 32): top edge
    assert _agent_on_forbidden(_det([[20, 42, 30, 54], forbidden], [0, 2]), list(CLASS_NAMES))  # (25, 48): bottom
    wide = [48, 16, 64, 32]  # a cell whose right edge (64) lies below the agent's centre's y (20)
    assert _agent_on_forbidden(_det([[51, 15, 61, 25], wide], [0, 2]), list(CLASS_NAMES))
    # the centre in float64: float32 would round 2**-24 + 1 to 1 and put the centre on the edge at 0.5
    assert not _agent_on_forbidden(_det([[2.0**-24, 0, 1, 1], [0, 0, 0.5, 1]], [0, 2]), list(CLASS_NAMES))


def test_agent_on_forbidden_without_both_classes_is_false():
    det = _det([[0, 0, 16, 16], [0, 0, 16, 16]], [0, 1])
    assert _agent_on_forbidden(det, ["agent", "target"]) is False
    assert _agent_on_forbidden(det, ["target", "forbidden"]) is False
