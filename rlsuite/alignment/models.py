"""Local causal LMs: loading any local Hugging Face folder, and the embedded tiny default.

The embedded default needs no network: a word-level tokenizer built with ``tokenizers`` over the
synthetic task's vocabulary, a tiny Llama (or Qwen2) built from a config, SFT'd on the task with
TRL's ``SFTTrainer``, deterministically, and cached under ``cache_dir("alignment", ...)``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlsuite.common.errors import UsageError

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
DEFAULT_VERSION = "v1"  # bump when the embedded default's recipe changes


def build_tokenizer(words: Sequence[str]) -> Any:
    """A word-level tokenizer over ``words``, with ``<pad>``, ``<eos>`` and ``<unk>``, no BOS.

    Splitting on whitespace keeps ``tok(prompt) + tok(completion) == tok(prompt + completion)``,
    which TRL relies on when it tokenizes the two parts separately.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate([PAD, EOS, UNK, *dict.fromkeys(words)])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    tok = PreTrainedTokenizerFast(tokenizer_object=core, pad_token=PAD, eos_token=EOS, unk_token=UNK)
    tok.padding_side = "left"
    return tok


def build_tiny_causal_lm(
    tokenizer: Any, arch: str = "llama", hidden_size: int = 64, layers: int = 2, seed: int = 0
) -> Any:
    """A tiny causal LM of a transformers architecture, built from a config (random weights).

    Args:
        tokenizer: sets the vocabulary size and the special-token ids.
        arch: ``"llama"`` or ``"qwen2"``.
        hidden_size: width of the model.
        layers: number of decoder layers.
        seed: seed of the initial weights.
    """
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    kinds = {"llama": LlamaConfig, "qwen2": Qwen2Config}
    if arch not in kinds:
        raise UsageError(f"arch: {arch!r} is not one of {sorted(kinds)}")
    config = kinds[arch](
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=64,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = None
    return model


def check_tokenizer(tok: Any, where: str) -> None:
    """Training needs an eos token and a pad token; say which is missing, in one line."""
    if tok.eos_token is None or tok.eos_token_id is None:
        raise UsageError(f"{where}: tokenizer has no eos token (set eos_token in tokenizer_config.json)")
    if tok.pad_token is None:
        # A common and harmless fix; TRL does the same.
        tok.pad_token = tok.eos_token


def load_tokenizer(path: str | os.PathLike[str], trust_remote_code: bool = False) -> Any:
    """Load a tokenizer from a local folder; one-line errors for what is missing."""
    from transformers import AutoTokenizer

    p = Path(path)
    if not p.is_dir():
        raise UsageError(f"{p}: model folder not found")
    try:
        tok = AutoTokenizer.from_pretrained(
            str(p), trust_remote_code=trust_remote_code, local_files_only=True
        )
    except Exception as exc:
        raise UsageError(f"{p}: cannot load a tokenizer ({str(exc).splitlines()[0]})") from exc
    check_tokenizer(tok, str(p))
    tok.padding_side = "left"
    return tok


def check_causal_lm(path: str | os.PathLike[str], trust_remote_code: bool = False) -> None:
    """Raise a one-line ``UsageError`` unless ``path`` is a local causal-LM folder."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    p = Path(path)
    if not p.is_dir():
        raise UsageError(f"{p}: model folder not found")
    if not (p / "config.json").is_file():
        raise UsageError(f"{p}: no config.json, not a Hugging Face model folder")
    try:
        config = AutoConfig.from_pretrained(
            str(p), trust_remote_code=trust_remote_code, local_files_only=True
        )
    except Exception as exc:
        raise UsageError(f"{p}: cannot read config.json ({str(exc).splitlines()[0]})") from exc
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not trust_remote_code:
        raise UsageError(f"{p}: model type {config.model_type!r} is not a causal language model")
    archs = getattr(config, "architectures", None) or []
    if archs and not any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs):
        raise UsageError(f"{p}: architecture {archs[0]} is not a causal LM head (expected *ForCausalLM)")


def load_causal_lm(
    path: str | os.PathLike[str], trust_remote_code: bool = False, dtype: Any = None
) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a local folder, checking it is a causal LM with usable tokens."""
    from transformers import AutoModelForCausalLM

    check_causal_lm(path, trust_remote_code)
    tok = load_tokenizer(path, trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(
        str(path), trust_remote_code=trust_remote_code, local_files_only=True, dtype=dtype
    )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return model, tok


def load_reward_model(path: str | os.PathLike[str], trust_remote_code: bool = False) -> tuple[Any, Any]:
    """Load a sequence-classification reward model (``num_labels=1``) and its tokenizer."""
    from transformers import AutoModelForSequenceClassification

    p = Path(path)
    if not p.is_dir():
        raise UsageError(f"{p}: reward model folder not found")
    tok = load_tokenizer(p, trust_remote_code)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(p), num_labels=1, local_files_only=True, trust_remote_code=trust_remote_code
    )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    return model, tok


# ---------------------------------------------------------------------------------------------
# Sampling and scoring


def generate(
    model: Any,
    tok: Any,
    prompts: Sequence[str],
    max_new_tokens: int = 12,
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 256,
) -> list[list[int]]:
    """Sample one completion per prompt; return completion token ids (eos kept, padding removed)."""
    import torch

    tok.padding_side = "left"
    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    out: list[list[int]] = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(prompts), batch_size):
            enc = tok(list(prompts[i : i + batch_size]), return_tensors="pt", padding=True).to(device)
            seqs = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=True,
                temperature=temperature,
                top_k=0,
                top_p=1.0,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
            )
            for row in seqs[:, enc["input_ids"].shape[1] :].tolist():
                ids = []
                for t in row:
                    if t == tok.pad_token_id and tok.pad_token_id != tok.eos_token_id:
                        break
                    ids.append(t)
                    if t == tok.eos_token_id:
                        break
                out.append(ids)
    return out


