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


def save_tiny_owlvit(folder) -> None:
    """A tiny OWL-ViT from configs with the local word tokenizer, saved with its processor to ``folder``."""
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
    OwlViTForObjectDetection(config).save_pretrained(folder)
    size = {"height": 80, "width": 80}
    OwlViTProcessor(
        image_processor=OwlViTImageProcessorPil(size=size, crop_size=size), tokenizer=tok
    ).save_pretrained(folder)


def test_open_vocabulary_detector_end_to_end(tmp_path):
    """A tiny OWL-ViT from configs with the local word tokenizer: text queries are the classes."""
    save_tiny_owlvit(tmp_path)
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


# ----------------------------------------------------------------------------- exact values (mutation testing)
def _gauss(H, W, ix, iy, sigma):
    yy, xx = np.mgrid[0:H, 0:W]
    return np.exp(-((xx - ix) ** 2 + (yy - iy) ** 2) / (2 * sigma**2))


def test_centernet_targets_hold_the_exact_gaussians_sizes_and_offsets():
    """CenterNet's targets (stride 4): Gaussian of sigma max(0.5, min(w, h) / 4 / 6) at the centre pixel
    (clamped into the map), size (w, h) / 4 and the sub-pixel offset there, float32."""
    boxes = np.array([[4.0, 4.0, 16.0, 28.0], [4.0, 6.0, 30.0, 18.0], [20.0, 20.0, 36.0, 36.0]])
    tgt = _targets([(boxes, np.array([0, 1, 2]))], 3, 5, 6)
    assert {k: (v.dtype, tuple(v.shape)) for k, v in tgt.items()} == {
        "heatmap": (torch.float32, (1, 3, 5, 6)), "size": (torch.float32, (1, 6, 5, 6)),
        "offset": (torch.float32, (1, 6, 5, 6)), "mask": (torch.float32, (1, 6, 5, 6))}
    # box 0: centre (2.5, 4.0) pixels of the map, sigma max(0.5, 12/24); box 1: (4.25, 3.0), sigma 12/24;
    # box 2: centre (7, 7) beyond the 6 x 5 map, clamped to (5, 4), sigma 16/24
    expected = [(2, 4, 0.5, 3.0, 6.0, 0.5, 0.0), (4, 3, 0.5, 6.5, 3.0, 0.25, 0.0), (5, 4, 16 / 24, 4.0, 4.0, 2.0, 3.0)]
    for c, (ix, iy, sigma, w, h, dx, dy) in enumerate(expected):
        np.testing.assert_allclose(tgt["heatmap"][0, c].numpy(), _gauss(5, 6, ix, iy, sigma), rtol=1e-6)
        for k, values in (("size", (w, h)), ("offset", (dx, dy)), ("mask", (1.0, 1.0))):
            plane = np.zeros((2, 5, 6), np.float32)
            plane[:, iy, ix] = values
            np.testing.assert_array_equal(tgt[k][0, 2 * c : 2 * c + 2].numpy(), plane)
    with pytest.raises(ValueError, match="zip"):  # a label per box
        _targets([(boxes, np.array([0, 1]))], 3, 5, 6)


