"""Vision-language rewards: a tiny CLIP from configs, saved and reloaded, goal-baseline maths, the wrapper."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.testing.vision_models import GOAL_TEXT
from rlsuite.vision.contrastive import ContrastiveTrainConfig, cell_caption, train_contrastive_reward
from rlsuite.vision.models import build_tiny_clip, build_word_tokenizer
from rlsuite.vision.rewards import VLMRewardModel, VLMRewardWrapper


@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-clip")
    torch.manual_seed(0)
    tokenizer = build_word_tokenizer()
    model, processor = build_tiny_clip(tokenizer, image_size=80, hidden=32, layers=1)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def auto_device() -> str:  # asked at run time: the simulator patches CUDA after collection
    """What device "auto" resolves to in this run: CUDA where there is one (or the simulator), else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def auto_dtype() -> torch.dtype:
    """What dtype "auto" resolves to: bfloat16 on CUDA, float32 on the CPU."""
    return torch.bfloat16 if torch.cuda.is_available() else torch.float32


def test_word_tokenizer_ends_with_eos_inside_the_vocabulary():
    tok = build_word_tokenizer()
    ids = tok("the agent is on the target")["input_ids"]
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id < len(tok)
    assert tok.unk_token_id not in ids
    # Different captions embed differently only if CLIP pools at a real eos: check the ids differ.
    assert tok(cell_caption((0, 1)))["input_ids"] != tok(cell_caption((1, 0)))["input_ids"]


def test_reward_matches_the_goal_baseline_formula(tiny_clip_dir):
    rm = VLMRewardModel.from_pretrained(
        tiny_clip_dir, goal=GOAL_TEXT, baseline="a grid world", alpha=0.5, device="cpu"
    )
    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    frames = np.stack([env.reset(seed=s)[0] for s in range(4)])
    r = rm.rewards(frames)
    s = rm.embed_images(frames)
    g, b = rm.embed_texts([GOAL_TEXT, "a grid world"])
    d = (g - b) / (g - b).norm()
    P = 0.5 * torch.outer(d, d) + 0.5 * torch.eye(len(d))
    expected = 1 - 0.5 * (((s - g) @ P) ** 2).sum(-1)
    np.testing.assert_allclose(r, expected.numpy(), rtol=1e-5, atol=1e-6)
    # alpha = 0 is cosine similarity to the goal.
    rm0 = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, alpha=0.0, device="cpu")
    np.testing.assert_allclose(rm0.rewards(frames), (s @ g).numpy(), rtol=1e-5, atol=1e-6)
    # Distinct texts get distinct embeddings (the tiny-CLIP eos pitfall would make them equal).
    e = rm.embed_texts([cell_caption((0, 0)), cell_caption((3, 2))])
    assert not torch.allclose(e[0], e[1])
    # One batched call equals per-frame calls.
    np.testing.assert_allclose(r, np.concatenate([rm.rewards(f) for f in frames]), rtol=1e-4, atol=1e-5)


def test_wrapper_replaces_and_adds_and_follows_instructions(tiny_clip_dir):
    rm = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, device="cpu")
    env = VLMRewardWrapper(
        gym.make("rlsuite/PixelGoalGridWorld-v0"), rm, goal="instruction", mode="add", scale=2.0
    )
    _, info = env.reset(seed=1)
    assert rm.goal == info["instruction"]
    _, r, _, _, info = env.step(0)
    assert r == pytest.approx(info["env_reward"] + 2.0 * info["vlm_reward"])
    env2 = VLMRewardWrapper(gym.make("rlsuite/PixelGridWorld-v0"), rm, goal=GOAL_TEXT)
    env2.reset(seed=0)
    _, r2, _, _, info2 = env2.step(1)
    assert r2 == info2["vlm_reward"]
    with pytest.raises(ValueError, match="mode"):
        VLMRewardWrapper(gym.make("rlsuite/PixelGridWorld-v0"), rm, mode="mix")


def test_contrastive_training_lowers_the_loss_and_updates_both_towers():
    config = ContrastiveTrainConfig(steps=60, batch_size=16, pool=64, size=3, device="cpu")
    model, _, tokenizer, info = train_contrastive_reward(config)
    assert info["steps"] == 60
    # The mean loss of the last 20 steps is well below that of the first 20 (measured: 2.84 -> 2.48).
    assert info["final_loss"] < info["first_loss"] - 0.2
    torch.manual_seed(config.seed)
    fresh, _ = build_tiny_clip(tokenizer, image_size=config.size * config.cell_px)
    trained = dict(model.named_parameters())
    changed = [n for n, p in fresh.named_parameters() if not torch.equal(p, trained[n].detach())]
    assert any(n.startswith("vision_model") for n in changed) and any(
        n.startswith("text_model") for n in changed
    )


