"""Detection: reward maths, tiny transformers detectors end to end, the grid detector and its policy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.envs.pixels import CLASS_NAMES
from rlsuite.vision.detection import (
    DetectionPolicy,
    Detections,
    DetectorTrainConfig,
    GridDetector,
    _targets,
    average_precision,
    box_iou,
    centernet_loss,
    render_batch,
    train_detector,
)
from rlsuite.vision.rewards import (
    DetectionRewardModel,
    DetectionRewardWrapper,
    DetectionTarget,
    box_giou,
    detection_reward,
)

ID2LABEL = dict(enumerate(CLASS_NAMES))
LABEL2ID = {n: i for i, n in ID2LABEL.items()}


def _dets(boxes, labels, scores=None):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return Detections(
        boxes, np.asarray(labels, np.int64), np.ones(len(boxes)) if scores is None else np.asarray(scores)
    )


# ----------------------------------------------------------------------------- reward maths
def test_iou_and_giou_known_values():
    a = np.array([[0, 0, 10, 10]])
    assert box_iou(a, [[5, 0, 15, 10]])[0, 0] == pytest.approx(50 / 150)
    assert box_iou(a, a)[0, 0] == pytest.approx(1.0)
    # Disjoint boxes with a gap: IoU 0, GIoU = -(hull - union) / hull.
    assert box_giou(a, [[20, 0, 30, 10]])[0, 0] == pytest.approx(-(300 - 200) / 300)
    assert box_giou(a, a)[0, 0] == pytest.approx(1.0)


def test_hungarian_matching_is_order_free_and_per_class():
    truth = [("forbidden", [0, 0, 16, 16]), ("forbidden", [16, 0, 32, 16]), ("agent", [3, 3, 13, 13])]
    perfect = _dets([[16, 0, 32, 16], [3, 3, 13, 13], [0, 0, 16, 16]], [2, 0, 2])
    target = DetectionTarget(boxes=truth)
    assert detection_reward(perfect, target, CLASS_NAMES, "iou") == pytest.approx(1.0)
    assert detection_reward(perfect, target, CLASS_NAMES, "giou") == pytest.approx(1.0)
    # A greedy first-come matching would pair the shifted box with the wrong truth; Hungarian does not.
    shifted = _dets([[4, 0, 20, 16], [16, 0, 32, 16], [3, 3, 13, 13]], [2, 2, 0])
    expected = (box_iou([[0, 0, 16, 16]], [[4, 0, 20, 16]])[0, 0] + 1 + 1) / 3
    assert detection_reward(shifted, target, CLASS_NAMES, "iou") == pytest.approx(expected)
    # The agent detected as a target class: its truth is unmatched (0 for IoU, -1 for GIoU).
    wrong_class = _dets([[0, 0, 16, 16], [16, 0, 32, 16], [3, 3, 13, 13]], [2, 2, 1])
    assert detection_reward(wrong_class, target, CLASS_NAMES, "iou") == pytest.approx(2 / 3)
    assert detection_reward(wrong_class, target, CLASS_NAMES, "giou") == pytest.approx(1 / 3)


def test_presence_and_count_rewards():
    det = _dets([[0, 0, 1, 1]] * 3, [2, 2, 0])
    assert detection_reward(det, DetectionTarget(present=["agent", "target"]), CLASS_NAMES, "presence") == 0.5
    assert (
        detection_reward(det, DetectionTarget(counts={"forbidden": 2, "agent": 1}), CLASS_NAMES, "count")
        == 1.0
    )
    assert detection_reward(det, DetectionTarget(counts={"forbidden": 3}), CLASS_NAMES, "count") == 0.0
    with pytest.raises(ValueError, match="knows"):
        detection_reward(det, DetectionTarget(present=["dog"]), CLASS_NAMES, "presence")
    with pytest.raises(ValueError, match=r"needs DetectionTarget\.boxes"):
        detection_reward(det, DetectionTarget(present=["agent"]), CLASS_NAMES, "iou")


def test_average_precision_of_exact_and_of_missing_detections():
    rng = np.random.default_rng(0)
    _, truths = render_batch(rng, 6, 5, 5, 16, 0.3)
    exact = [_dets(b, lab) for b, lab in truths]
    assert average_precision(exact, truths, 3) == {0: 1.0, 1: 1.0, 2: 1.0}
    no_agent = [
        Detections(d.boxes[d.labels != 0], d.labels[d.labels != 0], d.scores[d.labels != 0]) for d in exact
    ]
    assert average_precision(no_agent, truths, 3)[0] == 0.0


def test_ap50_counts_a_detection_from_iou_one_half():
    """The IoU threshold is PASCAL VOC's 0.5, inclusive: IoU exactly 0.5 is a hit, 0.49 a miss."""
    truths = [(np.array([[0.0, 0.0, 10.0, 10.0]]), np.array([0]))]
    half = [_dets([[0, 0, 10, 5]], [0])]  # IoU 50 / 100
    below = [_dets([[0, 0, 10, 4.9]], [0])]  # IoU 49 / 100
    assert box_iou(half[0].boxes, truths[0][0])[0, 0] == 0.5
    assert average_precision(half, truths, 1) == {0: 1.0}
    assert average_precision(below, truths, 1) == {0: 0.0}
    assert average_precision(half, truths, 1, iou=0.75) == {0: 0.0}