def test_centernet_loss_is_the_focal_loss_plus_l1_terms():
    """Two positives (gt 1), one whose logit is -20, and a negative whose logit is 20 (both clamped to 1e-4
    from the edge), negatives at gt 0.5 and 0.25; size and offset L1 over the one masked entry."""
    logits = torch.tensor([-20.0, 20.0, 0.0, 1.0, 2.0]).reshape(1, 1, 1, 5)
    gt = torch.tensor([1.0, 0.0, 0.5, 0.25, 1.0]).reshape(1, 1, 1, 5)
    size_p, size_t = torch.tensor([3.0, 5.0, 1.0, 1.0]), torch.tensor([1.0, 9.0, 1.0, 1.0])
    off_p, off_t = torch.tensor([0.5, 0.25, 0.0, 0.0]), torch.tensor([0.125, 1.0, 0.0, 0.0])
    mask = torch.tensor([1.0, 0.0, 0.0, 0.0])
    shape = (1, 2, 1, 2)
    out = {"heatmap": logits, "size": size_p.reshape(shape), "offset": off_p.reshape(shape)}
    tgt = {"heatmap": gt, "size": size_t.reshape(shape), "offset": off_t.reshape(shape), "mask": mask.reshape(shape)}
    p = [1e-4, 1 - 1e-4, 0.5, 1 / (1 + np.exp(-1.0)), 1 / (1 + np.exp(-2.0))]
    pos = sum(np.log(p[i]) * (1 - p[i]) ** 2 for i in (0, 4))
    neg = sum(np.log(1 - p[i]) * p[i] ** 2 * (1 - g) ** 4 for i, g in ((1, 0.0), (2, 0.5), (3, 0.25)))
    focal = -(pos + neg) / 2  # two positives
    expected = focal + 0.1 * abs(3.0 - 1.0) / 1 + abs(0.5 - 0.125) / 1
    assert float(centernet_loss(out, tgt)) == pytest.approx(expected, rel=1e-5)


def test_average_precision_matches_greedily_by_score_and_marks_truths_used():
    """VOC AP on hand-built cases: a lower-scored better box loses to the higher-scored one, a used truth
    is not matched twice, classes without truths are skipped, frames without truths of a class count
    their detections as false positives."""
    truth = (np.array([[0.0, 0.0, 10.0, 10.0]]), np.array([1]))
    a, b = [0, 0, 10, 6], [0, 0, 10, 10]  # IoU 0.6 and 1.0 with the truth
    dets = [_dets([b, a], [1, 1], [0.5, 0.9])]
    assert average_precision(dets, [truth], 2) == {1: 1.0}  # a (0.9) hits, b is a false positive after it
    # b first (0.9, IoU 1) hits, a is the false positive after it
    assert average_precision([_dets([b, a], [1, 1], [0.9, 0.5])], [(truth[0], np.array([1]))], 2) == {1: 1.0}
    lower_first = [_dets([[0, 0, 10, 4], b], [1, 1], [0.9, 0.5])]  # the 0.9 box has IoU 0.4: a false positive
    assert average_precision(lower_first, [truth], 2) == {1: 0.5}
    two = (np.array([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 6.0]]), np.array([1, 1]))
    # det 1 fits truth 0 best (IoU 1); det 2 fits truth 0 better (0.9) than truth 1 (0.667): truth 1 it is
    both = [_dets([[0, 0, 10, 10], [0, 0, 10, 9]], [1, 1], [0.9, 0.8])]
    assert box_iou([[0, 0, 10, 9]], two[0]).round(4).tolist() == [[0.9, 0.6667]]
    assert average_precision(both, [two], 2) == {1: 1.0}
    empty = (np.zeros((0, 4)), np.zeros(0, np.int64))  # a frame with no truths: its detection is a false positive
    assert average_precision([_dets([a], [1], [0.9]), *dets], [empty, truth], 2) == {1: 0.5}
    with pytest.raises(ValueError, match="zip"):
        average_precision(dets, [truth, truth], 2)
    assert average_precision([_dets([a], [0], [0.9])], [truth], 2) == {1: 0.0}  # no detection of class 1
    both_classes = (np.array([[0.0, 0.0, 10.0, 10.0]] * 2), np.array([0, 1]))  # class 0 undetected: AP 0, then class 1
    assert average_precision([_dets([b], [1], [0.9])], [both_classes], 2) == {0: 0.0, 1: 1.0}


