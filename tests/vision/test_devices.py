"""Devices and dtypes of the vision wrappers, checked without a GPU (issue 15).

- Grounding DINO's label maps are built on the logits' device (bug 2): a "meta" tensor stands in for
  a CUDA one, and the test checks the devices the code hands to ``build_label_maps``.
- A freshly trained default is measured and saved in float32, even where ``dtype="auto"`` means
  bfloat16 (bug 5): "auto" is made to mean bfloat16 here, as it does on a CUDA machine.
- A kept default is loaded on its config's device, in the dtype asked for (bug 6).
- bfloat16 against float32 on the CPU, within stated tolerances, for the detector, reward and policy
  wrappers (CUDA runs bfloat16 by default; the same code path runs here).
"""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from safetensors import safe_open

import rlsuite.envs  # noqa: F401
from rlsuite.testing.vision_models import GOAL_TEXT, build_tiny_detr, build_tiny_grounding_dino
from rlsuite.vision.detection import DetectorTrainConfig, GridDetector
from rlsuite.vision.finetune import VLMTrainConfig
from rlsuite.vision.models import build_tiny_clip, build_tiny_llava, build_word_tokenizer
from rlsuite.vision.policies import DEFAULT_PROMPT, VLMPolicy
from rlsuite.vision.rewards import DetectionRewardModel, DetectionTarget, VLMRewardModel, grounding_class_scores


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    return np.stack([env.reset(seed=s)[0] for s in range(4)])


def _dtypes(path) -> set[torch.dtype]:
    with safe_open(str(path), framework="pt") as f:
        return {f.get_tensor(k).dtype for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)


# ----------------------------------------------------------------------------- bug 2: Grounding DINO
def test_grounding_label_maps_are_built_on_the_host_and_meet_the_logits_on_their_device():
    """The processor's input_ids stay on the CPU; the logits come from the model's device (bug 2: they
    met in one matmul on different devices). The label maps are built from the ids on the host, where
    ``unique`` costs no sync (issue 22: on the GPU, one per frame), and moved to the logits' device."""
    from cuda_sim import count_syncs, simulate_cuda

    ids = torch.tensor([[101, 30, 1012, 31, 1012, 102]] * 2)  # [CLS] a . b . [SEP]
    with simulate_cuda():
        logits = torch.full((2, 4, 32), -20.0, device="cuda")
        logits[:, :, 1] = 20.0  # every box lights phrase "a"
        with count_syncs() as syncs:
            scores = grounding_class_scores(logits, ids, ["a", "b"])
        assert not syncs, syncs
        assert scores.device.type == "cuda" and scores.shape == (2, 4, 2)
        # the answer is the mean token probability of each phrase
        np.testing.assert_allclose(scores[:, :, 0].cpu().numpy(), 1.0)
        np.testing.assert_allclose(scores[:, :, 1].cpu().numpy(), 1 / (1 + np.exp(20.0)), rtol=1e-5)


def test_grounding_dino_runs_its_inputs_on_the_model_device_and_dtype(tmp_path, frames):
    folder = build_tiny_grounding_dino(tmp_path / "gd")
    seen = {}
    model = DetectionRewardModel.from_pretrained(folder, threshold=0.0, device="cpu", dtype="bfloat16",
                                                 queries=["agent", "target"])  # fmt: skip
    def record(module, args, kwargs):
        seen.update({k: (v.device.type, v.dtype) for k, v in kwargs.items() if torch.is_tensor(v)})

    hook = model.model.register_forward_pre_hook(record, with_kwargs=True)
    dets = model.detect(frames[:2])
    hook.remove()
    assert seen["pixel_values"] == ("cpu", torch.bfloat16) and seen["input_ids"] == ("cpu", torch.int64)
    assert all(d.scores.dtype == np.float32 for d in dets)


