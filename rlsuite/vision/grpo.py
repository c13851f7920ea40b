"""GRPO fine-tuning of a local VLM on the pixel grid world with detection rewards (Visual-RFT's recipe).

Visual-RFT (Liu et al. 2025) fine-tunes a VLM with GRPO on verifiable visual rewards: the model
answers a question about an image in text, the answer is parsed, and the reward is the IoU of the
boxes it names with the reference boxes, or whether the count it names is right. Here the images
are frames of random pixel grid worlds, the question is about one class (``target_class``:
``agent``, ``target`` or ``forbidden``), and the reference is the env's exact boxes of that class
or, with ``detector``, the boxes a detector folder finds on the frame
(:class:`~rlsuite.vision.rewards.DetectionRewardModel`).

Tasks (``task``) and the answers they parse (:func:`parse_answer`):

- ``count``: "How many forbidden cells are there?": the first number in the answer (digits or
  ``zero`` ... ``twenty``).
- ``boxes``: "Give the boxes of the forbidden cells": every ``[x1, y1, x2, y2]`` in the answer (frame
  pixels, JSON style) and every ``row R column C`` (1-indexed cells, the words of the tiny models'
  vocabulary, read as that cell's box); ``[]``, ``none`` or ``no`` alone is an explicit "no boxes".

Rewards (``rewards``; TRL sums them), each computed by :func:`~rlsuite.vision.rewards.detection_reward`
with the answer as the detections and the reference as the target:

- ``count``: 1 when the answer's count (the number, or the number of boxes) equals the reference count;
- ``presence``: 1 when the answer says the class is there (count > 0) exactly when it is;
- ``iou`` / ``giou`` (``boxes`` task only): the mean IoU (GIoU) of each reference box with its
  Hungarian-matched answer box; extra boxes are not penalised by it (pair it with ``count``); a frame
  without the class scores 1 for an answer without boxes, 0 otherwise.

An answer that does not parse scores 0 under every reward.

Training is TRL's :class:`trl.GRPOTrainer` as TRL intends it for VLMs: a dataset with a
conversational ``prompt`` and an ``image`` column, the model's processor as ``processing_class``,
one reward function per kind. A processor that is not a transformers ``ProcessorMixin`` (rlsuite's
:class:`~rlsuite.vision.policies.ImageTextProcessor`, used for Qwen2-VL where transformers' own
processor needs torchvision) is wrapped in ``ChatProcessor`` (:func:`chat_processor_class`); a
processor without a chat template gets its tokenizer's, else :data:`PLAIN_TEMPLATE` (the image
token, then the question). Image placeholder tokens are never generated (``suppress_tokens``).
LoRA adapters (peft) or full fine-tuning follow :class:`~rlsuite.vision.adapters.VLMModelOptions`,
as ``train-vlm-policy``'s.

The reward is measured before and after training on ``eval_frames`` held-out frames (env seeds
10000, 10001, ...; training frames equal to one of them are skipped) with greedy answers.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rlsuite.common.config import Config, config_error, option
from rlsuite.common.device import DEVICE_HELP, check_device_field
from rlsuite.common.io import newest_valid
from rlsuite.common.trainers import quiet_trainer
from rlsuite.envs.pixels import CLASS_NAMES
from rlsuite.vision.adapters import VLMModelOptions

log = logging.getLogger(__name__)

ENV_ID = "rlsuite/PixelGridWorldRandom-v0"
EVAL_SEED = 10_000  # held-out frames: env.reset(seed=EVAL_SEED + i)
TRAIN_SEED = 1_000_000  # training frames: env.reset(seed=TRAIN_SEED + seed * 100_000 + i)
GRPO_NAME = "vlm-grpo"
CHECKPOINTS = "checkpoints"
SETTINGS = "settings.json"  # the config key of the run a folder holds, written when it starts
REWARD_KINDS = ("count", "presence", "iou", "giou")
BOX_REWARDS = ("iou", "giou")
_NUMBER_TEXT = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
NUMBER_WORDS = (*_NUMBER_TEXT.split(), "seventeen", "eighteen", "nineteen", "twenty")
PROMPTS = {
    "count": "question : how many {name} cells are there ? answer with a number . answer :",
    "boxes": "question : give the boxes of the {name} cells as [x1, y1, x2, y2] pixels , or as row R column C . "
    "answer :",
}
# The chat template of a processor that has none: the image token, then the question (as VLMPolicy's prompts).
PLAIN_TEMPLATE = (
    "{% for message in messages %}{% for part in message['content'] %}{% if part['type'] == 'image' %}"
    "IMAGE_TOKEN {% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endfor %}"
)


@dataclass
class VisionGRPOConfig(Config):
    """GRPO (TRL) of a local VLM folder on pixel grid world frames, rewarded by detection (Visual-RFT)."""

    task: Literal["count", "boxes"] = option(
        "count", help="count: how many cells of the class (a number); boxes: their boxes ([x1, y1, x2, y2] or "
        "row R column C)",
    )  # fmt: skip
    target_class: str = option("forbidden", help="the class asked about: agent, target or forbidden")
    rewards: list[Literal["count", "presence", "iou", "giou"]] = option(
        default_factory=lambda: ["count", "presence"],
        help="reward functions, summed: count (right number), presence (says it is there exactly when it is), "
        "iou / giou (matched box overlap; boxes task only)",
    )
    detector: str | None = option(
        None, help="detector folder whose boxes are the reference (grid detector, DETR, Grounding DINO ...; "
        "default: the env's exact boxes)",
    )  # fmt: skip
    detector_threshold: float = option(0.5, help="score threshold of the detector's boxes", ge=0.0, le=1.0)
    prompt: str | None = option(None, help="the question ({name} is the class; default: the task's question)")
    size: int = option(3, help="grid side of the layouts", ge=2, le=32)
    max_forbidden: int = option(
        3, help="forbidden cells per layout: 0 to this many, uniformly per frame (so counts vary)", ge=0
    )
    cell_px: int = option(16, help="pixels per cell of the frames", ge=4, le=64)
    train_frames: int = option(256, help="training frames (one random layout and start each)", ge=1)
    eval_frames: int = option(50, help="held-out frames the reward is measured on (env seeds 10000, ...)", ge=1)
    steps: int = option(300, help="GRPO optimizer steps", ge=1, aliases=["--budget", "--max_steps"])
    prompts_per_step: int = option(2, help="frames per step (each answered num_generations times)", ge=1)
    num_generations: int = option(8, help="answers sampled per frame: the group GRPO normalises rewards in", ge=2)
    max_new_tokens: int = option(4, help="longest answer, in tokens (boxes need more: 8 words per cell)", ge=1)
    temperature: float = option(1.0, help="sampling temperature of the answers", gt=0.0)
    learning_rate: float = option(1e-5, help="learning rate of full fine-tuning (LoRA uses --lora_lr)", gt=0.0)
    beta: float = option(0.0, help="KL coefficient to the starting model (0: none, TRL's default)", ge=0.0)
    save_steps: int = option(50, help="checkpoint every N steps, for --resume (0: none)", ge=0)
    seed: int = option(0, help="seed of frames and weights", ge=0)
    device: str = option("auto", help=DEVICE_HELP)
    threads: int = option(0, help="torch CPU threads (0: one, or OMP_NUM_THREADS when set)", ge=0)

    def question(self) -> str:
        """The question asked about every frame (``{name}`` filled in with the class)."""
        return (self.prompt or PROMPTS[self.task]).replace("{name}", self.target_class)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_device_field(self)
        if self.target_class not in CLASS_NAMES:
            raise config_error(self, "target_class", f"{self.target_class!r} is none of {', '.join(CLASS_NAMES)}")
        if not self.rewards:
            raise config_error(self, "rewards", "no reward function; give at least one of " + ", ".join(REWARD_KINDS))
        if self.task == "count" and any(r in BOX_REWARDS for r in self.rewards):
            raise config_error(self, "rewards", f"{self.rewards}: the count task's answers hold no boxes, so "
                                                "iou/giou cannot be computed (use --task boxes)")  # fmt: skip
        if self.max_forbidden > self.size * self.size - 2:
            room = f"leave no room for the target and the agent in a {self.size}x{self.size} grid"
            raise config_error(self, "max_forbidden", f"{self.max_forbidden} forbidden cells {room}")
        if self.prompt is not None and not self.prompt.strip():
            raise config_error(self, "prompt", "an empty question")


# ----------------------------------------------------------------------------- answers and rewards
@dataclass
class Answer:
    """A parsed answer: how many instances it names, and their boxes (``boxes`` task)."""

    count: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))


@dataclass
class Reference:
    """The reference of one frame: the boxes of the asked class (env's exact ones, or a detector's)."""

    boxes: np.ndarray

    @property
    def count(self) -> int:
        return len(self.boxes)


_NUMBER = r"(\d+|" + "|".join(NUMBER_WORDS) + r")"
_BOX = re.compile(r"\[\s*" + r"\s*,\s*".join([r"(-?\d+(?:\.\d+)?)"] * 4) + r"\s*\]")
_CELL = re.compile(r"\brow\s+" + _NUMBER + r"\s*,?\s*column\s+" + _NUMBER + r"\b", re.IGNORECASE)
_EMPTY = re.compile(r"\[\s*\]|\bnone\b|\bno\b", re.IGNORECASE)


def _number(token: str) -> int:
    return int(token) if token.isdigit() else NUMBER_WORDS.index(token.lower())


def parse_answer(text: str, task: str, cell_px: int = 16) -> Answer | None:
    """The answer in ``text`` (see the module's docstring), or None when it does not parse."""
    if task == "count":
        m = re.search(r"\b" + _NUMBER + r"\b", text, re.IGNORECASE)
        return None if m is None else Answer(_number(m.group(1)))
    boxes = [[float(v) for v in m.groups()] for m in _BOX.finditer(text)]
    for m in _CELL.finditer(text):
        r, c = _number(m.group(1)) - 1, _number(m.group(2)) - 1
        boxes.append([c * cell_px, r * cell_px, (c + 1) * cell_px, (r + 1) * cell_px])
    if boxes:
        return Answer(len(boxes), np.array(boxes, dtype=np.float64))
    return Answer(0) if _EMPTY.search(text) else None


def answer_reward(answer: Answer | None, reference: Reference, kind: str, class_name: str) -> float:
    """One answer's reward of ``kind`` against the frame's reference (the module's docstring says which is which)."""
    from rlsuite.vision.detection import Detections
    from rlsuite.vision.rewards import DetectionTarget, detection_reward

    if answer is None:
        return 0.0
    boxes = answer.boxes if len(answer.boxes) == answer.count else np.zeros((answer.count, 4))
    said = Detections(boxes, np.zeros(answer.count, np.int64), np.ones(answer.count))
    if kind == "count":
        target = DetectionTarget(counts={class_name: reference.count})
    elif reference.count == 0:  # presence / (G)IoU of a frame without the class: right only when none is named
        return float(answer.count == 0)
    elif kind == "presence":
        target = DetectionTarget(present=[class_name])
    else:
        target = DetectionTarget(boxes=[(class_name, b) for b in reference.boxes])
    return detection_reward(said, target, [class_name], kind)  # type: ignore[arg-type]


def reward_functions(config: VisionGRPOConfig) -> list[Callable[..., list[float]]]:
    """One TRL reward function per kind in ``config.rewards``: ``f(prompts, completions, reference, **kw)``."""

    def make(kind: str) -> Callable[..., list[float]]:
        def reward(prompts: Any, completions: Sequence[Any], reference: Sequence[str], **kw: Any) -> list[float]:
            answers = [parse_answer(_text(c), config.task, config.cell_px) for c in completions]
            refs = [_reference(r) for r in reference]
            return [answer_reward(a, r, kind, config.target_class) for a, r in zip(answers, refs, strict=True)]

        reward.__name__ = f"{kind}_reward"  # TRL logs each function under its name
        return reward

    return [make(kind) for kind in config.rewards]


def _text(completion: Any) -> str:
    """A completion's text: TRL gives conversational completions as ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, list):
        return " ".join(_text(m.get("content", "")) if isinstance(m, dict) else str(m) for m in completion)
    if isinstance(completion, dict):
        return str(completion.get("text", ""))
    return str(completion)


def _reference(blob: str) -> Reference:
    return Reference(np.array(json.loads(blob), dtype=np.float64).reshape(-1, 4))


# ----------------------------------------------------------------------------- frames and references
def frames_and_references(
    config: VisionGRPOConfig, seeds: Sequence[int], n: int, exclude: set[bytes] | None = None, detector: Any = None
) -> tuple[list[np.ndarray], list[Reference]]:
    """``n`` frames from ``seeds`` (in order, skipping frames in ``exclude``) and the asked class's reference boxes.

    The reference is the env's exact boxes (``info["boxes"]``) or, with ``detector`` (a
    :class:`~rlsuite.vision.rewards.DetectionRewardModel`), the boxes it detects, in one batch per 64 frames.
    """
    import gymnasium as gym

    import rlsuite.envs  # noqa: F401

    cells = config.size * config.size
    envs = [gym.make(ENV_ID, n_rows=config.size, n_cols=config.size, forbidden_fraction=k / cells,
                     cell_px=config.cell_px) for k in range(config.max_forbidden + 1)]  # fmt: skip
    frames, refs = [], []
    label = CLASS_NAMES.index(config.target_class)
    for seed in seeds:
        if len(frames) == n:
            break
        k = int(np.random.default_rng(int(seed)).integers(config.max_forbidden + 1))  # forbidden cells of this frame
        obs, info = envs[k].reset(seed=int(seed))
        if exclude is not None and obs.tobytes() in exclude:
            continue
        frames.append(obs)
        refs.append(Reference(np.asarray(info["boxes"][info["labels"] == label], np.float64)))
    for env in envs:
        env.close()
    if detector is not None:
        index = detector.class_names.index(config.target_class)
        refs = []
        for i in range(0, len(frames), 64):
            for det in detector.detect(np.stack(frames[i : i + 64])):
                refs.append(Reference(det.of_class(index).boxes.astype(np.float64)))
    return frames, refs


def load_detector(config: VisionGRPOConfig) -> Any:
    """The reference detector of ``config.detector`` (None: the env's boxes); one line naming the folder when it
    is no detector or does not know ``target_class`` (a reward it cannot compute)."""
    if config.detector is None:
        return None
    from rlsuite.common.errors import ModelFolderError
    from rlsuite.vision.rewards import DetectionRewardModel

    try:
        detector = DetectionRewardModel.from_pretrained(config.detector, threshold=config.detector_threshold,
                                                        device=config.device, dtype="float32")  # fmt: skip
    except (ValueError, KeyError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelFolderError(f"{config.detector}: not a detector rlsuite can load ({first})") from exc
    if config.target_class not in detector.class_names:
        raise ModelFolderError(
            f"{config.detector}: the detector finds {detector.class_names}, not {config.target_class!r}: it cannot "
            f"compute the {'/'.join(config.rewards)} reward of --target_class {config.target_class}"
        )
    return detector


# ----------------------------------------------------------------------------- the processor TRL gets
def chat_processor(processor: Any) -> Any:
    """``processor`` as TRL's ``processing_class``: a ``ProcessorMixin`` with a chat template.

    A transformers processor is used as it is; one without a chat template gets its tokenizer's,
    else :data:`PLAIN_TEMPLATE`; rlsuite's :class:`~rlsuite.vision.policies.ImageTextProcessor` is wrapped in
    ``ChatProcessor`` (:func:`chat_processor_class`).
    """
    from transformers import ProcessorMixin

    if not isinstance(processor, ProcessorMixin):
        processor = chat_processor_class()(processor.image_processor, processor.tokenizer,
                                  return_mm_token_type_ids=processor.return_mm_token_type_ids)  # fmt: skip
    if not getattr(processor, "chat_template", None):  # the tokenizer's (Qwen2-VL-Instruct's), else the plain one
        token = getattr(processor, "image_token", None) or "<image>"
        own = getattr(processor.tokenizer, "chat_template", None)
        processor.chat_template = own or PLAIN_TEMPLATE.replace("IMAGE_TOKEN", token)
    processor.tokenizer.padding_side = "left"  # batched generation
    return processor


@functools.cache
def chat_processor_class() -> type:
    """:class:`~rlsuite.vision.policies.ImageTextProcessor` as a transformers ``ProcessorMixin`` (built on first
    use: this module is imported by the CLI, which does not import transformers to parse its flags)."""
    from transformers import BatchFeature, ProcessorMixin

    from rlsuite.vision.policies import ImageTextProcessor

    class ChatProcessor(ProcessorMixin):
        """:class:`~rlsuite.vision.policies.ImageTextProcessor` as a transformers ``ProcessorMixin`` (what TRL's
        GRPOTrainer takes for a VLM): nested image lists (one list per prompt), chat templates, ``BatchFeature``."""

        def __init__(self, image_processor: Any, tokenizer: Any, chat_template: str | None = None,
                     return_mm_token_type_ids: bool = True) -> None:  # fmt: skip
            super().__init__(image_processor, tokenizer, chat_template=chat_template)
            self.inner = ImageTextProcessor(image_processor, tokenizer, return_mm_token_type_ids)
            self.image_token = self.inner.image_token

        def __call__(self, images: Any = None, text: Any = None, padding: Any = True,
                     return_tensors: Any = None, **kwargs: Any) -> Any:  # fmt: skip
            texts = [text] if isinstance(text, str) else list(text or [])
            flat = [im for x in (images or []) for im in (x if isinstance(x, list | tuple) else [x])]
            out = self.inner(flat, texts, return_tensors="pt", padding=True)
            if return_tensors is None:  # lists, without padding (how TRL reads tokenized prompts)
                mask = out["attention_mask"].bool()
                for key in ("input_ids", "attention_mask", "mm_token_type_ids"):
                    if key in out:
                        out[key] = [row[m].tolist() for row, m in zip(out[key], mask, strict=True)]
            return BatchFeature(dict(out))

        def save_pretrained(self, folder: Any, **kwargs: Any) -> None:  # the folder load_vlm reads back
            self.inner.save_pretrained(folder)

    return ChatProcessor


def conversation(question: str) -> list[dict[str, Any]]:
    """The conversational prompt TRL expects with an ``image`` column: one user turn, image then question."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]


# ----------------------------------------------------------------------------- measuring
def greedy_answers(model: Any, processor: Any, frames: Sequence[np.ndarray], question: str, max_new_tokens: int,
                   suppress: Sequence[int], batch: int = 16) -> list[str]:  # fmt: skip
    """Greedy answers of ``model`` to ``question`` about each frame (placeholder tokens suppressed)."""
    import torch
    from PIL import Image

    texts = []
    prompt = processor.apply_chat_template(conversation(question), add_generation_prompt=True, tokenize=False)
    device = next(model.parameters()).device
    model.eval()
    for i in range(0, len(frames), batch):
        chunk = [Image.fromarray(f) for f in frames[i : i + batch]]
        inputs = processor(images=[[im] for im in chunk], text=[prompt] * len(chunk), padding=True,
                           return_tensors="pt")  # fmt: skip
        inputs = {k: v.to(device) if hasattr(v, "to") else v for k, v in inputs.items()}
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                 suppress_tokens=list(suppress) or None,
                                 pad_token_id=processor.tokenizer.pad_token_id)  # fmt: skip
        new = out[:, inputs["input_ids"].shape[1] :]
        texts += processor.tokenizer.batch_decode(new.cpu(), skip_special_tokens=True)
    return texts