def test_evaluate_detector_renders_its_held_out_frames_and_reports_ap(monkeypatch):
    """The default evaluation: 300 frames in batches of 50 of 3x3..7x7 layouts (16 px, up to 35% forbidden)
    from seed 12345, detections at threshold 0.05; a detector missing the agent in every third frame."""
    import rlsuite.vision.detection as detection
    from tests.recording import RecordingReporter, reporting_to

    rng = np.random.default_rng(12345)
    expected = []
    for _ in range(6):
        n_rows, n_cols = (int(v) for v in rng.integers(3, 8, size=2))
        expected.append((50, n_rows, n_cols, 16, 0.35))
        render_batch(rng, 50, n_rows, n_cols, 16, 0.35)
    calls, queue = [], []

    def recording(rng, n, n_rows, n_cols, cell_px, fraction):
        calls.append((n, n_rows, n_cols, cell_px, fraction))
        frames, targets = render_batch(rng, n, n_rows, n_cols, cell_px, fraction)
        queue.extend(targets)
        return frames, targets

    class Replay:  # the true boxes, the agent dropped in every third frame
        config = GridDetector(detection.GridDetectorConfig(width=4)).config
        thresholds: list = []
        seen = 0

        def detect(self, frames, threshold=0.3):
            self.thresholds.append(threshold)
            out = []
            for boxes, labels in queue[self.seen : self.seen + len(frames)]:
                keep = (labels != 0) | (self.seen % 3 != 0)
                out.append(_dets(boxes[keep], labels[keep]))
                self.seen += 1
            return out

    monkeypatch.setattr(detection, "render_batch", recording)
    with reporting_to(RecordingReporter()) as reporter:
        result = detection.evaluate_detector(Replay())
    assert calls == expected and Replay.thresholds == [0.05] * 6
    assert result == {"AP50": pytest.approx((2 / 3 + 2) / 3, abs=1e-12),
                      "AP50_per_class": {"agent": 0.6667, "target": 1.0, "forbidden": 1.0}, "frames": 300}
    assert reporter.started == [("AP50 on held-out frames", 300, "frame")] and reporter.advances == [50] * 6
    calls.clear()
    assert detection.evaluate_detector(Replay(), n_frames=7, batch_size=5)["frames"] == 7
    assert [c[0] for c in calls] == [5, 2]  # the last batch holds what is left


def _reference_training(config):
    """train_detector's loop written out: AdamW (weight decay 1e-4), one-cycle LR (10% warm-up)."""
    from rlsuite.common.seeding import seed_everything
    from rlsuite.vision.detection import GridDetectorConfig
    from rlsuite.vision.runtime import torch_threads

    rng = seed_everything(config.seed)
    with torch_threads(config.threads):
        model = GridDetector(GridDetectorConfig(width=config.width))
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=config.max_steps, pct_start=0.1)
        losses = []
        for _ in range(config.max_steps):
            n_rows, n_cols = (int(v) for v in rng.integers(config.min_size, config.max_size + 1, size=2))
            frames, targets = render_batch(rng, config.batch_size, n_rows, n_cols, config.cell_px,
                                           config.max_forbidden_fraction)  # fmt: skip
            tgt = _targets(targets, 3, frames.shape[1] // 4, frames.shape[2] // 4)
            loss = centernet_loss(model(torch.from_numpy(frames)), tgt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss))
    return model, np.array(losses, np.float32)


def test_train_detector_is_the_written_out_loop_with_its_log_and_progress(caplog):
    import logging
    import time

    from tests.recording import RecordingReporter, reporting_to

    config = DetectorTrainConfig(max_steps=101, batch_size=1, width=4, min_size=2, max_size=3, cell_px=4,
                                 lr=1e-2, seed=3, device="cpu")  # fmt: skip
    caplog.set_level(logging.DEBUG, logger="rlsuite.vision.detection")
    t0 = time.perf_counter()
    with reporting_to(RecordingReporter()) as reporter:
        model, info = train_detector(config)
    elapsed = time.perf_counter() - t0
    reference, losses = _reference_training(config)
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q), name
    assert info["steps"] == 101 and info["params"] == sum(p.numel() for p in reference.parameters()) == 887
    assert info["first_loss"] == pytest.approx(float(np.mean(losses[:10])), rel=1e-6)
    assert info["final_loss"] == pytest.approx(float(np.mean(losses[-50:])), rel=1e-6)
    assert isinstance(info["seconds"], float) and info["seconds"] == round(info["seconds"], 1) <= elapsed + 0.05
    assert reporter.started == [("train grid detector", 101, "step")] and reporter.advances == [1] * 101
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert [m.split(":")[0] for m in debug] == ["step 100"]
    assert any(r.getMessage().startswith("grid detector: 101 steps in ") for r in caplog.records)


