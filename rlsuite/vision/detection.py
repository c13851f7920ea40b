"""A small CenterNet-style detector for the pixel grid world, AP50, and DetectionPolicy.

The detector (Zhou et al. 2019, "Objects as Points") predicts, at stride 4, one centre heat map
per class, the box size and the sub-pixel centre offset. GroupNorm rather than BatchNorm: it
trains stably on CPU with small batches. It is trained on frames of random layouts rendered by
:class:`~rlsuite.envs.pixels.PixelGridWorldEnv`, whose boxes are exact.

:class:`DetectionPolicy` reads a frame symbolically (detector -> grid of cells) and plans on the
read grid with exact value iteration (``rlsuite.agents.tabular.dp.value_iteration``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlsuite.common import progress
from rlsuite.common.config import Config, config_error, from_dict, option
from rlsuite.common.device import DEVICE_HELP, check_device_field
from rlsuite.common.errors import ConfigError, ModelFolderError
from rlsuite.envs.gridworld import GridWorldEnv, Layout
from rlsuite.envs.pixels import (
    AGENT,
    CLASS_NAMES,
    FORBIDDEN_CLASS,
    TARGET_CLASS,
    frame_annotations,
    layout_map,
)
from rlsuite.vision.folders import check_model_folder
from rlsuite.vision.images import as_frames

log = logging.getLogger(__name__)

STRIDE = 4
GRID_DETECTOR_TYPE = "rlsuite-grid-detector"


@dataclass
class Detections:
    """Detections of one image: ``boxes`` [N, 4] xyxy pixels, ``labels`` [N], ``scores`` [N] (numpy)."""

    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray

    def of_class(self, label: int, threshold: float = 0.0) -> Detections:
        keep = (self.labels == label) & (self.scores >= threshold)
        return Detections(self.boxes[keep], self.labels[keep], self.scores[keep])


def detections_on_host(
    boxes: torch.Tensor, labels: torch.Tensor, scores: torch.Tensor, keep: torch.Tensor
) -> list[Detections]:
    """Per-frame :class:`Detections` from fixed-shape tensors of a batch, in one copy to the host.

    Args:
        boxes: [B, K, 4] xyxy pixels; labels: [B, K]; scores: [B, K]; keep: [B, K] bool, the
            detections that count (e.g. above the threshold). Any device and floating dtype.

    The masking happens on the host, after the one transfer: ``boxes[b][keep[b]]`` on a GPU would
    make the host wait for every frame (a boolean mask's output size depends on the data).
    Labels travel as float32 (exact below 2**24 classes).
    """
    packed = torch.cat(
        [boxes.float(), labels[..., None].float(), scores[..., None].float(), keep[..., None].float()], dim=-1
    )
    host = packed.cpu().numpy()  # the batch's one host-device sync
    out = []
    for frame in host:
        kept = frame[frame[:, 6] > 0]
        out.append(Detections(kept[:, :4].copy(), kept[:, 4].astype(np.int64), kept[:, 5].copy()))
    return out


def padded_detections(results: list[dict[str, torch.Tensor]]) -> tuple[torch.Tensor, ...]:
    """transformers' per-frame post-processed results (``boxes``, ``labels``, ``scores`` of any lengths)
    as fixed-shape ``(boxes [B, K, 4], labels [B, K], scores [B, K], keep [B, K])`` on their device,
    K the longest; the padding is not kept. For :func:`detections_on_host`."""
    from torch.nn.utils.rnn import pad_sequence

    lengths = [len(r["scores"]) for r in results]
    device = results[0]["scores"].device
    width = max(lengths)
    keep = torch.arange(width, device=device)[None, :] < torch.tensor(lengths, device=device)[:, None]
    if width == 0:
        return torch.zeros(len(results), 0, 4, device=device), keep.long(), keep.float(), keep
    pad = lambda key: pad_sequence([r[key] for r in results], batch_first=True)  # noqa: E731
    return pad("boxes"), pad("labels"), pad("scores"), keep


# ----------------------------------------------------------------------------- the model
@dataclass
class GridDetectorConfig(Config):
    """Architecture of :class:`GridDetector`."""

    num_classes: int = option(len(CLASS_NAMES), help="number of object classes", ge=1)
    width: int = option(32, help="channels of the convolutional trunk (a multiple of 4: GroupNorm's groups)", ge=4)
    class_names: list[str] = option(default_factory=lambda: list(CLASS_NAMES), help="class names, one per class")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.width % 4:
            raise config_error(self, "width", f"{self.width} is not a multiple of 4")
        if len(self.class_names) != self.num_classes:
            raise config_error(
                self, "class_names", f"{len(self.class_names)} names for num_classes={self.num_classes}"
            )


def _block(c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.GroupNorm(4, c_out),
        nn.ReLU(inplace=True),
    )


class GridDetector(nn.Module):
    """CenterNet-style detector: heat maps [B, C, H/4, W/4], per-class sizes and offsets [B, 2C, H/4, W/4].

    Sizes and offsets are per class because objects of different classes share centres here
    (the agent's disk sits in the middle of a target or forbidden cell).
    """

    def __init__(self, config: GridDetectorConfig | None = None) -> None:
        super().__init__()
        self.config = config or GridDetectorConfig()
        w = self.config.width
        self.trunk = nn.Sequential(  # a 4x4 patch embedding, then 3x3 convolutions at stride 4
            nn.Conv2d(3, w, STRIDE, stride=STRIDE),
            nn.GroupNorm(4, w),
            nn.ReLU(inplace=True),
            _block(w, w),
            _block(w, w),
            _block(w, w, dilation=2),
            _block(w, w),
        )
        self.heatmap = nn.Conv2d(w, self.config.num_classes, 1)
        C = self.config.num_classes
        self.size = nn.Conv2d(w, 2 * C, 1)  # per class: box (w, h) in units of STRIDE pixels
        self.offset = nn.Conv2d(w, 2 * C, 1)  # per class: centre offset within the output pixel
        nn.init.constant_(self.heatmap.bias, -2.19)  # CenterNet's prior: sigmoid = 0.1

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """``images``: a uint8 tensor [B, H, W, 3] on the model's device; H and W multiples of 4.

        The training loop's raw path: :meth:`detect` checks and converts what users pass.
        """
        x = images.permute(0, 3, 1, 2).float() / 255.0
        h = self.trunk(x)
        return {"heatmap": self.heatmap(h), "size": self.size(h), "offset": self.offset(h)}

    @torch.no_grad()
    def detect(self, images: Any, threshold: float = 0.3, top_k: int = 100) -> list[Detections]:
        """Batched detection; boxes in input pixels.

        Args:
            images: uint8 RGB frames [H, W, 3] or [B, H, W, 3] (float in [0, 1] and channel-first
                are converted; see :func:`~rlsuite.vision.images.as_frames`); H and W multiples of 4.
            threshold: the lowest score kept.
            top_k: the most detections per frame.
        """
        frames, _ = as_frames(images, "images", multiple_of=STRIDE)
        device = next(self.parameters()).device
        out = self(torch.from_numpy(frames).to(device))
        heat = out["heatmap"].sigmoid()
        peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
        B, C, H, W = peaks.shape
        k = min(top_k, C * H * W)
        scores, idx = peaks.reshape(B, -1).topk(k)
        cls = idx // (H * W)
        pix = idx % (H * W)
        ys, xs = (pix // W), (pix % W)
        flat = (2 * cls[:, None] + torch.arange(2, device=device)[None, :, None]) * (H * W) + pix[:, None]
        size = out["size"].reshape(B, -1).gather(1, flat.reshape(B, -1)).reshape(B, 2, k)
        off = out["offset"].reshape(B, -1).gather(1, flat.reshape(B, -1)).reshape(B, 2, k)
        cx = (xs + off[:, 0]) * STRIDE
        cy = (ys + off[:, 1]) * STRIDE
        bw, bh = size[:, 0] * STRIDE, size[:, 1] * STRIDE
        boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], dim=-1)
        return detections_on_host(boxes, cls, scores, scores >= threshold)

    def save_pretrained(self, folder: str | Path) -> None:
        """``model.safetensors`` + ``config.json`` in ``folder`` (float32 weights, on the CPU)."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.detach().float().contiguous().cpu() for k, v in self.state_dict().items()},
            str(folder / "model.safetensors"),
        )
        (folder / "config.json").write_text(json.dumps({"model_type": GRID_DETECTOR_TYPE, **self.config.to_dict()}))

    @classmethod
    def from_pretrained(cls, folder: str | Path, device: str | torch.device = "cpu") -> GridDetector:
        """Load a folder written by :meth:`save_pretrained` onto ``device`` ("auto": CUDA when present).

        Raises:
            ModelFolderError: the folder is missing, incomplete, corrupt or not a grid detector's.
        """
        from safetensors.torch import load_file

        from rlsuite.common.device import select_device

        dev = device if isinstance(device, torch.device) else select_device(device)
        folder = Path(folder)
        cfg = check_model_folder(folder)
        if cfg.pop("model_type", None) != GRID_DETECTOR_TYPE:
            raise ModelFolderError(f"{folder}: config.json is not an rlsuite grid detector's")
        try:
            config = from_dict(GridDetectorConfig, cfg, where="config.json")
        except ConfigError as exc:
            raise ModelFolderError(f"{folder}: {exc}") from exc
        model = cls(config)
        try:
            model.load_state_dict(load_file(str(folder / "model.safetensors"), device="cpu"))
        except RuntimeError as exc:  # missing, unexpected or mis-shaped tensors
            first = str(exc).strip().splitlines()[0]
            raise ModelFolderError(f"{folder}: model.safetensors does not fit config.json ({first})") from exc
        return model.to(dev).eval()


# ----------------------------------------------------------------------------- data and training
@dataclass
class DetectorTrainConfig(Config):
    """Training of the default grid detector on rendered frames of random layouts, and its measurement."""

    max_steps: int = option(400, help="optimisation steps (the LR schedule spans them)", ge=1, aliases=["--budget"])
    seconds: float = option(900.0, help="wall-clock cap on training in seconds (max_steps normally ends it)", gt=0)
    batch_size: int = option(32, help="frames per step", ge=1)
    lr: float = option(3e-3, help="peak AdamW learning rate (one-cycle schedule)", gt=0)
    width: int = option(32, help="channels of the detector's convolutional trunk (a multiple of 4)", ge=4)
    min_size: int = option(3, help="smallest grid side drawn", ge=2)
    max_size: int = option(7, help="largest grid side drawn", ge=2, le=32)
    max_forbidden_fraction: float = option(0.35, help="forbidden fraction of a layout ~ U(0, this)", ge=0.0, le=0.5)
    cell_px: int = option(16, help="pixels per cell (a multiple of 4, the detector's stride)", ge=4)
    eval_frames: int = option(300, help="held-out frames of random layouts for AP50, after training", ge=1)
    eval_episodes: int = option(
        200, help="random solvable layouts for DetectionPolicy's success rate, after training", ge=1
    )
    seed: int = option(0, help="seed of layouts and weights", ge=0)
    device: str = option("auto", help=DEVICE_HELP)
    threads: int = option(0, help="torch CPU threads (0: one, or OMP_NUM_THREADS when set)", ge=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_device_field(self)
        if self.cell_px % STRIDE:
            raise config_error(self, "cell_px", f"{self.cell_px} is not a multiple of {STRIDE} (the detector's stride)")
        if self.width % 4:
            raise config_error(self, "width", f"{self.width} is not a multiple of 4")
        if self.min_size > self.max_size:
            raise config_error(self, "min_size", f"{self.min_size} is larger than max_size={self.max_size}")


def render_batch(
    rng: np.random.Generator, n: int, n_rows: int, n_cols: int, cell_px: int, max_forbidden_fraction: float
) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """``n`` frames of random layouts and agent positions with their exact (boxes, labels)."""
    frames, targets = [], []
    for _ in range(n):
        layout = Layout.random(n_rows, n_cols, float(rng.uniform(0, max_forbidden_fraction)), rng)
        world = GridWorldEnv(grid_map=layout_map(layout), cell_px=cell_px)
        s = int(rng.integers(world.n_states))
        frames.append(world.render_rgb(state=s))
        targets.append(frame_annotations(world, state=s))
    return np.stack(frames), targets


def _targets(targets: list[tuple[np.ndarray, np.ndarray]], C: int, H: int, W: int) -> dict[str, torch.Tensor]:
    """CenterNet targets: Gaussian heat maps, and size / offset at each object's centre pixel."""
    B = len(targets)
    heat = np.zeros((B, C, H, W), np.float32)
    size = np.zeros((B, C, 2, H, W), np.float32)
    off = np.zeros((B, C, 2, H, W), np.float32)
    mask = np.zeros((B, C, 2, H, W), np.float32)
    yy, xx = np.mgrid[0:H, 0:W]
    for b, (boxes, labels) in enumerate(targets):
        for (x0, y0, x1, y1), c in zip(boxes, labels, strict=True):
            cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
            ix, iy = min(int(cx), W - 1), min(int(cy), H - 1)
            sigma = max(0.5, min(x1 - x0, y1 - y0) / STRIDE / 6)
            g = np.exp(-((xx - ix) ** 2 + (yy - iy) ** 2) / (2 * sigma**2))
            heat[b, c] = np.maximum(heat[b, c], g)
            size[b, c, :, iy, ix] = ((x1 - x0) / STRIDE, (y1 - y0) / STRIDE)
            off[b, c, :, iy, ix] = (cx - ix, cy - iy)
            mask[b, c, :, iy, ix] = 1.0
    size, off, mask = (v.reshape(B, 2 * C, H, W) for v in (size, off, mask))
    return {
        k: torch.from_numpy(v)
        for k, v in (("heatmap", heat), ("size", size), ("offset", off), ("mask", mask))
    }


def centernet_loss(out: dict[str, torch.Tensor], tgt: dict[str, torch.Tensor]) -> torch.Tensor:
    """Focal loss on the heat maps (CenterNet's alpha=2, beta=4) + L1 on size (x0.1) and offset."""
    pred = out["heatmap"].sigmoid().clamp(1e-4, 1 - 1e-4)
    gt = tgt["heatmap"]
    pos = gt.eq(1).float()
    pos_loss = torch.log(pred) * (1 - pred) ** 2 * pos
    neg_loss = torch.log(1 - pred) * pred**2 * (1 - gt) ** 4 * (1 - pos)
    n_pos = pos.sum().clamp(min=1)
    focal = -(pos_loss.sum() + neg_loss.sum()) / n_pos
    m = tgt["mask"]
    l1 = lambda a, b: F.l1_loss(a * m, b * m, reduction="sum") / m.sum().clamp(min=1)  # noqa: E731
    return focal + 0.1 * l1(out["size"], tgt["size"]) + l1(out["offset"], tgt["offset"])


def train_detector(
    config: DetectorTrainConfig, device: torch.device | None = None
) -> tuple[GridDetector, dict[str, Any]]:
    """Train a :class:`GridDetector` from scratch on rendered random layouts (float32, on ``config.device``).

    Returns:
        ``(model, info)``: info holds the steps taken, seconds, the first and final loss, parameters.
    """
    from rlsuite.common.device import select_device
    from rlsuite.common.seeding import seed_everything
    from rlsuite.vision.runtime import DeviceLosses, torch_threads

    device = select_device(config.device) if device is None else device  # resolved by the caller, once
    rng = seed_everything(config.seed)
    with torch_threads(config.threads):
        model = GridDetector(GridDetectorConfig(width=config.width)).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.max_steps, pct_start=0.1)
        t0, step, losses = time.perf_counter(), 0, DeviceLosses(config.max_steps, device)
        with progress.task("train grid detector", total=config.max_steps, unit="step") as bar:
            while step < config.max_steps and time.perf_counter() - t0 < config.seconds:
                n_rows, n_cols = (int(v) for v in rng.integers(config.min_size, config.max_size + 1, size=2))
                frames, targets = render_batch(
                    rng, config.batch_size, n_rows, n_cols, config.cell_px, config.max_forbidden_fraction
                )
                H, W = frames.shape[1] // STRIDE, frames.shape[2] // STRIDE
                tgt = {k: v.to(device) for k, v in _targets(targets, model.config.num_classes, H, W).items()}
                loss = centernet_loss(model(torch.from_numpy(frames).to(device)), tgt)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.add(loss)  # on the device: read once, after training (or when debugging)
                step += 1
                bar.advance()
                if step % 100 == 0 and log.isEnabledFor(logging.DEBUG):
                    log.debug("step %d: loss %.4f (%.0f s)", step, losses.host(100).mean(), time.perf_counter() - t0)
        model.eval()
    info = {
        "steps": step,
        "seconds": round(time.perf_counter() - t0, 1),
        **losses.summary(first=10, final=50),
        "params": sum(p.numel() for p in model.parameters()),
    }
    log.info("grid detector: %d steps in %.0f s, loss %.3f -> %.3f", step, info["seconds"], info["first_loss"],
             info["final_loss"])
    return model, info


# ----------------------------------------------------------------------------- evaluation
def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of xyxy boxes: [N, 4] x [M, 4] -> [N, M]."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]).clip(0) * (x[:, 3] - x[:, 1]).clip(0)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def average_precision(
    detections: list[Detections],
    truths: list[tuple[np.ndarray, np.ndarray]],
    num_classes: int,
    iou: float = 0.5,
) -> dict[int, float]:
    """Per-class AP at an IoU threshold (VOC all-point interpolation, greedy matching by score).

    A detection is a true positive when its IoU with a still unmatched true box of its class is at
    least ``iou`` (0.5: AP50, PASCAL VOC's rule).
    """
    aps: dict[int, float] = {}
    for c in range(num_classes):
        n_true = sum(int((lab == c).sum()) for _, lab in truths)
        if n_true == 0:
            continue
        records = []  # (score, is_true_positive)
        for det, (boxes, labels) in zip(detections, truths, strict=True):
            d = det.of_class(c)
            gt = boxes[labels == c]
            order = np.argsort(-d.scores)
            used = np.zeros(len(gt), bool)
            ious = box_iou(d.boxes[order], gt) if len(gt) else np.zeros((len(order), 0))
            for i, j in enumerate(order):
                best = int(np.argmax(np.where(used, -1, ious[i]))) if len(gt) else -1
                hit = best >= 0 and not used[best] and ious[i, best] >= iou
                if hit:
                    used[best] = True
                records.append((float(d.scores[j]), hit))
        if not records:
            aps[c] = 0.0
            continue
        records.sort(key=lambda r: -r[0])
        tp = np.cumsum([r[1] for r in records])
        fp = np.cumsum([not r[1] for r in records])
        recall = np.concatenate([[0.0], tp / n_true, [1.0]])
        precision = np.concatenate([[1.0], tp / np.maximum(tp + fp, 1), [0.0]])
        precision = np.maximum.accumulate(precision[::-1])[::-1]
        steps = np.flatnonzero(recall[1:] != recall[:-1])
        aps[c] = float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))
    return aps


