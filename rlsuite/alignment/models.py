"""Local causal LMs and reward models: checking and loading folders, sampling, log-probs and scores.

Prompts are either plain strings or conversations (lists of ``{"role", "content"}`` messages).
A conversation goes through the tokenizer's chat template exactly as TRL's trainers do, so what
is sampled, scored and measured here is what the trainers trained on:

- a prompt's ids: ``apply_chat_template(messages, add_generation_prompt=True)`` (plain: ``tok(prompt)``);
- a completion is the assistant's reply, sampled up to the template's end-of-turn token (eos);
- a reward model scores ``apply_chat_template(prompt + [assistant reply])`` like ``RewardTrainer``
  (plain: ``tok(prompt + completion + eos)``, the eos ``RewardTrainer`` appends).

Folders are checked before anything is loaded, with a one-line
:class:`~rlsuite.common.errors.ModelFolderError` naming the folder: missing, no or unreadable
``config.json``, truncated or corrupt ``model.safetensors``, not a causal LM, no eos token, and for
reward models no trained score head.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlsuite.common.errors import DataError, ModelFolderError, UnsafeLoadError
from rlsuite.common.safetensors_header import header_problem

log = logging.getLogger(__name__)

PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
Prompt = str | list[dict[str, Any]]


def is_conversation(x: Any) -> bool:
    """Whether ``x`` is a list of ``{"role", "content"}`` messages (TRL's conversational format)."""
    return isinstance(x, list) and bool(x) and all(isinstance(m, dict) and "role" in m for m in x)


# ---------------------------------------------------------------------------------------------
# The word-level tokenizer and tiny models built from a config


def build_tokenizer(
    words: Sequence[str], specials: Sequence[str] = (), eos: str = EOS, chat_template: str | None = None
) -> Any:
    """A word-level tokenizer over ``words`` with ``<pad>``, ``<eos>``, ``<unk>`` (and ``specials``), no BOS.

    Splitting on whitespace keeps ``tok(prompt) + tok(completion) == tok(prompt + completion)``,
    which TRL relies on when it tokenizes the two parts separately.

    Args:
        words: the vocabulary.
        specials: more special tokens (e.g. a chat template's turn markers); decoding skips them.
        eos: the end-of-sequence token (a chat model's end-of-turn marker).
        chat_template: a Jinja chat template to set (conversational data goes through it).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(dict.fromkeys([PAD, EOS, UNK, eos, *specials, *words]))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    extra = [s for s in specials if s != eos]
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token=PAD, eos_token=eos, unk_token=UNK,
        additional_special_tokens=extra or None,
    )
    if chat_template is not None:
        tok.chat_template = chat_template
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
        raise ValueError(f"arch: {arch!r} is not one of {sorted(kinds)}")
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


# ---------------------------------------------------------------------------------------------
# Checking folders


def _read_config(p: Path) -> dict[str, Any]:
    if not p.is_dir():
        raise ModelFolderError(f"{p}: model folder not found")
    cfg = p / "config.json"
    if not cfg.is_file():
        raise ModelFolderError(f"{p}: no config.json, not a Hugging Face model folder")
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFolderError(f"{cfg}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("model_type"), str):
        raise ModelFolderError(f"{cfg}: has no 'model_type' (not a transformers model config)")
    return data


def safetensors_keys(path: Path) -> list[str]:
    """The tensor names of a safetensors file, after checking its header and length.

    Raises:
        ModelFolderError: the file is truncated or its header is corrupt (names the file).
    """
    size = path.stat().st_size
    try:
        with path.open("rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            if n > size - 8:
                raise ValueError("header longer than the file")
            header = json.loads(fh.read(n))
        problem = header_problem(header)
        if problem is not None:
            raise ValueError(problem)
        ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    except (struct.error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ModelFolderError(f"{path}: corrupt safetensors header ({exc})") from exc
    if 8 + n + max(ends, default=0) > size:
        raise ModelFolderError(f"{path}: truncated ({size} bytes, its header describes {8 + n + max(ends)})")
    return [k for k in header if k != "__metadata__"]


def weight_keys(p: Path, trust_pickle: bool = False) -> list[str]:
    """The parameter names stored in a model folder (every safetensors file checked).

    A folder with only pickled PyTorch weights (``*.bin``, ``*.pt``) is refused (``UnsafeLoadError``:
    unpickling can run code) unless ``trust_pickle``; then it returns ``[]`` (not inspected here).
    """
    index = p / "model.safetensors.index.json"
    if index.is_file():
        try:
            files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ModelFolderError(f"{index}: not a valid safetensors index ({exc})") from exc
    else:
        files = [f.name for f in sorted(p.glob("*.safetensors"))]
    if not files:
        pickled = sorted([*p.glob("*.bin"), *p.glob("*.pt"), *p.glob("*.pth")])
        if pickled and not trust_pickle:
            raise UnsafeLoadError(
                f"{p}: holds only pickled weights ({pickled[0].name}), which can run code when loaded; "
                "convert them to safetensors (save_pretrained) or pass --trust-pickle if you trust the folder"
            )
        if pickled:
            return []  # PyTorch weights (transformers loads them with weights_only=True); not inspected here
        raise ModelFolderError(f"{p}: no model weights (*.safetensors) in the folder")
    keys: list[str] = []
    for name in files:
        f = p / name
        if not f.is_file():
            raise ModelFolderError(f"{p}: weight file {name} listed in the index is missing")
        keys.extend(safetensors_keys(f))
    return keys


def check_causal_lm(path: str | os.PathLike[str], trust_remote_code: bool = False, trust_pickle: bool = False) -> None:
    """Raise a one-line ``ModelFolderError`` unless ``path`` is a readable local causal-LM folder."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    p = Path(path)
    config = _read_config(p)
    if config["model_type"] not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not trust_remote_code:
        raise ModelFolderError(f"{p}: model type {config['model_type']!r} is not a causal language model")
    archs = config.get("architectures") or []
    if archs and not any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs):
        raise ModelFolderError(f"{p}: architecture {archs[0]} is not a causal LM head (expected *ForCausalLM)")
    if not (p / "adapter_config.json").is_file():
        weight_keys(p, trust_pickle)