def test_render_batch_draws_layouts_and_states_from_its_generator():
    from rlsuite.envs.gridworld import GridWorldEnv, Layout
    from rlsuite.envs.pixels import frame_annotations, layout_map

    frames, targets = render_batch(np.random.default_rng(5), 4, 3, 4, 8, 0.5)
    rng = np.random.default_rng(5)
    for frame, (boxes, labels) in zip(frames, targets, strict=True):
        layout = Layout.random(3, 4, float(rng.uniform(0, 0.5)), rng)
        world = GridWorldEnv(grid_map=layout_map(layout), cell_px=8)
        s = int(rng.integers(world.n_states))
        np.testing.assert_array_equal(frame, world.render_rgb(state=s))
        want_boxes, want_labels = frame_annotations(world, state=s)
        np.testing.assert_array_equal(boxes, want_boxes)
        np.testing.assert_array_equal(labels, want_labels)
    _, none = render_batch(np.random.default_rng(0), 20, 4, 4, 8, 0.0)  # no forbidden cell at fraction 0
    assert all(2 not in labels for _, labels in none)


def test_padded_detections_pads_to_the_longest_and_keeps_only_the_real_ones():
    from rlsuite.vision.detection import padded_detections

    def result(n):
        return {"boxes": torch.ones(n, 4) * n, "labels": torch.arange(n), "scores": torch.full((n,), 0.5)}

    boxes, labels, scores, keep = padded_detections([result(2), result(0), result(1)])
    assert keep.tolist() == [[True, True], [False, False], [True, False]]
    assert tuple(boxes.shape) == (3, 2, 4) and labels.tolist() == [[0, 1], [0, 0], [0, 0]]
    boxes, labels, scores, keep = padded_detections([result(1), result(0)])
    assert tuple(boxes.shape) == (2, 1, 4) and keep.tolist() == [[True], [False]]
    boxes, labels, scores, keep = padded_detections([result(0), result(0)])
    assert [tuple(t.shape) for t in (boxes, labels, scores, keep)] == [(2, 0, 4), (2, 0), (2, 0), (2, 0)]
    assert (labels.dtype, scores.dtype, keep.dtype) == (torch.int64, torch.float32, torch.bool)


def test_of_class_keeps_scores_at_the_threshold_with_their_labels():
    det = _dets([[0, 0, 1, 1], [1, 1, 2, 2], [2, 2, 3, 3]], [2, 2, 1], [0.3, 0.2, 0.9])
    kept = det.of_class(2, threshold=0.3)
    assert kept.labels.tolist() == [2] and kept.scores.tolist() == [0.3] and kept.boxes.tolist() == [[0, 0, 1, 1]]


def test_detector_train_config_names_the_field_and_allows_equal_sizes():
    from rlsuite.common.errors import ConfigError

    assert DetectorTrainConfig(min_size=4, max_size=4).min_size == 4
    with pytest.raises(ConfigError, match=r"^DetectorTrainConfig.cell_px: 6 is not a multiple of 4"):
        DetectorTrainConfig(cell_px=6)
    with pytest.raises(ConfigError, match=r"^DetectorTrainConfig.min_size: 5 is larger than max_size=4"):
        DetectorTrainConfig(min_size=5, max_size=4)


def test_grid_detector_forward_scales_pixels_to_one_and_saves_into_new_folders(tmp_path):
    torch.manual_seed(0)
    model = GridDetector(GridDetectorConfig_(width=4)).eval()
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 8, 12, 3), dtype=np.uint8))
    with torch.no_grad():
        out = model(images)
        h = model.trunk(images.permute(0, 3, 1, 2).float() / 255.0)
    for key, head in (("heatmap", model.heatmap), ("size", model.size), ("offset", model.offset)):
        assert torch.equal(out[key], head(h)), key
    model.save_pretrained(tmp_path / "a" / "b")
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["config.json", "model.safetensors"]


