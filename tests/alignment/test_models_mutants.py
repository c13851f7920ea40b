"""rlsuite.alignment.models: the word-level tokenizer, the tiny models' configs, the vocabulary check, trusted copies.

Exact values throughout, on tokenizers and models built here in well under a second (no cached models).
"""

from __future__ import annotations

import json
import locale
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("transformers")

import torch
from model_folders import pickled_copy, safetensors_file
from safetensors.torch import load_file

from rlsuite.alignment.models import (
    build_tiny_causal_lm,
    build_tokenizer,
    check_data_for,
    check_vocabulary,
    trusted_copy,
)
from rlsuite.common.errors import DataError

WORDS = ["good", "bad", "movie", ".", "##s"]


def _tok(**kw: Any) -> Any:
    return build_tokenizer(WORDS, **kw)


# ----- build_tokenizer
def test_the_tokenizer_joins_words_with_spaces_and_wordpiece_suffixes_without() -> None:
    tok = _tok()
    ids = tok("good movie ##s .", add_special_tokens=False)["input_ids"]
    assert ids == [3, 5, 7, 6]  # <pad> <eos> <unk> first, then the words in order
    assert tok.decode(ids) == "good movies ."  # no clean-up: the space before "." stays


def test_the_tokenizer_has_pad_unk_and_left_padding() -> None:
    tok = _tok()
    assert (tok.pad_token, tok.pad_token_id, tok.eos_token_id, tok.unk_token, tok.unk_token_id) == (
        "<pad>", 0, 1, "<unk>", 2)  # fmt: skip
    assert tok("good zzz", add_special_tokens=False)["input_ids"] == [3, 2]
    assert tok.padding_side == "left"
    assert tok(["good", "bad movie"], padding=True)["input_ids"] == [[0, 3], [4, 5]]


def test_the_tokenizer_skips_its_specials_other_than_eos_as_special() -> None:
    tok = _tok(specials=["<|user|>", "<end>"], eos="<end>")
    assert tok.eos_token == "<end>"
    ids = tok("<|user|> good <end>", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == "good"


# ----- build_tiny_causal_lm
def _config(model: Any) -> dict[str, Any]:
    c = model.config
    return {k: getattr(c, k) for k in ("model_type", "vocab_size", "hidden_size", "intermediate_size",
                                        "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                                        "max_position_embeddings", "tie_word_embeddings", "pad_token_id",
                                        "eos_token_id", "bos_token_id")}  # fmt: skip


def test_the_tiny_model_defaults_to_a_seeded_two_layer_llama_of_width_64() -> None:
    tok = _tok()
    model = build_tiny_causal_lm(tok)
    assert _config(model) == {"model_type": "llama", "vocab_size": 8, "hidden_size": 64, "intermediate_size": 128,
                              "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 4,
                              "max_position_embeddings": 64, "tie_word_embeddings": True, "pad_token_id": 0,
                              "eos_token_id": 1, "bos_token_id": None}  # fmt: skip
    gen = model.generation_config
    assert (gen.pad_token_id, gen.eos_token_id, gen.bos_token_id) == (0, 1, None)
    seeded = build_tiny_causal_lm(tok, "llama", 64, 2, seed=0).state_dict()
    assert all(torch.equal(v, seeded[k]) for k, v in model.state_dict().items())
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()  # tied


def test_the_tiny_model_can_be_a_qwen2_and_nothing_else() -> None:
    tok = _tok(specials=["<end>"], eos="<end>")
    model = build_tiny_causal_lm(tok, "qwen2", hidden_size=16, layers=1, seed=1)
    assert _config(model) == {"model_type": "qwen2", "vocab_size": 9, "hidden_size": 16, "intermediate_size": 32,
                              "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 4,
                              "max_position_embeddings": 64, "tie_word_embeddings": True, "pad_token_id": 0,
                              "eos_token_id": 3, "bos_token_id": None}  # fmt: skip
    assert (model.generation_config.pad_token_id, model.generation_config.eos_token_id) == (0, 3)
    with pytest.raises(ValueError, match=r"^arch: 'gpt2' is not one of \['llama', 'qwen2'\]$"):
        build_tiny_causal_lm(tok, "gpt2")


# ----- check_vocabulary (and the texts it reads from a record)
def test_every_text_of_a_record_is_counted_conversations_by_their_contents() -> None:
    tok = _tok()
    assert check_vocabulary(tok, [{"prompt": "good", "completion": "zzz"}], "d", limit=1.0) == 0.5
    assert check_vocabulary(tok, [{"chosen": "good movie", "rejected": "bad zzz"}], "d", limit=1.0) == 0.25
    chat = [{"role": "user", "content": "good zzz"}, {"role": "assistant"}, "not a message"]
    assert check_vocabulary(tok, [{"prompt": chat, "completion": [{"role": "assistant", "content": "bad"}]}], "d",
                            limit=1.0) == pytest.approx(1 / 3)  # fmt: skip
    assert check_vocabulary(tok, [{"prompt": [{"role": "user"}], "completion": "good"}], "d") == 0.0


def test_the_default_limit_is_5_percent(caplog: pytest.LogCaptureFixture) -> None:
    tok = _tok()
    known = [{"prompt": "good movie", "completion": "bad movie ."}] * 10  # 50 tokens
    with pytest.raises(DataError, match=r"^d: 5.7% .*above the 5% limit"):  # 3 of 53
        check_vocabulary(tok, [*known, {"prompt": "zzz yyy"}, {"prompt": "xxx"}], "d")
    with caplog.at_level(logging.WARNING, logger="rlsuite.alignment.models"):
        assert check_vocabulary(tok, [*known, {"prompt": "zzz"}], "d") == 1 / 51


def test_the_rate_counts_the_texts_tokens_without_special_tokens() -> None:
    """A tokenizer that adds a BOS to every text: the BOS is not data, the one word is all unknown."""
    from tokenizers import processors

    tok = _tok(specials=["<s>"])
    tok._tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 3)])
    assert tok("zzz")["input_ids"] == [3, 2]
    assert check_vocabulary(tok, [{"prompt": "zzz"}], "d", limit=1.0) == 1.0


