"""Detector-based rewards: a frame is scored against a target spec (presence, count, IoU, GIoU).

Anchors: GenEval's object presence and counting checks, Visual-RFT's IoU reward. Predicted and
target boxes of the same class are paired by Hungarian matching (``scipy.optimize.linear_sum_assignment``)
on IoU, so the reward does not depend on the order detections come out in.

:class:`DetectionRewardModel` runs any local ``AutoModelForObjectDetection`` folder (DETR,
RT-DETR, YOLOS, ...) with its image processor, an open-vocabulary one (OWL-ViT, OWLv2, Grounding
DINO, MM-Grounding-DINO) whose classes are text queries, or rlsuite's grid detector, batched on the device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rlsuite.vision.detection import (
    GRID_DETECTOR_TYPE,
    STRIDE,
    Detections,
    GridDetector,
    box_iou,
    detections_on_host,
    padded_detections,
)
from rlsuite.vision.folders import check_model_folder
from rlsuite.vision.images import as_frames

RewardKind = Literal["presence", "count", "iou", "giou"]
# Model types whose classes are text queries (AutoModelForZeroShotObjectDetection).
GROUNDING_TYPES = ("grounding-dino", "mm-grounding-dino")  # one prompt "a. b." whose phrases are the classes
OPEN_VOCABULARY_TYPES = ("owlvit", "owlv2", *GROUNDING_TYPES)


@dataclass
class DetectionTarget:
    """What a frame should show.

    Args:
        present: class names that must be detected at least once.
        counts: class name -> exact number of instances.
        boxes: (class name, [x0, y0, x1, y1] pixel box) pairs that detections should cover.
    """

    present: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    boxes: list[tuple[str, Sequence[float]]] = field(default_factory=list)


def box_giou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise generalised IoU (Rezatofighi et al. 2019) of xyxy boxes: [N, 4] x [M, 4] -> [N, M]."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    iou = box_iou(a, b)
    area = lambda x: (x[:, 2] - x[:, 0]).clip(0) * (x[:, 3] - x[:, 1]).clip(0)  # noqa: E731
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    union = area(a)[:, None] + area(b)[None, :] - inter
    hull = (np.maximum(a[:, None, 2:], b[None, :, 2:]) - np.minimum(a[:, None, :2], b[None, :, :2])).prod(-1)
    return iou - np.where(hull > 0, (hull - union) / np.maximum(hull, 1e-12), 0.0)


def matched_box_reward(
    det: Detections, target_boxes: np.ndarray, target_labels: np.ndarray, giou: bool = False
) -> float:
    """Mean (G)IoU of each target box with its Hungarian-matched detection of the same class.

    A target box left without a detection scores 0 (IoU) or -1 (GIoU); extra detections are
    ignored (the presence and count rewards judge those).
    """
    from scipy.optimize import linear_sum_assignment

    if len(target_boxes) == 0:
        return 1.0
    worst = -1.0 if giou else 0.0
    total = 0.0
    for c in np.unique(target_labels):
        tb = target_boxes[target_labels == c]
        pb = det.boxes[det.labels == c]
        if len(pb) == 0:
            total += worst * len(tb)
            continue
        sim = box_giou(tb, pb) if giou else box_iou(tb, pb)
        rows, cols = linear_sum_assignment(-sim)
        total += float(sim[rows, cols].sum()) + worst * (len(tb) - len(rows))
    return total / len(target_boxes)


def detection_reward(
    det: Detections, target: DetectionTarget, class_names: Sequence[str], kind: RewardKind = "iou"
) -> float:
    """One frame's reward against ``target``: presence and count in [0, 1], IoU in [0, 1], GIoU in [-1, 1]."""
    index = {name: i for i, name in enumerate(class_names)}

    def label(name: str) -> int:
        if name not in index:
            raise ValueError(f"DetectionTarget names class {name!r}; the detector knows {list(class_names)}")
        return index[name]

    if kind == "presence":
        if not target.present:
            raise ValueError("kind='presence' needs DetectionTarget.present")
        return float(np.mean([(det.labels == label(n)).any() for n in target.present]))
    if kind == "count":
        if not target.counts:
            raise ValueError("kind='count' needs DetectionTarget.counts")
        return float(np.mean([(det.labels == label(n)).sum() == k for n, k in target.counts.items()]))
    if kind in ("iou", "giou"):
        if not target.boxes:
            raise ValueError(f"kind={kind!r} needs DetectionTarget.boxes")
        tb = np.array([b for _, b in target.boxes], dtype=np.float64).reshape(-1, 4)
        tl = np.array([label(n) for n, _ in target.boxes])
        return matched_box_reward(det, tb, tl, giou=kind == "giou")
    raise ValueError(f"kind must be 'presence', 'count', 'iou' or 'giou', got {kind!r}")