def test_evaluate_detector_reports_ap_at_iou_one_half(monkeypatch):
    """evaluate_detector's "AP50" uses the 0.5 threshold: boxes shrunk to IoU 0.5 score 1, to 0.49 score 0."""
    import rlsuite.vision.detection as detection

    truths = [(np.array([[0.0, 0.0, 16.0, 16.0], [16.0, 0.0, 32.0, 16.0]]), np.array([0, 1]))] * 2
    monkeypatch.setattr(detection, "render_batch", lambda rng, n, *a: (np.zeros((n, 16, 32, 3), np.uint8), truths[:n]))

    class Shrunk:  # the true boxes, their height scaled by ``keep``: IoU = keep
        def __init__(self, keep):
            self.keep = keep
            self.config = GridDetector().config

        def detect(self, frames, threshold=0.0):
            out = []
            for boxes, labels in truths[: len(frames)]:
                b = boxes.copy()
                b[:, 3] = b[:, 1] + (b[:, 3] - b[:, 1]) * self.keep
                out.append(_dets(b, labels))
            return out

    assert detection.evaluate_detector(Shrunk(0.5), n_frames=2, batch_size=2)["AP50"] == 1.0
    assert detection.evaluate_detector(Shrunk(0.49), n_frames=2, batch_size=2)["AP50"] == 0.0


# ----------------------------------------------------------------------------- transformers detectors
def _tiny_detr(folder):
    from rlsuite.testing.vision_models import build_tiny_detr

    build_tiny_detr(folder)


def _tiny_yolos(folder):
    from transformers import YolosConfig, YolosForObjectDetection
    from transformers.models.yolos.image_processing_pil_yolos import YolosImageProcessorPil

    config = YolosConfig(
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        image_size=[80, 80],
        patch_size=16,
        num_detection_tokens=6,
        id2label=ID2LABEL,
        label2id=LABEL2ID,
    )
    YolosForObjectDetection(config).save_pretrained(folder)
    YolosImageProcessorPil(size={"shortest_edge": 80, "longest_edge": 80}).save_pretrained(folder)


def _tiny_rt_detr(folder):
    from transformers import RTDetrConfig, RTDetrForObjectDetection, RTDetrResNetConfig
    from transformers.models.rt_detr.image_processing_pil_rt_detr import RTDetrImageProcessorPil

    backbone = RTDetrResNetConfig(
        embedding_size=8,
        hidden_sizes=[8, 16, 16],
        depths=[1, 1, 1],
        layer_type="basic",
        out_features=["stage1", "stage2", "stage3"],
    )
    config = RTDetrConfig(
        backbone_config=backbone,
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        d_model=16,
        encoder_hidden_dim=16,
        encoder_in_channels=[8, 16, 16],
        encoder_layers=1,
        encoder_ffn_dim=32,
        encoder_attention_heads=2,
        decoder_layers=1,
        decoder_ffn_dim=32,
        decoder_attention_heads=2,
        decoder_in_channels=[16, 16, 16],
        num_queries=8,
        num_denoising=0,
        id2label=ID2LABEL,
        label2id=LABEL2ID,
    )
    RTDetrForObjectDetection(config).save_pretrained(folder)
    RTDetrImageProcessorPil(size={"height": 80, "width": 80}).save_pretrained(folder)