# ----------------------------------------------------------------------------- bug 5: float32 training
def test_a_trained_clip_reward_is_measured_and_saved_in_float32_where_auto_means_bf16(monkeypatch, tmp_path):
    import rlsuite.vision.contrastive as contrastive
    import rlsuite.vision.runtime as runtime
    from rlsuite.vision.contrastive import ContrastiveTrainConfig
    from rlsuite.vision.defaults import default_clip_reward

    real_resolve = runtime.resolve_dtype
    def as_on_cuda(dtype, device):  # "auto" is bfloat16 there
        return torch.bfloat16 if dtype == "auto" else real_resolve(dtype, device)

    monkeypatch.setattr(runtime, "resolve_dtype", as_on_cuda)
    measured = []
    real_eval = contrastive.evaluate_reward_rank_correlation

    def spy(reward, **kwargs):
        measured.append(next(reward.model.parameters()).dtype)
        return real_eval(reward, **kwargs)

    monkeypatch.setattr(contrastive, "evaluate_reward_rank_correlation", spy)
    config = ContrastiveTrainConfig(steps=2, batch_size=4, pool=8, size=3, eval_episodes=2, device="cpu")
    trained = default_clip_reward(config, out=tmp_path / "clip", dtype="auto")
    assert measured == [torch.float32]  # the metrics are the float32 model's
    assert _dtypes(tmp_path / "clip" / "model.safetensors") == {torch.float32}  # and so is the saved copy
    assert trained.model.dtype == torch.bfloat16  # "auto" for inference: what the caller asked for
    again = default_clip_reward(config, out=tmp_path / "clip", dtype="float32")
    assert again.reused and again.model.dtype == torch.float32


def test_a_trained_grid_detector_is_saved_in_float32(tmp_path):
    from rlsuite.vision.defaults import default_detector

    config = DetectorTrainConfig(max_steps=1, batch_size=2, max_size=3, eval_frames=2, eval_episodes=1, device="cpu")
    default_detector(config, out=tmp_path / "det")
    assert _dtypes(tmp_path / "det" / "model.safetensors") == {torch.float32}


# ----------------------------------------------------------------------------- bug 6: kept models, config's device
def _fake_kept(folder, name, config, save) -> None:
    """A finished folder of ``config`` without training: the model saved, metrics and the marker written."""
    from rlsuite.common.io import FINISHED
    from rlsuite.vision.defaults import config_key

    save(folder)
    (folder / "metrics.json").write_text(json.dumps({"kept": True}))
    (folder / FINISHED).write_text(json.dumps({"model": name, "config_key": config_key(config)}))


def _fake_kept_path(folder, config):
    from rlsuite.vision.defaults import DETECTOR_NAME

    folder.mkdir()
    _fake_kept(folder, DETECTOR_NAME, config, GridDetector().save_pretrained)
    return folder


def test_a_kept_vlm_policy_is_loaded_on_the_configs_device_and_dtype(monkeypatch, tmp_path):
    from rlsuite.vision.defaults import VLM_POLICY_NAME, default_vlm_policy

    config = VLMTrainConfig(device="cpu", hidden=16, layers=1)
    model, processor = build_tiny_llava(image_size=64, hidden=16, layers=1)
    _fake_kept(tmp_path, VLM_POLICY_NAME, config, VLMPolicy(model, processor, device="cpu").save_pretrained)
    calls = []
    real = VLMPolicy.from_pretrained.__func__

    def spy(cls, folder, **kwargs):
        calls.append(kwargs)
        return real(cls, folder, **kwargs)

    monkeypatch.setattr(VLMPolicy, "from_pretrained", classmethod(spy))
    trained = default_vlm_policy(config, out=tmp_path, dtype="bfloat16")
    assert trained.reused and trained.metrics == {"kept": True}
    assert calls == [{"trust_remote_code": False, "device": "cpu", "dtype": "bfloat16", "trust_pickle": False,
                     "prompt": DEFAULT_PROMPT}]
    assert trained.model.model.dtype == torch.bfloat16 and trained.model.device == torch.device("cpu")