class DetectionRewardModel:
    """A detector that scores frames against a :class:`DetectionTarget`, batched on the device.

    Args:
        model: a ``transformers`` object-detection model, an open-vocabulary one (OWL-ViT, OWLv2,
            Grounding DINO, MM-Grounding-DINO: ``AutoModelForZeroShotObjectDetection``), or a :class:`GridDetector`.
        processor: the model's image processor, or the full processor of an open-vocabulary model
            (``None`` for the grid detector).
        queries: the class names an open-vocabulary model is asked to find (its label order);
            defaults to ``CLASS_NAMES``.
        threshold: score threshold of the detections that count, in [0, 1].
        device: "auto", "cpu" or "cuda".
        dtype: "auto" (inference: bfloat16 on CUDA, float32 on CPU), "float32" or "bfloat16" (HF
            models; the grid detector runs in float32). The model is moved to the device and dtype
            in place: pass ``"float32"`` to measure a model that is still being trained or saved.
    """

    def __init__(
        self,
        model: Any,
        processor: Any = None,
        threshold: float = 0.5,
        device: str = "auto",
        dtype: str = "auto",
        queries: Sequence[str] | None = None,
    ) -> None:
        import torch

        from rlsuite.common.device import select_device
        from rlsuite.envs.pixels import CLASS_NAMES
        from rlsuite.vision.runtime import resolve_dtype

        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"threshold: expected a score in [0, 1], got {threshold!r}")
        self.device = select_device(device)
        self.threshold = float(threshold)
        self.processor = processor
        self.is_grid = isinstance(model, GridDetector)
        self.open_vocabulary = getattr(model.config, "model_type", "") in OPEN_VOCABULARY_TYPES
        self.grounding = getattr(model.config, "model_type", "") in GROUNDING_TYPES
        self.queries = list(queries) if queries is not None else list(CLASS_NAMES)
        if self.grounding and any("." in q or not q.strip() for q in self.queries):
            raise ValueError(f"Grounding DINO queries must be non-empty, without '.' (ends a phrase): {self.queries}")
        if self.is_grid:
            self.class_names: list[str] = list(model.config.class_names)
            self.dtype = torch.float32
        else:
            if processor is None:
                raise ValueError("DetectionRewardModel: a transformers detector needs its image processor")
            if self.open_vocabulary:
                self.class_names = list(self.queries)
            else:
                id2label = model.config.id2label
                self.class_names = [id2label[i] for i in sorted(id2label)]
            self.dtype = resolve_dtype(dtype, self.device)
        self.model = model.to(self.device, dtype=self.dtype).eval()

    @classmethod
    def from_pretrained(
        cls,
        folder: str | Path,
        threshold: float = 0.5,
        device: str = "auto",
        dtype: str = "auto",
        queries: Sequence[str] | None = None,
    ) -> DetectionRewardModel:
        """Load a local folder: the grid detector, an ``AutoModelForObjectDetection`` or an open-vocabulary one.

        Raises:
            ModelFolderError: the folder is missing, incomplete or corrupt (one line naming it).
        """
        folder = Path(folder)
        model_type = check_model_folder(folder).get("model_type")
        if model_type == GRID_DETECTOR_TYPE:
            return cls(GridDetector.from_pretrained(folder), threshold=threshold, device=device)
        if model_type in OPEN_VOCABULARY_TYPES:
            from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

            model = AutoModelForZeroShotObjectDetection.from_pretrained(folder, use_safetensors=True)
            processor = AutoProcessor.from_pretrained(folder, backend="pil")
            return cls(model, processor, threshold=threshold, device=device, dtype=dtype, queries=queries)
        from transformers import AutoImageProcessor, AutoModelForObjectDetection

        model = AutoModelForObjectDetection.from_pretrained(folder, use_safetensors=True)
        processor = AutoImageProcessor.from_pretrained(folder, backend="pil")
        return cls(model, processor, threshold=threshold, device=device, dtype=dtype)

    def detect(self, images: Any) -> list[Detections]:
        """Detections for RGB frames, one forward pass.

        Args:
            images: uint8 ``[H, W, 3]`` or ``[B, H, W, 3]`` (float in [0, 1] and channel-first are
                converted; see :func:`~rlsuite.vision.images.as_frames`). The grid detector needs
                heights and widths that are multiples of 4.
        """
        frames, _ = as_frames(images, "images", multiple_of=STRIDE if self.is_grid else 1)
        if self.is_grid:
            return self.model.detect(frames, threshold=self.threshold)
        sizes = [(frames.shape[1], frames.shape[2])] * len(frames)
        if self.open_vocabulary:  # the queries are text labels (Grounding DINO: joined "a. b.")
            texts = [list(self.queries)] * len(frames)
            inputs = self.processor(text=texts, images=list(frames), return_tensors="pt", padding=True)
            outputs = self._forward(inputs)
            if self.grounding:  # the label maps are built from input_ids, on the logits' device
                return self._grounded_detections(outputs, inputs["input_ids"], sizes)
            results = self.processor.post_process_grounded_object_detection(
                outputs, threshold=self.threshold, target_sizes=sizes, text_labels=texts
            )
        else:
            inputs = self.processor(images=list(frames), return_tensors="pt")
            outputs = self._forward(inputs)
            results = self.processor.post_process_object_detection(
                outputs, threshold=self.threshold, target_sizes=sizes
            )
        return detections_on_host(*padded_detections(results))  # the batch in one copy to the host

    def _grounded_detections(
        self, outputs: Any, input_ids: Any, sizes: list[tuple[int, int]]
    ) -> list[Detections]:
        """Grounding DINO's boxes labelled by query: each box's class is its best phrase (see
        :func:`grounding_class_scores`), its score that phrase's score, kept above the threshold."""
        import torch
        from transformers.image_transforms import center_to_corners_format

        scores, labels = grounding_class_scores(outputs.logits, input_ids, self.queries).max(-1)
        h, w = torch.tensor(sizes, dtype=torch.float32, device=scores.device).unbind(1)
        boxes = center_to_corners_format(outputs.pred_boxes) * torch.stack([w, h, w, h], 1)[:, None]
        return detections_on_host(boxes, labels, scores, scores > self.threshold)

    def _forward(self, inputs: Any) -> Any:
        """One no-grad forward pass on the model's device and dtype; logits and boxes back in float32."""
        import torch

        inputs = {
            k: (v.to(self.device, self.dtype) if v.is_floating_point() else v.to(self.device))
            for k, v in inputs.items()
        }
        with torch.no_grad():
            outputs = self.model(**inputs)
        outputs.logits = outputs.logits.float()
        outputs.pred_boxes = outputs.pred_boxes.float()
        return outputs

    def rewards(
        self, images: Any, target: DetectionTarget | Sequence[DetectionTarget], kind: RewardKind = "iou"
    ) -> np.ndarray:
        """Rewards [B] of a batch of frames against one target, or one target per frame."""
        if not isinstance(target, DetectionTarget) and len(target) == 0:
            raise ValueError("target: an empty list of targets; pass one DetectionTarget or one per frame")
        dets = self.detect(images)
        targets = [target] * len(dets) if isinstance(target, DetectionTarget) else list(target)
        if len(targets) != len(dets):
            raise ValueError(f"target: {len(targets)} targets for {len(dets)} frames (one, or one per frame)")
        return np.array(
            [detection_reward(d, t, self.class_names, kind) for d, t in zip(dets, targets, strict=True)]
        )


