"""Tiny vision models for rlsuite's tests and benchmarks: built from configs, untrained, saved to folders.

The shipped defaults (the grid detector, the tiny CLIP reward, the tiny Llava policy) are built by
:mod:`rlsuite.vision.models`; the builders here exist only so that tests and benchmarks can run the
real loading code (``from_pretrained(folder)``) of each supported architecture offline: DETR,
Grounding DINO (and MM-Grounding-DINO), Idefics3/SmolVLM, Qwen2-VL and Kimi-K2.5.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlsuite.vision.models import SPECIAL_TOKENS, WORDS, boost_position_embeddings, build_word_tokenizer

GOAL_TEXT = "the agent is on the target"


def _tiny_encoder_decoder(d_model: int, decoder_layers: int) -> dict[str, int]:
    """The sizes of a tiny DETR-family encoder-decoder: one encoder layer, two heads, ffn 2 x d_model."""
    return {
        "d_model": d_model,
        "encoder_layers": 1,
        "decoder_layers": decoder_layers,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 2 * d_model,
        "decoder_ffn_dim": 2 * d_model,
    }


def build_tiny_detr(folder: str | Path, d_model: int = 16, num_queries: int = 8, frame_px: int = 80) -> Path:
    """Save a tiny, untrained DETR (ResNet backbone from config, no timm) with its PIL image
    processor to ``folder``, for the transformers detection path. Classes: the pixel envs'."""
    from transformers import DetrConfig, DetrForObjectDetection, ResNetConfig
    from transformers.models.detr.image_processing_pil_detr import DetrImageProcessorPil

    from rlsuite.envs.pixels import CLASS_NAMES

    backbone = ResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic", out_features=["stage2"]
    )
    id2label = dict(enumerate(CLASS_NAMES))
    config = DetrConfig(
        backbone_config=backbone,
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        **_tiny_encoder_decoder(d_model, decoder_layers=1),
        num_queries=num_queries,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    DetrForObjectDetection(config).save_pretrained(folder)
    DetrImageProcessorPil(size={"shortest_edge": frame_px, "longest_edge": frame_px}).save_pretrained(folder)
    return Path(folder)


def build_tiny_idefics3(
    image_size: int = 80, patch_size: int = 8, hidden: int = 64, layers: int = 2
) -> tuple[Any, Any]:
    """A tiny ``Idefics3ForConditionalGeneration`` (SmolVLM's architecture) and its processor, from configs.

    The tokenizer is :func:`build_word_tokenizer` without eos plus the special tokens the
    processor writes around an image (``<fake_token_around_image>``, ``<global-img>``,
    ``<end_of_utterance>``). The frame is one tile (no splitting): ``(image_size / patch_size)**2 / 4``
    image tokens after the 2x2 pixel shuffle (25 for 80x80 frames and 8-pixel patches).
    """
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    tokenizer = build_word_tokenizer(add_eos=False, max_length=256)
    tokenizer.add_tokens(["<fake_token_around_image>", "<global-img>", "<end_of_utterance>"], special_tokens=True)
    scale = 2
    image_processor = Idefics3ImageProcessorPil(
        do_image_splitting=False,
        size={"longest_edge": image_size},
        max_image_size={"longest_edge": image_size},
    )
    processor = Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=(image_size // patch_size) ** 2 // scale**2,
    )
    config = Idefics3Config(
        vision_config={
            "image_size": image_size,
            "patch_size": patch_size,
            "hidden_size": hidden // 2,
            "intermediate_size": hidden,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
        },
        text_config={
            "model_type": "llama",
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": 4,
            "num_key_value_heads": 4,
            "max_position_embeddings": 256,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        image_token_id=tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS["image"]),
        scale_factor=scale,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Idefics3ForConditionalGeneration(config)
    boost_position_embeddings(model.model.vision_model)
    return model, processor


def build_tiny_qwen2_vl(
    image_size: int = 80, patch_size: int = 8, hidden: int = 64, layers: int = 2
) -> tuple[Any, Any]:
    """A tiny ``Qwen2VLForConditionalGeneration`` and an :class:`~rlsuite.vision.policies.ImageTextProcessor`.

    Transformers 5.24's ``Qwen2VLProcessor`` cannot be built without torchvision (it requires a
    video processor), so the processor here is the tokenizer (:func:`build_word_tokenizer` without
    eos; ``<image>`` is the image pad token) plus ``Qwen2VLImageProcessorPil``: each ``<image>``
    becomes one token per merged 2x2 patch (25 for an 80x80 frame with 8-pixel patches).
    Multimodal RoPE splits each head's rotary half into (time, height, width) sections.
    """
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from rlsuite.vision.policies import ImageTextProcessor

    tokenizer = build_word_tokenizer(add_eos=False, max_length=256)
    heads = 4
    half = hidden // heads // 2
    config = Qwen2VLConfig(
        vision_config={
            "depth": 1,
            "embed_dim": hidden // 2,
            "hidden_size": hidden,
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": patch_size,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": heads,
            "max_position_embeddings": 256,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [half - 2 * (half // 4), half // 4, half // 4],
            },
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        image_token_id=tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS["image"]),
        video_token_id=tokenizer.unk_token_id,
        vision_start_token_id=tokenizer.unk_token_id,
        vision_end_token_id=tokenizer.unk_token_id,
    )
    pixels = image_size * image_size
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=pixels, max_pixels=pixels, patch_size=patch_size, temporal_patch_size=2, merge_size=2
    )
    processor = ImageTextProcessor(image_processor, tokenizer)
    return Qwen2VLForConditionalGeneration(config), processor


def build_tiny_kimi_k25(
    image_size: int = 80, patch_size: int = 8, hidden: int = 64, layers: int = 2
) -> tuple[Any, Any]:
    """A tiny ``Kimi_K25ForConditionalGeneration`` and an :class:`~rlsuite.vision.policies.ImageTextProcessor`.

    Kimi-K2.5 is a MoonViT-style vision tower (native-resolution patches, 2D RoPE, 2x2 patch
    merge) feeding a DeepSeek-V3 text model (multi-head latent attention, mixture of experts).
    Here: one dense layer then ``layers - 1`` MoE layers of 4 experts (2 per token, plus a shared
    one). Transformers 5.24's ``Kimi_K25ImageProcessor`` needs torchvision, so the processor is the
    tokenizer (:func:`build_word_tokenizer` without eos; ``<image>`` is the media pad token) plus
    :class:`~rlsuite.vision.image_processing.Kimi_K25ImageProcessorPil`: an 80x80 frame is 10x10
    patches of 8 pixels, merged 2x2 into 25 image tokens.
    """
    from transformers import Kimi_K25Config, Kimi_K25ForConditionalGeneration

    from rlsuite.vision.image_processing import Kimi_K25ImageProcessorPil
    from rlsuite.vision.policies import ImageTextProcessor

    tokenizer = build_word_tokenizer(add_eos=False, max_length=256)
    heads, vision_hidden = 4, hidden // 2
    side = image_size // patch_size
    config = Kimi_K25Config(
        text_config={
            "model_type": "deepseek_v3",
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "moe_intermediate_size": hidden,
            "num_hidden_layers": layers,
            "first_k_dense_replace": 1,
            "n_routed_experts": 4,
            "num_experts_per_tok": 2,
            "n_shared_experts": 1,
            "n_group": 1,
            "topk_group": 1,
            "num_attention_heads": heads,
            "num_key_value_heads": heads,
            "kv_lora_rank": hidden // 2,
            "q_lora_rank": hidden // 2,  # as in Kimi-K2.5; also keeps its vision wqkv save rule off q_proj
            "qk_rope_head_dim": hidden // heads // 2,
            "qk_nope_head_dim": hidden // heads // 2,
            "v_head_dim": hidden // heads,
            "max_position_embeddings": 256,
            "num_mtp_layers": 0,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "patch_size": patch_size,
            "pos_emb_height": side,
            "pos_emb_width": side,
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "hidden_size": vision_hidden,
            "intermediate_size": 2 * vision_hidden,
            "merge_kernel_size": [2, 2],
            "rope_parameters": {"rope_type": "axial", "rope_theta": 10000.0},
        },
        projection_hidden_size=vision_hidden,
        image_token_id=tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS["image"]),
        video_token_id=tokenizer.unk_token_id,
        vision_start_token_id=tokenizer.unk_token_id,
        vision_end_token_id=tokenizer.unk_token_id,
    )
    image_processor = Kimi_K25ImageProcessorPil(
        patch_size=patch_size, merge_size=2, size={"max_height": side, "max_width": side}
    )
    processor = ImageTextProcessor(image_processor, tokenizer, return_mm_token_type_ids=False)
    return Kimi_K25ForConditionalGeneration(config), processor


def build_bert_word_tokenizer(words: tuple[str, ...] = WORDS, max_length: int = 64) -> Any:
    """A word-level, BERT-numbered ``PreTrainedTokenizerFast`` built locally (no download).

    Grounding DINO's text encoder is BERT and its model hard-codes bert-base-uncased's ids of
    ``[CLS]`` (101), ``[SEP]`` (102), ``.`` (1012) and ``?`` (1029) to split a prompt such as
    ``"agent. target."`` into phrases, so those tokens sit at those ids here (``[PAD]`` 0, ``[UNK]``
    100, ``words`` after ``[SEP]``, unused fillers elsewhere: 1030 ids). Encodings are
    ``[CLS] ... [SEP]``, lower-cased, split on whitespace and punctuation.
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    fixed = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, ".": 1012, "?": 1029}
    free = (i for i in range(1030) if i not in fixed.values())
    vocab = dict(fixed)
    for w in dict.fromkeys(words):
        if w not in vocab:
            vocab[w] = next(free)
    for i in free:
        vocab[f"[unused{i}]"] = i
    tok = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 101), ("[SEP]", 102)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        unk_token="[UNK]",
        model_max_length=max_length,
    )


def build_tiny_grounding_dino(
    folder: str | Path, d_model: int = 32, num_queries: int = 8, frame_px: int = 80, mm: bool = False
) -> Path:
    """Save a tiny, untrained Grounding DINO (or MM-Grounding-DINO with ``mm``) and its processor to ``folder``.

    Open-vocabulary: the classes are the text queries. A ResNet backbone from config (no timm),
    a 1-layer BERT text encoder over :func:`build_bert_word_tokenizer`, 2 decoder layers (one
    does not run), and ``GroundingDinoProcessor`` with its PIL image processor.
    """
    from transformers import BertConfig, GroundingDinoProcessor, ResNetConfig
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import (
        GroundingDinoImageProcessorPil,
    )

    if mm:
        from transformers import MMGroundingDinoConfig as Config
        from transformers import MMGroundingDinoForObjectDetection as Model
    else:
        from transformers import GroundingDinoConfig as Config
        from transformers import GroundingDinoForObjectDetection as Model

    tokenizer = build_bert_word_tokenizer()
    backbone = ResNetConfig(
        embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic", out_features=["stage1", "stage2"]
    )
    text = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=d_model,
        intermediate_size=2 * d_model,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    config = Config(
        backbone_config=backbone,
        text_config=text,
        **_tiny_encoder_decoder(d_model, decoder_layers=2),  # Grounding DINO needs >= 2 decoder layers
        num_queries=num_queries,
        num_feature_levels=2,
        encoder_n_points=2,
        decoder_n_points=2,
        max_text_len=32,
    )
    Model(config).save_pretrained(folder)
    image_processor = GroundingDinoImageProcessorPil(size={"shortest_edge": frame_px, "longest_edge": frame_px})
    GroundingDinoProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return Path(folder)


def save_tiny_vlm(
    arch: str, folder: str | Path, hidden: int = 32, layers: int = 1, seed: int = 0, output_std: float | None = None
) -> Path:
    """Build the tiny ``arch`` (``llava``, ``idefics3``, ``qwen2_vl`` or ``kimi_k25``) with torch seeded at
    ``seed`` and save model and processor to ``folder``; returns the folder.

    ``output_std`` redraws the output layer (``lm_head``) at that std after building (``hidden**-0.5``: logits of
    std 1 from a unit-RMS hidden state, a spread like a trained model's). At the builders' std 0.02 and hidden 32,
    a model whose output layer and final norm are frozen (LoRA) can separate two tokens' logits by at most about
    1 nat, so its sampled answers stay near uniform over the vocabulary whatever the adapters learn."""
    import torch

    from rlsuite.vision.models import build_tiny_llava

    builders = {"llava": build_tiny_llava, "idefics3": build_tiny_idefics3, "qwen2_vl": build_tiny_qwen2_vl,
                "kimi_k25": build_tiny_kimi_k25}  # fmt: skip
    torch.manual_seed(seed)
    model, processor = builders[arch](hidden=hidden, layers=layers)
    if output_std is not None:
        torch.nn.init.normal_(model.get_output_embeddings().weight, std=output_std)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return Path(folder)