def evaluate_detector(
    model: GridDetector,
    n_frames: int = 300,
    seed: int = 12345,
    cell_px: int = 16,
    sizes: tuple[int, int] = (3, 7),
    max_forbidden_fraction: float = 0.35,
    batch_size: int = 50,
) -> dict[str, Any]:
    """AP50 on held-out frames of random layouts (a seed the training never uses)."""
    rng = np.random.default_rng(seed)
    dets: list[Detections] = []
    truths: list[tuple[np.ndarray, np.ndarray]] = []
    with progress.task("AP50 on held-out frames", total=n_frames, unit="frame") as bar:
        for start in range(0, n_frames, batch_size):
            n_rows, n_cols = (int(v) for v in rng.integers(sizes[0], sizes[1] + 1, size=2))
            frames, targets = render_batch(
                rng, min(batch_size, n_frames - start), n_rows, n_cols, cell_px, max_forbidden_fraction
            )
            dets += model.detect(frames, threshold=0.05)
            truths += targets
            bar.advance(len(frames))
    aps = average_precision(dets, truths, model.config.num_classes)
    names = model.config.class_names
    return {
        "AP50": float(np.mean(list(aps.values()))),
        "AP50_per_class": {names[c]: round(v, 4) for c, v in aps.items()},
        "frames": n_frames,
    }