@pytest.mark.slow
def test_default_contrastive_reward_rank_correlation():
    """The cached default: Spearman(reward, -distance) >= 0.8 on held-out episodes."""
    from rlsuite.vision.contrastive import evaluate_reward_rank_correlation
    from rlsuite.vision.defaults import default_clip_reward

    trained = default_clip_reward()
    reward, metrics = trained.model, trained.metrics
    assert metrics["rank_correlation"]["spearman_pooled"] >= 0.8
    assert evaluate_reward_rank_correlation(reward, episodes=20, seed=31)["spearman_pooled"] >= 0.8


def test_wrapper_goal_from_a_function_of_the_env(tiny_clip_dir):
    rm = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, device="cpu")

    def target_goal(env, info):
        world = env.unwrapped.world
        return cell_caption(world.to_cell(world.target_state))

    env = VLMRewardWrapper(gym.make("rlsuite/PixelGridWorldRandom-v0"), rm, goal=target_goal)
    env.reset(seed=3)
    world = env.unwrapped.world
    assert rm.goal == cell_caption(world.to_cell(world.target_state))


# ----------------------------------------------------------------------------- exact values (mutation testing)
def test_giou_of_small_inverted_degenerate_and_float32_boxes():
    from rlsuite.vision.rewards import box_giou

    # boxes under one pixel: IoU 0.0625 / 0.3125 = 0.2, hull 0.375, GIoU = 0.2 - 0.0625 / 0.375
    assert box_giou([[0, 0, 0.5, 0.5]], [[0.25, 0.25, 0.75, 0.5]])[0, 0] == pytest.approx(0.2 - 1 / 6, abs=1e-15)
    # an inverted box has area 0 (not negative): IoU 0, hull = union = 4
    assert box_giou([[2, 0, 0, 2]], [[0, 0, 2, 2]])[0, 0] == 0.0
    assert box_giou([[0, 2, 2, 0]], [[0, 0, 2, 2]])[0, 0] == 0.0
    assert box_giou([[1, 1, 1, 1]], [[1, 1, 1, 1]])[0, 0] == 0.0  # two points: no hull, GIoU = IoU = 0
    a = np.array([[0.1, 0.2, 0.7, 0.9], [0.3, 0.35, 1.1, 0.45]], np.float32)
    b = np.array([[0.15, 0.1, 0.65, 0.8], [0.05, 0.3, 0.9, 1.3]], np.float32)
    np.testing.assert_array_equal(box_giou(a, b), box_giou(a.astype(np.float64), b.astype(np.float64)))
    np.testing.assert_array_equal(box_giou(b, a), box_giou(b.astype(np.float64), a.astype(np.float64)))


class _FixedDetector:
    """A detection reward model that scores every frame ``value`` and records what it was asked."""

    def __init__(self, value):
        self.value, self.calls = value, []

    def rewards(self, frame, target, kind="presence"):
        self.calls.append((frame.shape, target, kind))
        return np.array([self.value])


def test_detection_wrapper_defaults_targets_and_modes():
    from rlsuite.vision.rewards import DetectionRewardWrapper, DetectionTarget

    target = DetectionTarget(present=["agent"])
    rm = _FixedDetector(0.25)
    env = DetectionRewardWrapper(gym.make("rlsuite/PixelGridWorld-v0"), rm, target)  # replace, scale 1, IoU
    env.reset(seed=0)
    _, r, _, _, info = env.step(0)  # up from the top row: the env's reward is -1
    assert r == 0.25 and info["env_reward"] == -1.0 and info["detector_reward"] == 0.25 and info["state"] == 0
    assert rm.calls == [((80, 80, 3), target, "iou")]
    seen = []
    rm = _FixedDetector(0.25)
    env = DetectionRewardWrapper(gym.make("rlsuite/PixelGridWorld-v0"), rm, lambda i: seen.append(i) or target,
                                 kind="count", mode="add", scale=3.0)  # fmt: skip
    env.reset(seed=0)
    _, r, _, _, info = env.step(0)
    assert r == -1.0 + 3.0 * 0.25 and seen == [{"state": 0, "prob": 1.0, "boxes": info["boxes"],
                                               "labels": info["labels"]}]  # fmt: skip
    assert rm.calls[0][1:] == (target, "count")


class _GoalModel:
    """A reward model by the wrapper's protocol (``rewards``, ``set_goal``) that records its goals."""

    def __init__(self, goal=None):
        self.goals = []
        if goal is not None:
            self.goal = goal

    def set_goal(self, goal):
        self.goals.append(goal)
        self.goal = goal

    def rewards(self, frames):
        return np.array([0.5])