def grounding_class_scores(logits: Any, input_ids: Any, queries: Sequence[str]) -> Any:
    """Per-query scores [B, boxes, queries] of Grounding DINO's token logits [B, boxes, max_text_len].

    The prompt ``"q0. q1. ..."`` is split into phrases at the delimiter tokens (transformers'
    ``build_label_maps``: BERT's ``[CLS]``, ``[SEP]``, ``.``, ``?`` and padding); a query's score is
    the mean sigmoid over its phrase's tokens (mmdetection's closed-set scoring of Grounding DINO).
    The processor's own post-processing instead decodes the tokens above a threshold into text
    labels, which may span several phrases or the delimiters; this maps each box to one query.
    """
    import torch
    from transformers.models.grounding_dino.modeling_grounding_dino import build_label_maps

    # The label maps come from the ids alone; built where the processor left them (the host: ``unique``
    # on a GPU would make the host wait once per frame), then moved to the logits' device in one copy.
    width = logits.shape[-1]
    label_maps = build_label_maps(torch.empty(0, width), input_ids.cpu())
    for label_map in label_maps:
        if label_map.shape[0] != len(queries):
            raise ValueError(
                f"the Grounding DINO prompt splits into {label_map.shape[0]} phrases for {len(queries)} queries "
                f"{list(queries)} (its tokenizer must give [CLS], [SEP] and '.' BERT's ids 101, 102, 1012)"
            )
    probs = logits.float().sigmoid()
    maps = torch.stack(label_maps).to(probs.device, probs.dtype)  # [B, queries, max_text_len]
    return probs @ maps.transpose(1, 2) / maps.sum(2)[:, None, :]