def test_a_kept_detector_is_loaded_on_the_configs_device(monkeypatch, tmp_path):
    from rlsuite.common.device import select_device
    from rlsuite.vision.defaults import DETECTOR_NAME, default_detector

    auto = default_detector(DetectorTrainConfig(), out=_fake_kept_path(tmp_path / "auto", DetectorTrainConfig()))
    # "auto" resolved (compare types: a tensor on "cuda" reports "cuda:0")
    assert auto.reused and next(auto.model.parameters()).device.type == select_device("auto").type
    config = DetectorTrainConfig(device="cpu")
    _fake_kept(tmp_path, DETECTOR_NAME, config, GridDetector().save_pretrained)
    calls = []
    real = GridDetector.from_pretrained.__func__

    def spy(cls, folder, **kwargs):
        calls.append(kwargs)
        return real(cls, folder, **kwargs)

    monkeypatch.setattr(GridDetector, "from_pretrained", classmethod(spy))
    assert default_detector(config, out=tmp_path).reused and calls == [{"device": torch.device("cpu")}]


def test_auto_dtype_is_bf16_only_where_the_gpu_has_it_natively() -> None:
    from cuda_sim import simulate_cuda

    from rlsuite.vision.runtime import resolve_dtype

    cuda = torch.device("cuda")
    with simulate_cuda(native_bf16=False):  # a V100 or T4: bf16 emulated, slower than float32
        assert resolve_dtype("auto", cuda) == torch.float32
    with simulate_cuda():
        assert resolve_dtype("auto", cuda) == torch.bfloat16
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32


# ----------------------------------------------------------------------------- bf16 against float32
def test_detection_reward_bf16_matches_float32(tmp_path, frames):
    """Tiny DETR: boxes within 0.5 px, scores within 0.01, the same labels (measured: 0.0015 px, 5e-5)."""
    build_tiny_detr(tmp_path / "detr")
    f32 = DetectionRewardModel.from_pretrained(tmp_path / "detr", threshold=0.0, device="cpu", dtype="float32")
    b16 = DetectionRewardModel.from_pretrained(tmp_path / "detr", threshold=0.0, device="cpu", dtype="bfloat16")
    assert next(b16.model.parameters()).dtype == torch.bfloat16
    for a, b in zip(f32.detect(frames), b16.detect(frames), strict=True):
        assert b.boxes.dtype == np.float32 and b.scores.dtype == np.float32
        np.testing.assert_allclose(b.boxes, a.boxes, atol=0.5)
        np.testing.assert_allclose(b.scores, a.scores, atol=0.01)
        np.testing.assert_array_equal(b.labels, a.labels)
    target = DetectionTarget(boxes=[("agent", [0, 0, 16, 16])])
    np.testing.assert_allclose(b16.rewards(frames, target, "giou"), f32.rewards(frames, target, "giou"), atol=0.02)
    # The grid detector always runs in float32, whatever dtype is asked.
    torch.manual_seed(0)
    GridDetector().save_pretrained(tmp_path / "grid")
    grid = DetectionRewardModel.from_pretrained(tmp_path / "grid", device="cpu", dtype="bfloat16")
    assert grid.dtype == torch.float32 and next(grid.model.parameters()).dtype == torch.float32


def test_clip_reward_bf16_matches_float32(tmp_path, frames):
    """Tiny CLIP: rewards within 5e-3 (measured: 8e-4 on rewards near 0.68)."""
    torch.manual_seed(0)
    tok = build_word_tokenizer()
    model, proc = build_tiny_clip(tok)
    for x in (model, proc, tok):
        x.save_pretrained(tmp_path)
    f32 = VLMRewardModel.from_pretrained(tmp_path, GOAL_TEXT, device="cpu", dtype="float32").rewards(frames)
    b16 = VLMRewardModel.from_pretrained(tmp_path, GOAL_TEXT, device="cpu", dtype="bfloat16")
    assert b16.dtype == torch.bfloat16 and b16.rewards(frames).dtype == np.float32
    np.testing.assert_allclose(b16.rewards(frames), f32, atol=5e-3)