def decode(tok: Any, completions: Sequence[Sequence[int]]) -> list[str]:
    """Completion ids to text without special tokens, with the leading space TRL expects."""
    return [" " + tok.decode(ids, skip_special_tokens=True).strip() for ids in completions]


def sequence_logprobs(
    model: Any, tok: Any, prompts: Sequence[str], completions: Sequence[Sequence[int]], batch_size: int = 256
) -> list[float]:
    """Sum of ``log pi(completion | prompt)`` over the completion tokens (eos included when present)."""
    import torch

    device = next(model.parameters()).device
    out: list[float] = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(prompts), batch_size):
            p_ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts[i : i + batch_size]]
            c_ids = [list(c) for c in completions[i : i + batch_size]]
            length = max(len(a) + len(b) for a, b in zip(p_ids, c_ids, strict=True))
            ids = torch.full((len(p_ids), length), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            target = torch.zeros_like(ids, dtype=torch.bool)
            for r, (a, b) in enumerate(zip(p_ids, c_ids, strict=True)):  # right padding
                seq = a + b
                ids[r, : len(seq)] = torch.tensor(seq)
                mask[r, : len(seq)] = 1
                target[r, len(a) : len(seq)] = True
            ids, mask, target = ids.to(device), mask.to(device), target.to(device)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            logp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])[..., 0]
            out.extend((logp * target[:, 1:]).sum(-1).tolist())
    return out


def reward_scores(
    model: Any, tok: Any, prompts: Sequence[str], completions: Sequence[str], batch_size: int = 256
) -> list[float]:
    """Score prompt+completion texts with a reward model, appending eos as RewardTrainer does in training."""
    import torch

    device = next(model.parameters()).device
    out: list[float] = []
    model.eval()
    old_side = tok.padding_side
    tok.padding_side = "right"
    with torch.no_grad():
        for i in range(0, len(prompts), batch_size):
            texts = [
                p + c + tok.eos_token
                for p, c in zip(prompts[i : i + batch_size], completions[i : i + batch_size], strict=True)
            ]
            enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            out.extend(model(**enc).logits[:, 0].float().tolist())
    tok.padding_side = old_side
    return out


class RewardModelFunc:
    """A trained reward model as a TRL reward function ``f(prompts, completions, **kw) -> list[float]``.

    Online trainers decode completions without special tokens; this scores them with eos
    appended, the way ``RewardTrainer`` trained the model (see FIELD_NOTES).
    """

    def __init__(self, model: Any, tok: Any) -> None:
        self.model, self.tok = model, tok
        self.__name__ = "reward_model"

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        return reward_scores(self.model, self.tok, list(prompts), [" " + c.strip() for c in completions])


# ---------------------------------------------------------------------------------------------
# The embedded default


def default_recipe(quick: bool = False) -> dict[str, Any]:
    """The embedded default's recipe; its hash names the cache folder."""
    return {
        "version": DEFAULT_VERSION,
        "arch": "llama",
        "hidden_size": 64,
        "layers": 2,
        "seed": 0,
        "sft_examples": 2048,
        "sft_epochs": 3,
        "lr": 3e-3,
        "batch": 64,
    }


def default_model_dir(quick: bool = False) -> Path:
    """Build (once) and return the folder of the embedded SFT'd tiny model.

    The model is trained deterministically by TRL's SFTTrainer on the synthetic task and cached
    under ``cache_dir("alignment", "tiny-<hash>")``; later calls reuse it.
    """
    from rlsuite.alignment.data import SentimentTask
    from rlsuite.common.io import atomic_path, write_json

    recipe = default_recipe(quick)
    key = hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:10]
    root = Path(os.environ.get("RLSUITE_CACHE", Path.home() / ".cache" / "rlsuite")) / "alignment"
    final = root / f"tiny-{recipe['arch']}-{key}"
    if (final / "sft" / "model" / "config.json").is_file():
        return final / "sft" / "model"
    from rlsuite.alignment.sft import train_sft
    from rlsuite.common.paths import cache_dir

    cache_dir("alignment")
    task = SentimentTask()
    with atomic_path(final) as tmp:
        tok = build_tokenizer(task.vocabulary())
        base = build_tiny_causal_lm(
            tok, recipe["arch"], recipe["hidden_size"], recipe["layers"], recipe["seed"]
        )
        base.save_pretrained(tmp / "base")
        tok.save_pretrained(tmp / "base")
        records = task.sft_dataset(recipe["sft_examples"], seed=recipe["seed"])
        train_sft(
            tmp / "base",
            records,
            tmp / "sft",
            overrides={
                "num_train_epochs": recipe["sft_epochs"],
                "learning_rate": recipe["lr"],
                "per_device_train_batch_size": recipe["batch"],
                "seed": recipe["seed"],
                "save_strategy": "no",
                "data_seed": recipe["seed"],
                "full_determinism": True,
            },
        )
        write_json(tmp / "recipe.json", recipe)
    return final / "sft" / "model"