class ModelRewardWrapper(gym.Wrapper):
    """Replace or add to an env's reward with a model's reward on the observed frame.

    Subclasses implement :meth:`model_reward`; ``info`` gets ``env_reward`` and ``<info_key>``.

    Args:
        env: an env whose observation is an RGB frame (or a Dict with ``"image"``).
        mode: "replace" the env's reward, or "add" ``scale * model reward`` to it.
        scale: weight of the model's reward.
    """

    info_key = "model_reward"

    def __init__(
        self, env: gym.Env[Any, Any], mode: Literal["replace", "add"] = "replace", scale: float = 1.0
    ) -> None:
        super().__init__(env)
        if mode not in ("replace", "add"):
            raise ValueError(f"mode must be 'replace' or 'add', got {mode!r}")
        self.mode, self.scale = mode, scale

    def model_reward(self, frame: np.ndarray, info: dict[str, Any]) -> float:
        raise NotImplementedError

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        frame = obs["image"] if isinstance(obs, dict) else obs
        r = self.model_reward(frame, info)
        info = dict(info, env_reward=reward, **{self.info_key: r})
        new = self.scale * r if self.mode == "replace" else reward + self.scale * r
        return obs, new, terminated, truncated, info


class DetectionRewardWrapper(ModelRewardWrapper):
    """Replace or add to an env's reward with a detector's reward on the rendered observation.

    Args:
        env: an env whose observation is an RGB frame (or a Dict with ``"image"``).
        reward_model: the :class:`DetectionRewardModel`.
        target: a fixed :class:`DetectionTarget`, or ``f(info) -> DetectionTarget`` per step.
        kind: "presence", "count", "iou" or "giou".
        mode: "replace" the env's reward, or "add" ``scale * detector reward`` to it.
        scale: weight of the detector's reward.
    """

    info_key = "detector_reward"

    def __init__(
        self,
        env: gym.Env[Any, Any],
        reward_model: DetectionRewardModel,
        target: DetectionTarget | Callable[[dict[str, Any]], DetectionTarget],
        kind: RewardKind = "iou",
        mode: Literal["replace", "add"] = "replace",
        scale: float = 1.0,
    ) -> None:
        super().__init__(env, mode, scale)
        self.reward_model, self.target, self.kind = reward_model, target, kind

    def model_reward(self, frame: np.ndarray, info: dict[str, Any]) -> float:
        target = self.target(info) if callable(self.target) else self.target
        return float(self.reward_model.rewards(frame, target, self.kind)[0])