def test_vlm_policy_bf16_matches_float32(tmp_path, frames):
    """Tiny Llava: action probabilities within 5e-3 (measured: 2e-4); the value head stays float32."""
    torch.manual_seed(0)
    model, processor = build_tiny_llava(hidden=32, layers=1)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    f32 = VLMPolicy.from_pretrained(tmp_path, device="cpu", dtype="float32")
    b16 = VLMPolicy.from_pretrained(tmp_path, device="cpu", dtype="bfloat16")
    assert b16.model.dtype == torch.bfloat16 and b16.value_head.weight.dtype == torch.float32
    with torch.no_grad():
        (p32, v32), (p16, v16) = f32(frames), b16(frames)
    assert p16.probs.dtype == torch.float32
    torch.testing.assert_close(p16.probs, p32.probs, atol=5e-3, rtol=0)
    assert v16.shape == v32.shape == (4,)


# ----------------------------------------------------------------------------- issue 22: host-device syncs
def _syncs(run, *args) -> dict[str, int]:
    from cuda_sim import count_syncs

    with count_syncs() as syncs:
        run(*args)
    return dict(syncs)


def test_the_grid_detector_copies_a_batch_to_the_host_once(frames):
    """Thresholding on the device with fixed shapes, one copy of the whole batch (was: a boolean mask
    and three ``.cpu()`` per frame, 384 syncs per batch of 64); the same detections as on the CPU."""
    from cuda_sim import simulate_cuda

    torch.manual_seed(0)
    model = GridDetector()
    on_cpu = model.detect(frames, threshold=0.05)
    with simulate_cuda():
        model.to("cuda")
        assert _syncs(model.detect, frames, 0.05) == {"cpu": 1}
        on_gpu = model.detect(frames, threshold=0.05)
    assert sum(len(d.scores) for d in on_cpu) > len(frames)  # several detections per frame, some not
    for a, b in zip(on_cpu, on_gpu, strict=True):
        np.testing.assert_array_equal(b.boxes, a.boxes)
        np.testing.assert_array_equal(b.labels, a.labels)
        np.testing.assert_array_equal(b.scores, a.scores)
        assert b.boxes.dtype == b.scores.dtype == np.float32 and b.labels.dtype == np.int64


def test_the_training_loops_read_their_losses_once():
    """The detector's and the tiny CLIP's steps keep their losses on the device: the only sync of a run
    is the one read after training (``.item()`` every step was one sync per step)."""
    from cuda_sim import simulate_cuda

    from rlsuite.vision.contrastive import ContrastiveTrainConfig, train_contrastive_reward
    from rlsuite.vision.detection import train_detector

    def detector(steps: int) -> None:
        train_detector(DetectorTrainConfig(max_steps=steps, batch_size=2, max_size=3, width=8, device="cuda"))

    def clip(steps: int) -> None:
        config = ContrastiveTrainConfig(steps=steps, batch_size=4, pool=8, size=2, cell_px=8, device="cuda")
        train_contrastive_reward(config)

    with simulate_cuda():
        for train in (detector, clip):
            assert _syncs(train, 1) == _syncs(train, 4) == {"cpu": 1}, train.__name__


def test_transformers_detectors_copy_a_batch_to_the_host_once(tmp_path, frames):
    """rlsuite's side of a transformers detector's batch is one copy to the host. transformers' own
    post-processing of DETR-like models masks each frame on the device (3 syncs per frame, left to it);
    Grounding DINO's classes are rlsuite's (label maps on the host, fixed shapes): no mask at all."""
    from cuda_sim import simulate_cuda

    with simulate_cuda():
        detr = DetectionRewardModel.from_pretrained(build_tiny_detr(tmp_path / "detr"), threshold=0.0,
                                                    device="cuda", dtype="float32")  # fmt: skip
        syncs = _syncs(detr.detect, frames)
        assert syncs["cpu"] == 1 and syncs["boolean mask index"] == 3 * len(frames), syncs
        gd = DetectionRewardModel.from_pretrained(build_tiny_grounding_dino(tmp_path / "gd"), threshold=0.0,
                                                  device="cuda", dtype="float32", queries=["agent", "target"])
        syncs = _syncs(gd.detect, frames)
        assert syncs["cpu"] == 1 and not {"boolean mask index", "unique", "nonzero"} & set(syncs), syncs