def check_reward_model(path: str | os.PathLike[str], trust_pickle: bool = False) -> None:
    """Raise a one-line ``ModelFolderError`` unless ``path`` holds a reward model with a trained score head.

    A causal-LM folder would load as a sequence classifier with a freshly initialised (random)
    head, and train against noise: it is refused, with the command that trains a reward model.
    """
    p = Path(path)
    config = _read_config(p)
    archs = config.get("architectures") or []
    if not any(a.endswith("ForSequenceClassification") for a in archs):
        kind = archs[0] if archs else config["model_type"]
        raise ModelFolderError(
            f"{p}: a {kind} folder without a trained score head, not a reward model "
            "(train one with `rlsuite align reward`)"
        )
    if config.get("num_labels", len(config.get("id2label") or {0: 0})) != 1:
        raise ModelFolderError(f"{p}: a reward model has one output (num_labels=1)")
    keys = weight_keys(p, trust_pickle)
    if keys and not any(k.endswith(("score.weight", "classifier.weight")) for k in keys):
        raise ModelFolderError(f"{p}: no score head in the weights (no '*score.weight' tensor)")


# ---------------------------------------------------------------------------------------------
# Where the models that a training run calls, and its evaluation models, run

Placement = tuple[Any, Any]  # (torch.device, torch.dtype)


