"""The tiny CLIP of rlsuite.vision.models carries every setting it is built with (mutation testing, issue 26 point 7).

The configs and processor are read back field by field; the numbers are the builder's defaults.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from rlsuite.vision.models import build_tiny_clip, build_word_tokenizer


@pytest.fixture  # built in each test: mutmut credits a module fixture's calls to the first test only
def clip():
    tokenizer = build_word_tokenizer()
    model, processor = build_tiny_clip(tokenizer)
    return tokenizer, model, processor


def test_the_text_config_carries_the_tokenizer_ids_and_sizes(clip):
    tokenizer, model, _ = clip
    text = model.config.text_config
    assert (text.bos_token_id, text.eos_token_id, text.pad_token_id) == (1, 3, 0)  # <bos>, <eos>, <pad>
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (1, 3, 0)
    assert (text.vocab_size, text.hidden_size, text.intermediate_size) == (len(tokenizer), 64, 128)
    assert (text.num_hidden_layers, text.num_attention_heads, text.max_position_embeddings) == (2, 4, 32)


def test_the_vision_config_and_the_projection(clip):
    _, model, _ = clip
    vision = model.config.vision_config
    assert (vision.image_size, vision.patch_size, vision.hidden_size, vision.intermediate_size) == (80, 8, 64, 128)
    assert (vision.num_hidden_layers, vision.num_attention_heads) == (2, 4)
    assert model.config.projection_dim == 32
    assert model.logit_scale.item() == pytest.approx(math.log(100.0))  # temperature 1/100


def test_the_processor_resizes_the_short_edge_then_crops_the_centre(clip):
    _, _, processor = clip
    assert processor.size.shortest_edge == 80 and processor.do_center_crop is True
    assert (processor.crop_size.height, processor.crop_size.width) == (80, 80)
    wide = Image.fromarray(np.zeros((40, 60, 3), np.uint8))  # 40x60 -> 80x120 -> its centre 80x80
    assert tuple(processor(images=[wide], return_tensors="pt")["pixel_values"].shape) == (1, 3, 80, 80)