def measure(model: Any, processor: Any, config: VisionGRPOConfig, frames: Sequence[np.ndarray],
            refs: Sequence[Reference], suppress: Sequence[int]) -> dict[str, Any]:  # fmt: skip
    """Mean reward of each kind over the frames with greedy answers, the parsed fraction, three example answers."""
    texts = greedy_answers(model, processor, frames, config.question(), config.max_new_tokens, suppress)
    answers = [parse_answer(t, config.task, config.cell_px) for t in texts]
    report: dict[str, Any] = {
        kind: float(np.mean([answer_reward(a, r, kind, config.target_class) for a, r in zip(answers, refs,
                                                                                           strict=True)]))
        for kind in config.rewards
    }  # fmt: skip
    report["total"] = float(sum(report[k] for k in config.rewards))
    report["parsed"] = float(np.mean([a is not None for a in answers]))
    report["examples"] = texts[:3]
    return report


# ----------------------------------------------------------------------------- training
def newest_checkpoint(folder: Path) -> Path | None:
    """The newest ``checkpoints/checkpoint-N`` whose ``trainer_state.json`` (written last by the Trainer) parses."""

    def state_parses(path: Path) -> bool:
        try:
            json.loads((path / "trainer_state.json").read_text())
        except (OSError, json.JSONDecodeError):
            return False
        return True

    steps = ((p.name.removeprefix("checkpoint-"), p) for p in (folder / CHECKPOINTS).glob("checkpoint-*"))
    found, _ = newest_valid([(int(step), p) for step, p in steps if step.isdigit()], state_parses)
    return found[1] if found else None