def test_vlm_wrapper_sets_the_goal_only_when_it_changes():
    plain = gym.make("rlsuite/PixelGridWorld-v0")
    rm = _GoalModel("kept")
    env = VLMRewardWrapper(plain, rm)  # no goal: the model keeps its own
    env.reset(seed=0)
    assert rm.goals == [] and rm.goal == "kept"
    rm = _GoalModel("kept")
    env = VLMRewardWrapper(plain, rm, goal="reach the target")
    env.reset(seed=0)
    env.reset(seed=1)
    assert rm.goals == ["reach the target"]  # set once: the second reset finds it set
    rm = _GoalModel()  # no goal attribute at all
    env = VLMRewardWrapper(plain, rm, goal="reach the target")
    env.reset(seed=0)
    assert rm.goals == ["reach the target"]
    rm = _GoalModel()
    env = VLMRewardWrapper(gym.make("rlsuite/PixelGoalGridWorld-v0"), rm, goal=lambda e, info: info["instruction"])
    _, info = env.reset(seed=2)
    assert rm.goals == [info["instruction"]]


def test_reward_model_defaults_dtype_alpha_and_baseline(tiny_clip_dir):
    rm = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT)  # auto: the CPU here (or simulated CUDA)
    assert rm.baseline == "a grid world" and rm.dtype == auto_dtype() and rm.alpha == 0.5
    model = rm.model
    direct = VLMRewardModel(model, rm.processor, rm.tokenizer, GOAL_TEXT)
    assert direct.baseline == "a grid world" and direct.device == rm.device
    assert VLMRewardModel(model, rm.processor, rm.tokenizer, GOAL_TEXT, baseline=None).baseline == "a grid world"
    other = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, baseline="an empty grid", alpha=1.0)
    assert other.baseline == "an empty grid" and other.alpha == 1.0
    g, b = other.embed_texts([GOAL_TEXT, "an empty grid"])
    d = (g - b) / (g - b).norm()
    torch.testing.assert_close(other._projection, torch.outer(d, d), rtol=0, atol=1e-6)
    other.set_goal("the agent is on the left")
    assert other.baseline == "an empty grid"  # a new goal keeps the baseline
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\], got 1.5"):
        VLMRewardModel(model, rm.processor, rm.tokenizer, GOAL_TEXT, alpha=1.5)
    assert VLMRewardModel._pooled(torch.ones(2)).tolist() == [1.0, 1.0]  # a bare tensor is its own pooling
    with pytest.raises(ValueError, match=r"^images: a grey frame"):
        rm.rewards(np.zeros((2, 3)))


def test_reward_model_in_bfloat16_runs_the_model_in_bfloat16(tiny_clip_dir):
    rm = VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, device="cpu", dtype="bfloat16")
    assert rm.dtype == torch.bfloat16 and {p.dtype for p in rm.model.parameters()} == {torch.bfloat16}
    frames = np.zeros((2, 80, 80, 3), np.uint8)
    assert rm.embed_images(frames).dtype == torch.float32 and rm.rewards(frames).shape == (2,)


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks for CUDA where there is none")
def test_reward_model_on_cuda_without_cuda_is_an_error(tiny_clip_dir):
    with pytest.raises(ValueError, match="cuda"):
        VLMRewardModel.from_pretrained(tiny_clip_dir, goal=GOAL_TEXT, device="cuda")


# ----------------------------------------------------------------------------- detection rewards (mutation testing)
def _dets(boxes, labels):
    from rlsuite.vision.detection import Detections

    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return Detections(boxes, np.asarray(labels, np.int64), np.ones(len(boxes)))


def test_matched_box_reward_defaults_to_iou_and_counts_every_unmatched_truth():
    from rlsuite.envs.pixels import CLASS_NAMES
    from rlsuite.vision.rewards import DetectionTarget, detection_reward, matched_box_reward

    det = _dets([[0, 0, 10, 10]], [0])
    tb = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], np.float64)
    tl = np.array([0, 0, 2, 2])  # class 0: one of two truths matched (IoU 1); class 2: two truths, no detection
    assert matched_box_reward(det, tb, tl) == 0.25  # IoU by default: (1 + 0 + 0 + 0) / 4
    assert matched_box_reward(det, tb, tl, giou=True) == (1 - 1 - 1 - 1) / 4
    target = DetectionTarget(boxes=[("agent", [0, 0, 10, 5])])
    assert detection_reward(det, target, CLASS_NAMES) == 0.5  # kind iou by default


def test_grounding_scores_are_the_mean_probability_over_a_phrases_tokens():
    from rlsuite.vision.rewards import grounding_class_scores

    ids = torch.tensor([[101, 7, 8, 1012, 9, 1012, 102, 0]])  # [CLS] a b . c . [SEP] [PAD]: phrases "a b", "c"
    logits = torch.full((1, 2, 8), -30.0)
    logits[0, 0, 1], logits[0, 0, 2] = 0.0, 30.0  # box 0: the first phrase's tokens at p 0.5 and 1
    logits[0, 1, 4] = 0.0  # box 1: the second phrase at p 0.5
    scores = grounding_class_scores(logits, ids, ["a b", "c"])
    torch.testing.assert_close(scores, torch.tensor([[[0.75, 0.0], [0.0, 0.5]]]), atol=1e-6, rtol=0)


