"""Tiny vision-language models built locally from configs: the word tokenizer, CLIP and Llava.

These are what the shipped defaults train (``rlsuite vision train-reward`` trains the tiny CLIP,
``train-vlm-policy`` the tiny Llava); nothing is downloaded. Builders of other tiny architectures,
used only by tests and benchmarks, are in :mod:`rlsuite.testing.vision_models`.
"""

from __future__ import annotations

from typing import Any

# ----------------------------------------------------------------------------- tiny local text models
# Every word the vision layer's tiny text models need: captions, instructions, questions, actions.
_WORD_TEXT = """the a an agent is on at in of to from target grid world row column square cell
    step steps far near away
    zero one two three four five six seven eight nine ten eleven twelve
    go move up down left right stay red green blue yellow purple orange white forbidden
    question answer yes no goal achieved has reached been what which should you do next action
    image picture frame shows there here reach . , ? :"""
WORDS: tuple[str, ...] = tuple(_WORD_TEXT.split())
SPECIAL_TOKENS = {"pad": "<pad>", "bos": "<bos>", "unk": "<unk>", "eos": "<eos>", "image": "<image>"}


def build_word_tokenizer(words: tuple[str, ...] = WORDS, max_length: int = 64, add_eos: bool = True) -> Any:
    """A word-level ``PreTrainedTokenizerFast`` built locally (no download).

    Ids: ``<pad>`` 0, ``<bos>`` 1, ``<unk>`` 2, ``<eos>`` 3, ``<image>`` 4, then ``words``. Every
    encoding starts with ``<bos>`` and, with ``add_eos``, ends with ``<eos>`` (CLIP pools its text
    embedding at the eos token, so it must be there and inside the vocabulary).
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    specials = list(SPECIAL_TOKENS.values())
    vocab = {
        tok: i for i, tok in enumerate(specials + [w for w in dict.fromkeys(words) if w not in specials])
    }
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split("<image>", behavior="isolated"), pre_tokenizers.Whitespace()]
    )
    single = "<bos> $A <eos>" if add_eos else "<bos> $A"
    tok.post_processor = processors.TemplateProcessing(
        single=single, special_tokens=[("<bos>", vocab["<bos>"]), ("<eos>", vocab["<eos>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=max_length,
        extra_special_tokens={"image_token": "<image>"},
    )


def build_tiny_clip(
    tokenizer: Any,
    image_size: int = 80,
    patch_size: int = 8,
    hidden: int = 64,
    layers: int = 2,
    projection_dim: int = 32,
) -> tuple[Any, Any]:
    """A tiny ``CLIPModel`` and its PIL image processor, from configs (untrained)."""
    import math

    import torch
    from transformers import CLIPConfig, CLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = CLIPConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": 4,
            "max_position_embeddings": 32,
            **ids,
        },
        vision_config={
            "image_size": image_size,
            "patch_size": patch_size,
            "hidden_size": hidden,
            "intermediate_size": 2 * hidden,
            "num_hidden_layers": layers,
            "num_attention_heads": 4,
        },
        projection_dim=projection_dim,
    )
    processor = CLIPImageProcessorPil(
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
        do_center_crop=True,
    )
    model = CLIPModel(config)
    boost_position_embeddings(model.vision_model)
    # From scratch, near-identical caption embeddings give the images no gradient and vice versa
    # (measured: loss flat at the label marginal for 300 steps); distinct token embeddings and a
    # sharp initial temperature break that symmetry (learning starts within ~200 steps).
    torch.nn.init.normal_(model.text_model.embeddings.token_embedding.weight, std=1.0)
    with torch.no_grad():
        model.logit_scale.fill_(math.log(100.0))
    return model, processor


def boost_position_embeddings(vision_model: Any, std: float = 1.0) -> None:
    """Re-draw a from-scratch ViT's position embeddings at the scale of its patch embeddings.

    CLIP's default (std 0.02) all but hides where a patch is; a tiny ViT trained from scratch on
    grid frames then fails to localise anything within hundreds of steps (measured: the agent's
    cell stayed at chance, loss log(25), after 300 steps; with std 1.0 it was learned in ~200).
    """
    import torch

    inner = getattr(vision_model, "vision_model", vision_model)
    torch.nn.init.normal_(inner.embeddings.position_embedding.weight, std=std)


def build_tiny_llava(
    image_size: int = 80, patch_size: int = 16, hidden: int = 64, layers: int = 2
) -> tuple[Any, Any]:
    """A tiny ``LlavaForConditionalGeneration`` and its ``LlavaProcessor``, from configs (untrained).

    The tokenizer is :func:`build_word_tokenizer` without eos (a causal LM continues the prompt).
    """
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tokenizer = build_word_tokenizer(add_eos=False, max_length=256)
    vision = CLIPVisionConfig(
        image_size=image_size,
        patch_size=patch_size,
        hidden_size=hidden // 2,
        intermediate_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS["image"]),
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
    )
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy="full",
        num_additional_image_tokens=1,
        image_token=SPECIAL_TOKENS["image"],
    )
    model = LlavaForConditionalGeneration(config)
    boost_position_embeddings(model.model.vision_tower)
    return model, processor