def GridDetectorConfig_(**kw):
    from rlsuite.vision.detection import GridDetectorConfig

    return GridDetectorConfig(**kw)


class _Recorded:
    """A detector that returns fixed detections and records the threshold it was asked for."""

    config = None

    def __init__(self, dets):
        self.dets, self.thresholds = dets, []

    def detect(self, frames, threshold=0.3):
        self.thresholds.append(threshold)
        return self.dets[: len(frames)]


def test_detection_policy_reads_cells_clamped_best_scored_and_above_the_threshold():
    policy = DetectionPolicy(_Recorded([]))
    assert policy.read_grid(_dets([[0, 0, 16, 16]], [0]), 2, 3) == (None, None)  # no target
    assert policy.read_grid(_dets([[0, 0, 16, 16]], [1]), 2, 3) == (None, None)  # no agent
    det = _dets(
        [[0, 0, 16, 16], [40, 40, 60, 60], [16, 0, 32, 16], [32, 0, 48, 16], [0, 16, 16, 32], [16, 16, 32, 32],
         [100, 100, 120, 130]],
        [1, 1, 2, 2, 0, 0, 2],
        [0.4, 0.8, 0.3, 0.2, 0.5, 0.9, 0.6],
    )  # targets: the 0.8 one wins (its centre (50, 50) beyond the 2 x 3 grid: the last cell); forbidden
    # at 0.3 (the threshold) counts, at 0.2 not; the agent: 0.9; a forbidden box far outside: the last cell
    layout, s = policy.read_grid(det, 2, 3)
    assert layout.kinds.dtype == np.int8 and layout.kinds.tolist() == [[0, 1, 0], [0, 0, 2]]
    assert layout.target == (1, 2) and s == 1 * 3 + 1


def test_detection_policy_plans_with_its_config_and_bounds_its_cache():
    from rlsuite.envs.gridworld import Layout
    from rlsuite.vision.detection import DetectionPolicyConfig

    config = DetectionPolicyConfig(gamma=0.5, r_boundary=-2.0, r_forbidden=-3.0)
    policy = DetectionPolicy(_Recorded([]), config)
    kinds = np.array([[0, 1, 2]], np.int8)
    # actions up, right, down, left, stay; the target ends the episode (its row is 0); stay in the free
    # cell is worth 0, entering the forbidden cell -3 + 0.5 * 1
    q = policy._q(Layout(kinds, (0, 2)))
    np.testing.assert_allclose(q, [[-2, -2.5, -2, -2, 0], [-1.5, 1, -1.5, 0, -2.5], [0, 0, 0, 0, 0]])
    policy._plans = {i.to_bytes(2, "little"): q for i in range(4096)}
    policy._q(Layout(np.array([[2, 0]], np.int8), (0, 0)))
    assert len(policy._plans) == 4097  # cleared only beyond 4096 plans
    policy._q(Layout(np.array([[0, 2]], np.int8), (0, 1)))
    assert len(policy._plans) == 1


def test_detection_policy_predicts_from_non_square_frames_in_batches():
    agent_top = _dets([[0, 0, 16, 16], [0, 32, 16, 48]], [0, 1], [0.9, 0.9])  # 3 x 1 grid: target below
    detector = _Recorded([agent_top, _dets([], [])])
    policy = DetectionPolicy(detector)
    actions, state = policy.predict(np.zeros((2, 48, 16, 3), np.uint8))
    assert actions.tolist() == [2, 4] and actions.dtype == np.int64 and state is None  # unreadable: stay
    assert detector.thresholds == [0.05]
    action, _ = policy.predict(np.zeros((48, 16, 3), np.uint8))
    assert action == 2 and np.ndim(action) == 0


