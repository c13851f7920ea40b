"""The frames vision models take: uint8 HWC/BHWC; float in [0, 1], channel-first and tensors converted
to the same answers; grey, RGBA, wrong shapes and empty batches refused naming the argument."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlsuite.envs  # noqa: F401
from rlsuite.testing.vision_models import GOAL_TEXT
from rlsuite.vision.detection import DetectionPolicy, GridDetector
from rlsuite.vision.images import as_frames
from rlsuite.vision.models import build_tiny_clip, build_tiny_llava, build_word_tokenizer
from rlsuite.vision.policies import VLMPolicy
from rlsuite.vision.rewards import DetectionRewardModel, DetectionTarget, VLMRewardModel


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    env = gym.make("rlsuite/PixelGridWorldRandom-v0")
    return np.stack([env.reset(seed=s)[0] for s in range(3)])


def _forms(frames: np.ndarray) -> dict[str, object]:
    """The documented forms of the same batch."""
    return {
        "float [0, 1]": frames.astype(np.float32) / 255.0,
        "float64 [0, 1]": frames / 255.0,
        "channel-first": frames.transpose(0, 3, 1, 2).copy(),
        "torch tensor": torch.from_numpy(frames),
        "torch channel-first float": torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255,
        "list of frames": list(frames),
        "int64": frames.astype(np.int64),
    }


def test_every_documented_form_becomes_the_same_uint8_batch(frames):
    for name, form in _forms(frames).items():
        out, single = as_frames(form)
        assert out.dtype == np.uint8 and not single, name
        np.testing.assert_array_equal(out, frames, err_msg=name)
    one, single = as_frames(frames[0].transpose(2, 0, 1) / 255.0)
    assert single and one.shape == (1, 80, 80, 3)
    np.testing.assert_array_equal(one[0], frames[0])


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        (np.zeros((80, 80), np.uint8), ValueError, "grey frame"),
        (np.zeros((2, 80, 80, 1), np.uint8), ValueError, "grey frames (1 channel"),
        (np.zeros((1, 80, 80), np.uint8), ValueError, "grey frames (1 channel"),  # channel-first grey
        (np.zeros((80, 80, 4), np.uint8), ValueError, "RGBA frames"),
        (np.zeros((2, 4, 80, 80), np.uint8), ValueError, "RGBA frames"),  # channel-first RGBA
        (np.zeros((0, 80, 80, 3), np.uint8), ValueError, "empty batch"),
        ([], ValueError, "empty list"),
        (np.zeros((2, 2, 80, 80, 3), np.uint8), ValueError, "got shape (2, 2, 80, 80, 3)"),
        (np.zeros((80, 80, 5), np.uint8), ValueError, "5 channels"),
        (np.zeros((80, 0, 3), np.uint8), ValueError, "empty frames"),
        (np.full((80, 80, 3), 2.0), ValueError, "values in [0, 1] (got [2, 2])"),
        (np.full((80, 80, 3), np.nan), ValueError, "NaN"),
        (np.full((80, 80, 3), 300), ValueError, "values in [0, 255]"),
        (np.zeros((80, 80, 3), bool), TypeError, "dtype bool"),
        ("frame.png", TypeError, "got str"),
        (None, TypeError, "got NoneType"),
        ([np.zeros((8, 8, 3), np.uint8), np.zeros((16, 16, 3), np.uint8)], ValueError, "different shapes"),
        ([np.zeros((8, 8, 3), np.uint8), "frame.png"], TypeError, "got str"),  # an element of a list
        (np.zeros((8, 8, 3), complex), TypeError, "dtype complex128"),
        (np.zeros((3, 5, 4), np.uint8), ValueError, "RGBA frames"),  # three rows of RGBA, not channel-first
        (np.zeros((0, 5, 3), np.uint8), ValueError, "empty frames"),
        (np.full((8, 8, 3), 256, np.int16), ValueError, "values in [0, 255] (got [256, 256])"),
        (np.full((8, 8, 3), -1, np.int16), ValueError, "values in [0, 255] (got [-1, -1])"),
    ],
)
def test_bad_frames_are_refused_naming_the_argument(bad, error, words):
    with pytest.raises(error) as info:
        as_frames(bad, name="frames")
    message = str(info.value)
    assert message.startswith("frames: ") and words in message and "\n" not in message


def test_detector_reward_and_policy_answer_the_same_for_every_form(tmp_path, frames):
    torch.manual_seed(0)
    detector = GridDetector()
    detector.save_pretrained(tmp_path)
    reward = DetectionRewardModel.from_pretrained(tmp_path, threshold=0.0, device="cpu")
    target = DetectionTarget(boxes=[("agent", [0, 0, 16, 16])])
    policy = DetectionPolicy(detector)
    expected = reward.rewards(frames, target, "giou")
    actions = policy.predict(frames)[0]
    boxes = detector.detect(frames, threshold=0.0)[0].boxes
    for name, form in _forms(frames).items():
        np.testing.assert_array_equal(reward.rewards(form, target, "giou"), expected, err_msg=name)
        np.testing.assert_array_equal(policy.predict(form)[0], actions, err_msg=name)
        np.testing.assert_array_equal(detector.detect(form, threshold=0.0)[0].boxes, boxes, err_msg=name)
    # Float frames were once read as a dark uint8 image (x / 255 truncated): the answers differed.
    dark = (frames / 255.0).astype(np.uint8)
    assert not np.allclose(reward.rewards(dark, target, "giou"), expected)


def test_clip_reward_and_vlm_policy_answer_the_same_for_every_form(tmp_path, frames):
    torch.manual_seed(0)
    tok = build_word_tokenizer()
    clip, proc = build_tiny_clip(tok, hidden=32, layers=1)
    reward = VLMRewardModel(clip, proc, tok, GOAL_TEXT, device="cpu")
    model, processor = build_tiny_llava(hidden=32, layers=1)
    policy = VLMPolicy(model, processor, device="cpu")
    expected = reward.rewards(frames)
    with torch.no_grad():
        logits = policy(frames)[0].logits
    for name, form in _forms(frames).items():
        np.testing.assert_allclose(reward.rewards(form), expected, rtol=0, atol=1e-6, err_msg=name)
        with torch.no_grad():
            torch.testing.assert_close(policy(form)[0].logits, logits, rtol=0, atol=1e-6, msg=name)
    with torch.no_grad():  # one channel-first float frame is one observation
        single = policy.predict(frames[1].transpose(2, 0, 1) / 255.0)[0]
    assert np.ndim(single) == 0 and int(single) == int(logits[1].argmax())


def test_edge_forms_convert_exactly():
    """Tensors that require grad, array-likes (``__array__``), zero-valued float and integer frames, one-row frames,
    channel-first frames whose height or width is 1, 3 or 4, and strides."""
    rgb = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    grad = torch.from_numpy(rgb / 255.0).requires_grad_()
    np.testing.assert_array_equal(as_frames(grad)[0][0], rgb)

    class ArrayLike:
        def __array__(self, dtype=None, copy=None):
            return rgb

    np.testing.assert_array_equal(as_frames(ArrayLike())[0][0], rgb)
    for zeros in (np.zeros((2, 2, 3)), np.zeros((2, 2, 3), np.int16)):
        np.testing.assert_array_equal(as_frames(zeros)[0], np.zeros((1, 2, 2, 3), np.uint8))
    assert as_frames(np.zeros((1, 5, 3), np.uint8))[0].shape == (1, 1, 5, 3)
    assert as_frames(np.zeros((4, 5, 3), np.uint8))[0].shape == (1, 4, 5, 3)  # channel-last, height 4
    assert as_frames(np.zeros((3, 4, 6), np.uint8))[0].shape == (1, 4, 6, 3)  # channel-first, height 4
    assert as_frames(np.zeros((3, 5, 2), np.uint8))[0].shape == (1, 5, 2, 3)  # channel-first, width 2
    assert as_frames(np.zeros((4, 6, 3), np.uint8), multiple_of=2)[0].shape == (1, 4, 6, 3)
    with pytest.raises(ValueError, match=r"^frames: frames of 3x5 pixels; this model needs height and width that "
                       r"are multiples of 2$"):  # fmt: skip
        as_frames(np.zeros((3, 5, 3), np.uint8), "frames", multiple_of=2)


def test_pil_images_are_frames() -> None:
    """A PIL image (numpy reads it through ``__array_interface__``; it has no ``__array__``) is one frame, and a
    list of them a batch, with the same pixels."""
    from PIL import Image

    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    frames, single = as_frames(Image.fromarray(pixels))
    assert single and frames.shape == (1, 4, 6, 3) and (frames[0] == pixels).all()
    batch, single = as_frames([Image.fromarray(pixels), Image.fromarray(pixels[::-1].copy())])
    assert not single and (batch[1] == pixels[::-1]).all()