def placement(use_cpu: bool | None = None, bf16: bool | None = None) -> Placement:
    """The device and dtype of a training run's reward model and of its evaluation models.

    The device is the training's: the CPU with ``use_cpu``, else this process's GPU (``use_cpu``
    unset: the GPU where there is one, unless the accelerate launcher was told ``--cpu``, the configs'
    own rule). The dtype is bfloat16 where the training uses bf16 (``bf16``; unset: as the configs
    default) *and* the GPU has it natively (not emulated: V100, T4), else float32. These models only
    run forward passes, so their weights go to bf16 itself (the policy trains in float32 under autocast).
    """
    import torch

    cuda = torch.cuda.is_available()
    if use_cpu is None:
        use_cpu = os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes")
    if use_cpu or not cuda:
        return torch.device("cpu"), torch.float32
    native = torch.cuda.is_bf16_supported(including_emulation=False)
    dtype = torch.bfloat16 if native and bf16 is not False else torch.float32
    return torch.device("cuda", torch.cuda.current_device()), dtype


def placement_of(config: Any) -> Placement:
    """:func:`placement` for a training config (its ``use_cpu`` and ``bf16``, as its ``__post_init__`` set them)."""
    return placement(getattr(config, "use_cpu", None), getattr(config, "bf16", None))


def place(model: Any, where: Placement | None) -> Any:
    """``model`` moved to ``where`` (device, dtype) for inference (``eval()``); as it is when ``None``."""
    if where is None:
        return model
    device, dtype = where
    return model.to(device, dtype).eval()


# ---------------------------------------------------------------------------------------------
# Loading


def check_tokenizer(tok: Any, where: str) -> None:
    """Training needs an eos token and a pad token; say which is missing, in one line."""
    if tok.eos_token is None or tok.eos_token_id is None:
        raise ModelFolderError(f"{where}: tokenizer has no eos token (set eos_token in tokenizer_config.json)")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token  # a common and harmless fix; TRL does the same


def one_line_of(exc: BaseException) -> str:
    """An exception's message on one line (third-party messages can span several)."""
    return " ".join(str(exc).split())[:200]