def test_grounded_detections_keep_scores_above_the_threshold_only(grounding_dino_dir):
    """A box whose phrase scores exactly the threshold (sigmoid(0) = 0.5) is not kept."""
    from types import SimpleNamespace

    queries = ["agent", "target"]
    model = DetectionRewardModel.from_pretrained(grounding_dino_dir, threshold=0.5, device="cpu", queries=queries)
    ids = model.processor(text=[queries], images=[np.zeros((80, 80, 3), np.uint8)], return_tensors="pt")["input_ids"]
    logits = torch.full((1, 2, 32), -10.0)
    logits[:, :, ids.shape[1] :] = float("-inf")
    logits[0, 0, 1] = 0.0  # box 0: "agent" at exactly 0.5
    logits[0, 1, 3] = 1.0  # box 1: "target" above it
    boxes = torch.tensor([[[0.5, 0.5, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5]]])
    (result,) = model._grounded_detections(SimpleNamespace(logits=logits, pred_boxes=boxes), ids, [(40, 80)])
    assert result.labels.tolist() == [1]
    np.testing.assert_allclose(result.boxes, [[0.0, 0.0, 40.0, 20.0]])


def test_iou_of_small_inverted_degenerate_and_float32_boxes():
    # under one pixel: inter 0.0625, union 0.3125
    assert box_iou([[0, 0, 0.5, 0.5]], [[0.25, 0.25, 0.75, 0.5]])[0, 0] == pytest.approx(0.2, abs=1e-15)
    assert box_iou([[2, 0, 0, 2]], [[0, 0, 2, 2]])[0, 0] == 0.0  # an inverted box has area 0
    assert box_iou([[0, 2, 2, 0]], [[1, 1, 2, 2]])[0, 0] == 0.0
    assert box_iou([[1, 1, 1, 1]], [[1, 1, 1, 1]])[0, 0] == 0.0  # no union: 0
    a = np.array([[0.1, 0.2, 0.7, 0.9], [0.3, 0.35, 1.1, 0.45]], np.float32)
    b = np.array([[0.15, 0.1, 0.65, 0.8], [0.05, 0.3, 0.9, 1.3]], np.float32)
    np.testing.assert_array_equal(box_iou(a, b), box_iou(a.astype(np.float64), b.astype(np.float64)))
    np.testing.assert_array_equal(box_iou(b, a), box_iou(b.astype(np.float64), a.astype(np.float64)))


def test_grid_detector_folders_that_do_not_fit_are_named(tmp_path):
    import json

    from rlsuite.common.errors import ConfigError, ModelFolderError
    from rlsuite.vision.detection import GridDetectorConfig

    model = GridDetector(GridDetectorConfig(width=4))
    assert torch.equal(model.heatmap.bias, torch.full((3,), -2.19))  # CenterNet's prior, sigmoid 0.1
    with pytest.raises(ConfigError, match=r"^GridDetectorConfig.width: 6 is not a multiple of 4$"):
        GridDetectorConfig(width=6)
    with pytest.raises(ConfigError, match=r"^GridDetectorConfig.class_names: 3 names for num_classes=2$"):
        GridDetectorConfig(num_classes=2)
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "width": 8}))
    with pytest.raises(ModelFolderError, match=r"model.safetensors does not fit config.json \(Error\(s\) in loading "
                       r"state_dict for GridDetector:\)$"):  # fmt: skip
        GridDetector.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "width": 6}))
    with pytest.raises(ModelFolderError, match=r": config\.json: GridDetectorConfig\.width: 6 is not a multiple of 4$"):
        GridDetector.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "model_type"}))
    with pytest.raises(ModelFolderError, match=r"config\.json is not an rlsuite grid detector's"):
        GridDetector.from_pretrained(tmp_path)


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks for CUDA where there is none")
def test_grid_detector_on_cuda_without_cuda_is_an_error(tmp_path):
    from rlsuite.vision.detection import GridDetectorConfig

    GridDetector(GridDetectorConfig(width=4)).save_pretrained(tmp_path)
    assert next(GridDetector.from_pretrained(tmp_path, torch.device("cpu")).parameters()).device.type == "cpu"
    with pytest.raises(ValueError, match="cuda"):
        GridDetector.from_pretrained(tmp_path, device="cuda")