def test_pairs_that_become_one_token_sequence_are_counted_without_special_tokens() -> None:
    """Chosen and rejected compared as the texts' own tokens (a BOS on one side only would hide the collapse)."""
    from tokenizers import processors

    tok = _tok(specials=["<s>"])
    tok._tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 3)])
    records = [{"prompt": "good movie", "chosen": "zzz", "rejected": "yyy"}, {"prompt": "bad", "chosen": "good"}]
    with pytest.raises(DataError) as caught:
        check_vocabulary(tok, records, "d", limit=1.0)
    assert str(caught.value) == ("d: 33.3% of the tokens are outside the tokenizer's vocabulary (unknown token), "
                                 "e.g. 'zzz', 'yyy'; 1 pair(s) have identical chosen and rejected tokens")  # fmt: skip
    # a record with a chosen and no rejected is not a pair: counted, not compared
    assert check_vocabulary(tok, [{"prompt": "bad", "chosen": "good zzz"}], "d", limit=1.0) == 1 / 3


def _wordpiece() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordPiece(vocab={"[UNK]": 0, "play": 1, "##ing": 2, "good": 3}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]")


def test_the_examples_are_the_unknown_words_at_most_five(caplog: pytest.LogCaptureFixture) -> None:
    """Examples come only from texts with unknown tokens (a sub-word tokenizer knows "playing" in pieces)."""
    tok = _wordpiece()
    assert tok("playing zzz", add_special_tokens=False)["input_ids"] == [1, 2, 0]
    records = [{"prompt": "playing"}, {"prompt": "good zzz"}, {"prompt": "u1 u2 u3 u4 u5 u6 u7"}]
    with caplog.at_level(logging.WARNING, logger="rlsuite.alignment.models"):
        assert check_vocabulary(tok, records, "d", limit=1.0) == 8 / 11
    assert [r.getMessage() for r in caplog.records] == [
        "d: 72.7% of the tokens are outside the tokenizer's vocabulary (unknown token), "
        "e.g. 'zzz', 'u1', 'u2', 'u3', 'u4'"]  # fmt: skip


def test_something_without_an_unknown_token_is_not_checked() -> None:
    assert check_vocabulary(object(), [{"prompt": "anything"}], "d") == 0.0


# ----- check_data_for
def test_conversational_prompts_need_a_chat_template() -> None:
    records = [{"prompt": "good", "completion": "bad"}, {"prompt": [{"role": "user", "content": "good"}]}]
    with pytest.raises(DataError, match=r"^d: conversational records, but the model's tokenizer has no chat "):
        check_data_for(_tok(), records, "d")
    with pytest.raises(DataError, match="has no chat template"):
        check_data_for(object(), records, "d")  # no chat_template attribute at all
    check_data_for(_tok(chat_template="{{ messages }}"), records, "d")
    check_data_for(_tok(), records[:1], "d")  # plain records: no template needed


# ----- trusted_copy
def _folder(path: Path, tok: Any, model: Any) -> Path:
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def _pickled(src: Path, dst: Path) -> Path:
    """``src`` with its weights as a pickle, and more pickles and a pickle index that a copy leaves out."""
    pickled_copy(src, dst)
    torch.save({"step": 1}, dst / "optimizer.pt")
    torch.save({"step": 1}, dst / "rng_state.pth")
    (dst / "pytorch_model.bin.index.json").write_text(json.dumps({"weight_map": {}}))
    return dst


def _pickled_lm(root: Path) -> tuple[Path, Path]:
    """A tiny causal LM's folder (``root/src``) and its pickled copy (``root/pickled``)."""
    tok = _tok()
    src = _folder(root / "src", tok, build_tiny_causal_lm(tok, hidden_size=16, layers=1))
    return src, _pickled(src, root / "pickled")


