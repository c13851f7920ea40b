"""rlsuite.testing.chat_models: the tiny Qwen2 chat model's sizes, seeded weights, tokenizer and chat template."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from rlsuite.alignment.data import SentimentTask
from rlsuite.alignment.models import build_tiny_causal_lm, load_tokenizer
from rlsuite.testing.chat_models import IM_END, IM_START, ROLES, build_chat_model

CONVERSATION = [{"role": "system", "content": "be kind"}, {"role": "user", "content": "the hotel was"}]


def _same_weights(folder: Path, tok: object, hidden_size: int, layers: int, seed: int) -> bool:
    saved = load_file(str(folder / "model.safetensors"))
    built = build_tiny_causal_lm(tok, "qwen2", hidden_size=hidden_size, layers=layers, seed=seed).state_dict()
    return all(torch.equal(saved[k], built[k]) for k in saved)


def test_defaults_a_two_layer_qwen2_of_width_64_at_seed_0(tmp_path: Path) -> None:
    path = build_chat_model(str(tmp_path / "chat"))
    assert path == tmp_path / "chat" and isinstance(path, Path)
    assert sorted(p.name for p in path.iterdir()) == [
        "chat_template.jinja", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
        "tokenizer_config.json"]
    config = json.loads((path / "config.json").read_text())
    assert (config["architectures"], config["model_type"]) == (["Qwen2ForCausalLM"], "qwen2")
    assert (config["hidden_size"], config["num_hidden_layers"]) == (64, 2)
    tok = load_tokenizer(path)
    assert config["vocab_size"] == len(tok) == 3 + 2 + len(ROLES) + len(SentimentTask.vocabulary())
    assert config["eos_token_id"] == tok.eos_token_id == tok.convert_tokens_to_ids(IM_END)
    assert json.loads((path / "generation_config.json").read_text())["eos_token_id"] == tok.eos_token_id
    assert _same_weights(path, tok, 64, 2, 0)
    assert not _same_weights(path, tok, 64, 2, 1)


def test_sizes_and_seed_are_the_arguments(tmp_path: Path) -> None:
    path = build_chat_model(tmp_path, hidden_size=32, layers=1, seed=3)
    config = json.loads((path / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"]) == ("qwen2", 32, 1)
    assert _same_weights(path, load_tokenizer(path), 32, 1, 3)


def test_tokenizer_words_specials_and_eos(tmp_path: Path) -> None:
    tok = load_tokenizer(build_chat_model(tmp_path))
    words = ["<pad>", "<eos>", "<unk>", IM_END, IM_START, *ROLES, *SentimentTask.vocabulary()]
    assert tok.get_vocab() == {w: i for i, w in enumerate(words)}
    assert (tok.eos_token, tok.pad_token, tok.unk_token) == (IM_END, "<pad>", "<unk>")
    assert IM_START in tok.all_special_tokens and IM_END in tok.all_special_tokens
    ids = tok(f"{IM_START} user the hotel was {IM_END}").input_ids
    assert tok.decode(ids, skip_special_tokens=True) == "user the hotel was"  # the markers are specials


def test_chat_template_renders_turns_and_keeps_the_generation_prompt_a_prefix(tmp_path: Path) -> None:
    tok = load_tokenizer(build_chat_model(tmp_path))
    text = tok.apply_chat_template(CONVERSATION, tokenize=False)
    assert text == f"{IM_START} system be kind {IM_END} {IM_START} user the hotel was {IM_END} "
    prompt = tok.apply_chat_template(CONVERSATION, tokenize=False, add_generation_prompt=True)
    assert prompt == text + f"{IM_START} assistant "
    reply = [*CONVERSATION, {"role": "assistant", "content": "good great"}]
    prompt_ids = tok(prompt).input_ids
    full_ids = tok(tok.apply_chat_template(reply, tokenize=False)).input_ids
    assert full_ids[: len(prompt_ids)] == prompt_ids
    assert tok.convert_ids_to_tokens(full_ids[len(prompt_ids):]) == ["good", "great", IM_END]  # ends at eos
