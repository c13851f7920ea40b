"""A tiny chat model for alignment tests: a Qwen2-architecture causal LM built from a config, with a
word-level tokenizer and a chat template that rlsuite sets (ChatML-like turn markers).

The template renders every turn as ``<|im_start|> role content <|im_end|>`` and the generation prompt
as ``<|im_start|> assistant``; ``<|im_end|>`` is the eos token, so sampling stops at the end of the
assistant's turn. Every marker is a whitespace-separated word, so the word-level tokenizer keeps
``ids(prompt with generation prompt)`` a prefix of ``ids(prompt + reply)``, which TRL's trainers
rely on. The weights are random; tests SFT it on the synthetic task rendered as conversations.
"""

from __future__ import annotations

import os
from pathlib import Path

from rlsuite.alignment.data import SentimentTask
from rlsuite.alignment.models import build_tiny_causal_lm, build_tokenizer

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
ROLES = ("system", "user", "assistant")
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|> {{ message['role'] }} {{ message['content'] }} <|im_end|> "
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)


def build_chat_model(folder: str | os.PathLike[str], hidden_size: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """Save a tiny Qwen2 chat model (random weights) and its tokenizer with the chat template to ``folder``."""
    tok = build_tokenizer(
        [*ROLES, *SentimentTask.vocabulary()], specials=[IM_START, IM_END], eos=IM_END, chat_template=CHAT_TEMPLATE
    )
    model = build_tiny_causal_lm(tok, "qwen2", hidden_size=hidden_size, layers=layers, seed=seed)
    path = Path(folder)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