def test_a_trusted_pickled_causal_lm_is_copied_as_a_causal_lm_with_safetensors(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src, pickled = _pickled_lm(tmp_path)
    dest = tmp_path / "copy"
    (tmp_path / "copy.partial").mkdir()  # a crashed copy's leftovers
    (tmp_path / "copy.partial" / "junk").write_text("x")
    with caplog.at_level(logging.INFO, logger="rlsuite.alignment.models"):
        assert trusted_copy(pickled, dest, trust_pickle=True) == dest
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in src.iterdir())
    assert json.loads((dest / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]
    original, copied = load_file(str(src / "model.safetensors")), load_file(str(dest / "model.safetensors"))
    assert copied.keys() == original.keys() and all(torch.equal(copied[k], original[k]) for k in original)
    assert not (tmp_path / "copy.partial").exists()
    assert [r.getMessage() for r in caplog.records if r.name == "rlsuite.alignment.models"] == [
        f"{pickled}: its pickled weights, trusted (--trust-pickle), saved as safetensors in {dest}"]  # fmt: skip


# ----- check_causal_lm, load_causal_lm
def _edited(src: Path, dst: Path, **config: Any) -> Path:
    """A copy of the model folder ``src`` whose config.json has ``config`` set."""
    shutil.copytree(src, dst)
    values = json.loads((dst / "config.json").read_text())
    (dst / "config.json").write_text(json.dumps({**values, **config}))
    return dst


@pytest.fixture(scope="module")
def lm_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tok = _tok()
    return _folder(tmp_path_factory.mktemp("lm") / "lm", tok, build_tiny_causal_lm(tok, hidden_size=16, layers=1))


def test_a_causal_lm_folder_is_told_by_its_model_type_and_head(lm_folder: Path, tmp_path: Path) -> None:
    from rlsuite.alignment.models import check_causal_lm
    from rlsuite.common.errors import ModelFolderError

    vit = _edited(lm_folder, tmp_path / "vit", model_type="vit")
    with pytest.raises(ModelFolderError, match=f"^{vit}: model type 'vit' is not a causal language model$"):
        check_causal_lm(vit)
    check_causal_lm(_edited(vit, tmp_path / "vit-ok", architectures=[]), trust_remote_code=True)  # custom: its own
    head = _edited(lm_folder, tmp_path / "head", architectures=["LlamaForSequenceClassification"])
    with pytest.raises(ModelFolderError, match=r"architecture LlamaForSequenceClassification is not a causal LM head"):
        check_causal_lm(head)
    check_causal_lm(_edited(lm_folder, tmp_path / "gpt2-style", architectures=["MyLMHeadModel"]))  # *LMHeadModel
    check_causal_lm(_edited(lm_folder, tmp_path / "no-archs", architectures=None))  # nothing said: not refused
    adapter = tmp_path / "adapter"  # an adapter folder: its base holds the weights, none here to read
    adapter.mkdir()
    (adapter / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (adapter / "adapter_config.json").write_text("{}")
    check_causal_lm(adapter)
    (adapter / "adapter_config.json").unlink()
    with pytest.raises(ModelFolderError):
        check_causal_lm(adapter)  # the same folder as a model: no weights


def test_loading_refuses_what_is_not_a_causal_lm_and_takes_the_dtype_asked(lm_folder: Path, tmp_path: Path) -> None:
    from rlsuite.alignment.models import load_causal_lm
    from rlsuite.common.errors import ModelFolderError

    with pytest.raises(ModelFolderError, match="model type 'vit' is not a causal language model"):
        load_causal_lm(_edited(lm_folder, tmp_path / "vit", model_type="vit"))  # untrusted by default
    model, _ = load_causal_lm(lm_folder, dtype=torch.bfloat16)  # saved in float32
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


REMOTE_CODE = {  # a model type of its own, its classes in the folder's code (tiny subclasses of Llama's)
    "configuration_remote.py": """
from transformers import LlamaConfig


class RemoteConfig(LlamaConfig):
    model_type = "rlsuite_remote"
""",
    "modeling_remote.py": """
from transformers import LlamaForCausalLM

from .configuration_remote import RemoteConfig


class RemoteForCausalLM(LlamaForCausalLM):
    config_class = RemoteConfig
""",
    "tokenization_remote.py": """
from transformers import PreTrainedTokenizerFast


class RemoteTokenizer(PreTrainedTokenizerFast):
    pass
""",
}


@pytest.fixture
def remote_code_folder(lm_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``lm_folder`` as a model with custom code (``auto_map``: config, model and tokenizer classes in its own
    files), transformers' module cache in ``tmp_path`` and its prompt for trust answered "no" at once."""
    import sys

    from transformers import dynamic_module_utils

    folder = _edited(lm_folder, tmp_path / "remote", model_type="rlsuite_remote", architectures=["RemoteForCausalLM"],
                     auto_map={"AutoConfig": "configuration_remote.RemoteConfig",
                               "AutoModelForCausalLM": "modeling_remote.RemoteForCausalLM"})  # fmt: skip
    for name, code in REMOTE_CODE.items():
        (folder / name).write_text(code)
    tok_config = json.loads((folder / "tokenizer_config.json").read_text())
    tok_config.update(tokenizer_class="RemoteTokenizer",
                      auto_map={"AutoTokenizer": [None, "tokenization_remote.RemoteTokenizer"]})  # fmt: skip
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_config))
    monkeypatch.setattr(dynamic_module_utils, "HF_MODULES_CACHE", str(tmp_path / "modules"))
    monkeypatch.setattr(dynamic_module_utils, "TIME_OUT_REMOTE_CODE", 0)  # trust unset: refused, no prompt
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:  # the folder's modules, imported from tmp_path
        if name.startswith("transformers_modules"):
            del sys.modules[name]


def test_a_folder_with_custom_code_loads_only_when_trusted(remote_code_folder: Path) -> None:
    """Its model type is not one transformers knows, so it is refused unless trusted; trusted, the config, the
    model and the tokenizer are all its own classes (the trust reaches each of the three loads)."""
    from rlsuite.alignment.models import load_causal_lm, load_tokenizer
    from rlsuite.common.errors import ModelFolderError

    with pytest.raises(ModelFolderError, match=r"model type 'rlsuite_remote' is not a causal language model$"):
        load_causal_lm(remote_code_folder)
    with pytest.raises(ModelFolderError, match=r"cannot load a tokenizer \(.*contains custom code"):
        load_tokenizer(remote_code_folder)
    model, tok = load_causal_lm(remote_code_folder, trust_remote_code=True)
    assert [type(model).__name__, type(model.config).__name__, type(tok).__name__] == [
        "RemoteForCausalLM", "RemoteConfig", "RemoteTokenizer"]  # fmt: skip
    assert tok.padding_side == "left" and tok.pad_token is not None


@pytest.mark.parametrize("declared", ["PreTrainedTokenizerFast", "TokenizersBackend"])
def test_a_plain_tokenizers_tokenizer_loads_as_saved_whatever_the_model_type(
    lm_folder: Path, tmp_path: Path, declared: str
) -> None:
    """A folder that declares a plain tokenizers tokenizer gets its tokenizer.json as it is: AutoTokenizer would
    build Qwen2's byte-level BPE for a qwen2 model and read "good movies ." as one unknown id."""
    from rlsuite.alignment.models import load_tokenizer

    folder = _edited(lm_folder, tmp_path / "qwen2", model_type="qwen2")
    tok_config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**tok_config, "tokenizer_class": declared}))
    assert load_tokenizer(folder)("good movies .")["input_ids"] == _tok()("good movies .")["input_ids"] == [3, 2, 6]


def test_a_tokenizer_folder_that_cannot_be_used_is_named(lm_folder: Path, tmp_path: Path) -> None:
    from rlsuite.alignment.models import load_tokenizer
    from rlsuite.common.errors import ModelFolderError

    broken = _edited(lm_folder, tmp_path / "broken")
    (broken / "tokenizer.json").write_text('{"model": {"type": "Nope"}}')
    named = re.escape(str(broken / "tokenizer.json"))
    with pytest.raises(ModelFolderError, match=rf"^{named}: not a valid tokenizer \("):
        load_tokenizer(broken)
    no_eos = _edited(lm_folder, tmp_path / "no-eos")
    tok_config = json.loads((no_eos / "tokenizer_config.json").read_text())
    (no_eos / "tokenizer_config.json").write_text(json.dumps({k: v for k, v in tok_config.items() if k != "eos_token"}))
    with pytest.raises(ModelFolderError, match=rf"^{re.escape(str(no_eos))}: tokenizer has no eos token"):
        load_tokenizer(no_eos)