# ----------------------------------------------------------------------------- vision-language rewards
class VLMRewardModel:
    """VLM-RMs' goal-baseline reward from a CLIP/SigLIP-style model (Rocamonde et al. 2023).

    With unit embeddings ``s`` (frame), ``g`` (goal text) and ``b`` (baseline text), the reward is
    ``R(s) = 1 - 0.5 * |P (s - g)|^2`` where ``P = alpha * d d^T / |d|^2 + (1 - alpha) I`` projects
    onto the goal-minus-baseline direction ``d = g - b``. ``alpha = 0`` is plain cosine similarity
    to the goal.

    Args:
        model: a transformers dual encoder with ``get_image_features`` / ``get_text_features``.
        processor: its image processor; tokenizer: its tokenizer.
        goal: the goal text; baseline: the baseline text (a neutral description of the scene).
        alpha: the projection strength in [0, 1].
        device: "auto", "cpu" or "cuda".
        dtype: "auto" (inference: bfloat16 on CUDA, float32 on CPU), "float32" or "bfloat16". The
            model is moved to the device and dtype in place: pass ``"float32"`` to measure a model
            that is still being trained or saved (it stays float32 then).
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        tokenizer: Any,
        goal: str,
        baseline: str = "a grid world",
        alpha: float = 0.5,
        device: str = "auto",
        dtype: str = "auto",
    ) -> None:

        from rlsuite.common.device import select_device
        from rlsuite.vision.runtime import resolve_dtype

        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
        self.device = select_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.model = model.to(self.device, dtype=self.dtype).eval()
        self.processor, self.tokenizer, self.alpha = processor, tokenizer, float(alpha)
        self.set_goal(goal, baseline)

    @classmethod
    def from_pretrained(
        cls,
        folder: str | Path,
        goal: str,
        baseline: str = "a grid world",
        alpha: float = 0.5,
        device: str = "auto",
        dtype: str = "auto",
    ) -> VLMRewardModel:
        """Load model, image processor and tokenizer from one local folder (safetensors only).

        Raises:
            ModelFolderError: the folder is missing, incomplete or corrupt (one line naming it).
        """
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

        folder = Path(folder)
        check_model_folder(folder)
        model = AutoModel.from_pretrained(folder, use_safetensors=True)
        processor = AutoImageProcessor.from_pretrained(folder, backend="pil")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        return cls(model, processor, tokenizer, goal, baseline, alpha=alpha, device=device, dtype=dtype)

    @staticmethod
    def _pooled(out: Any) -> Any:
        return out.pooler_output if hasattr(out, "pooler_output") else out

    def embed_texts(self, texts: Sequence[str]) -> Any:
        """Unit text embeddings [T, D] (float32, on the device)."""
        import torch

        enc = self.tokenizer(list(texts), padding=True, return_tensors="pt").to(self.device)
        with torch.no_grad():
            emb = self._pooled(self.model.get_text_features(**enc)).float()
        return torch.nn.functional.normalize(emb, dim=-1)

    def embed_images(self, images: Any) -> Any:
        """Unit image embeddings [B, D] of RGB frames in one forward pass.

        Args:
            images: uint8 ``[H, W, 3]`` or ``[B, H, W, 3]`` (float in [0, 1] and channel-first are
                converted; see :func:`~rlsuite.vision.images.as_frames`).
        """
        import torch

        frames, _ = as_frames(images, "images")
        pixels = self.processor(images=list(frames), return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            emb = self._pooled(
                self.model.get_image_features(pixel_values=pixels.to(self.device, self.dtype))
            ).float()
        return torch.nn.functional.normalize(emb, dim=-1)

    def set_goal(self, goal: str, baseline: str | None = None) -> None:
        """Embed a new goal (and baseline) once; later rewards reuse them."""
        import torch

        self.goal = goal
        self.baseline = baseline if baseline is not None else getattr(self, "baseline", "a grid world")
        g, b = self.embed_texts([self.goal, self.baseline])
        d = g - b
        d = d / d.norm().clamp(min=1e-8)
        eye = torch.eye(len(g), device=self.device)
        self._g = g
        self._projection = self.alpha * torch.outer(d, d) + (1 - self.alpha) * eye

    def rewards(self, images: Any) -> np.ndarray:
        """Rewards [B] of a batch of frames for the current goal."""
        s = self.embed_images(images)
        diff = (s - self._g) @ self._projection
        return (1 - 0.5 * (diff**2).sum(-1)).cpu().numpy()


class VLMRewardWrapper(ModelRewardWrapper):
    """Replace or add to an env's reward with a :class:`VLMRewardModel`'s (or a yes/no VLM's) reward.

    Args:
        env: an env whose observation is an RGB frame (or a Dict with ``"image"``).
        reward_model: anything with ``rewards(frames) -> [B]`` and ``set_goal(text)``.
        goal: a fixed goal text, ``"instruction"`` to use ``info["instruction"]`` of goal-conditioned
            envs, ``f(env, info) -> text`` called at every reset (e.g. the default contrastive
            model's ``cell_caption`` of the target's cell), or ``None`` to keep the model's goal.
        mode: "replace" or "add"; scale: the weight of the model's reward.
    """

    info_key = "vlm_reward"

    def __init__(
        self,
        env: gym.Env[Any, Any],
        reward_model: Any,
        goal: str | Callable[[gym.Env[Any, Any], dict[str, Any]], str] | None = None,
        mode: Literal["replace", "add"] = "replace",
        scale: float = 1.0,
    ) -> None:
        super().__init__(env, mode, scale)
        self.reward_model, self.goal = reward_model, goal

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        if callable(self.goal):
            self.reward_model.set_goal(self.goal(self.env, info))
        elif self.goal == "instruction":
            self.reward_model.set_goal(info["instruction"])
        elif self.goal is not None and self.goal != getattr(self.reward_model, "goal", None):
            self.reward_model.set_goal(self.goal)
        return obs, info

    def model_reward(self, frame: np.ndarray, info: dict[str, Any]) -> float:
        return float(self.reward_model.rewards(frame)[0])
