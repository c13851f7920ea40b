"""rlsuite.testing.vision_models: the tiny detectors' and VLMs' saved sizes, classes, processors and defaults."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from rlsuite.envs.pixels import CLASS_NAMES
from rlsuite.testing import vision_models as V


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_tiny_encoder_decoder_sizes() -> None:
    assert V._tiny_encoder_decoder(16, decoder_layers=3) == {
        "d_model": 16, "encoder_layers": 1, "decoder_layers": 3, "encoder_attention_heads": 2,
        "decoder_attention_heads": 2, "encoder_ffn_dim": 32, "decoder_ffn_dim": 32}


def test_tiny_detr_saves_its_sizes_classes_backbone_and_processor(tmp_path: Path) -> None:
    path = V.build_tiny_detr(str(tmp_path / "detr"))
    assert path == tmp_path / "detr" and isinstance(path, Path)
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors", "preprocessor_config.json"]
    config = _json(path / "config.json")
    sizes = ("architectures", "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
             "decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim", "num_queries",
             "use_timm_backbone", "use_pretrained_backbone")  # fmt: skip
    assert {k: config[k] for k in sizes} == {
        "architectures": ["DetrForObjectDetection"], "d_model": 16, "encoder_layers": 1, "decoder_layers": 1,
        "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 32, "decoder_ffn_dim": 32,
        "num_queries": 8, "use_timm_backbone": False, "use_pretrained_backbone": False}
    assert config["id2label"] == {str(i): name for i, name in enumerate(CLASS_NAMES)}
    assert config["label2id"] == {name: i for i, name in enumerate(CLASS_NAMES)}
    backbone = config["backbone_config"]
    assert {k: backbone[k] for k in ("model_type", "embedding_size", "hidden_sizes", "depths", "layer_type",
                                     "out_features")} == {
        "model_type": "resnet", "embedding_size": 8, "hidden_sizes": [8, 16], "depths": [1, 1], "layer_type": "basic",
        "out_features": ["stage2"]}
    processor = _json(path / "preprocessor_config.json")
    assert processor["size"] == {"shortest_edge": 80, "longest_edge": 80}
    assert processor["image_processor_type"] == "DetrImageProcessor"


def test_tiny_detr_sizes_are_the_arguments(tmp_path: Path) -> None:
    path = V.build_tiny_detr(tmp_path, d_model=24, num_queries=5, frame_px=64)
    config = _json(path / "config.json")
    assert (config["d_model"], config["encoder_ffn_dim"], config["num_queries"]) == (24, 48, 5)
    assert _json(path / "preprocessor_config.json")["size"] == {"shortest_edge": 64, "longest_edge": 64}


def test_bert_word_tokenizer_keeps_bert_ids() -> None:
    tok = V.build_bert_word_tokenizer(words=("agent", "target", "agent"))
    assert tok.model_max_length == 64 and len(tok) == 1030
    assert [tok.convert_tokens_to_ids(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", ".", "?")] == [
        0, 100, 101, 102, 1012, 1029]
    assert tok("Agent. target?").input_ids == [101, 1, 1012, 2, 1029, 102]  # words fill the free ids in order
    assert tok("robot").input_ids == [101, 100, 102]


def test_tiny_grounding_dino_defaults(tmp_path: Path) -> None:
    path = V.build_tiny_grounding_dino(tmp_path / "gd")
    config = _json(path / "config.json")
    assert (config["architectures"], config["d_model"], config["decoder_layers"], config["num_queries"]) == (
        ["GroundingDinoForObjectDetection"], 32, 2, 8)  # not MM-Grounding-DINO
    size = _json(path / "processor_config.json")["image_processor"]["size"]
    assert size == {"shortest_edge": 80, "longest_edge": 80}


def test_tiny_vlm_builders_default_to_80_pixel_frames_8_pixel_patches_width_64_two_layers() -> None:
    model, processor = V.build_tiny_idefics3()
    text, vision = model.config.text_config, model.config.vision_config
    assert (text.hidden_size, text.num_hidden_layers, vision.image_size, vision.patch_size) == (64, 2, 80, 8)
    assert processor.image_seq_len == 25
    model, processor = V.build_tiny_qwen2_vl()
    text, vision = model.config.text_config, model.config.vision_config
    assert (text.hidden_size, text.num_hidden_layers, vision.patch_size) == (64, 2, 8)
    size = processor.image_processor.size  # min and max pixels: one 80x80 frame
    assert (size.shortest_edge, size.longest_edge) == (80 * 80, 80 * 80)
    model, processor = V.build_tiny_kimi_k25()
    text, vision = model.config.text_config, model.config.vision_config
    assert (text.hidden_size, text.num_hidden_layers, vision.patch_size, vision.pos_emb_height) == (64, 2, 8, 10)


def test_save_tiny_vlm_defaults_width_32_one_layer_seed_0(tmp_path: Path) -> None:
    path = V.save_tiny_vlm("idefics3", tmp_path / "vlm")
    assert path == tmp_path / "vlm"
    text = _json(path / "config.json")["text_config"]
    assert (text["hidden_size"], text["num_hidden_layers"]) == (32, 1)
    torch.manual_seed(0)
    built = V.build_tiny_idefics3(hidden=32, layers=1)[0].state_dict()
    saved = load_file(str(path / "model.safetensors"))
    assert saved.keys() <= built.keys() and all(torch.equal(saved[k], built[k]) for k in saved)