@pytest.mark.parametrize("build", [_tiny_detr, _tiny_yolos, _tiny_rt_detr], ids=["detr", "yolos", "rt-detr"])
def test_transformers_detector_end_to_end(tmp_path, build):
    build(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    model = DetectionRewardModel.from_pretrained(tmp_path, threshold=0.0, device="cpu")
    assert model.class_names == list(CLASS_NAMES)
    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    frames, infos = [], []
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        frames.append(obs)
        infos.append(info)
    dets = model.detect(np.stack(frames))
    assert len(dets) == 3 and all(d.boxes.shape[1] == 4 and len(d.boxes) > 0 for d in dets)
    assert all(((d.labels >= 0) & (d.labels < 3)).all() for d in dets)
    targets = [
        DetectionTarget(boxes=[(CLASS_NAMES[c], b) for b, c in zip(i["boxes"], i["labels"], strict=True)])
        for i in infos
    ]
    iou = model.rewards(np.stack(frames), targets, "iou")
    giou = model.rewards(np.stack(frames), targets, "giou")
    assert (
        iou.shape == (3,) and ((iou >= 0) & (iou <= 1)).all() and ((giou >= -1) & (giou <= iou + 1e-9)).all()
    )
    # The wrapper replaces the env's reward with the detector's, and keeps the env's in info.
    wrapped = DetectionRewardWrapper(
        env, model, lambda info: DetectionTarget(present=["agent"]), kind="presence"
    )
    wrapped.reset(seed=0)
    _, r, _, _, info = wrapped.step(1)
    assert r == info["detector_reward"] and "env_reward" in info


# ----------------------------------------------------------------------------- the grid detector
def test_grid_detector_learns_and_round_trips(tmp_path):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    frames, truths = render_batch(rng, 16, 5, 5, 16, 0.3)
    tgt = _targets(truths, 3, 20, 20)
    model = GridDetector()
    with torch.no_grad():
        before = float(centernet_loss(model(torch.from_numpy(frames)), tgt))
    model, info = train_detector(DetectorTrainConfig(max_steps=40, batch_size=16, max_size=5, device="cpu"))
    with torch.no_grad():
        after = float(centernet_loss(model(torch.from_numpy(frames)), tgt))
    assert info["steps"] == 40 and after < 0.5 * before
    model.save_pretrained(tmp_path)
    reloaded = DetectionRewardModel.from_pretrained(tmp_path, threshold=0.1, device="cpu")
    d1, d2 = model.detect(frames[:4], threshold=0.1), reloaded.detect(frames[:4])
    for a, b in zip(d1, d2, strict=True):
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-4)
    with pytest.raises(ValueError, match="not an rlsuite grid detector"):
        (tmp_path / "config.json").write_text('{"model_type": "detr"}')
        GridDetector.from_pretrained(tmp_path)


def test_detection_policy_reads_the_grid_and_plans():
    """With the renderer's exact boxes as detections, the policy must solve every layout optimally."""

    class Exact:  # the renderer's boxes, fed through the same read-and-plan path
        def __init__(self, env):
            self.env = env

        def detect(self, frames, threshold=0.0):
            info = self.env.unwrapped._info({})
            return [_dets(info["boxes"], info["labels"])]

    env = gym.make("rlsuite/PixelGridWorldRandom-v0", n_rows=6, n_cols=6, forbidden_fraction=0.3)
    policy = DetectionPolicy(Exact(env))
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        layout, s = policy.read_grid(Exact(env).detect(None)[0], 6, 6)
        np.testing.assert_array_equal(layout.kinds, env.unwrapped.world.kinds)
        assert s == info["state"]
        for _ in range(40):
            action, _ = policy.predict(obs)
            obs, _, terminated, _, info = env.step(int(action))
            if terminated:
                break
        assert terminated


