"""The tour's vision section: the default detector's AP50, DetectionPolicy's success, a drawn frame."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

CLASS_COLOURS = {"agent": "#d000d0", "target": "#008f00", "forbidden": "#c00000"}
# Where a box's score label may go, in order: inside the box, inset from its corners (off the box's edge,
# which lies on a cell border), then its centre.
# (x of the box: 0 left, 1 right; y: 0 top, 1 bottom; horizontal and vertical alignment of the text)
LABEL_SPOTS = (
    (0, 0, "left", "top"), (1, 1, "right", "bottom"), (1, 0, "right", "top"), (0, 1, "left", "bottom"),
    (0.5, 0.5, "center", "center"),
)  # fmt: skip
LABEL_INSET = 2.0  # pixels of the frame between a box's edge and its label


def draw_detections(frame: np.ndarray, detections: Any, class_names: list[str], title: str) -> Any:
    """A matplotlib figure of ``frame`` with its detections: a box per detection in its class's colour,
    its score inside the box (off the cell borders) overlapping no other label, a legend of the classes
    outside the image (it covers no data), a title and pixel axes. When the agent stands on a forbidden
    cell, the legend says what the orange corners inside its box are (the cell around its disk).

    A label that finds no free spot (a crowded frame) is left out; ``fig.rlsuite_unlabelled`` counts them.
    """
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.transforms import Bbox

    from rlsuite.common.plotting import pyplot

    plt = pyplot()
    h, w = frame.shape[:2]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.imshow(frame, interpolation="nearest", extent=(0, w, h, 0))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    ax.set_title(title, fontsize=10)
    present = [class_names[int(c)] for c in np.unique(detections.labels)]
    handles = [
        Patch(facecolor="none", edgecolor=CLASS_COLOURS.get(n, "black"), linewidth=2, label=n)
        for n in class_names
        if n in present
    ]
    if _agent_on_forbidden(detections, class_names):
        handles.append(Patch(facecolor=CLASS_COLOURS["forbidden"], alpha=0.0, label=(
            "orange corners in the\nagent's box: the forbidden\ncell under its disk")))  # fmt: skip
    if handles:
        ax.legend(handles=handles, title="class (label: score)", loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  borderaxespad=0.0, fontsize=8, title_fontsize=8)  # fmt: skip
    fig.tight_layout()  # the layout is final before labels are placed: their extents stay true
    renderer = fig.canvas.get_renderer()
    frame_box = ax.get_window_extent(renderer)
    placed: list[Any] = []
    unlabelled = 0
    # Bigger boxes (cells) first: their labels take the corners, the agent's small box finds what is left.
    areas = (detections.boxes[:, 2] - detections.boxes[:, 0]) * (detections.boxes[:, 3] - detections.boxes[:, 1])
    for i in np.argsort(-areas, kind="stable"):
        (x0, y0, x1, y1), name = detections.boxes[i], class_names[int(detections.labels[i])]
        colour = CLASS_COLOURS.get(name, "black")
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=2))
        for fx, fy, ha, va in LABEL_SPOTS:
            inset = LABEL_INSET * (1 - 2 * fx) * (fx != 0.5), LABEL_INSET * (1 - 2 * fy) * (fy != 0.5)
            text = ax.text(
                x0 + fx * (x1 - x0) + inset[0], y0 + fy * (y1 - y0) + inset[1], f"{detections.scores[i]:.2f}",
                ha=ha, va=va, fontsize=7,
                color="white", bbox={"boxstyle": "square,pad=0.15", "facecolor": colour, "edgecolor": "none"},
            )  # fmt: skip
            extent = text.get_window_extent(renderer)
            box = Bbox.from_extents(*ax.transData.transform([(x0, y1), (x1, y0)]).ravel())
            inside = all(
                outer.x0 <= extent.x0 and extent.x1 <= outer.x1 and outer.y0 <= extent.y0 and extent.y1 <= outer.y1
                for outer in (frame_box, box)
            )
            if inside and not any(extent.overlaps(other) for other in placed):
                placed.append(extent)
                break
            text.remove()
        else:
            unlabelled += 1
    fig.rlsuite_unlabelled = unlabelled
    return fig


def _agent_on_forbidden(detections: Any, class_names: list[str]) -> bool:
    """Whether an agent box's centre lies inside a forbidden box (then orange shows around the agent's disk)."""
    if "agent" not in class_names or "forbidden" not in class_names:
        return False
    labels = np.asarray(detections.labels)
    boxes = np.asarray(detections.boxes, dtype=float)
    forbidden = boxes[labels == class_names.index("forbidden")]
    for x0, y0, x1, y1 in boxes[labels == class_names.index("agent")]:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        if any(f[0] <= cx <= f[2] and f[1] <= cy <= f[3] for f in forbidden):
            return True
    return False


def save_drawing(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Save the figure as it is laid out (no second layout pass, which could move the labels), atomically."""
    from rlsuite.common.io import atomic_path
    from rlsuite.common.plotting import pyplot

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    pyplot().close(fig)
    return Path(path)


def vision_section(out: Path, quick: bool) -> dict[str, Any]:
    """Load (or train, ~2-6 min on 2 cores) the default grid detector; measure it; draw a frame.

    The quick tour uses the full default when it was trained earlier, else a short training of its
    own (kept in the cache under its own config, so the default stays the full one).
    """
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401
    from rlsuite.vision.defaults import default_detector, default_detector_dir, finished_key
    from rlsuite.vision.detection import (
        DetectionPolicy,
        DetectorTrainConfig,
        evaluate_detector,
        policy_success_rate,
    )
    from rlsuite.vision.runtime import torch_threads

    full = DetectorTrainConfig()
    have_full = finished_key(default_detector_dir(full)) is not None
    config = full if have_full or not quick else DetectorTrainConfig(max_steps=150, eval_frames=50, eval_episodes=20)
    trained = default_detector(config)
    model = trained.model
    when = "trained earlier, reused" if trained.reused else "trained now"
    source = f"grid detector, {config.max_steps} training steps ({when}; {trained.folder})"
    frames, episodes = (100, 30) if quick else (300, 100)
    with torch_threads(config.threads):
        det = evaluate_detector(model, n_frames=frames, seed=31337)
        pol = policy_success_rate(DetectionPolicy(model), episodes=episodes, seed=4242)
    env = gym.make("rlsuite/PixelGridWorldRandom-v0", n_rows=6, n_cols=6, forbidden_fraction=0.25)
    obs, _ = env.reset(seed=7)
    threshold = 0.3
    fig = draw_detections(
        obs,
        model.detect(obs, threshold=threshold)[0],
        model.config.class_names,
        title=f"Grid detector on a random 6x6 layout (scores >= {threshold}; AP50 {det['AP50']:.2f} held out)",
    )
    save_drawing(fig, out / "vision_detections.png")
    return {
        "detector": source,
        "AP50 (held-out random layouts)": round(det["AP50"], 4),
        "AP50 per class": det["AP50_per_class"],
        "DetectionPolicy success (random solvable layouts)": pol["success_rate"],
        "episodes": pol["episodes"],
        "figure": "vision_detections.png",
    }