@pytest.mark.parametrize("kind", ["lm", "rm"])
@pytest.mark.parametrize(("pad", "expected"), [(None, "tok"), (3, 3)])
def test_a_model_without_a_pad_token_takes_the_tokenizers(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, pad: int | None, expected: Any
) -> None:
    """A causal LM or reward model whose config has no pad id takes the tokenizer's; one it has stays. A causal LM
    also generates with the tokenizer's pad id."""
    from rlsuite.alignment.models import load_causal_lm, load_reward_model

    load = load_causal_lm if kind == "lm" else load_reward_model
    model, tok = load(_edited(request.getfixturevalue(f"{kind}_folder"), tmp_path / kind, pad_token_id=pad))
    assert model.config.pad_token_id == (tok.pad_token_id if expected == "tok" else expected)
    if kind == "lm":
        assert model.generation_config.pad_token_id == tok.pad_token_id != 3


def test_load_causal_lm_places_the_model_where_asked(lm_folder: Path) -> None:
    from rlsuite.alignment.models import load_causal_lm

    model, _ = load_causal_lm(lm_folder, where=(torch.device("cpu"), torch.float64))
    assert {p.dtype for p in model.parameters()} == {torch.float64} and not model.training


def test_an_adapter_folder_is_used_as_it_is(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    torch.save({}, adapter / "adapter_model.bin")
    assert trusted_copy(adapter, tmp_path / "copy", trust_pickle=True) == adapter
    assert not (tmp_path / "copy").exists()


def test_only_a_complete_copy_is_reused(tmp_path: Path) -> None:
    """A destination with a config but no weights is not taken for a finished copy (and is not replaced)."""
    _, pickled = _pickled_lm(tmp_path)
    dest = tmp_path / "copy"
    dest.mkdir()
    (dest / "config.json").write_text("{}")
    with pytest.raises(OSError):
        trusted_copy(pickled, dest, trust_pickle=True)


def test_a_trusted_pickled_reward_model_is_copied_with_its_score_head(tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    tok = _tok()
    lm = _folder(tmp_path / "lm", tok, build_tiny_causal_lm(tok, hidden_size=16, layers=1))
    rm = AutoModelForSequenceClassification.from_pretrained(str(lm), num_labels=1, local_files_only=True)
    pickled = _pickled(_folder(tmp_path / "rm", tok, rm), tmp_path / "pickled")
    dest = tmp_path / "copy"
    assert not (tmp_path / "copy.partial").exists()  # nothing left by an earlier copy to clear
    assert trusted_copy(pickled, dest, trust_pickle=True) == dest
    assert json.loads((dest / "config.json").read_text())["architectures"] == ["LlamaForSequenceClassification"]
    original, copied = load_file(str(tmp_path / "rm" / "model.safetensors")), load_file(str(dest / "model.safetensors"))
    assert "score.weight" in copied and torch.equal(copied["score.weight"], original["score.weight"])


def test_a_complete_copy_is_reused_without_reading_the_pickles_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, pickled = _pickled_lm(tmp_path)
    dest = trusted_copy(pickled, tmp_path / "copy", trust_pickle=True)
    (pickled / "pytorch_model.bin").write_bytes(b"not a pickle")  # a second unpickling would fail
    caplog.clear()  # the first copy's line, where an earlier test left rlsuite's loggers at INFO
    with caplog.at_level(logging.INFO, logger="rlsuite.alignment.models"):
        assert trusted_copy(pickled, tmp_path / "copy", trust_pickle=True) == dest
    assert caplog.records == []


# ----- completion_ids
class _BosTokenizer:
    """A tokenizer that puts a BOS id (1) first when asked to add its special tokens."""

    eos_token_id = 2

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        return {"input_ids": [1] * add_special_tokens + [10 + len(w) for w in text.split()]}


def test_a_plain_completion_is_its_tokens_without_specials_and_then_eos() -> None:
    from rlsuite.alignment.models import completion_ids

    assert completion_ids(_BosTokenizer(), "the movie was", " very good") == [14, 14, 2]


def test_a_conversations_reply_is_the_tokens_after_its_prompt() -> None:
    from rlsuite.alignment.models import completion_ids
    from rlsuite.testing.chat_models import CHAT_TEMPLATE, IM_END, IM_START, ROLES

    tok = build_tokenizer([*ROLES, *WORDS], specials=[IM_START, IM_END], eos=IM_END, chat_template=CHAT_TEMPLATE)
    prompt = [{"role": "user", "content": "movie"}]
    ids = completion_ids(tok, prompt, [{"role": "assistant", "content": "good bad"}])
    assert tok.convert_ids_to_tokens(ids) == ["good", "bad", IM_END]
    assert tok.convert_ids_to_tokens(completion_ids(tok, prompt, "good")) == ["good", IM_END]


# A template that writes only the assistant's turns with their role word: a reply given as text must be made an
# assistant turn (a turn of any other role would lose a token, which slicing after the prompt would show)
ASSISTANT_ONLY_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'assistant' %}"
    "<|im_start|> assistant {{ message['content'] }} <|im_end|> "
    "{% else %}<|im_start|> {{ message['content'] }} <|im_end|> {% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)


def _assistant_only_tok() -> Any:
    from rlsuite.testing.chat_models import IM_END, IM_START, ROLES

    return build_tokenizer([*ROLES, *WORDS], specials=[IM_START, IM_END], eos=IM_END,
                           chat_template=ASSISTANT_ONLY_TEMPLATE)  # fmt: skip


def test_a_reply_given_as_text_is_the_assistants_turn() -> None:
    from rlsuite.alignment.models import completion_ids, reward_input_ids
    from rlsuite.testing.chat_models import IM_END, IM_START

    tok, prompt = _assistant_only_tok(), [{"role": "user", "content": "movie"}]
    turn = [{"role": "assistant", "content": "good bad"}]
    assert tok.convert_ids_to_tokens(completion_ids(tok, prompt, "good bad")) == ["good", "bad", IM_END]
    assert completion_ids(tok, prompt, "good bad") == completion_ids(tok, prompt, turn)
    whole = [IM_START, "movie", IM_END, IM_START, "assistant", "good", "bad", IM_END]
    assert tok.convert_ids_to_tokens(reward_input_ids(tok, prompt, "good bad")) == whole
    assert tok.convert_ids_to_tokens(reward_input_ids(tok, prompt, turn)) == whole  # a list is the turns themselves


# ----- reward_input_ids, reward_scores, RewardModelFunc
def _chat_tok() -> Any:
    from rlsuite.testing.chat_models import CHAT_TEMPLATE, IM_END, IM_START, ROLES

    return build_tokenizer([*ROLES, *WORDS], specials=[IM_START, IM_END], eos=IM_END, chat_template=CHAT_TEMPLATE)


def test_a_reward_model_scores_the_prompt_the_reply_and_eos() -> None:
    from rlsuite.alignment.models import reward_input_ids
    from rlsuite.testing.chat_models import IM_END, IM_START

    tok = _tok()
    ids = reward_input_ids(tok, "movie ", [{"role": "assistant", "content": "good"}, {"content": "bad"}])
    assert tok.convert_ids_to_tokens(ids) == ["movie", "good", "bad", "<eos>"]
    assert tok.convert_ids_to_tokens(reward_input_ids(tok, "movie", " good")) == ["movie", "good", "<eos>"]
    chat = _chat_tok()
    ids = reward_input_ids(chat, [{"role": "user", "content": "movie"}], "good")
    assert chat.convert_ids_to_tokens(ids) == [IM_START, "user", "movie", IM_END, IM_START, "assistant", "good", IM_END]


def test_reward_scores_are_made_256_at_a_time_and_prompts_match_completions(monkeypatch: pytest.MonkeyPatch) -> None:
    from rlsuite.alignment import models

    sizes: list[int] = []
    monkeypatch.setattr(models, "_in_batches", lambda model, n, size, score: sizes.append(size) or score(0, n, "cpu"))
    with pytest.raises(ValueError, match="zip"):  # one completion short: refused, not scored in part
        models.reward_scores(None, _tok(), ["movie", "movie"], [" good"])
    assert sizes == [256]


def test_the_reward_function_is_named_loaded_placed_and_scores_stripped_replies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rlsuite.alignment import models

    loads: list[tuple[Any, ...]] = []
    monkeypatch.setattr(models, "load_reward_model", lambda path, **kw: loads.append((path, kw)) or ("model", "tok"))
    func = models.RewardModelFunc.load("/rm")
    assert (func.model, func.tok, func.__name__) == ("model", "tok", "reward_model")  # TRL logs rewards/<name>
    models.RewardModelFunc.load("/rm2", where="here", trust_pickle=True)
    assert loads == [("/rm", {"where": None, "trust_pickle": False}), ("/rm2", {"where": "here", "trust_pickle": True})]
    placed: list[tuple[Any, ...]] = []
    monkeypatch.setattr(models, "place", lambda model, where: placed.append((model, where)) or "placed")
    assert func.to(("cuda", torch.bfloat16)) is func and func.model == "placed"
    assert placed == [("model", ("cuda", torch.bfloat16))]
    scored: list[tuple[Any, ...]] = []
    monkeypatch.setattr(models, "reward_scores", lambda *args: scored.append(args) or [1.0, 2.0])
    reply = [{"role": "assistant", "content": "good"}]
    assert func(("p", "q"), ["  good movie ", reply], completion_ids=[[1]]) == [1.0, 2.0]
    assert scored == [("placed", "tok", ["p", "q"], [" good movie", reply])]


# ----- check_reward_model, load_reward_model, sequence_logprobs (exact, on a reward head put on the tiny base)
@pytest.fixture(scope="module")
def rm_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reward-model folder (safetensors): the tiny base with a seeded score head, and its tokenizer."""
    from transformers import AutoModelForSequenceClassification

    from rlsuite.alignment.models import load_tokenizer
    from rlsuite.testing import alignment as T

    folder = tmp_path_factory.mktemp("rm")
    torch.manual_seed(0)
    AutoModelForSequenceClassification.from_pretrained(str(T.tiny_base()), num_labels=1).save_pretrained(folder)
    load_tokenizer(T.tiny_base()).save_pretrained(folder)
    return folder


def test_a_config_that_says_two_labels_is_not_a_reward_model(rm_folder: Path, tmp_path: Path) -> None:
    from rlsuite.alignment.models import check_reward_model
    from rlsuite.common.errors import ModelFolderError

    folder = _edited(rm_folder, tmp_path / "rm", num_labels=2)  # its id2label still holds one label
    with pytest.raises(ModelFolderError, match=r"a reward model has one output \(num_labels=1\)$"):
        check_reward_model(folder)


def test_a_score_head_may_be_named_classifier_and_weights_without_one_are_refused(rm_folder: Path,
                                                                                  tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from rlsuite.alignment.models import check_reward_model
    from rlsuite.common.errors import ModelFolderError

    weights = load_file(str(rm_folder / "model.safetensors"))
    renamed = _edited(rm_folder, tmp_path / "classifier")
    save_file({("classifier.weight" if k == "score.weight" else k): v for k, v in weights.items()},
              str(renamed / "model.safetensors"))  # fmt: skip
    check_reward_model(renamed)  # BERT-style heads are called classifier
    headless = _edited(rm_folder, tmp_path / "headless")
    save_file({k: v for k, v in weights.items() if k != "score.weight"}, str(headless / "model.safetensors"))
    with pytest.raises(ModelFolderError, match=r"no score head in the weights \(no '\*score.weight' tensor\)$"):
        check_reward_model(headless)


@pytest.mark.parametrize(("kind", "weight"), [("lm", "model.embed_tokens.weight"), ("rm", "score.weight")])
def test_a_pickled_model_loads_only_when_trusted(
    kind: str, weight: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A causal LM or a reward model whose only weights are pickled: refused by the check and the load unless
    trusted; trusted, its weights are the saved ones."""
    from rlsuite.alignment import models
    from rlsuite.common.errors import UnsafeLoadError

    source = request.getfixturevalue(f"{kind}_folder")
    check, load = {"lm": (models.check_causal_lm, models.load_causal_lm),
                   "rm": (models.check_reward_model, models.load_reward_model)}[kind]  # fmt: skip
    folder = _pickled(source, tmp_path / "pickled")
    for refused in (check, load):
        with pytest.raises(UnsafeLoadError, match="holds only pickled weights"):
            refused(folder)
    check(folder, trust_pickle=True)
    model, _ = load(folder, trust_pickle=True)
    assert torch.equal(model.state_dict()[weight], load_file(str(source / "model.safetensors"))[weight])


def test_load_reward_model_passes_its_settings_on_and_places_the_model(
    rm_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tokenizer and the model are loaded from the local folder only, with the trust asked for and one
    output; the model is put where asked, in evaluation mode."""
    from transformers import AutoModelForSequenceClassification

    from rlsuite.alignment import models

    seen: list[tuple[Any, ...]] = []
    real_tok, real_model = models.load_tokenizer, AutoModelForSequenceClassification.from_pretrained
    monkeypatch.setattr(models, "load_tokenizer", lambda *a: seen.append(("tok", *a)) or real_tok(*a))
    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained",
                        lambda *a, **kw: seen.append(("model", *a, kw)) or real_model(*a, **kw))  # fmt: skip
    model, _ = models.load_reward_model(rm_folder, where=(torch.device("cpu"), torch.float64))
    assert seen == [("tok", rm_folder, False), ("model", str(rm_folder), {
        "num_labels": 1, "local_files_only": True, "trust_remote_code": False})]  # fmt: skip
    assert next(model.parameters()).dtype == torch.float64 and not model.training
    seen.clear()
    models.load_reward_model(rm_folder, trust_remote_code=True)
    assert [s[2] if s[0] == "tok" else s[2]["trust_remote_code"] for s in seen] == [True, True]


def test_sequence_logprobs_are_made_256_at_a_time_and_prompts_match_completions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rlsuite.alignment import models

    sizes: list[int] = []
    monkeypatch.setattr(models, "_in_batches", lambda model, n, size, score: sizes.append(size) or score(0, n, "cpu"))
    with pytest.raises(ValueError, match="zip"):  # one completion short: refused, not scored in part
        models.sequence_logprobs(None, _tok(), ["movie", "movie"], [[1]])
    assert sizes == [256]


def test_sequence_logprobs_sum_only_the_completions_tokens() -> None:
    """Two prompts of different lengths (so one row is padded): each row's sum is over its completion's tokens
    alone, as one unpadded forward pass per token computes it."""
    from rlsuite.alignment.models import load_causal_lm, prompt_ids, sequence_logprobs
    from rlsuite.testing import alignment as T

    model, tok = load_causal_lm(T.tiny_base())
    prompts, completions = ["the hotel was", "my song"], [[5, 9, 7], [11, 4]]
    for prompt, ids, value in zip(prompts, completions, sequence_logprobs(model, tok, prompts, completions),
                                  strict=True):  # fmt: skip
        context, total = prompt_ids(tok, prompt), 0.0
        for t in ids:
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([context])).logits[0, -1]
            total += float(torch.log_softmax(logits.double(), -1)[t])
            context = [*context, t]
        assert value == pytest.approx(total, abs=1e-4)


def test_reward_scores_feed_the_model_on_its_own_device(rm_folder: Path) -> None:
    """reward_scores moves the ids and the mask to the reward model's device (a CUDA model fed CPU ids fails on
    simulated CUDA, as on a real GPU), and scores as it does on the CPU."""
    from cuda_sim import simulate_cuda

    from rlsuite.alignment.data import SentimentTask
    from rlsuite.alignment.models import load_reward_model, reward_scores

    completions = [" good", " bad bad", " good", " bad"]  # unequal lengths: the mask is not all ones
    model, tok = load_reward_model(rm_folder, where=(torch.device("cpu"), torch.float32))
    prompts = SentimentTask().split_prompts()[0][:4]
    on_cpu = reward_scores(model, tok, prompts, completions)
    with simulate_cuda():
        model.to("cuda")
        assert next(model.parameters()).device.type == "cuda"
        on_gpu = reward_scores(model, tok, prompts, completions)
    assert on_gpu == pytest.approx(on_cpu)
    assert len(set(on_cpu)) > 1


# ----- placement, _left_pad, generate
@pytest.mark.parametrize(("env", "on_cpu"), [("1", True), ("true", True), ("YES", True), ("True", True),
                                             ("0", False), ("", False), ("no", False)])  # fmt: skip
def test_accelerates_cpu_flag_in_the_environment_decides_where_unless_told(
    monkeypatch: pytest.MonkeyPatch, env: str, on_cpu: bool
) -> None:
    from cuda_sim import simulate_cuda

    from rlsuite.alignment.models import placement

    monkeypatch.setenv("ACCELERATE_USE_CPU", env)
    with simulate_cuda():
        assert placement(bf16=False)[0].type == ("cpu" if on_cpu else "cuda")
        assert placement(use_cpu=False, bf16=False)[0].type == "cuda"  # told: the flag is not read
        assert placement(use_cpu=True)[0].type == "cpu"


@pytest.mark.parametrize(("native", "bf16", "dtype"), [(True, None, torch.bfloat16), (True, True, torch.bfloat16),
                                                     (True, False, torch.float32), (False, None, torch.float32),
                                                     (False, True, torch.float32)])  # fmt: skip
def test_a_gpu_gets_bfloat16_only_where_it_has_it_natively_and_training_does_not_turn_bf16_off(
    native: bool, bf16: bool | None, dtype: torch.dtype
) -> None:
    from cuda_sim import simulate_cuda

    from rlsuite.alignment.models import placement

    with simulate_cuda(native_bf16=native):
        device, got = placement(use_cpu=False, bf16=bf16)
    assert got == dtype
    assert device == torch.device("cuda", 0) and device.index == 0  # this process's GPU, by its index
    assert placement(use_cpu=True, bf16=True) == (torch.device("cpu"), torch.float32)


def test_left_padding_puts_the_pads_first_and_masks_them_with_zeros() -> None:
    from rlsuite.alignment.models import _left_pad

    ids, mask = _left_pad([[5, 6, 7], [8]], pad=0)
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert ids.dtype == mask.dtype == torch.int64


@pytest.fixture(scope="module")
def tiny_lm() -> tuple[Any, Any]:
    from rlsuite.alignment.models import load_causal_lm
    from rlsuite.testing import alignment as T

    return load_causal_lm(T.tiny_base())


def test_generate_seeds_torch_from_its_own_seed_and_defaults_to_12_tokens_at_temperature_1(
    tiny_lm: tuple[Any, Any],
) -> None:
    """The same seed samples the same completions whatever torch's global state; the defaults are seed 0, 12 new
    tokens, temperature 1; torch is seeded with one draw below 2^31 - 1 from a generator seeded with ``seed``."""
    from rlsuite.alignment.models import generate

    model, tok = tiny_lm
    prompts = ["the hotel was", "my song is a", "the film"]
    first = generate(model, tok, prompts)
    expected_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=torch.Generator().manual_seed(0)))
    assert torch.initial_seed() == expected_seed
    torch.rand(7)  # the global stream moves on
    assert generate(model, tok, prompts, max_new_tokens=12, temperature=1.0, seed=0) == first
    assert generate(model, tok, prompts, seed=1) != first
    assert generate(model, tok, prompts, temperature=2.0) != first
    assert generate(model, tok, prompts, max_new_tokens=13) != first


def test_generate_samples_256_prompts_at_a_time_on_the_models_device(
    tiny_lm: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cuda_sim import simulate_cuda

    from rlsuite.alignment import models

    model, tok = tiny_lm
    sizes: list[int] = []
    real = models._left_pad
    monkeypatch.setattr(models, "_left_pad", lambda rows, pad: sizes.append(len(rows)) or real(rows, pad))
    assert len(models.generate(model, tok, ["the film"] * 257, max_new_tokens=1)) == 257
    assert sizes == [256, 1]
    with simulate_cuda():
        model.to("cuda")
        try:
            assert len(models.generate(model, tok, ["the film", "my song"], max_new_tokens=2)) == 2
        finally:
            model.to("cpu")


def test_sequence_logprobs_run_on_the_models_device(tiny_lm: tuple[Any, Any]) -> None:
    from cuda_sim import simulate_cuda

    from rlsuite.alignment.models import sequence_logprobs

    model, tok = tiny_lm
    prompts, completions = ["the hotel was", "my song"], [[5, 9, 7], [11, 4]]
    on_cpu = sequence_logprobs(model, tok, prompts, completions)
    with simulate_cuda():
        model.to("cuda")
        try:
            on_gpu = sequence_logprobs(model, tok, prompts, completions)
        finally:
            model.to("cpu")
    assert on_gpu == pytest.approx(on_cpu)


# ----- is_conversation, decode, _right_pad, _in_batches, and what generate asks of transformers
@pytest.mark.parametrize(("x", "expected"), [([], False), (["x"], False), ("text", False), ([{"content": "x"}], False),
                                             ([{"role": "user", "content": "x"}], True)])  # fmt: skip
def test_a_conversation_is_a_nonempty_list_of_messages_with_roles(x: Any, expected: bool) -> None:
    from rlsuite.alignment.models import is_conversation

    assert is_conversation(x) is expected


def test_decode_drops_special_tokens_and_gives_plain_replies_a_leading_space(tiny_lm: tuple[Any, Any]) -> None:
    from rlsuite.alignment.models import decode

    _, tok = tiny_lm
    ids = [[*tok.convert_tokens_to_ids(["nice", "bad"]), tok.eos_token_id]]
    assert decode(tok, ids) == [" nice bad"]
    assert decode(tok, ids, conversational=True) == ["nice bad"]


def test_right_padding_puts_the_pads_last_and_masks_them_with_zeros() -> None:
    from rlsuite.alignment.models import _right_pad

    ids, mask = _right_pad([[5, 6, 7], [8]], pad=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_in_batches_scores_each_slice_once_in_order() -> None:
    from rlsuite.alignment.models import _in_batches

    slices: list[tuple[int, int]] = []

    def score(i: int, j: int, device: Any) -> Any:
        slices.append((i, j))
        return torch.arange(i, j, dtype=torch.float32)

    assert _in_batches(torch.nn.Linear(1, 1), 5, 2, score) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert slices == [(0, 2), (2, 4), (4, 5)]


def test_generate_samples_from_the_whole_distribution_and_cuts_at_eos_or_a_pad(
    tiny_lm: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """transformers is asked for plain sampling (no top-k or top-p cut) with the mask and the tokenizer's pad and
    eos; a completion ends at its eos (kept) or at a pad (dropped) where pad and eos differ."""
    from rlsuite.alignment.models import generate, prompt_ids

    model, tok = tiny_lm
    asked: list[dict[str, Any]] = []
    x, y, pad, eos = 5, 9, tok.pad_token_id, tok.eos_token_id

    def fake_generate(**kw: Any) -> Any:
        asked.append(kw)
        tail = torch.tensor([[x, pad, y], [x, eos, y], [x, y, y]])
        return torch.cat([kw["input_ids"], tail], 1)

    monkeypatch.setattr(model, "generate", fake_generate)
    prompts = ["the film", "my song is a", "the hotel"]
    assert generate(model, tok, prompts, max_new_tokens=3) == [[x], [x, eos], [x, y, y]]
    (kw,) = asked
    assert {k: kw[k] for k in ("max_new_tokens", "do_sample", "temperature", "top_k", "top_p", "pad_token_id",
                               "eos_token_id")} == {"max_new_tokens": 3, "do_sample": True, "temperature": 1.0,
                                                    "top_k": 0, "top_p": 1.0, "pad_token_id": pad, "eos_token_id": eos}
    lengths = [len(prompt_ids(tok, p)) for p in prompts]
    assert len(set(lengths)) > 1 and kw["attention_mask"].tolist() == [
        [0] * (max(lengths) - n) + [1] * n for n in lengths]  # fmt: skip


# ----- safetensors_keys, weight_keys, _read_config
def test_safetensors_keys_read_the_header_to_the_last_byte_and_skip_the_metadata(tmp_path: Path) -> None:
    from rlsuite.alignment.models import safetensors_keys

    one = {"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    assert safetensors_keys(safetensors_file(tmp_path / "a.safetensors", one, b"\0" * 8)) == ["w"]  # exactly whole
    assert safetensors_keys(safetensors_file(tmp_path / "m.safetensors", {"__metadata__": {}})) == []  # header only


def test_safetensors_keys_refuse_short_files_and_lying_lengths(tmp_path: Path) -> None:
    from rlsuite.alignment.models import safetensors_keys
    from rlsuite.common.errors import ModelFolderError

    one = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    short = safetensors_file(tmp_path / "short.safetensors", one, b"\0" * 7)
    size = short.stat().st_size
    with pytest.raises(ModelFolderError, match=re.escape(f"{short}: truncated ({size} bytes, its header describes "
                                                         f"{size + 1})")):  # fmt: skip
        safetensors_keys(short)
    empty = {"__metadata__": {}}
    raw = len(json.dumps(empty).encode())
    for length in (raw + 1, raw + 5, 2**64 - 1):  # one byte more than the file holds; more; -1 as a signed int64
        bad = safetensors_file(tmp_path / f"len{length}.safetensors", empty, length=length)
        with pytest.raises(ModelFolderError, match=r"corrupt safetensors header \(header longer than the file\)$"):
            safetensors_keys(bad)
    overlapping = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}  # fmt: skip
    with pytest.raises(ModelFolderError, match="corrupt safetensors header"):
        safetensors_keys(safetensors_file(tmp_path / "overlap.safetensors", overlapping, b"\0" * 12))


@pytest.mark.parametrize("name", ["model.pt", "model.pth", "pytorch_model.bin"])
def test_weight_keys_refuse_every_kind_of_pickle_unless_trusted(tmp_path: Path, name: str) -> None:
    from rlsuite.alignment.models import weight_keys
    from rlsuite.common.errors import UnsafeLoadError

    (tmp_path / name).write_bytes(b"\x80\x04")
    with pytest.raises(UnsafeLoadError, match=f"holds only pickled weights \\({re.escape(name)}\\)"):
        weight_keys(tmp_path)
    assert weight_keys(tmp_path, trust_pickle=True) == []


def test_weight_keys_follow_the_index_of_a_sharded_folder(tmp_path: Path) -> None:
    from rlsuite.alignment.models import weight_keys
    from rlsuite.common.errors import ModelFolderError

    w = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    safetensors_file(tmp_path / "part-1.safetensors", {"a": w}, b"\0" * 4)
    safetensors_file(tmp_path / "stray.safetensors", {"z": w}, b"\0" * 4)  # not in the index: not read
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "part-1.safetensors",
                                                                                     "b": "part-2.safetensors"}}))
    with pytest.raises(ModelFolderError, match=r"weight file part-2\.safetensors listed in the index is missing"):
        weight_keys(tmp_path)
    safetensors_file(tmp_path / "part-2.safetensors", {"b": w}, b"\0" * 4)
    assert weight_keys(tmp_path) == ["a", "b"]


def test_a_config_is_read_as_utf8_and_needs_a_mapping_with_a_model_type(tmp_path: Path) -> None:
    from rlsuite.alignment.models import check_causal_lm
    from rlsuite.common.errors import ModelFolderError

    (tmp_path / "config.json").write_bytes(json.dumps({"model_type": "vit", "name": "modèle"},
                                                      ensure_ascii=False).encode("utf-8"))  # fmt: skip
    before = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # an ASCII locale (unless Python runs in UTF-8 mode)
    try:
        with pytest.raises(ModelFolderError, match="model type 'vit' is not a causal language model"):
            check_causal_lm(tmp_path)  # read whatever the locale's encoding
    finally:
        locale.setlocale(locale.LC_CTYPE, before)
    for config in ([{"model_type": "llama"}], {"model_type": 3}):
        (tmp_path / "config.json").write_text(json.dumps(config))
        with pytest.raises(ModelFolderError, match="has no 'model_type'"):
            check_causal_lm(tmp_path)


def test_a_tokenizer_needs_an_eos_token_with_an_id_and_gets_eos_as_pad_only_when_it_has_none() -> None:
    from types import SimpleNamespace

    from rlsuite.alignment.models import check_tokenizer
    from rlsuite.common.errors import ModelFolderError

    with pytest.raises(ModelFolderError, match=r"^m: tokenizer has no eos token"):
        check_tokenizer(SimpleNamespace(eos_token="</s>", eos_token_id=None, pad_token="<pad>"), "m")  # not in vocab
    padded = _tok()
    check_tokenizer(padded, "m")
    assert (padded.pad_token, padded.eos_token) == ("<pad>", "<eos>")  # its own pad kept
    unpadded = _tok()
    unpadded.pad_token = None
    check_tokenizer(unpadded, "m")
    assert unpadded.pad_token == "<eos>"


def test_placing_a_model_moves_it_to_the_device_and_dtype() -> None:
    from cuda_sim import simulate_cuda

    from rlsuite.alignment.models import place

    with simulate_cuda():
        model = place(torch.nn.Linear(2, 2), (torch.device("cuda", 0), torch.bfloat16))
        assert {(p.device.type, p.dtype) for p in model.parameters()} == {("cuda", torch.bfloat16)}
    assert not model.training