@pytest.mark.slow
def test_default_detector_quality_bars():
    """The cached default: AP50 >= 0.9 on held-out frames, DetectionPolicy >= 95% (trains ~5 min)."""
    from rlsuite.vision.defaults import default_detector
    from rlsuite.vision.detection import evaluate_detector, policy_success_rate

    trained = default_detector()
    model, metrics = trained.model, trained.metrics
    assert evaluate_detector(model, n_frames=200, seed=4242)["AP50"] >= 0.9
    assert policy_success_rate(DetectionPolicy(model), episodes=100, seed=99)["success_rate"] >= 0.95
    assert metrics["detector"]["AP50"] >= 0.9 and metrics["policy"]["success_rate"] >= 0.95


def test_open_vocabulary_detector_end_to_end(tmp_path):
    """A tiny OWL-ViT from configs with the local word tokenizer: text queries are the classes."""
    from transformers import OwlViTConfig, OwlViTForObjectDetection, OwlViTProcessor
    from transformers.models.owlvit.image_processing_pil_owlvit import OwlViTImageProcessorPil

    from rlsuite.vision.models import build_word_tokenizer

    tok = build_word_tokenizer()
    ids = {
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}
    torch.manual_seed(0)  # random weights can push a score's sigmoid to exactly 0, below threshold 0.0
    config = OwlViTConfig(
        text_config={"vocab_size": len(tok), "max_position_embeddings": 16, **small, **ids},
        vision_config={"image_size": 80, "patch_size": 16, **small},
        projection_dim=32,
    )
    OwlViTForObjectDetection(config).save_pretrained(tmp_path)
    size = {"height": 80, "width": 80}
    OwlViTProcessor(
        image_processor=OwlViTImageProcessorPil(size=size, crop_size=size), tokenizer=tok
    ).save_pretrained(tmp_path)
    model = DetectionRewardModel.from_pretrained(
        tmp_path, threshold=0.0, device="cpu", queries=["agent", "target"]
    )
    assert model.open_vocabulary and model.class_names == ["agent", "target"]
    env = gym.make("rlsuite/PixelGridWorld-v0")
    obs, _ = env.reset(seed=0)
    dets = model.detect(np.stack([obs, obs]))
    assert len(dets) == 2 and len(dets[0].boxes) == 25  # one box per 16x16 patch
    assert set(np.unique(dets[0].labels)) <= {0, 1}
    r = model.rewards(np.stack([obs]), DetectionTarget(present=["agent", "target"]), "presence")
    assert r.shape == (1,) and 0.0 <= r[0] <= 1.0


# ----------------------------------------------------------------------------- Grounding DINO
GD_QUERIES = ["agent", "target", "forbidden"]


@pytest.fixture(scope="module", params=[False, True], ids=["grounding-dino", "mm-grounding-dino"])
def grounding_dino_dir(request, tmp_path_factory):
    from rlsuite.testing.vision_models import build_tiny_grounding_dino

    torch.manual_seed(0)
    return build_tiny_grounding_dino(tmp_path_factory.mktemp("gdino"), mm=request.param)