@pytest.fixture(scope="module")
def detector_dirs(tmp_path_factory):
    from rlsuite.testing.vision_models import build_tiny_detr
    from rlsuite.vision.detection import GridDetector, GridDetectorConfig

    torch.manual_seed(0)
    grid = tmp_path_factory.mktemp("grid")
    GridDetector(GridDetectorConfig(width=4)).save_pretrained(grid)
    return grid, build_tiny_detr(tmp_path_factory.mktemp("detr"))


def test_detection_reward_model_defaults_and_its_messages(detector_dirs):
    from rlsuite.vision.detection import GridDetector
    from rlsuite.vision.rewards import DetectionRewardModel, DetectionTarget

    grid, detr = detector_dirs
    model = DetectionRewardModel(GridDetector.from_pretrained(grid))  # threshold 0.5, auto device; float32 (grid)
    assert model.threshold == 0.5 and model.device.type == auto_device() and model.dtype == torch.float32
    frame = np.zeros((16, 16, 3), np.uint8)
    target = DetectionTarget(boxes=[("agent", [0, 0, 4, 4])])
    np.testing.assert_array_equal(model.rewards(frame, target), model.rewards(frame, target, "iou"))
    empty = r"^target: an empty list of targets; pass one DetectionTarget or one per frame$"
    with pytest.raises(ValueError, match=empty):
        model.rewards(frame, [])
    hf = DetectionRewardModel.from_pretrained(detr)  # dtype auto: float32 on the CPU, bfloat16 on CUDA
    assert hf.dtype == auto_dtype() and hf.device.type == auto_device()
    assert [len(d.scores) for d in hf.detect(np.zeros((2, 6, 5, 3), np.uint8))] == [0, 0]  # any size: no stride
    with pytest.raises(ValueError, match=r"^images: a grey frame"):
        hf.detect(np.zeros((6, 5), np.uint8))


def test_transformers_detections_are_the_processors_in_frame_pixels(detector_dirs):
    """Non-square frames: the boxes are the processor's post-processing at (height, width)."""
    from rlsuite.vision.rewards import DetectionRewardModel

    hf = DetectionRewardModel.from_pretrained(detector_dirs[1], threshold=0.0, device="cpu")
    frames = np.random.default_rng(0).integers(0, 256, (2, 40, 72, 3), dtype=np.uint8)
    dets = hf.detect(frames)
    inputs = hf.processor(images=list(frames), return_tensors="pt")
    with torch.no_grad():
        out = hf.model(**inputs)
    expected = hf.processor.post_process_object_detection(out, threshold=0.0, target_sizes=[(40, 72)] * 2)
    for d, e in zip(dets, expected, strict=True):
        np.testing.assert_allclose(d.boxes, e["boxes"].numpy(), rtol=1e-5, atol=1e-4)
        np.testing.assert_array_equal(d.labels, e["labels"].numpy())


def test_detection_reward_model_in_bfloat16(detector_dirs):
    from rlsuite.vision.rewards import DetectionRewardModel

    hf = DetectionRewardModel.from_pretrained(detector_dirs[1], threshold=0.0, device="cpu", dtype="bfloat16")
    assert hf.dtype == torch.bfloat16 and {p.dtype for p in hf.model.parameters()} == {torch.bfloat16}
    assert len(hf.detect(np.zeros((40, 40, 3), np.uint8))[0].scores) == 8


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks for CUDA where there is none")
def test_detection_reward_model_on_cuda_without_cuda_is_an_error(detector_dirs):
    from rlsuite.vision.rewards import DetectionRewardModel

    for folder in detector_dirs:
        with pytest.raises(ValueError, match="cuda"):
            DetectionRewardModel.from_pretrained(folder, device="cuda")


def test_model_reward_wrapper_replaces_with_scale_one_by_default(detector_dirs):
    from rlsuite.vision.rewards import DetectionRewardModel, ModelRewardWrapper

    class Constant(ModelRewardWrapper):
        def model_reward(self, frame, info):
            return 0.25

    env = Constant(gym.make("rlsuite/PixelGridWorld-v0"))
    env.reset(seed=0)
    _, r, _, _, info = env.step(0)  # the env's -1 replaced by 1 x 0.25
    assert r == 0.25 and info["env_reward"] == -1.0 and info["model_reward"] == 0.25
    hf = DetectionRewardModel.from_pretrained(detector_dirs[1], device="cpu")
    direct = DetectionRewardModel(hf.model, hf.processor)  # dtype auto: float32 on the CPU, bfloat16 on CUDA
    assert direct.dtype == auto_dtype()