def load_model(config: VisionGRPOConfig, options: VLMModelOptions, device: Any) -> tuple[Any, Any, dict[str, Any]]:
    """The VLM to train (with LoRA adapters when the options say so), its loaded processor, and what was decided."""
    from rlsuite.vision.adapters import add_lora, count_parameters
    from rlsuite.vision.policies import load_vlm

    assert options.model is not None
    model, processor, _, _ = load_vlm(options.model, options.trust_remote_code, options.dtype, str(device),
                                      options.trust_pickle)  # fmt: skip
    n_params = count_parameters(model)
    lora = options.uses_lora(n_params)
    if lora:
        model = add_lora(model, options)
    info = {"model": options.model, "parameters": n_params, "finetune": "lora" if lora else "full",
            "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad)}  # fmt: skip
    log.info("%s: %d parameters, %s fine-tuning of %d", options.model, n_params, info["finetune"],
             info["trainable_parameters"])  # fmt: skip
    return model, processor, info


def frame_seeds(config: VisionGRPOConfig) -> tuple[range, range]:
    """The env seeds the held-out frames and the training frames are drawn from (100 per frame wanted: repeated
    layouts are skipped); the training seeds depend on ``config.seed``, the held-out ones do not."""
    start = TRAIN_SEED + config.seed * 100_000
    return range(EVAL_SEED, EVAL_SEED + 100 * config.eval_frames), range(start, start + 100 * config.train_frames)


def grpo_arguments(config: VisionGRPOConfig, options: VLMModelOptions, folder: Path, device: Any, lora: bool,
                   suppress: list[int]) -> dict[str, Any]:  # fmt: skip
    """What :func:`train_grpo` gives TRL's ``GRPOConfig``: every setting it passes on (``suppress``: token ids the
    answers may not hold; ``lora``: the LoRA learning rate applies)."""
    return dict(
        output_dir=str(folder / CHECKPOINTS), max_steps=config.steps,
        per_device_train_batch_size=config.prompts_per_step * config.num_generations,
        num_generations=config.num_generations, max_completion_length=config.max_new_tokens,
        temperature=config.temperature, learning_rate=options.lora_lr if lora else config.learning_rate,
        beta=config.beta, seed=config.seed, data_seed=config.seed, report_to="none", disable_tqdm=True,
        logging_steps=max(1, config.steps // 20), save_strategy="steps" if config.save_steps else "no",
        save_steps=config.save_steps or 500, save_total_limit=2, use_cpu=device.type == "cpu",
        bf16=options.dtype == "bfloat16", generation_kwargs={"suppress_tokens": suppress or None},
    )  # fmt: skip


def train_grpo(config: VisionGRPOConfig, options: VLMModelOptions, folder: Path, device: Any = None,
               resume: bool = False) -> tuple[Any, Any, dict[str, Any]]:  # fmt: skip
    """GRPO of ``options.model`` with TRL; checkpoints under ``folder/checkpoints``. Returns model, processor, report.

    The report holds the reward measured before and after (``before``/``after``: each kind's mean, ``total``,
    ``parsed``), the model decisions, TRL's logged history and the wall time.
    """
    from types import SimpleNamespace

    from datasets import Dataset
    from PIL import Image
    from trl import GRPOConfig, GRPOTrainer

    from rlsuite.common.device import select_device
    from rlsuite.common.seeding import seed_everything
    from rlsuite.vision.reasoning import media_token_ids
    from rlsuite.vision.runtime import torch_threads

    device = select_device(config.device) if device is None else device
    with torch_threads(config.threads):
        t0 = time.perf_counter()
        seed_everything(config.seed)
        detector = load_detector(config)
        eval_seeds, train_seeds = frame_seeds(config)
        eval_frames, eval_refs = frames_and_references(config, eval_seeds, config.eval_frames, detector=detector)
        train_frames, train_refs = frames_and_references(
            config, train_seeds, config.train_frames, exclude={f.tobytes() for f in eval_frames}, detector=detector
        )
        model, loaded, info = load_model(config, options, device)
        processor = chat_processor(loaded)
        suppress = media_token_ids(SimpleNamespace(model=model, processor=processor))
        before = measure(model, processor, config, eval_frames, eval_refs, suppress)
        log.info("before GRPO: reward %s on %d held-out frames", _rewards_line(before), len(eval_frames))
        data = Dataset.from_dict({
            "prompt": [conversation(config.question())] * len(train_frames),
            "image": [Image.fromarray(f) for f in train_frames],
            "reference": [json.dumps(r.boxes.tolist()) for r in train_refs],
        })  # fmt: skip
        args = GRPOConfig(**grpo_arguments(config, options, folder, device, info["finetune"] == "lora", suppress))
        trainer = GRPOTrainer(model=model, reward_funcs=reward_functions(config), args=args, train_dataset=data,
                              processing_class=processor)  # fmt: skip
        quiet_trainer(trainer, "GRPO steps", "grpo", total=config.steps)
        checkpoint = newest_checkpoint(folder) if resume else None
        if checkpoint is not None:
            log.info("resuming GRPO from %s", checkpoint)
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        model = trainer.model
        after = measure(model, processor, config, eval_frames, eval_refs, suppress)
        log.info("after GRPO: reward %s on %d held-out frames", _rewards_line(after), len(eval_frames))
    history = [h for h in trainer.state.log_history if "reward" in h]
    report = {
        "model": info,
        "before": before,
        "after": after,
        "eval_frames": len(eval_frames),
        "train_frames": len(train_frames),
        "reference": config.detector or "env (exact boxes)",
        "steps": int(trainer.state.global_step),
        "resumed_from": str(checkpoint) if checkpoint else None,
        "train_reward_first": history[0]["reward"] if history else math.nan,
        "train_reward_last": history[-1]["reward"] if history else math.nan,
        "history": history,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return model, processor, report


def _rewards_line(report: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in report.items() if isinstance(v, float))


# ----------------------------------------------------------------------------- the run folder
@dataclass
class GRPOResult:
    """A finished GRPO run: its metrics, its folder, whether it was trained earlier (reused)."""

    metrics: dict[str, Any]
    folder: Path
    reused: bool


def check_grpo_inputs(config: VisionGRPOConfig, options: VLMModelOptions) -> None:
    """What fails before any folder is written: no model, a model that cannot generate text, a detector that is
    no detector or does not know the class (one line naming the folder or the setting)."""
    from rlsuite.common.errors import ConfigError
    from rlsuite.vision.adapters import check_generative_folder

    if not options.model:
        raise ConfigError("vision grpo: no model folder; give --model FOLDER (an image-text-to-text VLM)", "model")
    check_generative_folder(options.model, options.trust_remote_code, options.trust_pickle)
    load_detector(config)


def run_grpo(
    config: VisionGRPOConfig,
    options: VLMModelOptions,
    out: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    on_open: Callable[[Path], None] | None = None,
) -> GRPOResult:
    """Train (or reuse) a GRPO run into ``out`` (default: the cache, keyed by the config and model options).

    The folder's conventions are the other vision commands' (:mod:`rlsuite.vision.defaults`): a finished
    folder of the same settings is reused, another one or an unfinished one is refused without
    ``overwrite`` (an unfinished one continues from its newest checkpoint with ``resume``); the model
    is saved as LoRA adapters naming their base (:func:`~rlsuite.vision.adapters.save_adapter`) or as
    the whole model, then ``metrics.json``, then ``finished.json``.
    """
    from rlsuite.common.device import select_device
    from rlsuite.common.io import OutputDir, write_json
    from rlsuite.vision.defaults import METRICS, cache_folder, config_key, finished_key, save_files

    check_grpo_inputs(config, options)
    device = select_device(config.device)
    key = config_key(config, (options,))
    folder = Path(out) if out is not None else cache_folder(GRPO_NAME, config, (options,))
    if not overwrite and finished_key(folder) == key and (folder / METRICS).is_file():
        log.info("%s: reusing the GRPO run finished earlier with these settings", folder)
        return GRPOResult(json.loads((folder / METRICS).read_text()), folder, True)
    if resume and not overwrite and folder.is_dir():
        _check_resumable(folder, key)
    with OutputDir(folder, overwrite=overwrite or (out is None and not resume), resume=resume) as od:
        if on_open is not None:
            on_open(folder)
        write_json(folder / SETTINGS, {"config_key": key})
        model, processor, report = train_grpo(config, options, folder, device, resume=resume)
        report = {**report, "config": config.to_dict(), "model_options": options.to_dict()}
        save_files(folder, lambda tmp: _save(model, processor, tmp, options))
        write_json(folder / METRICS, report)
        od.finish({"model": GRPO_NAME, "config_key": key})
    log.info("GRPO: saved to %s", folder)
    return GRPOResult(report, folder, False)


def _check_resumable(folder: Path, key: str) -> None:
    """``--resume`` continues only a run of the same settings (its checkpoints are of them)."""
    from rlsuite.common.errors import OutputDirError
    from rlsuite.common.io import FINISHED

    try:
        started = json.loads((folder / SETTINGS).read_text()).get("config_key")
    except (OSError, json.JSONDecodeError, AttributeError):
        started = None
    if (folder / FINISHED).is_file() or (started is not None and started != key):
        raise OutputDirError(f"{folder}: holds a GRPO run of other settings; --resume continues only the same "
                             "settings (pass --overwrite to start again)")  # fmt: skip


def _save(model: Any, processor: Any, tmp: Path, options: VLMModelOptions) -> None:
    """LoRA: the adapters (safetensors) and the base's fingerprint; full: the model. Both loadable by
    :func:`~rlsuite.vision.adapters.load_trained_policy` (the value head there is untrained: GRPO has none)."""
    from rlsuite.vision.adapters import save_adapter
    from rlsuite.vision.policies import VLMPolicy

    policy = VLMPolicy(model, processor)
    if hasattr(model, "peft_config"):
        save_adapter(policy, tmp, str(options.model), options.trust_pickle)
    else:
        policy.save_pretrained(tmp)