def test_grounding_dino_end_to_end(grounding_dino_dir):
    """Tiny (MM-)Grounding DINO from configs: queries are the classes, boxes are labelled by best phrase."""
    from rlsuite.vision.rewards import grounding_class_scores

    model = DetectionRewardModel.from_pretrained(grounding_dino_dir, threshold=0.0, device="cpu", queries=GD_QUERIES)
    assert model.open_vocabulary and model.grounding and model.class_names == GD_QUERIES
    assert type(model.model).__name__.endswith("GroundingDinoForObjectDetection")
    env = gym.make("rlsuite/PixelGridWorld-v0")
    obs, _ = env.reset(seed=0)
    obs2, *_ = env.step(1)
    frames = np.stack([obs, obs2])
    dets = model.detect(frames)
    assert len(dets) == 2 and all(len(d.boxes) == 8 for d in dets)  # threshold 0: every decoder query
    again = model.detect(frames)
    one = model.detect(frames[1])
    for a, b in zip(dets, again, strict=True):  # deterministic
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_allclose(a.boxes, b.boxes)
    np.testing.assert_allclose(one[0].scores, dets[1].scores, atol=1e-5)  # batch of 2 == frame alone
    # The labels and scores are the best phrase's mean token probability, from the model's own logits.
    inputs = model.processor(text=[GD_QUERIES] * 2, images=list(frames), return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model.model(**inputs)
    best, label = grounding_class_scores(out.logits, inputs["input_ids"], GD_QUERIES).max(-1)
    np.testing.assert_array_equal(dets[0].labels, label[0].numpy())
    np.testing.assert_allclose(dets[0].scores, best[0].numpy(), atol=1e-6)
    b = dets[0].boxes  # corners of sigmoid (cx, cy, w, h) in pixels: within [-0.5, 1.5] x 80
    assert (b[:, 2:] >= b[:, :2]).all() and (b >= -40).all() and (b <= 120).all()
    for kind, target in [
        ("presence", DetectionTarget(present=["agent", "target"])),
        ("count", DetectionTarget(counts={"agent": 1})),
        ("iou", DetectionTarget(boxes=[("agent", [0, 0, 16, 16])])),
    ]:
        r = model.rewards(frames, target, kind)
        assert r.shape == (2,) and ((r >= 0) & (r <= 1)).all()
    with pytest.raises(ValueError, match="names class 'cat'"):
        model.rewards(frames, DetectionTarget(present=["cat"]), "presence")
    strict = DetectionRewardModel.from_pretrained(grounding_dino_dir, threshold=1.0, device="cpu", queries=GD_QUERIES)
    assert all(len(d.boxes) == 0 for d in strict.detect(frames))  # sigmoid scores never exceed 1
    with pytest.raises(ValueError, match=r"without '\.'"):
        DetectionRewardModel.from_pretrained(grounding_dino_dir, device="cpu", queries=["agent. target"])


def test_grounding_dino_phrases_map_to_query_classes(grounding_dino_dir):
    """Synthetic token logits: each box lights one phrase's tokens; its class is that query, which is
    also the text label transformers' own post-processing decodes for it."""
    import warnings
    from types import SimpleNamespace

    from rlsuite.vision.rewards import grounding_class_scores

    queries = ["blue square", "agent", "target"]
    model = DetectionRewardModel.from_pretrained(grounding_dino_dir, threshold=0.5, device="cpu", queries=queries)
    frame = np.zeros((80, 80, 3), np.uint8)
    ids = model.processor(text=[queries], images=[frame], return_tensors="pt")["input_ids"]
    tok = model.processor.tokenizer
    assert tok.decode(ids[0]) == "[CLS] blue square . agent . target . [SEP]"
    phrase_tokens = {"blue square": [1, 2], "agent": [4], "target": [6]}  # positions in the prompt
    lit = ["target", "blue square", "agent", None]  # box 3 lights nothing
    logits = torch.full((1, 4, 32), -10.0)
    logits[:, :, ids.shape[1] :] = float("-inf")  # past the prompt, as the model masks it
    for box, phrase in enumerate(lit):
        if phrase is not None:
            logits[0, box, phrase_tokens[phrase]] = 10.0
    boxes = torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.1, 0.1, 0.2, 0.2], [0.25, 0.75, 0.5, 0.5], [0.5, 0.5, 1, 1]]])
    scores = grounding_class_scores(logits, ids, queries)
    assert scores.shape == (1, 4, 3)
    assert scores[0, :3].argmax(-1).tolist() == [2, 0, 1]
    outputs = SimpleNamespace(logits=logits, pred_boxes=boxes)
    (result,) = model._grounded_detections(outputs, ids, [(80, 80)])
    assert result.labels.tolist() == [2, 0, 1]  # the unlit box is below the threshold
    np.testing.assert_array_equal(result.boxes[2], [0.0, 40.0, 40.0, 80.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        (hf,) = model.processor.post_process_grounded_object_detection(
            outputs, input_ids=ids, threshold=0.5, text_threshold=0.5, target_sizes=[(80, 80)]
        )
    assert hf["text_labels"] == [queries[i] for i in result.labels.tolist()]
    np.testing.assert_allclose(hf["boxes"].numpy(), result.boxes, rtol=1e-6)
    with pytest.raises(ValueError, match="splits into 3 phrases for 2 queries"):
        grounding_class_scores(logits, ids, queries[:2])