# ----------------------------------------------------------------------------- policy
@dataclass
class DetectionPolicyConfig(Config):
    """How :class:`DetectionPolicy` reads frames and plans."""

    cell_px: int = option(16, help="pixels per cell of the frames", ge=1)
    threshold: float = option(0.3, help="detection score threshold", ge=0.0, le=1.0)
    gamma: float = option(0.9, help="discount of the planner", ge=0.0, lt=1.0)
    r_forbidden: float = option(-1.0, help="planner's reward for entering a forbidden cell")
    r_boundary: float = option(-1.0, help="planner's reward for bumping into the wall")


class DetectionPolicy:
    """Detector -> symbolic grid -> exact value iteration -> action (batched, SB3-style ``predict``).

    The frame's grid size is its pixel size over ``cell_px``. Each detection's box centre names a
    cell: the best-scoring agent and target, and every forbidden cell above the threshold. The
    plan is ``value_iteration`` on the read grid as an episodic GridWorld (cached per layout).
    """

    def __init__(self, detector: GridDetector, config: DetectionPolicyConfig | None = None) -> None:
        self.detector = detector
        self.config = config or DetectionPolicyConfig()
        self._plans: dict[bytes, np.ndarray] = {}

    def read_grid(self, det: Detections, n_rows: int, n_cols: int) -> tuple[Layout | None, int | None]:
        """The layout and agent state a frame's detections describe (None where unreadable)."""
        px, thr = self.config.cell_px, self.config.threshold

        def cell(box: np.ndarray) -> tuple[int, int]:
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            return min(max(int(cy // px), 0), n_rows - 1), min(max(int(cx // px), 0), n_cols - 1)

        agents, targets = det.of_class(AGENT), det.of_class(TARGET_CLASS)
        if not len(agents.scores) or not len(targets.scores):
            return None, None
        kinds = np.zeros((n_rows, n_cols), np.int8)
        for box in det.of_class(FORBIDDEN_CLASS, thr).boxes:
            kinds[cell(box)] = 1
        target = cell(targets.boxes[int(np.argmax(targets.scores))])
        kinds[target] = 2
        ar, ac = cell(agents.boxes[int(np.argmax(agents.scores))])
        return Layout(kinds, target), ar * n_cols + ac

    def _q(self, layout: Layout) -> np.ndarray:
        key = layout.kinds.tobytes() + bytes(layout.shape)
        if key not in self._plans:
            from rlsuite.agents.tabular.dp import value_iteration
            from rlsuite.envs.model import tabular_model

            world = GridWorldEnv(
                grid_map=layout_map(layout),
                terminate_at_target=True,
                start="random",
                r_forbidden=self.config.r_forbidden,
                r_boundary=self.config.r_boundary,
            )
            _, q, _ = value_iteration(tabular_model(world), gamma=self.config.gamma)
            if len(self._plans) > 4096:
                self._plans.clear()
            self._plans[key] = q
        return self._plans[key]

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> tuple[np.ndarray, None]:
        """Actions for one frame [H, W, 3] or a batch [B, H, W, 3], like SB3's ``predict``.

        The frames' height and width must be multiples of ``config.cell_px`` (the grid is read from them).
        """
        frames, single = as_frames(observation, "observation", multiple_of=self.config.cell_px)
        n_rows, n_cols = frames.shape[1] // self.config.cell_px, frames.shape[2] // self.config.cell_px
        actions = np.full(len(frames), 4, dtype=np.int64)  # "stay" where the frame is unreadable
        for i, det in enumerate(self.detector.detect(frames, threshold=min(0.05, self.config.threshold))):
            layout, s = self.read_grid(det, n_rows, n_cols)
            if layout is not None and s is not None:
                actions[i] = int(self._q(layout)[s].argmax())
        return (actions[0] if single else actions), None


def policy_success_rate(
    policy: DetectionPolicy,
    episodes: int = 200,
    seed: int = 777,
    sizes: tuple[int, int] = (4, 7),
    forbidden_fraction: float = 0.25,
    max_steps: int = 100,
) -> dict[str, Any]:
    """Fraction of random solvable layouts (new layout and start per episode) whose target is reached."""
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401

    rng = np.random.default_rng(seed)
    successes, taken_steps = 0, []
    with progress.task("DetectionPolicy episodes", total=episodes, unit="episode") as bar:
        for ep in range(episodes):
            n = int(rng.integers(sizes[0], sizes[1] + 1))
            env = gym.make(
                "rlsuite/PixelGridWorldRandom-v0",
                n_rows=n,
                n_cols=n,
                forbidden_fraction=forbidden_fraction,
                cell_px=policy.config.cell_px,
                max_episode_steps=max_steps,
            )
            obs, _ = env.reset(seed=seed * 1000 + ep)
            for t in range(max_steps):
                action, _ = policy.predict(obs)
                obs, _, terminated, truncated, _ = env.step(int(action))
                if terminated:
                    successes += 1
                    taken_steps.append(t + 1)
                    break
                if truncated:
                    break
            env.close()
            bar.advance()
    return {
        "success_rate": successes / episodes,
        "episodes": episodes,
        "mean_steps_when_solved": float(np.mean(taken_steps)) if taken_steps else None,
    }