def load_tokenizer(path: str | os.PathLike[str], trust_remote_code: bool = False) -> Any:
    """Load a tokenizer from a local folder; one-line errors for what is missing."""
    from transformers import AutoTokenizer

    p = Path(path)
    if not p.is_dir():
        raise ModelFolderError(f"{p}: model folder not found")
    if (p / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        try:
            Tokenizer.from_file(str(p / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises a bare Exception for a malformed file (only this call)
            raise ModelFolderError(f"{p / 'tokenizer.json'}: not a valid tokenizer ({one_line_of(exc)})") from exc
    loader: Any = AutoTokenizer
    try:
        declared = json.loads((p / "tokenizer_config.json").read_text()).get("tokenizer_class")
    except (OSError, json.JSONDecodeError, AttributeError):
        declared = None
    if declared in ("TokenizersBackend", "PreTrainedTokenizerFast") and (p / "tokenizer.json").is_file():
        # The folder declares a plain tokenizers tokenizer: load tokenizer.json as it is. (transformers 5
        # otherwise picks the model type's class for some types, e.g. Qwen2's, and rebuilds a BPE.)
        from transformers import PreTrainedTokenizerFast

        loader = PreTrainedTokenizerFast
    try:
        tok = loader.from_pretrained(str(p), trust_remote_code=trust_remote_code, local_files_only=True)
    except (OSError, ValueError, json.JSONDecodeError) as exc:  # transformers' own "cannot read this" errors
        raise ModelFolderError(f"{p}: cannot load a tokenizer ({str(exc).splitlines()[0]})") from exc
    check_tokenizer(tok, str(p))
    tok.padding_side = "left"
    return tok


def load_causal_lm(
    path: str | os.PathLike[str],
    trust_remote_code: bool = False,
    dtype: Any = None,
    where: Placement | None = None,
    trust_pickle: bool = False,
) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` from a local folder, checking it is a causal LM with usable tokens.

    ``where``: a :func:`placement` to run the model at (for sampling and measuring; a policy to train
    stays where it was loaded, the trainer places it). ``trust_pickle``: accept a folder whose weights
    are only pickled (``pytorch_model.bin``), as the user asked with ``--trust-pickle``.
    """
    from transformers import AutoModelForCausalLM

    check_causal_lm(path, trust_remote_code, trust_pickle)
    tok = load_tokenizer(path, trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(
        str(path), trust_remote_code=trust_remote_code, local_files_only=True, dtype=dtype
    )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return place(model, where), tok


def load_reward_model(
    path: str | os.PathLike[str],
    trust_remote_code: bool = False,
    where: Placement | None = None,
    trust_pickle: bool = False,
) -> tuple[Any, Any]:
    """Load a trained reward model (sequence classification, one output) and its tokenizer (at ``where``);
    ``trust_pickle``: accept a folder whose weights are only pickled, as :func:`load_causal_lm`."""
    from transformers import AutoModelForSequenceClassification

    check_reward_model(path, trust_pickle)
    tok = load_tokenizer(path, trust_remote_code)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(path), num_labels=1, local_files_only=True, trust_remote_code=trust_remote_code
    )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    return place(model, where), tok


def trusted_copy(path: str | os.PathLike[str], dest: str | os.PathLike[str], trust_pickle: bool) -> Path:
    """``path`` itself, or, when its only weights are pickled and ``trust_pickle`` says the user trusts
    them, a copy at ``dest`` with the weights saved as safetensors (unpickled once, here, so that
    every later load, in this process or a worker, reads the copy). A complete ``dest`` is reused.
    """
    import shutil

    p, d = Path(path), Path(dest)
    if not trust_pickle or (p / "adapter_config.json").is_file() or weight_keys(p, trust_pickle=True):
        return p
    if (d / "config.json").is_file() and (d / "model.safetensors").is_file():
        return d
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    archs = _read_config(p).get("architectures") or []
    reward = any(a.endswith("ForSequenceClassification") for a in archs)
    loader = AutoModelForSequenceClassification if reward else AutoModelForCausalLM
    model = loader.from_pretrained(str(p), local_files_only=True)
    tmp = d.with_name(d.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(p, tmp, ignore=shutil.ignore_patterns("*.bin", "*.pt", "*.pth", "*.bin.index.json"))
    model.save_pretrained(tmp)
    tmp.replace(d)
    log.info("%s: its pickled weights, trusted (--trust-pickle), saved as safetensors in %s", p, d)
    return d


# ---------------------------------------------------------------------------------------------
# Vocabulary coverage (word-level tokenizers map unknown words to <unk>)


def _texts(record: dict[str, Any]) -> list[str]:
    out = []
    for key in ("prompt", "chosen", "rejected", "completion"):
        value = record.get(key)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(str(m.get("content", "")) for m in value if isinstance(m, dict))
    return out


def check_vocabulary(tok: Any, records: Sequence[dict[str, Any]], where: str, limit: float = 0.05) -> float:
    """The fraction of the data's tokens that the tokenizer maps to its unknown token.

    A word-level tokenizer (the embedded model's) turns every word outside its vocabulary into
    ``<unk>``: text it does not know is lost, and a chosen and a rejected completion can become the
    same ids. Logs a warning with the rate (and examples) when there are unknown tokens.

    Raises:
        DataError: the rate is above ``limit``, or some pairs' chosen and rejected completions become
            identical token sequences (naming ``where``, the rate and example words).
    """
    unk = getattr(tok, "unk_token_id", None)
    if unk is None or not records:
        return 0.0
    total = unknown = 0
    examples: dict[str, None] = {}
    vocab = tok.get_vocab()
    for r in records:
        for text in _texts(r):
            ids = tok(text, add_special_tokens=False)["input_ids"]
            total += len(ids)
            bad = ids.count(unk)
            unknown += bad
            if bad and len(examples) < 5:
                for w in text.split():  # not a comprehension: its condition saw the dict before the update
                    if w not in vocab and len(examples) < 5:
                        examples[w] = None
    rate = unknown / max(total, 1)
    collapsed = 0
    for r in records:
        if isinstance(r.get("chosen"), str) and isinstance(r.get("rejected"), str):
            a = tok(r["chosen"], add_special_tokens=False)["input_ids"]
            b = tok(r["rejected"], add_special_tokens=False)["input_ids"]
            collapsed += a == b
    if unknown:
        words = ", ".join(repr(w) for w in examples)
        message = (f"{where}: {rate:.1%} of the tokens are outside the tokenizer's vocabulary "
                   f"(unknown token), e.g. {words}")
        if rate > limit:
            raise DataError(f"{message}; above the {limit:.0%} limit: use a model whose tokenizer covers the data")
        if collapsed:
            raise DataError(f"{message}; {collapsed} pair(s) have identical chosen and rejected tokens")
        log.warning("%s", message)
    return rate


# ---------------------------------------------------------------------------------------------
# Sampling, log-probs and scores (plain strings or conversations)


def prompt_ids(tok: Any, prompt: Prompt) -> list[int]:
    """A prompt's token ids, as TRL's trainers build them (chat template with the generation prompt)."""
    if is_conversation(prompt):
        out = tok.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)
        return list(out["input_ids"])
    return list(tok(prompt)["input_ids"])


def _left_pad(rows: list[list[int]], pad: int) -> tuple[Any, Any]:
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r, dtype=torch.long)
        mask[i, width - len(r) :] = 1
    return ids, mask


def generate(
    model: Any,
    tok: Any,
    prompts: Sequence[Prompt],
    max_new_tokens: int = 12,
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 256,
) -> list[list[int]]:
    """Sample one completion per prompt; return completion token ids (eos kept, padding removed)."""
    import torch

    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    out: list[list[int]] = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(prompts), batch_size):
            ids, mask = _left_pad([prompt_ids(tok, p) for p in prompts[i : i + batch_size]], tok.pad_token_id)
            seqs = model.generate(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                max_new_tokens=max_new_tokens,
                do_sample=True,
                temperature=temperature,
                top_k=0,
                top_p=1.0,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
            )
            for row in seqs[:, ids.shape[1] :].tolist():
                kept = []
                for t in row:
                    if t == tok.pad_token_id and tok.pad_token_id != tok.eos_token_id:
                        break
                    kept.append(t)
                    if t == tok.eos_token_id:
                        break
                out.append(kept)
    return out


def decode(tok: Any, completions: Sequence[Sequence[int]], conversational: bool = False) -> list[str]:
    """Completion ids to text without special tokens: an assistant reply's content (conversational)
    or, for plain prompts, text with the leading space TRL expects."""
    texts = [tok.decode(ids, skip_special_tokens=True).strip() for ids in completions]
    return texts if conversational else [" " + t for t in texts]


def completion_ids(tok: Any, prompt: Prompt, completion: str | list[dict[str, Any]]) -> list[int]:
    """The ids of a completion after its prompt, as DPO tokenizes them (eos included)."""
    if is_conversation(prompt):
        reply = completion if isinstance(completion, list) else [{"role": "assistant", "content": completion}]
        full = tok.apply_chat_template(prompt + reply, tokenize=True, return_dict=True)["input_ids"]
        return list(full[len(prompt_ids(tok, prompt)) :])
    return [*tok(completion, add_special_tokens=False)["input_ids"], tok.eos_token_id]


def _right_pad(rows: list[list[int]], pad: int) -> tuple[Any, Any]:
    """Right-padded ids [B, L] and their attention mask, as TRL's collators pad for a forward pass."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask


def _in_batches(model: Any, n: int, batch_size: int, score: Any) -> list[float]:
    """``score(start, stop, device)`` over the batches of ``n`` inputs: the model in eval mode, no gradients,
    one copy of each batch's scores to the host."""
    import torch

    device = next(model.parameters()).device
    out: list[float] = []
    model.eval()
    with torch.no_grad():
        for i in range(0, n, batch_size):
            out.extend(score(i, min(i + batch_size, n), device).tolist())
    return out


def sequence_logprobs(
    model: Any, tok: Any, prompts: Sequence[Prompt], completions: Sequence[Sequence[int]], batch_size: int = 256
) -> list[float]:
    """Sum of ``log pi(completion | prompt)`` over the completion tokens (eos included when present)."""
    import torch

    def score(i: int, j: int, device: Any) -> Any:
        p_ids = [prompt_ids(tok, p) for p in prompts[i:j]]
        ids, mask = _right_pad([a + list(b) for a, b in zip(p_ids, completions[i:j], strict=True)], tok.pad_token_id)
        starts = torch.tensor([len(a) for a in p_ids])
        target = (torch.arange(ids.shape[1])[None, :] >= starts[:, None]) & mask.bool()  # the completion's tokens
        ids, mask, target = ids.to(device), mask.to(device), target.to(device)
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        logp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])[..., 0]
        return (logp * target[:, 1:]).sum(-1)

    return _in_batches(model, len(prompts), batch_size, score)


def reward_input_ids(tok: Any, prompt: Prompt, completion: str | list[dict[str, Any]]) -> list[int]:
    """The ids a reward model scores for ``prompt`` + ``completion``, built as ``RewardTrainer`` built them."""
    if is_conversation(prompt):
        reply = completion if isinstance(completion, list) else [{"role": "assistant", "content": completion}]
        return list(tok.apply_chat_template(prompt + reply, tokenize=True, return_dict=True)["input_ids"])
    text = completion if isinstance(completion, str) else " ".join(m["content"] for m in completion)
    return list(tok(prompt + text + tok.eos_token)["input_ids"])


def reward_scores(
    model: Any, tok: Any, prompts: Sequence[Prompt], completions: Sequence[Any], batch_size: int = 256
) -> list[float]:
    """Score prompt + completion with a reward model, the way ``RewardTrainer`` trained it (right padding,
    as its collator)."""

    def score(i: int, j: int, device: Any) -> Any:
        rows = [reward_input_ids(tok, p, c) for p, c in zip(prompts[i:j], completions[i:j], strict=True)]
        ids, mask = _right_pad(rows, tok.pad_token_id)
        return model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits[:, 0].float()

    return _in_batches(model, len(prompts), batch_size, score)


class RewardModelFunc:
    """A trained reward model as a TRL reward function ``f(prompts, completions, **kw) -> list[float]``.

    Online trainers decode completions without special tokens; this scores them the way
    ``RewardTrainer`` trained the model (eos appended to plain text; the chat template for
    conversations), not TRL's own model-scoring path, which drops the eos (see FIELD_NOTES).
    """

    def __init__(self, model: Any, tok: Any) -> None:
        self.model, self.tok = model, tok
        self.__name__ = "reward_model"

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], where: Placement | None = None, trust_pickle: bool = False
    ) -> RewardModelFunc:
        """The reward model of a folder, at ``where`` (a :func:`placement`; ``None``: the CPU, float32);
        ``trust_pickle``: a folder whose weights are only pickled is loaded, not refused."""
        return cls(*load_reward_model(path, where=where, trust_pickle=trust_pickle))

    def to(self, where: Placement) -> RewardModelFunc:
        """Move the model to ``where`` (device, dtype): the training's, so each step scores there."""
        self.model = place(self.model, where)
        return self

    def __call__(self, prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[float]:
        texts = [c if isinstance(c, list) else " " + c.strip() for c in completions]
        return reward_scores(self.model, self.tok, list(prompts), texts)


def check_data_for(tok: Any, records: Sequence[dict[str, Any]], where: str) -> None:
    """Conversational records need a tokenizer with a chat template."""
    conversational = any(is_conversation(r.get("prompt")) for r in records)
    if conversational and not getattr(tok, "chat_template", None):
        raise DataError(f"{where}: conversational records, but the model's tokenizer has no chat template")
